"""Search: one interface, two backends (DESIGN §3 "Search backends").

* ``sql`` (the default): SQLite FTS5 with the trigram tokenizer, or PostgreSQL ``pg_trgm``, over the golden
  records' ``search_text``; queries shorter than three characters fall back to a substring scan, so they stay
  correct, only slower.
* ``elasticsearch`` (when ``MDM_ELASTICSEARCH_URL`` is set): one index per repository behind an alias, kept in
  step through the outbox by :mod:`mdm.search.indexer`.

Both implement :class:`~mdm.search.base.SearchBackend` whole — ``search``, ``health``, ``sync``, ``rebuild``,
``check`` — so callers never ask which one they hold; :func:`backend_for` is the one place that chooses.
Both answer :class:`~mdm.query.SearchQuery` with keys and scores; the caller reads the records from the
database and masks them exactly as for reads.
"""

from __future__ import annotations

from mdm import records
from mdm.db import Database
from mdm.query import SearchQuery
from mdm.records import RecordView
from mdm.search.base import DrainResult, SearchBackend, SearchHit, SearchPage
from mdm.settings import Settings
from standards import Standard


def search_records(
    db: Database, backend: SearchBackend, standard: Standard, query: SearchQuery
) -> tuple[list[tuple[SearchHit, RecordView]], SearchPage]:
    """Search, then read the hits' records from the database, the source of truth: a hit whose record is
    gone or no longer active (the index is behind) is dropped. Returns (hit, record) pairs in rank order."""
    page = backend.search(standard, query)
    with db.replica() as session:
        views = records.get_many(session, standard.repository, [h.key for h in page.hits])
    found = [(hit, views[hit.key]) for hit in page.hits if hit.key in views and views[hit.key].status == "active"]
    return found, page


def backend_for(settings: Settings, db: Database) -> SearchBackend:
    """The configured backend: Elasticsearch when ``MDM_ELASTICSEARCH_URL`` is set, else the sql backend."""
    if settings.elasticsearch_url:
        from mdm.search.elastic import ElasticBackend

        return ElasticBackend(settings.elasticsearch_url, prefix=settings.es_index_prefix)
    from mdm.search.sql import SqlBackend

    return SqlBackend(db, max_candidates=settings.search_max_candidates)


__all__ = ["DrainResult", "SearchBackend", "SearchHit", "SearchPage", "SearchQuery", "backend_for", "search_records"]
