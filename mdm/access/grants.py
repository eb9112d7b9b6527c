"""Grants and sharing requests (共享申请): who may read which fields of which repository, for which purposes.

A grant: department × repository × fields (names, or ``*`` for every field its share class allows) × purposes,
from ``valid_from`` until ``valid_until`` (open when None), of kind ``read`` or ``verify`` (核验: yes/no answers
only), with the sensitive fields it shows ``unmasked``. Granting a field whose share class is ``none`` is an
error (``grant.share_none``). A revoked grant stops working on the next request (grants are read per request).

A sharing request is filed by a department, routed to the department owning the repository's source (see
:func:`mdm.access.departments.owner_of`) or to stewards, and decided once: approve → a grant exists; reject →
the reason is kept. Two decisions at once: one wins, the other gets ``request.already_decided`` (409). Every
grant, revocation and decision appends an audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from mdm import audit
from mdm.access.departments import get_department, owner_of, require_purpose
from mdm.access.policy import GrantTerms
from mdm.errors import Conflict, Forbidden, InvalidRequest, NotFound
from mdm.models import Grant, SharingRequest
from standards import Standard

KINDS = ("read", "verify")


def _changed(result: Any) -> int:
    """Rows an UPDATE changed (a CursorResult's rowcount)."""
    return int(cast(CursorResult, result).rowcount)


@dataclass(frozen=True)
class GrantSpec:
    """What a grant or a request asks for; times are timezone-aware (UTC is used)."""

    repository: str
    fields: tuple[str, ...]
    purposes: tuple[str, ...]
    kind: str = "read"
    unmasked: tuple[str, ...] = ()
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    per_minute: int | None = None  # metering (mdm.access.metering): None means the default
    per_day: int | None = None


def check_spec(session: Session, standard: Standard, spec: GrantSpec) -> None:
    """Raise ``grant.invalid`` (kind, empty fields or purposes, times, unmasked outside fields),
    ``grant.field_unknown``, ``grant.share_none`` or ``access.purpose_unknown`` (all 400)."""
    if spec.kind not in KINDS:
        raise InvalidRequest("grant.invalid", "kind must be read or verify")
    if not spec.fields or not spec.purposes:
        raise InvalidRequest("grant.invalid", "a grant names at least one field (or *) and one purpose")
    named = [f for f in spec.fields if f != "*"]
    unknown = sorted(set(named) - set(standard.fields))
    if unknown:
        raise InvalidRequest("grant.field_unknown", f"{standard.repository} has no field {', '.join(unknown)}")
    never = sorted(f for f in named if standard.fields[f].share == "none")
    if never:
        raise InvalidRequest("grant.share_none", f"{', '.join(never)} is never shared (x-share: none)")
    if "*" not in spec.fields and set(spec.unmasked) - set(spec.fields) - {"*"}:
        raise InvalidRequest("grant.invalid", "unmasked fields must be among the granted fields")
    for code in spec.purposes:
        require_purpose(session, code)
    for moment in (spec.valid_from, spec.valid_until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidRequest("grant.invalid", "valid_from and valid_until need a time zone")
    if spec.valid_from and spec.valid_until and spec.valid_until <= spec.valid_from:
        raise InvalidRequest("grant.invalid", "valid_until must be after valid_from")
    for name, value in (("per_minute", spec.per_minute), ("per_day", spec.per_day)):
        if value is not None and not 1 <= value <= 100_000_000:
            raise InvalidRequest("grant.invalid", f"{name} must be between 1 and 100,000,000")


def issue_grant(
    session: Session,
    standard: Standard,
    *,
    department: str,
    spec: GrantSpec,
    issued_by: str,
    request_id: int | None = None,
) -> Grant:
    """Issue a grant to ``department`` (id or name); audited as ``grant.issue``. Errors: see :func:`check_spec`,
    ``department.not_found`` (404)."""
    holder = get_department(session, department)
    check_spec(session, standard, spec)
    now = dt.datetime.now(dt.UTC)
    row = Grant(
        department_id=holder.id,
        repository=standard.repository,
        kind=spec.kind,
        fields=sorted(set(spec.fields)),
        purposes=sorted(set(spec.purposes)),
        unmasked=sorted(set(spec.unmasked)),
        valid_from=spec.valid_from or now,
        valid_until=spec.valid_until,
        issued_by=issued_by,
        issued_at=now,
        request_id=request_id,
        per_minute=spec.per_minute,
        per_day=spec.per_day,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=issued_by,
        action="grant:issue",
        target=str(row.id),
        repository=standard.repository,
        detail=grant_out(row),
    )
    return row


def revoke_grant(session: Session, grant_id: int, *, revoked_by: str) -> Grant:
    """Revoke a grant (it stops working on the next request); audited. ``grant.not_found`` (404),
    ``grant.revoked`` (409) for one already revoked."""
    row = session.get(Grant, grant_id)
    if row is None:
        raise NotFound("grant.not_found", f"no grant {grant_id}")
    now = dt.datetime.now(dt.UTC)
    done = _changed(
        session.execute(update(Grant).where(Grant.id == grant_id, Grant.revoked_at.is_(None)).values(revoked_at=now))
    )
    if not done:
        raise Conflict("grant.revoked", f"grant {grant_id} is already revoked")
    session.refresh(row)
    audit.record(session, actor=revoked_by, action="grant:revoke", target=str(grant_id), repository=row.repository)
    return row


def grant_out(row: Grant) -> dict[str, Any]:
    """A grant as the API and the CLI show it."""

    def iso(moment: dt.datetime | None) -> str | None:
        return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": row.id,
        "department": row.department_id,
        "repository": row.repository,
        "kind": row.kind,
        "fields": list(row.fields),
        "purposes": list(row.purposes),
        "unmasked": list(row.unmasked or []),
        "valid_from": iso(row.valid_from),
        "valid_until": iso(row.valid_until),
        "issued_by": row.issued_by,
        "issued_at": iso(row.issued_at),
        "revoked_at": iso(row.revoked_at),
        "request_id": row.request_id,
        "per_minute": row.per_minute,
        "per_day": row.per_day,
    }


def list_grants(session: Session, *, department: str | None = None, repository: str | None = None) -> list[Grant]:
    """Grants (revoked ones too), oldest first, optionally of one department id and repository."""
    stmt = select(Grant).order_by(Grant.id)
    if department:
        stmt = stmt.where(Grant.department_id == department)
    if repository:
        stmt = stmt.where(Grant.repository == repository)
    return list(session.execute(stmt).scalars())


def terms_for(session: Session, department: str, repository: str) -> list[GrantTerms]:
    """The unrevoked grants of ``department`` for ``repository`` as policy terms (one query)."""
    rows = session.execute(
        select(Grant).where(
            Grant.department_id == department, Grant.repository == repository, Grant.revoked_at.is_(None)
        )
    ).scalars()
    return [
        GrantTerms(
            id=r.id,
            kind=r.kind,
            fields=frozenset(r.fields),
            purposes=frozenset(r.purposes),
            unmasked=frozenset(r.unmasked or ()),
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            per_minute=r.per_minute,
            per_day=r.per_day,
        )
        for r in rows
    ]


def file_request(
    session: Session, standard: Standard, *, department: str, spec: GrantSpec, reason: str, filed_by: str
) -> SharingRequest:
    """File a sharing request for one purpose; routed to the owner of the repository or to stewards. Errors:
    :func:`check_spec`'s, ``request.invalid`` for a missing reason."""
    if not reason.strip() or len(reason) > 2000:
        raise InvalidRequest("request.invalid", "a sharing request states its reason (at most 2,000 characters)")
    if len(spec.purposes) != 1:
        raise InvalidRequest("grant.invalid", "a sharing request names exactly one purpose")
    check_spec(session, standard, spec)
    now = dt.datetime.now(dt.UTC)
    row = SharingRequest(
        department_id=department,
        owner_id=owner_of(session, standard.repository),
        repository=standard.repository,
        kind=spec.kind,
        fields=sorted(set(spec.fields)),
        purpose=spec.purposes[0],
        unmasked=sorted(set(spec.unmasked)),
        valid_from=spec.valid_from or now,
        valid_until=spec.valid_until,
        reason=reason.strip(),
        state="pending",
        filed_by=filed_by,
        filed_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=department,
        key_prefix=filed_by,
        action="request:file",
        target=str(row.id),
        repository=standard.repository,
        purpose=row.purpose,
        detail={"fields": row.fields, "kind": row.kind},
    )
    return row


def may_see(row: SharingRequest, *, department: str, role: str) -> bool:
    """Stewards see every request; a department those it filed and those routed to it (as :func:`list_requests`)."""
    return role == "admin" or department in (row.department_id, row.owner_id)


def may_decide(row: SharingRequest, *, department: str, role: str) -> bool:
    """Stewards decide every request; the owning department those routed to it."""
    return role == "admin" or (row.owner_id is not None and row.owner_id == department)


def decide_request(
    session: Session,
    standard: Standard,
    request_id: int,
    *,
    approve: bool,
    department: str,
    role: str,
    reason: str | None,
) -> SharingRequest:
    """Approve (→ a grant) or reject (with a reason) a pending request, atomically: the state moves from
    ``pending`` in one conditional UPDATE, so of two concurrent decisions one wins and the other raises
    ``request.already_decided`` (409). ``sharing_request.not_found`` (404: no such request, or one the caller may
    not see — neither filed by nor routed to its department), ``auth.forbidden`` (403) for the filing
    department, ``request.invalid`` for a rejection without reason or a reason over 2,000 characters (the limit
    of a request's own reason)."""
    row = session.get(SharingRequest, request_id)
    if row is None or row.repository != standard.repository or not may_see(row, department=department, role=role):
        raise NotFound("sharing_request.not_found", f"no sharing request {request_id}")  # ids are no oracle
    if not may_decide(row, department=department, role=role):
        raise Forbidden("auth.forbidden", "this request is routed to its owning department or to stewards")
    if not approve and not (reason or "").strip():
        raise InvalidRequest("request.invalid", "a rejection states its reason")
    if reason is not None and len(reason) > 2000:
        raise InvalidRequest("request.invalid", "a decision's reason has at most 2,000 characters")
    now = dt.datetime.now(dt.UTC)
    state = "approved" if approve else "rejected"
    won = _changed(
        session.execute(
            update(SharingRequest)
            .where(SharingRequest.id == request_id, SharingRequest.state == "pending")
            .values(state=state, decided_by=department, decided_at=now, decision_reason=(reason or "").strip() or None)
        )
    )
    if not won:
        raise Conflict("request.already_decided", f"sharing request {request_id} is already decided")
    session.refresh(row)
    if approve:
        spec = GrantSpec(
            repository=row.repository,
            fields=tuple(row.fields),
            purposes=(row.purpose,),
            kind=row.kind,
            unmasked=tuple(row.unmasked or ()),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
        )
        grant = issue_grant(
            session, standard, department=row.department_id, spec=spec, issued_by=department, request_id=row.id
        )
        row.grant_id = grant.id
        session.flush()
    audit.record(
        session,
        actor=department,
        action="request:approve" if approve else "request:reject",
        target=str(row.id),
        repository=row.repository,
        purpose=row.purpose,
        detail={"state": state, "reason": row.decision_reason, "grant_id": row.grant_id},
    )
    return row


def request_out(row: SharingRequest) -> dict[str, Any]:
    """A sharing request as the API shows it."""

    def iso(moment: dt.datetime | None) -> str | None:
        return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": row.id,
        "department": row.department_id,
        "routed_to": row.owner_id or "stewards",
        "repository": row.repository,
        "kind": row.kind,
        "fields": list(row.fields),
        "purpose": row.purpose,
        "unmasked": list(row.unmasked or []),
        "valid_from": iso(row.valid_from),
        "valid_until": iso(row.valid_until),
        "reason": row.reason,
        "state": row.state,
        "filed_at": iso(row.filed_at),
        "decided_by": row.decided_by,
        "decided_at": iso(row.decided_at),
        "decision_reason": row.decision_reason,
        "grant_id": row.grant_id,
    }


def list_requests(session: Session, *, department: str, role: str, state: str | None = None) -> list[SharingRequest]:
    """Requests the caller may see: stewards all; a department those it filed and those routed to it."""
    stmt = select(SharingRequest).order_by(SharingRequest.id)
    if state:
        stmt = stmt.where(SharingRequest.state == state)
    if role != "admin":
        stmt = stmt.where((SharingRequest.department_id == department) | (SharingRequest.owner_id == department))
    return list(session.execute(stmt).scalars())


def find_request(session: Session, request_id: int) -> SharingRequest:
    """The sharing request ``request_id``; ``sharing_request.not_found`` (404)."""
    row = session.get(SharingRequest, request_id)
    if row is None:
        raise NotFound("sharing_request.not_found", f"no sharing request {request_id}")
    return row
