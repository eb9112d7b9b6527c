"""The ``sql`` search backend: the database itself (SQLite FTS5 trigram / PostgreSQL pg_trgm).

Candidates come from the database — a trigram index for pieces of three characters or more, a substring scan
for shorter ones (trigram indexes cannot answer them; most Chinese names have two characters) — at most
``max_candidates`` of them; ranking, the radius of ``near`` and paging happen here, in Python, the same way on
both databases.
"""

from __future__ import annotations

import math
import unicodedata

from sqlalchemy import bindparam, or_, select, text

from mdm.db import Database
from mdm.errors import InvalidRequest
from mdm.models import GoldenRecord
from mdm.search.base import SearchHit, SearchPage, SearchQuery, decode_cursor, distance_m, encode_cursor, shingles
from mdm.search.text import normalise
from mdm.store.dialect import Dialect
from standards import Standard

G = GoldenRecord


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlBackend:
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
        pieces: list[str] = []
        if needle:
            whole_key = G.business_key == as_key
            if query.mode == "exact":
                stmt = stmt.where(or_(self._contains(needle), whole_key))
            else:
                pieces = shingles(needle)
                stmt = stmt.where(or_(whole_key, *[self._contains(p) for p in pieces]))
        with self.db.read() as session:
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
        offset = decode_cursor(query, standard.repository) or 0
        if not isinstance(offset, int) or offset < 0:
            raise InvalidRequest("request.cursor_invalid", "the cursor is malformed")
        page = hits[offset : offset + query.limit]
        more = offset + query.limit < len(hits)
        cursor = encode_cursor(offset + query.limit, query, standard.repository) if more else None
        return SearchPage(page, cursor, complete=len(rows) < self.max_candidates)


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
