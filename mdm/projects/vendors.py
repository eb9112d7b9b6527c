"""Vendors at procurement: each a ``legal_entity`` by USCC, with its ``credit_record`` records shown.

An award (``contractor``, or ``supervisor`` for the supervision contract) to a vendor with an active serious
credit record (:func:`mdm.projects.rules.is_serious`) is refused with ``project.vendor_refused`` (409, the
records listed) unless finance overrides: a ``finance_approver`` gives a written ``override_reason``, recorded
with the award and in the project's actions. Finance overrides a refusal only: it does not award a vendor that
has nothing to override (that is the declarer's step).

Contractor and supervisor are different legal entities, and neither is the declaring department (监理 is
independent of the party it supervises): ``project.vendor_conflict`` (409, ``reason``: ``declaring_department``
or ``contractor_is_supervisor``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.db import Database
from mdm.errors import Conflict, Forbidden, InvalidRequest
from mdm.keys import Caller
from mdm.models import GoldenRecord
from mdm.projects.actions import now, record_project_action
from mdm.projects.lifecycle import stage_conflict
from mdm.projects.models import ProjectVendor
from mdm.projects.rules import is_serious
from mdm.projects.service import legal_entity, load, today, view

VENDOR_ROLES = ("contractor", "supervisor")


def credit_of(session: Session, uscc: str) -> list[dict[str, Any]]:
    """The active ``credit_record`` golden records about ``uscc``, each with ``serious`` (bool)."""
    rows = session.execute(
        select(GoldenRecord)
        .where(
            GoldenRecord.repository == "credit_record",
            GoldenRecord.status == "active",
            GoldenRecord.data["subject_uscc"].as_string() == uscc,
        )
        .order_by(GoldenRecord.id)
    ).scalars()
    on = today()
    return [
        {
            "record_id": r.business_key,
            "record_type": r.data.get("record_type"),
            "penalty_category": r.data.get("penalty_category"),
            "fine_wan": r.data.get("fine_wan"),
            "decision_date": r.data.get("decision_date"),
            "status": r.data.get("status"),
            "content": r.data.get("content"),
            "serious": is_serious(r.data, today=on),
        }
        for r in rows
    ]


def vendor_credit(db: Database, uscc: str) -> dict[str, Any]:
    """``{"uscc", "name", "credit": [...], "serious": bool}`` for a vendor; ``project.entity_unknown``."""
    with db.read() as session:
        entity = legal_entity(session, uscc, what="vendor")
        credit = credit_of(session, entity["uscc"])
        return {
            "uscc": entity["uscc"],
            "name": entity.get("name"),
            "credit": credit,
            "serious": any(c["serious"] for c in credit),
        }


def award(
    db: Database, *, caller: Caller, project_id: int, uscc: str, role: str, override_reason: str | None = None
) -> dict[str, Any]:
    """Award ``role`` (contractor|supervisor) to the vendor ``uscc`` (stage procuring; role ``declarer``, or
    ``finance_approver`` with an ``override_reason``). Returns the project view.

    Raises ``project.entity_unknown``, ``project.vendor_refused`` (409, ``credit``), ``project.vendor_conflict``
    (409: the declaring department, or the other role's vendor), ``auth.forbidden`` (403; also finance
    "overriding" a vendor without a serious record), ``project.not_found`` (404: also a project the caller does
    not see), ``project.transition_invalid`` (wrong stage), ``project.invalid``.
    """
    if role not in VENDOR_ROLES:
        raise InvalidRequest("project.invalid", f"role must be one of {', '.join(VENDOR_ROLES)}")
    reason = (override_reason or "").strip() or None
    if reason and not caller.may("finance_approver"):
        raise Forbidden("auth.forbidden", "only finance (finance_approver) may override a credit refusal")
    if not reason and not caller.may("declarer"):
        raise Forbidden("auth.forbidden", "awarding a vendor needs the role declarer")
    with db.write() as session:
        project = load(session, project_id, caller=caller, lock=True)
        if project.status != "procuring":
            raise stage_conflict(project, ("procuring",), "awarding a vendor")
        entity = legal_entity(session, uscc, what="vendor")
        _check_independent(
            session, project_id=project.id, department=project.department_uscc, uscc=entity["uscc"], role=role
        )
        credit = credit_of(session, entity["uscc"])
        serious = [c for c in credit if c["serious"]]
        if reason and not serious and not caller.may("declarer"):
            raise Forbidden(
                "auth.forbidden",
                f"{entity['uscc']} has no serious credit record to override; awarding it is the declarer's step",
            )
        if serious and not reason:
            raise Conflict(
                "project.vendor_refused",
                f"{entity['uscc']} has {len(serious)} active serious credit record(s); finance may override",
                credit=serious,
            )
        session.add(
            ProjectVendor(
                project_id=project.id,
                uscc=entity["uscc"],
                name=entity.get("name", ""),
                role=role,
                credit=credit,
                override_reason=reason if serious else None,
                department=caller.department,
                key_prefix=caller.key_prefix,
                at=now(),
            )
        )
        record_project_action(
            session,
            caller=caller,
            action="vendor_override" if serious else "vendor_award",
            project_id=project.id,
            detail={
                "uscc": entity["uscc"],
                "role": role,
                "override_reason": reason if serious else None,
                "serious_records": [c["record_id"] for c in serious],
            },
        )
        session.flush()
        return view(session, project)


def _check_independent(session: Session, *, project_id: int, department: str, uscc: str, role: str) -> None:
    """``project.vendor_conflict`` (409) if ``uscc`` is the declaring department or already holds the other
    vendor role of the project."""
    if uscc == department:
        raise Conflict(
            "project.vendor_conflict",
            f"{uscc} is the declaring department; it cannot be the project's {role}",
            reason="declaring_department",
        )
    other = [r for r in VENDOR_ROLES if r != role]
    held = session.execute(
        select(ProjectVendor.role).where(
            ProjectVendor.project_id == project_id, ProjectVendor.uscc == uscc, ProjectVendor.role.in_(other)
        )
    ).first()
    if held is not None:
        raise Conflict(
            "project.vendor_conflict",
            f"{uscc} is the project's {held[0]}; contractor and supervisor are different legal entities",
            reason="contractor_is_supervisor",
        )
