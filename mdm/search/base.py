"""The search interface shared by the backends: the hits, a page, what a sync did, and the backend Protocol.

The query itself (:class:`~mdm.query.SearchQuery`) and its cursor live in :mod:`mdm.query`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mdm.query import MAX_QUERY_LENGTH, MAX_SEARCH_LIMIT, SearchQuery
from standards import Standard

if TYPE_CHECKING:
    from mdm.db import Database
    from standards.registry import Registry

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_SEARCH_LIMIT",
    "DrainResult",
    "SearchBackend",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "distance_m",
    "shingles",
]

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG), metres


@dataclass(frozen=True)
class SearchHit:
    key: str
    score: float
    distance_m: float | None = None


@dataclass(frozen=True)
class SearchPage:
    """One page of hits. ``complete`` is false when the backend ranked only part of the matches (the sql
    backend's candidate cap), so later pages may miss some."""

    hits: list[SearchHit]
    next_cursor: str | None
    complete: bool = True


@dataclass
class DrainResult:
    """What one sync (a drain of the outbox into an index) did, in outbox rows; ``unavailable`` holds the
    reason when the index could not be reached (the rows stay pending). ``failed`` counts every row left pending
    by a failure, ``refused`` those of them the index itself refused (a document it would not take — a strict
    mapping built for another version of the standard, a value its mapping cannot hold), with their reasons
    under ``errors``: those records are stored but not searchable until the index is fixed."""

    indexed: int = 0
    stale: int = 0
    failed: int = 0
    refused: int = 0
    pending: int = 0
    unavailable: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SearchBackend(Protocol):
    """What every caller may ask of a search backend; nothing else (no ``client``, no ``name`` branches).

    ``db`` is always the database of record: an index is kept in step with it, rebuilt from it and compared
    with it. Errors: :class:`~mdm.errors.InvalidRequest` (``request.*``) for a query the repository cannot
    answer, ``search.unavailable`` when the index cannot be reached.
    """

    name: str  # "sql" or "elasticsearch": shown in /health, never branched on
    indexed: bool  # True when an index must be kept in step through the outbox (sync does something)

    def search(self, standard: Standard, query: SearchQuery) -> SearchPage:
        """Keys of active records matching ``query``, best first (nearest first with ``near``)."""
        ...

    def health(self, db: Database | None = None) -> dict[str, Any]:
        """The ``search`` member of ``/health``: ``{"backend", "status": "ok"|"degraded"|"unavailable", …}``;
        an indexed backend adds ``pending`` and ``failures`` (outbox rows) when given ``db``."""
        ...

    def sync(self, db: Database, registry: Registry, *, batch_id: str | None = None) -> DrainResult | None:
        """Bring the index in step with pending changes (only those of ``batch_id`` when given) and make them
        searchable; None when there is nothing to keep in step (the sql backend)."""
        ...

    def rebuild(self, db: Database, standard: Standard) -> dict[str, Any]:
        """Rebuild the repository's search keys from the database, without a gap in service; a JSON report."""
        ...

    def check(self, db: Database, standard: Standard) -> dict[str, Any]:
        """Compare the database with what search answers from; a JSON report whose ``drift`` says if they
        differ."""
        ...


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two EPSG:4490 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def shingles(text: str) -> list[str]:
    """Two-character pieces of ``text`` (the text itself when shorter), without repeats, in order."""
    if len(text) < 2:
        return [text]
    seen: list[str] = []
    for i in range(len(text) - 1):
        piece = text[i : i + 2]
        if piece.strip() and piece not in seen:
            seen.append(piece)
    return seen or [text]
