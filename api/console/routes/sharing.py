"""Sharing pages: my department's grants, sharing requests (共享申请) — file one, the owner's queue to approve or
reject — and "who used this record" (the owning department and stewards). The same ``mdm.access`` services as
``/grants`` and ``/sharing-requests``; every decision is audited there."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.console import session
from api.console.render import page, redirect
from api.console.session import User
from api.deps import DatabaseDep, RegistryDep
from api.params import RowId
from mdm import audit
from mdm.access import departments, grants
from mdm.errors import Forbidden, InvalidRequest
from mdm.repositories import standard_for

router = APIRouter()


def _fields(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    names = [n.strip() for item in items for n in str(item).replace("，", ",").split(",") if n.strip()]
    if not names:
        raise InvalidRequest("request.invalid", "name at least one field (or * for every field allowed)")
    return tuple(dict.fromkeys(names))


def _date(value: Any, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest("request.invalid", f"{name} must be a date (YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


_DONE = re.compile(r"(filed|approved|rejected)-(\d{1,19})")
_DONE_TEXT = {"filed": "已提交共享申请 {}", "approved": "已批准共享申请 {}", "rejected": "已驳回共享申请 {}"}


def _done(value: str | None) -> str | None:
    """The notice after a form (``?done=filed-12``) in the console's own words; any other text is ignored, so a
    link cannot put words of its own on the page."""
    found = _DONE.fullmatch(value or "")
    return _DONE_TEXT[found.group(1)].format(found.group(2)) if found else None


@router.get("/sharing")
def sharing(
    request: Request,
    user: User,
    db: DatabaseDep,
    registry: RegistryDep,
    repository: Annotated[str | None, Query(max_length=64)] = None,
    key: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    caller = user.caller
    with db.read() as s:
        mine = [grants.grant_out(g) for g in grants.list_grants(s, department=caller.department)]
        requests = [
            {
                **grants.request_out(r),
                "may_decide": r.state == "pending"
                and grants.may_decide(r, department=caller.department, role=caller.role),
            }
            for r in grants.list_requests(s, department=caller.department, role=caller.role)
        ]
        names = {d["id"]: d["name"] for d in departments.list_departments(s)}
        purposes = departments.list_purposes(s)
        usage = None
        usage_problem = None
        if repository and key:
            standard = standard_for(registry, repository)
            if departments.may_see_usage(
                s, department=caller.department, role=caller.role, repository=standard.repository
            ):
                usage = audit.usage(s, standard.repository, key.strip(), limit=100)
            else:
                usage_problem = "只有数据所属部门和管理员可以查看记录的使用情况（auth.forbidden）"
    return page(
        request,
        "sharing.html",
        user=user,
        section="sharing",
        title="共享与授权",
        grants=mine,
        requests=requests,
        pending=[r for r in requests if r["may_decide"]],
        names=names,
        sharing_purposes=purposes,
        repositories=[(r, registry.get(r).title) for r in registry.repositories],
        fields_of={
            r: [(n, f.title, f.share) for n, f in registry.get(r).fields.items()] for r in registry.repositories
        },
        usage=usage,
        usage_problem=usage_problem,
        usage_repository=repository or "",
        usage_key=key or "",
        done=_done(request.query_params.get("done")),
    )


@router.post("/sharing/requests")
async def file_request(request: Request, user: User, db: DatabaseDep, registry: RegistryDep) -> Response:
    posted = await session.form(request, user)
    standard = standard_for(registry, str(posted.get("repository") or ""))
    spec = grants.GrantSpec(
        repository=standard.repository,
        fields=_fields(posted.get("fields")),
        purposes=(str(posted.get("purpose") or ""),),
        kind=str(posted.get("kind") or "read"),
        unmasked=_fields(posted["unmasked"]) if posted.get("unmasked") else (),
        valid_from=_date(posted.get("valid_from"), "valid_from"),
        valid_until=_date(posted.get("valid_until"), "valid_until"),
    )
    with db.write() as s:
        row = grants.file_request(
            s,
            standard,
            department=user.caller.department,
            spec=spec,
            reason=str(posted.get("reason") or ""),
            filed_by=user.caller.key_prefix,
        )
        filed = row.id
    return redirect(f"/console/sharing?done=filed-{filed}")


@router.post("/sharing/requests/{request_id}/{decision}")
async def decide(
    request: Request, user: User, db: DatabaseDep, registry: RegistryDep, request_id: RowId, decision: str
) -> Response:
    posted = await session.form(request, user)
    if decision not in ("approve", "reject"):
        raise Forbidden("auth.forbidden", "a request is approved or rejected")
    with db.read() as s:
        row = grants.find_request(s, request_id)
    standard = standard_for(registry, row.repository)
    with db.write() as s:
        grants.decide_request(
            s,
            standard,
            request_id,
            approve=decision == "approve",
            department=user.caller.department,
            role=user.caller.role,
            reason=str(posted.get("reason") or "") or None,
        )
    return redirect(f"/console/sharing?done={'approved' if decision == 'approve' else 'rejected'}-{request_id}")
