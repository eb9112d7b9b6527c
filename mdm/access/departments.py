"""Departments and purposes are data (国发〔2016〕51号: every use names its department and its purpose).

A department's id is its unified social credit code (GB 32100, checked by the ``uscc`` format; government bodies
hold codes starting with ``11``) or a short code: a lower-case letter, then up to 31 letters, digits, ``_ . -``.
A purpose has a code (``tax.audit``: lower-case dotted words, at most 64 characters), a title and a legal basis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.errors import Conflict, InvalidRequest, NotFound
from mdm.models import Department, Purpose
from standards.checkdigits import check_uscc
from standards.registry import REPOSITORIES

_SHORT_CODE = re.compile(r"[a-z][a-z0-9_.-]{1,31}")
PURPOSE_CODE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")
MAX_PURPOSE_LENGTH = 64


def code_for_name(name: str) -> str:
    """The short code given to a department registered by its name alone: ``dept-`` and 10 hex digits of the
    SHA-256 of the name (stable, so the same name always gets the same code)."""
    return "dept-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]


def check_department_id(value: str) -> str:
    """``value`` if it is a USCC that passes GB 32100 or a short code; ``department.invalid`` otherwise."""
    if len(value) == 18 and value[:1].isdigit():
        problem = check_uscc(value)
        if problem:
            raise InvalidRequest("department.invalid", f"{value} is not a valid USCC ({problem})", reason=problem)
        return value
    if not _SHORT_CODE.fullmatch(value):
        raise InvalidRequest(
            "department.invalid", "a department id is a USCC or a short code: a-z, then a-z 0-9 _ . - (2–32)"
        )
    return value


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise InvalidRequest("department.invalid", "a department name is 1–200 characters without control characters")
    return name


def add_department(
    session: Session, *, department_id: str, name: str, owns: list[str] | tuple[str, ...] = ()
) -> Department:
    """Register a department; ``owns`` lists the repositories whose source it owns. Raises
    ``department.invalid`` (400) or ``department.exists`` (409)."""
    department_id, name = check_department_id(department_id), _name(name)
    unknown = sorted(set(owns) - set(REPOSITORIES))
    if unknown:
        raise InvalidRequest("department.invalid", f"unknown repositories {', '.join(unknown)}")
    if (
        session.get(Department, department_id)
        or session.execute(select(Department).where(Department.name == name)).scalar_one_or_none()
    ):
        raise Conflict("department.exists", f"a department {department_id} or named {name} is registered")
    row = Department(id=department_id, name=name, owns=sorted(set(owns)), created_at=dt.datetime.now(dt.UTC))
    session.add(row)
    session.flush()
    return row


def find_department(session: Session, ref: str) -> Department | None:
    """The department whose id or name is ``ref``, or None."""
    row = session.get(Department, ref)
    if row is None:
        row = session.execute(select(Department).where(Department.name == ref.strip())).scalar_one_or_none()
    return row


def get_department(session: Session, ref: str) -> Department:
    """Like :func:`find_department`; raises ``department.not_found`` (404)."""
    row = find_department(session, ref)
    if row is None:
        raise NotFound("department.not_found", f"no department {ref!r}")
    return row


def ensure_department(session: Session, ref: str) -> tuple[Department, bool]:
    """The department named or coded ``ref``; an unknown one is registered by name with :func:`code_for_name`
    (or as itself when ``ref`` is a valid id). Returns (department, registered now)."""
    row = find_department(session, ref)
    if row is not None:
        return row, False
    name = _name(ref)
    try:
        department_id = check_department_id(name)
    except InvalidRequest:
        department_id = code_for_name(name)
    return add_department(session, department_id=department_id, name=name), True


def list_departments(session: Session) -> list[dict[str, Any]]:
    """Every department: ``{"code", "id", "name", "owns", "created_at"}`` (``code`` and ``id`` are the same)."""
    rows = session.execute(select(Department).order_by(Department.id)).scalars()
    return [{"code": r.id, "id": r.id, "name": r.name, "owns": r.owns, "created_at": r.created_at} for r in rows]


def owner_of(session: Session, repository: str) -> str | None:
    """The id of the department that owns ``repository``'s source, or None (then stewards decide)."""
    for row in session.execute(select(Department).order_by(Department.id)).scalars():
        if repository in (row.owns or []):
            return row.id
    return None


def may_see_usage(session: Session, *, department: str, role: str, repository: str) -> bool:
    """Whether a caller may see who used a record of ``repository`` (the data-subject view): stewards and the
    department that owns the repository's source."""
    return role == "admin" or department == owner_of(session, repository)


def check_purpose_code(code: str | None) -> str:
    """A syntactically valid purpose code, or 400: ``access.purpose_required`` (missing or blank),
    ``access.purpose_invalid`` (over 64 characters, control characters, not lower-case dotted words)."""
    if code is None or not code.strip():
        raise InvalidRequest("access.purpose_required", "name the purpose of this read in the X-Purpose header")
    if len(code) > MAX_PURPOSE_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in code):
        raise InvalidRequest("access.purpose_invalid", "a purpose is at most 64 characters, no control characters")
    if not PURPOSE_CODE.fullmatch(code):
        raise InvalidRequest("access.purpose_invalid", "a purpose code is lower-case dotted words, e.g. tax.audit")
    return code


def add_purpose(session: Session, *, code: str, title: str, legal_basis: str) -> Purpose:
    """Register a purpose. Raises ``access.purpose_invalid`` (400), ``purpose.invalid`` (400) for an empty
    title or legal basis, ``purpose.exists`` (409)."""
    check_purpose_code(code)
    if not title.strip() or not legal_basis.strip() or len(title) > 200 or len(legal_basis) > 1000:
        raise InvalidRequest("purpose.invalid", "a purpose needs a title (≤ 200) and a legal basis (≤ 1,000)")
    if session.get(Purpose, code):
        raise Conflict("purpose.exists", f"the purpose {code} is registered")
    row = Purpose(code=code, title=title.strip(), legal_basis=legal_basis.strip(), created_at=dt.datetime.now(dt.UTC))
    session.add(row)
    session.flush()
    return row


def require_purpose(session: Session, code: str | None) -> str:
    """The registered purpose ``code``; 400 ``access.purpose_required`` / ``access.purpose_invalid`` /
    ``access.purpose_unknown``."""
    code = check_purpose_code(code)
    if session.get(Purpose, code) is None:
        raise InvalidRequest("access.purpose_unknown", f"{code!r} is not a registered purpose; see GET /purposes")
    return code


def list_purposes(session: Session) -> list[dict[str, Any]]:
    """Every purpose: ``{"code", "title", "legal_basis", "created_at"}``."""
    rows = session.execute(select(Purpose).order_by(Purpose.code)).scalars()
    return [{"code": r.code, "title": r.title, "legal_basis": r.legal_basis, "created_at": r.created_at} for r in rows]
