"""One complete search interface: every backend implements the whole Protocol, callers use nothing else, and
the sql backend's health, sync, check and rebuild do real work on both databases."""

from __future__ import annotations

import inspect
import json
import re

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from mdm.models import GoldenRecord
from mdm.search import SearchQuery, backend_for
from mdm.search.base import SearchBackend
from mdm.search.elastic import ElasticBackend
from mdm.search.sql import SqlBackend
from mdm.settings import Settings
from standards import default_registry
from tests.conftest import ROOT
from tests.helpers import csv_file, load, profile

REGISTRY = default_registry()
GEO = REGISTRY.get("geo_feature")
PROTOCOL = [name for name in ("search", "health", "sync", "rebuild", "check") if hasattr(SearchBackend, name)]
ROWS = [
    "p1,苏州博物馆,,320508,2020-01-01,120.6285,31.3236",
    "p2,拙政园,,320508,2020-01-02,120.6271,31.3264",
]


def test_the_protocol_has_every_method_callers_use():
    assert PROTOCOL == ["search", "health", "sync", "rebuild", "check"]
    assert {"name", "indexed"} <= set(SearchBackend.__annotations__)


@pytest.mark.parametrize("backend", [SqlBackend, ElasticBackend])
@pytest.mark.parametrize("method", ["search", "health", "sync", "rebuild", "check"])
def test_every_backend_implements_the_protocol_with_its_parameters(backend, method):
    wanted = inspect.signature(getattr(SearchBackend, method)).parameters
    found = inspect.signature(getattr(backend, method)).parameters
    assert list(found)[: len(wanted)] == list(wanted)
    assert all(p.default is not inspect.Parameter.empty for p in list(found.values())[len(wanted) :])


CALLERS = ["api", "loaders", "mdm"]
OWN = {"mdm/search/elastic.py", "mdm/search/indexer.py", "mdm/search/__init__.py", "mdm/search/sql.py"}
FORBIDDEN = {
    "getattr on a backend": re.compile(r"getattr\((search|backend)\b"),
    "a branch on backend.name": re.compile(r"(backend|search)\.name\s*(==|!=|in\b)"),
    "an ElasticBackend built by hand": re.compile(r"ElasticBackend\("),
    "the Elasticsearch client": re.compile(r"(backend|search)\.client\b"),
    "the indexer called directly": re.compile(r"\bindexer\.(drain|reindex|check)\(|import drain\b"),
}


def test_no_caller_reaches_past_the_search_interface():
    found = [
        f"{path.relative_to(ROOT).as_posix()}: {what}"
        for package in CALLERS
        for path in (ROOT / package).rglob("*.py")
        if path.relative_to(ROOT).as_posix() not in OWN
        for what, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_one_factory_chooses_the_backend_from_the_settings(db):
    assert isinstance(backend_for(Settings(database_url="sqlite://"), db), SqlBackend)
    chosen = backend_for(Settings(database_url="sqlite://", elasticsearch_url="http://127.0.0.1:9"), db)
    assert isinstance(chosen, ElasticBackend) and chosen.indexed


@pytest.fixture
def places(db, tmp_path):
    load(db, profile(), csv_file(tmp_path / "seed.csv", ROWS), tmp_path)
    return db


def test_sql_health_says_whether_the_database_answers(places, tmp_path):
    assert SqlBackend(places).health(places) == {"backend": "sql", "status": "ok"}
    gone = SqlBackend(places)
    from mdm.db import Database

    unreachable = Database("postgresql+psycopg2://mdm:mdm@127.0.0.1:9/mdm", connect_args={"connect_timeout": 2})
    assert gone.health(unreachable) == {"backend": "sql", "status": "unavailable", "error": "database.unavailable"}
    unreachable.dispose()


def test_sql_sync_has_nothing_to_do(places):
    assert SqlBackend(places).sync(places, REGISTRY) is None
    assert SqlBackend(places).indexed is False


def _spoil(db, key: str) -> None:
    with db.write() as session:
        session.execute(
            update(GoldenRecord)
            .where(GoldenRecord.repository == "geo_feature", GoldenRecord.business_key == key)
            .values(search_text="written by older rules")
        )


def test_sql_check_finds_no_drift_after_a_load(places):
    report = SqlBackend(places).check(places, GEO)
    assert report["drift"] is False and report["database"] == {"records": 2, "retired": 0}
    assert report["stale"] == {"count": 0, "sample": []}


def test_sql_check_finds_stale_search_keys_and_rebuild_mends_them(places):
    backend = SqlBackend(places)
    _spoil(places, "p2")
    assert backend.search(GEO, SearchQuery(q="拙政园")).hits == []
    report = backend.check(places, GEO)
    assert report["drift"] is True and report["stale"] == {"count": 1, "sample": ["p2"]}
    versions = _versions(places)
    assert backend.rebuild(places, GEO) == {"repository": "geo_feature", "backend": "sql", "records": 2, "rebuilt": 1}
    assert [h.key for h in backend.search(GEO, SearchQuery(q="拙政园")).hits] == ["p2"]
    assert backend.check(places, GEO)["drift"] is False
    assert _versions(places) == versions  # the search key is mended in place; the record gains no version


def _versions(db) -> dict[str, int]:
    from sqlalchemy import select

    with db.read() as session:
        return dict(session.execute(select(GoldenRecord.business_key, GoldenRecord.version)).all())


def test_mdm_search_check_and_reindex_work_on_the_sql_backend(tmp_path, monkeypatch):
    from api.cli import app
    from mdm.db import Database
    from mdm.settings import get_settings

    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    db.ensure_schema()
    load(db, profile(), csv_file(tmp_path / "seed.csv", ROWS), tmp_path)
    _spoil(db, "p1")
    monkeypatch.setenv("MDM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("MDM_ELASTICSEARCH_URL", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        drifted = runner.invoke(app, ["search", "check", "--repository", "geo_feature"])
        assert drifted.exit_code == 1 and json.loads(drifted.stdout)["stale"]["sample"] == ["p1"]
        rebuilt = runner.invoke(app, ["reindex", "--repository", "geo_feature"])
        assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["rebuilt"] == 1
        clean = runner.invoke(app, ["search", "check", "--repository", "geo_feature"])
        assert clean.exit_code == 0 and json.loads(clean.stdout)["drift"] is False
        indexer = runner.invoke(app, ["indexer", "run", "--once"])
        assert indexer.exit_code == 2 and "MDM_ELASTICSEARCH_URL is not set" in indexer.output
    finally:
        get_settings.cache_clear()
        db.dispose()
