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
    # a bare FormatChecker() mixes draft 3's "time" (no offset needed) into the others: the self-test sees it
    assert "time (accepts '08:30:00')" in format_rules.self_test(FormatChecker())


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


# 4. lost leading zeros

CODES = {
    "repository": "geo_feature",
    "source_system": {"id": "test-codes", "name": "test coded features"},
    "format": "csv",
    "fields": {
        "feature_id": {"column": "code", "normalise": ["identifier"], "pad": 7},
        "name": {"column": "name"},
        "feature_type": {"value": "poi"},
    },
}


def coded(**field_changes):
    fields = {**CODES["fields"], "feature_id": {**CODES["fields"]["feature_id"], **field_changes}}
    return parse_profile({**CODES, "fields": fields}, default_name="test-codes")


def xlsx(path, header, *rows):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_code_that_lost_its_leading_zeros_is_padded_where_the_profile_declares_pad(db, tmp_path):
    first = load(db, coded(), csv_file(tmp_path / "a.csv", ["0000321,原始"], header="code,name"), tmp_path)
    again = load(db, coded(), csv_file(tmp_path / "b.csv", ["321,重导出"], header="code,name"), tmp_path)
    assert (first["inserted"], again["inserted"], again["updated"]) == (1, 0, 1)  # the same record, not a second
    [warning] = warnings(again)
    assert (warning["code"], warning["value"], warning["source_key"]) == ("code.zero_padded", "321", "0000321")
    book = xlsx(tmp_path / "c.xlsx", ["code", "name"], [321, "数字格"], ["0000322", "文本格"])
    sheet = load(db, coded().model_copy(update={"format": "xlsx"}), book, tmp_path)
    assert (sheet["inserted"], sheet["updated"], sheet["rejected"]) == (1, 1, 0)
    assert sheet["warning_codes"] == {"code.zero_padded": 1, "identifier.from_number": 1}
    too_long = load(db, coded(), csv_file(tmp_path / "d.csv", ["12345678,太长"], header="code,name"), tmp_path)
    assert [r["code"] for r in rejects(too_long)] == ["code.length"]


def test_a_code_of_the_wrong_width_is_refused_where_padding_is_not_declared(db, tmp_path):
    persons_ = persons()  # ethnicity_code: x-width 2 in the standard, no pad in the profile
    rows = [f"{CITIZEN},甲,1"]
    summary = load(db, persons_, csv_file(tmp_path / "p.csv", rows, header="id,name,ethnicity"), tmp_path)
    [reject] = rejects(summary)
    assert (reject["code"], reject["errors"][0]["value"]) == ("code.length", "1")
    assert "declare pad: 2" in reject["errors"][0]["message"]
    book = xlsx(tmp_path / "p.xlsx", ["id", "name", "ethnicity"], [CITIZEN, "数字格", 1])
    as_sheet = load(db, persons_.model_copy(update={"format": "xlsx"}), book, tmp_path)
    assert [r["code"] for r in rejects(as_sheet)] == ["code.length"]
    padded = persons(format="xlsx", fields={**PERSONS["fields"], "ethnicity_code": {"column": "ethnicity", "pad": 2}})
    summary = load(db, padded, book, tmp_path)
    assert (summary["inserted"], summary["warning_codes"]) == (1, {"code.zero_padded": 1})
    no_width = {**CODES["fields"], "feature_id": {"column": "code"}}  # geo_feature declares no width for it
    as_is = load(
        db,
        parse_profile({**CODES, "fields": no_width}, default_name="x"),
        csv_file(tmp_path / "u.csv", ["321,无宽度"], header="code,name"),
        tmp_path,
    )
    assert as_is["inserted"] == 1


def test_a_pad_that_contradicts_the_standard_width_is_a_profile_error(db, tmp_path):
    from mdm.errors import ProfileRejected

    wrong = persons(fields={**PERSONS["fields"], "ethnicity_code": {"column": "ethnicity", "pad": 3}})
    with pytest.raises(ProfileRejected) as caught:
        load(db, wrong, csv_file(tmp_path / "p.csv", [f"{CITIZEN},甲,1"], header="id,name,ethnicity"), tmp_path)
    assert caught.value.code == "load.profile_invalid" and "pads to 3" in caught.value.detail


# 8. spreadsheet habits


def test_header_row_skips_a_title_row_and_rows_keep_their_numbers(db, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"苏州市户籍人口表,,\nid,name,ethnicity\n{CITIZEN},张三,01\n1.5E+17,坏,01\n", encoding="utf-8")
    with pytest.raises(Exception) as caught:
        load(db, persons(), path, tmp_path)
    assert caught.value.code == "file.missing_columns"
    assert "looks like a title row (a merged cell?)" in caught.value.detail
    assert "set header_row: 2" in caught.value.detail and caught.value.extra["header_row"] == 2
    summary = load(db, persons(header_row=2), path, tmp_path)
    assert (summary["inserted"], [r["row"] for r in rejects(summary)]) == (1, [4])


def test_header_row_in_a_workbook_with_a_merged_title(db, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["苏州市户籍人口表"])
    sheet.merge_cells("A1:C1")
    sheet.append(["id", "name", "ethnicity"])
    sheet.append([CITIZEN, "张三", "01"])
    book.save(tmp_path / "t.xlsx")
    as_sheet = persons(format="xlsx")
    with pytest.raises(Exception) as caught:
        load(db, as_sheet, tmp_path / "t.xlsx", tmp_path)
    assert caught.value.code == "file.missing_columns" and caught.value.extra["header_row"] == 2
    summary = load(db, persons(format="xlsx", header_row=2), tmp_path / "t.xlsx", tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (1, 0)


def test_ids_kept_as_text_with_an_apostrophe_or_a_formula_are_unwrapped_with_a_warning(db, tmp_path):
    other = "32050519900307123X"
    rows = [f"'{CITIZEN},撇号,01", f'"=""{other}""",公式,01']
    summary = load(db, persons(), csv_file(tmp_path / "w.csv", rows, header="id,name,ethnicity"), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (2, 0)
    assert [(w["code"], w["source_key"], w["value"]) for w in warnings(summary)] == [
        ("identifier.text_wrapper", CITIZEN, f"'{CITIZEN}"),
        ("identifier.text_wrapper", other, f'="{other}"'),
    ]


def test_a_json_number_holding_an_id_exactly_is_accepted_and_a_rounded_one_is_not(db, tmp_path):
    exact = 110101199003071233  # a double cannot hold it: no double-typed writer produced it
    rounded = 110101199003071232  # a double holds it: it may be what rounding left
    lines = [
        json.dumps({"id": exact, "name": "精确", "ethnicity": "01"}),
        json.dumps({"id": rounded, "name": "舍入", "ethnicity": "01"}),
        '{"id": 1.1010119900307123e17, "name": "浮点", "ethnicity": "01"}',
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = load(db, persons(format="jsonl"), path, tmp_path)
    assert summary["inserted"] == 1
    assert summary["warning_codes"] == {"identifier.from_number": 1}
    assert [(r["row"], r["code"]) for r in rejects(summary)] == [(2, "id.lossy_numeric"), (3, "id.lossy_numeric")]


# mdm check agrees with a load


def _load_verdicts(summary) -> dict[int, tuple[str | None, list[str]]]:
    """row → (reject code or None, warning codes) of a load."""
    found: dict[int, tuple[str | None, list[str]]] = {}
    for reject in rejects(summary):
        found[reject["row"]] = (reject["code"], [])
    for warning in warnings(summary):
        code, codes = found.get(warning["row"], (None, []))
        found[warning["row"]] = (code, [*codes, warning["code"]])
    return found


@pytest.mark.parametrize("pad", [False, True])
def test_mdm_check_agrees_with_a_load_on_wrappers_widths_and_number_cells(db, tmp_path, pad):
    from loaders.check import Arrival, check_values

    values = ["0000321", "322", "'0000323", '="324"', "12345678", "32５"]  # distinct keys once padded
    spec = (
        {"column": "code", "normalise": ["identifier"], "pad": 7}
        if pad
        else {"column": "code", "normalise": ["identifier"]}
    )
    seven = parse_profile({**CODES, "fields": {**CODES["fields"], "feature_id": spec}}, default_name="seven")
    lines = [f'"{v.replace(chr(34), chr(34) * 2)}",n{i}' for i, v in enumerate(values)]
    summary = load(db, seven, csv_file(tmp_path / "c.csv", lines, header="code,name"), tmp_path)
    by_row = _load_verdicts(summary)
    checked = check_values("code", values, arrival=Arrival(width=7 if pad else None, pad=pad))
    for row, result in enumerate(checked, start=2):
        assert (result["code"], result["warnings"]) == by_row.get(row, (None, [])), result
    # numbers: a JSON file and a workbook, the same values as number cells
    numbers = [CITIZEN, "110101199003071232", "1.1010119900307123e17"]
    path = tmp_path / "n.jsonl"
    path.write_text("".join(f'{{"id": {n}, "name": "数", "ethnicity": "01"}}\n' for n in numbers), encoding="utf-8")
    as_json = _load_verdicts(load(db, persons(format="jsonl"), path, tmp_path))
    for row, result in enumerate(check_values("cn-resident-id", numbers, arrival=Arrival(number="json")), start=1):
        assert (result["code"], result["warnings"]) == as_json.get(row, (None, [])), result
    book = xlsx(tmp_path / "n.xlsx", ["code", "name"], [321, "短"], [123456789012345678, "长"])
    as_sheet = _load_verdicts(load(db, coded().model_copy(update={"format": "xlsx"}), book, tmp_path))
    sheet_values = ["321", "123456789012345678"]
    for row, result in enumerate(
        check_values("code", sheet_values, arrival=Arrival(number="xlsx", width=7, pad=True)), start=2
    ):
        assert (result["code"], result["warnings"]) == as_sheet.get(row, (None, [])), result


def test_mdm_check_takes_the_new_options(check):
    code, [padded, wrapped] = check("code", "321", "'0000321", "--width", "7", "--pad")
    assert code == 0
    assert (padded["normalised"], padded["warnings"]) == ("0000321", ["code.zero_padded"])
    assert (wrapped["normalised"], wrapped["warnings"]) == ("0000321", ["identifier.text_wrapper"])
    code, [short] = check("code", "321", "--width", "7")
    assert (code, short["code"]) == (1, "code.length")
    code, [exact] = check("cn-resident-id", CITIZEN, "--number", "json")
    assert (code, exact["warnings"]) == (0, ["identifier.from_number"])
    code, [lossy] = check("cn-resident-id", CITIZEN, "--number", "xlsx")
    assert (code, lossy["code"]) == (1, "id.lossy_numeric")
