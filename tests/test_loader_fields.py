"""Department files, second pass (issue 26 kinds 4, 5, 6, 8 and 9): lost leading zeros, date-time fields, swapped
axes said out loud, spreadsheet habits and report gaps — each on both databases, with inputs written here."""

from __future__ import annotations

import json
import shutil

import pytest
from jsonschema import FormatChecker

from loaders.profiles import parse_profile
from standards import Registry, StandardError
from standards import formats as format_rules
from tests.helpers import ROOT, csv_file, load, profile, rejects, warnings

SCHEMAS = ROOT / "standards" / "schemas"


# 5. date-time fields


@pytest.fixture
def observed_standard(tmp_path):
    """The standards with a ``date-time`` field added to geo_feature (``observed_at``)."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    path = root / "geo_feature" / "1.0.0.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["properties"]["observed_at"] = {"type": "string", "format": "date-time", "title": "观测时间"}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return root


def test_a_standard_with_a_date_time_field_loads_and_its_values_are_checked(db, tmp_path, observed_standard):
    registry = Registry(observed_standard)
    fields = {**profile().model_dump()["fields"], "observed_at": {"column": "observed"}}
    prof = parse_profile({**profile().model_dump(), "fields": fields}, default_name="observed")
    rows = [
        "dt1,甲,,,,120.6,31.3,2024-05-01T08:30:00+08:00",
        "dt2,乙,,,,120.6,31.3,2024-05-01 08:30",  # no T, no offset: not RFC 3339
        "dt3,丙,,,,120.6,31.3,2024-02-30T08:30:00Z",  # no such day
    ]
    path = csv_file(tmp_path / "dt.csv", rows, header="id,name,level,division,since,lon,lat,observed")
    from loaders.pipeline import LoadOptions, load_file

    summary = load_file(db, prof, path, options=LoadOptions(report_root=tmp_path / "loads"), registry=registry)
    assert summary.inserted == 1
    found = {r["source_key"]: r["code"] for r in rejects(summary.as_dict())}
    assert found == {"dt2": "datetime.invalid", "dt3": "datetime.invalid"}


def test_every_format_the_standards_may_use_rejects_a_bad_value_at_start_up():
    checker = format_rules.format_checker()
    assert format_rules.self_test(checker) == []
    assert {"date", "date-time", "time", "uuid", "cn-resident-id", "uscc"} <= set(checker.checkers)
    without = FormatChecker(formats=["date"])
    assert "date-time (no checker installed)" in format_rules.self_test(without)


def test_a_registry_whose_date_time_checker_is_missing_refuses_to_start(monkeypatch):
    def lax() -> FormatChecker:
        checker = FormatChecker(formats=["date"])
        checker.checks("date-time")(lambda value: True)  # a checker that accepts anything
        return checker

    monkeypatch.setattr("standards.registry.format_checker", lax)
    with pytest.raises(StandardError) as caught:
        Registry()
    assert caught.value.code == "standard.format_unchecked"
    assert "date-time (accepts" in str(caught.value)


def test_a_format_outside_the_allowed_set_is_refused_even_when_some_package_could_check_it(tmp_path):
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    path = root / "geo_feature" / "1.0.0.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["properties"]["name"]["format"] = "json-pointer"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(StandardError) as caught:
        Registry(root)
    assert caught.value.code == "standard.format_unknown"


# 6. swapped axes


def points(tmp_path, *rows):
    return csv_file(tmp_path / "pts.csv", [f"{key},点,,,,{x},{y}" for key, x, y in rows])


def test_every_value_swapped_by_axis_order_latlon_carries_a_warning(db, tmp_path):
    latlon = profile(axis_order="latlon")
    summary = load(db, latlon, points(tmp_path, ("a", 31.3236, 120.6285), ("b", 31.30, 120.58)), tmp_path)
    assert (summary["inserted"], summary["warning_codes"]) == (2, {"geo.axes_swapped": 2})
    assert [(w["source_key"], w["value"]) for w in warnings(summary)] == [
        ("a", [31.3236, 120.6285]),
        ("b", [31.30, 120.58]),
    ]
    plain = load(db, profile(), points(tmp_path, ("c", 120.6, 31.3)), tmp_path)
    assert plain["warning_codes"] == {}


def test_a_swapped_point_outside_a_declared_extent_says_where_swapping_would_put_it(db, tmp_path):
    suzhou = profile(extent=[119.9, 30.7, 121.4, 32.1])
    beijing_latlon = ("bj", 39.9087, 116.3975)  # latitude first, and Beijing is outside Suzhou either way
    summary = load(db, suzhou, points(tmp_path, beijing_latlon, ("sz", 31.3, 120.6)), tmp_path)
    assert summary["inserted"] == 0
    found = {r["source_key"]: (r["code"], r["errors"][0]["message"]) for r in rejects(summary)}
    assert found["sz"][0] == "geo.outside_extent" and "would be inside" in found["sz"][1]
    code, message = found["bj"]
    assert code == "geo.bad_coordinates"
    assert "with its axes swapped (axis_order: latlon) it would be at (116.3975, 39.9087" in message
    assert "still outside" in message
    swapped = load(
        db, profile(axis_order="latlon", extent=[119.9, 30.7, 121.4, 32.1]), points(tmp_path, beijing_latlon), tmp_path
    )
    [reject] = rejects(swapped)
    assert "its axes were swapped (axis_order: latlon)" in reject["errors"][0]["message"]


# 9. report gaps

PERSONS = {
    "repository": "natural_person",
    "source_system": {"id": "test-household", "name": "test household registry"},
    "format": "csv",
    "null_tokens": ["NULL"],
    "fields": {
        "citizen_id": {"column": "id", "normalise": ["resident_id"]},
        "name": {"column": "name"},
        "ethnicity_code": {"column": "ethnicity"},
    },
}
CITIZEN = "110101199003071233"


def persons(**changes):
    return parse_profile({**PERSONS, **changes}, default_name="test-persons")


def test_every_reject_and_warning_line_names_its_source_key(db, tmp_path):
    rows = [
        "1.10105E+17,甲,01",  # lossy numeric: the key as supplied
        f"{CITIZEN},NULL,01",  # a null token in a required field: the warning and the reject
        "110101900307123,乙,99",  # upgraded, then rejected for its ethnicity code
    ]
    summary = load(db, persons(), csv_file(tmp_path / "p.csv", rows, header="id,name,ethnicity"), tmp_path)
    assert summary["rejected"] == 3
    assert [(r["row"], r["code"], r["source_key"]) for r in rejects(summary)] == [
        (2, "id.lossy_numeric", "1.10105E+17"),
        (3, "schema.required", CITIZEN),
        (4, "schema.pattern", "110101199003071233"),
    ]
    assert [(w["row"], w["code"], w["source_key"]) for w in warnings(summary)] == [
        (3, "row.null_token", CITIZEN),
        (4, "id.upgraded", "110101199003071233"),
    ]


def test_an_unchanged_row_records_its_newer_source_time_and_raw_form(db, tmp_path):
    import sqlalchemy as sa

    from mdm.models import SourceRecord

    timed = persons(timestamp="changed")
    header = "id,name,ethnicity,changed"
    first = load(
        db,
        timed,
        csv_file(tmp_path / "a.csv", [f"{CITIZEN},张三,01,2024-01-01T00:00:00+08:00"], header=header),
        tmp_path,
    )
    full_width = "１１０１０１１９９００３０７１２３３"
    again = [f"{full_width},张三,01,2024-06-01T09:00:00+08:00"]
    second = load(db, timed, csv_file(tmp_path / "b.csv", again, header=header), tmp_path)
    assert (first["inserted"], second["unchanged"], second["updated"]) == (1, 1, 0)
    assert second["golden"]["versions"] == 0
    with db.read() as session:
        stored = session.execute(sa.select(SourceRecord).where(SourceRecord.business_key == CITIZEN)).scalar_one()
        assert stored.raw["id"] == full_width
        assert stored.source_time.isoformat() == "2024-06-01T01:00:00+00:00"
        assert stored.batch_id == first["batch_id"]  # still the batch that last changed it
    older = [f"{CITIZEN},张三,01,2023-01-01T00:00:00+08:00"]
    load(db, timed, csv_file(tmp_path / "c.csv", older, header=header), tmp_path)
    with db.read() as session:
        stored = session.execute(sa.select(SourceRecord).where(SourceRecord.business_key == CITIZEN)).scalar_one()
        assert stored.raw["id"] == CITIZEN  # the raw form as supplied last
        assert stored.source_time.isoformat() == "2024-06-01T01:00:00+00:00"  # an older time does not win
