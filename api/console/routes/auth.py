"""Sign-in, sign-out, the purpose chosen for reads, and the console's home."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from api.console import session
from api.console.render import page, redirect
from api.console.session import PRE_COOKIE, User
from api.deps import DatabaseDep
from mdm.access.departments import require_purpose
from mdm.errors import MdmError
from mdm.keys import authenticate

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a console path is a place to go after sign-in (no open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/repositories"


@router.get("/")
def home() -> Response:
    return redirect("/console/repositories")


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query()] = None, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        user=None,
        title="登录",
        pre_token=token,
        next=_safe_next(next),
        error=error,
        status_code=401 if error else 200,
    )
    response.set_cookie(PRE_COOKIE, token, max_age=900, path="/console", secure=True, httponly=True, samesite="strict")
    return response


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
        authenticate(db, api_key.strip() or None)
    except MdmError as exc:
        return login_page(request, next=next, error=f"{exc.code}：{exc.detail}")
    response = redirect(_safe_next(next))
    session.start(request, response, api_key.strip())
    response.delete_cookie(PRE_COOKIE, path="/console", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, user: User) -> Response:
    await session.form(request, user)
    response = redirect("/console/login")
    session.end(response)
    return response


@router.post("/purpose")
async def choose_purpose(request: Request, user: User, db: DatabaseDep) -> Response:
    """Choose the purpose (用途) every read of this session names; 400 ``access.purpose_unknown``."""
    posted = await session.form(request, user)
    code = str(posted.get("purpose") or "")
    with db.read() as s:
        require_purpose(s, code)
    response = redirect(_safe_next(str(posted.get("next") or "")))
    session.store(request, response, {"k": user.key, "c": user.csrf, "p": code})
    return response
