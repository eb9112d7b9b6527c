"""Console sessions held by the server (table ``console_sessions``): a sign-in opens one for an API key and
hands back a random token for the browser's cookie; every page looks the token up — an ended, expired or
revoked-key session is gone at once. Sign-in and sign-out are events of the audit chain (``console:sign_in``,
``console:sign_out``).

Errors: :class:`~mdm.errors.Unauthorised` — ``auth.missing_key`` / ``auth.invalid_key`` at sign-in,
``console.signed_out`` for a token that is unknown, ended or expired, or whose key was revoked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from mdm import audit
from mdm.db import Database
from mdm.errors import Unauthorised
from mdm.keys import Caller, authenticate
from mdm.models import ApiKey, ConsoleSession

_KEPT_AFTER_EXPIRY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Session:
    """An open console session: who (the key's caller), its CSRF token and the purpose chosen for reads."""

    caller: Caller
    csrf: str
    purpose: str | None


def _id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def open_session(db: Database, key: str, *, hours: float) -> str:
    """Sign in with ``key`` for ``hours``; returns the session token (for the cookie, shown nowhere else).
    Sessions expired more than a day ago are deleted on the way. Raises ``auth.missing_key`` /
    ``auth.invalid_key``."""
    caller = authenticate(db, key)
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    with db.write() as session:
        key_id = session.execute(select(ApiKey.id).where(ApiKey.key_hash == _key_hash(key))).scalar_one()
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - _KEPT_AFTER_EXPIRY))
        session.add(
            ConsoleSession(
                id=_id(token),
                api_key_id=key_id,
                csrf=secrets.token_urlsafe(32),
                purpose=None,
                created_at=now,
                expires_at=now + dt.timedelta(hours=hours),
            )
        )
        audit.record(
            session, actor=caller.department, key_prefix=caller.key_prefix, action="console:sign_in", target=None
        )
    return token


def find_session(db: Database, token: str | None) -> Session:
    """The open session of ``token``; ``console.signed_out`` when there is none."""
    if not token:
        raise Unauthorised("console.signed_out", "sign in with an API key")
    now = dt.datetime.now(dt.UTC)
    with db.read() as session:
        row = session.execute(
            select(ConsoleSession, ApiKey)
            .join(ApiKey, ApiKey.id == ConsoleSession.api_key_id)
            .where(
                ConsoleSession.id == _id(token),
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.expires_at > now,
                ApiKey.revoked_at.is_(None),
            )
        ).one_or_none()
    if row is None:
        raise Unauthorised("console.signed_out", "the session has ended, expired or its key was revoked: sign in")
    held, key = row
    return Session(Caller(key.department, key.role, key.prefix), held.csrf, held.purpose)


def choose_purpose(db: Database, token: str, purpose: str) -> None:
    """Record the purpose every read of the session names (checked by the caller against the registry)."""
    with db.write() as session:
        session.execute(update(ConsoleSession).where(ConsoleSession.id == _id(token)).values(purpose=purpose))


def close_session(db: Database, token: str, caller: Caller) -> None:
    """Sign out: the session ends now, whatever copies of its cookie exist."""
    with db.write() as session:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == _id(token), ConsoleSession.ended_at.is_(None))
            .values(ended_at=dt.datetime.now(dt.UTC))
        )
        audit.record(
            session, actor=caller.department, key_prefix=caller.key_prefix, action="console:sign_out", target=None
        )
