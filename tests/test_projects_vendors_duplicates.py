"""Vendors at procurement (credit check, finance override) and duplicate declarations, on each backend."""

import pytest
from sqlalchemy import select

from mdm.access.departments import code_for_name  # keys name registered departments by id
from mdm.projects.duplicates import similarity
from mdm.projects.models import ProjectAction
from tests.projects_world import declare_body, make_world, to_approved, to_evaluated, upload

ONE_NET = (
    "政务服务一网通办平台升级改造",
    "整合各部门网上办事入口，建设统一身份认证、电子证照调用和好差评系统，实现政务服务事项一网通办",
)
REWORDED = (
    "一网通办政务服务平台改造升级",
    "建设统一身份认证和电子证照调用能力，整合部门网上办事入口，完善好差评评价，推动政务服务事项全程网上办理",
)
RELATED = ("政务服务中心智能排队叫号系统", "为政务服务中心大厅建设智能排队叫号、预约取号和窗口评价功能")
UNRELATED = ("城市内涝监测预警系统", "在易涝点布设水位传感器，建设排水管网监测与暴雨内涝预警模型")


@pytest.fixture
def world(db, tmp_path):
    return make_world(db, tmp_path)


def procuring(world):
    r = world.post("declarer", "/projects", declare_body(world))
    pid = r.json()["id"]
    to_evaluated(world, pid)
    to_approved(world, pid)
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "procuring"}).status_code == 200
    return pid


def test_a_vendor_with_an_active_serious_record_is_refused_and_its_records_shown(world):
    pid = procuring(world)
    r = world.post("declarer", f"/projects/{pid}/vendors", {"uscc": world.serious_uscc, "role": "contractor"})
    assert r.status_code == 409 and r.json()["code"] == "project.vendor_refused"
    assert [c["record_id"] for c in r.json()["credit"]] == ["T-BL-1"]
    assert world.get("admin", f"/projects/{pid}").json()["vendors"] == []
    credit = world.get("reader", f"/projects/vendors/{world.serious_uscc}/credit").json()
    assert credit["serious"] is True and credit["credit"][0]["record_type"] == "black_list"


def test_only_finance_overrides_a_credit_refusal_with_a_written_reason_which_is_recorded(world, db):
    pid = procuring(world)
    body = {
        "uscc": world.serious_uscc,
        "role": "contractor",
        "override_reason": "唯一具备资质的供应商，经局务会研究同意",
    }
    r = world.post("declarer", f"/projects/{pid}/vendors", body)
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"
    r = world.post("finance_approver", f"/projects/{pid}/vendors", {**body, "override_reason": "  "})
    assert r.status_code == 403  # a blank reason is no override, and finance does not award on its own
    r = world.post("finance_approver", f"/projects/{pid}/vendors", body)
    assert r.status_code == 201, r.text
    vendor = r.json()["vendors"][0]
    assert vendor["override_reason"] == body["override_reason"] and vendor["department"] == code_for_name(
        "finance_approver 部门"
    )
    with db.read() as session:
        actions = session.execute(select(ProjectAction).where(ProjectAction.project_id == pid)).scalars().all()
    override = [a for a in actions if a.action == "vendor_override"]
    assert len(override) == 1 and override[0].detail["override_reason"] == body["override_reason"]
    assert override[0].detail["serious_records"] == ["T-BL-1"]


def test_a_vendor_with_only_a_minor_record_is_awarded_with_the_record_shown(world):
    pid = procuring(world)
    r = world.post("declarer", f"/projects/{pid}/vendors", {"uscc": world.minor_uscc, "role": "contractor"})
    assert r.status_code == 201, r.text
    credit = r.json()["vendors"][0]["credit"]
    assert [(c["record_id"], c["serious"]) for c in credit] == [("T-WARN-1", False)]


def test_an_unknown_vendor_is_refused(world):
    pid = procuring(world)
    r = world.post("declarer", f"/projects/{pid}/vendors", {"uscc": "91320500MA1XXXXX0X", "role": "contractor"})
    assert r.status_code == 400 and r.json()["code"] == "project.entity_unknown"


def declare(world, name, scope, *, year=2025, department=0, statement=None):
    body = declare_body(world, name=name, scope=scope, year=year, department_uscc=world.entities[department]["uscc"])
    declarer = world.declarer_of(department)
    pid = world.post(declarer, "/projects", body).json()["id"]
    upload(world, declarer, pid, "proposal")
    transition = {"to": "declared", **({"not_duplicate_statement": statement} if statement else {})}
    return pid, world.post(declarer, f"/projects/{pid}/transitions", transition)


def test_a_differently_worded_declaration_of_another_department_needs_a_statement(world):
    first, r = declare(world, *ONE_NET, year=2023, department=1)
    assert r.status_code == 200
    second, r = declare(world, *REWORDED, department=2)
    assert r.status_code == 409 and r.json()["code"] == "project.duplicate_suspected"
    # another department's project: an anonymous signal to the declarer (tests/test_trust_holes.py), in full to
    # the bureaus
    candidate = r.json()["candidates"][0]
    assert candidate["anonymous"] is True and candidate["id"] is None and candidate["above_threshold"] is True
    candidate = world.get("bigdata_reviewer", f"/projects/{second}/duplicates").json()["items"][0]
    assert candidate["id"] == first and candidate["above_threshold"] is True
    assert candidate["score"] == str(similarity(*REWORDED, *ONE_NET)) and float(candidate["score"]) >= 0.45
    assert world.get("admin", f"/projects/{second}").json()["status"] == "draft"
    r = world.post(
        world.declarer_of(2),
        f"/projects/{second}/transitions",
        {"to": "declared", "not_duplicate_statement": "二期仅建设移动端"},
    )
    assert r.status_code == 200
    view = r.json()
    assert view["not_duplicate_statement"] == "二期仅建设移动端" and view["duplicate_candidates"][0]["anonymous"]
    assert world.get("admin", f"/projects/{second}").json()["duplicate_candidates"][0]["id"] == first
    listed = world.get("admin", f"/projects/{second}/duplicates").json()["items"]
    assert listed[0]["id"] == first


def test_no_false_alarm_on_unrelated_or_merely_related_declarations(world):
    declare(world, *ONE_NET)
    for name, scope in (UNRELATED, RELATED):
        _, r = declare(world, name, scope)
        assert r.status_code == 200, r.text
        assert all(not c["above_threshold"] for c in r.json()["duplicate_candidates"])
    assert similarity(*ONE_NET, *UNRELATED) < similarity(*ONE_NET, *RELATED) < similarity(*ONE_NET, *REWORDED)


def test_only_this_year_and_the_last_two_are_compared(world):
    declare(world, *ONE_NET, year=2022)
    _, r = declare(world, *REWORDED, year=2025)
    assert r.status_code == 200, r.text  # 2022 is three years before 2025
    _, r = declare(world, *ONE_NET, year=2024)
    assert r.status_code == 409  # the 2025 declaration is found from 2024 too
