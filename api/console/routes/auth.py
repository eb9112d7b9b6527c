"""Sign-in, sign-out, the purpose chosen for reads, and the console's home."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from api.console import session
from api.console.render import page, redirect
from api.console.session import PRE_COOKIE, User
from api.deps import DatabaseDep
from mdm import sessions
from mdm.access.departments import require_purpose
from mdm.errors import MdmError

router = APIRouter()
_CONSOLE_PATH = re.compile(r"/console/[A-Za-z0-9_\-/]*(\?[A-Za-z0-9_\-=&%.+]*)?")


def safe_next(target: str | None) -> str:
    """A place to go after sign-in or a form: only a console path — no other host, no ``//``, no dot segments
    (plain or percent-encoded), no backslash; anything else goes to the repositories page."""
    if (
        target
        and _CONSOLE_PATH.fullmatch(target)
        and "//" not in target
        and ".." not in target
        and "%2e" not in target.lower()
    ):
        return target
    return "/console/repositories"


@router.get("/")
def home() -> Response:
    return redirect("/console/repositories")


def _login_page(request: Request, next: str | None, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        user=None,
        title="登录",
        pre_token=token,
        next=safe_next(next),
        error=error,
        status_code=401 if error else 200,
    )
    response.set_cookie(PRE_COOKIE, token, max_age=900, path="/console", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    return _login_page(request, next)


@router.post("/login")
def login(
    request: Request,
    db: DatabaseDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    session.check_csrf(request.cookies.get(PRE_COOKIE, ""), csrf_token)
    try:
        token = sessions.open_session(db, api_key.strip(), hours=request.app.state.settings.console_session_hours)
    except MdmError as exc:
        return _login_page(request, next, error=f"{exc.code}：{exc.detail}")
    response = redirect(safe_next(next))
    session.set_cookie(request, response, token)
    response.delete_cookie(PRE_COOKIE, path="/console", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, user: User, db: DatabaseDep) -> Response:
    """Sign out: the session ends on the server (a copied cookie stops working too)."""
    await session.form(request, user)
    sessions.close_session(db, user.token, user.caller)
    response = redirect("/console/login")
    session.drop_cookie(response)
    return response


@router.post("/purpose")
async def choose_purpose(request: Request, user: User, db: DatabaseDep) -> Response:
    """Choose the purpose (用途) every read of this session names; 400 ``access.purpose_unknown``."""
    posted = await session.form(request, user)
    code = str(posted.get("purpose") or "")
    with db.read() as s:
        require_purpose(s, code)
    sessions.choose_purpose(db, user.token, code)
    return redirect(safe_next(str(posted.get("next") or "")))
