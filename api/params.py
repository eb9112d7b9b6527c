"""Query and path parameter parsing shared by the routes: the one guard on every parameter (length, NUL,
unpaired surrogates), exact filters, coordinates (EPSG:4490, lon/lat), bounding boxes, limits, cursors and
``as_of`` instants. Everything here raises :class:`~mdm.errors.InvalidRequest` (400 problem+json)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from fastapi import Query, Request

from mdm import records
from mdm.db import storable
from mdm.errors import InvalidRequest
from mdm.search.base import MAX_SEARCH_LIMIT
from mdm.spatial import Envelope

MAX_PARAMETER_LENGTH = 1000
"""The longest name or value of any query parameter, in characters: a filter value, ``q``, ``cursor``,
``as_of``. A longer one is refused before anything else reads it (400 ``request.too_long``). ``q`` has its own,
shorter limit in the search query (``request.invalid``)."""

ListLimit = Annotated[int, Query(ge=1, le=records.MAX_LIMIT, description="Records per page.")]
SearchLimit = Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT, description="Hits per page.")]
Cursor = Annotated[
    str | None, Query(max_length=MAX_PARAMETER_LENGTH, description="`next_cursor` of the previous page.")
]
AsOf = Annotated[
    str | None,
    Query(
        max_length=MAX_PARAMETER_LENGTH,
        description="ISO 8601 date-time with zone, e.g. 2024-01-01T00:00:00%2B08:00 (+ encoded) or …Z",
    ),
]


def guard_parameters(request: Request) -> None:
    """Refuse a request with a NUL or an unpaired surrogate anywhere in its path or query (400
    ``request.invalid``: no key, filter or search can contain one, and PostgreSQL cannot even compare against
    one), or with a query parameter whose name or value is longer than :data:`MAX_PARAMETER_LENGTH` characters
    (400 ``request.too_long``, with ``limit`` and the offending ``parameters``)."""
    values = [*request.path_params.values(), *request.query_params.keys(), *request.query_params.values()]
    if not all(storable(str(v)) for v in values):
        raise InvalidRequest("request.invalid", "the request holds a NUL character or an unpaired surrogate")
    long = sorted(
        {
            name[:40]
            for name, value in request.query_params.multi_items()
            if len(name) > MAX_PARAMETER_LENGTH or len(value) > MAX_PARAMETER_LENGTH
        }
    )
    if long:
        raise InvalidRequest(
            "request.too_long",
            f"query parameters are at most {MAX_PARAMETER_LENGTH} characters: {', '.join(long)} is longer",
            limit=MAX_PARAMETER_LENGTH,
            parameters=long,
        )


def instant(value: str | None) -> dt.datetime | None:
    """An ISO 8601 date-time; a '+' that arrived as a space (unencoded in a URL) is put back."""
    if value is None:
        return None
    text = value.strip().replace(" ", "+") if "T" in value else value.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment.astimezone(dt.UTC)  # years 1 and 9999 with an offset fall off the calendar in UTC
        return moment
    except (ValueError, OverflowError):
        raise InvalidRequest("request.invalid", f"as_of {value!r} is not an ISO 8601 date-time") from None


def filters(request: Request, known: set[str]) -> dict[str, str]:
    """The query parameters that are not in ``known``: exact filters ``{field: value}``; each given once."""
    repeated = sorted({k for k in request.query_params if len(request.query_params.getlist(k)) > 1})
    if repeated:
        raise InvalidRequest("request.invalid", f"give each parameter once: {', '.join(repeated)}")
    return {k: v for k, v in request.query_params.items() if k not in known}


def envelope(bbox: str | None) -> Envelope | None:
    """``minlon,minlat,maxlon,maxlat`` (EPSG:4490 degrees) as an :class:`Envelope`, or None."""
    if not bbox:
        return None
    box = Envelope(*floats(bbox, 4, "bbox"))
    if box.min_x > box.max_x or box.min_y > box.max_y:
        raise InvalidRequest("request.invalid", "bbox must be minlon,minlat,maxlon,maxlat")
    in_range(box.min_x, box.min_y, "bbox")
    in_range(box.max_x, box.max_y, "bbox")
    return box


def point(value: str | None, name: str) -> tuple[float, float] | None:
    """``lon,lat`` (EPSG:4490 degrees, in range), or None."""
    if not value:
        return None
    lon, lat = floats(value, 2, name)
    in_range(lon, lat, name)
    return lon, lat


def near(value: str | None) -> tuple[float, ...] | None:
    """``lon,lat,radius_m`` as three finite numbers (ranges are checked by the search query), or None."""
    return tuple(floats(value, 3, "near")) if value else None


def in_range(lon: float, lat: float, name: str) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidRequest("request.invalid", f"{name} needs longitude in -180…180 and latitude in -90…90")


def floats(value: str, count: int, name: str) -> list[float]:
    """``count`` comma-separated finite numbers."""
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise InvalidRequest("request.invalid", f"{name} needs {count} comma-separated numbers")
    return numbers
