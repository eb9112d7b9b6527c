"""Search stays in step without anyone running the indexer: the demo drains its loads, and the served
application drains what an outage left pending — against the real Elasticsearch node (and, for the outage,
a TCP proxy in front of it)."""

from __future__ import annotations

import logging
import os
import time
from urllib.parse import urlparse

from fastapi.testclient import TestClient

from api import samples
from api.app import create_app
from api.demo import demo_settings, prepare_demo
from api.demo_sharing import POLICE, register_departments
from mdm.db import Database
from mdm.keys import create_key
from mdm.search import SearchQuery
from mdm.search.indexer import check, pending
from mdm.settings import Settings
from standards import default_registry
from tests.proxy import TcpProxy

ES_URL = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
REGISTRY = default_registry()


def es_settings(tmp_path, url: str, prefix: str, **more) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'mdm.db'}",
        report_dir=tmp_path / "loads",
        profile_path=str(tmp_path / "profiles"),
        elasticsearch_url=url,
        es_index_prefix=prefix,
        **more,
    )


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_demo_with_elasticsearch_leaves_every_repository_indexed_and_searchable(es, tmp_path):
    settings = es_settings(tmp_path, ES_URL, es.prefix)
    key = prepare_demo(settings).admin
    db = Database(settings.database_url)
    try:
        assert pending(db) == 0
        for repository in REGISTRY.repositories:
            report = check(db, es, REGISTRY.get(repository))
            assert not report["drift"], report
            assert report["index"]["documents"] == report["database"]["records"] > 0
        company = next(samples.entities(1))
        client = TestClient(create_app(settings))
        found = client.get(
            "/repositories/legal_entity/search",
            params={"q": company["name"]},
            headers={"Authorization": f"Bearer {key}", "X-Purpose": "review.credit"},
        )
        assert found.status_code == 200, found.text
        assert company["uscc"] in [hit["key"] for hit in found.json()["items"]]
    finally:
        db.dispose()


def test_the_served_app_indexes_what_an_outage_left_pending_without_anyone_running_the_indexer(es, tmp_path, caplog):
    target = urlparse(ES_URL)
    proxy = TcpProxy(target.hostname, target.port)
    settings = demo_settings(es_settings(tmp_path, proxy.url, es.prefix, indexer_interval=0.2))
    db = Database(settings.database_url)
    register_departments(db)  # the persons profile's source system is 公安局's: its loader loads it
    loader = create_key(db, department=POLICE, role="loader")
    people = list(samples.persons(40, seed=23))
    path = samples.write_csv(tmp_path / "people.csv", people)
    app = create_app(settings, db=db)
    caplog.set_level(logging.INFO, logger="mdm.indexer")
    try:
        with TestClient(app) as client:
            assert app.state.indexer is not None and app.state.indexer.running
            proxy.cut()
            with path.open("rb") as upload:
                loaded = client.post(
                    "/repositories/natural_person/loads",
                    data={"profile": "persons"},
                    files={"file": ("people.csv", upload, "text/csv")},
                    headers={"Authorization": f"Bearer {loader}"},
                )
            assert loaded.status_code == 201, loaded.text
            assert loaded.json()["index"]["unavailable"] and pending(db) == 40  # the load's own drain failed
            drains = app.state.indexer.drains
            assert wait_for(lambda: app.state.indexer.drains >= drains + 2)  # it keeps trying through the outage
            assert pending(db) == 40 and app.state.indexer.running
            proxy.restore()
            assert wait_for(lambda: pending(db) == 0), "the background indexer did not catch up"
            es.refresh("natural_person")
            assert [h.key for h in es.search(REGISTRY.get("natural_person"), SearchQuery(q=people[7]["name"])).hits]
            assert not check(db, es, REGISTRY.get("natural_person"))["drift"]
            runner = app.state.indexer
        assert not runner.running  # stopped with the app
        messages = [r.getMessage() for r in caplog.records if r.name == "mdm.indexer"]
        assert any("unavailable" in m for m in messages) and any("reachable again" in m for m in messages)
    finally:
        proxy.close()
        db.dispose()


def test_a_drain_that_raises_is_logged_and_the_indexer_keeps_running(es, tmp_path, caplog):
    from mdm.search.background import BackgroundIndexer

    db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
    db.ensure_schema()

    class Broken:
        """A registry whose lookups fail, as a bug in a drain would."""

        def get(self, repository):
            raise RuntimeError("boom")

    samples_path = samples.write_csv(tmp_path / "p.csv", list(samples.persons(3, seed=5)))
    from api.demo import SAMPLES
    from loaders.pipeline import LoadOptions, load_file
    from loaders.profiles import load_profile

    load_file(db, load_profile(str(SAMPLES / "persons.yaml"), []), samples_path, options=LoadOptions(tmp_path))
    runner = BackgroundIndexer(db, es, Broken(), interval=0.05)
    caplog.set_level(logging.INFO, logger="mdm.indexer")
    runner.start()
    try:
        assert wait_for(lambda: runner.drains >= 3) and runner.running
        assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records if r.name == "mdm.indexer")
        runner.registry = REGISTRY  # the fault goes away: the same thread now catches up
        assert wait_for(lambda: pending(db) == 0)
    finally:
        runner.stop()
        db.dispose()
    assert not runner.running


def test_no_background_indexer_runs_for_the_sql_backend_or_with_interval_0(es, tmp_path):
    sql = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    off = es_settings(tmp_path, ES_URL, es.prefix, indexer_interval=0)
    for settings in (sql, off):
        app = create_app(settings)
        with TestClient(app):
            assert app.state.indexer is None
