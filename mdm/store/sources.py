"""Source records of one batch: upsert a chunk, hold the records of rejected rows, retire what a snapshot
left out — set-based, inside a unit of work it does not own (it never commits).

What the batch has supplied so far lives in a temporary table, ``batch_seen`` (one row per source key: its
business key, row number, source time and outcome), not in the source records themselves, so a row that did not
change costs a staging row and an index probe and writes nothing to ``source_records`` — unless it comes with a
newer source time or another raw form, which it records (still ``unchanged``: the record's data is the same).

Recency inside one batch (issue 8 item 8): when the file holds the same business key twice, the row with the
later source time wins (on a tie, the earlier row); the other is reported as a duplicate naming both rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from mdm.db import canonical_json
from mdm.errors import GuardRefused
from mdm.models import JsonDoc
from mdm.store.dialect import Dialect

_STAGE = "stage_source"
_STAGE_COLUMNS = (
    ("row_no", "int"),
    ("source_key", "text"),
    ("business_key", "text"),
    ("raw", "json"),
    ("data", "json"),
    ("source_time", "time"),
)
_SEEN = "batch_seen"
_SEEN_COLUMNS = (
    ("source_key", "text"),
    ("business_key", "text"),
    ("row_no", "int"),
    ("source_time", "float"),
    ("outcome", "text"),
)
_RANK = {"unchanged": 0, "updated": 1, "inserted": 2}


@dataclass
class StagedRow:
    """A validated, normalised row ready for the store. ``source_time`` None means the batch time.

    ``raw`` holds the cells as supplied (strings; see :func:`mdm.store.text.storable_cells`), ``data`` the
    normalised record the standard validated.
    """

    row_no: int
    source_key: str
    business_key: str
    raw: dict[str, Any]
    data: dict[str, Any]
    source_time: dt.datetime | None = None
    source_system_id: str | None = None  # a mixed-source file's row: its own source system (None: the batch's)


@dataclass(frozen=True)
class Duplicate:
    """A row refused as a repeat of a business key in this batch: ``row`` lost to the row numbered ``kept``."""

    row: StagedRow
    kept: int


@dataclass
class ChunkResult:
    """What one chunk did to the source records; ``touched`` are the business keys whose golden record may
    have changed."""

    duplicates: list[Duplicate] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    touched: list[str] = field(default_factory=list)


class SourceWriter:
    """The source-record writes of one batch of one feed (a source system's profile)."""

    def __init__(
        self,
        session: Session,
        *,
        repository: str,
        batch_id: str,
        source_system_id: str,
        feed: str,
        priority: int,
        started_at: dt.datetime,
        seen_suffix: str = "",
    ) -> None:
        """``seen_suffix`` sets this writer's temporary table of the keys the batch supplied apart: one per source
        system when a mixed-source file's batch writes under several (:func:`mdm.store.batch.run_batch`)."""
        self.session = session
        self._seen_table = f"{_SEEN}{seen_suffix}"
        self.dialect = Dialect.of(session)
        self.repository = repository
        self.batch_id = batch_id
        self.source_system_id = source_system_id
        self.feed = feed
        self.priority = priority
        self.started_at = started_at
        self.held = 0
        self._seen_rows = 0  # rows in batch_seen, and how many there were when it was last analysed
        self._analysed_at = 0
        self.dialect.create_temp_table(session, _STAGE, _STAGE_COLUMNS)
        self.dialect.create_temp_table(session, self._seen_table, _SEEN_COLUMNS)
        session.execute(
            text(f"CREATE INDEX IF NOT EXISTS ix_{self._seen_table}_source ON {self._seen_table} (source_key)")
        )
        session.execute(
            text(f"CREATE INDEX IF NOT EXISTS ix_{self._seen_table}_business ON {self._seen_table} (business_key)")
        )
        self._params = {"r": repository, "s": source_system_id, "f": feed, "b": batch_id}

    def _time(self, row: StagedRow) -> dt.datetime:
        return row.source_time or self.started_at

    # -- one chunk -----------------------------------------------------------------------------------------

    def write_chunk(self, rows: list[StagedRow]) -> ChunkResult:
        """Upsert one chunk of rows; returns counts, the business keys touched and the duplicates refused."""
        result = ChunkResult()
        winners = self._winners_in_chunk(rows, result)
        if not winners:
            return result
        earlier = self._seen(list(winners))
        taking_over: dict[str, tuple[str, int, str]] = {}  # business key -> earlier (source key, row, outcome)
        for key, row in list(winners.items()):
            if key not in earlier:
                continue
            source_key, row_no, seen_time, outcome = earlier[key]
            if self._time(row).timestamp() > seen_time:
                taking_over[key] = (source_key, row_no, outcome)
            else:
                result.duplicates.append(Duplicate(row=row, kept=row_no))
                del winners[key]
        if taking_over:
            self._give_way(taking_over, winners, result)
        outcomes, refreshed = self._upsert(list(winners.values()))
        seen_rows = []
        for key, row in winners.items():
            outcome = outcomes.get(row.source_key, "unchanged")
            if key in taking_over:
                before = taking_over[key][2]
                setattr(result, before, getattr(result, before) - 1)
                outcome = max(outcome, before, key=_RANK.__getitem__)
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome != "unchanged" or key in taking_over or row.source_key in refreshed:
                result.touched.append(key)
            seen_rows.append((row.source_key, key, row.row_no, self._time(row).timestamp(), outcome))
        self._remember(seen_rows)
        result.duplicates.sort(key=lambda d: d.row.row_no)
        return result

    def _remember(self, seen_rows: list[tuple]) -> None:
        """Add rows to ``batch_seen``, re-analysing it each time it has doubled: PostgreSQL never analyses a
        temporary table itself, and planned as empty, the per-chunk lookup scans it whole — a cost that grows
        with the batch (EXPLAIN ANALYZE: a sequential scan of 200,000 rows per chunk instead of an index scan)."""
        self.dialect.fill(self.session, self._seen_table, [c for c, _ in _SEEN_COLUMNS], seen_rows, empty=False)
        self._seen_rows += len(seen_rows)
        if self._seen_rows >= 2 * self._analysed_at + 1000:
            self.dialect.analyse(self.session, self._seen_table)
            self._analysed_at = self._seen_rows

    def _winners_in_chunk(self, rows: list[StagedRow], result: ChunkResult) -> dict[str, StagedRow]:
        winners: dict[str, StagedRow] = {}
        for row in rows:
            best = winners.get(row.business_key)
            if best is None:
                winners[row.business_key] = row
            elif self._time(row) > self._time(best):
                result.duplicates.append(Duplicate(row=best, kept=row.row_no))
                winners[row.business_key] = row
            else:
                result.duplicates.append(Duplicate(row=row, kept=best.row_no))
        return winners

    def _seen(self, keys: list[str]) -> dict[str, tuple[str, int, float, str]]:
        rows = self.session.execute(
            text(
                f"SELECT business_key, source_key, row_no, source_time, outcome FROM {self._seen_table}"
                " WHERE business_key IN :keys"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": keys},
        )
        return {r.business_key: (r.source_key, r.row_no, r.source_time, r.outcome) for r in rows}

    def _give_way(
        self, taking_over: dict[str, tuple[str, int, str]], winners: dict[str, StagedRow], result: ChunkResult
    ) -> None:
        """Earlier rows of this batch that lose to a later row of the same key: reported as duplicates (with
        the raw cells they supplied), their ``batch_seen`` rows dropped, and, when the later row has another
        source key, the source record the earlier row inserted removed (it existed only in this batch)."""
        earlier_keys = sorted(source_key for source_key, _, _ in taking_over.values())
        stored = {
            r.source_key: r
            for r in self.session.execute(
                text(
                    "SELECT source_key, business_key, raw, data, first_batch_id FROM source_records"
                    " WHERE repository = :r AND source_system_id = :s AND source_key IN :keys"
                )
                .bindparams(bindparam("keys", expanding=True))
                .columns(raw=JsonDoc, data=JsonDoc),
                {**self._params, "keys": earlier_keys},
            )
        }
        for key, (source_key, row_no, _) in taking_over.items():
            found = stored.get(source_key)
            lost = StagedRow(
                row_no=row_no,
                source_key=source_key,
                business_key=key,
                raw=found.raw if found else {},
                data=found.data if found else {},
            )
            result.duplicates.append(Duplicate(row=lost, kept=winners[key].row_no))
        moved = [sk for key, (sk, _, _) in taking_over.items() if sk != winners[key].source_key]
        if moved:
            self.session.execute(
                text(
                    "DELETE FROM source_records WHERE repository = :r AND source_system_id = :s"
                    " AND first_batch_id = :b AND source_key IN :keys"
                ).bindparams(bindparam("keys", expanding=True)),
                {**self._params, "keys": moved},
            )
        self.session.execute(
            text(f"DELETE FROM {self._seen_table} WHERE business_key IN :keys").bindparams(
                bindparam("keys", expanding=True)
            ),
            {"keys": sorted(taking_over)},
        )

    def _upsert(self, rows: list[StagedRow]) -> tuple[dict[str, str], set[str]]:
        """One set-based ``INSERT … ON CONFLICT DO UPDATE … WHERE changed``: rows equal to what is stored are
        not written (but for a newer source time or raw form, :meth:`_refresh_unchanged`). Returns
        ``inserted``/``updated`` by source key (absent: unchanged), and the unchanged source keys refreshed."""
        self.dialect.fill(
            self.session,
            _STAGE,
            [c for c, _ in _STAGE_COLUMNS],
            [
                (
                    r.row_no,
                    r.source_key,
                    r.business_key,
                    canonical_json(r.raw),
                    canonical_json(r.data),
                    self.dialect.time_value(self._time(r)),
                )
                for r in rows
            ],
            empty=True,
        )
        refreshed = self._refresh_unchanged(timed=any(r.source_time is not None for r in rows))
        returned = self.session.execute(
            text(
                f"""
                INSERT INTO source_records (repository, source_system_id, source_key, business_key, feed,
                    priority, status, raw, data, source_time, first_batch_id, batch_id, seen_batch_id)
                SELECT :r, :s, st.source_key, st.business_key, :f, :p, 'active', st.raw, st.data,
                    st.source_time, :b, :b, :b
                FROM {_STAGE} st WHERE true
                ON CONFLICT (repository, source_system_id, source_key) DO UPDATE SET
                    batch_id = excluded.batch_id, source_time = excluded.source_time, status = 'active',
                    data = excluded.data, raw = excluded.raw, business_key = excluded.business_key,
                    feed = excluded.feed, priority = excluded.priority, seen_batch_id = excluded.seen_batch_id
                WHERE source_records.data <> excluded.data OR source_records.status <> 'active'
                    OR source_records.priority <> excluded.priority OR source_records.feed <> excluded.feed
                    OR source_records.business_key <> excluded.business_key
                    OR source_records.batch_id = excluded.batch_id
                RETURNING source_key, first_batch_id
                """
            ),
            {**self._params, "p": self.priority},
        ).all()
        return {sk: "inserted" if first == self.batch_id else "updated" for sk, first in returned}, refreshed

    def _refresh_unchanged(self, *, timed: bool) -> set[str]:
        """Rows whose record is unchanged (the upsert below skips them) still record a newer source time and the
        raw cells as supplied now, without touching ``batch_id`` (the row stays ``unchanged``). Returns the source
        keys whose source time moved: their golden records are rebuilt, as recency may rank the sources anew (no
        version unless the golden record changes). A chunk whose rows carry no source time of their own (``timed``
        False: the profile maps none, so the time would only be this batch's) refreshes raw forms alone and
        rebuilds nothing — an unchanged re-load stays a comparison, not a rebuild."""
        if not timed:
            self.session.execute(
                text(
                    f"""
                    UPDATE source_records SET raw = st.raw
                    FROM {_STAGE} st
                    WHERE source_records.repository = :r AND source_records.source_system_id = :s
                        AND source_records.source_key = st.source_key AND source_records.batch_id <> :b
                        AND source_records.data = st.data AND source_records.status = 'active'
                        AND source_records.priority = :p AND source_records.feed = :f
                        AND source_records.business_key = st.business_key AND source_records.raw <> st.raw
                    """
                ),
                {**self._params, "p": self.priority},
            )
            return set()
        refreshed = self.session.execute(
            text(
                f"""
                UPDATE source_records SET
                    source_time = CASE WHEN st.source_time > source_records.source_time
                        THEN st.source_time ELSE source_records.source_time END,
                    raw = st.raw
                FROM {_STAGE} st
                WHERE source_records.repository = :r AND source_records.source_system_id = :s
                    AND source_records.source_key = st.source_key AND source_records.batch_id <> :b
                    AND source_records.data = st.data AND source_records.status = 'active'
                    AND source_records.priority = :p AND source_records.feed = :f
                    AND source_records.business_key = st.business_key
                    AND (st.source_time > source_records.source_time OR source_records.raw <> st.raw)
                RETURNING source_records.source_key
                """
            ),
            {**self._params, "p": self.priority},
        ).scalars()
        return set(refreshed)

    # -- rejected rows and retirement ---------------------------------------------------------------------

    def hold(self, source_keys: Iterable[str]) -> None:
        """Count the source records of rejected rows as supplied by this batch without changing them, so a
        snapshot does not retire a record because its new row was bad ("nothing already stored is damaged")."""
        unique = sorted(set(source_keys))
        if not unique:
            return
        self.dialect.fill(
            self.session, self._seen_table, ["source_key", "outcome"], [(k, "held") for k in unique], empty=False
        )
        self.held += len(unique)
        self._seen_rows += len(unique)

    _ABSENT = (
        "{t}repository = :r AND {t}source_system_id = :s AND {t}feed = :f AND {t}status = 'active'"
        " AND NOT EXISTS (SELECT 1 FROM batch_seen bs WHERE bs.source_key = {t}source_key)"
    )

    def retire_absent(self, *, guard: float, force: bool, now: dt.datetime) -> list[str]:
        """Snapshot mode: retire this feed's source records the batch did not supply; returns their business keys.

        Raises :class:`GuardRefused` (``load.guard_refused``) when ``force`` is false and more than ``guard``
        (a share, 0–1) would retire of either the repository's active golden records or the feed's own active
        source records — the second protects small feeds in a large repository.
        """
        params = self._params
        self.dialect.analyse(self.session, self._seen_table)
        absent = self._ABSENT.format(t="sr.")
        would_retire = self.session.execute(
            text(
                f"""
                SELECT count(DISTINCT sr.business_key) FROM source_records sr
                WHERE {absent}
                  AND NOT EXISTS (
                    SELECT 1 FROM source_records o
                    WHERE o.repository = sr.repository AND o.business_key = sr.business_key AND o.status = 'active'
                      AND NOT (o.source_system_id = :s AND o.feed = :f AND NOT EXISTS (
                        SELECT 1 FROM {self._seen_table} bo WHERE bo.source_key = o.source_key)))
                """
            ),
            params,
        ).scalar_one()
        active = self.session.execute(
            text("SELECT count(*) FROM golden_records WHERE repository = :r AND status = 'active'"), params
        ).scalar_one()
        feed_active = self.session.execute(
            text(
                "SELECT count(*) FROM source_records WHERE repository = :r AND source_system_id = :s AND feed = :f"
                " AND status = 'active'"
            ),
            params,
        ).scalar_one()
        feed_retire = self.session.execute(
            text(f"SELECT count(*) FROM source_records sr WHERE {absent}"), params
        ).scalar_one()
        refused = None
        if active and would_retire / active > guard:
            refused = f"{would_retire} of {active} active {self.repository} records ({would_retire / active:.1%})"
        elif feed_active and feed_retire / feed_active > guard:
            refused = f"{feed_retire} of the {feed_active} records this feed supplied ({feed_retire / feed_active:.1%})"
        if refused and not force:
            raise GuardRefused(
                "load.guard_refused",
                f"this snapshot would retire {refused}, more than the guard allows ({guard:.1%}); load it with "
                "force (CLI --force, API form field force=true) if that is intended",
                would_retire=would_retire,
                active=active,
                feed_would_retire=feed_retire,
                feed_active=feed_active,
                guard=guard,
            )
        if not feed_retire:
            return []
        return list(
            self.session.execute(
                text(
                    "UPDATE source_records SET status = 'retired', batch_id = :b, source_time = :now"
                    f" WHERE {self._ABSENT.format(t='source_records.')} RETURNING business_key"
                ),
                {**params, "now": self.dialect.time_value(now)},
            ).scalars()
        )
