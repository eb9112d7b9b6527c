"""Projects: declare a draft, read one, list with filters and full-text search.

A project belongs to its declaring department: a registered department (:mod:`mdm.access.departments`) whose id
is its USCC and which is a ``legal_entity`` record. The department is the declaring key's own (a body's
``department_uscc`` may only repeat it); an admin (steward) declares on a department's behalf by naming it.

Who sees which project (:func:`visible`): the reviewing bureaus' roles (:data:`~mdm.projects.rules.REVIEWING_ROLES`)
and admin see every department's; every other key (declarer, reader, loader) only its own department's. Another
department's project answers exactly as a missing id does (404 ``project.not_found``), for reads and actions
alike, so ids are no oracle; every service that touches one project loads it through :func:`load`.

Listings and aggregates follow the same rule, applied here and nowhere else: a project the caller does not see
appears only inside aggregates (counts, sums, quantiles: :mod:`mdm.projects.census`,
:mod:`mdm.projects.statistics`) — :func:`departments_shown` folds other departments into one anonymous row — and as
a duplicate candidate only as an anonymous signal (:func:`candidates_shown`: "a similar project exists in another
department", above the threshold, without id, name, year, status, department or score, so the score cannot be
hill-climbed into another department's project name).

Amounts come in and go out in 万元 with two decimals (strings in views).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mdm import records
from mdm.db import Database, storable
from mdm.errors import Forbidden, InvalidRequest, NotFound
from mdm.keys import Caller
from mdm.models import Department
from mdm.projects import dictionary, om
from mdm.projects.actions import now, record_project_action
from mdm.projects.duplicates import similar_projects
from mdm.projects.models import (
    Project,
    ProjectDocument,
    ProjectEvaluation,
    ProjectPayment,
    ProjectTransition,
    ProjectVendor,
)
from mdm.projects.rules import REVIEWING_ROLES, fen_to_wan, wan_to_fen
from mdm.search.text import normalise

KINDS = ("construction", "om")


def legal_entity(session: Session, uscc: str, *, what: str) -> dict[str, Any]:
    """The golden ``legal_entity`` record data of ``uscc``; ``project.entity_unknown`` (400) if there is none
    or it is retired."""
    try:
        record = records.get_record(session, "legal_entity", (uscc or "").strip().upper())
    except NotFound:
        raise InvalidRequest("project.entity_unknown", f"{what} {uscc!r} is no legal_entity record") from None
    if record.status != "active":
        raise InvalidRequest("project.entity_unknown", f"{what} {uscc!r} is a retired legal_entity record")
    return record.data


def sees_every_department(caller: Caller) -> bool:
    """True for an admin and the reviewing bureaus' roles: they see every department's projects."""
    return caller.role == "admin" or caller.role in REVIEWING_ROLES


def visible(caller: Caller, department_uscc: str) -> bool:
    """Whether ``caller`` sees a project of ``department_uscc``: its own department's, or every one's (see
    :func:`sees_every_department`)."""
    return sees_every_department(caller) or caller.department == department_uscc


OTHER_DEPARTMENTS = "其他部门"


def departments_shown(caller: Caller, rows: list[dict[str, Any]], *, sums: tuple[str, ...]) -> list[dict[str, Any]]:
    """``rows`` (one per department, each with ``department_uscc``, ``department_name`` and the numeric or 万元-string
    ``sums``) as ``caller`` may see them: the departments it sees as they are, every other one folded into one
    last row ``{"department_uscc": None, "department_name": "其他部门", "departments": n, **sums}`` (left out
    when there is none)."""
    shown = [r for r in rows if visible(caller, r["department_uscc"])]
    hidden = [r for r in rows if not visible(caller, r["department_uscc"])]
    if not hidden:
        return shown
    folded: dict[str, Any] = {"department_uscc": None, "department_name": OTHER_DEPARTMENTS, "departments": len(hidden)}
    for key in sums:
        values = [r[key] for r in hidden]
        if all(isinstance(v, int) for v in values):
            folded[key] = sum(values)
        else:
            folded[key] = str(sum((Decimal(v) for v in values), Decimal(0)).quantize(Decimal("0.01")))
    return [*shown, folded]


def candidates_shown(caller: Caller, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Duplicate candidates (:func:`mdm.projects.duplicates.similar_projects`, stored in full) as ``caller`` may
    see them: those of a department it sees as they are, with ``"anonymous": False``; those of another department
    only when above the threshold, as ``{"anonymous": True, "above_threshold": True, "in_another_department": True}``
    with id, name, year, status, department and score None, after the named ones."""
    named, anonymous = [], []
    for c in candidates:
        if visible(caller, c["department_uscc"]):
            named.append({**c, "anonymous": False, "in_another_department": c["department_uscc"] != caller.department})
        elif c["above_threshold"]:
            anonymous.append(
                {
                    **{k: None for k in ("id", "name", "year", "department_uscc", "department_name", "status")},
                    "score": None,
                    "above_threshold": True,
                    "anonymous": True,
                    "in_another_department": True,
                }
            )
    return [*named, *anonymous]


def load(session: Session, project_id: int, *, caller: Caller, lock: bool = False) -> Project:
    """The project row if ``caller`` sees it (:func:`visible`); ``project.not_found`` (404) for a missing id and
    for another department's project alike. ``lock`` takes a row lock on PostgreSQL."""
    stmt = select(Project).where(Project.id == project_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None or not visible(caller, row.department_uscc):
        raise NotFound("project.not_found", f"no project {project_id}")
    return row


def declaring_department(session: Session, caller: Caller, given: Any) -> dict[str, Any]:
    """The ``legal_entity`` data of the department a new project of ``caller`` belongs to.

    A declarer declares for its key's own department: ``given`` (the body's ``department_uscc``) may be left out
    or repeat it; another department's is ``project.department_mismatch`` (403). An admin declares on a
    department's behalf and names it in ``given`` (``project.invalid`` without). Either way the department must
    be registered with its USCC as id (``project.department_unregistered``, 400) and be a ``legal_entity``
    record (``project.entity_unknown``, 400).
    """
    if given is not None and (not isinstance(given, str) or len(given) > 64):
        raise InvalidRequest("project.invalid", "department_uscc must be a USCC")
    named = (given or "").strip().upper() or None
    if caller.role == "admin":
        if named is None:
            raise InvalidRequest("project.invalid", "an admin declaring on a department's behalf names department_uscc")
        uscc = named
    else:
        uscc = caller.department
        if named is not None and named != uscc:
            raise Forbidden(
                "project.department_mismatch",
                f"this key declares for its own department {uscc}, not {named}",
                department_uscc=named,
            )
    if session.get(Department, uscc) is None:
        raise InvalidRequest(
            "project.department_unregistered",
            f"{uscc!r} is no registered department (a declaring department is registered with its USCC as id)",
        )
    return legal_entity(session, uscc, what="department_uscc")


def _text(value: Any, field: str, *, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or not storable(value):
        raise InvalidRequest("project.invalid", f"{field} must be a text of 1 to {limit} characters (no NUL)")
    return value.strip()


def create_project(db: Database, *, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """Create a draft from ``body``: ``kind`` (construction|om), ``year``, ``name``, ``scope``,
    ``department_uscc``, ``requested_wan``, ``systems`` (names), ``other_parts`` ([{"name", "amount_wan"}]);
    for O&M also ``om_category`` (code list ``om_category``), the system maintained — ``system_project_id`` (a
    filed construction project of the department) or ``construction_cost_wan`` —, and the service period
    ``period_start``/``period_end`` (ISO dates; :func:`mdm.projects.om.declaration`); ``requested_wan`` is then
    the contract amount.

    ``department_uscc`` is the declaring key's own department (:func:`declaring_department`).

    Returns the project view. Raises ``auth.forbidden`` (403: not a declarer), ``project.invalid``,
    ``project.entity_unknown``, ``project.department_unregistered`` (400), ``project.department_mismatch`` (403:
    a declarer naming another department), ``project.not_found`` (404) and ``project.om_system_invalid`` (409)
    for an O&M system project the department may not name.
    """
    if not caller.may("declarer"):
        raise Forbidden("auth.forbidden", "declaring a project needs the role declarer")
    kind = body.get("kind")
    if kind not in KINDS:
        raise InvalidRequest("project.invalid", f"kind must be one of {', '.join(KINDS)}")
    year = body.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise InvalidRequest("project.invalid", "year must be a year between 2000 and 2100")
    name = _text(body.get("name"), "name", limit=500)
    scope = _text(body.get("scope"), "scope", limit=10_000)
    systems = body.get("systems") or []
    if not isinstance(systems, list) or not all(isinstance(s, str) and s.strip() for s in systems):
        raise InvalidRequest("project.invalid", "systems must be a list of system names")
    parts = body.get("other_parts") or []
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise InvalidRequest("project.invalid", "other_parts must be a list of {name, amount_wan}")
    other = [
        {
            "name": _text(p.get("name"), "other_parts.name", limit=200),
            "amount_fen": wan_to_fen(p.get("amount_wan"), field="other_parts.amount_wan"),
        }
        for p in parts
    ]
    requested = wan_to_fen(body.get("requested_wan"), field="requested_wan")
    category = None
    if kind == "om":
        category = body.get("om_category")
        with db.read() as session:
            if category not in dictionary.codes(session, "om_category"):
                raise InvalidRequest("project.invalid", f"om_category {category!r} is not in the om_category code list")
    with db.write() as session:
        entity = declaring_department(session, caller, body.get("department_uscc"))
        upkeep: dict[str, Any] = {}
        if kind == "om":
            upkeep = om.declaration(session, caller=caller, body=body, department_uscc=entity["uscc"], year=year)
            named = upkeep.pop("system_name")
            if named and not systems:
                systems = [named]  # the system maintained is the filed project's
        stamp = now()
        row = Project(
            kind=kind,
            year=year,
            name=name,
            scope=scope,
            department_uscc=entity["uscc"],
            department_name=entity.get("name", ""),
            requested_fen=requested,
            systems=[s.strip() for s in systems],
            other_parts=other,
            om_category=category,
            **upkeep,
            status="draft",
            plan_confirmed=False,
            duplicate_candidates=[],
            search_text=normalise(f"{name}\n{scope}\n{entity.get('name', '')}"),
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(row)
        session.flush()
        session.add(
            ProjectTransition(
                project_id=row.id,
                from_status=None,
                to_status="draft",
                department=caller.department,
                key_prefix=caller.key_prefix,
                at=stamp,
                comment="",
                documents=[],
            )
        )
        record_project_action(session, caller=caller, action="create", project_id=row.id, detail={"name": name})
        return view(session, row, caller=caller)


def _wan(fen: int | None) -> str | None:
    amount = fen_to_wan(fen)
    return None if amount is None else str(amount)


def _actor(row: Any) -> dict[str, str]:
    return {"department": row.department, "key_prefix": row.key_prefix}


def summary(row: Project) -> dict[str, Any]:
    """The list form of a project."""
    return {
        "id": row.id,
        "kind": row.kind,
        "year": row.year,
        "name": row.name,
        "department_uscc": row.department_uscc,
        "department_name": row.department_name,
        "status": row.status,
        "requested_wan": _wan(row.requested_fen),
        "control_price_wan": _wan(row.control_price_fen),
        "approved_wan": _wan(row.approved_fen),
        "om_category": row.om_category,
    }


def view(session: Session, row: Project, *, caller: Caller) -> dict[str, Any]:
    """The full form of a project: its fields, transitions, documents (without content), evaluations, vendors,
    payments (paid vs approved); the duplicate candidates as ``caller`` may see them (:func:`candidates_shown`)."""

    def children(model):
        return session.execute(select(model).where(model.project_id == row.id).order_by(model.id)).scalars().all()

    paid = sum(p.amount_fen for p in children(ProjectPayment))
    return {
        **summary(row),
        "scope": row.scope,
        "systems": row.systems,
        "other_parts": [{"name": p["name"], "amount_wan": _wan(p["amount_fen"])} for p in row.other_parts],
        "construction_cost_wan": _wan(row.om_construction_cost_fen),
        "system_project_id": row.om_system_project_id,
        "period_start": row.om_period_start.isoformat() if row.om_period_start else None,
        "period_end": row.om_period_end.isoformat() if row.om_period_end else None,
        "plan_confirmed": row.plan_confirmed,
        "not_duplicate_statement": row.not_duplicate_statement,
        "duplicate_candidates": candidates_shown(caller, row.duplicate_candidates),
        "transitions": [
            {
                "from": t.from_status,
                "to": t.to_status,
                **_actor(t),
                "at": t.at.isoformat(),
                "comment": t.comment,
                "documents": t.documents,
            }
            for t in children(ProjectTransition)
        ],
        "documents": [document_view(d) for d in children(ProjectDocument)],
        "evaluations": [
            {
                "id": e.id,
                "kind": e.kind,
                "amount_wan": _wan(e.amount_fen),
                "passed": e.passed,
                "report_document_id": e.report_document_id,
                "computation": e.computation,
                "comment": e.comment,
                **_actor(e),
                "at": e.at.isoformat(),
            }
            for e in children(ProjectEvaluation)
        ],
        "vendors": [
            {
                "uscc": v.uscc,
                "name": v.name,
                "role": v.role,
                "credit": v.credit,
                "override_reason": v.override_reason,
                **_actor(v),
                "at": v.at.isoformat(),
            }
            for v in children(ProjectVendor)
        ],
        "payments": {
            "paid_wan": _wan(paid),
            "approved_wan": _wan(row.approved_fen),
            "outstanding_wan": _wan(row.approved_fen - paid) if row.approved_fen is not None else None,
        },
    }


def document_view(d: ProjectDocument) -> dict[str, Any]:
    return {
        "id": d.id,
        "doc_type": d.doc_type,
        "file_name": d.file_name,
        "media_type": d.media_type,
        "size": d.size,
        "sha256": d.sha256,
        **_actor(d),
        "role": d.role,
        "uploaded_at": d.uploaded_at.isoformat(),
    }


def get_project(db: Database, project_id: int, *, caller: Caller) -> dict[str, Any]:
    """The full view of one project ``caller`` sees; ``project.not_found`` (404, also for another department's)."""
    with db.read() as session:
        return view(session, load(session, project_id, caller=caller), caller=caller)


def list_projects(
    db: Database,
    *,
    caller: Caller,
    year: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    department_uscc: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The projects ``caller`` sees (:func:`visible`) matching the filters, newest first: ``{"items": [summary],
    "total": n}``. ``q`` is a substring of the name, scope or department name in search form (NFKC, lower case)."""
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidRequest("project.invalid", "limit must be 1..1000 and offset not negative")
    stmt = select(Project)
    if not sees_every_department(caller):
        stmt = stmt.where(Project.department_uscc == caller.department)
    for column, value in (
        (Project.year, year),
        (Project.kind, kind),
        (Project.status, status),
        (Project.department_uscc, department_uscc),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if q:
        terms = [t for t in normalise(q).split(" ") if t]
        for term in terms:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(or_(Project.search_text.like(f"%{escaped}%", escape="\\")))
    with db.read() as session:
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = session.execute(stmt.order_by(Project.id.desc()).limit(limit).offset(offset)).scalars().all()
        return {"items": [summary(r) for r in rows], "total": total}


def duplicates(db: Database, project_id: int, *, caller: Caller) -> dict[str, Any]:
    """``{"items": [candidate]}``: projects of the last three years similar to one ``caller`` sees, most similar
    first (:func:`mdm.projects.duplicates.similar_projects`), as ``caller`` may see them (:func:`candidates_shown`);
    ``project.not_found`` (404, also for another department's)."""
    with db.read() as session:
        row = load(session, project_id, caller=caller)
        found = similar_projects(session, name=row.name, scope=row.scope, year=row.year, exclude_id=row.id)
    return {"items": candidates_shown(caller, found)}


def today() -> dt.date:
    return now().date()
