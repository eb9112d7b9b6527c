"""What a caller may ask for: list and search queries, their checks, and the one cursor codec.

Every bound on a query parameter lives here — limits, text and filter lengths, coordinate ranges, the cursor's
size and shape — so the HTTP routes, the CLI and the services refuse the same input the same way, with
``request.invalid``, ``request.too_long``, ``request.filter_unknown`` or ``request.cursor_invalid``
(:class:`InvalidRequest`, a 400). The HTTP layer refuses any parameter longer than :data:`MAX_FILTER_LENGTH`
before it gets here (``api/params.py``); the same bound holds for every other caller.

Coordinates are EPSG:4490 (CGCS2000) degrees, x = longitude, y = latitude (DESIGN §3 "Storage").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mdm.errors import InvalidRequest
from mdm.spatial import Envelope
from standards import Standard

MAX_LIST_LIMIT = 1000
MAX_SEARCH_LIMIT = 100
MAX_QUERY_LENGTH = 100  # characters of ``q``
MAX_FILTER_LENGTH = 1000  # characters of one exact filter value: above every standard's maxLength
MAX_NEAR_RADIUS_M = 1_000_000
MAX_CURSOR_LENGTH = 256  # characters; a cursor this service writes is about 100
MAX_CURSOR_DEPTH = 2  # {"p": [...]}: an object holding one flat list
MAX_CURSOR_INT = 2**63  # internal ids, offsets and sequence numbers are below it


# -- coordinates ---------------------------------------------------------------------------------------------


def parse_numbers(value: str, count: int, name: str) -> tuple[float, ...]:
    """``count`` comma-separated finite numbers (``request.invalid`` otherwise: NaN and ±inf are refused)."""
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise InvalidRequest("request.invalid", f"{name} needs {count} comma-separated numbers")
    return tuple(numbers)


def check_lon_lat(lon: float, lat: float, name: str) -> None:
    """``request.invalid`` unless longitude is in -180…180 and latitude in -90…90 (degrees, EPSG:4490)."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidRequest("request.invalid", f"{name} needs longitude in -180…180 and latitude in -90…90")


def parse_point(value: str | None, name: str = "contains") -> tuple[float, float] | None:
    """``lon,lat`` → (lon, lat), or None without a value."""
    if not value:
        return None
    lon, lat = parse_numbers(value, 2, name)
    check_lon_lat(lon, lat, name)
    return lon, lat


def parse_near(value: str | None) -> tuple[float, float, float] | None:
    """``lon,lat,radius_m`` → (lon, lat, radius in metres), or None; :meth:`SearchQuery.check` bounds them."""
    if not value:
        return None
    lon, lat, radius = parse_numbers(value, 3, "near")
    return lon, lat, radius


def parse_envelope(value: str | None) -> Envelope | None:
    """``minlon,minlat,maxlon,maxlat`` → :class:`Envelope`, or None without a value."""
    if not value:
        return None
    envelope = Envelope(*parse_numbers(value, 4, "bbox"))
    if envelope.min_x > envelope.max_x or envelope.min_y > envelope.max_y:
        raise InvalidRequest("request.invalid", "bbox must be minlon,minlat,maxlon,maxlat")
    check_lon_lat(envelope.min_x, envelope.min_y, "bbox")
    check_lon_lat(envelope.max_x, envelope.max_y, "bbox")
    return envelope


# -- filters -------------------------------------------------------------------------------------------------


def check_filters(standard: Standard, filters: dict[str, str], *, spatial: bool) -> None:
    """Raise ``request.filter_unknown`` for a filter on a field not marked ``x-filter``, ``request.too_long``
    for a value longer than :data:`MAX_FILTER_LENGTH` characters, and ``request.invalid`` for a spatial filter
    on a repository without geometry. Shared by lists and search."""
    unknown = sorted(set(filters) - set(standard.filterable))
    if unknown:
        shown = ", ".join(name[:64] for name in unknown[:10])
        raise InvalidRequest(
            "request.filter_unknown",
            f"cannot filter {standard.repository} on {shown}; filterable: {', '.join(standard.filterable)}",
        )
    overlong = sorted(name for name, value in filters.items() if len(value) > MAX_FILTER_LENGTH)
    if overlong:
        raise InvalidRequest(
            "request.too_long",
            f"filter {', '.join(overlong)} is longer than {MAX_FILTER_LENGTH} characters",
            limit=MAX_FILTER_LENGTH,
            parameters=overlong,
        )
    if spatial and not standard.geometry_field:
        raise InvalidRequest("request.invalid", f"{standard.repository} has no geometry to filter on")


def _fingerprint(kind: str, repository: str, parts: list[Any]) -> str:
    body = json.dumps([kind, repository, *parts], ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _box(envelope: Envelope | None) -> list[float] | None:
    return None if envelope is None else [envelope.min_x, envelope.min_y, envelope.max_x, envelope.max_y]


# -- queries -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """A list request: exact ``filters`` on filterable fields; ``limit`` 1…1,000; ``contains`` is (lon, lat),
    ``bbox`` an :class:`Envelope`, both EPSG:4490; ``cursor`` from a previous page of the same query."""

    filters: dict[str, str]
    limit: int = 50
    cursor: str | None = None
    include_retired: bool = False
    contains: tuple[float, float] | None = None
    bbox: Envelope | None = None

    def fingerprint(self, repository: str = "") -> str:
        parts = [sorted(self.filters.items()), self.include_retired, self.contains, _box(self.bbox)]
        return _fingerprint("list", repository, parts)

    def check(self, standard: Standard) -> None:
        """Raise ``request.invalid`` / ``request.filter_unknown`` for a list the repository cannot answer."""
        if not 1 <= self.limit <= MAX_LIST_LIMIT:
            raise InvalidRequest("request.invalid", f"limit must be between 1 and {MAX_LIST_LIMIT}")
        check_filters(standard, self.filters, spatial=bool(self.contains or self.bbox))

    def after(self, repository: str) -> int | None:
        """The internal id the cursor points after, or None without one (``request.cursor_invalid``)."""
        if self.cursor is None:
            return None
        (last_id,) = decode_cursor(self.cursor, fingerprint=self.fingerprint(repository), shape=(int,))
        return int(last_id)

    def cursor_after(self, last_id: int, repository: str) -> str:
        """The next page's cursor: the last record's internal id, never its (possibly masked) business key."""
        return encode_cursor((last_id,), fingerprint=self.fingerprint(repository))


@dataclass(frozen=True)
class SearchQuery:
    """A search. ``q`` free text; ``mode`` ``exact`` (the text must occur as typed, after NFKC and lower case)
    or ``fuzzy`` (any two-character piece may match, ranked by how many do); ``filters`` exact values of
    filterable fields; ``near`` (lon, lat, radius in metres, EPSG:4490) on the representative point; ``bbox``
    on the envelope (intersects); ``limit`` 1…100."""

    q: str | None = None
    mode: str = "exact"
    filters: dict[str, str] = field(default_factory=dict)
    near: tuple[float, float, float] | None = None
    bbox: Envelope | None = None
    limit: int = 20
    cursor: str | None = None
    match_key: bool = True  # False: q is not matched against the business key (the caller sees it masked)

    def fingerprint(self, repository: str = "") -> str:
        parts = [self.q, self.mode, sorted(self.filters.items()), self.near, _box(self.bbox)]
        return _fingerprint("search", repository, parts)

    def check(self, standard: Standard) -> None:
        """Raise ``request.invalid`` / ``request.filter_unknown`` for a query the repository cannot answer."""
        if self.mode not in ("exact", "fuzzy"):
            raise InvalidRequest("request.invalid", "mode must be exact or fuzzy")
        if not 1 <= self.limit <= MAX_SEARCH_LIMIT:
            raise InvalidRequest("request.invalid", f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
        check_filters(standard, self.filters, spatial=bool(self.near or self.bbox))
        if self.near and not all(math.isfinite(n) for n in self.near):
            raise InvalidRequest("request.invalid", "near needs finite numbers")
        if self.near and not (0 < self.near[2] <= MAX_NEAR_RADIUS_M):
            raise InvalidRequest("request.invalid", "near radius must be between 0 and 1,000,000 metres")
        if self.near:
            check_lon_lat(self.near[0], self.near[1], "near")
        if self.q is not None and not self.q.strip():
            raise InvalidRequest("request.invalid", "q must not be blank")
        if self.q is not None and len(self.q) > MAX_QUERY_LENGTH:
            raise InvalidRequest("request.invalid", f"q is longer than {MAX_QUERY_LENGTH} characters")

    def position(self, repository: str, shape: Sequence[type]) -> tuple[int | float, ...] | None:
        """The backend position the cursor holds, typed as ``shape`` (``int`` or ``float`` per member), or None
        without a cursor. Raises ``request.cursor_invalid``."""
        if self.cursor is None:
            return None
        return decode_cursor(self.cursor, fingerprint=self.fingerprint(repository), shape=shape)

    def cursor_at(self, position: Sequence[int | float], repository: str) -> str:
        """The next page's cursor for a backend position (an offset, or sort values)."""
        return encode_cursor(position, fingerprint=self.fingerprint(repository))


# -- the cursor codec ----------------------------------------------------------------------------------------

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode_cursor(position: Sequence[int | float], *, fingerprint: str) -> str:
    """An opaque cursor (unpadded base64url of ``{"p": position, "q": fingerprint}``): a backend position made
    of finite numbers only — never a business key — bound to its repository and query by the fingerprint."""
    raw = json.dumps({"p": list(position), "q": fingerprint}, allow_nan=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, fingerprint: str, shape: Sequence[type]) -> tuple[int | float, ...]:
    """The position a cursor holds, checked against a strict, bounded shape: at most
    :data:`MAX_CURSOR_LENGTH` characters of base64url, JSON nested at most :data:`MAX_CURSOR_DEPTH` deep,
    exactly the keys ``p`` and ``q``, ``p`` a list of ``len(shape)`` numbers (``int`` members integers in
    0…2⁶³-1, ``float`` members finite; NaN and Infinity are refused) and ``q`` equal to ``fingerprint``.

    Raises :class:`InvalidRequest` ``request.cursor_invalid`` for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(cursor):
        raise _invalid("the cursor is malformed")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _invalid("the cursor is malformed") from None
    if _depth(text) > MAX_CURSOR_DEPTH:
        raise _invalid("the cursor is malformed")
    try:
        body = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise _invalid("the cursor is malformed") from None
    if not isinstance(body, dict) or set(body) != {"p", "q"}:
        raise _invalid("the cursor is malformed")
    if body["q"] != fingerprint:
        raise _invalid("the cursor belongs to another query")
    position = body["p"]
    if not isinstance(position, list) or len(position) != len(shape):
        raise _invalid("the cursor is malformed")
    for value, kind in zip(position, shape, strict=True):
        if not _fits(value, kind):
            raise _invalid("the cursor is malformed")
    return tuple(position)


def _invalid(detail: str) -> InvalidRequest:
    return InvalidRequest("request.cursor_invalid", detail)


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if kind is int:
        return isinstance(value, int) and 0 <= value < MAX_CURSOR_INT
    return math.isfinite(value)


def _depth(text: str) -> int:
    """How deeply JSON ``text`` nests arrays and objects, counted without parsing (brackets inside strings
    do not count), so a hostile cursor never reaches the recursive parser."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        raise ValueError("a repeated key")
    return body
