"""Keeping Elasticsearch in step with the store (DESIGN §3 "Search sync").

* :func:`drain` reads pending outbox rows, writes the current golden records they name with their version as
  the external version (an older write arriving late is skipped and counted as stale), and marks the rows done;
  a record that fails keeps its outbox row pending with ``attempts`` and ``last_error`` (shown in ``/health``
  and the load summary); if Elasticsearch cannot be reached the rows stay pending and the next drain catches up.
  A load batch whose records the index refused turns ``committed_unindexed`` (:func:`mdm.batches.settle_indexing`),
  whichever drain finds it — the load's own or a later one — and back to ``committed`` once they are indexed.
* :func:`reindex` builds a fresh index from the database and swaps the alias, with no gap in service.
* :func:`check` compares database and index: counts, versions, retired records.

The database is the source of truth; the index can always be rebuilt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from mdm.batches import settle_indexing
from mdm.db import Database
from mdm.models import GoldenRecord, OutboxEntry
from mdm.search.base import DrainResult
from mdm.search.elastic import ElasticBackend, SearchUnavailable, to_document
from standards import Standard
from standards.registry import Registry

REFUSED = "refused: "
"""How ``last_error`` begins for an outbox row whose document the index refused (not one it could not reach)."""


def _documents(db: Database, standard: Standard, keys: list[str]) -> list[tuple[str, int, dict[str, Any]]]:
    with db.read() as session:
        rows = session.execute(
            select(
                GoldenRecord.id, GoldenRecord.business_key, GoldenRecord.version, GoldenRecord.status, GoldenRecord.data
            ).where(GoldenRecord.repository == standard.repository, GoldenRecord.business_key.in_(keys))
        ).all()
    return [
        (r.business_key, r.version, to_document(standard, r.business_key, r.version, r.status, r.data, seq=r.id))
        for r in rows
    ]


def drain(
    db: Database, backend: ElasticBackend, registry: Registry, *, batch_id: str | None = None, chunk: int = 1000
) -> DrainResult:
    """Index every pending outbox row (only those of ``batch_id`` when given) once; returns the counts."""
    result = DrainResult()
    touched: set[str] = set()
    batches: set[str] = set()
    last_id = 0
    while True:
        with db.read() as session:
            stmt = (
                select(OutboxEntry.id, OutboxEntry.repository, OutboxEntry.business_key, OutboxEntry.batch_id)
                .where(OutboxEntry.processed_at.is_(None), OutboxEntry.id > last_id)
                .order_by(OutboxEntry.id)
                .limit(chunk)
            )
            if batch_id:
                stmt = stmt.where(OutboxEntry.batch_id == batch_id)
            rows = session.execute(stmt).all()
        if not rows:
            break
        last_id = rows[-1].id
        by_repository: dict[str, dict[str, list[int]]] = {}
        batches.update(row.batch_id for row in rows if row.batch_id)
        for row in rows:
            by_repository.setdefault(row.repository, {}).setdefault(row.business_key, []).append(row.id)
            touched.add(row.repository)
        done: list[int] = []
        failed: dict[int, str] = {}
        refused_now: set[str] = set()
        batch_of = {row.id: row.batch_id for row in rows}
        try:
            for repository, keys in by_repository.items():
                standard = registry.get(repository)
                outcome = backend.index_documents(standard, _documents(db, standard, sorted(keys)))
                for key in outcome.indexed:
                    done += keys[key]
                    result.indexed += len(keys[key])
                for key in outcome.stale:
                    done += keys[key]
                    result.stale += len(keys[key])
                for key, error in outcome.failed.items():
                    for outbox_id in keys.get(key, []):
                        failed[outbox_id] = f"{REFUSED}{error}"
                        result.refused += 1
                        if batch_of[outbox_id]:
                            refused_now.add(batch_of[outbox_id])
                    result.errors[f"{repository}/{key}"] = error
        except SearchUnavailable as exc:
            result.unavailable = str(exc)[:500]
            unreached = [row.id for row in rows if row.id not in done and row.id not in failed]
            failed.update({outbox_id: f"unavailable: {exc}"[:2000] for outbox_id in unreached})
        _mark(db, done, failed, batches, refused_now)
        batches.clear()
        result.failed += len(failed)
        if result.unavailable:
            break
    if batch_id and not result.unavailable:  # a load's own drain: its changes are searchable when it returns
        for repository in touched:
            backend.refresh(repository)
    result.pending = pending(db, batch_id=batch_id)
    return result


def _mark(db: Database, done: list[int], failed: dict[int, str], batch_ids: set[str], refused_now: set[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.write() as session:
        for start in range(0, len(done), 1000):
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id.in_(done[start : start + 1000]))
                .values(processed_at=now, last_error=None)
            )
        for outbox_id, error in failed.items():
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == outbox_id)
                .values(attempts=OutboxEntry.attempts + 1, last_error=error[:2000])
            )
        settle_indexing(session, batch_ids, refused_now=refused_now, refused=REFUSED)


def pending(db: Database, *, batch_id: str | None = None) -> int:
    """Outbox rows not yet indexed."""
    with db.read() as session:
        stmt = select(func.count()).select_from(OutboxEntry).where(OutboxEntry.processed_at.is_(None))
        if batch_id:
            stmt = stmt.where(OutboxEntry.batch_id == batch_id)
        return session.execute(stmt).scalar_one()


def failures(db: Database, limit: int = 10) -> dict[str, Any]:
    """Pending outbox rows that failed at least once: how many, and the latest errors."""
    with db.read() as session:
        count = session.execute(
            select(func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.processed_at.is_(None), OutboxEntry.attempts > 0)
        ).scalar_one()
        latest = session.execute(
            select(OutboxEntry.repository, OutboxEntry.business_key, OutboxEntry.version, OutboxEntry.last_error)
            .where(OutboxEntry.processed_at.is_(None), OutboxEntry.attempts > 0)
            .order_by(OutboxEntry.id.desc())
            .limit(limit)
        ).all()
    return {"count": count, "latest": [{"repository": r, "key": k, "version": v, "error": e} for r, k, v, e in latest]}


def reindex(db: Database, backend: ElasticBackend, standard: Standard, *, chunk: int = 2000) -> dict[str, Any]:
    """Build a fresh index of ``standard``'s repository from the database and swap the alias to it.

    Changes recorded while it runs are written again after the swap (external versions make that idempotent),
    so nothing is lost and searches see the old index until the new one is complete.
    """
    started = dt.datetime.now(dt.UTC)
    index = backend.create_index(standard)
    totals = {"indexed": 0, "stale": 0, "failed": 0}
    last = 0
    while True:
        with db.read() as session:
            rows = session.execute(
                select(
                    GoldenRecord.id,
                    GoldenRecord.business_key,
                    GoldenRecord.version,
                    GoldenRecord.status,
                    GoldenRecord.data,
                )
                .where(GoldenRecord.repository == standard.repository, GoldenRecord.id > last)
                .order_by(GoldenRecord.id)
                .limit(chunk)
            ).all()
        if not rows:
            break
        last = rows[-1].id
        outcome = backend.index_documents(
            standard,
            (
                (
                    r.business_key,
                    r.version,
                    to_document(standard, r.business_key, r.version, r.status, r.data, seq=r.id),
                )
                for r in rows
            ),
            index=index,
        )
        totals["indexed"] += len(outcome.indexed)
        totals["stale"] += len(outcome.stale)
        totals["failed"] += len(outcome.failed)
    backend.refresh_index(index)
    left = backend.swap_alias(standard, index)
    with db.read() as session:
        late = (
            session.execute(
                select(GoldenRecord.business_key).where(
                    GoldenRecord.repository == standard.repository, GoldenRecord.recorded_at >= started
                )
            )
            .scalars()
            .all()
        )
    if late:
        backend.index_documents(standard, _documents(db, standard, list(late)))
    return {"repository": standard.repository, "index": index, "replaced": left, **totals, "caught_up": len(late)}


def check(db: Database, backend: ElasticBackend, standard: Standard, *, sample: int = 20) -> dict[str, Any]:
    """Drift between the database and the index of one repository: missing, extra, stale, status mismatch."""
    with db.read() as session:
        stored = {
            key: (version, status)
            for key, version, status in session.execute(
                select(GoldenRecord.business_key, GoldenRecord.version, GoldenRecord.status).where(
                    GoldenRecord.repository == standard.repository
                )
            )
        }
    backend.refresh(standard.repository)  # compare with everything written so far, not only what is searchable
    indexed = {key: (version, status) for key, version, status in backend.scan(standard.repository)}
    missing = sorted(set(stored) - set(indexed))
    extra = sorted(set(indexed) - set(stored))
    stale = sorted(k for k in set(stored) & set(indexed) if indexed[k][0] < stored[k][0])
    ahead = sorted(k for k in set(stored) & set(indexed) if indexed[k][0] > stored[k][0])
    status = sorted(
        k for k in set(stored) & set(indexed) if indexed[k][0] == stored[k][0] and indexed[k][1] != stored[k][1]
    )
    drift = bool(missing or extra or stale or ahead or status)
    return {
        "repository": standard.repository,
        "drift": drift,
        "database": {"records": len(stored), "retired": sum(1 for v in stored.values() if v[1] == "retired")},
        "index": {"documents": len(indexed), "retired": sum(1 for v in indexed.values() if v[1] == "retired")},
        "missing": {"count": len(missing), "sample": missing[:sample]},
        "extra": {"count": len(extra), "sample": extra[:sample]},
        "stale": {"count": len(stale), "sample": stale[:sample]},
        "ahead": {"count": len(ahead), "sample": ahead[:sample]},
        "status_mismatch": {"count": len(status), "sample": status[:sample]},
    }
