"""The record store's write path: one batch's source records, golden records, versions and outbox rows.

:class:`BatchWriter` works inside a unit of work it does not own (it never commits). Per chunk of rows it:

1. drops rows whose business key already appeared in this batch (``batch.duplicate_key``);
2. fills a staging table — ``COPY`` on PostgreSQL, ``executemany`` on SQLite — and upserts the source records
   with one set-based ``INSERT … SELECT … ON CONFLICT DO UPDATE`` that tells inserted, changed and unchanged
   rows apart without a select-then-insert;
3. rebuilds the golden records of the keys that changed (:mod:`mdm.consolidation`) and writes, set-based, the
   golden rows, one new version per changed golden record, and one outbox row per version.

Writers of one repository serialise: on PostgreSQL a transaction-scoped advisory lock per repository, taken
when the batch starts writing; on SQLite the database's single writer (``BEGIN IMMEDIATE``). Two concurrent
batches on the same keys therefore produce one golden record per key, consecutive versions, and golden records
computed from every committed source record. (Per-key locks were tried first: a 40,000-row batch exhausts
PostgreSQL's lock table, and per-chunk key locks can deadlock between batches.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from mdm import spatial
from mdm.consolidation import Consolidated, SourceView, consolidate
from mdm.db import canonical_json
from mdm.errors import GuardRefused
from mdm.models import JsonDoc, UtcDateTime
from mdm.search import text as search_text
from standards import Standard

_SOURCE_STAGE_COLUMNS = ("row_no", "source_key", "business_key", "raw", "data", "source_time")
_GOLDEN_STAGE_COLUMNS = (
    "business_key",
    "status",
    "data",
    "provenance",
    "geom",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
    "search_text",
    "rep_x",
    "rep_y",
)


@dataclass
class StagedRow:
    """A validated, normalised row ready for the store. ``source_time`` None means the batch time."""

    row_no: int
    source_key: str
    business_key: str
    raw: dict[str, Any]
    data: dict[str, Any]
    source_time: dt.datetime | None = None


@dataclass
class ChunkResult:
    """What one chunk did to the source records; ``duplicates`` are the rows refused as repeats in the batch."""

    duplicates: list[StagedRow] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class GoldenCounts:
    """What a batch did to golden records: created, changed (incl. re-activated), retired, versions written."""

    created: int = 0
    changed: int = 0
    retired: int = 0
    versions: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "changed": self.changed, "retired": self.retired, "versions": self.versions}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BatchWriter:
    """All store writes of one load batch. Construct inside :meth:`mdm.db.Database.write`; never commits."""

    def __init__(
        self,
        session: Session,
        *,
        standard: Standard,
        batch_id: str,
        source_system_id: str,
        feed: str,
        priority: int,
        started_at: dt.datetime,
    ) -> None:
        self.session = session
        self.standard = standard
        self.repository = standard.repository
        self.batch_id = batch_id
        self.source_system_id = source_system_id
        self.feed = feed
        self.priority = priority
        self.started_at = started_at
        self.dialect = session.get_bind().dialect.name
        self.golden = GoldenCounts()
        self.held = 0
        self._lock_repository()
        self._create_staging()

    def _lock_repository(self) -> None:
        if self.dialect == "postgresql":
            self._exec(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || :name, 0))",
                {"name": f"mdm.load.{self.repository}"},
            )

    # -- staging -------------------------------------------------------------------------------------------

    def _create_staging(self) -> None:
        if self.dialect == "postgresql":
            self._exec(
                "CREATE TEMP TABLE IF NOT EXISTS stage_source (row_no integer, source_key text, business_key text,"
                " raw jsonb, data jsonb, source_time timestamptz) ON COMMIT DROP"
            )
            self._exec(
                "CREATE TEMP TABLE IF NOT EXISTS stage_golden (business_key text, status text, data jsonb,"
                " provenance jsonb, geom text, min_x float8, min_y float8, max_x float8, max_y float8,"
                " search_text text, rep_x float8, rep_y float8) ON COMMIT DROP"
            )
        else:
            self._exec(
                "CREATE TEMP TABLE IF NOT EXISTS stage_source (row_no INTEGER, source_key TEXT,"
                " business_key TEXT, raw TEXT, data TEXT, source_time TEXT)"
            )
            self._exec(
                "CREATE TEMP TABLE IF NOT EXISTS stage_golden (business_key TEXT, status TEXT, data TEXT,"
                " provenance TEXT, geom BLOB, min_x REAL, min_y REAL, max_x REAL, max_y REAL, search_text TEXT,"
                " rep_x REAL, rep_y REAL)"
            )

    def _exec(self, sql: str, params: dict[str, Any] | None = None):
        return self.session.execute(text(sql), params or {})

    def _time_value(self, value: dt.datetime) -> str:
        value = value.astimezone(dt.UTC)
        if self.dialect == "postgresql":
            return value.isoformat()
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite form

    def _fill(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if self.dialect == "postgresql":
            self._exec(f"TRUNCATE {table}")
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            for row in rows:
                writer.writerow(["\\N" if v is None else v for v in row])
            buffer.seek(0)
            cursor = self.session.connection().connection.dbapi_connection.cursor()
            try:
                cursor.copy_expert(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
                )
            finally:
                cursor.close()
        else:
            self._exec(f"DELETE FROM {table}")
            placeholders = ", ".join("?" for _ in columns)
            self.session.connection().exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
            )

    # -- source records ------------------------------------------------------------------------------------

    def write_chunk(self, rows: list[StagedRow]) -> ChunkResult:
        """Upsert one chunk of source records and rebuild the golden records it changed."""
        result = ChunkResult()
        rows = self._drop_duplicates(rows, result)
        if not rows:
            return result
        self._fill(
            "stage_source",
            _SOURCE_STAGE_COLUMNS,
            [
                (
                    r.row_no,
                    r.source_key,
                    r.business_key,
                    canonical_json(r.raw),
                    canonical_json(r.data),
                    self._time_value(r.source_time or self.started_at),
                )
                for r in rows
            ],
        )
        changed = (
            "(source_records.data IS DISTINCT FROM excluded.data OR source_records.status <> 'active'"
            " OR source_records.priority <> excluded.priority"
            " OR source_records.business_key <> excluded.business_key)"
        )
        returned = self._exec(
            f"""
            INSERT INTO source_records (repository, source_system_id, source_key, business_key, feed, priority,
                status, raw, data, source_time, first_batch_id, batch_id, seen_batch_id)
            SELECT :repository, :system, s.source_key, s.business_key, :feed, :priority, 'active', s.raw, s.data,
                s.source_time, :batch, :batch, :batch
            FROM stage_source s WHERE true
            ON CONFLICT (repository, source_system_id, source_key) DO UPDATE SET
                batch_id = CASE WHEN {changed} THEN excluded.batch_id ELSE source_records.batch_id END,
                source_time = CASE WHEN {changed} THEN excluded.source_time ELSE source_records.source_time END,
                status = 'active', data = excluded.data, raw = excluded.raw,
                business_key = excluded.business_key, feed = excluded.feed, priority = excluded.priority,
                seen_batch_id = excluded.seen_batch_id
            RETURNING business_key, first_batch_id, batch_id
            """,
            {
                "repository": self.repository,
                "system": self.source_system_id,
                "feed": self.feed,
                "priority": self.priority,
                "batch": self.batch_id,
            },
        ).all()
        touched: list[str] = []
        for business_key, first_batch, last_batch in returned:
            if first_batch == self.batch_id:
                result.inserted += 1
                touched.append(business_key)
            elif last_batch == self.batch_id:
                result.updated += 1
                touched.append(business_key)
            else:
                result.unchanged += 1
        self.rebuild(touched)
        return result

    def hold(self, source_keys: list[str]) -> None:
        """Mark the source records of rejected rows as supplied by this batch without changing them, so a
        snapshot does not retire a record because its new row was bad ("nothing already stored is damaged")."""
        if not source_keys:
            return
        self.session.execute(
            text(
                "UPDATE source_records SET seen_batch_id = :b WHERE repository = :r AND source_system_id = :s"
                " AND source_key IN :keys"
            ).bindparams(bindparam("keys", expanding=True)),
            {"b": self.batch_id, "r": self.repository, "s": self.source_system_id, "keys": sorted(set(source_keys))},
        )
        self.held += len(set(source_keys))

    def _drop_duplicates(self, rows: list[StagedRow], result: ChunkResult) -> list[StagedRow]:
        seen_here: set[str] = set()
        kept: list[StagedRow] = []
        for row in rows:
            if row.business_key in seen_here:
                result.duplicates.append(row)
            else:
                seen_here.add(row.business_key)
                kept.append(row)
        if not kept:
            return kept
        earlier = set(
            self.session.execute(
                text(
                    "SELECT business_key FROM source_records WHERE seen_batch_id = :batch AND repository = :r"
                    " AND business_key IN :keys"
                ).bindparams(bindparam("keys", expanding=True)),
                {"batch": self.batch_id, "r": self.repository, "keys": sorted(seen_here)},
            ).scalars()
        )
        if not earlier:
            return kept
        result.duplicates.extend(r for r in kept if r.business_key in earlier)
        result.duplicates.sort(key=lambda r: r.row_no)
        return [r for r in kept if r.business_key not in earlier]

    # -- retirement ----------------------------------------------------------------------------------------

    _ABSENT = "repository = :r AND source_system_id = :s AND feed = :f AND status = 'active' AND seen_batch_id <> :b"

    def retire_absent(self, *, guard: float, force: bool) -> int:
        """Snapshot mode: retire this feed's source records the batch did not supply; returns how many.

        Raises :class:`GuardRefused` (``load.guard_refused``) when ``force`` is false and more than ``guard``
        (a share, 0–1) would retire of either the repository's active golden records or the feed's own active
        source records — the second protects small feeds in a large repository.
        """
        params = {"r": self.repository, "s": self.source_system_id, "f": self.feed, "b": self.batch_id}
        would_retire = self._exec(
            f"""
            SELECT count(DISTINCT sr.business_key) FROM source_records sr
            WHERE {self._ABSENT.replace("repository", "sr.repository").replace(" status", " sr.status")}
              AND NOT EXISTS (
                SELECT 1 FROM source_records o
                WHERE o.repository = sr.repository AND o.business_key = sr.business_key AND o.status = 'active'
                  AND NOT (o.source_system_id = :s AND o.feed = :f AND o.seen_batch_id <> :b))
            """,
            params,
        ).scalar_one()
        active = self._exec(
            "SELECT count(*) FROM golden_records WHERE repository = :r AND status = 'active'", params
        ).scalar_one()
        feed_retire, feed_active = self._exec(
            "SELECT count(*) FILTER (WHERE seen_batch_id <> :b), count(*) FROM source_records"
            " WHERE repository = :r AND source_system_id = :s AND feed = :f AND status = 'active'",
            params,
        ).one()
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
        keys = (
            self._exec(
                f"UPDATE source_records SET status = 'retired', batch_id = :b, source_time = :now"
                f" WHERE {self._ABSENT} RETURNING business_key",
                {**params, "now": self._time_value(_utc_now())},
            )
            .scalars()
            .all()
        )
        unique = sorted(set(keys))
        for start in range(0, len(unique), 5000):
            self.rebuild(unique[start : start + 5000])
        return len(keys)

    # -- golden records ------------------------------------------------------------------------------------

    def rebuild(self, keys: list[str]) -> None:
        """Recompute the golden records of ``keys`` and write a version for each one that changed."""
        keys = sorted(set(keys))
        if not keys:
            return
        sources: dict[str, list[SourceView]] = {}
        for row in self.session.execute(
            text(
                "SELECT business_key, source_system_id, source_key, priority, source_time, batch_id, status, data"
                " FROM source_records WHERE repository = :r AND business_key IN :keys"
            )
            .bindparams(bindparam("keys", expanding=True))
            .columns(source_time=UtcDateTime(), data=JsonDoc),
            {"r": self.repository, "keys": keys},
        ):
            sources.setdefault(row.business_key, []).append(
                SourceView(
                    source_system_id=row.source_system_id,
                    source_key=row.source_key,
                    priority=row.priority,
                    source_time=row.source_time,
                    batch_id=row.batch_id,
                    status=row.status,
                    data=row.data,
                )
            )
        current = {
            row.business_key: (row.status, row.data)
            for row in self.session.execute(
                text(
                    "SELECT business_key, status, data FROM golden_records"
                    " WHERE repository = :r AND business_key IN :keys"
                )
                .bindparams(bindparam("keys", expanding=True))
                .columns(data=JsonDoc),
                {"r": self.repository, "keys": keys},
            )
        }
        changed: list[tuple[str, Consolidated]] = []
        for key in keys:
            if key not in sources:
                continue
            golden = consolidate(sources[key])
            before = current.get(key)
            if before == (golden.status, golden.data):
                continue
            changed.append((key, golden))
            if before is None:
                self.golden.created += 1
            elif golden.status == "retired" and before[0] != "retired":
                self.golden.retired += 1
            else:
                self.golden.changed += 1
        if changed:
            self._write_golden(changed)

    def _derived_columns(self, data: dict[str, Any]) -> tuple:
        """geom, envelope, search_text and representative point of a golden record's data."""
        found = search_text.document(self.standard, data)
        point = found.point or (None, None)
        text_ = "\n".join(found.lines())
        name = self.standard.geometry_field
        value = data.get(name) if name else None
        if not value:
            return (None, None, None, None, None, text_, *point)
        geometry = spatial.geometry_from_geojson(value)
        geometry = shapely.set_srid(geometry, spatial.SRID)
        return (spatial.storage_value(geometry, self.dialect), *geometry.bounds, text_, *point)

    def _write_golden(self, changed: list[tuple[str, Consolidated]]) -> None:
        now = _utc_now()
        self._fill(
            "stage_golden",
            _GOLDEN_STAGE_COLUMNS,
            [
                (
                    key,
                    golden.status,
                    canonical_json(golden.data),
                    canonical_json(golden.provenance),
                    *self._derived_columns(golden.data),
                )
                for key, golden in changed
            ],
        )
        geom = spatial.staged_geometry_sql("s.geom", self.dialect)
        params = {"r": self.repository, "now": self._time_value(now), "b": self.batch_id}
        self._exec(
            f"""
            INSERT INTO golden_records (repository, business_key, version, status, data, provenance, recorded_at,
                batch_id, geom, min_x, min_y, max_x, max_y, search_text, rep_x, rep_y)
            SELECT :r, s.business_key, 1, s.status, s.data, s.provenance, :now, :b, {geom},
                s.min_x, s.min_y, s.max_x, s.max_y, s.search_text, s.rep_x, s.rep_y
            FROM stage_golden s WHERE true
            ON CONFLICT (repository, business_key) DO UPDATE SET
                version = golden_records.version + 1, status = excluded.status, data = excluded.data,
                provenance = excluded.provenance, recorded_at = excluded.recorded_at,
                batch_id = excluded.batch_id, geom = excluded.geom, min_x = excluded.min_x,
                min_y = excluded.min_y, max_x = excluded.max_x, max_y = excluded.max_y,
                search_text = excluded.search_text, rep_x = excluded.rep_x, rep_y = excluded.rep_y
            """,
            params,
        )
        joined = "FROM golden_records g JOIN stage_golden s ON g.business_key = s.business_key WHERE g.repository = :r"
        self._exec(
            "INSERT INTO record_versions (golden_id, repository, business_key, version, status, data, provenance,"
            " recorded_at, batch_id) SELECT g.id, g.repository, g.business_key, g.version, g.status, g.data,"
            f" g.provenance, g.recorded_at, g.batch_id {joined}",
            params,
        )
        self._exec(
            "INSERT INTO outbox (repository, business_key, version, status, batch_id, created_at, attempts)"
            f" SELECT g.repository, g.business_key, g.version, g.status, g.batch_id, :now, 0 {joined}",
            params,
        )
        self.golden.versions += len(changed)
