"""The O&M approval flow (运维项目审批, issue 23 item 4), through the API on each backend: an O&M project within
its category's expenditure standard proceeds; above it (or without a standard) it needs a written justification
and the finance reviewer's decision, recorded and audited; a filed system gives its construction cost and shows
its O&M growth year on year; a department acts only on its own.

The standard of a 2025 review is the 2024 census's (the median of contract / construction cost). The census
below puts ``application_data`` at ratios 0.1000, 0.1200, 0.1400 → standard 0.1200 (by hand)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from mdm.models import AuditEvent
from mdm.projects.models import ProjectAction
from tests.projects_world import FP, declare_body, make_world, to_approved, to_evaluated, upload

CENSUS_2024 = [("10.00", "100.00"), ("24.00", "200.00"), ("42.00", "300.00")]  # ratios 0.10, 0.12, 0.14
PERIOD = {"period_start": "2025-01-01", "period_end": "2025-12-31"}
STATEMENT = {"not_duplicate_statement": "运维对象为不同系统"}


def refused(response, code: str, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text
    return response.json()


def om_body(world, n: int, **changes):
    body = declare_body(
        world,
        kind="om",
        year=2025,
        name=f"第{n}号业务系统运维服务",
        scope=f"第{n}号系统的例行操作、响应支持和优化改善{'甲乙丙丁戊己庚辛壬癸'[n % 10] * 4}",
        om_category="application_data",
        other_parts=[],
        systems=[f"第{n}号业务系统"],
    )
    body.update(changes)
    return body


def create(world, n: int, role: str = "declarer", **changes) -> int:
    r = world.post(role, "/projects", om_body(world, n, **changes))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def declare(world, pid: int, role: str = "declarer") -> None:
    upload(world, role, pid, "proposal")
    r = world.post(role, f"/projects/{pid}/transitions", {"to": "declared", **STATEMENT})
    assert r.status_code == 200, r.text


def census_2024(world) -> None:
    for i, (contract, cost) in enumerate(CENSUS_2024):
        pid = create(world, 90 + i, year=2024, requested_wan=contract, construction_cost_wan=cost)
        declare(world, pid)


def evaluate(world, pid: int):
    """Both evaluations, then ``declared → evaluated`` (the response)."""
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {"kind": "software", "function_points": FP})
    assert r.status_code == 201, r.text
    r = world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "hardware", "amount_wan": "0.00"})
    assert r.status_code == 201, r.text
    return world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"})


def test_an_om_project_at_or_below_its_categorys_standard_proceeds_without_a_decision(db, tmp_path):
    world = make_world(db, tmp_path)
    census_2024(world)
    pid = create(world, 1, requested_wan="12.00", construction_cost_wan="100.00", **PERIOD)  # 0.1200 = standard
    declare(world, pid)
    missing = refused(evaluate(world, pid), "project.transition_invalid", 409)["missing"]
    assert missing == ["om_review"]
    shown = world.get("finance_reviewer", f"/projects/{pid}/om-review").json()
    assert shown["recorded"] is False and shown["comparison"]["outcome"] == "within"
    r = world.post("declarer", f"/projects/{pid}/om-review", {})
    assert r.status_code == 200, r.text
    review = r.json()
    comparison = review["comparison"]
    assert (comparison["census_year"], comparison["standard_ratio"], comparison["ratio"]) == (2024, "0.1200", "0.1200")
    assert comparison["outcome"] == "within" and comparison["code"] is None
    assert review["needs"] == {"justification": False, "finance_decision": False} and review["proceeds"]
    refused(
        world.post("finance_reviewer", f"/projects/{pid}/om-review/decision", {"decision": "approve", "reason": "可"}),
        "project.om_review_state",
        409,
    )
    r = world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"})
    assert r.status_code == 200, r.text


def test_above_the_standard_needs_a_justification_and_the_finance_reviewers_approval_recorded_and_audited(db, tmp_path):
    world = make_world(db, tmp_path)
    census_2024(world)
    pid = create(world, 2, requested_wan="13.00", construction_cost_wan="100.00", **PERIOD)  # 0.1300 > 0.1200
    declare(world, pid)
    body = refused(world.post("declarer", f"/projects/{pid}/om-review", {}), "project.om_justification_required", 409)
    assert (body["ratio"], body["standard_ratio"], body["outcome"]) == ("0.1300", "0.1200", "above")
    justification = "系统新增等保三级测评要求，运维范围扩大到灾备中心"
    r = world.post("declarer", f"/projects/{pid}/om-review", {"justification": justification})
    assert r.status_code == 200, r.text
    assert r.json()["comparison"]["code"] == "project.om_above_standard"
    assert r.json()["needs"] == {"justification": False, "finance_decision": True}
    assert refused(evaluate(world, pid), "project.transition_invalid", 409)["missing"] == ["om_finance_decision"]
    decision = {"decision": "approve", "reason": "测评要求属实，同意按申报金额安排"}
    for role in ("declarer", "bigdata_reviewer", "finance_approver", "reader"):
        refused(world.post(role, f"/projects/{pid}/om-review/decision", decision), "auth.forbidden", 403)
    refused(
        world.post("finance_reviewer", f"/projects/{pid}/om-review/decision", {"decision": "approve"}),
        "project.invalid",
        400,
    )
    r = world.post("finance_reviewer", f"/projects/{pid}/om-review/decision", decision)
    assert r.status_code == 200, r.text
    review = r.json()["reviews"][0]
    assert (review["decision"], review["decision_reason"], review["justification"]) == (
        "approved",
        decision["reason"],
        justification,
    )
    assert review["decided_by"]["department"] and review["decided_at"] and r.json()["proceeds"]
    refused(
        world.post("finance_reviewer", f"/projects/{pid}/om-review/decision", decision), "project.om_review_state", 409
    )
    refused(
        world.post("declarer", f"/projects/{pid}/om-review", {"justification": "再审"}), "project.om_review_state", 409
    )
    r = world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"})
    assert r.status_code == 200, r.text
    with db.read() as session:
        actions = session.execute(
            select(ProjectAction.action, ProjectAction.detail).where(ProjectAction.project_id == pid)
        ).all()
        audited = session.execute(
            select(AuditEvent.action).where(AuditEvent.target == str(pid), AuditEvent.action.like("project:om_%"))
        ).scalars()
        assert sorted(audited) == ["project:om_decision", "project:om_review"]
    decided = [d for a, d in actions if a == "om_decision"]
    assert decided and decided[0]["decision"] == "approved" and decided[0]["reason"] == decision["reason"]


def test_a_finance_rejection_records_its_reason_and_rejects_the_project(db, tmp_path):
    world = make_world(db, tmp_path)
    census_2024(world)
    pid = create(world, 3, requested_wan="30.00", construction_cost_wan="100.00", **PERIOD)  # 0.3000
    declare(world, pid)
    world.post("declarer", f"/projects/{pid}/om-review", {"justification": "新增功能"})
    reason = "新增功能属于建设内容，应另行申报建设项目"
    r = world.post("finance_reviewer", f"/projects/{pid}/om-review/decision", {"decision": "reject", "reason": reason})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["reviews"][0]["decision"] == "rejected"
    shown = world.get("admin", f"/projects/{pid}").json()
    assert shown["status"] == "rejected" and shown["transitions"][-1]["comment"] == reason


def test_a_category_without_a_census_the_year_before_needs_the_finance_decision(db, tmp_path):
    world = make_world(db, tmp_path)
    census_2024(world)  # application_data only
    pid = create(
        world, 4, om_category="physical_resource", requested_wan="1.00", construction_cost_wan="100.00", **PERIOD
    )
    body = refused(world.post("declarer", f"/projects/{pid}/om-review", {}), "project.om_justification_required", 409)
    assert body["outcome"] == "no_standard" and body["standard_ratio"] is None
    r = world.post("declarer", f"/projects/{pid}/om-review", {"justification": "首年运维，尚无普查标准"})
    assert r.json()["comparison"]["outcome"] == "no_standard" and r.json()["needs"]["finance_decision"]


def test_the_period_is_declared_in_the_budget_year_and_needed_before_review(db, tmp_path):
    world = make_world(db, tmp_path)
    for bad in (
        {"period_start": "2024-01-01", "period_end": "2024-12-31"},  # not in the budget year 2025
        {"period_start": "2025-06-01", "period_end": "2025-05-31"},  # ends before it starts
        {"period_start": "2025-06-01"},  # no end
        {"period_start": "2025-02-30", "period_end": "2025-12-31"},
    ):
        body = om_body(world, 5, requested_wan="5.00", construction_cost_wan="100.00", **bad)
        refused(world.post("declarer", "/projects", body), "project.invalid", 400)
    pid = create(world, 5, requested_wan="5.00", construction_cost_wan="100.00")
    assert world.get("declarer", f"/projects/{pid}").json()["period_start"] is None
    refused(world.post("declarer", f"/projects/{pid}/om-review", {"justification": "无"}), "project.invalid", 400)
    r = world.post("declarer", f"/projects/{pid}/om-review", {"justification": "首年", **PERIOD})
    assert r.status_code == 200 and (r.json()["period_start"], r.json()["period_end"]) == ("2025-01-01", "2025-12-31")
    refused(world.post("declarer", f"/projects/{pid}/om-review/decision", {}), "auth.forbidden", 403)
    construction = world.post("declarer", "/projects", declare_body(world, name="另一个建设项目")).json()["id"]
    refused(world.get("declarer", f"/projects/{construction}/om-review"), "project.not_om", 409)


def filed_system(world, declarer: str = "declarer", department: int = 0) -> int:
    """A 2023 construction project of ``entities[department]`` taken to filed with 50.00 万元 approved."""
    body = declare_body(
        world, year=2023, name=f"市级电子证照共享平台{department}", department_uscc=world.entities[department]["uscc"]
    )
    r = world.post(declarer, "/projects", body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    if declarer == "declarer":
        to_evaluated(world, pid)
    else:  # another department's declarer
        upload(world, declarer, pid, "proposal")
        world.post(declarer, f"/projects/{pid}/transitions", {"to": "declared", **STATEMENT})
        for role, evaluation in (
            ("bigdata_reviewer", {"kind": "software", "function_points": FP}),
            ("finance_reviewer", {"kind": "hardware", "amount_wan": "20.00"}),
        ):
            world.post(role, f"/projects/{pid}/evaluations", evaluation)
        assert world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"}).status_code == 200
    to_approved(world, pid, amount_wan="50.00")
    steps = [
        (declarer, "transitions", {"to": "procuring"}),
        (declarer, "vendors", {"uscc": world.entities[3]["uscc"], "role": "contractor"}),
    ]
    for role, route, payload in steps:
        assert world.post(role, f"/projects/{pid}/{route}", payload).status_code in (200, 201)
    upload(world, declarer, pid, "contract")
    assert world.post(declarer, f"/projects/{pid}/transitions", {"to": "implementing"}).status_code == 200
    upload(world, declarer, pid, "acceptance_report")
    assert world.post(declarer, f"/projects/{pid}/transitions", {"to": "accepted"}).status_code == 200
    assert world.post("finance_approver", f"/projects/{pid}/transitions", {"to": "filed"}).status_code == 200
    return pid


def test_an_om_project_of_a_filed_system_takes_its_cost_and_shows_its_growth_year_on_year(db, tmp_path):
    world = make_world(db, tmp_path)
    system = filed_system(world)
    years = {}
    for year, contract in ((2023, "4.00"), (2024, "6.00"), (2025, "7.50")):
        span = {"period_start": f"{year}-01-01", "period_end": f"{year}-12-31"}
        body = {"year": year, "requested_wan": contract, "system_project_id": system, "systems": [], **span}
        years[year] = create(world, 10 + year % 10, **body)
        declare(world, years[year])
    shown = world.get("declarer", f"/projects/{years[2025]}").json()
    assert shown["construction_cost_wan"] == "50.00" and shown["system_project_id"] == system
    assert shown["systems"] == ["市级电子证照共享平台0"]
    history = world.get("finance_reviewer", f"/projects/{years[2025]}/om-review").json()["history"]
    # 6 / 4 − 1 = 0.5; 7.5 / 6 − 1 = 0.25
    assert [(h["year"], h["contract_wan"], h["growth"]) for h in history] == [
        (2023, "4.00", None),
        (2024, "6.00", "0.5000"),
        (2025, "7.50", "0.2500"),
    ]
    assert [p["id"] for h in history for p in h["projects"]] == [years[2023], years[2024], years[2025]]
    # the 2024 census of application_data is the 2024 project alone: 6 / 50 = 0.1200; 7.5 / 50 = 0.1500 is above
    comparison = world.get("declarer", f"/projects/{years[2025]}/om-review").json()["comparison"]
    assert (comparison["standard_ratio"], comparison["ratio"], comparison["outcome"]) == ("0.1200", "0.1500", "above")


def test_the_system_maintained_is_a_filed_construction_project_of_the_declaring_department(db, tmp_path):
    world = make_world(db, tmp_path)
    other = world.declarer_of(1)
    theirs = filed_system(world, other, department=1)
    draft = world.post("declarer", "/projects", declare_body(world, name="尚未建成的系统")).json()["id"]
    om_project = create(world, 20, requested_wan="1.00", construction_cost_wan="10.00")
    base = om_body(world, 21, requested_wan="1.00")
    refused(world.post("declarer", "/projects", {**base, "system_project_id": theirs}), "project.not_found", 404)
    for not_filed in (draft, om_project):
        refused(
            world.post("declarer", "/projects", {**base, "system_project_id": not_filed}),
            "project.om_system_invalid",
            409,
        )
    # an admin declaring for entities[0]'s department cannot name entities[1]'s system either
    refused(world.post("admin", "/projects", {**base, "system_project_id": theirs}), "project.om_system_invalid", 409)
    both = {**base, "system_project_id": theirs, "construction_cost_wan": "10.00"}
    refused(world.post("declarer", "/projects", both), "project.invalid", 400)
    refused(world.post("declarer", "/projects", {**base, "construction_cost_wan": "0.00"}), "project.invalid", 400)


def test_a_department_reviews_only_its_own_om_projects(db, tmp_path):
    world = make_world(db, tmp_path)
    other = world.declarer_of(1)
    theirs = create(
        world,
        30,
        role=other,
        department_uscc=world.entities[1]["uscc"],
        requested_wan="1.00",
        construction_cost_wan="10.00",
        **PERIOD,
    )
    mine = create(world, 31, requested_wan="1.00", construction_cost_wan="10.00", **PERIOD)
    for path in (f"/projects/{theirs}/om-review", "/projects/987654321/om-review"):
        refused(world.get("declarer", path), "project.not_found", 404)
        refused(world.post("declarer", path, {"justification": "越权"}), "project.not_found", 404)
    assert world.post(other, f"/projects/{theirs}/om-review", {"justification": "本部门"}).status_code == 200
    refused(world.post("reader", f"/projects/{mine}/om-review", {"justification": "x"}), "auth.forbidden", 403)
    assert world.get("finance_reviewer", f"/projects/{theirs}/om-review").status_code == 200


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_as(world, role: str) -> tuple[TestClient, str]:
    """A console client signed in with ``role``'s key, and its CSRF token."""
    c = TestClient(world.client.app, base_url="https://testserver")
    token = TOKEN.search(c.get("/console/login").text).group(1)
    r = c.post("/console/login", data={"api_key": world.keys[role], "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c, TOKEN.search(c.get("/console/om-reviews").text).group(1)


def test_the_console_takes_the_review_and_the_decision_and_shows_only_the_departments_own(db, tmp_path):
    world = make_world(db, tmp_path)
    census_2024(world)
    pid = create(world, 40, requested_wan="20.00", construction_cost_wan="100.00", **PERIOD)  # 0.2000 > 0.1200
    declare(world, pid)
    other = world.declarer_of(1)
    theirs = create(
        world,
        41,
        role=other,
        department_uscc=world.entities[1]["uscc"],
        requested_wan="1.00",
        construction_cost_wan="100.00",
        **PERIOD,
    )
    declarer, token = console_as(world, "declarer")
    listed = declarer.get("/console/om-reviews").text
    assert f'data-project="{pid}"' in listed and f'data-project="{theirs}"' not in listed
    assert declarer.get(f"/console/projects/{theirs}/om-review").status_code == 404
    page = declarer.get(f"/console/projects/{pid}/om-review").text
    assert 'data-outcome="above"' in page and "0.2000" in page and "0.1200" in page and 'id="review-submit"' in page
    assert 'id="decision-submit"' not in page
    r = declarer.post(
        f"/console/projects/{pid}/om-review",
        data={"csrf_token": token, "justification": "驻场人员增加"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=review")
    finance, token = console_as(world, "finance_reviewer")
    page = finance.get(f"/console/projects/{pid}/om-review").text
    assert (
        'id="decision-submit"' in page
        and "驻场人员增加" in page
        and f'data-project="{theirs}"' in finance.get("/console/om-reviews").text
    )
    r = finance.post(
        f"/console/projects/{pid}/om-review/decision",
        data={"csrf_token": token, "decision": "approve", "reason": "人员配置合理"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=approved")
    page = finance.get(r.headers["location"]).text
    assert "人员配置合理" in page and "同意" in page and 'id="decision-submit"' not in page
    assert world.get("admin", f"/projects/{pid}/om-review").json()["reviews"][0]["decision"] == "approved"
