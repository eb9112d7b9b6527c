"""The read service: every read of a record goes through here (issue 9; DESIGN §3 "Read").

Each operation — :meth:`Reads.get`, :meth:`~Reads.list`, :meth:`~Reads.lookup`, :meth:`~Reads.history`,
:meth:`~Reads.search`, :meth:`~Reads.verify` — runs the same four steps with a :class:`ReadContext` (the caller and
the purpose it named):

1. grant check: the purpose must be registered (400 ``access.purpose_unknown``); the department's unrevoked
   grants decide a :class:`mdm.access.View` (403 ``access.no_grant`` when it would see nothing of the repository);
   addressing records by key needs the key field shown, filtering or searching needs the fields involved shown
   unmasked (403 ``access.field_not_granted``), so no answer is an oracle for a hidden value;
2. query the store or the search backend (:mod:`mdm.records`, :mod:`mdm.search`);
3. project and mask every record with the view;
4. audit: one event per call (department, key prefix, purpose, route, query, the keys returned, the fields shown
   unmasked, or the refusal's code) through the buffered :class:`mdm.audit.AuditWriter`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mdm import records
from mdm.access import grants as grant_store
from mdm.access.departments import owner_of, require_purpose
from mdm.access.policy import Projection, View, decide, require_any
from mdm.audit import AuditWriter
from mdm.db import Database
from mdm.errors import InvalidRequest, MdmError
from mdm.keys import Caller
from mdm.records import ListQuery, RecordView
from mdm.search import SearchBackend, SearchHit, SearchPage, SearchQuery, search_records
from standards import Standard


@dataclass(frozen=True)
class ReadContext:
    """Who reads and why: the caller, the purpose code (``X-Purpose``), the route and its parameters (for the
    audit)."""

    caller: Caller
    purpose: str
    route: str = ""
    query: dict[str, Any] = field(default_factory=dict)


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


class Reads:
    """The read service of one process: database, search backend and the audit writer."""

    def __init__(self, db: Database, search: SearchBackend, audit: AuditWriter) -> None:
        self.db = db
        self.search_backend = search
        self.audit = audit

    # -- steps 1 and 4 ------------------------------------------------------------------------------------------

    def view(self, ctx: ReadContext, standard: Standard, *, kind: str = "read") -> View:
        """The caller's view of ``standard`` for its purpose now (the owning department of the repository's
        source sees it whole, as stewards do); 400 ``access.purpose_*``."""
        with self.db.read() as session:
            require_purpose(session, ctx.purpose)
            terms = grant_store.terms_for(session, ctx.caller.department, standard.repository)
            owner = owner_of(session, standard.repository) == ctx.caller.department
        return decide(
            standard,
            role=ctx.caller.role,
            grants=terms,
            purpose=ctx.purpose,
            now=dt.datetime.now(dt.UTC),
            kind=kind,
            owner=owner,
        )

    @contextmanager
    def _audited(self, ctx: ReadContext, standard: Standard, action: str) -> Iterator[_Outcome]:
        outcome = _Outcome()
        try:
            yield outcome
        except MdmError as exc:
            outcome.detail["refused"] = exc.code
            raise
        finally:
            disclosed: list[str] = []
            if outcome.view is not None and outcome.keys:
                disclosed = sorted(n for n, how in outcome.view.shown.items() if how == "clear")
            self.audit.submit(
                department=ctx.caller.department,
                key_prefix=ctx.caller.key_prefix,
                action=action,
                repository=standard.repository,
                purpose=ctx.purpose,
                target=ctx.route,
                keys=outcome.keys,
                detail={"query": ctx.query, "unmasked": disclosed, **outcome.detail},
            )

    def _checked_view(self, ctx: ReadContext, standard: Standard, outcome: _Outcome, kind: str = "read") -> View:
        outcome.view = require_any(self.view(ctx, standard, kind=kind))
        return outcome.view

    @staticmethod
    def _by_key(view: View) -> None:
        hidden = [n for n in view.standard.business_key if n not in view.shown]
        if hidden:
            view.require_clear(hidden, "addressing records by key")

    def _shown(self, view: View, items: list[RecordView], outcome: _Outcome) -> list[Shown]:
        outcome.keys.extend(v.key for v in items)
        return [Shown(v, view.project(v.data)) for v in items]

    # -- the operations -----------------------------------------------------------------------------------------

    def get(self, ctx: ReadContext, standard: Standard, key: str, *, as_of: dt.datetime | None = None) -> Shown:
        """One golden record now or as of ``as_of``. 404 ``record.not_found``; the access errors above."""
        with self._audited(ctx, standard, "read:as_of" if as_of else "read:get") as outcome:
            view = self._checked_view(ctx, standard, outcome)
            self._by_key(view)
            with self.db.read() as session:
                found = records.get_record(session, standard.repository, key, as_of=as_of)
            return self._shown(view, [found], outcome)[0]

    def history(self, ctx: ReadContext, standard: Standard, key: str) -> list[Shown]:
        """Every version of ``key``, oldest first, each projected. 404 ``record.not_found``."""
        with self._audited(ctx, standard, "read:history") as outcome:
            view = self._checked_view(ctx, standard, outcome)
            self._by_key(view)
            with self.db.read() as session:
                versions = records.history(session, standard.repository, key)
            shown = [Shown(v, view.project(v.data)) for v in versions]
            outcome.keys.append(key)
            return shown

    def lookup(self, ctx: ReadContext, standard: Standard, keys: list[str]) -> tuple[list[Shown], list[str]]:
        """Records of up to 1,000 keys (any status) in the order asked, and the keys not found."""
        with self._audited(ctx, standard, "read:lookup") as outcome:
            view = self._checked_view(ctx, standard, outcome)
            self._by_key(view)
            wanted = list(dict.fromkeys(keys))
            with self.db.read() as session:
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
            with self.db.read() as session:
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
                self._by_key(view)  # a sensitive business key is matched whole, like a key lookup
            view.require_clear(query.filters, "filtering")
            if (query.near or query.bbox) and standard.geometry_field:
                view.require_clear([standard.geometry_field], "a spatial filter")
            found, page = search_records(self.db, self.search_backend, standard, query)
            shown = self._shown(view, [v for _, v in found], outcome)
            return [(hit, s) for (hit, _), s in zip(found, shown, strict=True)], page

    def verify(self, ctx: ReadContext, standard: Standard, key: str, claims: dict[str, Any]) -> dict[str, str]:
        """Verification (核验): per claimed field ``match`` / ``no_match`` / ``unknown`` — nothing else.

        Every claimed field needs a ``verify`` grant for the purpose (403 ``access.field_not_granted``, decided
        before the record is read). ``unknown``: the record does not exist, is retired, or holds no value for
        the field — so a missing key gives the same shape as a present one. Values compare after Unicode NFKC
        and trimming; a claim on a list field (former names) matches any item.
        """
        with self._audited(ctx, standard, "read:verify") as outcome:
            view = self._checked_view(ctx, standard, outcome, kind="verify")
            unknown = sorted(set(claims) - set(standard.fields))
            if unknown or not claims:
                raise InvalidRequest(
                    "request.invalid", f"claims must name fields of {standard.repository}: {', '.join(unknown)}"
                )
            hidden = [n for n in claims if n not in view.shown]
            if hidden:
                view.require_clear(hidden, "verifying")
            with self.db.read() as session:
                found = records.get_many(session, standard.repository, [key]).get(key)
            if found is not None and found.status == "active":
                outcome.keys.append(key)
            outcome.detail["claims"] = sorted(claims)
            outcome.view = None  # verification discloses no field
            data = found.data if found is not None and found.status == "active" else {}
            return {name: _verdict(data.get(name), claim) for name, claim in claims.items()}


def _matched_in_part(standard: Standard) -> list[str]:
    return [f.name for f in standard.fields.values() if f.search != "none" and f.sensitivity != "sensitive"]


def _norm(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _verdict(stored: Any, claim: Any) -> str:
    if stored in (None, "", []):
        return "unknown"
    if isinstance(stored, list):
        return "match" if any(_norm(s) == _norm(claim) for s in stored) else "no_match"
    return "match" if _norm(stored) == _norm(claim) else "no_match"
