"""Department files as they really arrive (issue 8): null tokens, invisible characters and odd spaces, control
characters — each kind on both databases, with tiny files written here."""

import sqlalchemy as sa

from loaders.profiles import parse_profile
from mdm.models import SourceRecord
from tests.helpers import csv_file, golden, load, profile, rejects, warnings

P1 = "110101199003071233"  # GB 11643 check character computed for this test
P2 = "32050519900307123X"

PERSONS = {
    "repository": "natural_person",
    "source_system": {"id": "test-household", "name": "test household registry"},
    "format": "csv",
    "fields": {
        "citizen_id": {"column": "id", "normalise": ["resident_id"]},
        "name": {"column": "name", "normalise": ["text"]},
        "phone": {"column": "phone", "normalise": ["identifier"]},
        "household_address": {"column": "address", "normalise": ["text"]},
    },
}


def persons(**changes):
    return parse_profile({**PERSONS, **changes}, default_name="test-persons")


def persons_csv(path, *rows):
    return csv_file(path, list(rows), header="id,name,phone,address")


def source_raw(db, key):
    with db.read() as session:
        return session.execute(sa.select(SourceRecord.raw).where(SourceRecord.business_key == key)).scalar_one()


# 1. null tokens


def test_by_default_only_an_empty_cell_is_no_value_so_words_like_null_and_wu_are_data(db, tmp_path):
    rows = [f"{P1},Null,,无", f"{P2},-,,N/A", "110101199003071006,王五,N/A,"]
    summary = load(db, persons(), persons_csv(tmp_path / "p.csv", *rows), tmp_path)
    assert (summary["inserted"], summary["rejected"], summary["warnings"]) == (2, 1, 0)
    assert golden(db, "natural_person", P1).data == {"citizen_id": P1, "name": "Null", "household_address": "无"}
    assert golden(db, "natural_person", P2).data == {"citizen_id": P2, "name": "-", "household_address": "N/A"}
    # a token the profile does not declare is a value: a phone 'N/A' is rejected saying so, not silently dropped
    [reject] = rejects(summary)
    assert (reject["code"], reject["errors"][0]["value"]) == ("schema.pattern", "N/A")


def test_declared_null_tokens_blank_cells_with_a_warning_naming_the_token_per_file_and_per_column(db, tmp_path):
    prof = persons(
        null_tokens=["NULL", "-"],
        fields={**PERSONS["fields"], "name": {"column": "name", "normalise": ["text"], "null_tokens": ["不详"]}},
    )
    rows = [f"{P1},-,NULL,-", f"{P2},不详,13800000000,NULL"]
    summary = load(db, prof, persons_csv(tmp_path / "p.csv", *rows), tmp_path)
    # the name column has its own list: '-' is a name there; '不详' blanks the required name → rejected
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    assert golden(db, "natural_person", P1).data == {"citizen_id": P1, "name": "-"}
    [reject] = rejects(summary)
    assert (reject["row"], reject["code"]) == (3, "schema.required")
    assert "'不详', a null token" in reject["errors"][0]["message"] and reject["errors"][0]["value"] == "不详"
    tokens = [(w["row"], w["field"], w["value"]) for w in warnings(summary) if w["code"] == "row.null_token"]
    assert tokens == [
        (2, "phone", "NULL"),
        (2, "household_address", "-"),
        (3, "name", "不详"),
        (3, "household_address", "NULL"),
    ]
    assert all("null token" in w["message"] for w in warnings(summary))
    assert source_raw(db, P1)["phone"] == "NULL"  # the raw value is kept


def test_a_bad_null_tokens_value_is_a_clear_profile_error():
    import pytest

    from mdm.errors import FileRejected

    with pytest.raises(FileRejected) as caught:
        persons(null_tokens="NULL")
    assert caught.value.code == "load.profile_invalid" and "null_tokens" in caught.value.detail


# 4. invisible characters and odd spaces


def test_zero_width_characters_and_odd_spaces_are_removed_and_a_reload_differing_only_by_them_changes_nothing(
    db, tmp_path
):
    first = load(db, persons(), persons_csv(tmp_path / "a.csv", f"{P1},张三,13800000000,苏州市 姑苏区"), tmp_path)
    assert (first["inserted"], first["warnings"]) == (1, 0)
    noisy = [f"\u200b{P1}\u2060,\u00a0张\u3000三\ufeff,1380000\u200c0000,\u3000苏州市\u00a0姑苏区\u200d"]
    second = load(db, persons(), persons_csv(tmp_path / "b.csv", *noisy), tmp_path)
    assert (second["inserted"], second["updated"], second["unchanged"], second["rejected"]) == (0, 0, 1, 0)
    assert set(second["warning_codes"]) == {"row.invisible_characters"}
    assert {w["field"] for w in warnings(second)} == {"citizen_id", "name", "phone", "household_address"}
    record = golden(db, "natural_person", P1)
    assert record.version == 1
    assert record.data["name"] == "张三" and record.data["household_address"] == "苏州市 姑苏区"


def test_spaces_inside_a_chinese_name_are_removed_and_collapsed_inside_a_latin_name(db, tmp_path):
    rows = [f"{P1},张 三,,", f"{P2},John   Smith,,"]
    summary = load(
        db,
        persons(fields={**PERSONS["fields"], "name": {"column": "name"}}),
        persons_csv(tmp_path / "n.csv", *rows),
        tmp_path,
    )
    assert (summary["inserted"], summary["warning_codes"]) == (2, {"row.invisible_characters": 2})
    assert golden(db, "natural_person", P1).data["name"] == "张三"
    assert golden(db, "natural_person", P2).data["name"] == "John Smith"
    assert source_raw(db, P1)["name"] == "张 三"


# 5. control characters


def test_every_c0_control_but_tab_and_lf_is_removed_with_the_existing_warning(db, tmp_path):
    prof = profile(
        fields={
            "feature_id": {"column": "id"},
            "name": {"column": "name"},
            "full_address": {"column": "level"},
            "feature_type": {"value": "poi"},
        }
    )
    path = tmp_path / "c.csv"
    path.write_text(
        'id,name,level,division,since,lon,lat\np1,苏州\x01博物\x1f馆\x0b,"东北街\t204号\r\n二楼",,,,\n',
        encoding="utf-8",
    )
    summary = load(db, prof, path, tmp_path)
    assert (summary["inserted"], summary["warning_codes"]) == (1, {"row.control_characters": 2})
    data = golden(db, "geo_feature", "p1").data
    assert data["name"] == "苏州博物馆" and data["full_address"] == "东北街\t204号\n二楼"
    assert {w["field"] for w in warnings(summary)} == {"name", "full_address"}
    assert source_raw(db, "p1")["name"] == "苏州\x01博物\x1f馆\x0b"


def test_a_header_with_a_zero_width_character_or_an_odd_space_still_matches_its_column(db, tmp_path):
    path = csv_file(tmp_path / "h.csv", [f"{P1},张三,,"], header="\u200bid,name\u3000,phone,\ufeffaddress")
    summary = load(db, persons(), path, tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (1, 0)
    assert golden(db, "natural_person", P1).data["name"] == "张三"
