"""Test fixtures: the database backends (embedded SQLite always; PostgreSQL + PostGIS when
MDM_TEST_DATABASE_URL is set), the shared public data, and API clients.

``MDM_TEST_SERVED=1`` runs the API tests against ``python3 -m api serve --workers 2`` instead of in-process
(tests/served.py); tests marked ``in_process`` are then skipped.

``MDM_REQUIRE_SERVICES=1`` (set by CI) turns a skip for a missing service or a missing ``../shared/data`` into a
failure. Database tests that commit get a schema of their own on PostgreSQL and a file of their own on SQLite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mdm.db import Database
from mdm.settings import Settings
from tests import served
from tests.helpers import ROOT, missing
from tests.served import SERVED

SHARED = ROOT.parent / "shared" / "data"
PUBLIC = SHARED / "public"
VECTORS = SHARED / "vectors"
PG_URL = os.environ.get("MDM_TEST_DATABASE_URL")
BACKENDS = ["postgres"] if SERVED else ["sqlite", "postgres"]
"""The ``db`` fixtures' backends; PostgreSQL only when the API tier runs against a served process
(``MDM_TEST_SERVED=1``, tests/served.py): a server process reaches the test's schema, not its SQLite file."""


@pytest.fixture(scope="session")
def public_data() -> Path:
    if not (PUBLIC / "nbs2023-provinces.csv").is_file():
        missing(f"the shared public data at {PUBLIC}")
    return PUBLIC


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not (VECTORS / "cn-resident-id.csv").is_file():
        missing(f"the shared test vectors at {VECTORS}")
    return VECTORS


class PgSchema:
    """A throwaway schema in the test database: its own tables, dropped afterwards."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')

    def database(self) -> Database:
        db = Database(self.url, connect_args={"options": f"-csearch_path={self.name},public"})
        db.test_schema = self.name  # where a served app must look (tests/served.py)
        return db

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        self.admin.dispose()


def _pg_available() -> bool:
    if not PG_URL:
        return False
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_url() -> str:
    if not _pg_available():
        missing(f"PostgreSQL at MDM_TEST_DATABASE_URL={PG_URL!r}")
    return PG_URL


def _make_db(backend: str, tmp_path: Path, request) -> Iterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
        db.ensure_schema()
        yield db
        db.dispose()
        return
    url = request.getfixturevalue("pg_url")
    schema = PgSchema(url)
    db = schema.database()
    db.ensure_schema()
    try:
        yield db
    finally:
        db.dispose()
        schema.drop()


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    yield from _make_db(request.param, tmp_path, request)


@pytest.fixture(params=BACKENDS, scope="module")
def module_db(request, tmp_path_factory) -> Iterator[Database]:
    """A migrated database on each backend, shared by the tests of one module."""
    yield from _make_db(request.param, tmp_path_factory.mktemp("db"), request)


@pytest.fixture
def es() -> Iterator[object]:
    """An Elasticsearch backend (``MDM_TEST_ELASTICSEARCH_URL``) with an index prefix of its own; its indices are
    dropped afterwards."""
    from mdm.search.elastic import ElasticBackend
    from standards import default_registry

    url = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
    if not url or ElasticBackend(url).health()["status"] != "ok":
        missing(f"Elasticsearch at MDM_TEST_ELASTICSEARCH_URL={url!r}")
    backend = ElasticBackend(url, prefix=f"t{uuid.uuid4().hex[:10]}")
    yield backend
    for repository in default_registry().repositories:
        backend.drop(repository)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'mdm.db'}",
        report_dir=tmp_path / "loads",
        profile_path=f"{tmp_path / 'profiles'}{os.pathsep}{ROOT / 'examples' / 'profiles'}",
    )


@pytest.fixture
def check(tmp_path, monkeypatch):
    """``mdm check`` on an empty embedded database: ``check(*args) -> (exit code, [one JSON object per value])``."""
    import json

    from typer.testing import CliRunner

    from api.cli import app
    from mdm.settings import get_settings

    monkeypatch.setenv("MDM_DATABASE_URL", f"sqlite:///{tmp_path / 'mdm.db'}")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["check", *args])
        return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]

    yield run
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _served_request(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under ``MDM_TEST_SERVED=1``: the running test, for helpers that start a served app (tests/served.py)."""
    if not SERVED:
        yield
        return
    served._current.append(request)
    try:
        yield
    finally:
        served._current.remove(request)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``MDM_TEST_SERVED=1``: skip the tests that reach into the app object (``in_process``)."""
    if not SERVED:
        return
    for item in items:
        marker = item.get_closest_marker("in_process")
        if marker is not None:
            reason = marker.args[0] if marker.args else "reaches into the app object"
            item.add_marker(pytest.mark.skip(reason=f"cannot run served: {reason}"))
