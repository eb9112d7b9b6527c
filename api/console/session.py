"""Console sessions: the API key in a signed, HttpOnly, Secure, SameSite=Strict cookie, and CSRF tokens.

The cookie ``mdm_console`` (path ``/console``) holds ``{"k": key, "c": csrf token, "p": chosen purpose}`` signed
with :class:`itsdangerous.URLSafeTimedSerializer` (HMAC-SHA1 over the payload, timestamped; the payload is signed,
not encrypted — it is the key the user typed, kept only in the user's browser, out of reach of scripts). Every
page authenticates the key again (:func:`mdm.keys.authenticate`), so a revoked key signs the console out on its
next request. A session older than ``console_session_hours`` is refused.

CSRF: every form posts ``csrf_token``, compared in constant time with the session's (a per-session token, the
synchroniser-token pattern of the OWASP CSRF cheat sheet); the sign-in form, before any session, uses a
double-submit token in the short-lived cookie ``mdm_console_pre``. SameSite=Strict is the second line.

Errors: :class:`SignedOut` (``console.signed_out``: the console redirects to the sign-in page) and
:class:`CsrfRejected` (``console.csrf_invalid``, 403).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.responses import Response

from api.deps import DatabaseDep
from mdm.errors import Forbidden, MdmError, Unauthorised
from mdm.keys import Caller, authenticate
from mdm.settings import Settings

COOKIE = "mdm_console"
PRE_COOKIE = "mdm_console_pre"
PATH = "/console"


class SignedOut(Unauthorised):
    """No valid console session (``console.signed_out``): the console answers with the sign-in page."""


class CsrfRejected(Forbidden):
    """A form without the session's CSRF token (``console.csrf_invalid``, 403)."""


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in caller, its CSRF token and the purpose it chose for reads (None until chosen)."""

    caller: Caller
    csrf: str
    purpose: str | None
    key: str

    def with_purpose(self, purpose: str | None) -> ConsoleUser:
        return ConsoleUser(self.caller, self.csrf, purpose, self.key)


def serializer(settings: Settings, secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.console_secret or secret, salt="mdm.console.session")


def _signer(request: Request) -> URLSafeTimedSerializer:
    return request.app.state.console_signer


def _max_age(request: Request) -> int:
    return int(request.app.state.settings.console_session_hours * 3600)


def start(request: Request, response: Response, key: str, *, purpose: str | None = None) -> None:
    """Set a new session cookie for ``key`` (a fresh CSRF token: sign-in rotates it)."""
    store(request, response, {"k": key, "c": secrets.token_urlsafe(32), "p": purpose})


def store(request: Request, response: Response, payload: dict[str, Any]) -> None:
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(payload),
        max_age=_max_age(request),
        path=PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, secure=True, httponly=True, samesite="strict")


def payload(request: Request) -> dict[str, Any]:
    """The session's signed payload. Raises :class:`SignedOut` when missing, tampered with or expired."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise SignedOut("console.signed_out", "sign in with an API key")
    try:
        data = _signer(request).loads(raw, max_age=_max_age(request))
    except SignatureExpired:
        raise SignedOut("console.signed_out", "the session has expired: sign in again") from None
    except BadSignature:
        raise SignedOut("console.signed_out", "the session cookie is not valid: sign in again") from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str) or not isinstance(data.get("c"), str):
        raise SignedOut("console.signed_out", "the session cookie is not valid: sign in again")
    return data


def console_user(request: Request, db: DatabaseDep) -> ConsoleUser:
    """The signed-in user of this request; :class:`SignedOut` when there is none or its key was revoked."""
    data = payload(request)
    try:
        caller = authenticate(db, data["k"])
    except MdmError:
        raise SignedOut("console.signed_out", "the key of this session was revoked: sign in again") from None
    purpose = data.get("p") if isinstance(data.get("p"), str) else None
    return ConsoleUser(caller=caller, csrf=data["c"], purpose=purpose, key=data["k"])


User = Annotated[ConsoleUser, Depends(console_user)]


def check_csrf(expected: str, given: object) -> None:
    """Raise :class:`CsrfRejected` unless ``given`` equals ``expected`` (constant-time comparison)."""
    if not isinstance(given, str) or not given or not hmac.compare_digest(expected.encode(), given.encode()):
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
