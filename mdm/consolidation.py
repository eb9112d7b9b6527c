"""Consolidation: one golden record per business key from all its source records.

Survivorship v1, per field: among the active source records that supply a non-empty value, the highest source
priority wins; ties go to the most recent ``source_time`` (the source's own timestamp when its profile maps one,
else the time of the batch that last changed it); then the source system id and source key, so the result never
depends on row order. Each surviving value carries its provenance: source system, batch and time.

A golden record is ``active`` while at least one of its source records is active; when all are retired it is
``retired`` and keeps the last values they supplied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceView:
    """What consolidation needs of one source record."""

    source_system_id: str
    source_key: str
    priority: int
    source_time: dt.datetime
    batch_id: str
    status: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Consolidated:
    """The golden record computed for one key: its fields, per-field provenance and status."""

    data: dict[str, Any]
    provenance: dict[str, dict[str, str]]
    status: str


_SOURCES, _FIELDS = "~sources", "~fields"


def pack_provenance(provenance: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The stored form of per-field provenance: each distinct origin once, and per field its index.

    Most fields of a record come from one or two sources, so repeating ``{source, batch_id, recorded_at}`` per
    field made provenance 2.5 times the size of the data it describes (golden records and versions alike).
    :func:`unpack_provenance` gives the per-field form back.
    """
    origins: list[dict[str, str]] = []
    index: dict[tuple, int] = {}
    fields: dict[str, int] = {}
    for name, origin in provenance.items():
        key = tuple(sorted(origin.items()))
        if key not in index:
            index[key] = len(origins)
            origins.append(origin)
        fields[name] = index[key]
    return {_SOURCES: origins, _FIELDS: fields}


def unpack_provenance(stored: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per-field provenance from its stored form (either :func:`pack_provenance`'s or the per-field form that
    databases written before it hold)."""
    if _SOURCES not in stored or _FIELDS not in stored:
        return stored
    origins = stored[_SOURCES]
    return {name: dict(origins[i]) for name, i in stored[_FIELDS].items()}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _rank(source: SourceView) -> tuple:
    return (-source.priority, -source.source_time.timestamp(), source.source_system_id, source.source_key)


def consolidate(sources: Iterable[SourceView]) -> Consolidated:
    """Apply the survivorship rules to the source records of one business key (at least one)."""
    sources = list(sources)
    if not sources:
        raise ValueError("consolidate() needs at least one source record")
    active = [s for s in sources if s.status == "active"]
    status = "active" if active else "retired"
    ranked = sorted(active or sources, key=_rank)
    data: dict[str, Any] = {}
    provenance: dict[str, dict[str, str]] = {}
    for source in ranked:
        origin = {
            "source": source.source_system_id,
            "batch_id": source.batch_id,
            "recorded_at": source.source_time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }  # one provenance per source, shared by the fields it supplies (computed once, not per field)
        for name, value in source.data.items():
            if name in data or _empty(value):
                continue
            data[name] = value
            provenance[name] = origin
    return Consolidated(data=dict(sorted(data.items())), provenance=dict(sorted(provenance.items())), status=status)
