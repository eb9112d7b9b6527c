"""Property-based fuzzing of the OpenAPI document with schemathesis, on SQLite (sql search) and on PostgreSQL +
Elasticsearch, with a valid admin key against an app holding the demo's sample records.

For every operation, generated requests — valid and invalid — must never answer 5xx, and every response must be
documented: its status code, its content type and its body's schema (problem+json included). Bounded in examples
per operation and in time (``FUZZ_EXAMPLES``; about a minute per backend), so it runs in the normal test command.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.demo import SAMPLES, write_samples
from api.params import MAX_PARAMETER_LENGTH
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.keys import create_key
from mdm.search.elastic import ElasticBackend
from mdm.search.sql import SqlBackend
from mdm.settings import Settings
from standards import default_registry
from tests.conftest import missing
from tests.helpers import PURPOSE_HEADER, ensure_purpose
from tests.served import SERVED, ServedApp, serve_app

ES_URL = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
FUZZ_EXAMPLES = int(os.environ.get("MDM_FUZZ_EXAMPLES", "40"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _seed(db, backend, directory: Path) -> None:
    """The demo's sample files, loaded (and indexed) as ``mdm demo`` loads them."""
    options = LoadOptions(report_root=directory / "loads")
    for profile_file, data_file in write_samples(directory / "samples"):
        profile = load_profile(str(SAMPLES / profile_file), [])
        summary = load_file(db, profile, data_file, options=options, search=backend)
        assert summary["status"] == "committed", summary


@pytest.fixture(scope="module", params=["postgres-elasticsearch"] if SERVED else ["sqlite", "postgres-elasticsearch"])
def fuzzed(request, tmp_path_factory):
    """(app, admin key) on one backend, seeded with the sample records; under ``MDM_TEST_SERVED=1`` (tests/served.py)
    the app is ``mdm serve --workers 2`` on PostgreSQL + Elasticsearch: (its ServedApp, admin key)."""
    from tests.conftest import _make_db

    tmp = tmp_path_factory.mktemp("fuzz")
    db_gen = _make_db("sqlite" if request.param == "sqlite" else "postgres", tmp, request)
    db = next(db_gen)
    if request.param == "sqlite":
        backend = SqlBackend(db)
    else:
        if not ES_URL or ElasticBackend(ES_URL).health()["status"] != "ok":
            missing(f"Elasticsearch at MDM_TEST_ELASTICSEARCH_URL={ES_URL!r}")
        backend = ElasticBackend(ES_URL, prefix=f"t{uuid.uuid4().hex[:10]}")
    _seed(db, backend, tmp)
    app_settings = Settings(
        database_url="sqlite://", report_dir=tmp / "loads", max_upload_bytes=100_000, profile_path=str(SAMPLES)
    )
    app = (
        serve_app(request, app_settings, db, search=backend)
        if SERVED
        else create_app(app_settings, db=db, search=backend)
    )
    ensure_purpose(db)
    yield app, create_key(db, department="fuzz", role="admin", register=True)
    if isinstance(backend, ElasticBackend):
        for repository in default_registry().repositories:
            backend.drop(repository)
    for _ in db_gen:
        pass


def _labels() -> list[str]:
    """Every operation of the OpenAPI document, as "METHOD /path" (the app is built, not connected)."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item]


@pytest.fixture(scope="module")
def openapi(fuzzed):
    app, _ = fuzzed
    if isinstance(app, ServedApp):
        app.ready()
        return schemathesis.openapi.from_url(f"{app.url}/openapi.json")
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("label", _labels())
def test_no_request_is_a_server_error_and_every_response_is_documented(openapi, fuzzed, label):
    _, key = fuzzed
    operation = openapi.find_operation_by_label(label)
    cases = st.one_of(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    )
    @given(case=cases)
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {key}", **PURPOSE_HEADER}, checks=CHECKS)

    check()


@pytest.mark.parametrize("repository", default_registry().repositories)
def test_an_exact_search_filter_is_served_up_to_the_parameter_limit_and_refused_beyond(fuzzed, repository):
    """Every filterable field, with a value at the limit (served by the backend) and one past it (400)."""
    from fastapi.testclient import TestClient

    app, key = fuzzed
    client = app.client() if isinstance(app, ServedApp) else TestClient(app, raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {key}", **PURPOSE_HEADER}
    path = f"/repositories/{repository}/search"
    for field in default_registry().get(repository).filterable:
        for value in ("3" * MAX_PARAMETER_LENGTH, "苏" * MAX_PARAMETER_LENGTH):
            for query in ({field: value}, {field: value, "q": "苏州", "mode": "fuzzy"}):
                response = client.get(path, params=query, headers=headers)
                assert response.status_code == 200, (field, response.text[:300])
                assert response.json()["items"] == []
        response = client.get(path, params={field: "3" * (MAX_PARAMETER_LENGTH + 1)}, headers=headers)
        assert response.status_code == 400 and response.json()["code"] == "request.too_long"
