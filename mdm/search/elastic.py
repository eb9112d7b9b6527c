"""The ``elasticsearch`` search backend (DESIGN §3): one index per repository, versioned names behind an alias.

Only what the Elasticsearch server core ships is used — the ``standard`` tokenizer, the ``lowercase`` and
``shingle`` filters, ``keyword``, ``geo_point`` — so the mappings work on every Elasticsearch 8 distribution,
the minimal integration-test one included (no ``geo_shape``: a geometry is indexed as its representative point
and its envelope; exact spatial predicates stay with the database). Chinese text gets a ``standard`` field
(one token per character, so a phrase query is a substring search) and a two-character shingle sub-field for
fuzzy ranking; names also get pinyin keyword fields. Mappings are ``dynamic: strict``. Documents carry the
record version as the external version, so a stale write arriving late loses.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from mdm.errors import Unavailable
from mdm.query import SearchQuery
from mdm.search.base import DrainResult, SearchHit, SearchPage
from mdm.search.text import document, normalise
from standards import Standard

if TYPE_CHECKING:
    from mdm.db import Database
    from standards.registry import Registry

_log = logging.getLogger("mdm.search")

SETTINGS = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {
        "filter": {
            "mdm_bigram": {
                "type": "shingle",
                "min_shingle_size": 2,
                "max_shingle_size": 2,
                "output_unigrams": False,
                "token_separator": "",
            },
        },
        "analyzer": {
            "mdm_bigram": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "mdm_bigram"]},
        },
        "normalizer": {"mdm_lower": {"type": "custom", "filter": ["lowercase"]}},
    },
}
KEYWORD = {"type": "keyword", "normalizer": "mdm_lower", "ignore_above": 2048}


class SearchUnavailable(Unavailable):
    """Elasticsearch cannot be reached or refused the request as a whole (``search.unavailable``)."""

    def __init__(self, detail: str) -> None:
        super().__init__("search.unavailable", detail)


@dataclass
class IndexResult:
    """What one bulk write did: keys indexed, keys skipped as stale (an equal or newer version was there),
    and keys that failed with their reason."""

    indexed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _indexed_fields(standard: Standard) -> list[Any]:
    return [f for f in standard.fields.values() if f.search != "none" or f.filterable]


def mapping(standard: Standard) -> dict[str, Any]:
    """The index mapping of a repository, built from its standard's ``x-search``/``x-filter``/``x-pinyin``."""
    properties: dict[str, Any] = {
        "mdm_key": {"type": "keyword"},
        "mdm_status": {"type": "keyword"},
        "mdm_version": {"type": "long"},
        "mdm_seq": {"type": "long"},
    }
    if standard.geometry_field:
        properties["mdm_point"] = {"type": "geo_point"}
        for edge in ("min_x", "min_y", "max_x", "max_y"):
            properties[f"mdm_{edge}"] = {"type": "double"}
    for rule in _indexed_fields(standard):
        if rule.search == "text":
            properties[rule.name] = {
                "type": "text",
                "analyzer": "standard",
                "fields": {"bigram": {"type": "text", "analyzer": "mdm_bigram"}, "raw": KEYWORD},
            }
        else:
            properties[rule.name] = KEYWORD
        if rule.pinyin:
            properties[f"{rule.name}__pinyin"] = KEYWORD
            properties[f"{rule.name}__initials"] = KEYWORD
    return {"dynamic": "strict", "properties": properties}


def to_document(
    standard: Standard, key: str, version: int, status: str, data: dict[str, Any], *, seq: int
) -> dict[str, Any]:
    """The index document of one golden record: only what search needs (masking happens at response time).
    ``seq`` is the record's internal id: the sort's tie-breaker, so cursors never carry a business key."""
    found = document(standard, data)
    body: dict[str, Any] = {"mdm_key": key, "mdm_status": status, "mdm_version": version, "mdm_seq": seq}
    for group in (found.texts, found.keywords):
        body.update(group)
    for name, values in found.pinyin.items():
        body[f"{name}__pinyin"] = values
    for name, values in found.initials.items():
        body[f"{name}__initials"] = values
    for rule in _indexed_fields(standard):  # filterable (and sensitive key) fields still need their exact values
        if (
            rule.name not in body
            and data.get(rule.name) not in (None, "")
            and (rule.filterable or rule.name in standard.business_key)
        ):
            body[rule.name] = normalise(str(data[rule.name]))
    if found.point and found.envelope:  # a document has both or neither
        body["mdm_point"] = {"lon": found.point[0], "lat": found.point[1]}
        body.update(zip(("mdm_min_x", "mdm_min_y", "mdm_max_x", "mdm_max_y"), found.envelope, strict=True))
    return body


class ElasticBackend:
    name = "elasticsearch"
    indexed = True  # kept in step through the outbox

    def __init__(self, url: str, *, prefix: str = "mdm", timeout: float = 10.0, client: Elasticsearch | None = None):
        self.url = url
        self.prefix = prefix
        self.client = client or Elasticsearch(url, request_timeout=timeout, retry_on_timeout=False, max_retries=0)

    # -- indices -------------------------------------------------------------------------------------------

    def alias(self, repository: str) -> str:
        return f"{self.prefix}-{repository}"

    def create_index(self, standard: Standard) -> str:
        """A new, empty, versioned index for the repository (not yet behind the alias); returns its name."""
        name = f"{self.alias(standard.repository)}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}"
        self.client.indices.create(index=name, settings=SETTINGS, mappings=mapping(standard))
        return name

    def ensure_index(self, standard: Standard) -> str:
        """The alias of the repository, creating a first index behind it if there is none."""
        alias = self.alias(standard.repository)
        if not self.client.indices.exists_alias(name=alias):
            index = self.create_index(standard)
            try:
                self.client.indices.put_alias(index=index, name=alias)
            except ApiError:
                self.client.indices.delete(index=index, ignore_unavailable=True)
                raise
        return alias

    def swap_alias(self, standard: Standard, index: str) -> list[str]:
        """Point the alias at ``index`` in one atomic step; returns the indices it left (then deleted)."""
        alias = self.alias(standard.repository)
        try:
            old = list(self.client.indices.get_alias(name=alias).keys())
        except NotFoundError:
            old = []
        actions = [{"add": {"index": index, "alias": alias}}] + [
            {"remove": {"index": name, "alias": alias}} for name in old if name != index
        ]
        self.client.indices.update_aliases(actions=actions)
        for name in old:
            if name != index:
                self.client.indices.delete(index=name, ignore_unavailable=True)
        return old

    def drop(self, repository: str) -> None:
        """Delete every index of the repository (tests, and starting over)."""
        names = list(self.client.indices.get(index=f"{self.alias(repository)}-*", allow_no_indices=True))
        for name in names:  # wildcard deletes are refused (action.destructive_requires_name)
            self.client.indices.delete(index=name, ignore_unavailable=True)

    def refresh_index(self, index: str) -> None:
        """Make everything written to one index (by name, e.g. a new one before its alias swap) searchable."""
        try:
            self.client.indices.refresh(index=index)
        except (TransportError, ConnectionError) as exc:
            raise SearchUnavailable(str(exc)) from exc

    def refresh(self, repository: str) -> None:
        """Make everything written to the repository's index searchable now."""
        try:
            self.client.indices.refresh(index=self.alias(repository), ignore_unavailable=True)
        except (TransportError, ConnectionError) as exc:
            if not isinstance(exc, NotFoundError):
                raise SearchUnavailable(str(exc)) from exc

    # -- writes --------------------------------------------------------------------------------------------

    def index_documents(
        self, standard: Standard, documents: Iterable[tuple[str, int, dict[str, Any]]], *, index: str | None = None
    ) -> IndexResult:
        """Bulk-write (key, version, document) with the version as the external version. Checks every item:
        a version conflict is a stale write (counted, not failed); 429s are retried with backoff by the bulk
        helper; anything else is a failure for that key. Raises :class:`SearchUnavailable` if the node cannot
        be reached."""
        try:
            target = index or self.ensure_index(standard)
        except (TransportError, ConnectionError) as exc:
            raise SearchUnavailable(str(exc)) from exc
        actions = (
            {
                "_op_type": "index",
                "_index": target,
                "_id": key,
                "version": version,
                "version_type": "external",
                "_source": body,
            }
            for key, version, body in documents
        )
        result = IndexResult()
        try:
            for ok, item in helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=500,
                max_retries=5,
                initial_backoff=1,
                raise_on_error=False,
                raise_on_exception=False,
            ):
                info = item.get("index", {})
                key = info.get("_id")
                if ok:
                    result.indexed.append(key)
                elif info.get("status") == 409:
                    result.stale.append(key)
                else:
                    error = info.get("error") or info.get("exception") or info
                    result.failed[key or "?"] = str(error)[:1000]
        except (TransportError, ConnectionError) as exc:
            raise SearchUnavailable(str(exc)) from exc
        return result

    # -- reads ---------------------------------------------------------------------------------------------

    def search(self, standard: Standard, query: SearchQuery) -> SearchPage:
        query.check(standard)
        alias = self.alias(standard.repository)
        filters: list[dict[str, Any]] = [{"term": {"mdm_status": "active"}}]
        rules = standard.fields
        for name, value in sorted(query.filters.items()):
            target = f"{name}.raw" if rules[name].search == "text" else name
            filters.append({"term": {target: normalise(value)}})
        if query.near:
            lon, lat, radius = query.near
            filters.append({"geo_distance": {"distance": f"{radius}m", "mdm_point": {"lat": lat, "lon": lon}}})
        if query.bbox:
            box = query.bbox
            filters += [
                {"range": {"mdm_min_x": {"lte": box.max_x}}},
                {"range": {"mdm_max_x": {"gte": box.min_x}}},
                {"range": {"mdm_min_y": {"lte": box.max_y}}},
                {"range": {"mdm_max_y": {"gte": box.min_y}}},
            ]
        body: dict[str, Any] = {"bool": {"filter": filters}}
        if query.q:
            body["bool"].update(self._text_clauses(standard, normalise(query.q), query.mode, query.match_key))
        sort: list[dict[str, Any]]
        if query.near:
            sort = [
                {
                    "_geo_distance": {
                        "mdm_point": {"lat": query.near[1], "lon": query.near[0]},
                        "order": "asc",
                        "unit": "m",
                        "distance_type": "arc",
                    }
                },
                {"mdm_seq": "asc"},
            ]
        else:
            sort = [{"_score": "desc"}, {"mdm_seq": "asc"}]
        after = query.position(standard.repository, (float, int))  # (score or distance, mdm_seq)
        try:
            response = self.client.search(
                index=alias,
                query=body,
                sort=sort,
                size=query.limit + 1,
                search_after=list(after) if after else None,
                track_total_hits=False,
                # the client's stubs allow no list of fields, which _source takes
                source=["mdm_key"],  # type: ignore[arg-type]
                track_scores=True,
            )
        except NotFoundError:
            return SearchPage([], None)
        except (TransportError, ConnectionError) as exc:
            raise SearchUnavailable(str(exc)) from exc
        raw = response["hits"]["hits"]
        hits = [
            SearchHit(
                h["_source"]["mdm_key"],
                round(float(h.get("_score") or 0), 4),
                float(h["sort"][0]) if query.near else None,
            )
            for h in raw[: query.limit]
        ]
        more = len(raw) > query.limit
        return SearchPage(hits, query.cursor_at(raw[query.limit - 1]["sort"], standard.repository) if more else None)

    def _text_clauses(self, standard: Standard, needle: str, mode: str, match_key: bool = True) -> dict[str, Any]:
        exact: list[dict[str, Any]] = []
        fuzzy: list[dict[str, Any]] = []
        for rule in _indexed_fields(standard):
            if rule.sensitivity == "sensitive":  # only the whole business key, never a part (see mdm.search.text)
                if rule.name in standard.business_key and match_key:
                    exact.append({"term": {rule.name: {"value": needle, "boost": 5}}})
                continue
            if rule.search == "text":
                exact.append({"match_phrase": {rule.name: {"query": needle, "boost": 2}}})
                exact.append({"term": {f"{rule.name}.raw": {"value": needle, "boost": 4}}})
                fuzzy.append({"match": {f"{rule.name}.bigram": {"query": needle}}})
            elif rule.search == "keyword":
                exact.append({"term": {rule.name: {"value": needle, "boost": 4}}})
                exact.append({"prefix": {rule.name: {"value": needle}}})  # codes: 3205 finds 320505…
            if rule.pinyin:
                squeezed = needle.replace(" ", "")
                exact.append({"term": {f"{rule.name}__pinyin": {"value": squeezed, "boost": 3}}})
                exact.append({"term": {f"{rule.name}__initials": {"value": squeezed, "boost": 2}}})
                exact.append({"prefix": {f"{rule.name}__pinyin": {"value": squeezed}}})  # zhou finds zhouxiaolan
                exact.append({"prefix": {f"{rule.name}__initials": {"value": squeezed}}})
        should = exact + (fuzzy if mode == "fuzzy" else [])
        return {"should": should, "minimum_should_match": 1}

    def scan(self, repository: str) -> Iterator[tuple[str, int, str]]:
        """Every document of the repository's index as (key, version, status)."""
        try:
            for hit in helpers.scan(
                self.client,
                index=self.alias(repository),
                query={"query": {"match_all": {}}},
                _source=["mdm_key", "mdm_version", "mdm_status"],
                size=2000,
            ):
                source = hit["_source"]
                yield source["mdm_key"], int(source["mdm_version"]), source["mdm_status"]
        except (TransportError, ConnectionError) as exc:
            if isinstance(exc, NotFoundError):
                return
            raise SearchUnavailable(str(exc)) from exc
        except NotFoundError:
            return

    # -- the SearchBackend protocol beyond search ---------------------------------------------------------

    def health(self, db: Database | None = None) -> dict[str, Any]:
        """``{"backend", "status", "cluster"}`` from the cluster health (``unavailable`` with ``error``
        ``search.unavailable`` when the node cannot be reached — the cause goes to the log, not to the unauthenticated
        caller of ``/health``); with ``db``, also ``pending`` and ``failures`` of the outbox."""
        found: dict[str, Any] = {"backend": self.name}
        try:
            state = self.client.cluster.health(timeout="2s")
            found.update(status="ok" if state["status"] in ("green", "yellow") else "degraded", cluster=state["status"])
        except (TransportError, ConnectionError, ApiError) as exc:
            _log.warning("search health: Elasticsearch unavailable: %s", str(exc)[:300])
            found.update(status="unavailable", error="search.unavailable")
        if db is not None:
            from mdm.search import indexer

            found.update(pending=indexer.pending(db), failures=indexer.failures(db))
        return found

    def sync(self, db: Database, registry: Registry, *, batch_id: str | None = None) -> DrainResult:
        """Drain the outbox into the index (:func:`mdm.search.indexer.drain`)."""
        from mdm.search import indexer

        return indexer.drain(db, self, registry, batch_id=batch_id)

    def rebuild(self, db: Database, standard: Standard) -> dict[str, Any]:
        """A fresh index from the database behind the alias (:func:`mdm.search.indexer.reindex`)."""
        from mdm.search import indexer

        return indexer.reindex(db, self, standard)

    def check(self, db: Database, standard: Standard) -> dict[str, Any]:
        """Drift between database and index (:func:`mdm.search.indexer.check`)."""
        from mdm.search import indexer

        return indexer.check(db, self, standard)
