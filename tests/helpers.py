"""Small helpers shared by the tests: write a profile and a file, load it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import parse_profile
from mdm.access.departments import code_for_name
from mdm.db import Database

LOADER_DEPARTMENT = code_for_name("loader dept")
"""The department of the ``api`` fixture's loader key (tests/test_api.py), which owns the test profiles' source
systems: only it loads under them through the API, or a steward (mdm.access.loading)."""

POI_PROFILE: dict[str, Any] = {
    "repository": "geo_feature",
    "source_system": {"id": "test-poi", "name": "test POI source", "department": LOADER_DEPARTMENT},
    "priority": 50,
    "format": "csv",
    "mode": "delta",
    "crs": "EPSG:4490",
    "geometry": {"source": "columns", "x": "lon", "y": "lat"},
    "fields": {
        "feature_id": {"column": "id", "normalise": ["nfkc"]},
        "name": {"column": "name", "normalise": ["text"]},
        "level": {"column": "level"},
        "division_code": {"column": "division", "normalise": ["division_code"]},
        "valid_from": {"column": "since", "normalise": ["date"]},
        "feature_type": {"value": "poi"},
    },
}


ROOT = Path(__file__).resolve().parents[1]
REQUIRE = os.environ.get("MDM_REQUIRE_SERVICES") == "1"


def missing(what: str) -> None:
    """Skip for a missing service or data set, or fail when CI requires everything (MDM_REQUIRE_SERVICES=1)."""
    if REQUIRE:
        pytest.fail(f"{what} is required (MDM_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def profile(name: str = "test-poi", **changes: Any):
    document = {**POI_PROFILE, **changes}
    return parse_profile(document, default_name=name)


def write_profile(directory: Path, name: str, **changes: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**POI_PROFILE, **changes}, allow_unicode=True), encoding="utf-8")
    return path


def csv_file(
    path: Path, rows: list[str], header: str = "id,name,level,division,since,lon,lat", encoding: str = "utf-8"
) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def load(db: Database, prof, path: Path, tmp_path: Path, **options: Any) -> dict[str, Any]:
    return load_file(db, prof, path, options=LoadOptions(report_root=tmp_path / "loads", **options))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def rejects(summary) -> list[dict[str, Any]]:
    """The rejects a load wrote (its ``rejects.jsonl``)."""
    return read_jsonl(summary["rejects_path"])


def warnings(summary) -> list[dict[str, Any]]:
    """The warnings a load wrote (its ``warnings.jsonl``)."""
    return read_jsonl(summary["warnings_path"])


def golden(db: Database, repository: str, key: str):
    """The current golden record of ``key`` in ``repository``, or None."""
    from mdm import records

    with db.read() as session:
        return records.get_record(session, repository, key)


TEST_PURPOSE = "test.reading"
PURPOSE_HEADER = {"X-Purpose": TEST_PURPOSE}


def ensure_purpose(db: Database, code: str = TEST_PURPOSE) -> str:
    """Register a purpose for tests (once)."""
    from mdm.access.departments import add_purpose
    from mdm.models import Purpose

    with db.write() as session:
        if session.get(Purpose, code) is None:
            add_purpose(session, code=code, title=f"test purpose {code}", legal_basis="the test suite")
    return code


def grant(db: Database, department: str, repository: str, *, fields=("*",), purposes=(TEST_PURPOSE,), **more: Any):
    """Issue a grant to ``department`` (id or name) as a steward would; returns its id."""
    from mdm.access.grants import GrantSpec, issue_grant
    from standards import default_registry

    for code in purposes:
        ensure_purpose(db, code)
    spec = GrantSpec(repository=repository, fields=tuple(fields), purposes=tuple(purposes), **more)
    with db.write() as session:
        return issue_grant(
            session, default_registry().get(repository), department=department, spec=spec, issued_by="tests"
        ).id


def grant_everything(db: Database, department: str, *, unmasked: bool = False, **more: Any) -> None:
    """A read grant for every repository for :data:`TEST_PURPOSE`: every field that may be shared (``*``), sensitive
    fields masked — the view readers had before grants existed — or, with ``unmasked=True``, every shareable field
    unmasked (what a test needs that searches or filters by a sensitive field)."""
    from standards import default_registry

    registry = default_registry()
    for repository in registry.repositories:
        if not unmasked:
            grant(db, department, repository, **more)
            continue
        fields = {name: rule for name, rule in registry.get(repository).fields.items() if rule.share != "none"}
        open_ = tuple(name for name, rule in fields.items() if rule.sensitivity == "sensitive")
        grant(db, department, repository, fields=tuple(fields), unmasked=open_, **more)
