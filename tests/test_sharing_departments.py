"""Departments and purposes as a hostile steward's typo or a look-alike would meet them (issue 20), on SQLite and
PostgreSQL: a key only for a registered department, one owner per repository changed explicitly, names that
show what they are."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from mdm import audit
from mdm.access.departments import add_department, add_purpose, list_departments, owner_of, set_owner
from mdm.errors import MdmError
from mdm.keys import issue_key, list_keys
from mdm.models import AuditEvent, Department
from mdm.settings import Settings

POLICE, MARKET = "11990000MB0000010K", "11990000MB0000020L"


@pytest.fixture
def steward(db, tmp_path):
    """(client, admin headers, db): an app on ``db`` with one registered steward department and its key."""
    with db.write() as session:
        add_department(session, department_id="bigdata", name="大数据管理局")
    key = issue_key(db, department="bigdata", role="admin").key
    client = TestClient(create_app(Settings(database_url="sqlite://", report_dir=tmp_path), db=db))
    return client, {"Authorization": f"Bearer {key}"}, db


def refused(call, code: str) -> MdmError:
    with pytest.raises(MdmError) as caught:
        call()
    assert caught.value.code == code, caught.value.detail
    return caught.value


def departments(db) -> list[dict]:
    with db.read() as session:
        return list_departments(session)


def actions(db) -> list[str]:
    with db.read() as session:
        return list(session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


# -- keys only for registered departments ----------------------------------------------------------------------


def test_a_key_for_an_unknown_department_is_refused_and_registers_nothing(db):
    with db.write() as session:
        add_department(session, department_id="rs01", name="人社局")
    refused(lambda: issue_key(db, department="RS001", role="reader"), "department.not_found")
    refused(lambda: issue_key(db, department="人社 局", role="reader"), "department.not_found")
    assert [d["id"] for d in departments(db)] == ["rs01"] and list_keys(db) == []


def test_a_department_is_registered_with_its_key_only_when_asked(db):
    issued = issue_key(db, department="rs01", role="reader", register=True, name="人力资源和社会保障局")
    assert issued.registered and issued.department == "rs01"
    assert [(d["id"], d["name"]) for d in departments(db)] == [("rs01", "人力资源和社会保障局")]
    by_name = issue_key(db, department="统计局", role="reader", register=True)
    assert by_name.registered and by_name.department.startswith("dept-")
    again = issue_key(db, department="rs01", role="loader", register=True, name="人力资源和社会保障局")
    assert not again.registered and again.department == "rs01"
    refused(lambda: issue_key(db, department="rs01", role="loader", register=True, name="别的局"), "department.exists")
    assert actions(db).count("department:add") == 2 and actions(db).count("key:issue") == 3


def test_registering_with_a_key_keeps_the_department_rules(db):
    issue_key(db, department="tax", role="reader", register=True, name="苏州市税务局")
    refused(
        lambda: issue_key(db, department="tax2", role="reader", register=True, name="蘇州市 稅務局"),
        "department.name_confusable",
    )
    refused(lambda: issue_key(db, department="RS 001", role="reader", register=True, name="x"), "department.invalid")


# -- one owner per repository ----------------------------------------------------------------------------------


def test_a_second_owner_of_a_repository_is_refused(db):
    with db.write() as session:
        add_department(session, department_id=POLICE, name="公安局", owns=["natural_person"])
    with db.write() as session:
        error = refused(
            lambda: add_department(session, department_id=MARKET, name="市场监管局", owns=["natural_person"]),
            "department.owner_exists",
        )
    assert error.extra == {"repository": "natural_person", "owner": POLICE}
    assert [d["id"] for d in departments(db)] == [POLICE]


def test_the_owner_changes_only_by_an_audited_transfer(db):
    with db.write() as session:
        add_department(session, department_id=POLICE, name="公安局", owns=["natural_person"])
        add_department(session, department_id=MARKET, name="市场监管局", owns=["legal_entity"])
    with db.write() as session:
        moved = set_owner(session, repository="natural_person", department="市场监管局", actor="bigdata")
    assert moved == {"repository": "natural_person", "owner": MARKET, "previous": [POLICE]}
    with db.read() as session:
        assert owner_of(session, "natural_person") == MARKET
        assert session.get(Department, POLICE).owns == []
        assert session.get(Department, MARKET).owns == ["legal_entity", "natural_person"]
        [event] = audit.find_events(session, department="bigdata", limit=5)
    assert event["action"] == "department:set_owner" and event["detail"]["previous"] == [POLICE]
    with db.write() as session:
        assert set_owner(session, repository="natural_person", department=None, actor="bigdata")["owner"] is None
        assert owner_of(session, "natural_person") is None
    with db.write() as session:
        refused(
            lambda: set_owner(session, repository="natural_person", department="nobody", actor=None),
            "department.not_found",
        )
        refused(lambda: set_owner(session, repository="persons", department=POLICE, actor=None), "repository.unknown")


def test_a_store_with_two_owners_from_before_the_rule_has_no_owner_rather_than_the_first_id(db):
    with db.write() as session:
        add_department(session, department_id=POLICE, name="公安局", owns=["natural_person"])
        add_department(session, department_id=MARKET, name="市场监管局")
    with db.write() as session:
        session.execute(sa.update(Department).where(Department.id == MARKET).values(owns=["natural_person"]))
    with db.read() as session:
        assert owner_of(session, "natural_person") is None


def test_the_api_refuses_a_second_owner_and_transfers_on_request(steward):
    client, admin, db = steward
    body = {"id": POLICE, "name": "公安局", "owns": ["natural_person"]}
    assert client.post("/departments", json=body, headers=admin).status_code == 201
    second = client.post(
        "/departments", json={"id": MARKET, "name": "市场监管局", "owns": ["natural_person"]}, headers=admin
    )
    assert second.status_code == 409 and second.json()["code"] == "department.owner_exists"
    assert second.json()["owner"] == POLICE
    assert client.post("/departments", json={"id": MARKET, "name": "市场监管局"}, headers=admin).status_code == 201
    moved = client.put("/repositories/natural_person/owner", json={"department": MARKET}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"repository": "natural_person", "owner": MARKET, "previous": [POLICE]}
    owners = {d["id"]: d["owns"] for d in client.get("/departments", headers=admin).json()["items"]}
    assert owners[POLICE] == [] and owners[MARKET] == ["natural_person"]
    assert "department:set_owner" in actions(db)
    reader = issue_key(db, department=POLICE, role="reader").key
    denied = client.put(
        "/repositories/natural_person/owner", json={"department": POLICE}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert denied.status_code == 403
    missing = client.put("/repositories/natural_person/owner", json={"department": "nobody"}, headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "department.not_found"


# -- names that show what they are -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "\u202e局务税市州苏",  # RIGHT-TO-LEFT OVERRIDE: displays as 苏州市税务局
        "苏州市\u200b税务局",  # ZERO WIDTH SPACE
        "苏州市\u2066税务局\u2069",  # LEFT-TO-RIGHT ISOLATE … POP DIRECTIONAL ISOLATE
        "苏州市税务局\ufeff",  # ZERO WIDTH NO-BREAK SPACE (BOM)
        "苏州市\u3164税务局",  # HANGUL FILLER: a letter that renders blank
        "苏州市税务局\ufe0f",  # VARIATION SELECTOR-16
        "苏州市\n税务局",
        "苏州市\u2028税务局",  # LINE SEPARATOR
        "\ue000税务局",  # private use
    ],
)
def test_a_department_name_with_an_invisible_character_is_refused(db, name):
    with db.write() as session:
        error = refused(lambda: add_department(session, department_id="tax", name=name), "department.invalid")
    assert error.extra["characters"]
    assert departments(db) == []


def test_a_department_name_is_kept_in_nfkc_with_single_spaces(db):
    with db.write() as session:
        add_department(session, department_id="tax", name="  苏州市税务局（示例）\u3000 第一分局 ")
    assert departments(db)[0]["name"] == "苏州市税务局(示例) 第一分局"
    with db.read() as session:
        from mdm.access.departments import find_department

        assert find_department(session, "苏州市税务局（示例）　第一分局").id == "tax"


@pytest.mark.parametrize(
    ("look_alike", "code", "existing"),
    [
        ("苏州市 税务局", "department.name_confusable", "tax"),  # a space
        ("蘇州市稅務局", "department.name_confusable", "tax"),  # traditional characters (OpenCC t2s)
        ("sz 税务局", "department.name_confusable", "sztax"),  # case and a space
        ("苏州市税务局\u3000", "department.exists", "tax"),  # NFKC and trimmed: the same name (its id named)
        ("ＳＺ税务局", "department.exists", "sztax"),  # full-width letters: NFKC makes it the same name
    ],
)
def test_a_department_name_that_reads_like_a_registered_one_is_refused(db, look_alike, code, existing):
    with db.write() as session:
        add_department(session, department_id="tax", name="苏州市税务局")
        add_department(session, department_id="sztax", name="SZ税务局")
    with db.write() as session:
        error = refused(lambda: add_department(session, department_id="tax2", name=look_alike), code)
    assert error.extra.get("existing") == existing
    assert len(departments(db)) == 2


def test_purpose_titles_follow_the_same_rules(db):
    with db.write() as session:
        add_purpose(session, code="tax.audit", title="税务检查", legal_basis="《税收征收管理法》第五十四条")
    with db.write() as session:
        refused(
            lambda: add_purpose(session, code="tax.check", title="稅務 檢查", legal_basis="x"),
            "purpose.name_confusable",
        )
        refused(
            lambda: add_purpose(session, code="tax.check", title="\u202e查检务税", legal_basis="x"), "purpose.invalid"
        )
        refused(
            lambda: add_purpose(session, code="tax.check", title="税务稽查", legal_basis="法\u200b律"),
            "purpose.invalid",
        )
    with db.write() as session:
        row = add_purpose(session, code="tax.check", title="税务稽查（专项）", legal_basis="同上")
        assert row.title == "税务稽查(专项)"


def test_the_api_answers_invisible_and_confusable_names_with_their_codes(steward):
    client, admin, _ = steward
    rlo = client.post("/departments", json={"id": "tax", "name": "\u202e局务税市州苏"}, headers=admin)
    assert rlo.status_code == 400 and rlo.json()["code"] == "department.invalid"
    assert rlo.json()["characters"] == ["U+202E"]
    assert client.post("/departments", json={"id": "tax", "name": "苏州市税务局"}, headers=admin).status_code == 201
    alike = client.post("/departments", json={"id": "tax2", "name": "蘇州市稅務局"}, headers=admin)
    assert alike.status_code == 409 and alike.json()["code"] == "department.name_confusable"
    purpose = {"code": "tax.audit", "title": "税务检查", "legal_basis": "《税收征收管理法》"}
    assert client.post("/purposes", json=purpose, headers=admin).status_code == 201
    twin = client.post("/purposes", json={**purpose, "code": "tax.audit2", "title": "税务 检查"}, headers=admin)
    assert twin.status_code == 409 and twin.json()["code"] == "purpose.name_confusable"


def test_an_unknown_department_is_answered_with_the_registered_ones_it_resembles(db):
    from mdm.access.departments import add_department, get_department
    from mdm.errors import NotFound

    with db.write() as session:
        add_department(session, department_id="11990000MB0000030M", name="苏州市民政局（示例）")
    with pytest.raises(NotFound, match=r"did you mean 苏州市民政局\(示例\) \(11990000MB0000030M\)"):
        issue_key(db, department="苏州市民政局", role="reader")
    with db.read() as session, pytest.raises(NotFound) as refused:
        get_department(session, "税务局")
    assert "did you mean" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("苏州巿民政局(示例)", "department.name_confusable"),  # 巿 U+5DFF looks like 市
        ("苏州市民政局(示例)\u0301", "department.invalid"),  # a combining accent
        ("ЅUZHOU民政局", "department.invalid"),  # a Cyrillic Ѕ among Latin letters
    ],
)
def test_names_that_only_look_like_a_registered_one_are_refused(db, name, refusal):
    from mdm.access.departments import add_department
    from mdm.errors import MdmError

    with db.write() as session:
        add_department(session, department_id="11990000MB0000030M", name="苏州市民政局（示例）")
        add_department(session, department_id="hx01", name="SUZHOU民政局")
    with pytest.raises(MdmError) as refused, db.write() as session:
        add_department(session, department_id="hx02", name=name)
    assert refused.value.code == refusal
