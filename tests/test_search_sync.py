"""Keeping Elasticsearch in step with the store: outbox draining, stale writes, an outage mid-load, reindexing
without a gap, and the drift check — against the real node (and, for the outage, a TCP proxy in front of it)."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest

from api import samples
from api.demo import SAMPLES
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.db import Database
from mdm.search import SearchQuery
from mdm.search.elastic import ElasticBackend, to_document
from mdm.search.indexer import check, drain, pending, reindex
from mdm.settings import Settings
from standards import default_registry
from tests.proxy import TcpProxy

ES_URL = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
REGISTRY = default_registry()
PERSON = REGISTRY.get("natural_person")
GEO = REGISTRY.get("geo_feature")
PERSONS = load_profile(str(SAMPLES / "persons.yaml"), [])


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
    db.ensure_schema()
    yield db
    db.dispose()


def people_file(path, count, seed=11, rename=None):
    rows = list(samples.persons(count, seed=seed))
    if rename:
        rows[0]["name"] = rename
    return samples.write_csv(path, rows), rows


def load(db, path, tmp_path):
    return load_file(db, PERSONS, path, options=LoadOptions(report_root=tmp_path / "loads"))


def test_two_versions_delivered_in_the_wrong_order_leave_the_newer_one(es):
    key = "990102199003070011"
    newer = to_document(PERSON, key, 2, "active", {"citizen_id": key, "name": "周晓兰"}, seq=1)
    older = to_document(PERSON, key, 1, "active", {"citizen_id": key, "name": "周晓岚"}, seq=1)
    first = es.index_documents(PERSON, [(key, 2, newer)])
    late = es.index_documents(PERSON, [(key, 1, older)])
    assert first.indexed == [key] and late.stale == [key] and not late.failed
    es.refresh("natural_person")
    assert list(es.scan("natural_person")) == [(key, 2, "active")]
    assert [h.key for h in es.search(PERSON, SearchQuery(q="周晓兰")).hits] == [key]
    assert es.search(PERSON, SearchQuery(q="周晓岚")).hits == []


def test_an_outage_mid_load_never_fails_the_load_and_the_indexer_catches_up(sqlite_db, es, tmp_path):
    target = urlparse(ES_URL)
    proxy = TcpProxy(target.hostname, target.port)
    try:
        behind = ElasticBackend(proxy.url, prefix=es.prefix, timeout=3)
        first, _ = people_file(tmp_path / "a.csv", 300)
        load(sqlite_db, first, tmp_path)
        assert drain(sqlite_db, behind, REGISTRY).indexed == 300
        proxy.cut()
        second, rows = people_file(tmp_path / "b.csv", 500, rename="断线后改名")  # 300 unchanged but one, 200 new
        summary = load(sqlite_db, second, tmp_path)
        assert summary["status"] == "committed" and summary["inserted"] == 200
        outage = drain(sqlite_db, behind, REGISTRY, batch_id=summary["batch_id"])
        assert outage.unavailable and outage.indexed == 0 and outage.pending == 201
        proxy.restore()
        caught_up = drain(sqlite_db, behind, REGISTRY)
        assert (caught_up.indexed, caught_up.failed, caught_up.pending) == (201, 0, 0)
        es.refresh("natural_person")
        report = check(sqlite_db, es, PERSON)
        assert not report["drift"] and report["index"]["documents"] == report["database"]["records"] == 500
        assert [h.key for h in es.search(PERSON, SearchQuery(q="断线后改名")).hits] == [rows[0]["citizen_id"]]
    finally:
        proxy.close()


def test_failed_rows_are_counted_and_shown_until_they_succeed(sqlite_db, es, tmp_path):
    from mdm.search.indexer import failures

    path, _ = people_file(tmp_path / "a.csv", 5)
    load(sqlite_db, path, tmp_path)
    dead = ElasticBackend("http://127.0.0.1:9", prefix=es.prefix, timeout=1)
    result = drain(sqlite_db, dead, REGISTRY)
    assert result.unavailable and pending(sqlite_db) == 5
    assert failures(sqlite_db)["count"] == 5
    assert drain(sqlite_db, es, REGISTRY).indexed == 5
    assert failures(sqlite_db)["count"] == 0 and pending(sqlite_db) == 0


def test_reindex_builds_a_new_index_and_swaps_the_alias_without_losing_anything(sqlite_db, es, tmp_path):
    path, rows = people_file(tmp_path / "a.csv", 50)
    load(sqlite_db, path, tmp_path)
    drain(sqlite_db, es, REGISTRY)
    before = set(es.client.indices.get_alias(name=es.alias("natural_person")))
    result = reindex(sqlite_db, es, PERSON)
    after = set(es.client.indices.get_alias(name=es.alias("natural_person")))
    assert result["indexed"] == 50 and before != after and after == {result["index"]}
    assert not es.client.indices.exists(index=",".join(before))
    es.refresh("natural_person")
    assert not check(sqlite_db, es, PERSON)["drift"]
    assert [h.key for h in es.search(PERSON, SearchQuery(q=rows[3]["name"], limit=100)).hits].count(
        rows[3]["citizen_id"]
    ) == 1


def test_the_drift_check_finds_what_the_index_misses(sqlite_db, es, tmp_path):
    path, rows = people_file(tmp_path / "a.csv", 10)
    load(sqlite_db, path, tmp_path)
    drain(sqlite_db, es, REGISTRY)
    es.client.delete(index=es.alias("natural_person"), id=rows[0]["citizen_id"], refresh=True)
    report = check(sqlite_db, es, PERSON)
    assert report["drift"] and report["missing"]["sample"] == [rows[0]["citizen_id"]]


@pytest.mark.slow
def test_after_the_public_data_load_the_index_has_no_drift(es, public_data, tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'public.db'}")
    dirs = Settings().profile_dirs
    options = LoadOptions(report_root=tmp_path / "loads")
    for name, suffix in [
        ("nbs2023-provinces", "csv"),
        ("nbs2023-cities", "csv"),
        ("nbs2023-areas", "csv"),
        ("nbs2023-streets", "csv"),
        ("cn-provinces", "geojson"),
    ]:
        load_file(db, load_profile(name, dirs), public_data / f"{name}.{suffix}", options=options)
    result = drain(db, es, REGISTRY)
    assert (result.failed, result.pending) == (0, 0)
    es.refresh("geo_feature")
    report = check(db, es, GEO)
    assert not report["drift"] and report["index"]["documents"] == report["database"]["records"] > 44_000
    hits = es.search(GEO, SearchQuery(q="姑苏区")).hits
    assert [h.key for h in hits][:1] == ["320508"]
    db.dispose()


def test_a_cli_load_drains_its_batch_and_health_shows_index_failures(es, tmp_path, monkeypatch):
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from api.app import create_app
    from api.cli import app
    from mdm.settings import get_settings

    monkeypatch.setenv("MDM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MDM_REPORT_DIR", str(tmp_path / "loads"))
    monkeypatch.setenv("MDM_ELASTICSEARCH_URL", ES_URL)
    monkeypatch.setenv("MDM_ES_INDEX_PREFIX", es.prefix)
    get_settings.cache_clear()
    try:
        path, _ = people_file(tmp_path / "a.csv", 20)
        result = CliRunner().invoke(app, ["load", "--profile", str(SAMPLES / "persons.yaml"), "--json", str(path)])
        summary = json.loads(result.stdout.splitlines()[-1])
        assert result.exit_code == 0 and summary["index"]["indexed"] == 20 and summary["index"]["pending"] == 0
        health = TestClient(create_app(get_settings())).get("/health").json()
        assert health["search"] | {"cluster": None} == {
            "backend": "elasticsearch",
            "status": "ok",
            "cluster": None,
            "pending": 0,
            "failures": {"count": 0, "latest": []},
        }
        monkeypatch.setenv("MDM_ELASTICSEARCH_URL", "http://127.0.0.1:9")  # nothing listens there
        get_settings.cache_clear()
        more, _ = people_file(tmp_path / "b.csv", 25)
        result = CliRunner().invoke(app, ["load", "--profile", str(SAMPLES / "persons.yaml"), "--json", str(more)])
        summary = json.loads(result.stdout.splitlines()[-1])
        assert result.exit_code == 0 and summary["index"]["unavailable"] and summary["index"]["pending"] == 5
        health = TestClient(create_app(get_settings())).get("/health").json()
        assert health["status"] == "degraded" and health["search"]["failures"]["count"] == 5
    finally:
        get_settings.cache_clear()


def test_mdm_indexer_run_once_drains_everything_pending(es, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from api.cli import app
    from mdm.settings import get_settings

    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    path, _ = people_file(tmp_path / "a.csv", 12)
    load(db, path, tmp_path)  # loaded without Elasticsearch configured: 12 outbox rows pending
    assert pending(db) == 12
    monkeypatch.setenv("MDM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MDM_ELASTICSEARCH_URL", ES_URL)
    monkeypatch.setenv("MDM_ES_INDEX_PREFIX", es.prefix)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["indexer", "run", "--once"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout.splitlines()[-1])["indexed"] == 12 and pending(db) == 0
        checked = CliRunner().invoke(app, ["search", "check", "--repository", "natural_person"])
        assert checked.exit_code == 0 and json.loads(checked.stdout)["drift"] is False
    finally:
        get_settings.cache_clear()
        db.dispose()
