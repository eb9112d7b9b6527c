"""The acceptance load of the skeleton issue on real public data, on SQLite and PostgreSQL + PostGIS.

Loading the four NBS files (44,703 rows) gives no rejects and one feature per distinct full-form code; loading
them again changes nothing; after cn-provinces, the point (120.62, 31.30) lies in the feature 320000.
"""

import csv

import pytest

from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm import records
from mdm.settings import Settings
from standards import default_registry

NBS = ["nbs2023-provinces", "nbs2023-cities", "nbs2023-areas", "nbs2023-streets"]
GEO = default_registry().get("geo_feature")
pytestmark = pytest.mark.slow


def full_form(code: str) -> str:
    return code.ljust(6, "0") if len(code) in (2, 4) else code


@pytest.fixture(scope="module")
def loaded(module_db, public_data, tmp_path_factory):
    dirs = Settings().profile_dirs
    options = LoadOptions(report_root=tmp_path_factory.mktemp("loads"))
    first = {
        name: load_file(module_db, load_profile(name, dirs), public_data / f"{name}.csv", options=options)
        for name in NBS
    }
    second = {
        name: load_file(module_db, load_profile(name, dirs), public_data / f"{name}.csv", options=options)
        for name in NBS
    }
    boundaries = load_file(
        module_db, load_profile("cn-provinces", dirs), public_data / "cn-provinces.geojson", options=options
    )
    return module_db, first, second, boundaries, public_data


def test_the_nbs_files_load_without_a_single_reject(loaded):
    _, first, _, _, _ = loaded
    assert sum(s["read"] for s in first.values()) == 44_703
    assert all(s["rejected"] == 0 and s["status"] == "committed" for s in first.values())


def test_there_is_exactly_one_feature_per_distinct_full_form_code(loaded):
    db, _, _, _, public = loaded
    codes = set()
    for name in NBS:
        with open(public / f"{name}.csv", encoding="utf-8", newline="") as fh:
            codes |= {full_form(row["code"]) for row in csv.DictReader(fh)}
    with db.read() as session:
        keys, cursor = set(), None
        while True:
            page, cursor = records.list_records(session, GEO, records.ListQuery(filters={}, limit=1000, cursor=cursor))
            keys |= {r.key for r in page}
            if cursor is None:
                break
    nbs_keys = {k for k in keys if k in codes}
    assert nbs_keys == codes
    assert len(codes) == 44_700  # three prefecture-level cities without counties are listed twice


def test_a_city_listed_at_two_levels_stays_one_prefecture_level_feature(loaded):
    db = loaded[0]
    with db.read() as session:
        dongguan = records.get_record(session, "geo_feature", "441900")
    assert (dongguan.data["name"], dongguan.data["level"], dongguan.data["parent_code"]) == (
        "东莞市",
        "prefecture",
        "440000",
    )


def test_loading_the_nbs_files_again_inserts_and_updates_nothing(loaded):
    _, _, second, _, _ = loaded
    assert all((s["inserted"], s["updated"], s["golden"]["versions"]) == (0, 0, 0) for s in second.values())


def test_province_boundaries_load_with_five_repairs_named(loaded):
    _, _, _, boundaries, _ = loaded
    assert (boundaries["read"], boundaries["rejected"]) == (34, 0)
    assert boundaries["warning_codes"] == {"geo.repaired": 5}
    with open(boundaries["warnings_path"], encoding="utf-8") as fh:
        text = fh.read()
    assert all(name in text for name in ("辽宁省", "福建省", "广西壮族自治区", "甘肃省", "宁夏回族自治区"))


def test_the_point_in_suzhou_lies_in_jiangsu(loaded):
    db = loaded[0]
    with db.read() as session:
        found, _ = records.list_records(session, GEO, records.ListQuery(filters={}, contains=(120.62, 31.30)))
        jiangsu = records.get_record(session, "geo_feature", "320000")
    assert [r.key for r in found] == ["320000"]
    assert jiangsu.data["name"] == "江苏省" and jiangsu.provenance["name"]["source"] == "nbs-divisions"
    assert jiangsu.provenance["geometry"]["source"] == "cn-atlas"


def test_prefecture_boundaries_from_topojson_add_suzhou_around_the_same_point(loaded, tmp_path):
    db, _, _, _, public = loaded
    summary = load_file(
        db,
        load_profile("cn-prefectures", Settings().profile_dirs),
        public / "cn-prefectures.topojson",
        options=LoadOptions(report_root=tmp_path),
    )
    assert (summary["read"], summary["rejected"]) == (372, 0)
    with db.read() as session:
        found, _ = records.list_records(session, GEO, records.ListQuery(filters={}, contains=(120.62, 31.30)))
        suzhou = records.get_record(session, "geo_feature", "320500")
    assert sorted(r.key for r in found) == ["320000", "320500"]
    assert suzhou.data["level"] == "prefecture" and suzhou.provenance["geometry"]["source"] == "cn-atlas"
