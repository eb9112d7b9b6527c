"""Issue 26, kind 10: a mixed-source file — a column names each row's source system — loads in one batch with
the row's source system, priority and authority; an undeclared value is a reject (``row.source_undeclared``);
and load remit holds for every system a row may name: a loader that may not load under one of them is refused
the whole file before anything is read or stored (``load.department_mismatch``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from stdnum.cn import uscc

from loaders.profiles import parse_profile
from mdm.access.departments import add_department, code_for_name
from mdm.errors import LoadRefused, OwnerConflict, ProfileRejected
from mdm.keys import Caller
from mdm.models import Batch, SourceRecord, SourceSystem
from standards import checkdigits
from tests.helpers import csv_file, golden, load, rejects, warnings

REGISTRY_DEPT = code_for_name("mixed registry bureau")
TAX_DEPT = code_for_name("mixed tax bureau")
REGISTRY = {"id": "mix-registry", "name": "市场监管登记系统", "department": REGISTRY_DEPT}
TAX = {"id": "mix-tax", "name": "税务征管系统", "department": TAX_DEPT}
LICENCES = {"id": "mix-licences", "name": "登记局证照系统", "department": REGISTRY_DEPT}
EXCHANGE = {"id": "mix-exchange", "name": "登记局数据交换前置机", "department": REGISTRY_DEPT}


def with_check(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


def without_check(body17: str) -> str:
    right = uscc.calc_check_digit(body17)
    return body17 + next(ch for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY" if ch != right)


def company(body8: str) -> str:
    """A 工商 enterprise of 320505 with organisation code ``body8`` + its GB 11714 check character."""
    return with_check(f"91320505{body8}{checkdigits.org_code_check_character(body8)}")


COMPANY, OTHER, THIRD, FOURTH = (company(f"MA1XY2{n}") for n in ("A1", "B2", "C3", "D4"))
LEGACY = "91320505MA1B2C3D86"  # a pilot-era code: its authority may load it (uscc.checksum_legacy)
UNKNOWN = without_check("52320505MJ5678901")


def mixed(systems=None, **changes):
    document = {
        "repository": "legal_entity",
        "source_system": EXCHANGE,
        "format": "csv",
        "sources": {
            "column": "来源",
            "systems": systems
            or {
                "市场监管": {**REGISTRY, "priority": 90, "authoritative": True},
                "税务": {**TAX, "priority": 10},
            },
        },
        "fields": {"uscc": {"column": "uscc", "normalise": ["identifier"]}, "name": {"column": "name"}},
        **changes,
    }
    return parse_profile(document, default_name="mixed-entities")


def entity_file(tmp_path, rows, name="mixed.csv"):
    return csv_file(tmp_path / name, [",".join(r) for r in rows], header="uscc,name,来源")


ROWS = [
    (COMPANY, "甲公司（登记名）", "市场监管"),
    (LEGACY, "乙公司", "市场监管"),  # the registry is the authority: loaded with a warning
    (UNKNOWN, "丙公司", "税务"),  # the tax bureau is not: refused as any failing check character
    (COMPANY, "甲公司（税务名）", "税务"),  # same entity, a later row, a lower priority: loses survivorship
    (OTHER, "丁公司", "社保"),  # no such value declared
    (THIRD, "戊公司", ""),  # no value
    (FOURTH, "己公司", " 税务 "),  # trimmed
]


def sources(db) -> dict[tuple[str, str], int]:
    with db.read() as session:
        rows = session.execute(
            sa.select(SourceRecord.source_system_id, SourceRecord.business_key, SourceRecord.priority).where(
                SourceRecord.repository == "legal_entity"
            )
        ).all()
    return {(system, key): priority for system, key, priority in rows}


def test_each_row_loads_under_the_source_system_it_names_with_its_priority_and_authority(db, tmp_path):
    summary = load(db, mixed(), entity_file(tmp_path, ROWS), tmp_path)
    assert (summary["status"], summary["read"], summary["inserted"], summary["rejected"]) == ("committed", 7, 4, 3)
    assert {r["row"]: r["code"] for r in rejects(summary)} == {
        4: "uscc.checksum",
        6: "row.source_undeclared",
        7: "row.source_undeclared",
    }
    assert [(w["row"], w["code"]) for w in warnings(summary)] == [(3, "uscc.checksum_legacy")]
    assert sources(db) == {
        ("mix-registry", COMPANY): 90,
        ("mix-registry", LEGACY): 90,
        ("mix-tax", COMPANY): 10,
        ("mix-tax", FOURTH): 10,
    }
    assert golden(db, "legal_entity", COMPANY).data["name"] == "甲公司（登记名）"  # the registry's priority wins
    with db.read() as session:
        owners = dict(session.execute(sa.select(SourceSystem.id, SourceSystem.department_id)).tuples().all())
        batch = session.get(Batch, summary["batch_id"])
    assert owners == {"mix-exchange": REGISTRY_DEPT, "mix-registry": REGISTRY_DEPT, "mix-tax": TAX_DEPT}
    assert batch.source_system_id == "mix-exchange" and batch.status == "committed"
    again = load(db, mixed(), entity_file(tmp_path, ROWS, name="again.csv"), tmp_path)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 4)  # re-loading changes nothing


def test_the_same_key_twice_under_one_system_is_a_duplicate_and_under_two_it_is_two_sources(db, tmp_path):
    rows = [(COMPANY, "甲", "税务"), (COMPANY, "甲二", "税务"), (COMPANY, "甲", "市场监管")]
    summary = load(db, mixed(), entity_file(tmp_path, rows), tmp_path)
    assert summary["inserted"] == 2 and {r["row"]: r["code"] for r in rejects(summary)} == {3: "batch.duplicate_key"}


def test_a_loader_is_refused_the_whole_file_when_a_row_may_name_another_departments_system(db, tmp_path):
    with db.write() as session:
        add_department(session, department_id=REGISTRY_DEPT, name="混合来源登记局")
        add_department(session, department_id=TAX_DEPT, name="混合来源税务局")
    registry_loader = Caller(REGISTRY_DEPT, "loader", "test")
    path = entity_file(tmp_path, [(COMPANY, "甲公司", "市场监管")])  # not one tax row: still refused
    with pytest.raises(LoadRefused) as refused:
        load_as(db, mixed(), path, tmp_path, registry_loader)
    assert refused.value.code == "load.department_mismatch" and "mix-tax" in refused.value.detail
    with db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Batch)).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(SourceRecord)).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(SourceSystem)).scalar_one() == 0
    assert not (tmp_path / "loads").exists()  # no report either

    own = mixed({"市场监管": {**REGISTRY, "priority": 90, "authoritative": True}, "证照": {**LICENCES}})
    summary = load_as(
        db, own, entity_file(tmp_path, [(COMPANY, "甲", "市场监管"), (OTHER, "丁", "证照")]), tmp_path, registry_loader
    )
    assert summary["inserted"] == 2 and summary["rejected"] == 0

    tax_loader = Caller(TAX_DEPT, "loader", "test")
    with pytest.raises(LoadRefused):  # the file's own system is the registry's: refused as well
        load_as(db, mixed({"税务": {**TAX}}), entity_file(tmp_path, [(THIRD, "戊", "税务")]), tmp_path, tax_loader)


def test_a_profile_cannot_take_over_a_row_system_another_department_owns(db, tmp_path):
    load(db, mixed(), entity_file(tmp_path, ROWS[:1]), tmp_path)  # a steward's load records mix-tax as the tax's
    claimed = mixed({"税务": {**TAX, "department": REGISTRY_DEPT}})
    with db.write() as session:
        add_department(session, department_id=REGISTRY_DEPT, name="混合来源登记局")
        add_department(session, department_id=TAX_DEPT, name="混合来源税务局")
    with pytest.raises(OwnerConflict):
        load(db, claimed, entity_file(tmp_path, [(OTHER, "丁", "税务")], name="b.csv"), tmp_path)
    with pytest.raises(LoadRefused):
        load_as(
            db,
            claimed,
            entity_file(tmp_path, [(OTHER, "丁", "税务")], name="c.csv"),
            tmp_path,
            Caller(REGISTRY_DEPT, "loader", "test"),
        )


@pytest.mark.parametrize(
    "changes, why",
    [
        ({"mode": "snapshot"}, "delta"),
        ({"authoritative": True}, "per declared system"),
        ({"source_system": REGISTRY}, "must not be one the rows name"),
    ],
)
def test_a_mixed_source_profile_is_a_delta_with_authority_per_system(changes, why):
    with pytest.raises(ProfileRejected) as refused:
        mixed(**changes)
    assert why in refused.value.detail


def test_two_values_may_not_name_one_system():
    with pytest.raises(ProfileRejected):
        mixed({"税务": {**TAX}, "国税": {**TAX}})


def load_as(db, prof, path, tmp_path, actor):
    from loaders.pipeline import LoadOptions, load_file

    return load_file(db, prof, path, options=LoadOptions(report_root=tmp_path / "loads"), actor=actor)


def test_through_the_api_a_loader_is_refused_a_mixed_file_naming_another_departments_system(db, tmp_path):
    import yaml
    from fastapi.testclient import TestClient

    from api.app import create_app
    from mdm.keys import create_key
    from mdm.settings import Settings

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    document = mixed().model_dump(mode="json", exclude={"name"}, exclude_none=True)
    (profiles / "mixed-entities.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    own = mixed({"市场监管": {**REGISTRY, "priority": 90, "authoritative": True}})
    document = own.model_dump(mode="json", exclude={"name"}, exclude_none=True)
    (profiles / "own-entities.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    settings = Settings(database_url="sqlite://", report_dir=tmp_path / "loads", profile_path=str(profiles))
    with db.write() as session:
        add_department(session, department_id=REGISTRY_DEPT, name="混合来源登记局")
        add_department(session, department_id=TAX_DEPT, name="混合来源税务局")
    key = create_key(db, department=REGISTRY_DEPT, role="loader")
    client = TestClient(create_app(settings, db=db), raise_server_exceptions=False)

    def post(name: str):
        with entity_file(tmp_path, ROWS[:2]).open("rb") as fh:
            return client.post(
                "/repositories/legal_entity/loads",
                headers={"Authorization": f"Bearer {key}"},
                data={"profile": name},
                files={"file": ("m.csv", fh, "text/csv")},
            )

    refused = post("mixed-entities")
    assert refused.status_code == 403 and refused.json()["code"] == "load.department_mismatch"
    assert sources(db) == {}
    loaded = post("own-entities")
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["inserted"] == 2 and set(sources(db)) == {("mix-registry", COMPANY), ("mix-registry", LEGACY)}


def test_rows_prepared_by_worker_processes_in_small_chunks_load_alike(db, tmp_path):
    summary = load(db, mixed(), entity_file(tmp_path, ROWS), tmp_path, workers=2, chunk_rows=2)
    assert (summary["inserted"], summary["rejected"]) == (4, 3)
    assert set(sources(db)) == {
        ("mix-registry", COMPANY),
        ("mix-registry", LEGACY),
        ("mix-tax", COMPANY),
        ("mix-tax", FOURTH),
    }
