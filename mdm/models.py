"""SQLAlchemy 2 models of the store. The same models serve SQLite and PostgreSQL; the migrations create them.

Tables: ``batches``, ``source_systems``, ``source_records`` (the crosswalk), ``golden_records``,
``record_versions`` (append-only), ``outbox``, ``api_keys``, and for sharing ``departments``, ``purposes``,
``grants``, ``sharing_requests`` and the hash-chained ``audit_events`` (with ``audit_keys``). Record fields live
in a JSON(B) column; the business key, status, geometry and envelope are real columns. These classes are not
API schemas: ``api`` maps them to its own response shapes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from mdm.spatial import GeometryColumn
from mdm.store.dialect import Dialect

JsonDoc = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both dialects (SQLite stores it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value if Dialect.of(dialect).native_timezones else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Batch(Base):
    """One load run. Every change it makes carries its id; ``summary`` is the load report's summary."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    repository: Mapped[str] = mapped_column(String(32))
    source_system_id: Mapped[str] = mapped_column(String(64))
    profile: Mapped[str] = mapped_column(String(128))
    file_name: Mapped[str] = mapped_column(String(500))
    mode: Mapped[str] = mapped_column(String(16))
    # running, committed, committed_unindexed (stored; the search index refused some records), failed, rejected,
    # refused
    status: Mapped[str] = mapped_column(String(32))
    encoding: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    summary: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # the department the batch loaded for (its source system's owner; None: stewards only) and the department
    # whose key ran it (the same, or a steward's on its behalf; None: the local operator, ``mdm load``)
    department_id: Mapped[str | None] = mapped_column(String(64), index=True)
    loaded_by: Mapped[str | None] = mapped_column(String(64))


class SourceSystem(Base):
    """A department's system that supplies records; ``department_id`` is the registered department that owns it
    (recorded by its first load with a profile that declares it; None: not yet, only stewards load under it)."""

    __tablename__ = "source_systems"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    department_id: Mapped[str | None] = mapped_column(String(64))


class SourceRecord(Base):
    """One record as a source supplied it (normalised), keyed by its source key: the crosswalk.

    ``batch_id`` is the batch that last changed it, ``seen_batch_id`` the last that wrote it (what a running batch
    has supplied is kept in its own temporary table, see :mod:`mdm.store.sources`); ``source_time``
    is the source's own timestamp when the profile maps one, else the time of the batch that changed it.
    """

    __tablename__ = "source_records"
    __table_args__ = (
        UniqueConstraint("repository", "source_system_id", "source_key", name="uq_source_records_key"),
        Index("ix_source_records_business_key", "repository", "business_key"),
        Index("ix_source_records_feed", "source_system_id", "feed", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(32))
    source_system_id: Mapped[str] = mapped_column(ForeignKey("source_systems.id"))
    source_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str] = mapped_column(String(200))
    feed: Mapped[str] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # active, retired
    raw: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    source_time: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    first_batch_id: Mapped[str] = mapped_column(String(36))
    batch_id: Mapped[str] = mapped_column(String(36))
    seen_batch_id: Mapped[str] = mapped_column(String(36))


class GoldenRecord(Base):
    """The consolidated record of one business key: what consumers read. Changed only with a new version."""

    __tablename__ = "golden_records"
    __table_args__ = (UniqueConstraint("repository", "business_key", name="uq_golden_records_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(32))
    business_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # active, retired
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    provenance: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    batch_id: Mapped[str | None] = mapped_column(String(36))
    geom: Mapped[Any] = mapped_column(GeometryColumn(), nullable=True)
    min_x: Mapped[float | None] = mapped_column(Float)
    min_y: Mapped[float | None] = mapped_column(Float)
    max_x: Mapped[float | None] = mapped_column(Float)
    max_y: Mapped[float | None] = mapped_column(Float)
    search_text: Mapped[str | None] = mapped_column(Text)
    rep_x: Mapped[float | None] = mapped_column(Float)
    rep_y: Mapped[float | None] = mapped_column(Float)


class RecordVersion(Base):
    """An immutable version of a golden record. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "record_versions"
    __table_args__ = (
        UniqueConstraint("repository", "business_key", "version", name="uq_record_versions_version"),
        Index("ix_record_versions_recorded", "repository", "business_key", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    golden_id: Mapped[int] = mapped_column(ForeignKey("golden_records.id"))
    repository: Mapped[str] = mapped_column(String(32))
    business_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    provenance: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    batch_id: Mapped[str | None] = mapped_column(String(36))


class OutboxEntry(Base):
    """A change written in the same transaction as the record change, drained to the index and subscribers."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(32))
    business_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))


class CodeListEntry(Base):
    """One code of an imported code list, in force from ``valid_from`` (inclusive) to ``valid_to`` (exclusive);
    an empty bound is open."""

    __tablename__ = "code_list_entries"
    __table_args__ = (Index("ix_code_list_entries_code", "list_name", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class ApiKey(Base):
    """An API key of a department, stored as its SHA-256 hash; ``prefix`` identifies it in logs."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    role: Mapped[str] = mapped_column(String(16))  # reader, loader, admin
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ConsoleSession(Base):
    """A sign-in to the web console: the key it was opened with, its CSRF token and chosen purpose, until
    ``expires_at`` or ``ended_at`` (sign-out). ``id`` is the SHA-256 of the cookie's random token."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Department(Base):
    """A department (委办局): its id is its USCC (government bodies: codes starting with 11) or a short code;
    ``owns`` lists the repositories whose source facts it owns (sharing requests for them are routed to it)."""

    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owns: Mapped[list[str]] = mapped_column(JsonDoc, default=list)  # repositories whose source it owns
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Purpose(Base):
    """A registered purpose of use (用途/事由): ``code`` such as ``tax.audit``, a title and its legal basis."""

    __tablename__ = "purposes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Grant(Base):
    """Department × repository × fields (or ``*``) × purposes, valid from/until, of kind ``read`` or ``verify``;
    ``unmasked`` lists the sensitive fields shown in clear. A revoked grant keeps its row (``revoked_at``)."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_department", "department_id", "repository"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    repository: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # read, verify
    fields: Mapped[list[str]] = mapped_column(JsonDoc)
    purposes: Mapped[list[str]] = mapped_column(JsonDoc)
    unmasked: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    valid_from: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    request_id: Mapped[int | None] = mapped_column(BigId)
    per_minute: Mapped[int | None] = mapped_column(Integer)  # metered calls (verifications, keys looked up)
    per_day: Mapped[int | None] = mapped_column(Integer)


class AccessGeneration(Base):
    """One row (``id`` 1): the access generation, bumped by :mod:`mdm.access.generation` in the transaction of
    every change to keys, grants, purposes or departments."""

    __tablename__ = "access_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class UsageMeter(Base):
    """What a department used of a metered kind (``verify``: verifications; ``lookup``: keys looked up) for a
    purpose in one window: a UTC minute (``2026-12-04T18:24``) or a UTC day (``2026-12-04``)."""

    __tablename__ = "usage_meter"

    department_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    window: Mapped[str] = mapped_column(String(16), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)


class SharingRequest(Base):
    """A department's request (共享申请) for fields of a repository for a purpose; routed to ``owner_id`` (the
    department owning the repository's source) or, when that is unknown, to stewards (``owner_id`` null)."""

    __tablename__ = "sharing_requests"
    __table_args__ = (Index("ix_sharing_requests_state", "state", "owner_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    repository: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    fields: Mapped[list[str]] = mapped_column(JsonDoc)
    purpose: Mapped[str] = mapped_column(ForeignKey("purposes.code"))
    unmasked: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    valid_from: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(16))  # pending, approved, rejected
    filed_by: Mapped[str] = mapped_column(String(16))
    filed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(2000))
    grant_id: Mapped[int | None] = mapped_column(BigId)


class AuditEvent(Base):
    """One audit event, hash-chained: ``hash`` = SHA-256 of the canonical content with ``prev_hash`` (the
    previous row's hash). ``id`` is the chain position, assigned by :mod:`mdm.audit`. Append-only (triggers)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_department", "department", "at"),
        Index("ix_audit_events_repository", "repository", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    department: Mapped[str | None] = mapped_column(String(64))
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    repository: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(500))
    keys: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditKey(Base):
    """The business keys one audit event disclosed, one row each, so ``…/usage`` finds a record's uses."""

    __tablename__ = "audit_keys"
    __table_args__ = (Index("ix_audit_keys_record", "repository", "business_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigId)
    repository: Mapped[str] = mapped_column(String(32))
    business_key: Mapped[str] = mapped_column(String(200))
