"""The one function every project action goes through: :func:`record_project_action`.

Each service of :mod:`mdm.projects` that changes something calls it inside its own unit of work, so the action
row commits or rolls back with the change, and so does the event it appends to the audit chain (``mdm/audit.py``,
action ``project:<action>``, target the project id): ``mdm audit verify`` covers project work as it covers reads,
loads and grants.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from mdm import audit
from mdm.keys import Caller
from mdm.projects.models import ProjectAction


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record_project_action(
    session: Session, *, caller: Caller, action: str, project_id: int | None, detail: dict[str, Any]
) -> ProjectAction:
    """Record ``action`` (e.g. ``transition``, ``evaluation``, ``vendor_award``) by ``caller`` on a project.

    ``detail`` must be JSON-ready. Returns the (flushed) row; the caller's unit of work commits it together
    with the audit event ``project:<action>`` (department, key prefix, project id, ``detail``).
    """
    row = ProjectAction(
        project_id=project_id,
        action=action,
        department=caller.department,
        key_prefix=caller.key_prefix,
        at=now(),
        detail=detail,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=caller.department,
        key_prefix=caller.key_prefix,
        action=f"project:{action}",
        target=None if project_id is None else str(project_id),
        detail=detail,
    )
    return row
