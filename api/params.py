"""Query and path parameter parsing shared by the routes: the one guard on every parameter (length, NUL,
unpaired surrogates), the one integer parser (:data:`DIGITS`: decimal digits only, so ``limit=1000.0``,
``5_0``, `` 5`` and ``+5`` are refused on every route alike), the one refusal of a repeated parameter
(:class:`SingleValuedParameters`), exact filters, coordinates (EPSG:4490, lon/lat),
bounding boxes, limits, cursors and ``as_of`` instants. The bounds themselves and the coordinate checks live in
:mod:`mdm.query`, shared with every other caller. Everything here raises :class:`~mdm.errors.InvalidRequest`
(400 problem+json)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Path, Query, Request
from pydantic import BeforeValidator
from starlette.types import ASGIApp, Receive, Scope, Send

from mdm import query
from mdm.db import storable
from mdm.errors import InvalidRequest
from mdm.query import MAX_FILTER_LENGTH, MAX_LIST_LIMIT, MAX_SEARCH_LIMIT
from mdm.spatial import Envelope

MAX_PARAMETER_LENGTH = MAX_FILTER_LENGTH
"""The longest name or value of any query parameter, in characters: a filter value, ``q``, ``cursor``,
``as_of``. A longer one is refused before anything else reads it (400 ``request.too_long``). ``q`` has its own,
shorter limit in the search query (``request.invalid``)."""

_INTEGER = re.compile(r"-?[0-9]{1,20}")


def plain_integer(value: object) -> object:
    """A query or path value as an integer when it is written in plain decimal digits (an optional ``-``, at most
    20 digits), else a validation error (400 ``request.invalid``). Pydantic alone would take ``1000.0``,
    ``5_0``, `` 5`` and ``+5``; ranges are checked after, by each parameter's ``ge``/``le``."""
    if isinstance(value, str):
        if not _INTEGER.fullmatch(value):
            raise ValueError("must be an integer written in decimal digits, e.g. 50")
        return int(value)
    return value


DIGITS = BeforeValidator(plain_integer)
"""The integer parser of every query and path parameter, as the last ``Annotated`` member after ``Query``/``Path``
(``Annotated[int, Query(ge=1), DIGITS]``: there the OpenAPI shape stays ``integer`` with its ``minimum`` and
``maximum``)."""

RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A row id (a positive 64-bit integer)."), DIGITS]
"""A numeric id in a path: larger ones are a 400, never an integer the database cannot hold."""
Year = Annotated[int, Query(ge=1949, le=2100, description="A budget year (公历年份), 1949–2100."), DIGITS]
"""A project or statistics year: outside the range is a 400, never an integer the database cannot hold."""
OptionalYear = Annotated[int | None, Query(ge=1949, le=2100, description="A budget year, 1949–2100."), DIGITS]
"""Like :data:`Year`, optional."""
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Rows to skip."), DIGITS]
ListLimit = Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT, description="Records per page."), DIGITS]
SearchLimit = Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT, description="Hits per page."), DIGITS]
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


def repeated_parameters(query_string: bytes) -> list[str]:
    """The names (at most 40 characters each, sorted) of the query parameters given more than once."""
    counts = Counter(name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return sorted({name[:40] for name, n in counts.items() if n > 1})


class SingleValuedParameters:
    """Refuse a query parameter given more than once, on every route of the application (API, console, docs)
    before any route reads it: 400 ``request.parameter_repeated`` naming them in ``parameters`` (problem+json;
    the console's error page on ``/console``). Every parameter of the service takes one value, and which of two
    values a framework keeps (the last, in FastAPI) must not decide a limit, a purpose or a filter. A pure ASGI
    middleware, so no route can leave it out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        repeated = repeated_parameters(scope.get("query_string", b"")) if scope["type"] == "http" else []
        if not repeated:
            await self.app(scope, receive, send)
            return
        from api.console.problems import is_console, problem_page
        from api.errors import problem

        request = Request(scope, receive)
        detail = f"give each query parameter once: {', '.join(repeated)} came more than once"
        code = "request.parameter_repeated"
        response = (
            problem_page(request, 400, code, detail)
            if is_console(request)
            else problem(400, code, detail, request.url.path, parameters=repeated)
        )
        await response(scope, receive, send)


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
    """The query parameters that are not in ``known``: exact filters ``{field: value}``; each given once
    (:class:`SingleValuedParameters` refused the request before, had one come twice)."""
    return {k: v for k, v in request.query_params.items() if k not in known}


def envelope(bbox: str | None) -> Envelope | None:
    """``minlon,minlat,maxlon,maxlat`` (EPSG:4490 degrees) as an :class:`Envelope`, or None
    (:func:`mdm.query.parse_envelope`)."""
    return query.parse_envelope(bbox)


def point(value: str | None, name: str) -> tuple[float, float] | None:
    """``lon,lat`` (EPSG:4490 degrees, in range), or None (:func:`mdm.query.parse_point`)."""
    return query.parse_point(value, name)


def near(value: str | None) -> tuple[float, float, float] | None:
    """``lon,lat,radius_m`` as three finite numbers (ranges are checked by the search query), or None."""
    return query.parse_near(value)
