"""The console speaks Chinese: every code it shows (error codes, stages, kinds, document types, cost steps,
vendor roles, credit record types, statuses) carries its Chinese title from the data dictionary beside it, and a
search without a chosen purpose is the search page with its form, in Chinese, answered 400 — on SQLite and
PostgreSQL."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from api.console.titles import Titles
from mdm.projects import dictionary
from standards import default_registry
from tests.projects_world import declare_body, make_world, to_evaluated

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(db, tmp_path):
    return make_world(db, tmp_path)


def console(world, key: str, purpose: str | None = None) -> TestClient:
    c = TestClient(world.client.app, base_url="https://testserver")
    token = TOKEN.search(c.get("/console/login").text).group(1)
    signed = c.post("/console/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
    assert signed.status_code == 303
    if purpose:
        csrf = TOKEN.search(c.get("/console/repositories").text).group(1)
        c.post("/console/purpose", data={"csrf_token": csrf, "purpose": purpose}, follow_redirects=False)
    return c


def text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", response.text))


def test_the_data_dictionary_has_the_cost_steps_and_vendor_roles_in_chinese(db):
    lists = {x["name"]: {c["code"]: c["title"] for c in x["codes"]} for x in dictionary.dictionary(db)["lists"]}
    assert lists["cost_step"]["effort_person_hours"] == "工作量 AE，人时"
    assert lists["vendor_role"] == {"contractor": "承建单位", "supervisor": "监理单位"}
    assert len(lists["cost_step"]) == 10


def test_titles_come_from_the_dictionary_the_standards_and_the_code_table(db):
    titles = Titles(db, default_registry())
    assert titles.titled("project_stage", "approved") == "已批复（approved）"
    step = "unadjusted_function_points"
    assert titles.titled("cost_step", step) == f"未调整功能点数 UFP（{step}）"
    assert titles.titled("credit_record.record_type", "administrative_penalty") == "行政处罚（administrative_penalty）"
    assert titles.titled("credit_record.penalty_category", "warning_criticism") == "警告、通报批评（warning_criticism）"
    assert titles.titled("error", "id.checksum") == "身份证号码校验位错误（id.checksum）"
    assert titles.titled("record_status", "retired") == "已退役（retired）"
    assert titles.titled("project_stage", "no_such_stage") == "no_such_stage"  # no title: the code as it is


def test_every_role_has_a_chinese_title():
    from mdm.keys import ROLES
    from standards.code_titles import LISTS

    assert set(LISTS["role"]) == set(ROLES)


def test_a_search_without_a_chosen_purpose_is_the_search_page_answered_400_in_chinese(world):
    c = console(world, world.keys["admin"])
    page = c.get("/console/repositories/legal_entity", params={"q": "有限公司"})
    assert page.status_code == 400
    shown = text(page)
    assert "未选择用途（错误代码 access.purpose_required）" in shown
    assert "请在页面顶部选择本次查询的用途" in shown
    assert 'id="q"' in page.text and 'value="有限公司"' in page.text  # the form, with what was typed
    lookup = c.get("/console/repositories/legal_entity", params={"field": "uscc", "value": world.entities[1]["uscc"]})
    assert lookup.status_code == 400 and 'id="search-problem" data-code="access.purpose_required"' in lookup.text


def test_a_search_with_a_purpose_answers_200_with_the_hits(world):
    from mdm.access.departments import add_purpose

    with world.db.write() as session:
        add_purpose(session, code="review.credit", title="信用审查", legal_basis="国发〔2016〕33号")
    c = console(world, world.keys["admin"], purpose="review.credit")
    page = c.get("/console/repositories/legal_entity", params={"field": "uscc", "value": world.entities[1]["uscc"]})
    assert page.status_code == 200 and world.entities[1]["name"] in page.text


def test_an_error_page_shows_the_chinese_title_beside_the_code(world):
    c = console(world, world.keys["admin"])
    missing = c.get("/console/projects/987654")
    assert missing.status_code == 404
    assert "项目不存在（错误代码 project.not_found）" in text(missing)
    unknown = c.get("/console/no-such-page")
    assert "页面或接口不存在（错误代码 request.not_found）" in text(unknown)


def test_a_project_page_shows_stage_kind_documents_cost_steps_and_vendor_roles_with_their_titles(world):
    project = world.post("declarer", "/projects", declare_body(world)).json()["id"]
    to_evaluated(world, project)
    shown = text(console(world, world.keys["admin"]).get(f"/console/projects/{project}"))
    for step, title in (
        ("unadjusted_function_points", "未调整功能点数 UFP"),
        ("effort_person_hours", "工作量 AE，人时"),
        ("amount_wan", "软件开发费用，万元"),
    ):
        assert f"{title}（{step}）" in shown
    words = {x["name"]: {c["code"]: c["title"] for c in x["codes"]} for x in dictionary.dictionary(world.db)["lists"]}
    assert f"{words['project_stage']['evaluated']}（evaluated）" in shown
    assert f"{words['project_kind']['construction']}（construction）" in shown
    assert f"{words['project_document_type']['proposal']}（proposal）" in shown
    assert f"{words['evaluation_kind']['software']}（software）" in shown


def test_a_vendors_role_and_credit_record_type_show_their_titles(world):
    from tests.projects_world import to_approved, upload

    project = world.post("declarer", "/projects", declare_body(world)).json()["id"]
    to_evaluated(world, project)
    to_approved(world, project)
    assert world.post("declarer", f"/projects/{project}/transitions", {"to": "procuring"}).status_code == 200
    awarded = world.post("declarer", f"/projects/{project}/vendors", {"uscc": world.minor_uscc, "role": "contractor"})
    assert awarded.status_code in (200, 201), awarded.text
    upload(world, "declarer", project, "contract")
    shown = text(console(world, world.keys["admin"]).get(f"/console/projects/{project}"))
    assert "承建单位（contractor）：" in shown
    assert "行政处罚（administrative_penalty） · 警告、通报批评（warning_criticism）" in shown


def test_a_record_page_shows_coded_values_with_their_titles_from_the_standard(world):
    from mdm.access.departments import add_purpose

    with world.db.write() as session:
        add_purpose(session, code="review.credit", title="信用审查", legal_basis="国发〔2016〕33号")
    c = console(world, world.keys["admin"], purpose="review.credit")
    page = c.get("/console/repositories/credit_record/records/T-WARN-1")
    assert page.status_code == 200
    shown = text(page)
    assert "行政处罚（administrative_penalty）" in shown  # x-labels of the standard
    assert "警告、通报批评（warning_criticism）" in shown  # the shipped code list penalty_category
    assert "有效（active）" in shown
