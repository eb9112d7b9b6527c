"""The ``sql`` search backend: the database itself (SQLite FTS5 trigram / PostgreSQL pg_trgm).

Candidates come from the database — a trigram index for pieces of three characters or more, a substring scan
for shorter ones (trigram indexes cannot answer them; most Chinese names have two characters) — at most
``max_candidates`` of them; ranking, the radius of ``near`` and paging happen here, in Python, the same way on
both databases.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, false, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from mdm.db import Database
from mdm.errors import MdmError
from mdm.models import GoldenRecord
from mdm.query import SearchQuery
from mdm.search.base import SearchHit, SearchPage, distance_m, shingles
from mdm.search.text import normalise, search_text
from mdm.store.dialect import Dialect
from standards import Standard
from standards.registry import Registry

_log = logging.getLogger("mdm.search")

G = GoldenRecord


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlBackend:
    """Search answered by the database itself. There is no separate index to keep in step: :meth:`sync` does
    nothing, and :meth:`check` and :meth:`rebuild` look only at the golden records' ``search_text`` column
    (kept by the store in the record's own transaction), which can only be stale when the rules that build it
    changed since the record was written (a new normaliser, the traditional-to-simplified keys)."""

    name = "sql"
    indexed = False  # reads the golden records themselves: nothing to sync

    def __init__(self, db: Database, *, max_candidates: int = 10_000) -> None:
        self.db = db
        self.max_candidates = max_candidates

    def _contains(self, piece: str):
        """A WHERE clause: ``search_text`` contains ``piece`` (already normalised)."""
        if len(piece) >= 3 and Dialect.of(self.db.engine).has_fts_trigram:
            phrase = '"' + piece.replace('"', '""') + '"'
            return G.id.in_(
                text("SELECT rowid FROM golden_fts WHERE golden_fts MATCH :phrase").bindparams(
                    bindparam("phrase", phrase, unique=True)
                )
            )
        return G.search_text.like(_like(piece), escape="\\")  # pg_trgm's GIN index answers this from 3 characters

    def search(self, standard: Standard, query: SearchQuery) -> SearchPage:
        query.check(standard)
        stmt = select(G.business_key, G.search_text, G.rep_x, G.rep_y).where(
            G.repository == standard.repository, G.status == "active"
        )
        for name, value in sorted(query.filters.items()):
            stmt = stmt.where(G.data[name].as_string() == value)
        if query.bbox:
            box = query.bbox
            stmt = stmt.where(G.min_x <= box.max_x, G.max_x >= box.min_x, G.min_y <= box.max_y, G.max_y >= box.min_y)
        if query.near:
            lon, lat, radius = query.near
            d_lat = radius / 111_320 * 1.01
            d_lon = radius / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
            stmt = stmt.where(G.rep_x.between(lon - d_lon, lon + d_lon), G.rep_y.between(lat - d_lat, lat + d_lat))
        needle = normalise(query.q) if query.q else None
        as_key = unicodedata.normalize("NFKC", query.q).strip().upper() if query.q else None  # a whole business key
        if not query.match_key:
            as_key = None  # the caller sees the key masked: a hit must not confirm it
        pieces: list[str] = []
        if needle:
            whole_key = G.business_key == as_key if as_key else false()
            if query.mode == "exact":
                stmt = stmt.where(or_(self._contains(needle), whole_key))
            else:
                pieces = shingles(needle)
                stmt = stmt.where(or_(whole_key, *[self._contains(p) for p in pieces]))
        with self.db.replica() as session:
            rows = session.execute(stmt.order_by(G.business_key).limit(self.max_candidates)).all()
        hits: list[SearchHit] = []
        for key, body, x, y in rows:
            distance = None
            if query.near:
                if x is None:
                    continue
                distance = distance_m(query.near[0], query.near[1], x, y)
                if distance > query.near[2]:
                    continue
            score = 5.0 if key == as_key else _score(body or "", needle, pieces)
            hits.append(SearchHit(key, score, distance))
        if query.near:
            hits.sort(key=lambda h: (h.distance_m, h.key))
        else:
            hits.sort(key=lambda h: (-h.score, h.key))
        (offset,) = query.position(standard.repository, (int,)) or (0,)
        start = int(offset)
        page = hits[start : start + query.limit]
        more = start + query.limit < len(hits)
        cursor = query.cursor_at((start + query.limit,), standard.repository) if more else None
        return SearchPage(page, cursor, complete=len(rows) < self.max_candidates)

    # -- the SearchBackend protocol beyond search ---------------------------------------------------------

    def health(self, db: Database | None = None) -> dict[str, Any]:
        """``{"backend": "sql", "status": "ok"}`` when the database answers, ``unavailable`` with ``error``
        ``database.unavailable`` otherwise (the cause goes to the log)."""
        try:
            with (db or self.db).read() as session:
                session.execute(select(1)).scalar_one()
        except (SQLAlchemyError, MdmError) as exc:  # MdmError: database.unavailable while migrating
            _log.warning("search health: database unavailable: %s", exc)
            return {"backend": self.name, "status": "unavailable", "error": "database.unavailable"}
        return {"backend": self.name, "status": "ok"}

    def sync(self, db: Database, registry: Registry, *, batch_id: str | None = None) -> None:
        """Nothing to do: a committed change is searchable at once."""
        return None

    def rebuild(self, db: Database, standard: Standard, *, chunk: int = 2000) -> dict[str, Any]:
        """Rewrite every stale ``search_text`` of the repository from its record (the version it was computed
        from, so a concurrent change is never overwritten); the record and its versions are untouched.
        Returns ``{"repository", "backend", "records", "rebuilt"}``."""
        records = rebuilt = 0
        for stale in _stale_chunks(db, standard, chunk):
            records += stale.seen
            if stale.rows:
                with db.write() as session:
                    for record_id, version, body in stale.rows:
                        result = session.execute(
                            update(G).where(G.id == record_id, G.version == version).values(search_text=body)
                        )
                        rebuilt += result.rowcount or 0  # type: ignore[attr-defined]
        return {"repository": standard.repository, "backend": self.name, "records": records, "rebuilt": rebuilt}

    def check(self, db: Database, standard: Standard, *, sample: int = 20) -> dict[str, Any]:
        """No index can miss or hold extra records here; ``drift`` is true only when some ``search_text`` is
        stale (built by older rules: :meth:`rebuild` mends it). Returns ``{"repository", "backend", "drift",
        "database": {"records", "retired"}, "stale": {"count", "sample"}}``."""
        records = 0
        stale_keys: list[str] = []
        for stale in _stale_chunks(db, standard, 2000):
            records += stale.seen
            stale_keys += stale.keys
        with db.read() as session:
            retired = session.execute(
                select(G.id).where(G.repository == standard.repository, G.status == "retired")
            ).all()
        return {
            "repository": standard.repository,
            "backend": self.name,
            "drift": bool(stale_keys),
            "database": {"records": records, "retired": len(retired)},
            "stale": {"count": len(stale_keys), "sample": sorted(stale_keys)[:sample]},
        }


@dataclass
class _Stale:
    """One chunk of golden records: how many were read; the stale ones as (id, version, new text) and keys."""

    seen: int
    rows: list[tuple[int, int, str]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def _stale_chunks(db: Database, standard: Standard, chunk: int) -> Iterator[_Stale]:
    """Golden records of the repository in id order, ``chunk`` at a time: how many were read, and those whose
    ``search_text`` differs from what the current rules build, as (id, version, new text) and keys."""
    last = 0
    while True:
        with db.read() as session:
            rows = session.execute(
                select(G.id, G.business_key, G.version, G.data, G.search_text)
                .where(G.repository == standard.repository, G.id > last)
                .order_by(G.id)
                .limit(chunk)
            ).all()
        if not rows:
            return
        last = rows[-1].id
        found = _Stale(len(rows))
        for row in rows:
            body = search_text(standard, row.data)
            if body != (row.search_text or ""):
                found.rows.append((row.id, row.version, body))
                found.keys.append(row.business_key)
        yield found


def _score(body: str, needle: str | None, pieces: list[str]) -> float:
    """3 for a field equal to the text, 2 for a field starting with it, 1 for containing it; in fuzzy mode
    the share of two-character pieces found is added."""
    if not needle:
        return 1.0
    lines = body.split("\n")
    score = (
        3.0
        if needle in lines
        else 2.0
        if any(line.startswith(needle) for line in lines)
        else 1.0
        if needle in body
        else 0.0
    )
    if pieces:
        score += sum(1 for p in pieces if p in body) / len(pieces)
    return round(score, 4)
