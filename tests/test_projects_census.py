"""O&M census statistics against figures computed by hand, the data dictionary, the finance export and the
payment import (API on each backend), and the ``mdm projects`` command line."""

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from mdm.db import Database
from mdm.settings import get_settings
from tests.projects_world import declare_body, make_world, to_approved, to_evaluated, upload

# (category, contract 万元, construction cost 万元, year); every name differs so no duplicate check interferes
OM = [
    ("application_data", "10.00", "100.00", 2025),
    ("application_data", "20.00", "150.00", 2025),
    ("application_data", "30.00", "200.00", 2025),
    ("application_data", "45.00", "300.00", 2025),
    ("physical_resource", "8.00", "40.00", 2025),
    ("application_data", "50.00", "400.00", 2024),
    ("application_data", "25.00", "250.00", 2024),
]
NAMES = "甲乙丙丁戊己庚辛壬癸"


def om_project(world, i, category, contract, cost, year, *, declare=True):
    body = declare_body(
        world,
        kind="om",
        year=year,
        name=f"{NAMES[i]}号机房第{i}期运维",
        scope=f"运维对象编号{i}{NAMES[i] * 3}",
        requested_wan=contract,
        om_category=category,
        construction_cost_wan=cost,
        other_parts=[],
    )
    r = world.post("declarer", "/projects", body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    if declare:
        upload(world, "declarer", pid, "proposal")
        r = world.post(
            "declarer", f"/projects/{pid}/transitions", {"to": "declared", "not_duplicate_statement": "不同机房"}
        )
        assert r.status_code == 200, r.text
    return pid


@pytest.fixture
def census_world(db, tmp_path):
    world = make_world(db, tmp_path)
    ids = [om_project(world, i, *row) for i, row in enumerate(OM)]
    om_project(world, 7, "application_data", "99.00", "100.00", 2025, declare=False)  # a draft: not counted
    withdrawn = om_project(world, 8, "application_data", "99.00", "100.00", 2025)
    world.post("declarer", f"/projects/{withdrawn}/transitions", {"to": "withdrawn"})  # not counted
    return world, ids


def test_om_statistics_match_figures_computed_by_hand(census_world):
    world, ids = census_world
    body = world.get("bigdata_reviewer", "/projects/om-statistics", year=2025).json()  # sees every department
    by = {c["category"]: c for c in body["categories"]}
    assert list(by) == ["physical_resource", "application_data"]  # in code-list order
    software = by["application_data"]
    # contracts 10, 20, 30, 45 (the draft and the withdrawn one are not counted)
    assert software["count"] == 4 and software["total_wan"] == "105.00" and software["title"] == "应用和数据运维"
    # type-7 quantiles: P25 at (4−1)×0.25 = 0.75 → 10 + 0.75×10 = 17.5; median (20+30)/2; P75 at 2.25 → 30 + 0.25×15
    assert (software["p25_wan"], software["median_wan"], software["p75_wan"]) == ("17.50", "25.00", "33.75")
    assert software["share_of_construction"] == "0.1400"  # 105 / (100+150+200+300)
    assert software["growth"] == "0.4000"  # 105 / (50+25) − 1
    # ratios 0.1000, 0.1333, 0.1500, 0.1500 → median (0.1333 + 0.1500) / 2 = 0.14165 → 0.1417
    assert software["standard_ratio"] == "0.1417"
    flagged = {d["id"] for d in software["declarations"] if d["above_standard"]}
    assert flagged == {ids[2], ids[3]}
    assert {d["code"] for d in software["declarations"] if d["above_standard"]} == {"project.om_above_standard"}
    hardware = by["physical_resource"]
    assert (hardware["count"], hardware["total_wan"], hardware["median_wan"]) == (1, "8.00", "8.00")
    assert hardware["share_of_construction"] == "0.2000" and hardware["growth"] is None
    assert body["rule"].startswith("median of contract / construction cost")
    last = world.get("reader", "/projects/om-statistics", year=2024).json()["categories"]
    assert [(c["category"], c["count"], c["total_wan"], c["median_wan"]) for c in last] == [
        ("application_data", 2, "75.00", "37.50")
    ]


def test_an_om_declaration_needs_a_category_from_the_code_list_and_a_construction_cost(census_world):
    world, _ = census_world
    body = declare_body(world, kind="om", om_category="gardening", construction_cost_wan="1.00")
    r = world.post("declarer", "/projects", body)
    assert r.status_code == 400 and r.json()["code"] == "project.invalid"
    r = world.post("declarer", "/projects", declare_body(world, kind="om", om_category="application_data"))
    assert r.status_code == 400 and r.json()["code"] == "project.invalid"
    # the first seed's codes are closed (migration 0011): a new declaration names a GB/T 28827.1-2022 category
    body = declare_body(world, kind="om", om_category="software", construction_cost_wan="1.00")
    r = world.post("declarer", "/projects", body)
    assert r.status_code == 400 and r.json()["code"] == "project.invalid"


def test_the_data_dictionary_serves_every_list_with_chinese_titles(census_world):
    world, _ = census_world
    lists = {x["name"]: x for x in world.get("reader", "/projects/dictionary").json()["lists"]}
    assert set(lists) == {
        "project_stage",
        "project_kind",
        "project_document_type",
        "evaluation_kind",
        "om_category",
        "om_service_kind",
        "cost_step",
        "vendor_role",
    }
    stages = {c["code"]: c["title"] for c in lists["project_stage"]["codes"]}
    assert stages["evaluated"] == "已评审" and len(stages) == 10
    # GB/T 28827.1-2022: the service objects plus user support, and the four service kinds
    assert {c["code"]: c["title"] for c in lists["om_category"]["codes"]} == {
        "facility": "机房基础设施运维",
        "physical_resource": "物理资源运维",
        "virtual_resource": "虚拟资源运维",
        "platform_resource": "平台资源运维",
        "application_data": "应用和数据运维",
        "user_support": "用户支持",
    }
    assert [c["title"] for c in lists["om_service_kind"]["codes"]] == ["例行操作", "响应支持", "优化改善", "咨询评估"]
    assert {c["code"]: c["title"] for c in lists["project_document_type"]["codes"]}[
        "supervision_contract"
    ] == "监理合同"


def approved_project(world):
    pid = world.post("declarer", "/projects", declare_body(world)).json()["id"]
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan="50.00")
    return pid


def test_the_finance_export_lists_approved_budget_lines_in_the_documented_layout(census_world):
    world, _ = census_world
    pid = approved_project(world)
    r = world.get("finance_approver", "/projects/budget-lines", year=2025)
    assert r.json()["lines"] == [
        {
            "project_id": pid,
            "project_name": "市级不动产登记信息平台升级",
            "department_uscc": world.entities[0]["uscc"],
            "year": 2025,
            "approved_wan": "50.00",
            "budget_category": "construction",
        }
    ]
    csv_text = world.get("finance_approver", "/projects/budget-lines", year=2025, format="csv").text
    assert csv_text.splitlines() == [
        "project_id,project_name,department_uscc,year,approved_wan,budget_category",
        f"{pid},市级不动产登记信息平台升级,{world.entities[0]['uscc']},2025,50.00,construction",
    ]
    assert world.get("declarer", "/projects/budget-lines", year=2025).status_code == 403


def test_imported_payments_show_paid_against_approved_and_reimporting_changes_nothing(census_world):
    world, _ = census_world
    pid = approved_project(world)
    text = (
        "voucher_no,project_id,paid_on,amount_wan\n"
        f"V-001,{pid},2025-03-01,20.00\n"
        f"V-002,{pid},2025-06-01,12.50\n"
        "V-003,999999,2025-06-01,1.00\n"
        f"V-004,{pid},2025-13-01,1.00\n"
        f"V-005,{pid},2025-06-01,1.001\n"
    )

    def send(role, content):
        files = {"file": ("pay.csv", content.encode(), "text/csv")}
        return world.client.post("/projects/payments", files=files, headers=world.h(role))

    assert send("declarer", text).status_code == 403
    report = send("finance_approver", text).json()
    assert (report["read"], report["imported"], report["rejected"]) == (5, 2, 3)
    assert [(x["row"], x["code"]) for x in report["rejects"]] == [
        (4, "project.payment_invalid"),
        (5, "project.payment_invalid"),
        (6, "project.payment_invalid"),
    ]
    payments = world.get("admin", f"/projects/{pid}").json()["payments"]
    assert payments == {"paid_wan": "32.50", "approved_wan": "50.00", "outstanding_wan": "17.50"}
    again = send("finance_approver", text).json()
    assert (again["imported"], again["skipped"]) == (0, 2)
    assert world.get("admin", f"/projects/{pid}").json()["payments"]["paid_wan"] == "32.50"
    r = send("finance_approver", "project,amount\n1,2\n")
    assert r.status_code == 400 and r.json()["code"] == "project.payment_invalid"


@pytest.fixture
def cli_world(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MDM_DATABASE_URL", url)
    get_settings.cache_clear()
    db = Database(url)
    world = make_world(db, tmp_path)
    ids = [om_project(world, i, *row) for i, row in enumerate(OM)]
    runner = CliRunner()
    yield world, ids, lambda *args: runner.invoke(app, list(args))
    db.dispose()
    get_settings.cache_clear()


def test_the_command_line_prints_the_om_statistics_as_a_table_and_lists_shows_and_exports(cli_world, tmp_path):
    _, ids, cli = cli_world
    result = cli("projects", "om-statistics", "--year", "2025")
    assert result.exit_code == 0, result.output
    assert "应用和数据运维" in result.output and "105.00" in result.output and "0.1417" in result.output
    as_json = json.loads(cli("projects", "om-statistics", "--year", "2025", "--json").output)
    assert as_json["categories"][1]["median_wan"] == "25.00"
    listed = cli("projects", "list", "--year", "2024", "--json")
    assert [p["id"] for p in json.loads(listed.output)["items"]] == [ids[6], ids[5]]
    shown = json.loads(cli("projects", "show", str(ids[0])).output)
    assert shown["om_category"] == "application_data" and shown["construction_cost_wan"] == "100.00"
    assert cli("projects", "show", "999999").exit_code == 2  # project.not_found is a NotFound: its class says exit 2
    assert cli("projects", "export", "--year", "2025").output.startswith("project_id,project_name,")
    payments = tmp_path / "pay.csv"
    payments.write_text(f"voucher_no,project_id,paid_on,amount_wan\nV-9,{ids[0]},2025-01-02,3.00\n", encoding="utf-8")
    imported = cli("projects", "import-payments", str(payments))  # an O&M declaration, not approved: no payment
    assert imported.exit_code == 5 and json.loads(imported.output)["rejects"][0]["code"] == "project.payment_stage"


def test_the_demo_seeds_a_year_of_projects_with_statistics_and_running_it_again_adds_none(settings):
    from api.demo import prepare_demo

    key = prepare_demo(settings).admin  # the stewards' key (the demo also issues reader keys)
    prepare_demo(settings)
    client = TestClient(create_app(settings))
    h = {"Authorization": f"Bearer {key}"}
    projects = client.get("/projects", params={"limit": 1000}, headers=h).json()
    assert projects["total"] == 8 + 18 + 18  # construction; the same 18 systems' O&M in 2024 and 2025
    assert {p["kind"] for p in projects["items"]} == {"construction", "om"}
    assert len({p["department_uscc"] for p in projects["items"]}) == 10  # the government bodies
    stats = client.get("/projects/om-statistics", params={"year": 2025}, headers=h).json()["categories"]
    assert len(stats) == 6 and all(c["count"] == 3 and c["growth"] is not None for c in stats)
    assert any(d["above_standard"] for c in stats for d in c["declarations"])
    views = [
        client.get(f"/projects/{p['id']}", headers=h).json() for p in projects["items"] if p["kind"] == "construction"
    ]
    big = [v for v in views if v["approved_wan"] and float(v["approved_wan"]) >= 100]
    assert big and {"supervisor", "contractor"} <= {x["role"] for x in big[0]["vendors"]}
    assert any(c["record_type"] == "administrative_penalty" for v in views for x in v["vendors"] for c in x["credit"])
    assert any(v["not_duplicate_statement"] for v in views)  # the duplicate pair


def test_the_command_line_export_neutralises_a_formula_in_a_project_name(cli_world):
    world, _, cli = cli_world
    pid = world.post("declarer", "/projects", declare_body(world, name='＝HYPERLINK("http://evil.example")')).json()[
        "id"
    ]
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan="50.00")
    lines = cli("projects", "export", "--year", "2025").output.splitlines()
    assert lines[1].startswith(f"{pid},\"'＝HYPERLINK(") and lines[1].endswith(",2025,50.00,construction")
