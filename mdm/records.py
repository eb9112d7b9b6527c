"""The record store's read path: a golden record now or as of a time, its history, filtered lists.

Returns :class:`RecordView` values, never ORM rows; ``api`` maps them to its response shapes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mdm import spatial
from mdm.consolidation import unpack_provenance
from mdm.errors import InvalidRequest, NotFound
from mdm.models import GoldenRecord, RecordVersion
from mdm.query import MAX_LIST_LIMIT as MAX_LIMIT
from mdm.query import ListQuery
from mdm.store.dialect import Dialect
from standards import Standard

__all__ = [
    "MAX_LIMIT",
    "ListQuery",
    "RecordView",
    "counts",
    "existing_keys",
    "get_many",
    "get_record",
    "history",
    "list_records",
]


@dataclass(frozen=True)
class RecordView:
    """One golden record (or one of its versions) as stored."""

    repository: str
    key: str
    version: int
    status: str
    recorded_at: dt.datetime
    batch_id: str | None
    data: dict[str, Any]
    provenance: dict[str, Any]


def _served(data: dict[str, Any]) -> dict[str, Any]:
    """A record's data as it is served: polygons with RFC 7946 ring orientation (:func:`mdm.spatial.oriented`);
    what is stored stays as supplied, so a source's winding never makes a new version."""
    if not any(isinstance(v, dict) for v in data.values()):
        return data
    return {name: spatial.oriented(value) for name, value in data.items()}


_SERVED_COLUMNS = (
    GoldenRecord.repository,
    GoldenRecord.business_key,
    GoldenRecord.version,
    GoldenRecord.status,
    GoldenRecord.recorded_at,
    GoldenRecord.batch_id,
    GoldenRecord.data,
    GoldenRecord.provenance,
)


def _view(row: Any) -> RecordView:
    """A :class:`RecordView` of a golden record or version (an ORM object or a row of :data:`_SERVED_COLUMNS`)."""
    return RecordView(
        repository=row.repository,
        key=row.business_key,
        version=row.version,
        status=row.status,
        recorded_at=row.recorded_at,
        batch_id=row.batch_id,
        data=_served(row.data),
        provenance=unpack_provenance(row.provenance),
    )


def get_record(session: Session, repository: str, key: str, *, as_of: dt.datetime | None = None) -> RecordView:
    """The golden record of ``key``, or the version in force at ``as_of`` (timezone-aware).

    Raises :class:`NotFound` (``record.not_found``) when there is none (or none recorded by ``as_of``).
    """
    row: Any
    if as_of is None:  # the served columns only, as a row (no ORM object, no search or derived columns)
        row = session.execute(
            select(*_SERVED_COLUMNS).where(GoldenRecord.repository == repository, GoldenRecord.business_key == key)
        ).one_or_none()
    else:
        if as_of.tzinfo is None:
            raise InvalidRequest("request.invalid", "as_of needs a time zone, e.g. 2024-01-01T00:00:00+08:00")
        row = session.execute(
            select(RecordVersion)
            .where(
                RecordVersion.repository == repository,
                RecordVersion.business_key == key,
                RecordVersion.recorded_at <= as_of,
            )
            .order_by(RecordVersion.version.desc())
            .limit(1)
        ).scalar_one_or_none()
    if row is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise NotFound("record.not_found", f"no {repository} record {key}{when}")
    return _view(row)


def get_many(session: Session, repository: str, keys: list[str]) -> dict[str, RecordView]:
    """The golden records of ``keys`` that exist (any status), by key."""
    found: dict[str, RecordView] = {}
    for start in range(0, len(keys), 1000):
        rows = session.execute(
            select(GoldenRecord).where(
                GoldenRecord.repository == repository, GoldenRecord.business_key.in_(keys[start : start + 1000])
            )
        ).scalars()
        found.update((r.business_key, _view(r)) for r in rows)
    return found


def history(session: Session, repository: str, key: str) -> list[RecordView]:
    """Every version of ``key``, oldest first. Raises :class:`NotFound` (``record.not_found``)."""
    rows = (
        session.execute(
            select(RecordVersion)
            .where(RecordVersion.repository == repository, RecordVersion.business_key == key)
            .order_by(RecordVersion.version)
        )
        .scalars()
        .all()
    )
    if not rows:
        raise NotFound("record.not_found", f"no {repository} record {key}")
    return [_view(r) for r in rows]


def existing_keys(session: Session, wanted: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Which of the wanted (repository → business keys) have a golden record (any status)."""
    found: set[tuple[str, str]] = set()
    for repository, keys in wanted.items():
        ordered = sorted(keys)
        for start in range(0, len(ordered), 5000):
            rows = session.execute(
                select(GoldenRecord.business_key).where(
                    GoldenRecord.repository == repository, GoldenRecord.business_key.in_(ordered[start : start + 5000])
                )
            ).scalars()
            found.update((repository, key) for key in rows)
    return found


def counts(session: Session) -> dict[str, int]:
    """Active golden records per repository."""
    rows = session.execute(
        select(GoldenRecord.repository, func.count())
        .where(GoldenRecord.status == "active")
        .group_by(GoldenRecord.repository)
    ).all()
    return {repository: count for repository, count in rows}


def list_records(session: Session, standard: Standard, query: ListQuery) -> tuple[list[RecordView], str | None]:
    """Golden records matching ``query`` in the order they were first recorded, and the next page's cursor.

    Raises ``request.filter_unknown`` for a filter on a field the standard does not mark ``x-filter``,
    ``request.invalid`` for a spatial filter on a repository without geometry, a bad limit or an overlong
    filter value, ``request.cursor_invalid`` for a bad or foreign cursor (:meth:`ListQuery.check`).
    """
    query.check(standard)
    dialect = Dialect.of(session).name
    table = GoldenRecord.__table__
    stmt = select(GoldenRecord).where(GoldenRecord.repository == standard.repository)
    if not query.include_retired:
        stmt = stmt.where(GoldenRecord.status == "active")
    for name, value in sorted(query.filters.items()):
        stmt = stmt.where(GoldenRecord.data[name].as_string() == value)
    if query.contains:
        stmt = stmt.where(spatial.contains_point(table, *query.contains, dialect))
    if query.bbox:
        stmt = stmt.where(spatial.intersects_envelope(table, query.bbox, dialect))
    after = query.after(standard.repository)
    refine = spatial.needs_refinement(dialect) and (query.contains or query.bbox)
    items: list[GoldenRecord] = []
    while len(items) <= query.limit:
        page = stmt.order_by(GoldenRecord.id).limit(query.limit + 1)
        if after is not None:
            page = page.where(GoldenRecord.id > after)
        rows = session.execute(page).scalars().all()
        if not rows:
            break
        for row in rows:
            if refine and not _refined(row, query):
                continue
            items.append(row)
            if len(items) > query.limit:
                break
        after = rows[-1].id
        if len(rows) <= query.limit:
            break
    has_more = len(items) > query.limit
    items = items[: query.limit]
    next_cursor = query.cursor_after(items[-1].id, standard.repository) if has_more and items else None
    return [_view(r) for r in items], next_cursor


def _refined(row: GoldenRecord, query: ListQuery) -> bool:
    if query.contains and not spatial.refine_contains(row.geom, *query.contains):
        return False
    return not (query.bbox and not spatial.refine_intersects(row.geom, query.bbox))
