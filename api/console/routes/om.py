"""O&M approval pages (运维审批): the O&M projects the key sees with their review state, and one project's review —
its ratio beside its category's expenditure standard (chart), the system's O&M by year with its growth (chart),
the declarer's review form (a justification above the standard) and the finance reviewer's decision form. The
same :mod:`mdm.projects.om` services as ``/projects/{id}/om-review``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.console import charts, session
from api.console.render import page, redirect
from api.console.session import User
from api.deps import DatabaseDep
from api.params import DIGITS, RowId
from mdm.projects import dictionary, om

router = APIRouter()
NOTICES = {"review": "运维审查已提交。", "approved": "已同意（财政投资评审）。", "rejected": "已不予同意，项目已退回。"}

OUTCOMES = {"within": "在支出标准内", "above": "高于支出标准", "no_standard": "上年无支出标准"}
DECISIONS = {"approved": "同意", "rejected": "不予同意"}


def _lists(db) -> dict[str, dict[str, str]]:
    """The data dictionary as ``{list name: {code: title}}``, with the review's outcomes and decisions."""
    lists = {
        each["name"]: {c["code"]: c["title"] for c in each["codes"]} for each in dictionary.dictionary(db)["lists"]
    }
    return {**lists, "om_outcome": OUTCOMES, "om_decision": DECISIONS}


@router.get("/om-reviews")
def om_reviews(
    request: Request,
    user: User,
    db: DatabaseDep,
    year: Annotated[int | None, Query(ge=1949, le=2100), DIGITS] = None,
) -> Response:
    found = om.queue(db, caller=user.caller, year=year)
    return page(
        request,
        "om_reviews.html",
        user=user,
        section="om",
        title="运维审批",
        items=found["items"],
        year=year,
        words=_lists(db),
    )


@router.get("/projects/{project_id}/om-review")
def om_review(request: Request, user: User, db: DatabaseDep, project_id: RowId) -> Response:
    shown = om.om_review(db, project_id, caller=user.caller)
    caller = user.caller
    return page(
        request,
        "om_review.html",
        user=user,
        section="om",
        title=f"运维审批：{shown['name']}",
        review=shown,
        words=_lists(db),
        charts={"om-ratio": charts.om_review_ratio(shown), "om-history": charts.om_system_growth(shown)},
        may_review=caller.may("declarer") and shown["status"] in om.REVIEW_STAGES and not _decided(shown),
        may_decide=caller.may("finance_reviewer")
        and shown["status"] == "declared"
        and shown["recorded"]
        and shown["needs"]["finance_decision"],
        notice=NOTICES.get(request.query_params.get("done") or ""),
    )


def _decided(shown: dict) -> bool:
    return bool(shown["reviews"] and shown["reviews"][0]["decision"])


@router.post("/projects/{project_id}/om-review")
async def submit_review(request: Request, user: User, db: DatabaseDep, project_id: RowId) -> Response:
    """Submit the O&M review (the form's ``justification`` and, if the project has none, its period)."""
    posted = await session.form(request, user)
    body = {k: str(posted.get(k) or "") or None for k in ("justification", "period_start", "period_end")}
    om.submit_review(db, caller=user.caller, project_id=project_id, body=body)
    return redirect(f"/console/projects/{project_id}/om-review?done=review")


@router.post("/projects/{project_id}/om-review/decision")
async def decide(request: Request, user: User, db: DatabaseDep, project_id: RowId) -> Response:
    """The finance reviewer's decision (the form's ``decision`` approve|reject and ``reason``)."""
    posted = await session.form(request, user)
    body = {"decision": str(posted.get("decision") or ""), "reason": str(posted.get("reason") or "")[:10_000]}
    shown = om.decide(db, caller=user.caller, project_id=project_id, body=body)
    return redirect(f"/console/projects/{project_id}/om-review?done={shown['reviews'][0]['decision']}")
