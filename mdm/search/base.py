"""The search interface shared by the backends: the query, the hits, cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from mdm.errors import InvalidRequest
from mdm.records import check_filters
from mdm.spatial import Envelope
from standards import Standard

MAX_SEARCH_LIMIT = 100
MAX_QUERY_LENGTH = 100
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG), metres


@dataclass(frozen=True)
class SearchQuery:
    """A search. ``q`` free text; ``mode`` ``exact`` (the text must occur as typed, after NFKC and lower case)
    or ``fuzzy`` (any two-character piece may match, ranked by how many do); ``filters`` exact values of
    filterable fields; ``near`` (lon, lat, radius in metres, EPSG:4490) on the representative point; ``bbox``
    on the envelope (intersects)."""

    q: str | None = None
    mode: str = "exact"
    filters: dict[str, str] = field(default_factory=dict)
    near: tuple[float, float, float] | None = None
    bbox: Envelope | None = None
    limit: int = 20
    cursor: str | None = None

    def fingerprint(self, repository: str = "") -> str:
        body = json.dumps(
            [
                repository,
                self.q,
                self.mode,
                sorted(self.filters.items()),
                self.near,
                self.bbox and [self.bbox.min_x, self.bbox.min_y, self.bbox.max_x, self.bbox.max_y],
            ]
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def check(self, standard: Standard) -> None:
        """Raise ``request.invalid`` / ``request.filter_unknown`` for a query the repository cannot answer."""
        if self.mode not in ("exact", "fuzzy"):
            raise InvalidRequest("request.invalid", "mode must be exact or fuzzy")
        if not 1 <= self.limit <= MAX_SEARCH_LIMIT:
            raise InvalidRequest("request.invalid", f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
        check_filters(standard, self.filters, spatial=bool(self.near or self.bbox))
        if self.near and not (0 < self.near[2] <= 1_000_000):
            raise InvalidRequest("request.invalid", "near radius must be between 0 and 1,000,000 metres")
        if self.near and not (-180 <= self.near[0] <= 180 and -90 <= self.near[1] <= 90):
            raise InvalidRequest("request.invalid", "near needs longitude in -180…180 and latitude in -90…90")
        if self.q is not None and not self.q.strip():
            raise InvalidRequest("request.invalid", "q must not be blank")
        if self.q is not None and len(self.q) > MAX_QUERY_LENGTH:
            raise InvalidRequest("request.invalid", f"q is longer than {MAX_QUERY_LENGTH} characters")


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


class SearchBackend(Protocol):
    name: str
    indexed: bool  # True when an index must be kept in step through the outbox

    def search(self, standard: Standard, query: SearchQuery) -> SearchPage:
        """Keys of active records matching ``query``, best first (nearest first with ``near``)."""


def encode_cursor(after: Any, query: SearchQuery, repository: str) -> str:
    """An opaque cursor: a backend position that never holds a business key, and the query's fingerprint."""
    raw = json.dumps({"a": after, "q": query.fingerprint(repository)}, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(query: SearchQuery, repository: str) -> Any:
    """The position a cursor holds, or None without one. ``request.cursor_invalid`` for a bad or foreign one."""
    if not query.cursor:
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(query.cursor + "=" * (-len(query.cursor) % 4)))
        after, fingerprint = body["a"], body["q"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidRequest("request.cursor_invalid", "the cursor is malformed") from exc
    if fingerprint != query.fingerprint(repository):
        raise InvalidRequest("request.cursor_invalid", "the cursor belongs to another query")
    return after


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
