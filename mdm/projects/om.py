"""The O&M approval flow (运维项目审批): an O&M project against its category's expenditure standard.

1. **Declaration** (:func:`declaration`, from :func:`mdm.projects.service.create_project`): the category
   (code list ``om_category``), the system maintained — ``system_project_id``, a *filed* construction project of
   the declaring department whose approved amount is the construction cost, or ``construction_cost_wan``, a
   declared construction cost (万元, more than zero) —, the contract amount (``requested_wan``, 万元) and the
   service period (``period_start``, ``period_end``: ISO dates, the start in the budget year, the end not before
   it). A system another department owns answers 404 ``project.not_found`` (:func:`mdm.projects.service.load`);
   one that is not a filed construction project of the department is 409 ``project.om_system_invalid``.
2. **Review** (:func:`submit_review`, the declarer — admin on its behalf —, in ``draft`` or ``declared``): the
   ratio contract / construction cost (four decimals, half up, as the census computes it) against the
   category's standard from the census of the **year before** (:func:`mdm.projects.census.standard_for`, the
   declared rule :data:`~mdm.projects.census.STANDARD_RULE`): the standard is set from declarations already
   made, never from the one reviewed. ``ratio ≤ standard`` is ``within`` and proceeds; ``above`` — and
   ``no_standard``, a category without a census the year before (a guard that cannot be evaluated does not
   pass) — needs a written justification (409 ``project.om_justification_required`` without, with the figures)
   and the finance reviewer's decision. Each review is a row of ``project_om_reviews``; the latest counts; a
   decided review is not replaced (409 ``project.om_review_state``).
3. **Decision** (:func:`decide`, ``finance_reviewer`` — or admin —, in ``declared``): ``approve`` or ``reject``
   with a reason, recorded on the review with who and when; a rejection moves the project to ``rejected`` (a
   transition with the reason as comment). Only a review that is not within and not decided takes one (409
   ``project.om_review_state``).
4. **Gate**: ``declared → evaluated`` of an O&M project needs ``om_review`` (a review recorded) and, unless it
   is within, ``om_finance_decision`` (approved) — :func:`gate_missing`, named in ``project.transition_invalid``.
5. **Growth** (:func:`history`): the O&M projects of one system (its filed project, else its first system name,
   within the department; rejected and withdrawn ones left out) by year, each year's contract total and its
   growth on the year before (total / previous − 1, four decimals).

Every change goes through :func:`mdm.projects.actions.record_project_action` (actions ``om_review``,
``om_decision``; audited). Amounts come in and go out in 万元 with two decimals, ratios as strings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.db import Database, storable
from mdm.errors import Conflict, Forbidden, InvalidRequest
from mdm.keys import Caller
from mdm.projects import census
from mdm.projects.actions import now, record_project_action
from mdm.projects.models import Project, ProjectOmReview, ProjectTransition
from mdm.projects.rules import fen_to_wan, row_id, wan_to_fen
from mdm.search.text import normalise

REVIEW_STAGES = ("draft", "declared")
DECISIONS = {"approve": "approved", "reject": "rejected"}
OUTCOMES = ("within", "above", "no_standard")
_FOUR = Decimal("0.0001")


def _wan(fen: int | None) -> str | None:
    amount = fen_to_wan(fen)
    return None if amount is None else str(amount)


def _date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidRequest("project.invalid", f"{field} must be an ISO date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest("project.invalid", f"{field} must be an ISO date YYYY-MM-DD, got {value!r}") from None


def period(body: dict[str, Any], *, year: int) -> tuple[dt.date, dt.date] | None:
    """``(period_start, period_end)`` from ``body``, or None when both are left out. The start lies in the
    budget ``year`` and the end is not before it; ``project.invalid`` (400) otherwise or with only one given."""
    start, end = body.get("period_start"), body.get("period_end")
    if start is None and end is None:
        return None
    first, last = _date(start, "period_start"), _date(end, "period_end")
    if first.year != year or last < first:
        raise InvalidRequest(
            "project.invalid", f"the O&M period starts in the budget year {year} and ends on or after its start"
        )
    return first, last


def declaration(
    session: Session, *, caller: Caller, body: dict[str, Any], department_uscc: str, year: int
) -> dict[str, Any]:
    """The O&M columns of a new project from ``body`` (see step 1 of the module): ``{"om_construction_cost_fen",
    "om_system_project_id", "om_period_start", "om_period_end", "system_name"}`` (``system_name``: the filed
    project's name, None for a declared cost).

    Raises ``project.invalid`` (400: both or neither of system_project_id and construction_cost_wan, a cost of
    zero, a bad period), ``project.not_found`` (404: a system project the caller does not see),
    ``project.om_system_invalid`` (409)."""
    from mdm.projects.service import load  # service imports this module for the declaration

    given = body.get("system_project_id")
    cost = body.get("construction_cost_wan")
    if given is not None and cost is not None:
        raise InvalidRequest(
            "project.invalid", "name the system maintained by system_project_id or construction_cost_wan, not both"
        )
    name = system_id = None
    if given is not None:
        system = load(session, row_id(given, field="system_project_id"), caller=caller)
        if system.kind != "construction" or system.status != "filed" or system.department_uscc != department_uscc:
            raise Conflict(
                "project.om_system_invalid",
                f"project {system.id} is no filed construction project of department {department_uscc}",
                system_project_id=system.id,
                system_status=system.status,
            )
        system_id, name, cost_fen = system.id, system.name, system.approved_fen or 0
    else:
        cost_fen = wan_to_fen(cost, field="construction_cost_wan")
    if cost_fen <= 0:
        raise InvalidRequest("project.invalid", "the construction cost of the system maintained must be above 0")
    span = period(body, year=year)
    return {
        "om_construction_cost_fen": cost_fen,
        "om_system_project_id": system_id,
        "om_period_start": span[0] if span else None,
        "om_period_end": span[1] if span else None,
        "system_name": name,
    }


def compare(session: Session, project: Project) -> dict[str, Any]:
    """The project against its category's standard now: ``{"census_year", "category", "rule",
    "standard_ratio", "contract_wan", "construction_cost_wan", "ratio", "outcome", "code"}`` (``code``
    ``project.om_above_standard`` unless within)."""
    census_year = project.year - 1
    standard = census.standard_for(session, category=project.om_category or "", year=census_year)
    contract, cost = project.requested_fen, project.om_construction_cost_fen or 0
    ratio = (Decimal(contract) / Decimal(cost)).quantize(_FOUR, rounding=ROUND_HALF_UP) if cost else None
    outcome = "no_standard" if standard is None or ratio is None else "within" if ratio <= standard else "above"
    return {
        "census_year": census_year,
        "category": project.om_category,
        "rule": census.STANDARD_RULE,
        "standard_ratio": None if standard is None else str(standard),
        "contract_wan": _wan(contract),
        "construction_cost_wan": _wan(cost),
        "ratio": None if ratio is None else str(ratio),
        "outcome": outcome,
        "code": None if outcome == "within" else "project.om_above_standard",
    }


def latest_review(session: Session, project_id: int) -> ProjectOmReview | None:
    return session.execute(
        select(ProjectOmReview)
        .where(ProjectOmReview.project_id == project_id)
        .order_by(ProjectOmReview.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def gate_missing(review: ProjectOmReview | None) -> list[str]:
    """The O&M conditions of ``declared → evaluated``: ``om_review``, ``om_finance_decision``."""
    if review is None:
        return ["om_review"]
    if review.outcome != "within" and review.decision != "approved":
        return ["om_finance_decision"]
    return []


def review_view(review: ProjectOmReview) -> dict[str, Any]:
    """One recorded review."""
    return {
        "id": review.id,
        "census_year": review.census_year,
        "category": review.category,
        "rule": review.rule,
        "standard_ratio": review.standard_ratio,
        "contract_wan": _wan(review.contract_fen),
        "construction_cost_wan": _wan(review.construction_cost_fen),
        "ratio": review.ratio,
        "outcome": review.outcome,
        "code": None if review.outcome == "within" else "project.om_above_standard",
        "justification": review.justification,
        "department": review.department,
        "key_prefix": review.key_prefix,
        "at": review.at.isoformat(),
        "decision": review.decision,
        "decision_reason": review.decision_reason,
        "decided_by": None
        if review.decision is None
        else {"department": review.decided_department, "key_prefix": review.decided_key_prefix},
        "decided_at": review.decided_at.isoformat() if review.decided_at else None,
    }


def _system_key(row: Project) -> tuple[str, str]:
    if row.om_system_project_id is not None:
        return ("project", str(row.om_system_project_id))
    if row.systems:
        return ("name", normalise(str(row.systems[0])))
    return ("self", str(row.id))


def history(session: Session, project: Project) -> list[dict[str, Any]]:
    """The O&M of ``project``'s system by year (step 5): ``[{"year", "contract_wan", "growth", "projects":
    [{"id", "name", "status", "contract_wan"}]}]``, oldest first."""
    key = _system_key(project)
    rows = session.execute(
        select(Project)
        .where(
            Project.kind == "om",
            Project.department_uscc == project.department_uscc,
            Project.status.not_in(("rejected", "withdrawn")),
        )
        .order_by(Project.year, Project.id)
    ).scalars()
    years: dict[int, list[Project]] = defaultdict(list)
    for row in rows:
        if _system_key(row) == key:
            years[row.year].append(row)
    out: list[dict[str, Any]] = []
    previous: int | None = None
    for year in sorted(years):
        total = sum(r.requested_fen for r in years[year])
        growth = None
        if previous and year - 1 in years:
            growth = str((Decimal(total) / Decimal(previous) - 1).quantize(_FOUR, rounding=ROUND_HALF_UP))
        out.append(
            {
                "year": year,
                "contract_wan": _wan(total),
                "growth": growth,
                "projects": [
                    {"id": r.id, "name": r.name, "status": r.status, "contract_wan": _wan(r.requested_fen)}
                    for r in years[year]
                ],
            }
        )
        previous = total
    return out


def _om_project(session: Session, project_id: int, caller: Caller, *, lock: bool = False) -> Project:
    from mdm.projects.service import load

    project = load(session, project_id, caller=caller, lock=lock)
    if project.kind != "om":
        raise Conflict("project.not_om", f"project {project_id} is a {project.kind} project, not O&M")
    return project


def _stage(project: Project, allowed: tuple[str, ...], what: str) -> None:
    if project.status not in allowed:
        raise Conflict(
            "project.transition_invalid",
            f"{what} is possible only in {', '.join(allowed)}; the project is {project.status}",
            missing=[f"stage_{s}" for s in allowed],
        )


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 10_000 or not storable(value):
        raise InvalidRequest("project.invalid", f"{field} must be a text of at most 10,000 characters (no NUL)")
    return value.strip()


def om_review(db: Database, project_id: int, *, caller: Caller) -> dict[str, Any]:
    """What the O&M review of a project shows: ``{"project_id", "status", "om_category", "period_start",
    "period_end", "system_project_id", "systems", "comparison"`` (the recorded one, else as it would be now)``,
    "recorded"`` (bool)``, "needs": {"justification", "finance_decision"}, "proceeds"`` (the gate is open for
    the review)``, "reviews": [review, newest first], "history": [year]}``.

    Raises ``project.not_found`` (404), ``project.not_om`` (409)."""
    with db.read() as session:
        project = _om_project(session, project_id, caller)
        reviews = (
            session.execute(
                select(ProjectOmReview)
                .where(ProjectOmReview.project_id == project.id)
                .order_by(ProjectOmReview.id.desc())
            )
            .scalars()
            .all()
        )
        latest = reviews[0] if reviews else None
        shown = review_view(latest) if latest else compare(session, project)
        above = shown["outcome"] != "within"
        return {
            "project_id": project.id,
            "name": project.name,
            "year": project.year,
            "status": project.status,
            "department_uscc": project.department_uscc,
            "department_name": project.department_name,
            "om_category": project.om_category,
            "period_start": project.om_period_start.isoformat() if project.om_period_start else None,
            "period_end": project.om_period_end.isoformat() if project.om_period_end else None,
            "system_project_id": project.om_system_project_id,
            "systems": project.systems,
            "comparison": shown,
            "recorded": latest is not None,
            "needs": {
                "justification": above and not (latest and latest.justification),
                "finance_decision": above and not (latest and latest.decision),
            },
            "proceeds": not gate_missing(latest),
            "reviews": [review_view(r) for r in reviews],
            "history": history(session, project),
        }


def submit_review(db: Database, *, caller: Caller, project_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Record the review of an O&M project (step 2) from ``body``: ``justification`` (text; needed unless
    within) and, for a project declared without one, ``period_start``/``period_end``. Returns
    :func:`om_review`.

    Raises ``auth.forbidden`` (403: not a declarer), ``project.not_found`` (404), ``project.not_om``,
    ``project.transition_invalid`` (409: not draft or declared), ``project.invalid`` (400: no period, bad
    text), ``project.om_justification_required`` (409, with the comparison), ``project.om_review_state`` (409:
    the latest review is decided)."""
    if not caller.may("declarer"):
        raise Forbidden("auth.forbidden", "an O&M review is submitted by the declarer (role declarer)")
    justification = _text(body.get("justification"), "justification")
    with db.write() as session:
        project = _om_project(session, project_id, caller, lock=True)
        _stage(project, REVIEW_STAGES, "an O&M review")
        latest = latest_review(session, project.id)
        if latest is not None and latest.decision is not None:
            raise Conflict("project.om_review_state", f"the O&M review of project {project.id} is decided")
        span = period(body, year=project.year)
        if span is not None:
            project.om_period_start, project.om_period_end = span
        if project.om_period_start is None:
            raise InvalidRequest("project.invalid", "an O&M review needs the service period: period_start, period_end")
        shown = compare(session, project)
        if shown["outcome"] != "within" and not justification:
            raise Conflict(
                "project.om_justification_required",
                f"the ratio {shown['ratio']} is above the {shown['census_year']} standard "
                f"{shown['standard_ratio'] or '(none)'}: give a written justification",
                **{k: shown[k] for k in ("ratio", "standard_ratio", "census_year", "outcome")},
            )
        stamp = now()
        session.add(
            ProjectOmReview(
                project_id=project.id,
                census_year=shown["census_year"],
                category=project.om_category or "",
                rule=shown["rule"],
                standard_ratio=shown["standard_ratio"],
                contract_fen=project.requested_fen,
                construction_cost_fen=project.om_construction_cost_fen or 0,
                ratio=shown["ratio"] or "",
                outcome=shown["outcome"],
                justification=justification or None,
                department=caller.department,
                key_prefix=caller.key_prefix,
                at=stamp,
            )
        )
        project.updated_at = stamp
        record_project_action(
            session,
            caller=caller,
            action="om_review",
            project_id=project.id,
            detail={**shown, "justification": justification},
        )
    return om_review(db, project_id, caller=caller)


def decide(db: Database, *, caller: Caller, project_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The finance reviewer's decision on an O&M review above the standard (step 3): ``body`` ``{"decision":
    "approve"|"reject", "reason"}``. Returns :func:`om_review`.

    Raises ``auth.forbidden`` (403: not a finance_reviewer), ``project.not_found`` (404), ``project.not_om``,
    ``project.transition_invalid`` (409: not declared), ``project.om_review_state`` (409), ``project.invalid``
    (400: another decision, no reason)."""
    if not caller.may("finance_reviewer"):
        raise Forbidden("auth.forbidden", "an O&M decision is the finance reviewer's (role finance_reviewer)")
    decision = DECISIONS.get(body.get("decision"))  # type: ignore[arg-type]
    if decision is None:
        raise InvalidRequest("project.invalid", "decision must be approve or reject")
    reason = _text(body.get("reason"), "reason")
    if not reason:
        raise InvalidRequest("project.invalid", "a decision gives its reason")
    with db.write() as session:
        project = _om_project(session, project_id, caller, lock=True)
        _stage(project, ("declared",), "an O&M decision")
        review = latest_review(session, project.id)
        if review is None or review.outcome == "within" or review.decision is not None:
            state = "no review" if review is None else "within" if review.outcome == "within" else "decided"
            raise Conflict("project.om_review_state", f"the O&M review of project {project.id}: {state}")
        stamp = now()
        review.decision, review.decision_reason = decision, reason
        review.decided_department, review.decided_key_prefix, review.decided_at = (
            caller.department,
            caller.key_prefix,
            stamp,
        )
        detail = {"review_id": review.id, "decision": decision, "reason": reason, "ratio": review.ratio}
        record_project_action(session, caller=caller, action="om_decision", project_id=project.id, detail=detail)
        if decision == "rejected":
            session.add(
                ProjectTransition(
                    project_id=project.id,
                    from_status=project.status,
                    to_status="rejected",
                    department=caller.department,
                    key_prefix=caller.key_prefix,
                    at=stamp,
                    comment=reason,
                    documents=[],
                )
            )
            record_project_action(
                session,
                caller=caller,
                action="transition",
                project_id=project.id,
                detail={"from": project.status, "to": "rejected", "comment": reason, "documents": []},
            )
            project.status = "rejected"
        project.updated_at = stamp
    return om_review(db, project_id, caller=caller)


def queue(db: Database, *, caller: Caller, year: int | None = None, limit: int = 200) -> dict[str, Any]:
    """The O&M projects ``caller`` sees (:func:`mdm.projects.service.visible`), newest first, each with its review
    state: ``{"items": [{"id", "name", "year", "department_uscc", "department_name", "status", "om_category",
    "contract_wan", "construction_cost_wan", "ratio", "standard_ratio", "outcome", "recorded", "justified", "decision",
    "proceeds"}], "total"}`` — the comparison is the recorded one, else as it would be now."""
    from mdm.projects.service import sees_every_department

    stmt = select(Project).where(Project.kind == "om")
    if not sees_every_department(caller):
        stmt = stmt.where(Project.department_uscc == caller.department)
    if year is not None:
        stmt = stmt.where(Project.year == year)
    items = []
    with db.read() as session:
        rows = session.execute(stmt.order_by(Project.id.desc()).limit(limit)).scalars().all()
        for row in rows:
            latest = latest_review(session, row.id)
            shown = review_view(latest) if latest else compare(session, row)
            items.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "year": row.year,
                    "department_uscc": row.department_uscc,
                    "department_name": row.department_name,
                    "status": row.status,
                    "om_category": row.om_category,
                    "contract_wan": shown["contract_wan"],
                    "construction_cost_wan": shown["construction_cost_wan"],
                    "ratio": shown["ratio"],
                    "standard_ratio": shown["standard_ratio"],
                    "outcome": shown["outcome"],
                    "recorded": latest is not None,
                    "justified": bool(latest and latest.justification),
                    "decision": latest.decision if latest else None,
                    "proceeds": not gate_missing(latest),
                }
            )
    return {"items": items, "total": len(items)}
