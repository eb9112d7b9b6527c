"""The access generation (DESIGN §2, issue 21): a number bumped in the same transaction as any change to API
keys, grants, purposes or departments (ownership is a department's ``owns``), so that a per-process cache of
access decisions (:mod:`mdm.access.cache`) can tell, with one small query, that it is stale.

The bump cannot be forgotten by a new write path: it is made by session events, not by the services. Any flush
that inserts, updates or deletes a row of :data:`ACCESS_MODELS`, and any ORM ``UPDATE``/``DELETE`` statement on
their tables, bumps the counter inside that transaction — so the change and the new generation commit together
or not at all, and a reader that sees the change sees the new generation (and the reverse). Raw SQL on those
tables outside the ORM would escape it; none exists (a test greps for it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from mdm.models import AccessGeneration, ApiKey, Department, Grant, Purpose

ACCESS_MODELS: tuple[type, ...] = (ApiKey, Department, Grant, Purpose)
ACCESS_TABLES = frozenset(m.__tablename__ for m in ACCESS_MODELS)  # type: ignore[attr-defined]
_BUMP = update(AccessGeneration).where(AccessGeneration.id == 1).values(generation=AccessGeneration.generation + 1)


def current(session: Session) -> int:
    """The access generation now (one primary-key read). 0 for a database that has none yet."""
    return session.execute(select(AccessGeneration.generation).where(AccessGeneration.id == 1)).scalar() or 0


def bump(session: Session) -> None:
    """Bump the generation in the session's transaction (the session events call it; so may a migration)."""
    session.execute(_BUMP, execution_options={"mdm_generation_bump": True})


def _touches_access(session: Session) -> bool:
    return any(isinstance(obj, ACCESS_MODELS) for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "before_flush")
def _mark_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _touches_access(session):
        session.info["mdm_access_changed"] = True


@event.listens_for(Session, "after_flush")
def _bump_after_flush(session: Session, _context: Any) -> None:
    if session.info.pop("mdm_access_changed", False):
        session.connection().execute(_BUMP)


@event.listens_for(Session, "do_orm_execute")
def _bump_after_statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete) or state.execution_options.get("mdm_generation_bump"):
        return None
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in ACCESS_TABLES:
        return None
    result = state.invoke_statement()
    state.session.connection().execute(_BUMP)
    return result
