"""The one place that maps errors to HTTP: domain errors carry a stable code; here they become RFC 9457
problem+json documents ``{"type", "title", "status", "detail", "code", "instance", …}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mdm import errors
from standards.codes import CODES

log = logging.getLogger("mdm.api")

_STATUS: list[tuple[type[errors.MdmError], int]] = [
    (errors.Unauthorised, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.InvalidRequest, 400),
    (errors.GuardRefused, 409),
    (errors.Conflict, 409),
    (errors.FileRejected, 422),
]
_CODE_STATUS = {
    "file.too_large": 413,
    "database.unavailable": 503,
    "search.unavailable": 503,
    "database.extension_missing": 503,
    "load.profile_unknown": 400,
    "load.profile_invalid": 400,
}


def problem(status: int, code: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    """A problem+json response for ``code`` (a published code)."""
    body = {
        "type": f"urn:mdm:problem:{code}",
        "title": CODES[code].meaning,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def status_of(exc: errors.MdmError) -> int:
    if exc.code in _CODE_STATUS:
        return _CODE_STATUS[exc.code]
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(errors.MdmError)
    async def _domain(request: Request, exc: errors.MdmError) -> JSONResponse:
        extra = {k: v for k, v in exc.extra.items() if k != "summary"}
        if "summary" in exc.extra:
            extra["load"] = exc.extra["summary"]
        return problem(status_of(exc), exc.code, exc.detail, request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        return problem(400, "request.invalid", detail, request.url.path, errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "request.not_found", 405: "request.method_not_allowed"}.get(exc.status_code, "request.invalid")
        response = problem(exc.status_code, code, str(exc.detail), request.url.path)
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405 (RFC 9110 §15.5.6)
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return problem(503, "database.unavailable", "the database cannot be reached; try again later", request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "server.error", "an unexpected error; see the server log", request.url.path)
