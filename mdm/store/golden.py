"""Golden records: rebuild the golden records of given business keys from their source records and write,
set-based, the changed golden rows, one new version per change and one outbox row per version.

Callable by a load (:func:`mdm.store.run_batch`) and, later, by a steward decision or a merge: it reads only the
source and golden records of the keys it is given, so its cost is proportional to them, not to the repository.
It works inside a unit of work it does not own (it never commits).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from mdm import spatial
from mdm.consolidation import Consolidated, SourceView, consolidate, pack_provenance
from mdm.db import canonical_json
from mdm.models import JsonDoc, UtcDateTime
from mdm.search import text as search_text
from mdm.store.dialect import Dialect
from standards import Standard

_STAGE = "stage_golden"
_STAGE_COLUMNS = (
    ("business_key", "text"),
    ("status", "text"),
    ("data", "json"),
    ("provenance", "json"),
    ("geom", "blob"),
    ("min_x", "float"),
    ("min_y", "float"),
    ("max_x", "float"),
    ("max_y", "float"),
    ("search_text", "text"),
    ("rep_x", "float"),
    ("rep_y", "float"),
)
_VERSION_COLUMNS = (
    "golden_id",
    "repository",
    "business_key",
    "version",
    "status",
    "data",
    "provenance",
    "recorded_at",
    "batch_id",
)
_OUTBOX_COLUMNS = ("repository", "business_key", "version", "status", "batch_id", "created_at", "attempts")


@dataclass
class GoldenCounts:
    """What a rebuild did to golden records: created, changed (incl. re-activated), retired, versions written."""

    created: int = 0
    changed: int = 0
    retired: int = 0
    versions: int = 0

    def add(self, other: GoldenCounts) -> None:
        self.created += other.created
        self.changed += other.changed
        self.retired += other.retired
        self.versions += other.versions

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "changed": self.changed, "retired": self.retired, "versions": self.versions}


def _sources(session: Session, repository: str, keys: list[str]) -> dict[str, list[SourceView]]:
    found: dict[str, list[SourceView]] = {}
    rows = session.execute(
        text(
            "SELECT business_key, source_system_id, source_key, priority, source_time, batch_id, status, data"
            " FROM source_records WHERE repository = :r AND business_key IN :keys"
        )
        .bindparams(bindparam("keys", expanding=True))
        .columns(source_time=UtcDateTime(), data=JsonDoc),
        {"r": repository, "keys": keys},
    )
    for row in rows:
        found.setdefault(row.business_key, []).append(
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
    return found


def _current(session: Session, repository: str, keys: list[str]) -> dict[str, tuple[str, Any]]:
    rows = session.execute(
        text("SELECT business_key, status, data FROM golden_records WHERE repository = :r AND business_key IN :keys")
        .bindparams(bindparam("keys", expanding=True))
        .columns(data=JsonDoc),
        {"r": repository, "keys": keys},
    )
    return {row.business_key: (row.status, row.data) for row in rows}


def rebuild(
    session: Session, *, standard: Standard, keys: list[str], batch_id: str | None, now: dt.datetime | None = None
) -> GoldenCounts:
    """Recompute the golden records of ``keys`` (business keys of ``standard``'s repository; at most a few
    thousand per call) and write a version and an outbox row for each one that changed.

    ``batch_id`` is the batch (or decision) the versions carry; ``now`` their ``recorded_at`` (default: now, UTC).
    Keys without source records are skipped. Returns what changed.
    """
    counts = GoldenCounts()
    keys = sorted(set(keys))
    if not keys:
        return counts
    repository = standard.repository
    sources = _sources(session, repository, keys)
    current = _current(session, repository, keys)
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
            counts.created += 1
        elif golden.status == "retired" and before[0] != "retired":
            counts.retired += 1
        else:
            counts.changed += 1
    if changed:
        _write(session, standard, changed, batch_id, now or dt.datetime.now(dt.UTC))
        counts.versions = len(changed)
    return counts


def _derived_columns(standard: Standard, data: dict[str, Any], dialect: Dialect) -> tuple:
    """geom, envelope, search_text and representative point of a golden record's data."""
    found = search_text.document(standard, data)
    point = found.point or (None, None)
    body = "\n".join(found.lines())
    name = standard.geometry_field
    value = data.get(name) if name else None
    if not value:
        return (None, None, None, None, None, body, *point)
    shape: BaseGeometry = spatial.geometry_from_geojson(value)  # value is a GeoJSON object, not None
    geometry = shapely.set_srid(shape, spatial.SRID)
    return (spatial.storage_value(geometry, dialect.name), *geometry.bounds, body, *point)


def _write(
    session: Session,
    standard: Standard,
    changed: list[tuple[str, Consolidated]],
    batch_id: str | None,
    now: dt.datetime,
) -> None:
    dialect = Dialect.of(session)
    dialect.create_temp_table(session, _STAGE, _STAGE_COLUMNS)
    staged = {
        key: (canonical_json(golden.data), canonical_json(pack_provenance(golden.provenance)), golden.status)
        for key, golden in changed
    }
    dialect.fill(
        session,
        _STAGE,
        [name for name, _ in _STAGE_COLUMNS],
        [
            (key, golden.status, staged[key][0], staged[key][1], *_derived_columns(standard, golden.data, dialect))
            for key, golden in changed
        ],
        empty=True,
    )
    geom = spatial.staged_geometry_sql("s.geom", dialect.name)
    recorded = dialect.time_value(now)
    written = session.execute(
        text(
            f"""
            INSERT INTO golden_records (repository, business_key, version, status, data, provenance, recorded_at,
                batch_id, geom, min_x, min_y, max_x, max_y, search_text, rep_x, rep_y)
            SELECT :r, s.business_key, 1, s.status, s.data, s.provenance, :now, :b, {geom},
                s.min_x, s.min_y, s.max_x, s.max_y, s.search_text, s.rep_x, s.rep_y
            FROM {_STAGE} s WHERE true
            ON CONFLICT (repository, business_key) DO UPDATE SET
                version = golden_records.version + 1, status = excluded.status, data = excluded.data,
                provenance = excluded.provenance, recorded_at = excluded.recorded_at,
                batch_id = excluded.batch_id, geom = excluded.geom, min_x = excluded.min_x,
                min_y = excluded.min_y, max_x = excluded.max_x, max_y = excluded.max_y,
                search_text = excluded.search_text, rep_x = excluded.rep_x, rep_y = excluded.rep_y
            RETURNING id, business_key, version
            """
        ),
        {"r": standard.repository, "now": recorded, "b": batch_id},
    ).all()
    # versions and outbox rows straight from what was just written: no join back over golden_records
    repository = standard.repository
    dialect.fill(
        session,
        "record_versions",
        _VERSION_COLUMNS,
        [
            (golden_id, repository, key, version, staged[key][2], staged[key][0], staged[key][1], recorded, batch_id)
            for golden_id, key, version in written
        ],
        empty=False,
    )
    dialect.fill(
        session,
        "outbox",
        _OUTBOX_COLUMNS,
        [(repository, key, version, staged[key][2], batch_id, recorded, 0) for _, key, version in written],
        empty=False,
    )
