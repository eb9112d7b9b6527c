"""Budget evaluation → control price, the pre-approval performance evaluation, and dual control.

* ``software`` (big-data bureau, role ``bigdata_reviewer``): the amount is computed from a function-point count
  by :func:`mdm.projects.costing.software_cost`, never typed;
* ``hardware`` (finance investment review centre, role ``finance_reviewer``): the reviewed amount in 万元;
* ``performance`` (事前绩效评估, role ``finance_reviewer``): passed or not.

The control price is the latest software amount + the latest hardware amount + the declared other parts. Dual
control: plan control (``plan_control``) confirms the project is in the year's plan; budget control
(``finance_approver``) approves an amount, which may not exceed the control price (``project.over_control_price``)
nor the amount requested (``project.over_requested``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.db import Database, storable
from mdm.errors import Conflict, Forbidden, InvalidRequest
from mdm.keys import Caller
from mdm.projects.actions import now, record_project_action
from mdm.projects.costing import DEFAULT_COST_STANDARD, refuse_unknown, software_cost
from mdm.projects.lifecycle import stage_conflict
from mdm.projects.models import Project, ProjectDocument, ProjectEvaluation
from mdm.projects.rules import fen_to_wan, row_id, wan_to_fen
from mdm.projects.service import load, view

ROLE = {"software": "bigdata_reviewer", "hardware": "finance_reviewer", "performance": "finance_reviewer"}
_COMMON = ("kind", "report_document_id", "comment")
BODY_KEYS = {
    "software": (*_COMMON, "function_points", "cost_standard"),
    "hardware": (*_COMMON, "amount_wan"),
    "performance": (*_COMMON, "passed"),
}
"""The keys an evaluation body of each kind takes; any other is refused (``project.invalid``, ``fields``)."""
STAGES = {"software": ("declared",), "hardware": ("declared",), "performance": ("declared", "evaluated")}
# The report an evaluation may cite: its own type, filed by the evaluating role (or an admin).
REPORT_TYPES = {
    "software": "software_evaluation",
    "hardware": "hardware_evaluation",
    "performance": "performance_report",
}


def _stage(project: Project, allowed: tuple[str, ...], what: str) -> None:
    if project.status not in allowed:
        raise stage_conflict(project, allowed, what)


def control_price_fen(session: Session, project: Project) -> int | None:
    """Software + hardware (latest of each) + other declared parts, in 分; None until both are evaluated."""
    latest: dict[str, int | None] = {}
    for e in session.execute(
        select(ProjectEvaluation).where(ProjectEvaluation.project_id == project.id).order_by(ProjectEvaluation.id)
    ).scalars():
        latest[e.kind] = e.amount_fen
    if "software" not in latest or "hardware" not in latest:
        return None
    return (latest["software"] or 0) + (latest["hardware"] or 0) + sum(p["amount_fen"] for p in project.other_parts)


def record_evaluation(db: Database, *, caller: Caller, project_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Record an evaluation from ``body``: ``kind``, ``report_document_id`` (optional, a document of the
    project), ``comment``; software: ``function_points`` (see :func:`software_cost`) and ``cost_standard``
    (a pack version, default :data:`~mdm.projects.costing.DEFAULT_COST_STANDARD`, the Suzhou pack; recorded in
    the evaluation's ``computation`` and in the action's detail);
    hardware: ``amount_wan``; performance: ``passed`` (bool). Returns the project view.

    A ``report_document_id`` names a document of the project of the kind's report type (:data:`REPORT_TYPES`)
    uploaded by the evaluating role or an admin.

    Raises ``project.invalid`` (also a key the kind does not take, named in ``fields``; a ``report_document_id``
    that is no id from 1 to 2⁶³−1, or not such a report), ``auth.forbidden`` (403), ``project.not_found``
    (404), ``project.transition_invalid`` (409, wrong stage),
    ``project.cost_standard_unknown``.
    """
    kind = body.get("kind")
    if kind not in ROLE:
        raise InvalidRequest("project.invalid", f"kind must be one of {', '.join(ROLE)}")
    refuse_unknown(body, BODY_KEYS[kind])
    report = body.get("report_document_id")
    if report is not None:
        report = row_id(report, field="report_document_id")
    comment = body.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 10_000 or not storable(comment):
        raise InvalidRequest("project.invalid", "comment must be a text of at most 10,000 characters (no NUL)")
    if not caller.may(ROLE[kind]):
        raise Forbidden("auth.forbidden", f"a {kind} evaluation needs the role {ROLE[kind]}")
    amount = passed = None
    computation: dict[str, Any] = {}
    if kind == "software":
        computation = software_cost(
            body.get("function_points") or {}, version=body.get("cost_standard") or DEFAULT_COST_STANDARD
        )
        amount = wan_to_fen(computation["amount_wan"], field="amount_wan")
    elif kind == "hardware":
        amount = wan_to_fen(body.get("amount_wan"), field="amount_wan")
    else:
        passed = body.get("passed")
        if not isinstance(passed, bool):
            raise InvalidRequest("project.invalid", "a performance evaluation needs passed: true or false")
    with db.write() as session:
        project = load(session, project_id, caller=caller, lock=True)
        _stage(project, STAGES[kind], f"a {kind} evaluation")
        if report is not None:
            cited = session.execute(
                select(ProjectDocument.doc_type, ProjectDocument.role).where(
                    ProjectDocument.id == report, ProjectDocument.project_id == project.id
                )
            ).first()
            if cited is None or cited[0] != REPORT_TYPES[kind] or cited[1] not in (ROLE[kind], "admin"):
                raise InvalidRequest(
                    "project.invalid",
                    f"report_document_id must be a {REPORT_TYPES[kind]} document of this project uploaded by "
                    f"{ROLE[kind]} (or an admin)",
                )
        row = ProjectEvaluation(
            project_id=project.id,
            kind=kind,
            amount_fen=amount,
            passed=passed,
            report_document_id=report,
            computation=computation,
            comment=comment,
            department=caller.department,
            key_prefix=caller.key_prefix,
            at=now(),
        )
        session.add(row)
        session.flush()
        project.control_price_fen = control_price_fen(session, project)
        project.updated_at = row.at
        record_project_action(
            session,
            caller=caller,
            action="evaluation",
            project_id=project.id,
            detail={
                "kind": kind,
                "cost_standard": computation.get("cost_standard"),
                "amount_wan": str(fen_to_wan(amount)) if amount is not None else None,
                "passed": passed,
                "control_price_wan": str(fen_to_wan(project.control_price_fen)),
            },
        )
        return view(session, project, caller=caller)


def confirm_plan(db: Database, *, caller: Caller, project_id: int, comment: str = "") -> dict[str, Any]:
    """Plan control: the project is in the year's plan (role ``plan_control``; stage declared or evaluated)."""
    if not caller.may("plan_control"):
        raise Forbidden("auth.forbidden", "plan control needs the role plan_control")
    with db.write() as session:
        project = load(session, project_id, caller=caller, lock=True)
        _stage(project, ("declared", "evaluated"), "plan control")
        project.plan_confirmed = True
        project.updated_at = now()
        record_project_action(
            session, caller=caller, action="plan_control", project_id=project.id, detail={"comment": comment}
        )
        return view(session, project, caller=caller)


def approve_budget(
    db: Database, *, caller: Caller, project_id: int, amount_wan: Any, comment: str = ""
) -> dict[str, Any]:
    """Budget control: approve ``amount_wan`` (role ``finance_approver``; stage evaluated), at most the control
    price and at most the amount requested (管理办法: the approval does not exceed the declaration).

    Raises ``project.over_control_price`` (409) above the control price (``control_price_wan`` and
    ``amount_wan`` in the problem), ``project.over_requested`` (409) above the amount requested
    (``requested_wan`` and ``amount_wan``), ``project.not_found``, ``project.transition_invalid``."""
    if not caller.may("finance_approver"):
        raise Forbidden("auth.forbidden", "budget control needs the role finance_approver")
    amount = wan_to_fen(amount_wan, field="amount_wan")
    with db.write() as session:
        project = load(session, project_id, caller=caller, lock=True)
        _stage(project, ("evaluated",), "budget control")
        price = project.control_price_fen
        if price is None or amount > price:
            raise Conflict(
                "project.over_control_price",
                f"{fen_to_wan(amount)} 万元 is above the control price {fen_to_wan(price)} 万元",
                control_price_wan=None if price is None else str(fen_to_wan(price)),
                amount_wan=str(fen_to_wan(amount)),
            )
        if amount > project.requested_fen:
            raise Conflict(
                "project.over_requested",
                f"{fen_to_wan(amount)} 万元 is above the amount requested, {fen_to_wan(project.requested_fen)} 万元",
                requested_wan=str(fen_to_wan(project.requested_fen)),
                amount_wan=str(fen_to_wan(amount)),
            )
        project.approved_fen = amount
        project.updated_at = now()
        record_project_action(
            session,
            caller=caller,
            action="budget_control",
            project_id=project.id,
            detail={"amount_wan": str(fen_to_wan(amount)), "comment": comment},
        )
        return view(session, project, caller=caller)
