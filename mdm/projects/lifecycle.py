"""The project lifecycle and its gates (电子政务项目管理办法 2019; 国办发〔2019〕57号).

``draft → declared → evaluated → approved → procuring → implementing → accepted → filed``, plus ``rejected``
(from declared or evaluated) and ``withdrawn`` (from draft, declared or evaluated). Each transition names the
roles that may make it (:data:`TRANSITIONS`) and the conditions it needs (:func:`missing_conditions`). A
refused transition is ``project.transition_invalid`` (409) with ``missing``: the conditions, by name.

A gate counts a document only if it was uploaded by the role that owns its type
(:data:`mdm.projects.rules.DOCUMENT_RULES`; an admin's always counts) and, for the declarer's types, by the
project's own department: an acceptance report counts only from the project's declarer (or an admin), never one
a reviewer uploaded. A document recorded without its uploader's role (before migration 0008 could tell it) does
not count.

An O&M project's ``declared → evaluated`` also needs its O&M review (``om_review``) and, above its category's
expenditure standard, the finance reviewer's approval (``om_finance_decision``): :mod:`mdm.projects.om`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.db import Database
from mdm.errors import Conflict, Forbidden, InvalidRequest
from mdm.keys import DEPARTMENT_ROLES, Caller
from mdm.projects import om
from mdm.projects.actions import now, record_project_action
from mdm.projects.duplicates import similar_projects
from mdm.projects.models import Project, ProjectDocument, ProjectEvaluation, ProjectTransition, ProjectVendor
from mdm.projects.rules import DOCUMENT_RULES, OPEN_STAGES, SUPERVISION_THRESHOLD_FEN
from mdm.projects.service import candidates_shown, load, view

STAGES = (
    "draft",
    "declared",
    "evaluated",
    "approved",
    "procuring",
    "implementing",
    "accepted",
    "filed",
    "rejected",
    "withdrawn",
)
REVIEWERS = ("bigdata_reviewer", "finance_reviewer", "finance_approver")
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("draft", "declared"): ("declarer",),
    ("declared", "evaluated"): ("bigdata_reviewer", "finance_reviewer"),
    ("evaluated", "approved"): ("finance_approver",),
    ("approved", "procuring"): ("declarer",),
    ("procuring", "implementing"): ("declarer",),
    ("implementing", "accepted"): ("declarer",),
    ("accepted", "filed"): ("finance_approver",),
    ("declared", "rejected"): REVIEWERS,
    ("evaluated", "rejected"): REVIEWERS,
    ("draft", "withdrawn"): ("declarer",),
    ("declared", "withdrawn"): ("declarer",),
    ("evaluated", "withdrawn"): ("declarer",),
}


def stage_conflict(project: Project, allowed: tuple[str, ...], what: str) -> Conflict:
    """The ``project.transition_invalid`` refusal of an action possible only in ``allowed`` stages."""
    return Conflict(
        "project.transition_invalid",
        f"{what} is possible only in {', '.join(allowed)}; the project is {project.status}",
        missing=[f"stage_{s}" for s in allowed],
    )


def counts_for_gate(project: Project, *, doc_type: str, role: str | None, department: str) -> bool:
    """Whether a document of ``doc_type`` uploaded by ``role`` of ``department`` counts for ``project``'s gates:
    an admin's does; otherwise the role must own the type (DOCUMENT_RULES), and a declarer's must be of the
    project's department."""
    if role == "admin":
        return True
    _, owners = DOCUMENT_RULES.get(doc_type, (OPEN_STAGES, DEPARTMENT_ROLES))
    if role not in owners:
        return False
    return role != "declarer" or department == project.department_uscc


def facts(session: Session, project: Project) -> dict[str, Any]:
    """What the gates look at: document types present (only those that count, :func:`counts_for_gate`),
    latest evaluation per kind, vendor roles."""
    documents = {
        doc_type
        for doc_type, role, department in session.execute(
            select(ProjectDocument.doc_type, ProjectDocument.role, ProjectDocument.department).where(
                ProjectDocument.project_id == project.id
            )
        )
        if counts_for_gate(project, doc_type=doc_type, role=role, department=department)
    }
    latest: dict[str, ProjectEvaluation] = {}
    for e in session.execute(
        select(ProjectEvaluation).where(ProjectEvaluation.project_id == project.id).order_by(ProjectEvaluation.id)
    ).scalars():
        latest[e.kind] = e
    vendors = set(session.execute(select(ProjectVendor.role).where(ProjectVendor.project_id == project.id)).scalars())
    review = om.latest_review(session, project.id) if project.kind == "om" else None
    return {"documents": documents, "evaluations": latest, "vendors": vendors, "om_review": review}


def missing_conditions(project: Project, to: str, known: dict[str, Any], *, comment: str) -> list[str]:
    """The named conditions ``to`` needs that ``project`` does not meet (empty: the gate is open)."""
    docs, evals, vendors = known["documents"], known["evaluations"], known["vendors"]
    missing: list[str] = []
    if to == "declared" and "proposal" not in docs:
        missing.append("document_proposal")
    if to == "evaluated":
        missing += [f"evaluation_{kind}" for kind in ("software", "hardware") if kind not in evals]
        if project.kind == "om":
            missing += om.gate_missing(known.get("om_review"))
    if to == "approved":
        performance = evals.get("performance")
        if performance is None or not performance.passed:
            missing.append("performance_evaluation_passed")
        if not project.plan_confirmed:
            missing.append("plan_control")
        if project.approved_fen is None:
            missing.append("budget_control")
        else:
            if project.control_price_fen is None or project.approved_fen > project.control_price_fen:
                missing.append("within_control_price")
            if project.approved_fen > project.requested_fen:
                missing.append("within_requested")
    if to == "implementing":
        if "contractor" not in vendors:
            missing.append("vendor_contractor")
        if "contract" not in docs:
            missing.append("document_contract")
        if (project.approved_fen or 0) >= SUPERVISION_THRESHOLD_FEN and not (
            "supervisor" in vendors and "supervision_contract" in docs
        ):
            missing.append("supervision_contract")
    if to == "accepted" and "acceptance_report" not in docs:
        missing.append("acceptance_report")
    if to == "rejected" and not comment.strip():
        missing.append("comment")
    return missing


def transition(
    db: Database,
    *,
    caller: Caller,
    project_id: int,
    to: str,
    comment: str = "",
    documents: list[int] | None = None,
    not_duplicate_statement: str | None = None,
) -> dict[str, Any]:
    """Move a project to stage ``to``, recorded with the caller, time, comment and documents (ids of the
    project's documents). Declaring checks for duplicates: a declaration whose most similar project scores at
    or above the threshold needs ``not_duplicate_statement``.

    Raises ``project.not_found`` (404: also another department's project, for a key that does not see it),
    ``auth.forbidden`` (403: the caller's role may not make this step),
    ``project.transition_invalid`` (409, ``missing`` lists the conditions), ``project.duplicate_suspected``
    (409, ``candidates``), ``project.invalid`` (a document of another project).
    """
    documents = documents or []
    with db.write() as session:
        project = load(session, project_id, caller=caller, lock=True)
        step = (project.status, to)
        if step not in TRANSITIONS:
            allowed = sorted(t for f, t in TRANSITIONS if f == project.status)
            raise Conflict(
                "project.transition_invalid",
                f"no transition from {project.status} to {to}; from {project.status}: {', '.join(allowed) or 'none'}",
                missing=[f"stage_{f}" for f, t in TRANSITIONS if t == to] or ["stage"],
            )
        if not any(caller.may(role) for role in TRANSITIONS[step]):
            raise Forbidden(
                "auth.forbidden", f"{project.status} → {to} needs the role {' or '.join(TRANSITIONS[step])}"
            )
        owned = set(
            session.execute(select(ProjectDocument.id).where(ProjectDocument.project_id == project.id)).scalars()
        )
        if not set(documents) <= owned:
            raise InvalidRequest("project.invalid", "documents must be ids of this project's documents")
        missing = missing_conditions(project, to, facts(session, project), comment=comment)
        if missing:
            raise Conflict(
                "project.transition_invalid",
                f"{project.status} → {to} needs: {', '.join(missing)}",
                missing=missing,
            )
        if to == "declared":
            _check_duplicates(session, project, not_duplicate_statement, caller=caller)
        stamp = now()
        session.add(
            ProjectTransition(
                project_id=project.id,
                from_status=project.status,
                to_status=to,
                department=caller.department,
                key_prefix=caller.key_prefix,
                at=stamp,
                comment=comment,
                documents=documents,
            )
        )
        record_project_action(
            session,
            caller=caller,
            action="transition",
            project_id=project.id,
            detail={"from": project.status, "to": to, "comment": comment, "documents": documents},
        )
        project.status = to
        project.updated_at = stamp
        session.flush()
        return view(session, project, caller=caller)


def _check_duplicates(session: Session, project: Project, statement: str | None, *, caller: Caller) -> None:
    candidates = similar_projects(
        session, name=project.name, scope=project.scope, year=project.year, exclude_id=project.id
    )
    project.duplicate_candidates = candidates
    above = [c for c in candidates if c["above_threshold"]]
    if above and not (statement or "").strip():
        raise Conflict(
            "project.duplicate_suspected",
            f"{len(above)} similar project(s) of the last three years; declare with a not_duplicate_statement",
            candidates=candidates_shown(caller, above),
        )
    project.not_duplicate_statement = statement.strip() if above and statement else None
