"""Sharing routes: departments, purposes, grants, sharing requests (共享申请), verification (核验), the audit
and the data-subject usage view. Thin: parse, call one ``mdm`` service, map the result or the error."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import (
    CurrentCaller,
    DatabaseDep,
    ReadContextDep,
    ReadsDep,
    RegistryDep,
    StandardDep,
    Steward,
    get_standard,
)
from api.params import DIGITS, RowId, guard_parameters
from api.routes.problems import ERRORS, PROBLEM
from api.schemas_sharing import (
    DecisionIn,
    DepartmentIn,
    GrantIn,
    Items,
    OwnerIn,
    OwnerOut,
    PurposeIn,
    SharingRequestIn,
    VerifyIn,
    VerifyOut,
)
from mdm import audit
from mdm.access import departments, grants
from mdm.errors import Forbidden, InvalidRequest
from standards import Standard

RESPONSES: dict[int | str, dict[str, Any]] = {status: dict(shape) for status, shape in ERRORS.items()}
RESPONSES[409] = {
    "description": "*.exists, *.name_confusable, department.owner_exists, request.already_decided, grant.revoked",
    **PROBLEM,
}
router = APIRouter(responses=RESPONSES, dependencies=[Depends(guard_parameters)])


@router.get("/departments", response_model=Items, tags=["sharing"])
def list_departments(caller: CurrentCaller, db: DatabaseDep) -> Any:
    """The registered departments: `{"items": [{"code", "id", "name", "owns", "created_at"}]}`."""
    with db.read() as session:
        return {"items": departments.list_departments(session)}


@router.post("/departments", status_code=201, tags=["sharing"])
def add_department(caller: Steward, db: DatabaseDep, body: DepartmentIn) -> dict[str, Any]:
    """Register a department (stewards)."""
    with db.write() as session:
        row = departments.add_department(session, department_id=body.id, name=body.name, owns=body.owns)
        audit.record(
            session,
            actor=caller.department,
            key_prefix=caller.key_prefix,
            action="department:add",
            target=row.id,
            detail={"name": row.name, "owns": row.owns},
        )
        return {"code": row.id, "id": row.id, "name": row.name, "owns": row.owns}


@router.put("/repositories/{repository}/owner", response_model=OwnerOut, tags=["sharing"])
def set_owner(caller: Steward, db: DatabaseDep, standard: StandardDep, body: OwnerIn) -> Any:
    """Make one department the owner of the repository's source (stewards), taking it from the previous one;
    audited. 404 `department.not_found`."""
    with db.write() as session:
        return departments.set_owner(
            session,
            repository=standard.repository,
            department=body.department,
            actor=caller.department,
            key_prefix=caller.key_prefix,
        )


@router.get("/purposes", response_model=Items, tags=["sharing"])
def list_purposes(caller: CurrentCaller, db: DatabaseDep) -> Any:
    """The registered purposes: `{"items": [{"code", "title", "legal_basis", "created_at"}]}`."""
    with db.read() as session:
        return {"items": departments.list_purposes(session)}


@router.post("/purposes", status_code=201, tags=["sharing"])
def add_purpose(caller: Steward, db: DatabaseDep, body: PurposeIn) -> dict[str, Any]:
    """Register a purpose (stewards)."""
    with db.write() as session:
        row = departments.add_purpose(session, code=body.code, title=body.title, legal_basis=body.legal_basis)
        audit.record(
            session,
            actor=caller.department,
            key_prefix=caller.key_prefix,
            action="purpose:add",
            target=row.code,
            detail={"title": row.title, "legal_basis": row.legal_basis},
        )
        return {"code": row.code, "title": row.title, "legal_basis": row.legal_basis}


def _standard(registry: RegistryDep, repository: str) -> Standard:
    return get_standard(repository, registry)


@router.get("/grants", response_model=Items, tags=["sharing"])
def list_grants(
    caller: CurrentCaller, db: DatabaseDep, department: str | None = None, repository: str | None = None
) -> Any:
    """Grants, revoked ones included: stewards see all, a department its own."""
    if caller.role != "admin":
        department = caller.department
    with db.read() as session:
        return {
            "items": [
                grants.grant_out(g) for g in grants.list_grants(session, department=department, repository=repository)
            ]
        }


def _spec(body: GrantIn | SharingRequestIn, purposes: list[str]) -> grants.GrantSpec:
    return grants.GrantSpec(
        repository=body.repository,
        fields=tuple(body.fields),
        purposes=tuple(purposes),
        kind=body.kind,
        unmasked=tuple(body.unmasked),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        per_minute=body.per_minute if isinstance(body, GrantIn) else None,
        per_day=body.per_day if isinstance(body, GrantIn) else None,
    )


@router.post("/grants", status_code=201, tags=["sharing"])
def issue_grant(caller: Steward, db: DatabaseDep, registry: RegistryDep, body: GrantIn) -> dict[str, Any]:
    """Issue a grant (stewards): 400 `grant.*` (a `none` field: `grant.share_none`), 404 `department.not_found`."""
    standard = _standard(registry, body.repository)
    with db.write() as session:
        row = grants.issue_grant(
            session, standard, department=body.department, spec=_spec(body, body.purposes), issued_by=caller.department
        )
        return grants.grant_out(row)


@router.post("/grants/{grant_id}/revoke", tags=["sharing"])
def revoke_grant(caller: Steward, db: DatabaseDep, grant_id: RowId) -> dict[str, Any]:
    """Revoke a grant (stewards); it stops working on the next request."""
    with db.write() as session:
        return grants.grant_out(grants.revoke_grant(session, grant_id, revoked_by=caller.department))


@router.post("/sharing-requests", status_code=201, tags=["sharing"])
def file_request(caller: CurrentCaller, db: DatabaseDep, registry: RegistryDep, body: SharingRequestIn) -> Any:
    """File a sharing request; it is routed to the department owning the repository's source, or to stewards."""
    standard = _standard(registry, body.repository)
    with db.write() as session:
        row = grants.file_request(
            session,
            standard,
            department=caller.department,
            spec=_spec(body, [body.purpose]),
            reason=body.reason,
            filed_by=caller.key_prefix,
        )
        return grants.request_out(row)


@router.get("/sharing-requests", response_model=Items, tags=["sharing"])
def list_requests(
    caller: CurrentCaller,
    db: DatabaseDep,
    state: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
) -> Any:
    """Requests: stewards see all; a department those it filed and those routed to it (`?state=pending`)."""
    with db.read() as session:
        rows = grants.list_requests(session, department=caller.department, role=caller.role, state=state)
        return {"items": [grants.request_out(r) for r in rows]}


def _decide(caller, db, registry, request_id: int, *, approve: bool, reason: str | None) -> dict[str, Any]:
    with db.read() as session:
        row = grants.find_request(session, request_id)
    standard = _standard(registry, row.repository)
    with db.write() as session:
        decided = grants.decide_request(
            session,
            standard,
            request_id,
            approve=approve,
            department=caller.department,
            role=caller.role,
            reason=reason,
        )
        return grants.request_out(decided)


@router.post("/sharing-requests/{request_id}/approve", tags=["sharing"])
def approve_request(
    caller: CurrentCaller, db: DatabaseDep, registry: RegistryDep, request_id: RowId, body: DecisionIn | None = None
) -> Any:
    """Approve a pending request: a grant is issued. 409 `request.already_decided` if it was decided."""
    return _decide(caller, db, registry, request_id, approve=True, reason=body.reason if body else None)


@router.post("/sharing-requests/{request_id}/reject", tags=["sharing"])
def reject_request(
    caller: CurrentCaller, db: DatabaseDep, registry: RegistryDep, request_id: RowId, body: DecisionIn
) -> Any:
    """Reject a pending request with a reason. 409 `request.already_decided` if it was decided."""
    return _decide(caller, db, registry, request_id, approve=False, reason=body.reason)


@router.post("/repositories/{repository}/verify", response_model=VerifyOut, tags=["records"])
def verify(ctx: ReadContextDep, standard: StandardDep, reads: ReadsDep, body: VerifyIn) -> Any:
    """Verification (核验): per claim match, no_match or unknown; needs a verify grant per field; audited."""
    return {"results": reads.verify(ctx, standard, body.key, body.claims)}


def _instant(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest("request.invalid", f"{name} must be an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.get("/audit", response_model=Items, tags=["sharing"])
def list_audit(
    caller: Steward,
    db: DatabaseDep,
    department: str | None = None,
    repository: str | None = None,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
    to: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000), DIGITS] = 100,
) -> Any:
    """Audit events newest first (stewards), by department, repository and time."""
    with db.read() as session:
        items = audit.find_events(
            session,
            department=department,
            repository=repository,
            since=_instant("from", from_),
            until=_instant("to", to),
            limit=limit,
        )
    return {"items": items}


@router.get("/repositories/{repository}/records/{key}/usage", response_model=Items, tags=["records"])
def record_usage(
    caller: CurrentCaller,
    standard: StandardDep,
    db: DatabaseDep,
    key: str,
    limit: Annotated[int, Query(ge=1, le=1000), DIGITS] = 100,
) -> Any:
    """Who used this record, when and for what purpose (the owning department and stewards)."""
    with db.read() as session:
        if not departments.may_see_usage(
            session, department=caller.department, role=caller.role, repository=standard.repository
        ):
            raise Forbidden("auth.forbidden", "the usage of a record is shown to its owning department and stewards")
        return {"items": audit.usage(session, standard.repository, key, limit=limit)}
