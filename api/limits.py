"""Request body limits, enforced before anything parses a body (a pure ASGI middleware).

- A **file upload** (``multipart/form-data`` to a route that takes a file: loads, project documents, payments)
  may carry at most ``MDM_MAX_UPLOAD_BYTES`` of file plus :data:`FORM_ALLOWANCE` bytes of the form's other parts
  and boundaries. A declared ``Content-Length`` above that is
  refused at once with 413 ``file.too_large`` (``limit``: ``MDM_MAX_UPLOAD_BYTES``), before one byte is read;
  the routes still check the file itself against ``MDM_MAX_UPLOAD_BYTES`` to the byte.
- **Any other body** (JSON, a sign-in form) may carry at most ``MDM_MAX_JSON_BYTES``: above it, 413
  ``request.too_large`` (``limit`` in bytes), before it is parsed.
- A body without a ``Content-Length`` (chunked) is counted as it arrives; once past its limit the application
  stops receiving it and the same 413 is answered instead of whatever the application would have said.

On console pages (``/console``) the 413 is shown as the console's error page, like every other error.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_ALLOWANCE = 64 * 1024
"""Bytes a multipart upload may carry beyond its file: the other form fields, the part headers, boundaries."""


class _Exceeded(Exception):
    """Raised into the application from ``receive`` once a streamed body passes its limit."""


class BodyLimits:
    """The middleware; reads both limits from ``app.state.settings`` on every request (so tests may vary them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        content_type = _header(scope, b"content-type").lower()
        if content_type.startswith("multipart/form-data") and _takes_files(scope.get("path", "")):
            limit, allowed, code = (
                settings.max_upload_bytes,
                settings.max_upload_bytes + FORM_ALLOWANCE,
                "file.too_large",
            )
        else:
            limit = allowed = settings.max_json_bytes
            code = "request.too_large"
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > allowed:
            await _refuse(scope, receive, send, code, limit)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > allowed:
                    state["exceeded"] = True
                    raise _Exceeded
            return message

        async def guarded(message: Message) -> None:
            if state["exceeded"]:
                return  # the application's own answer to a cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not state["exceeded"]:
                raise  # a cut-off body may surface as another exception (a form parser's); others are real
        if state["exceeded"] and not state["started"]:
            await _refuse(scope, receive, send, code, limit)


_UPLOAD_PATHS = re.compile(r"^(/repositories/[^/]+/loads|/projects/payments|(/console)?/projects/\d+/documents)$")


def _takes_files(path: str) -> bool:
    """The routes that take a file (loads, project documents, payments): a multipart body anywhere else is held to
    the ``MDM_MAX_JSON_BYTES`` limit of an ordinary body."""
    return bool(_UPLOAD_PATHS.match(path))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


async def _refuse(scope: Scope, receive: Receive, send: Send, code: str, limit: int) -> None:
    from api.console.problems import is_console, problem_page
    from api.errors import problem

    request = Request(scope, receive)
    detail = (
        f"the upload exceeds {limit} bytes" if code == "file.too_large" else f"the request body exceeds {limit} bytes"
    )
    response: Any = (
        problem_page(request, 413, code, detail)
        if is_console(request)
        else problem(413, code, detail, request.url.path, limit=limit)
    )
    response.headers["Connection"] = "close"  # the rest of the body is not read
    await response(scope, receive, send)
