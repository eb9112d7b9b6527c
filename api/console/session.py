"""Console sessions in the browser: a random token in an HttpOnly, Secure, SameSite=Strict cookie, looked up
on every page in the server's session table (:mod:`mdm.sessions`), and CSRF tokens.

The cookie ``mdm_console`` (path ``/console``) holds only the token: the key itself never leaves the sign-in
form. Signing out ends the session on the server, so a copied cookie stops working too; a revoked key ends every
session opened with it; a session lasts ``console_session_hours``.

CSRF: every form posts ``csrf_token``, compared in constant time with the session's (the synchroniser-token
pattern of the OWASP CSRF cheat sheet); the sign-in form, before any session, uses a double-submit token in the
short-lived cookie ``mdm_console_pre``. SameSite=Strict is the second line.

Errors: ``console.signed_out`` (:class:`~mdm.errors.Unauthorised`; the console redirects to the sign-in page) and
:class:`CsrfRejected` (``console.csrf_invalid``, 403).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from api.deps import DatabaseDep
from mdm import sessions
from mdm.errors import Forbidden
from mdm.keys import Caller

COOKIE = "mdm_console"
PRE_COOKIE = "mdm_console_pre"
PATH = "/console"


class CsrfRejected(Forbidden):
    """A form without the session's CSRF token (``console.csrf_invalid``, 403)."""


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in caller, its CSRF token, the purpose it chose for reads (None until chosen) and the
    session's token."""

    caller: Caller
    csrf: str
    purpose: str | None
    token: str


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(request.app.state.settings.console_session_hours * 3600),
        path=PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )


def drop_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, secure=True, httponly=True, samesite="strict")


def console_user(request: Request, db: DatabaseDep) -> ConsoleUser:
    """The signed-in user of this request; ``console.signed_out`` when there is none."""
    token = request.cookies.get(COOKIE) or ""
    held = sessions.find_session(db, token[:200])
    return ConsoleUser(caller=held.caller, csrf=held.csrf, purpose=held.purpose, token=token)


User = Annotated[ConsoleUser, Depends(console_user)]


def check_csrf(expected: str, given: object) -> None:
    """Raise :class:`CsrfRejected` unless ``given`` equals ``expected`` (constant-time comparison)."""
    if (
        not expected
        or not isinstance(given, str)
        or not given
        or not hmac.compare_digest(expected.encode(), given.encode())
    ):
        raise CsrfRejected("console.csrf_invalid", "the form is stale or was not sent by this console: reload it")


async def form(request: Request, user: ConsoleUser) -> dict[str, Any]:
    """The posted form of a signed-in user, after its CSRF check; values as strings, repeated names as lists."""
    posted = await request.form()
    check_csrf(user.csrf, posted.get("csrf_token"))
    out: dict[str, Any] = {}
    for name in posted:
        values = [v for v in posted.getlist(name) if isinstance(v, str)]
        out[name] = values if len(values) > 1 else (values[0] if values else "")
    return out
