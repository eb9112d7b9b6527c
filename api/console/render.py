"""Rendering console pages: the Jinja2 environment (autoescaped), the page frame's context, chart data, and the
security headers every console response carries.

Pages keep scripts out of the HTML: chart data goes into ``<script type="application/json">`` blocks read by
``static/console.js``, so the Content-Security-Policy allows scripts from the console's own origin only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from api.console.session import ConsoleUser
from api.console.titles import Titles, titled
from mdm.access.departments import list_departments, list_purposes
from mdm.db import Database
from standards import code_titles

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

NAV = [
    ("repositories", "基础信息库", "/console/repositories"),
    ("loads", "数据加载", "/console/loads"),
    ("sharing", "共享与授权", "/console/sharing"),
    ("projects", "项目管理", "/console/projects"),
    ("om", "运维审批", "/console/om-reviews"),
    ("dashboards", "统计看板", "/console/dashboards"),
]

ROLE_TITLES = code_titles.LISTS["role"]


def chart_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` escaped so no value can
    close the block."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


templates.env.filters["chart_json"] = chart_json


def when(value: Any) -> str:
    """A timestamp (datetime or ISO 8601 text) as ``YYYY-MM-DD HH:MM:SS UTC``; other values as they are."""
    import datetime as dt

    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    return "" if value is None else str(value)


def short(value: Any) -> str:
    """A decimal number with more than four decimals, shown with four (the full value stays in the title)."""
    text = str(value)
    whole, dot, fraction = text.partition(".")
    if dot and len(fraction) > 4 and fraction.isdigit() and whole.lstrip("-").isdigit():
        return f"{float(text):.4f}"
    return text


def status(value: Any) -> str:
    """A record's or a batch's status in Chinese, with the code: ``有效（active）``."""
    title = code_titles.title("record_status", value) or code_titles.title("batch_status", value)
    return f"{title}（{value}）" if title else str(value)


templates.env.filters["when"] = when
templates.env.filters["status"] = status
templates.env.filters["short"] = short
templates.env.filters["titled"] = titled


def frame(db: Database, user: ConsoleUser | None) -> dict[str, Any]:
    """What the page frame shows: the department's name, the role, the purposes to choose from."""
    if user is None:
        return {"user": None}
    with db.read() as session:
        names = {d["id"]: d["name"] for d in list_departments(session)}
        purposes = list_purposes(session)
    return {
        "user": user,
        "caller": user.caller,
        "department_name": names.get(user.caller.department, user.caller.department),
        "role_title": ROLE_TITLES.get(user.caller.role, user.caller.role),
        "purposes": purposes,
        "csrf_token": user.csrf,
        "nav": NAV,
    }


def page(
    request: Request,
    template: str,
    *,
    user: ConsoleUser | None,
    section: str = "",
    title: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A rendered page with the frame, the code titles (:class:`api.console.titles.Titles`, the ``titled``
    filter) and the security headers."""
    titles = Titles(request.app.state.db, request.app.state.registry)
    response = templates.TemplateResponse(
        request,
        template,
        {
            **frame(request.app.state.db, user),
            "section": section,
            "title": title,
            "request": request,
            "titles": titles,
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every response under ``/console`` that does not set them
    (downloads, redirects and errors included); other paths pass untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/console" or path.startswith("/console/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in SECURITY_HEADERS.items()
                    if name.lower().encode("latin-1") not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def redirect(url: str) -> Response:
    """303 See Other to ``url`` (after a form post, so a reload does not post again)."""
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response
