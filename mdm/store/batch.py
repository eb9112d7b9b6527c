"""One load batch as one unit of work: :func:`run_batch` owns the transaction (DESIGN §3 "Storage": every write
is one transaction that writes the records, their versions and the outbox rows together).

The loaders hand it a stream of rows — :class:`StagedRow` for a valid row, :class:`Held` for the source key of a
rejected one — and it upserts them chunk by chunk (:mod:`mdm.store.sources`), retires what a snapshot left out,
rebuilds the golden records of the keys that changed once at the end (:mod:`mdm.store.golden`) and writes the
batch row, then commits. Nothing is stored if anything raises, the ``finish`` hook included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from mdm.batches import record_batch, register_source_system
from mdm.db import Database
from mdm.records import existing_keys
from mdm.store.dialect import Dialect
from mdm.store.golden import GoldenCounts, rebuild
from mdm.store.sources import Duplicate, SourceWriter, StagedRow
from standards import Standard
from standards.validation import Issue, issue

_TOUCHED = "batch_touched"
_GOLDEN_PAGE = 5000


@dataclass(frozen=True)
class Feed:
    """Who supplies a batch: the source system (id, display name), the feed (the profile's name; a snapshot
    retires only within its feed), the source's survivorship priority (higher wins) and the department that owns
    the source system (recorded on its row if it has none yet; None: unknown)."""

    source_system_id: str
    source_system_name: str
    feed: str
    priority: int
    department_id: str | None = None


@dataclass(frozen=True)
class Held:
    """A rejected row's source key: what is stored for it stays as it is and counts as supplied.
    ``source_system_id``: a mixed-source file's row's own source system (None: the batch's)."""

    source_key: str
    source_system_id: str | None = None


@dataclass
class BatchOutcome:
    """What a committed batch did: source-record rows inserted, updated, unchanged, retired (rows), the source
    keys held for rejected rows, and the golden records created, changed, retired and versions written."""

    batch_id: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    held: int = 0
    golden: GoldenCounts = field(default_factory=GoldenCounts)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


class BatchListener(Protocol):
    """Where a batch reports per-row findings it makes in the store (the loaders' load report)."""

    def duplicate(self, duplicate: Duplicate, issues: list[Issue]) -> None: ...

    def warn(self, row_no: int, issues: list[Issue], *, source_key: str | None) -> None: ...


def run_batch(
    db: Database,
    *,
    standard: Standard,
    feed: Feed,
    rows: Iterable[StagedRow | Held],
    mode: str,
    guard: float,
    force: bool,
    batch_id: str,
    started_at: dt.datetime,
    listener: BatchListener,
    finish: Callable[[BatchOutcome], dict[str, Any]],
    chunk_rows: int = 5000,
    row_feeds: Mapping[str, Feed] | None = None,
) -> BatchOutcome:
    """Store one batch of ``standard``'s repository in one transaction and return what it did.

    ``rows`` is consumed once, lazily (memory stays flat in file size); ``chunk_rows`` rows are written at a time.
    ``mode`` ``snapshot`` retires the feed's records the batch did not supply, bounded by ``guard`` (a share,
    0–1) unless ``force``. ``finish`` is called last, inside the transaction, with the outcome; it returns the
    fields of the batch row (:class:`mdm.models.Batch`) and may raise to roll everything back.

    Raises :class:`mdm.errors.GuardRefused` (``load.guard_refused``); nothing is stored then.

    A mixed-source file (a profile's ``sources``) names each row's source system: ``row_feeds`` holds the feed of
    every such system by id, and a row (or held key) with a ``source_system_id`` is written under its feed —
    its source system, priority and owner — with a writer of its own (duplicates are found per source system,
    as for separate files), all in this one transaction. Such a batch is a ``delta``: it retires nothing.
    """
    outcome = BatchOutcome(batch_id=batch_id)
    feeds = dict(row_feeds or {})
    with db.write() as session:
        for each in [feed, *feeds.values()]:
            register_source_system(
                session,
                source_system_id=each.source_system_id,
                name=each.source_system_name,
                now=started_at,
                department_id=each.department_id,
            )
        dialect = Dialect.of(session)
        dialect.lock_repository(session, standard.repository)
        writers: dict[str | None, SourceWriter] = {}

        def writer_for(source_system_id: str | None) -> SourceWriter:
            if source_system_id not in writers:
                chosen = feed if source_system_id is None else feeds[source_system_id]
                writers[source_system_id] = SourceWriter(
                    session,
                    repository=standard.repository,
                    batch_id=batch_id,
                    source_system_id=chosen.source_system_id,
                    feed=chosen.feed,
                    priority=chosen.priority,
                    started_at=started_at,
                    seen_suffix="" if source_system_id is None else f"_{len(writers)}",
                )
            return writers[source_system_id]

        writer = writer_for(None)
        dialect.create_temp_table(session, _TOUCHED, [("business_key", "text")])
        session.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{_TOUCHED} ON {_TOUCHED} (business_key)"))
        chunks: dict[str | None, list[StagedRow]] = {}
        helds: dict[str | None, list[str]] = {}
        pending = 0

        def flush() -> None:
            nonlocal pending
            for source_system_id in sorted(set(chunks) | set(helds), key=lambda s: s or ""):
                write(writer_for(source_system_id), chunks.pop(source_system_id, []), helds.pop(source_system_id, []))
            pending = 0

        def write(writer: SourceWriter, chunk: list[StagedRow], held: list[str]) -> None:
            _warn_unknown_references(session, standard, chunk, listener)
            writer.hold(held)
            result = writer.write_chunk(chunk)
            key_field = ",".join(standard.business_key)
            for duplicate in result.duplicates:
                row = duplicate.row
                message = (
                    f"key {row.business_key} appears in rows {min(row.row_no, duplicate.kept)} and "
                    f"{max(row.row_no, duplicate.kept)}; row {duplicate.kept} is kept (the later source time, "
                    "else the first row)"
                )
                listener.duplicate(duplicate, [issue("batch.duplicate_key", key_field, message, row.business_key)])
            outcome.inserted += result.inserted
            outcome.updated += result.updated
            outcome.unchanged += result.unchanged
            dialect.fill(session, _TOUCHED, ["business_key"], [(k,) for k in result.touched], empty=False)

        for item in rows:
            if isinstance(item, Held):
                helds.setdefault(item.source_system_id, []).append(item.source_key)
                continue
            chunks.setdefault(item.source_system_id, []).append(item)
            pending += 1
            if pending >= chunk_rows:
                flush()
        if chunks or helds:
            flush()
        if mode == "snapshot" and outcome.accepted:
            retired = writer.retire_absent(guard=guard, force=force, now=dt.datetime.now(dt.UTC))
            outcome.retired = len(retired)
            dialect.fill(session, _TOUCHED, ["business_key"], [(k,) for k in retired], empty=False)
        outcome.held = sum(w.held for w in writers.values())
        dialect.analyse(session, _TOUCHED)
        _rebuild_touched(session, standard, batch_id, outcome.golden)
        record_batch(session, **finish(outcome))
    Dialect.of(db.engine).checkpoint(db.engine)
    return outcome


def _rebuild_touched(session: Session, standard: Standard, batch_id: str, counts: GoldenCounts) -> None:
    """Rebuild the golden records of every key the batch touched, a page of keys at a time, once per key."""
    now = dt.datetime.now(dt.UTC)
    last = ""
    while True:
        keys = list(
            session.execute(
                text(
                    f"SELECT DISTINCT business_key FROM {_TOUCHED} WHERE business_key > :last"
                    f" ORDER BY business_key LIMIT {_GOLDEN_PAGE}"
                ),
                {"last": last},
            ).scalars()
        )
        if not keys:
            return
        counts.add(rebuild(session, standard=standard, keys=keys, batch_id=batch_id, now=now))
        last = keys[-1]


def _warn_unknown_references(
    session: Session, standard: Standard, rows: list[StagedRow], listener: BatchListener
) -> None:
    """``ref.unknown`` for x-ref values that point to no record yet: a warning, never a reject (the referenced
    record may arrive later)."""
    references = standard.references
    if not references or not rows:
        return
    wanted: dict[str, set[str]] = {}
    for row in rows:
        for name, targets in references.items():
            value = row.data.get(name)
            if isinstance(value, str):
                for target in targets:
                    wanted.setdefault(target, set()).add(value)
    found = existing_keys(session, wanted)
    for row in rows:
        missing = [
            issue("ref.unknown", name, f"{row.data[name]} is in none of {', '.join(targets)}", row.data[name])
            for name, targets in references.items()
            if isinstance(row.data.get(name), str) and not any((t, row.data[name]) in found for t in targets)
        ]
        if missing:
            listener.warn(row.row_no, missing, source_key=row.source_key)
