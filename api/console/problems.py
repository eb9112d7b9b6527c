"""Errors on console pages: the same codes as the API's problem+json, shown as a page (with the status) instead
of JSON; a missing or expired session goes to the sign-in page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response

from api.console.render import page, redirect
from api.console.session import ConsoleUser, console_user
from mdm.errors import MdmError

PREFIX = "/console"


def is_console(request: Request) -> bool:
    path = request.url.path
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(PREFIX + "/static/")


def _user(request: Request) -> ConsoleUser | None:
    try:
        return console_user(request, request.app.state.db)
    except MdmError:
        return None


def problem_page(request: Request, status: int, code: str, detail: str) -> Response:
    """The error page for ``code``; ``console.signed_out`` redirects to sign-in (back here after it, for a
    GET)."""
    if code == "console.signed_out":
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = quote(back if request.method == "GET" else "/console/repositories", safe="")
        return redirect(f"/console/login?next={target}")
    return page(
        request,
        "error.html",
        user=_user(request),
        title=f"错误 {status}",
        status_code=status,
        status=status,
        code=code,
        detail=detail,
        back=request.headers.get("referer") if request.method == "POST" else None,
    )
