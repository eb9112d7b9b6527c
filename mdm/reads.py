"""The read service: every read of a record goes through here (issue 9; DESIGN §3 "Read").

Each operation — :meth:`Reads.get`, :meth:`~Reads.list`, :meth:`~Reads.lookup`, :meth:`~Reads.history`,
:meth:`~Reads.search`, :meth:`~Reads.verify` — runs the same four steps with a :class:`ReadContext` (the caller and
the purpose it named):

1. grant check: the purpose must be registered (400 ``access.purpose_unknown``); the department's unrevoked
   grants decide a :class:`mdm.access.View` (403 ``access.no_grant`` when it would see nothing of the repository);
   addressing records by key (get, as-of, history, lookup), filtering or searching needs the fields involved
   shown **unmasked** (403 ``access.field_not_granted``, decided before the store is read, so the refusal is the
   same for a key that exists and one that does not): no answer is an oracle for a hidden value. A text search
   by a caller who sees the key masked does not match the key. Verifications and key lookups are metered
   (:mod:`mdm.access.metering`, 429 ``access.rate_limited``);
2. query the store or the search backend (:mod:`mdm.records`, :mod:`mdm.search`);
3. project and mask every record with the view;
4. audit: one event per call (department, key prefix, purpose, route, query, the keys returned, the fields shown
   unmasked, or the refusal's code; for a read by key — get, as-of, history, lookup — every key tried, answered,
   missing (404) or refused (403) alike, and for a verification the key asked and the answer given), committed
   through
   :class:`mdm.audit.AuditWriter` (group commit) *before* the result is returned; an event not durable within
   ``MDM_AUDIT_TIMEOUT`` refuses the read (503 ``audit.unavailable``).

A key the caller asked for is written in clear only where the caller's view shows the key unmasked; otherwise as
its SHA-256 (hex of the UTF-8 key): ``detail.asked`` is ``{"key": k}`` or ``{"key_sha256": h}`` for get, as-of,
history and verify, and the list of keys or ``{"keys_sha256": [h, …]}`` for a lookup; a verification's ``keys``
(the record it used, for the data subject's usage view :func:`mdm.audit.usage`) then holds ``"sha256:" + h``.
An auditor holding a candidate key finds its events by hashing it.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from mdm import records
from mdm.access import grants as grant_store
from mdm.access import metering
from mdm.access.cache import AccessCache
from mdm.access.departments import owner_of, purpose_registered, require_purpose
from mdm.access.policy import Projection, View, decide, require_any
from mdm.audit import AuditWriter
from mdm.db import Database
from mdm.errors import InvalidRequest, MdmError, Unauthorised, Unavailable
from mdm.keys import Caller, caller_of
from mdm.records import ListQuery, RecordView
from mdm.search import SearchBackend, SearchHit, SearchPage, SearchQuery, search_records
from standards import Standard

log = logging.getLogger("mdm.reads")


@dataclass(frozen=True)
class ReadContext:
    """Who reads and why: the caller, the purpose code (``X-Purpose``), the route and its parameters (for the
    audit)."""

    caller: Caller
    purpose: str
    route: str = ""
    query: dict[str, Any] = field(default_factory=dict)
    access_synced: bool = False  # the request's authentication synced the access cache already
    # when not synced: the key's SHA-256 and the access generation its cached caller was read at (the read
    # syncs in its own session and refuses the key if the generation moved and the key is gone)
    key_hash: str | None = None
    generation: int | None = None


@dataclass(frozen=True)
class Shown:
    """A record as stored with its projection for the caller."""

    view: RecordView
    projection: Projection


class _Outcome:
    """What one read returned, filled in by the operation and written to the audit at the end."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.view: View | None = None
        self.detail: dict[str, Any] = {}
        self.tried: list[str] | None = None  # the keys a read by key addressed (one for get/history, many: lookup)
        self.many = False  # tried is a lookup's list


class Reads:
    """The read service of one process: database, search backend and the audit writer."""

    def __init__(
        self,
        db: Database,
        search: SearchBackend,
        audit: AuditWriter,
        meter: metering.Defaults | None = None,
        access: AccessCache | None = None,
    ) -> None:
        self.db = db
        self.search_backend = search
        self.audit = audit
        self.meter = meter or metering.Defaults()
        self.access = access  # None: every read asks the database for purpose, grants and owner

    # -- steps 1 and 4 ------------------------------------------------------------------------------------------

    def view(self, ctx: ReadContext, standard: Standard, *, kind: str = "read", session: Session | None = None) -> View:
        """The caller's view of ``standard`` for its purpose now (the owning department of the repository's
        source sees it whole, as stewards do); 400 ``access.purpose_*``; 401 ``auth.invalid_key`` for a key
        revoked since the process cached it. ``session`` (a primary session the read goes on with) saves a
        session of its own."""
        department, repository = ctx.caller.department, standard.repository
        repo = repository
        with contextlib.nullcontext(session) if session is not None else self.db.read() as session:
            if self.access is None:
                require_purpose(session, ctx.purpose)
                terms = grant_store.terms_for(session, department, repository)
                owner = owner_of(session, repository) == department
            else:  # the facts of the access generation this request synced
                cache = self.access
                if not ctx.access_synced:
                    self._sync(ctx, session, cache)
                if not cache.get("purpose", ctx.purpose, session, lambda s: purpose_registered(s, ctx.purpose)):
                    require_purpose(session, ctx.purpose)  # raises the purpose's own error
                terms = cache.get(
                    "terms", (department, repository), session, lambda s: grant_store.terms_for(s, department, repo)
                )
                owner = cache.get("owner", repository, session, lambda s: owner_of(s, repository)) == department
        return decide(
            standard,
            role=ctx.caller.role,
            grants=terms,
            purpose=ctx.purpose,
            now=dt.datetime.now(dt.UTC),
            kind=kind,
            owner=owner,
        )

    @staticmethod
    def _sync(ctx: ReadContext, session: Session, cache: AccessCache) -> None:
        """Sync the access cache in ``session``; when the generation moved since the caller was cached, read the
        key again (401 ``auth.invalid_key`` if it was revoked meanwhile)."""
        now = cache.sync(session)
        if now == ctx.generation or ctx.key_hash is None:
            return
        digest = ctx.key_hash
        if cache.get("caller", digest, session, lambda s: caller_of(s, digest), keep_none=False) != ctx.caller:
            raise Unauthorised("auth.invalid_key", "the API key is unknown or revoked")

    def _primary(self, session: Session) -> Session | None:
        """``session`` if it is a primary session (no replica configured): the access facts may be read in it."""
        return session if self.db.replica_engine is None else None

    @contextmanager
    def _audited(self, ctx: ReadContext, standard: Standard, action: str) -> Iterator[_Outcome]:
        """Run one read and append its event durably before its result is returned (group commit,
        :meth:`mdm.audit.AuditWriter.write`): when the event is not committed within ``MDM_AUDIT_TIMEOUT`` the
        read raises 503 ``audit.unavailable`` instead of returning, so no record leaves unaudited. A read that
        raises is audited too, best effort (its refusal code), and its own error is what the caller gets."""
        outcome = _Outcome()
        try:
            yield outcome
        except MdmError as exc:
            outcome.detail["refused"] = exc.code
            self._audit_refusal(ctx, standard, action, outcome)
            raise
        except Exception:
            self._audit_refusal(ctx, standard, action, outcome)
            raise
        self.audit.write(**self._event(ctx, standard, action, outcome))

    def _audit_refusal(self, ctx: ReadContext, standard: Standard, action: str, outcome: _Outcome) -> None:
        try:
            self.audit.write(**self._event(ctx, standard, action, outcome))
        except Unavailable:
            log.error("audit: the event of a refused read (%s %s) was not written", action, ctx.route)

    @staticmethod
    def _event(ctx: ReadContext, standard: Standard, action: str, outcome: _Outcome) -> dict[str, Any]:
        disclosed: list[str] = []
        if outcome.view is not None and outcome.keys:
            disclosed = sorted(n for n, how in outcome.view.shown.items() if how == "clear")
        if outcome.tried is not None:
            outcome.detail["asked"] = _asked_form(
                outcome.tried, clear=_key_clear(standard, outcome.view), many=outcome.many
            )
        return {
            "department": ctx.caller.department,
            "key_prefix": ctx.caller.key_prefix,
            "action": action,
            "repository": standard.repository,
            "purpose": ctx.purpose,
            "target": ctx.route,
            "keys": outcome.keys,
            "detail": {"query": ctx.query, "unmasked": disclosed, **outcome.detail},
        }

    def _checked_view(
        self,
        ctx: ReadContext,
        standard: Standard,
        outcome: _Outcome,
        kind: str = "read",
        session: Session | None = None,
    ) -> View:
        outcome.view = require_any(self.view(ctx, standard, kind=kind, session=session))
        return outcome.view

    @staticmethod
    def _by_key(view: View) -> None:
        """Addressing records by key needs the key shown in clear: a caller who sees it masked could otherwise
        walk guesses of the hidden digits and learn which exist."""
        view.require_clear(view.standard.business_key, "addressing records by key")

    def _charge(self, ctx: ReadContext, view: View, kind: str, units: int) -> None:
        if view.whole or units <= 0:
            return
        limits = metering.limits_for(self.meter.of(kind), list(view.declared_limits))
        metering.charge(
            self.db,
            department=ctx.caller.department,
            purpose=ctx.purpose,
            kind=kind,
            units=units,
            limits=limits,
            lock_wait=self.audit.timeout,  # bounded like the audit: a call is refused in time, never left waiting
        )

    def _shown(self, view: View, items: list[RecordView], outcome: _Outcome) -> list[Shown]:
        outcome.keys.extend(v.key for v in items)
        return [Shown(v, view.project(v.data)) for v in items]

    # -- the operations -----------------------------------------------------------------------------------------

    def get(self, ctx: ReadContext, standard: Standard, key: str, *, as_of: dt.datetime | None = None) -> Shown:
        """One golden record now or as of ``as_of``. 404 ``record.not_found``; the access errors above."""
        with self._audited(ctx, standard, "read:as_of" if as_of else "read:get") as outcome:
            outcome.tried = [key]
            with self.db.replica() as session:  # one session: the access check (cached) and the record
                view = self._checked_view(ctx, standard, outcome, session=self._primary(session))
                self._by_key(view)
                found = records.get_record(session, standard.repository, key, as_of=as_of)
            return self._shown(view, [found], outcome)[0]

    def history(self, ctx: ReadContext, standard: Standard, key: str) -> list[Shown]:
        """Every version of ``key``, oldest first, each projected. 404 ``record.not_found``."""
        with self._audited(ctx, standard, "read:history") as outcome:
            outcome.tried = [key]
            with self.db.replica() as session:
                view = self._checked_view(ctx, standard, outcome, session=self._primary(session))
                self._by_key(view)
                versions = records.history(session, standard.repository, key)
            shown = [Shown(v, view.project(v.data)) for v in versions]
            outcome.keys.append(key)
            return shown

    def lookup(self, ctx: ReadContext, standard: Standard, keys: list[str]) -> tuple[list[Shown], list[str]]:
        """Records of up to 1,000 keys (any status) in the order asked, and the keys not found."""
        with self._audited(ctx, standard, "read:lookup") as outcome:
            wanted = list(dict.fromkeys(keys))
            outcome.tried, outcome.many = wanted, True  # every key tried, found, missing or refused
            view = self._checked_view(ctx, standard, outcome)
            self._by_key(view)
            self._charge(ctx, view, "lookup", len(wanted))
            with self.db.replica() as session:
                found = records.get_many(session, standard.repository, wanted)
            items = self._shown(view, [found[k] for k in wanted if k in found], outcome)
            return items, [k for k in wanted if k not in found]

    def list(self, ctx: ReadContext, standard: Standard, query: ListQuery) -> tuple[list[Shown], str | None]:
        """A filtered page of golden records and the next cursor; filters need their fields shown unmasked."""
        with self._audited(ctx, standard, "read:list") as outcome:
            view = self._checked_view(ctx, standard, outcome)
            query.check(standard)
            view.require_clear(query.filters, "filtering")
            if (query.contains or query.bbox) and standard.geometry_field:
                view.require_clear([standard.geometry_field], "a spatial filter")
            with self.db.replica() as session:
                items, next_cursor = records.list_records(session, standard, query)
            return self._shown(view, items, outcome), next_cursor

    def search(
        self, ctx: ReadContext, standard: Standard, query: SearchQuery
    ) -> tuple[builtins.list[tuple[SearchHit, Shown]], SearchPage]:
        """Search active records. ``q`` needs every field it can match in part (``x-search``, not sensitive:
        the backends never match sensitive values in part) shown, and the business key shown (it is matched
        whole); filters and spatial conditions need their fields shown unmasked: a hit must never confirm a
        hidden value."""
        with self._audited(ctx, standard, "read:search") as outcome:
            view = self._checked_view(ctx, standard, outcome)
            query.check(standard)
            if query.q is not None:
                view.require_clear(_matched_in_part(standard), "searching")
                if not all(view.clear(n) for n in standard.business_key):
                    query = dataclasses.replace(query, match_key=False)  # a masked key is never matched
            view.require_clear(query.filters, "filtering")
            if (query.near or query.bbox) and standard.geometry_field:
                view.require_clear([standard.geometry_field], "a spatial filter")
            found, page = search_records(self.db, self.search_backend, standard, query)
            shown = self._shown(view, [v for _, v in found], outcome)
            return [(hit, s) for (hit, _), s in zip(found, shown, strict=True)], page

    def verify(self, ctx: ReadContext, standard: Standard, key: str, claims: dict[str, Any]) -> dict[str, str]:
        """Verification (核验): per claimed field ``match`` or ``no_match`` — nothing else.

        Every claimed field needs a ``verify`` grant for the purpose (403 ``access.field_not_granted``, decided
        before the record is read); a field that can be read off the key (``x-reveals`` it: a person's birth date
        and household division code) is refused as a claim (400 ``access.claim_derivable``), since its answer would
        only confirm that the key exists. ``no_match`` whenever the claim cannot be confirmed — no such record, a
        retired one, a different or an empty value — so a missing key answers exactly as a present one with
        wrong claims. Values compare after Unicode NFKC and trimming; a claim on a list field (former names)
        matches any item. Metered: one unit of ``verify`` per call (429 ``access.rate_limited``). The audit
        event holds the key asked (its SHA-256 unless the caller may read the key in clear) and the answers.
        """
        with self._audited(ctx, standard, "read:verify") as outcome:
            outcome.detail["asked"] = {"key_sha256": _sha256(key)}  # a refused verification keeps it too
            view = self._checked_view(ctx, standard, outcome, kind="verify")
            outcome.detail["asked"] = self._asked(ctx, standard, view, key)
            unknown = sorted(set(claims) - set(standard.fields))
            if unknown or not claims:
                raise InvalidRequest(
                    "request.invalid", f"claims must name fields of {standard.repository}: {', '.join(unknown)}"
                )
            hidden = [n for n in claims if n not in view.shown]
            if hidden:
                view.require_clear(hidden, "verifying")
            derivable = sorted(
                n for n in claims if set(standard.fields[n].reveals) & set(standard.business_key) and not view.whole
            )
            if derivable:  # a birth date is digits 7–14 of the citizen ID: its "match" would only say the key exists
                raise InvalidRequest(
                    "access.claim_derivable",
                    f"{', '.join(derivable)} can be read off the key itself (x-reveals): a claim on it would prove "
                    "nothing but that the key exists; verify the other fields",
                    fields=derivable,
                )
            outcome.detail["claims"] = sorted(claims)
            self._charge(ctx, view, "verify", 1)
            with self.db.replica() as session:
                found = records.get_many(session, standard.repository, [key]).get(key)
            if found is not None and found.status == "active":  # the record used; hashed like the key asked
                outcome.keys.append(key if "key" in outcome.detail["asked"] else "sha256:" + _sha256(key))
            outcome.view = None  # verification discloses no field
            data = found.data if found is not None and found.status == "active" else {}
            results = {name: _verdict(data.get(name), claim) for name, claim in claims.items()}
            outcome.detail["results"] = results
            return results

    def _asked(self, ctx: ReadContext, standard: Standard, verify_view: View, key: str) -> dict[str, str]:
        """The key a verification asked, for the audit: in clear when the caller may read the key in clear,
        else as its SHA-256 (hex) — an auditor holding a candidate key can still find the event."""
        if verify_view.whole:
            return {"key": key}
        try:
            readable = self.view(ctx, standard).clear
            clear = all(readable(n) for n in standard.business_key)
        except MdmError:
            clear = False
        if clear:
            return {"key": key}
        return {"key_sha256": _sha256(key)}


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _key_clear(standard: Standard, view: View | None) -> bool:
    """Whether ``view`` shows the business key unmasked (None: the read was refused before a view was made)."""
    return view is not None and all(view.clear(n) for n in standard.business_key)


def _asked_form(keys: list[str], *, clear: bool, many: bool) -> Any:
    """The keys a read by key tried, as its audit event holds them (module docstring)."""
    if many:
        return list(keys) if clear else {"keys_sha256": [_sha256(k) for k in keys]}
    return {"key": keys[0]} if clear else {"key_sha256": _sha256(keys[0])}


def _matched_in_part(standard: Standard) -> list[str]:
    return [f.name for f in standard.fields.values() if f.search != "none" and f.sensitivity != "sensitive"]


def _norm(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _verdict(stored: Any, claim: Any) -> str:
    if stored in (None, "", []):
        return "no_match"  # nothing to confirm: answered as a missing record is
    if isinstance(stored, list):
        return "match" if any(_norm(s) == _norm(claim) for s in stored) else "no_match"
    return "match" if _norm(stored) == _norm(claim) else "no_match"
