"""API keys: issued to a registered department with a role, stored as SHA-256 hashes, shown in clear only once.

Issuing and revoking a key append an audit event in the same transaction (:mod:`mdm.audit`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm import audit
from mdm.access.cache import AccessCache
from mdm.access.departments import did_you_mean, find_department, register_department
from mdm.db import Database
from mdm.errors import InvalidRequest, NameTaken, NotFound, Unauthorised
from mdm.models import ApiKey, Department

LEVELS = ("reader", "loader", "admin")  # ordered: each includes the ones before it
# Department roles of e-government projects (mdm/projects): each admits only its own project actions (and an
# admin admits all); none of them is a reader, loader or admin level.
DEPARTMENT_ROLES = ("declarer", "bigdata_reviewer", "finance_reviewer", "plan_control", "finance_approver")
ROLES = LEVELS + DEPARTMENT_ROLES
_PREFIX = "mdm_"


@dataclass(frozen=True)
class IssuedKey:
    """A new key in clear (shown once), its department id, and whether that department was registered now."""

    key: str
    department: str
    registered: bool


@dataclass(frozen=True)
class Caller:
    """Who is asking: the key's department (its id) and role."""

    department: str
    role: str
    key_prefix: str

    def may(self, role: str) -> bool:
        """True if this caller's role admits ``role``: for the levels, at least it (reader < loader < admin);
        for a department role, that role itself or admin."""
        if role in LEVELS:
            return self.role in LEVELS and LEVELS.index(self.role) >= LEVELS.index(role)
        return self.role in (role, "admin")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: Database, *, department: str, role: str, register: bool = False, name: str | None = None) -> str:
    """Issue a key for ``department`` with ``role``; returns the key in clear (see :func:`issue_key`)."""
    return issue_key(db, department=department, role=role, register=register, name=name).key


def issue_key(
    db: Database,
    *,
    department: str,
    role: str,
    issued_by: str | None = None,
    register: bool = False,
    name: str | None = None,
) -> IssuedKey:
    """Issue a key for the registered ``department`` (its id or name) with ``role``; audited as ``key:issue``.
    An unknown department is refused unless ``register`` asks to register it
    (:func:`mdm.access.departments.register_department`: ``department`` is the id and ``name`` its name, or,
    without ``name``, ``department`` is a name or an id), audited as ``department:add``.

    Raises :class:`InvalidRequest` (``request.invalid``) for an unknown role or an empty department,
    :class:`NotFound` (``department.not_found``) for an unknown department without ``register``, and what
    :func:`~mdm.access.departments.add_department` raises when registering (``department.invalid``,
    ``department.exists``, ``department.name_confusable``).
    """
    if role not in ROLES:
        raise InvalidRequest("request.invalid", f"role must be one of {', '.join(ROLES)}")
    if not department.strip():
        raise InvalidRequest("request.invalid", "department must not be empty")
    key = _PREFIX + secrets.token_urlsafe(32)
    with db.write() as session:
        holder = find_department(session, department)
        registered = holder is None
        if holder is None:
            if not register:
                raise NotFound(
                    "department.not_found",
                    f"no department {department!r}{did_you_mean(session, department)}; see `mdm departments "
                    "list`, register it with `mdm departments add`, or ask for it here with --register --name <name>",
                )
            holder = register_department(session, department, name=name)
            audit.record(
                session, actor=issued_by, action="department:add", target=holder.id, detail={"name": holder.name}
            )
        elif register and name is not None and find_department(session, name) is not holder:
            raise NameTaken(
                "department.exists",
                f"{department} is registered, named {holder.name}: leave out --register and --name to issue its key",
                existing=holder.id,
            )
        session.add(
            ApiKey(
                key_hash=_hash(key),
                prefix=key[:12],
                department=holder.id,
                role=role,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        audit.record(
            session,
            actor=issued_by,
            action="key:issue",
            target=key[:12],
            detail={"department": holder.id, "role": role, "registered_department": registered},
        )
    return IssuedKey(key, holder.id, registered)


def authenticate(db: Database, key: str | None, *, cache: AccessCache | None = None) -> Caller:
    """The caller a key belongs to. With ``cache`` (the process's :class:`mdm.access.cache.AccessCache`) the
    access generation is synced first and a known key costs no further query; a revoked key is refused on the
    next request. Raises :class:`Unauthorised` (``auth.missing_key``, ``auth.invalid_key``)."""
    if not key:
        raise Unauthorised("auth.missing_key", "send an API key as 'Authorization: Bearer <key>'")
    digest = _hash(key)
    with db.read() as session:
        if cache is None:
            caller = caller_of(session, digest)
        else:
            cache.sync(session)
            caller = cache.get("caller", digest, session, lambda s: caller_of(s, digest), keep_none=False)
    if caller is None:
        raise Unauthorised("auth.invalid_key", "the API key is unknown or revoked")
    return caller


def peek_caller(key: str, cache: AccessCache) -> tuple[Caller, str, int] | None:
    """The caller of ``key`` as the process's access cache last knew it — ``(caller, key hash, generation)`` — or
    None when the cache does not hold it. No query: the read that uses it syncs the generation in its own
    session and refuses the key if the generation moved and the key is gone (:meth:`mdm.reads.Reads.view`), so
    a revoked key is still refused on the next request."""
    digest = _hash(key)
    found = cache.peek("caller", digest)
    return None if found is None else (found[0], digest, found[1])


def caller_of(session: Session, digest: str) -> Caller | None:
    """The caller of the unrevoked key whose SHA-256 is ``digest``, or None (one query)."""
    row = session.execute(
        select(ApiKey.department, ApiKey.role, ApiKey.prefix).where(
            ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
        )
    ).one_or_none()
    return None if row is None else Caller(department=row.department, role=row.role, key_prefix=row.prefix)


def list_keys(db: Database) -> list[dict[str, object]]:
    """Every issued key without its secret: prefix, department (id), department_name, role, created_at,
    revoked_at."""
    with db.read() as session:
        rows = session.execute(
            select(ApiKey, Department.name).join(Department, Department.id == ApiKey.department).order_by(ApiKey.id)
        ).all()
        return [
            {
                "prefix": r.prefix,
                "department": r.department,
                "department_name": name,
                "role": r.role,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r, name in rows
        ]


def revoke_key(db: Database, prefix: str, *, revoked_by: str | None = None) -> None:
    """Revoke the key with this prefix. Raises :class:`InvalidRequest` (``request.invalid``) unless exactly one
    active key has it."""
    with db.write() as session:
        rows = (
            session.execute(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))).scalars().all()
        )
        if len(rows) != 1:
            raise InvalidRequest("request.invalid", f"{len(rows)} active keys have the prefix {prefix!r}")
        rows[0].revoked_at = dt.datetime.now(dt.UTC)
        audit.record(session, actor=revoked_by, action="key:revoke", target=prefix)
