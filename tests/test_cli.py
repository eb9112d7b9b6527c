"""The ``mdm`` command line: load summaries, JSON output and the documented exit codes."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli import EXIT, app
from mdm.settings import get_settings
from tests.conftest import ROOT
from tests.helpers import csv_file, write_profile

ROWS = ["p1,苏州博物馆,,320508,2020-01-01,120.6285,31.3236", "p2,拙政园,,320508,2020-01-02,120.6271,31.3264"]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MDM_DATABASE_URL", f"sqlite:///{tmp_path / 'mdm.db'}")
    monkeypatch.setenv("MDM_REPORT_DIR", str(tmp_path / "loads"))
    monkeypatch.setenv("MDM_PROFILE_PATH", str(tmp_path / "profiles"))
    write_profile(tmp_path / "profiles", "test-poi")
    write_profile(tmp_path / "profiles", "snap-poi", mode="snapshot")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def summaries(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_load_prints_one_json_summary_per_file_and_exits_0(cli, tmp_path):
    a = csv_file(tmp_path / "a.csv", ROWS)
    b = csv_file(tmp_path / "b.csv", ROWS[:1])
    result = cli("load", "--profile", "test-poi", "--json", str(a), str(b))
    assert result.exit_code == EXIT["ok"] == 0, result.output
    first, second = summaries(result)
    assert {
        "batch_id",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "retired",
        "rejected",
        "rejects_path",
        "encoding",
    } <= set(first)
    assert (first["inserted"], second["unchanged"]) == (2, 1)
    assert first["batch_id"] != second["batch_id"]


def test_an_unknown_profile_is_a_usage_error(cli, tmp_path):
    result = cli("load", "--profile", "nope", str(csv_file(tmp_path / "a.csv", ROWS)))
    assert result.exit_code == EXIT["usage"] == 2
    assert "load.profile_unknown" in result.output


def test_missing_arguments_are_a_usage_error(cli):
    assert cli("load").exit_code == 2


def test_a_file_rejected_whole_exits_3(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00\x00bad")
    result = cli("load", "--profile", "test-poi", "--json", str(bad))
    assert result.exit_code == EXIT["file_rejected"] == 3
    assert summaries(result)[0]["error"]["code"] == "file.encoding_unknown"


def test_a_refusing_guard_exits_4_and_force_lets_it_through(cli, tmp_path):
    assert cli("load", "--profile", "snap-poi", str(csv_file(tmp_path / "a.csv", ROWS))).exit_code == 0
    smaller = csv_file(tmp_path / "b.csv", ROWS[:1])
    refused = cli("load", "--profile", "snap-poi", "--json", str(smaller))
    assert refused.exit_code == EXIT["guard_refused"] == 4
    assert summaries(refused)[0]["status"] == "refused"
    forced = cli("load", "--profile", "snap-poi", "--json", "--force", str(smaller))
    assert forced.exit_code == 0 and summaries(forced)[0]["retired"] == 1


def test_a_file_whose_every_row_is_rejected_exits_5(cli, tmp_path):
    result = cli("load", "--profile", "test-poi", "--json", str(csv_file(tmp_path / "a.csv", ["p1,,,9X,,,"])))
    assert result.exit_code == EXIT["all_rejected"] == 5
    assert summaries(result)[0]["rejected"] == 1
    table = cli("load", "--profile", "test-poi", str(csv_file(tmp_path / "b.csv", ["p2,,,9X,,,"])))
    assert table.exit_code == 5 and "load.all_rejected" in table.output  # the table says so too, not only --json


def test_the_worst_exit_code_of_several_files_wins(cli, tmp_path):
    good = csv_file(tmp_path / "a.csv", ROWS)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00\x00")
    assert cli("load", "--profile", "test-poi", str(good), str(bad)).exit_code == 3


def test_a_human_summary_goes_to_stderr(cli, tmp_path):
    result = cli("load", "--profile", "test-poi", str(csv_file(tmp_path / "a.csv", ROWS)))
    assert result.exit_code == 0 and "inserted" in result.stderr


def test_keys_create_prints_a_key_once_and_stores_its_hash(cli, tmp_path):
    assert cli("departments", "add", "scjg", "市场监管局").exit_code == 0
    result = cli("keys", "create", "--department", "市场监管局", "--role", "reader")
    key = result.stdout.strip()
    assert result.exit_code == 0 and key.startswith("mdm_") and "registered" not in result.stderr
    again = cli("keys", "create", "--department", "scjg", "--role", "loader")
    assert again.exit_code == 0 and again.stdout.strip() != key
    assert key.encode() not in (tmp_path / "mdm.db").read_bytes()
    assert cli("keys", "create", "--department", "scjg", "--role", "god").exit_code == 2


def test_keys_create_for_an_unknown_department_is_refused_and_registers_nothing(cli):
    assert cli("departments", "add", "rs01", "人社局").exit_code == 0
    typo = cli("keys", "create", "--department", "RS001", "--role", "reader")
    assert typo.exit_code == 2 and typo.stdout == ""
    assert "department.not_found" in typo.stderr and "--register" in typo.stderr
    assert [json.loads(line)["id"] for line in cli("departments", "list").stdout.splitlines()] == ["rs01"]
    assert cli("keys", "list").stdout == ""


def test_keys_create_registers_a_department_only_when_asked(cli):
    result = cli("keys", "create", "--department", "rs01", "--register", "--name", "人社局", "--role", "admin")
    assert result.exit_code == 0 and result.stdout.startswith("mdm_")
    assert "registered the department 'rs01' as rs01" in result.stderr
    [listed] = [json.loads(line) for line in cli("departments", "list").stdout.splitlines()]
    assert (listed["id"], listed["name"]) == ("rs01", "人社局")
    assert cli("keys", "create", "--department", "x9", "--name", "某局").exit_code == 2  # --name without --register
    alike = cli("keys", "create", "--department", "rs02", "--register", "--name", "人社 局")
    assert alike.exit_code == 2 and "department.name_confusable" in alike.stderr and "rs01" in alike.stderr


def test_keys_create_help_lists_every_role():
    from mdm.keys import ROLES

    text = CliRunner().invoke(app, ["keys", "create", "--help"], terminal_width=200).stdout
    assert all(role in text for role in ROLES), text


def test_departments_set_owner_moves_the_one_owner_and_is_audited(cli):
    assert cli("departments", "add", "police", "公安局", "--owns", "natural_person").exit_code == 0
    second = cli("departments", "add", "market", "市场监管局", "--owns", "natural_person")
    assert second.exit_code == 1 and "department.owner_exists" in second.stderr
    assert cli("departments", "add", "market", "市场监管局").exit_code == 0
    moved = cli("departments", "set-owner", "natural_person", "market")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout) == {"repository": "natural_person", "owner": "market", "previous": ["police"]}
    owners = {d["id"]: d["owns"] for d in map(json.loads, cli("departments", "list").stdout.splitlines())}
    assert owners == {"police": [], "market": ["natural_person"]}
    assert cli("departments", "set-owner", "natural_person").exit_code == 2  # neither a department nor --none
    assert cli("departments", "set-owner", "natural_person", "nobody").exit_code == 2
    cleared = cli("departments", "set-owner", "natural_person", "--none")
    assert cleared.exit_code == 0 and json.loads(cleared.stdout)["owner"] is None
    from mdm.audit import find_events
    from mdm.db import Database

    with Database(get_settings().database_url).read() as session:
        assert [e["action"] for e in find_events(session, limit=10)].count("department:set_owner") == 2


def test_db_upgrade_creates_the_schema(cli):
    assert cli("db", "upgrade").exit_code == 0
    from alembic.script import ScriptDirectory

    from mdm.db import MIGRATIONS

    assert cli("db", "current").stdout.strip() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_the_console_script_is_installed():
    done = subprocess.run(
        [sys.executable, "-m", "api", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0 and "load" in done.stdout


def test_a_profile_mapping_an_unknown_field_is_a_usage_error(cli, tmp_path):
    write_profile(tmp_path / "profiles", "bad-fields", fields={"feature_id": {"column": "id"}, "colour": {"value": 1}})
    result = cli("load", "--profile", "bad-fields", str(csv_file(tmp_path / "a.csv", ROWS)))
    assert result.exit_code == 2 and "load.profile_invalid" in result.output


@pytest.mark.parametrize("guard", ["2", "-1"])
def test_a_guard_outside_0_to_1_is_a_usage_error(cli, tmp_path, guard):
    assert (
        cli("load", "--profile", "test-poi", "--guard", guard, str(csv_file(tmp_path / "a.csv", ROWS))).exit_code == 2
    )


def test_a_bad_setting_is_one_clear_line_not_a_traceback(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MDM_SNAPSHOT_GUARD", "7")
    get_settings.cache_clear()
    result = cli("load", "--profile", "test-poi", str(csv_file(tmp_path / "a.csv", ROWS)))
    assert result.exit_code == 2 and "MDM_SNAPSHOT_GUARD" in result.output and "Traceback" not in result.output


def test_keys_can_be_listed_and_revoked(cli, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    key = cli("keys", "create", "--department", "民政局", "--register", "--role", "reader").stdout.strip()
    [listed] = [json.loads(line) for line in cli("keys", "list").stdout.splitlines()]
    assert listed["department_name"] == "民政局" and listed["department"].startswith("dept-")
    assert listed["revoked_at"] is None and key not in json.dumps(listed)
    client = TestClient(create_app(get_settings()))
    assert client.get("/repositories", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert cli("keys", "revoke", listed["prefix"]).exit_code == 0
    assert client.get("/repositories", headers={"Authorization": f"Bearer {key}"}).json()["code"] == "auth.invalid_key"
    assert cli("keys", "revoke", listed["prefix"]).exit_code == 2


def test_serve_on_a_busy_port_says_so_and_exits_1(cli):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.exit_code == 1 and "cannot listen" in result.output
