"""Departments and purposes are data (国发〔2016〕51号: every use names its department and its purpose).

A department's id is its unified social credit code (GB 32100, checked by the ``uscc`` format; government bodies
hold codes starting with ``11``) or a short code: a lower-case letter, then up to 31 letters, digits, ``_ . -``.
A purpose has a code (``tax.audit``: lower-case dotted words, at most 64 characters), a title and a legal basis.

Names and titles hold no invisible characters, are kept in NFKC and may not read like a registered one
(:mod:`mdm.access.names`). Each repository has at most one owning department; ownership changes only by
:func:`set_owner`, audited. A key is issued only to a registered department (:func:`register_department` is the
explicit way to register one while issuing it). Registrations and ownership changes serialise on one lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mdm import audit
from mdm.access.names import clean_name, likeness
from mdm.errors import Conflict, InvalidRequest, NameTaken, NotFound, RepositoryUnknown
from mdm.models import Department, Purpose, SharingRequest
from mdm.store.dialect import Dialect
from standards.checkdigits import check_uscc
from standards.registry import REPOSITORIES

_SHORT_CODE = re.compile(r"[a-z][a-z0-9_.-]{1,31}")
PURPOSE_CODE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")
MAX_PURPOSE_LENGTH = 64
_LOCK = "mdm.access.departments"
_SPACES = re.compile(r"\s+")


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
    return clean_name(value, code="department.invalid", what="department name")


def _lock(session: Session) -> None:
    """Serialise registrations and ownership changes (a transaction-scoped advisory lock on PostgreSQL; SQLite
    writers already serialise), so two concurrent ones cannot both pass the checks below."""
    Dialect.of(session).lock(session, _LOCK)


def _check_name_is_free(session: Session, name: str) -> None:
    """``department.exists`` for a registered name, ``department.name_confusable`` for one that looks like it
    (:func:`mdm.access.names.likeness`)."""
    wanted = likeness(name, without_notes=True)
    for other_id, other in session.execute(select(Department.id, Department.name)).all():
        use = f"; it is registered with the id {other_id}: use that id (e.g. `mdm keys create --department {other_id}`)"
        if other == name:
            raise NameTaken("department.exists", f"a department named {name} is registered{use}", existing=other_id)
        if likeness(other, without_notes=True) == wanted:
            raise NameTaken(
                "department.name_confusable",
                f"{name!r} reads like the registered department {other!r}{use}",
                existing=other_id,
            )


def add_department(
    session: Session, *, department_id: str, name: str, owns: list[str] | tuple[str, ...] = ()
) -> Department:
    """Register a department; ``owns`` lists the repositories whose source it owns, each unowned until now
    (one owner per repository; a change of owner is :func:`set_owner`). The name is kept as
    :func:`mdm.access.names.clean_name` makes it (NFKC).

    Raises ``department.invalid`` (400: a malformed id, an invisible character in the name, an unknown
    repository), ``department.exists`` (409: the id or the name is registered), ``department.name_confusable``
    (409: the name reads like a registered one) or ``department.owner_exists`` (409: a repository in ``owns``
    has an owner; ``owner`` names it)."""
    department_id, name = check_department_id(department_id), _name(name)
    unknown = sorted(set(owns) - set(REPOSITORIES))
    if unknown:
        raise InvalidRequest("department.invalid", f"unknown repositories {', '.join(unknown)}")
    _lock(session)
    if session.get(Department, department_id):
        raise Conflict("department.exists", f"a department {department_id} is registered")
    _check_name_is_free(session, name)
    for repository in sorted(set(owns)):
        owner = owner_of(session, repository)
        if owner is not None:
            raise Conflict(
                "department.owner_exists",
                f"{repository} is owned by {owner}; a change of owner is explicit (mdm departments set-owner, "
                f"PUT /repositories/{repository}/owner)",
                repository=repository,
                owner=owner,
            )
    row = Department(id=department_id, name=name, owns=sorted(set(owns)), created_at=dt.datetime.now(dt.UTC))
    session.add(row)
    session.flush()
    return row


def find_department(session: Session, ref: str) -> Department | None:
    """The department whose id or name is ``ref`` (the name compared in its NFKC form), or None."""
    row = session.get(Department, ref)
    if row is None:
        name = _SPACES.sub(" ", unicodedata.normalize("NFKC", ref)).strip()
        row = session.execute(select(Department).where(Department.name == name)).scalar_one_or_none()
    return row


def get_department(session: Session, ref: str) -> Department:
    """Like :func:`find_department`; raises ``department.not_found`` (404, naming near matches)."""
    row = find_department(session, ref)
    if row is None:
        raise NotFound("department.not_found", f"no department {ref!r}{did_you_mean(session, ref)}")
    return row


def did_you_mean(session: Session, ref: str, *, limit: int = 3) -> str:
    """``"; did you mean 苏州市民政局(示例) (11990000MB0000030M)?"`` for registered departments whose name holds
    ``ref`` or is held by it (NFKC, spaces removed), or ``""``."""
    wanted = _SPACES.sub("", unicodedata.normalize("NFKC", ref)).lower()
    if len(wanted) < 2:
        return ""
    near = []
    for row in session.execute(select(Department.id, Department.name).order_by(Department.id)).all():
        name = _SPACES.sub("", row.name).lower()
        if wanted in name or name in wanted or wanted in row.id.lower():
            near.append(f"{row.name} ({row.id})")
    return f"; did you mean {', '.join(near[:limit])}?" if near else ""


def register_department(session: Session, ref: str, *, name: str | None = None) -> Department:
    """Register a department asked for explicitly (``mdm keys create --register``): with ``name``, ``ref`` is
    its id; without, ``ref`` is its id when it is a valid one (and then its name too), else its name, with
    :func:`code_for_name` as the id. Raises what :func:`add_department` raises."""
    if name is not None:
        return add_department(session, department_id=ref, name=name)
    cleaned = _name(ref)
    try:
        department_id = check_department_id(cleaned)
    except InvalidRequest:
        department_id = code_for_name(cleaned)
    return add_department(session, department_id=department_id, name=cleaned)


def list_departments(session: Session) -> list[dict[str, Any]]:
    """Every department: ``{"code", "id", "name", "owns", "created_at"}`` (``code`` and ``id`` are the same)."""
    rows = session.execute(select(Department).order_by(Department.id)).scalars()
    return [{"code": r.id, "id": r.id, "name": r.name, "owns": r.owns, "created_at": r.created_at} for r in rows]


def owner_of(session: Session, repository: str) -> str | None:
    """The id of the department that owns ``repository``'s source, or None (then stewards decide). One owner per
    repository (:func:`add_department`, :func:`set_owner`); a store holding two (possible only from before that
    rule) has none until a steward sets one — fail closed, never the first id in sort order."""
    owners = [row.id for row in session.execute(select(Department)).scalars() if repository in (row.owns or [])]
    return owners[0] if len(owners) == 1 else None


def set_owner(
    session: Session, *, repository: str, department: str | None, actor: str | None, key_prefix: str | None = None
) -> dict[str, Any]:
    """Make ``department`` (an id or name; None: nobody, stewards decide) the one owner of ``repository``'s
    source, taking it from any other department; its pending sharing requests are routed to the new owner (or to
    stewards); audited as ``department:set_owner`` with the previous owners.
    Returns ``{"repository", "owner", "previous"}`` (``previous``: the ids of the owners before, usually one or none).

    Raises ``repository.unknown`` (404), ``department.not_found`` (404)."""
    if repository not in REPOSITORIES:
        raise RepositoryUnknown(repository, list(REPOSITORIES))
    _lock(session)
    target = get_department(session, department) if department is not None else None
    previous = []
    for row in session.execute(select(Department).order_by(Department.id)).scalars():
        if repository in (row.owns or []):
            previous.append(row.id)
            row.owns = [r for r in row.owns if r != repository]
    if target is not None:
        target.owns = sorted({*(target.owns or []), repository})
    session.flush()
    owner = target.id if target is not None else None
    # the pending requests follow the owner: the old one decides no more
    moved = session.execute(
        update(SharingRequest)
        .where(SharingRequest.repository == repository, SharingRequest.state == "pending")
        .values(owner_id=owner)
        .returning(SharingRequest.id)
    ).all()
    audit.record(
        session,
        actor=actor,
        key_prefix=key_prefix,
        action="department:set_owner",
        repository=repository,
        target=owner,
        detail={"repository": repository, "owner": owner, "previous": previous, "requests_rerouted": len(moved)},
    )
    return {"repository": repository, "owner": owner, "previous": previous}


def may_see_usage(session: Session, *, department: str, role: str, repository: str) -> bool:
    """Whether a caller may see who used a record of ``repository`` (the data-subject view): stewards and the
    department that owns the repository's source."""
    return role == "admin" or department == owner_of(session, repository)


def check_purpose_code(code: str | None) -> str:
    """A syntactically valid purpose code, or 400: ``access.purpose_required`` (missing or blank),
    ``access.purpose_invalid`` (over 64 characters, control characters, not lower-case dotted words)."""
    if code is None or not code.strip():
        raise InvalidRequest(
            "access.purpose_required",
            "name the purpose of this read in the X-Purpose header (the registered codes: GET /purposes)",
        )
    if len(code) > MAX_PURPOSE_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in code):
        raise InvalidRequest("access.purpose_invalid", "a purpose is at most 64 characters, no control characters")
    if not PURPOSE_CODE.fullmatch(code):
        raise InvalidRequest("access.purpose_invalid", "a purpose code is lower-case dotted words, e.g. tax.audit")
    return code


def add_purpose(session: Session, *, code: str, title: str, legal_basis: str) -> Purpose:
    """Register a purpose; its title and legal basis are kept as :func:`mdm.access.names.clean_name` makes them
    (NFKC). Raises ``access.purpose_invalid`` (400) for a bad code, ``purpose.invalid`` (400) for an empty or
    overlong title (≤ 200) or legal basis (≤ 1,000) or one holding an invisible character, ``purpose.exists``
    (409) for a registered code, ``purpose.name_confusable`` (409) for a title that reads like a registered
    purpose's title (:func:`mdm.access.names.likeness`)."""
    check_purpose_code(code)
    title = clean_name(title, code="purpose.invalid", what="purpose title")
    legal_basis = clean_name(legal_basis, code="purpose.invalid", what="legal basis", max_length=1000)
    _lock(session)
    if session.get(Purpose, code):
        raise Conflict("purpose.exists", f"the purpose {code} is registered")
    wanted = likeness(title)
    for other_code, other in session.execute(select(Purpose.code, Purpose.title)).all():
        if likeness(other) == wanted:
            raise NameTaken(
                "purpose.name_confusable",
                f"{title!r} reads like the title of the registered purpose {other_code} ({other!r}); use {other_code}",
                existing=other_code,
            )
    row = Purpose(code=code, title=title, legal_basis=legal_basis, created_at=dt.datetime.now(dt.UTC))
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


def purpose_registered(session: Session, code: str) -> bool:
    """True if ``code`` is a registered purpose (no error: for a cache, which keeps the answer)."""
    return session.get(Purpose, code) is not None


def list_purposes(session: Session) -> list[dict[str, Any]]:
    """Every purpose: ``{"code", "title", "legal_basis", "created_at"}``."""
    rows = session.execute(select(Purpose).order_by(Purpose.code)).scalars()
    return [{"code": r.code, "title": r.title, "legal_basis": r.legal_basis, "created_at": r.created_at} for r in rows]
