"""Dates as departments write them (issue 8 items 2 and 3): Chinese, dotted, compact and Excel dates, on both
databases, with tiny CSV and XLSX files written here."""

import datetime as dt

import openpyxl
import pytest

from loaders.dates import EPOCH_1900, from_serial, parse_date
from mdm import records
from mdm.errors import FileRejected
from tests.helpers import csv_file, load, profile, read_jsonl


def rejects(summary):
    return {r["source_key"]: (r["code"], r["errors"][0]["value"]) for r in read_jsonl(summary["rejects_path"])}


def warned(summary):
    return [(w["source_key"], w["code"]) for w in read_jsonl(summary["warnings_path"])]


def since(db, key):
    with db.read() as session:
        return records.get_record(session, "geo_feature", key).data.get("valid_from")


def rows_with_dates(*values):
    return [f"p{i},点{i},,,{value},," for i, value in enumerate(values, start=1)]


def test_chinese_dotted_slashed_and_compact_dates_load_by_default(db, tmp_path):
    values = ["2023年5月1日", "2023 年 05 月 1 日", "2023年5 月1日", "2023.5.1", "2023/05/01", "20230501", "2023-05-01"]
    summary = load(db, profile(), csv_file(tmp_path / "d.csv", rows_with_dates(*values)), tmp_path)
    assert (summary["inserted"], summary["rejected"], summary["warnings"]) == (7, 0, 0)
    assert {since(db, f"p{i}") for i in range(1, 8)} == {"2023-05-01"}


def test_a_date_missing_its_day_or_year_is_incomplete_not_unparseable(db, tmp_path):
    values = ["2023年5月", "5月1日", "2023-05", "202305", "2023", "2023/2/30", "03/04/2020", "2023051"]
    summary = load(db, profile(), csv_file(tmp_path / "d.csv", rows_with_dates(*values)), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (0, 8)
    assert rejects(summary) == {
        "p1": ("date.incomplete", "2023年5月"),
        "p2": ("date.incomplete", "5月1日"),
        "p3": ("date.incomplete", "2023-05"),
        "p4": ("date.incomplete", "202305"),
        "p5": ("date.incomplete", "2023"),
        "p6": ("date.invalid", "2023/2/30"),
        "p7": ("date.unparseable", "03/04/2020"),  # day or month first? never guessed
        "p8": ("date.unparseable", "2023051"),  # 2023-05-1 or 2023-0-51? compact dates need 8 digits
    }


def test_a_bare_serial_in_csv_is_rejected_unless_the_profile_opts_in(db, tmp_path):
    path = csv_file(tmp_path / "s.csv", rows_with_dates("45047", "45047.5"))
    plain = load(db, profile(), path, tmp_path)
    assert rejects(plain) == {"p1": ("date.serial_in_text", "45047"), "p2": ("date.serial_in_text", "45047.5")}
    opted = load(db, profile(date_serials=True), path, tmp_path)
    assert (opted["inserted"], opted["rejected"]) == (2, 0)
    assert warned(opted) == [("p2", "date.time_dropped")]
    assert since(db, "p1") == since(db, "p2") == "2023-05-01"


def xlsx(path, rows, header=("id", "name", "since")):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for cell in sheet["C"][1:]:
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
    book.save(path)
    return path


XLSX_PROFILE = {
    "format": "xlsx",
    "geometry": None,
    "fields": {
        "feature_id": {"column": "id"},
        "name": {"column": "name"},
        "valid_from": {"column": "since", "normalise": ["date"]},
        "feature_type": {"value": "poi"},
    },
}


def test_excel_serials_and_date_time_cells_in_a_date_field_keep_the_date(db, tmp_path):
    rows = [
        ("x1", "序列号", 45047),  # an unstyled numeric cell: the serial of 2023-05-01
        ("x2", "带时间的序列号", 45047.75),  # 18:00 that day: the date is kept, with a warning
        ("x3", "日期时间单元格", dt.datetime(2023, 5, 1, 9, 30)),  # a styled date-time cell
        ("x4", "午夜", dt.datetime(2023, 5, 1)),  # midnight: nothing is lost, nothing to say
        ("x5", "太大", 99999),  # 2173: outside 1900–2100
        ("x6", "文本", "2023年5月1日"),
    ]
    summary = load(db, profile(**XLSX_PROFILE), xlsx(tmp_path / "d.xlsx", rows), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (5, 1)
    assert rejects(summary) == {"x5": ("date.serial_out_of_range", "99999")}
    assert warned(summary) == [("x2", "date.time_dropped"), ("x3", "date.time_dropped")]
    assert {since(db, k) for k in ("x1", "x2", "x3", "x4", "x6")} == {"2023-05-01"}


def test_serials_follow_the_1900_date_system_with_its_leap_year_legacy():
    assert from_serial("1") == (dt.date(1900, 1, 1), dt.time())
    assert from_serial("59")[0] == dt.date(1900, 2, 28)
    assert from_serial("61")[0] == dt.date(1900, 3, 1)
    assert from_serial("45047.5", epoch=EPOCH_1900) == (dt.date(2023, 5, 1), dt.time(12))
    assert from_serial("73415")[0] == dt.date(2100, 12, 31)
    for value in ("0", "73416"):
        with pytest.raises(ValueError, match="outside 1900"):
            from_serial(value)


def test_parse_date_never_reads_two_orders_from_one_compact_string():
    assert parse_date("20230105", ["%Y%m%d"]) == dt.date(2023, 1, 5)
    with pytest.raises(ValueError):
        parse_date("2023015", ["%Y%m%d"])


@pytest.mark.parametrize("formats", [["%y-%m-%d"], ["%Y-%m"], ["%Y-%m-%d %H:%M"]])
def test_a_date_format_with_a_two_digit_year_a_missing_part_or_a_time_is_a_profile_error(formats):
    with pytest.raises(FileRejected) as caught:
        profile(date_formats=formats)
    assert caught.value.code == "load.profile_invalid" and "date_formats" in caught.value.detail
