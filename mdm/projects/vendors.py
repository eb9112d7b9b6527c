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

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm import audit
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


CREDIT_FIELDS = ("record_type", "penalty_category", "fine_wan", "decision_date", "status", "content")


def credit_of(session: Session, uscc: str, *, role: str = "admin") -> list[dict[str, Any]]:
    """The active ``credit_record`` golden records about ``uscc``, each with ``serious`` (bool, decided on the
    whole record). The fields are those a department without a credit grant sees (share class ``unconditional``;
    :func:`mdm.access.policy.decide` with no grant); a field it may not see is None and listed under
    ``withheld``. Stewards (``admin``) see every field."""
    from mdm.access.policy import decide
    from standards import default_registry

    shown = decide(
        default_registry().get("credit_record"), role=role, grants=[], purpose="", now=dt.datetime.now(dt.UTC)
    )
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
    out = []
    for r in rows:
        projection = shown.project({name: r.data.get(name) for name in CREDIT_FIELDS if name in r.data})
        item: dict[str, Any] = {"record_id": r.business_key}
        item.update({name: projection.data.get(name) for name in CREDIT_FIELDS})
        item["serious"] = is_serious(r.data, today=on)
        withheld = sorted(w["field"] for w in projection.withheld)
        if withheld:
            item["withheld"] = withheld
        out.append(item)
    return out


def vendor_credit(db: Database, uscc: str, *, caller: Caller | None = None) -> dict[str, Any]:
    """``{"uscc", "name", "credit": [...], "serious": bool}`` for a vendor, its records projected for the
    caller's role (see :func:`credit_of`); audited as ``read:vendor_credit`` with the records shown, in its own
    transaction before the answer (fail closed). Raises ``project.entity_unknown``."""
    role = caller.role if caller else "admin"
    with db.read() as session:
        entity = legal_entity(session, uscc, what="vendor")
        credit = credit_of(session, entity["uscc"], role=role)
    with db.write() as session:
        audit.record(
            session,
            actor=caller.department if caller else None,
            key_prefix=caller.key_prefix if caller else None,
            action="read:vendor_credit",
            repository="credit_record",
            target=entity["uscc"],
            keys=[c["record_id"] for c in credit],
        )
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
        credit = credit_of(session, entity["uscc"], role=caller.role)
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
        return view(session, project, caller=caller)


def _check_independent(session: Session, *, project_id: int, department: str, uscc: str, role: str) -> None:
    """``project.vendor_conflict`` (409) if ``uscc`` is the declaring department, already holds this role of the
    project (``already_awarded``) or holds the other vendor role."""
    if uscc == department:
        raise Conflict(
            "project.vendor_conflict",
            f"{uscc} is the declaring department; it cannot be the project's {role}",
            reason="declaring_department",
        )
    already = session.execute(
        select(ProjectVendor.id).where(
            ProjectVendor.project_id == project_id, ProjectVendor.uscc == uscc, ProjectVendor.role == role
        )
    ).first()
    if already is not None:
        raise Conflict("project.vendor_conflict", f"{uscc} is already the project's {role}", reason="already_awarded")
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
