"""ORM models of e-government projects (电子政务项目). Amounts are integer 分 (1 万元 = 1,000,000 分), never float.

Tables: ``projects``, ``project_transitions`` (append-only lifecycle log), ``project_documents`` (content with its
SHA-256 and size), ``project_evaluations`` (software, hardware, performance), ``project_vendors`` (awards with
the credit snapshot shown), ``project_payments`` (imported from the budget system), ``project_om_reviews`` (an O&M
project against its category's expenditure standard, with the finance decision) and ``project_actions`` (one row
per action, written by :func:`mdm.projects.actions.record_project_action`). Not API schemas.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mdm.models import Base, BigId, JsonDoc, UtcDateTime

Fen = BigInteger().with_variant(Integer(), "sqlite")


class Project(Base):
    """One project. ``status`` is a lifecycle stage (:mod:`mdm.projects.lifecycle`)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # construction, om
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(Text)
    department_uscc: Mapped[str] = mapped_column(String(18))
    department_name: Mapped[str] = mapped_column(String(500))
    requested_fen: Mapped[int] = mapped_column(Fen)
    systems: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    other_parts: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    om_category: Mapped[str | None] = mapped_column(String(64))
    om_construction_cost_fen: Mapped[int | None] = mapped_column(Fen)
    om_system_project_id: Mapped[int | None] = mapped_column(BigId)  # the filed project of the system maintained
    om_period_start: Mapped[dt.date | None] = mapped_column(Date)
    om_period_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    control_price_fen: Mapped[int | None] = mapped_column(Fen)
    approved_fen: Mapped[int | None] = mapped_column(Fen)
    plan_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    not_duplicate_statement: Mapped[str | None] = mapped_column(Text)
    duplicate_candidates: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    search_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ProjectTransition(Base):
    """One lifecycle step: from → to, by whom (department and key prefix), when, why, with which documents."""

    __tablename__ = "project_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    comment: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)


class ProjectDocument(Base):
    """An uploaded document of a type from the ``project_document_type`` code list."""

    __tablename__ = "project_documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    media_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Fen)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    department: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))  # the uploader's role: whose document it is for a gate
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ProjectEvaluation(Base):
    """An evaluation: ``software`` / ``hardware`` (an amount) or ``performance`` (passed or not)."""

    __tablename__ = "project_evaluations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int | None] = mapped_column(Fen)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    report_document_id: Mapped[int | None] = mapped_column(ForeignKey("project_documents.id"))
    computation: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ProjectVendor(Base):
    """A vendor awarded a contract (``contractor``) or the supervision contract (``supervisor``)."""

    __tablename__ = "project_vendors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(16))
    credit: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ProjectPayment(Base):
    """A payment record from the budget system (金财工程), unique by voucher number."""

    __tablename__ = "project_payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    voucher_no: Mapped[str] = mapped_column(String(64), unique=True)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(Fen)
    override_reason: Mapped[str | None] = mapped_column(Text)  # finance's reason for paying above the approval
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ProjectAction(Base):
    """Every project action, one row each, in the same transaction as its effect."""

    __tablename__ = "project_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class ProjectOmReview(Base):
    """One review of an O&M project against its category's expenditure standard (:mod:`mdm.projects.om`): the
    figures compared, the outcome (``within``, ``above``, ``no_standard``), the declarer's justification and,
    when not within, the finance reviewer's decision (``approved``/``rejected``) with its reason."""

    __tablename__ = "project_om_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    census_year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(200))
    standard_ratio: Mapped[str | None] = mapped_column(String(16))
    contract_fen: Mapped[int] = mapped_column(Fen)
    construction_cost_fen: Mapped[int] = mapped_column(Fen)
    ratio: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    justification: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_department: Mapped[str | None] = mapped_column(String(200))
    decided_key_prefix: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
