"""``mdm`` starts fast: ``mdm --help`` and ``mdm check`` import none of the heavy modules that only serving,
search, geometry or spreadsheets need — checked in a fresh interpreter with ``python -X importtime``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("uvicorn", "elasticsearch", "shapely", "openpyxl", "jsonschema", "rfc3987_syntax", "fastapi")


def imported_by(args: list[str], tmp_path) -> tuple[set[str], subprocess.CompletedProcess]:
    """Top-level packages a fresh ``python -m api ARGS`` imports, from ``-X importtime`` on stderr."""
    env = {**os.environ, "MDM_DATABASE_URL": f"sqlite:///{tmp_path / 'mdm.db'}", "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "api", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "typer" in modules  # the probe itself works
    return modules, done


def test_mdm_help_imports_no_heavy_module_and_shows_no_bool_type(tmp_path):
    modules, done = imported_by(["--help"], tmp_path)
    assert done.returncode == 0
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert "--help" in done.stdout and "<bool>" not in done.stdout
    assert "sqlalchemy" not in modules  # nothing touches the database to print help


@pytest.mark.parametrize(("fmt", "value"), [("uscc", "91320594MA1MXXXX0X"), ("cn-resident-id", "11010519491231002X")])
def test_mdm_check_imports_no_heavy_module(tmp_path, fmt, value):
    modules, done = imported_by(["check", fmt, value], tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert '"valid"' in done.stdout
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_subcommand_help_shows_flags_without_a_bool_type(tmp_path):
    _, done = imported_by(["load", "--help"], tmp_path)
    assert done.returncode == 0 and "--force" in done.stdout and "<bool>" not in done.stdout


def test_the_standards_formats_are_all_still_checked():
    """Dropping jsonschema's optional format packages keeps every format the standards use checked."""
    from standards import default_registry

    registry = default_registry()
    person = registry.get("natural_person")
    issues = person.validate({"citizen_id": "11010519491231002X", "name": "张三", "birth_date": "1949-02-30"})
    assert "date.invalid" in {i.code for i in issues}
    entity = registry.get("legal_entity")
    bad = {i.code for i in entity.validate({"uscc": "91320594MA1MXXXX0Y", "name": "x", "org_code": "MA1MXXXX-1"})}
    assert any(code.startswith("uscc.") for code in bad)
