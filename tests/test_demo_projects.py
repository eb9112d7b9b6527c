"""The demo's projects as a finance bureau would expect them, on SQLite and PostgreSQL: declared by government
bodies (机关法人, registered departments whose id is their USCC), approvals within the amount requested and the
control price, and O&M growth of a few per cent a year for the same systems."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api import samples
from api.demo import COUNTS, SAMPLES
from api.demo_projects import OM_SYSTEMS, seed_projects
from api.demo_sharing import DEPARTMENTS
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.keys import Caller
from mdm.projects import census, service


@pytest.fixture(scope="module")
def seeded(module_db, tmp_path_factory):
    db, tmp_path = module_db, tmp_path_factory.mktemp("demo-projects")
    companies = list(samples.entities(COUNTS["entities"]))
    people = list(samples.persons(COUNTS["persons"]))
    credit = list(samples.credit_records(COUNTS["credit"], companies, people))
    options = LoadOptions(report_root=tmp_path / "loads")
    for profile, path in (
        ("entities.yaml", samples.write_csv(tmp_path / "e.csv", [*samples.government_bodies(), *companies])),
        ("credit.yaml", samples.write_jsonl(tmp_path / "c.jsonl", credit)),
    ):
        summary = load_file(db, load_profile(str(SAMPLES / profile), []), path, options=options)
        assert summary["rejected"] == 0, summary
    assert seed_projects(db, samples.government_bodies(), companies, credit) == 8 + 2 * len(OM_SYSTEMS)
    return db


def _all(db) -> list[dict]:
    steward = Caller(department="tests", role="admin", key_prefix="tests")
    return service.list_projects(db, caller=steward, limit=500, offset=0)["items"]


def test_every_demo_project_is_declared_by_a_government_body(seeded):
    bodies = {code: name for code, name, _ in samples.GOVERNMENT_BODIES}
    projects = _all(seeded)
    assert {p["department_uscc"] for p in projects} <= set(bodies)
    assert all(p["department_uscc"].startswith("11") for p in projects)  # 机构编制 · 机关
    assert all(p["department_name"] == bodies[p["department_uscc"]] for p in projects)
    assert all("公司" not in p["department_name"] for p in projects)


def test_the_sharing_departments_are_the_same_bodies_by_id_and_name():
    bodies = {code: name for code, name, _ in samples.GOVERNMENT_BODIES}
    assert all(bodies[code] == name for code, name, _ in DEPARTMENTS if code != "bigdata")


def test_the_demo_reviewers_are_the_bureaus_of_their_roles():
    from api.demo_projects import REVIEWERS

    bodies = {code: name for code, name, _ in samples.GOVERNMENT_BODIES}
    assert bodies[REVIEWERS["finance_approver"]] == "苏州市财政局（示例）"
    assert bodies[REVIEWERS["plan_control"]] == "苏州市发展和改革委员会（示例）"
    assert REVIEWERS["bigdata_reviewer"] == DEPARTMENTS[0][0] == "bigdata"


def test_every_demo_approval_is_within_the_amount_requested_and_the_control_price(seeded):
    approved = [p for p in _all(seeded) if p["approved_wan"] is not None]
    assert len(approved) >= 4
    for p in approved:
        assert Decimal(p["approved_wan"]) <= Decimal(p["requested_wan"])
        assert Decimal(p["approved_wan"]) <= Decimal(p["control_price_wan"])


def test_the_demo_om_grows_a_few_per_cent_a_year_per_category(seeded):
    stats = census.om_statistics(seeded, year=2025, caller=Caller(department="tests", role="admin", key_prefix="tests"))
    assert len(stats["categories"]) == 6
    for category in stats["categories"]:
        assert category["count"] == 3
        assert -0.03 <= float(category["growth"]) <= 0.08, category
        assert 0.07 <= float(category["share_of_construction"]) <= 0.15, category
