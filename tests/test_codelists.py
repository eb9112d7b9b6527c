"""Imported code lists: the public division files in their own layouts, validity periods, warnings."""

import datetime as dt

import pytest

from loaders.check import check_value
from mdm.codelists import DatabaseCodeLists, import_list, read_entries
from mdm.db import Database
from mdm.errors import FileRejected


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
    yield db
    db.dispose()


def test_the_civil_affairs_file_becomes_validity_periods(public_data):
    entries = read_entries(public_data / "mca-address-codes-1980-2020.csv")
    by_code = {}
    for entry in entries:
        by_code.setdefault(entry.code, []).append(entry)
    # 110101 东城区 is listed every year: one open period from 1980.
    assert [(e.valid_from, e.valid_to) for e in by_code["110101"]] == [(dt.date(1980, 1, 1), None)]
    # a code that stopped being listed has a closed period
    closed = [e for e in entries if e.valid_to is not None]
    assert closed and all(e.valid_to > e.valid_from for e in closed)


def test_nbs_files_import_in_full_form(public_data):
    entries = read_entries(public_data / "nbs2023-cities.csv")
    assert ("320500", "苏州市") in {(e.code, e.name) for e in entries}


def test_a_standard_csv_with_bad_dates_is_rejected(tmp_path):
    path = tmp_path / "industries.csv"
    path.write_text("code,name,valid_from,valid_to\nI65,软件,2017-13-01,\n", encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        read_entries(path)
    assert caught.value.code == "file.unreadable"


def test_a_code_is_in_force_only_within_its_period(sqlite_db, tmp_path):
    path = tmp_path / "industries.csv"
    path.write_text(
        "code,name,valid_from,valid_to\nI6510,软件开发,2017-10-01,\nI6511,旧码,,2017-10-01\n", encoding="utf-8"
    )
    assert import_list(sqlite_db, "industries", path) == 2
    lists = DatabaseCodeLists(sqlite_db)
    assert lists.contains("industries", "I6510", dt.date(2020, 1, 1))
    assert not lists.contains("industries", "I6510", dt.date(2010, 1, 1))
    assert lists.contains("industries", "I6511", dt.date(2010, 1, 1))
    assert not lists.contains("industries", "I6511", dt.date(2020, 1, 1))
    assert lists.contains("industries", "I6511")  # ever


def test_importing_again_replaces_the_list(sqlite_db, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("code,name,valid_from,valid_to\nA,一,,\nB,二,,\n", encoding="utf-8")
    import_list(sqlite_db, "letters", path)
    path.write_text("code,name,valid_from,valid_to\nC,三,,\n", encoding="utf-8")
    import_list(sqlite_db, "letters", path)
    lists = DatabaseCodeLists(sqlite_db)
    assert lists.contains("letters", "C") and not lists.contains("letters", "A")


def test_an_address_code_missing_from_the_division_list_is_a_warning_not_a_reject(sqlite_db, public_data, vectors):
    import_list(sqlite_db, "divisions", public_data / "mca-address-codes-1980-2020.csv")
    lists = DatabaseCodeLists(sqlite_db)
    unknown = check_value("cn-resident-id", "34052419800101001X", lists)
    known = check_value("cn-resident-id", "360426199101010071", lists)
    assert unknown["valid"] and unknown["warnings"] == ["id.address_unknown"]
    assert known["valid"] and known["warnings"] == []


def test_a_township_code_is_not_judged_by_a_county_list(sqlite_db, public_data):
    import_list(sqlite_db, "divisions", public_data / "mca-address-codes-1980-2020.csv")
    lists = DatabaseCodeLists(sqlite_db)
    assert not lists.covers("divisions", "320505001")
    assert check_value("division-code", "320505001", lists)["warnings"] == []
    assert check_value("division-code", "990102", lists)["warnings"] == ["division_code.unknown"]
