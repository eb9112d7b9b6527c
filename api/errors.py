"""The one place that maps errors to HTTP: a domain error carries a stable code and, in its class, its status
(:mod:`mdm.errors`); here it becomes an RFC 9457 problem+json document ``{"type", "title", "status", "detail",
"code", "instance", …}``. Framework errors (validation, unknown routes) and lost databases are mapped here too."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mdm import errors
from standards.codes import CODES

log = logging.getLogger("mdm.api")


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
    if status == 429 and "retry_after" in extra:
        headers = {"Retry-After": str(int(extra["retry_after"]))}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _page(request: Request, status: int, code: str, detail: str) -> Response | None:
    """The console's error page when the request is one of its pages (:mod:`api.console.problems`)."""
    from api.console.problems import is_console, problem_page

    return problem_page(request, status, code, detail) if is_console(request) else None


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``. On console pages (``/console``) the same codes are shown as a page."""

    @app.exception_handler(errors.MdmError)
    async def _domain(request: Request, exc: errors.MdmError) -> Response:
        if (shown := _page(request, exc.status, exc.code, exc.detail)) is not None:
            return shown
        extra = {k: v for k, v in exc.extra.items() if k != "summary"}
        if "summary" in exc.extra:
            extra["load"] = exc.extra["summary"]
        return problem(exc.status, exc.code, exc.detail, request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        if (shown := _page(request, 400, "request.invalid", detail)) is not None:
            return shown
        return problem(400, "request.invalid", detail, request.url.path, errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "request.not_found", 405: "request.method_not_allowed"}.get(exc.status_code, "request.invalid")
        if (shown := _page(request, exc.status_code, code, str(exc.detail))) is not None:
            return shown
        response = problem(exc.status_code, code, str(exc.detail), request.url.path)
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405 (RFC 9110 §15.5.6)
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return problem(503, "database.unavailable", "the database cannot be reached; try again later", request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if (shown := _page(request, 500, "server.error", "an unexpected error; see the server log")) is not None:
            return shown
        return problem(500, "server.error", "an unexpected error; see the server log", request.url.path)
