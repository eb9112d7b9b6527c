"""Load batches: their bookkeeping rows. A batch row commits with the batch's records, or, for a batch that
failed, alone afterwards so the failure stays visible at ``GET /loads/{batch_id}``.

A batch is read through a viewer: stewards see every batch, any other department only those loaded for it
(:func:`mdm.access.loading.may_see_batch`); to it, another department's batch is missing (``load.not_found``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mdm import audit
from mdm.access.loading import is_steward, may_see_batch
from mdm.db import Database
from mdm.errors import InvalidRequest, NotFound
from mdm.keys import Caller
from mdm.models import Batch, OutboxEntry, SourceSystem
from mdm.store.dialect import Dialect


def new_batch_id() -> str:
    return str(uuid.uuid4())


def register_source_system(
    session: Session, *, source_system_id: str, name: str, now: dt.datetime, department_id: str | None = None
) -> None:
    """Create or rename a source system and record its owning ``department_id`` (when given; a load is authorised
    first, :func:`mdm.access.loading.authorise_load`, which refuses to replace a registered owner). One
    ``INSERT … ON CONFLICT`` so concurrent loads never collide."""
    statement = Dialect.of(session).insert(SourceSystem).values(
        id=source_system_id, name=name, updated_at=now, department_id=department_id
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SourceSystem.id],
            set_={
                "name": statement.excluded.name,
                "updated_at": statement.excluded.updated_at,
                "department_id": func.coalesce(statement.excluded.department_id, SourceSystem.department_id),
            },
            where=(SourceSystem.name != statement.excluded.name)
            | (
                statement.excluded.department_id.is_not(None)
                & (func.coalesce(SourceSystem.department_id, "") != statement.excluded.department_id)
            ),
        )
    )


def record_batch(session: Session, *, key_prefix: str | None = None, **fields: Any) -> Batch:
    """Add a batch row (fields of :class:`mdm.models.Batch`) to the unit of work, with its audit event
    (``load:commit`` by ``loaded_by`` with the acting key's ``key_prefix`` — None for the local operator — : the
    counts of the summary, the department loaded for and whether a steward loaded on its behalf), so both commit
    with the batch's records."""
    batch = Batch(**fields)
    session.add(batch)
    session.flush()
    summary = batch.summary or {}
    audit.record(
        session,
        actor=batch.loaded_by,
        key_prefix=key_prefix,
        action="load:commit",
        target=batch.id,
        repository=batch.repository,
        detail={
            "source_system": batch.source_system_id,
            "profile": batch.profile,
            "status": batch.status,
            "department": batch.department_id,
            "loaded_by": batch.loaded_by,
            "on_behalf": batch.department_id != batch.loaded_by,
            **{k: summary.get(k, 0) for k in ("read", "inserted", "updated", "unchanged", "retired", "rejected")},
        },
    )
    return batch


COMMITTED = "committed"
UNINDEXED = "committed_unindexed"
"""The status of a batch that committed but whose records the search index (partly) refused: stored, not all
searchable. Its summary's ``unindexed`` counts the records (outbox rows) refused and still pending."""


def settle_indexing(session: Session, batch_ids: set[str], *, refused_now: set[str], refused: str) -> None:
    """Make the status of the committed load batches among ``batch_ids`` (those of the outbox rows a drain just
    marked) say whether the search index holds their records: ``committed_unindexed`` with ``unindexed`` (their
    outbox rows still pending whose ``last_error`` begins with ``refused``) in the stored summary while any is
    refused, ``committed`` again once none is. ``refused_now``: the batches with a row refused in this drain.
    Only those and batches already ``committed_unindexed`` are counted, so a drain without refusals costs one
    primary-key lookup. Called by the indexer in the transaction that marks the outbox rows
    (:mod:`mdm.search.indexer`); ids that name no batch (a steward's merge) and batches that did not commit are
    left alone."""
    if not batch_ids:
        return
    rows = session.execute(
        select(Batch).where(
            Batch.id.in_(sorted(batch_ids)),
            (Batch.status == UNINDEXED) | (Batch.id.in_(sorted(refused_now)) & (Batch.status == COMMITTED)),
        )
    ).scalars()
    batches = {row.id: row for row in rows}
    if not batches:
        return
    found = (
        session.execute(
            select(OutboxEntry.batch_id, func.count())
            .where(
                OutboxEntry.batch_id.in_(sorted(batches)),
                OutboxEntry.processed_at.is_(None),
                OutboxEntry.last_error.startswith(refused, autoescape=True),
            )
            .group_by(OutboxEntry.batch_id)
        )
        .tuples()
        .all()
    )
    counts = {batch_id: count for batch_id, count in found}
    for row in batches.values():
        unindexed = counts.get(row.id, 0)
        status = UNINDEXED if unindexed else COMMITTED
        summary = {k: v for k, v in (row.summary or {}).items() if k != "unindexed"}
        if unindexed:
            summary["unindexed"] = unindexed
        row.status = status
        row.summary = {**summary, "status": status}


def store_summary(db: Database, batch_id: str, summary: dict[str, Any]) -> None:
    """Replace a committed batch's stored summary (what ``GET /loads/{batch_id}`` answers) with the load's final one —
    with the outcome of its own drain into the search index — keeping the status a drain has given the row."""
    with db.write() as session:
        batch = session.get(Batch, batch_id)
        if batch is not None:
            batch.summary = {**summary, "status": batch.status}


def record_failed_batch(db: Database, **fields: Any) -> None:
    """Write the row of a batch that did not commit, in its own short transaction."""
    with db.write() as session:
        session.merge(Batch(**fields))


def get_batch(db: Database, batch_id: str, *, viewer: Caller | None, what: str = "summary") -> Batch:
    """The batch with this id as ``viewer`` may see it (None: the local operator). Raises :class:`NotFound`
    (``load.not_found``) for a batch that does not exist and, alike, for one another department loaded.

    A viewer's read is audited as ``read:load_report`` (``what``: ``summary``, ``page``, ``rejects``, …) in its
    own transaction before the batch is returned — a report's rejects carry raw rows — so when the audit cannot
    be written the read fails (fail closed)."""
    with db.read() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or not may_see_batch(batch, viewer):
            raise NotFound("load.not_found", f"no load batch {batch_id}")
    if viewer is not None:
        with db.write() as session:
            audit.record(
                session,
                actor=viewer.department,
                key_prefix=viewer.key_prefix,
                action="read:load_report",
                repository=batch.repository,
                target=batch_id,
                detail={"what": what},
            )
    return batch


def visible_batches(session: Session, batch_ids: set[str], *, viewer: Caller | None) -> set[str]:
    """Those of ``batch_ids`` that ``viewer`` may see (:func:`mdm.access.loading.may_see_batch`): where a page may
    link to a batch's report."""
    if not batch_ids:
        return set()
    rows = session.execute(select(Batch).where(Batch.id.in_(sorted(batch_ids)))).scalars()
    return {b.id for b in rows if may_see_batch(b, viewer)}


def recent_batches(
    session: Session, *, viewer: Caller | None, limit: int = 50, repository: str | None = None
) -> list[Batch]:
    """The latest ``limit`` batches (1…500) ``viewer`` may see, newest first, of one repository or all;
    ``request.invalid``."""
    if not 1 <= limit <= 500:
        raise InvalidRequest("request.invalid", "limit must be 1..500")
    stmt = select(Batch).order_by(Batch.started_at.desc(), Batch.id).limit(limit)
    if repository is not None:
        stmt = stmt.where(Batch.repository == repository)
    if not is_steward(viewer):
        assert viewer is not None  # is_steward(None) is True
        stmt = stmt.where(Batch.department_id == viewer.department)
    return list(session.execute(stmt).scalars())


def last_loads(session: Session) -> dict[str, Batch]:
    """The last committed batch per repository."""
    latest = (
        select(Batch.repository, func.max(Batch.started_at).label("started_at"))
        .where(Batch.status.in_((COMMITTED, UNINDEXED)))
        .group_by(Batch.repository)
        .subquery()
    )
    rows = session.execute(
        select(Batch).join(
            latest, (Batch.repository == latest.c.repository) & (Batch.started_at == latest.c.started_at)
        )
    ).scalars()
    return {b.repository: b for b in rows}
