"""Identifiers as they arrive (issue 8 item 11, issue 7 "legally issued codes that fail their check character"):
hints an integrator can act on, warnings for what normalising changed, and legacy USCCs from their issuer."""

import pytest
import sqlalchemy as sa

from loaders.profiles import parse_profile
from mdm import records
from mdm.errors import NotFound
from mdm.models import SourceRecord
from tests.helpers import csv_file, golden, load, rejects, warnings

VALID = "91320505MA1B2C3D85"
LEGACY = "91320505MA1B2C3D86"  # the same code with a check character GB 32100 does not give
CITIZEN = "110101199003071233"  # a well-formed citizen ID number (GB 11643)
TRUNCATED = "110101199003071000"  # what Excel leaves of an 18-digit number typed as a number: 15 significant

ENTITIES = {
    "repository": "legal_entity",
    "source_system": {"id": "test-registry", "name": "test company registry"},
    "format": "csv",
    "fields": {"uscc": {"column": "uscc", "normalise": ["identifier"]}, "name": {"column": "name"}},
}
PERSONS = {
    "repository": "natural_person",
    "source_system": {"id": "test-household", "name": "test household registry"},
    "format": "csv",
    "fields": {"citizen_id": {"column": "id", "normalise": ["resident_id"]}, "name": {"column": "name"}},
}


def entities(**changes):
    return parse_profile({**ENTITIES, **changes}, default_name="test-entities")


def test_an_18_digit_id_ending_in_000_that_fails_its_check_says_excel_truncated_it(db, tmp_path):
    prof = parse_profile(PERSONS, default_name="test-persons")
    summary = load(db, prof, csv_file(tmp_path / "p.csv", [f"{TRUNCATED},甲"], header="id,name"), tmp_path)
    [reject] = rejects(summary)
    assert reject["code"] == "id.checksum"
    assert "possibly truncated by Excel; re-export the column as text" in reject["errors"][0]["message"]
    assert reject["errors"][0]["value"] == TRUNCATED


def test_a_citizen_id_number_in_a_uscc_column_says_so(db, tmp_path):
    summary = load(db, entities(), csv_file(tmp_path / "e.csv", [f"{CITIZEN},张三"], header="uscc,name"), tmp_path)
    [reject] = rejects(summary)
    assert reject["code"].startswith("uscc.")
    assert "this is a citizen ID number (GB 11643)" in reject["errors"][0]["message"]


def test_full_width_characters_and_a_lower_case_check_character_each_leave_a_warning(db, tmp_path):
    prof = parse_profile(PERSONS, default_name="test-persons")
    rows = ["１１０１０１１９９００３０７１２３３,全角", "32050519900307123x,小写"]
    summary = load(db, prof, csv_file(tmp_path / "p.csv", rows, header="id,name"), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (2, 0)
    assert [(w["row"], w["code"], w["value"]) for w in warnings(summary)] == [
        (2, "identifier.full_width", rows[0].split(",")[0]),
        (3, "identifier.lower_case", "32050519900307123x"),
    ]
    assert golden(db, "natural_person", "32050519900307123X").data["citizen_id"] == "32050519900307123X"


def test_an_authoritative_source_loads_a_legacy_uscc_with_a_warning_and_every_other_source_rejects_it(db, tmp_path):
    path = csv_file(tmp_path / "e.csv", [f"{LEGACY},试点企业", f"{VALID},普通企业"], header="uscc,name")
    other = load(db, entities(), path, tmp_path)
    assert (other["inserted"], [r["code"] for r in rejects(other)]) == (1, ["uscc.checksum"])
    with db.read() as session, pytest.raises(NotFound):
        records.get_record(session, "legal_entity", LEGACY)

    issuer = entities(authoritative=True, source_system={"id": "test-issuer", "name": "the issuing authority"})
    summary = load(db, issuer, path, tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (2, 0)  # its own source records, both
    assert summary["warning_codes"] == {"uscc.checksum_legacy": 1}
    [warning] = warnings(summary)
    assert (warning["field"], warning["value"]) == ("uscc", LEGACY)
    assert golden(db, "legal_entity", LEGACY).data == {"uscc": LEGACY, "name": "试点企业"}
    with db.read() as session:
        raw = session.execute(sa.select(SourceRecord.raw).where(SourceRecord.business_key == LEGACY)).scalar_one()
    assert raw == {"uscc": LEGACY, "name": "试点企业"}


def test_an_authoritative_source_still_rejects_a_uscc_of_the_wrong_length_or_alphabet(db, tmp_path):
    rows = ["91320505MA1B2C3D8,短", "91320505MA1B2C3DI5,字母"]
    summary = load(db, entities(authoritative=True), csv_file(tmp_path / "e.csv", rows, header="uscc,name"), tmp_path)
    assert [r["code"] for r in rejects(summary)] == ["uscc.length", "uscc.charset"]


def test_mdm_check_authoritative_answers_as_the_issuers_load_would_and_plain_check_says_invalid(check):
    assert check("--authoritative", "uscc", LEGACY, VALID) == (
        0,
        [
            {"value": LEGACY, "valid": True, "normalised": LEGACY, "code": None, "warnings": ["uscc.checksum_legacy"]},
            {"value": VALID, "valid": True, "normalised": VALID, "code": None, "warnings": []},
        ],
    )
    code, [plain] = check("uscc", LEGACY)
    assert (code, plain["valid"], plain["code"]) == (1, False, "uscc.checksum")
    code, [short] = check("--authoritative", "uscc", LEGACY[:17])
    assert (code, short["code"]) == (1, "uscc.length")


def test_mdm_check_gives_the_hints_and_the_normalisation_warnings(check):
    _, results = check("cn-resident-id", TRUNCATED, "32050519900307123x", VALID)
    assert results[0]["hint"] == "possibly truncated by Excel; re-export the column as text"
    assert results[1]["valid"] and results[1]["warnings"] == ["identifier.lower_case"]
    assert "unified social credit code" in results[2]["hint"]
    _, [citizen] = check("uscc", CITIZEN)
    assert citizen["hint"] == "this is a citizen ID number (GB 11643), not a unified social credit code"


def test_mdm_check_cleans_a_value_as_a_load_would(check):
    code, [result] = check("uscc", f"\u200b{VALID}\u3000")
    assert (code, result["normalised"], result["warnings"]) == (0, VALID, ["row.invisible_characters"])
