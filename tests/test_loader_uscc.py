"""USCC fields against citizen ID numbers and legacy codes (issue 26, kinds 1–3), through loads on both databases
and through ``mdm check``, which must answer as the load does.

1. A valid citizen ID number is refused in every USCC field (``uscc.is_citizen_id``), authoritative or not, and a
   legacy USCC (failing only its check character) needs a USCC's structure.
2. A legacy code the issuing authority holds is accepted from other sources (``uscc.legacy_known``), asked once
   per chunk; an unknown one is still refused (``uscc.checksum``).
3. "This is a unified social credit code" is said only of values with a USCC's structure, never of a plausible
   citizen ID number with a wrong check character.
"""

import csv

import pytest
import sqlalchemy as sa
from stdnum.cn import ric, uscc

from loaders.check import check_values
from loaders.profiles import parse_profile
from mdm.codelists import import_list
from mdm.db import Database
from mdm.identifiers import KnownLegacyCodes
from mdm.models import GoldenRecord, SourceRecord
from standards import checkdigits
from tests.helpers import csv_file, golden, load, rejects, warnings

USCC_HINT = "this is a unified social credit code (GB 32100), not a citizen ID number"
REGISTRY = {"id": "test-registry", "name": "the market regulator (issuing authority)"}
TAX = {"id": "test-tax", "name": "the tax bureau"}


def citizen_id(body17: str) -> str:
    """``body17`` with its GB 11643 check character."""
    return body17 + ric.calc_check_digit(body17 + "0")


def with_check(body17: str) -> str:
    """``body17`` with its GB 32100 check character."""
    return body17 + uscc.calc_check_digit(body17)


def without_check(body17: str) -> str:
    """``body17`` with a check character GB 32100 does not give (a legacy code's shape)."""
    right = uscc.calc_check_digit(body17)
    return body17 + next(ch for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY" if ch != right)


def wrong_id_check(body17: str) -> list[str]:
    """Every citizen ID number of ``body17`` with a wrong check character."""
    right = ric.calc_check_digit(body17 + "0")
    return [body17 + ch for ch in "0123456789X" if ch != right]


# Valid citizen ID numbers (GB 11643) of several provinces, and valid ones that also pass the MOD 31 check:
# before issue 26 the latter loaded as ordinary USCCs from any source.
CITIZENS = [
    "110105199003071239",
    citizen_id("32050519780405201"),
    citizen_id("44030620011231004"),
    citizen_id("65010219560101231"),
]
BOTH = [v for v in (citizen_id(f"32050519850612{n:03d}") for n in range(100, 400)) if uscc.is_valid(v)][:3]
LEGACY = "91320505MA1B2C3D86"  # a pilot-era code: a USCC's structure, a check character GB 32100 does not give
LEGACY_2 = without_check("12320500466001234")  # 机构编制/事业单位, 320500, an all-digit organisation code
NATIONAL = without_check("11100000MB0143720")  # 机关 registered at national level (100000)
UNKNOWN = without_check("52320505MJ5678901")  # a legacy shape no authority has loaded
NOT_LEGACY = {
    without_check("94320505MA1B2C3D8"): "uscc.organisation_type",  # 工商 has organisation types 1, 2, 3
    without_check("Y2320505MA1B2C3D8"): "uscc.organisation_type",  # 其他 has only 1
    without_check("91990505MA1B2C3D8"): "uscc.division_unknown",  # 99 is no province
    without_check("91320505MA1B2C3DA"): "uscc.organisation_code",  # a GB 11714 check character is a digit or X
    "110105199003071238": "uscc.citizen_id_like",  # the citizen ID above with a wrong check character
    next(v for v in wrong_id_check("44030620011231004") if not uscc.is_valid(v)): "uscc.citizen_id_like",
}


def entities(*, authoritative: bool = False, source=REGISTRY):
    return parse_profile(
        {
            "repository": "legal_entity",
            "source_system": source,
            "format": "csv",
            "authoritative": authoritative,
            "fields": {"uscc": {"column": "uscc", "normalise": ["identifier"]}, "name": {"column": "name"}},
        },
        default_name=f"test-entities-{source['id']}",
    )


CREDIT = parse_profile(
    {
        "repository": "credit_record",
        "source_system": {"id": "test-credit", "name": "the credit platform"},
        "format": "csv",
        "fields": {
            "record_id": {"column": "record_id"},
            "record_type": {"value": "red_list"},
            "subject_type": {"value": "legal_entity"},
            "subject_uscc": {"column": "subject_uscc", "normalise": ["identifier"]},
            "subject_name": {"column": "subject_name"},
            "authority_uscc": {"column": "authority_uscc", "normalise": ["identifier"]},
        },
    },
    default_name="test-credit",
)
LICENCES = parse_profile(
    {
        "repository": "e_license",
        "source_system": {"id": "test-licences", "name": "the e-licence store"},
        "format": "csv",
        "fields": {
            "license_id": {"column": "license_id", "normalise": ["identifier"]},
            "license_type_code": {"value": "113205000142510039001"},
            "holder_name": {"column": "holder_name"},
            "holder_id_type": {"value": "001"},
            "holder_id": {"column": "holder_id", "normalise": ["identifier"]},
            "issuer_uscc": {"column": "issuer_uscc", "normalise": ["identifier"]},
            "status": {"value": "valid"},
        },
    },
    default_name="test-licences",
)


def licence_id(n: int) -> str:
    body = f"1.2.156.3005.2.113205000142510039001.113205000142510039.320505000123.{n:03d}"
    return f"{body}.{checkdigits.license_check_character(body.replace('.', ''))}"


def entity_file(tmp_path, values, name="e.csv"):
    return csv_file(tmp_path / name, [f"{v},企业{i}" for i, v in enumerate(values)], header="uscc,name")


def reject_codes(summary) -> dict[str, str]:
    """{raw value of the first error: its code} over the rejects of a load."""
    return {r["errors"][0]["value"]: r["code"] for r in rejects(summary)}


def stored_keys(db, repository: str) -> set[str]:
    with db.read() as session:
        golden_keys = session.execute(
            sa.select(GoldenRecord.business_key).where(GoldenRecord.repository == repository)
        ).scalars()
        source_keys = session.execute(
            sa.select(SourceRecord.business_key).where(SourceRecord.repository == repository)
        ).scalars()
        return set(golden_keys) | set(source_keys)


# -- 1. a citizen ID number is never a USCC; a legacy USCC has a USCC's structure -------------------------------


def test_the_inputs_are_what_they_claim():
    assert all(checkdigits.check_resident_id(v) is None for v in CITIZENS + BOTH) and len(BOTH) == 3
    assert all(uscc.is_valid(v) for v in BOTH)  # the ones any source could load before
    assert all(checkdigits.check_uscc(v) == "uscc.checksum" for v in [LEGACY, LEGACY_2, NATIONAL, UNKNOWN])
    assert all(checkdigits.check_uscc(v) == "uscc.checksum" for v in NOT_LEGACY)


@pytest.mark.parametrize("authoritative", [True, False], ids=["authoritative", "other source"])
def test_a_valid_citizen_id_number_never_loads_as_a_legal_entity(db, tmp_path, authoritative):
    summary = load(db, entities(authoritative=authoritative), entity_file(tmp_path, CITIZENS + BOTH), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (0, len(CITIZENS + BOTH))
    assert reject_codes(summary) == dict.fromkeys(CITIZENS + BOTH, "uscc.is_citizen_id")
    assert "this is a citizen ID number (GB 11643)" in rejects(summary)[0]["errors"][0]["message"]
    assert summary["warning_codes"] == {}
    assert stored_keys(db, "legal_entity") == set()  # nothing readable, nothing to find by prefix


def test_a_citizen_id_number_is_refused_in_every_uscc_field(db, tmp_path):
    rows = [f"CR-{i},{v},某人,91320505MA1B2C3D85" for i, v in enumerate(CITIZENS[:2])]
    rows.append(f"CR-9,91320505MA1B2C3D85,某公司,{BOTH[0]}")  # the deciding authority's code
    path = csv_file(tmp_path / "c.csv", rows, header="record_id,subject_uscc,subject_name,authority_uscc")
    summary = load(db, CREDIT, path, tmp_path)
    assert summary["inserted"] == 0
    assert [(r["errors"][0]["field"], r["code"]) for r in rejects(summary)] == [
        ("subject_uscc", "uscc.is_citizen_id"),
        ("subject_uscc", "uscc.is_citizen_id"),
        ("authority_uscc", "uscc.is_citizen_id"),
    ]
    header = "license_id,holder_name,holder_id,issuer_uscc"
    rows = [f"{licence_id(1)},某人,{CITIZENS[0]},", f"{licence_id(2)},某公司,91320505MA1B2C3D85,{BOTH[1]}"]
    summary = load(db, LICENCES, csv_file(tmp_path / "l.csv", rows, header=header), tmp_path)
    assert summary["inserted"] == 0
    assert [(r["errors"][0]["field"], r["code"]) for r in rejects(summary)] == [
        ("holder_id", "uscc.is_citizen_id"),
        ("issuer_uscc", "uscc.is_citizen_id"),
    ]


def test_an_authoritative_source_loads_only_legacy_codes_with_a_usccs_structure(db, tmp_path):
    legacy = [LEGACY, LEGACY_2, NATIONAL]
    summary = load(db, entities(authoritative=True), entity_file(tmp_path, legacy + list(NOT_LEGACY)), tmp_path)
    assert summary["inserted"] == len(legacy)
    assert summary["warning_codes"] == {"uscc.checksum_legacy": len(legacy)}
    assert reject_codes(summary) == NOT_LEGACY
    assert stored_keys(db, "legal_entity") == set(legacy)


def test_with_a_division_list_a_legacy_codes_division_must_be_in_it(db, tmp_path):
    listed = tmp_path / "divisions.csv"
    listed.write_text("code,name,valid_from,valid_to\n320505,虎丘区,,\n320500,苏州市,1983-01-01,\n", encoding="utf-8")
    import_list(db, "divisions", listed)
    elsewhere = without_check("91320506MA1B2C3D8")  # a province's shape, but 320506 is not in the list
    summary = load(
        db, entities(authoritative=True), entity_file(tmp_path, [LEGACY, LEGACY_2, NATIONAL, elsewhere]), tmp_path
    )
    assert summary["inserted"] == 3  # 320505, 320500 and 100000 (national) exist
    assert reject_codes(summary) == {elsewhere: "uscc.division_unknown"}


def test_mdm_check_refuses_citizen_id_numbers_and_non_legacy_codes_as_the_load_does(check):
    for flags in ([], ["--authoritative"]):
        code, results = check(*flags, "uscc", *CITIZENS, *BOTH)
        assert code == 1 and {r["code"] for r in results} == {"uscc.is_citizen_id"}
    code, results = check("--authoritative", "uscc", *NOT_LEGACY)
    assert code == 1 and {r["value"]: r["code"] for r in results} == NOT_LEGACY
    code, results = check("--authoritative", "uscc", LEGACY, LEGACY_2, NATIONAL)
    assert code == 0 and all(r["warnings"] == ["uscc.checksum_legacy"] for r in results)
    code, results = check("uscc", *NOT_LEGACY)  # not authoritative: simply a failing check character
    assert code == 1 and {r["code"] for r in results} == {"uscc.checksum"}


def test_a_department_id_is_never_a_citizen_id_number():
    from mdm.access.departments import check_department_id
    from mdm.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as refused:
        check_department_id(BOTH[0])
    assert refused.value.extra.get("reason") == "uscc.is_citizen_id"


# -- 2. a legacy code the authority holds is accepted from other sources ----------------------------------------


def credit_file(tmp_path, values, name="c.csv"):
    rows = [f"CR-{i},{v},企业{i}," for i, v in enumerate(values)]
    return csv_file(tmp_path / name, rows, header="record_id,subject_uscc,subject_name,authority_uscc")


def test_once_the_authority_holds_a_legacy_code_other_sources_may_reference_it(db, tmp_path):
    before = load(db, CREDIT, credit_file(tmp_path, [LEGACY, UNKNOWN]), tmp_path)
    assert reject_codes(before) == {LEGACY: "uscc.checksum", UNKNOWN: "uscc.checksum"}

    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY, LEGACY_2]), tmp_path)
    summary = load(db, CREDIT, credit_file(tmp_path, [LEGACY, UNKNOWN, LEGACY_2]), tmp_path)
    assert summary["inserted"] == 2
    assert reject_codes(summary) == {UNKNOWN: "uscc.checksum"}
    assert summary["warning_codes"] == {"uscc.legacy_known": 2}  # no ref.unknown: both entities exist
    found = [(w["row"], w["field"], w["value"]) for w in warnings(summary)]
    assert found == [(2, "subject_uscc", LEGACY), (4, "subject_uscc", LEGACY_2)]
    assert golden(db, "credit_record", "CR-0").data["subject_uscc"] == LEGACY

    tax = load(db, entities(source=TAX), entity_file(tmp_path, [LEGACY, UNKNOWN], name="tax.csv"), tmp_path)
    assert (tax["inserted"], tax["warning_codes"], reject_codes(tax)) == (
        1,
        {"uscc.legacy_known": 1},
        {UNKNOWN: "uscc.checksum"},
    )
    with db.read() as session:
        sources = session.execute(
            sa.select(SourceRecord.source_system_id).where(SourceRecord.business_key == LEGACY)
        ).scalars()
        assert sorted(sources) == [REGISTRY["id"], TAX["id"]]


def test_a_licence_holder_and_an_issuer_may_be_a_held_legacy_code(db, tmp_path):
    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY]), tmp_path)
    header = "license_id,holder_name,holder_id,issuer_uscc"
    rows = [f"{licence_id(1)},某公司,{LEGACY},{LEGACY}", f"{licence_id(2)},另一家,{UNKNOWN},"]
    summary = load(db, LICENCES, csv_file(tmp_path / "l.csv", rows, header=header), tmp_path)
    assert summary["inserted"] == 1 and summary["warning_codes"] == {"uscc.legacy_known": 2}
    assert [(r["errors"][0]["field"], r["code"]) for r in rejects(summary)] == [("holder_id", "uscc.checksum")]


def test_a_legacy_code_the_authority_never_loaded_stays_refused_even_with_a_usccs_structure(db, tmp_path):
    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY]), tmp_path)
    other = [LEGACY_2, NATIONAL, *NOT_LEGACY]
    summary = load(db, CREDIT, credit_file(tmp_path, other), tmp_path)
    assert summary["inserted"] == 0 and set(reject_codes(summary).values()) == {"uscc.checksum"}


def test_the_held_legacy_codes_are_asked_once_per_chunk(db, tmp_path):
    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY, LEGACY_2, NATIONAL]), tmp_path)
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "golden_records.business_key IN" in statement:
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        values = [LEGACY, "91320505MA1B2C3D85", LEGACY_2, NATIONAL, UNKNOWN]  # chunks: 2 + 2 + 1 rows
        tax = load(db, entities(source=TAX), entity_file(tmp_path, values, name="tax.csv"), tmp_path, chunk_rows=2)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert (tax["inserted"], tax["warning_codes"]) == (4, {"uscc.legacy_known": 3})
    assert len(statements) == 3  # one per chunk, each asking for every candidate of its chunk


def test_mdm_check_knows_the_held_legacy_codes_as_the_load_does(db, tmp_path):
    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY]), tmp_path)
    held = KnownLegacyCodes(db)
    results = check_values("uscc", [LEGACY, UNKNOWN, LEGACY.lower()], known_legacy=held)
    assert [(r["valid"], r["code"], r["warnings"]) for r in results] == [
        (True, None, ["uscc.legacy_known"]),
        (False, "uscc.checksum", []),
        (True, None, ["identifier.lower_case", "uscc.legacy_known"]),
    ]
    assert held.queries == 1  # all values at once


def test_the_mdm_check_command_asks_the_database_for_held_legacy_codes(check, tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
    db.ensure_schema()
    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY]), tmp_path)
    db.dispose()
    code, results = check("uscc", LEGACY, UNKNOWN)
    assert code == 1
    assert [(r["valid"], r["code"], r["warnings"]) for r in results] == [
        (True, None, ["uscc.legacy_known"]),
        (False, "uscc.checksum", []),
    ]


# -- 3. the USCC hint only for values with a USCC's structure ---------------------------------------------------


def persons():
    return parse_profile(
        {
            "repository": "natural_person",
            "source_system": {"id": "test-household", "name": "test household registry"},
            "format": "csv",
            "fields": {"citizen_id": {"column": "id", "normalise": ["resident_id"]}, "name": {"column": "name"}},
        },
        default_name="test-persons",
    )


def lucky_typos() -> list[str]:
    """Citizen ID numbers with a wrong check character that happen to pass the GB 32100 check (one in 31)."""
    found = []
    for body in ("44030619920229100", "11010519900307123", "32050519780405201", "51010720000101002"):
        found.extend(v for v in wrong_id_check(body) if uscc.is_valid(v))
    for n in range(100, 130):
        found.extend(v for v in wrong_id_check(f"33010219661123{n:03d}") if uscc.is_valid(v))
    return found


def vector_typos(vectors) -> list[str]:
    with open(vectors / "cn-resident-id.csv", encoding="utf-8", newline="") as fh:
        valid = [r["normalised"] for r in csv.DictReader(fh) if r["expected"] == "valid"]
    return [typo for v in valid for typo in wrong_id_check(v[:17])]


def test_a_plausible_citizen_id_with_a_wrong_check_character_is_never_called_a_uscc(db, tmp_path, vectors):
    typos = lucky_typos()
    assert len(typos) >= 5  # the inputs pass the MOD 31 check: the old hint fired for each
    values = typos + vector_typos(vectors)
    summary = load(
        db, persons(), csv_file(tmp_path / "p.csv", [f"{v},某人" for v in values], header="id,name"), tmp_path
    )
    assert summary["rejected"] == len(values)
    assert {r["code"] for r in rejects(summary)} == {"id.checksum"}
    assert not [r for r in rejects(summary) if "unified social credit code" in r["errors"][0]["message"]]


def test_a_real_uscc_in_a_citizen_id_column_is_still_called_a_uscc(db, tmp_path, vectors):
    codes = (vectors / "uscc-valid-public.txt").read_text(encoding="utf-8").split()
    summary = load(
        db, persons(), csv_file(tmp_path / "p.csv", [f"{v},某企业" for v in codes], header="id,name"), tmp_path
    )
    assert summary["rejected"] == len(codes) == 200
    assert all(USCC_HINT in r["errors"][0]["message"] for r in rejects(summary))


def test_a_value_passing_the_uscc_check_without_its_structure_gets_no_hint(db, tmp_path):
    shapeless = [
        with_check("99320505123456789"),  # 工商 has no organisation type 9
        with_check("91000000123456789"),  # 000000 is no division
        with_check("9132050512345678A"),  # no GB 11714 check character
    ]
    assert all(uscc.is_valid(v) and checkdigits.check_resident_id(v) for v in shapeless)
    summary = load(
        db, persons(), csv_file(tmp_path / "p.csv", [f"{v},某" for v in shapeless], header="id,name"), tmp_path
    )
    assert summary["rejected"] == 3
    assert not [r for r in rejects(summary) if "unified social credit code" in r["errors"][0]["message"]]


def test_mdm_check_gives_the_uscc_hint_as_the_load_does(check, vectors):
    _, results = check("cn-resident-id", *lucky_typos(), *vector_typos(vectors))
    assert {r["code"] for r in results} == {"id.checksum"} and not [r for r in results if "hint" in r]
    _, results = check("cn-resident-id", with_check("99320505123456789"), with_check("91000000123456789"))
    assert not [r for r in results if "hint" in r]
    codes = (vectors / "uscc-valid-public.txt").read_text(encoding="utf-8").split()
    _, results = check("cn-resident-id", *codes)
    assert all(r["hint"] == USCC_HINT for r in results)


def test_an_authoritative_credit_source_makes_no_legacy_reference(db, tmp_path):
    """authoritative: true tolerates legacy codes in the business key it issues, not in references to others."""
    document = {**CREDIT.model_dump(exclude={"name"}), "authoritative": True}
    issuer = parse_profile(document, default_name="test-credit-authoritative")
    summary = load(db, issuer, credit_file(tmp_path, [UNKNOWN]), tmp_path)
    assert reject_codes(summary) == {UNKNOWN: "uscc.checksum"}


# -- mdm check agrees with a load, value by value, for kinds 1–3 --------------------------------------------------


FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def legacy_of(body8: str) -> str:
    """A pilot-era 工商 code of 320505 with organisation code ``body8`` (and its GB 11714 check character)."""
    return without_check(f"91320505{body8}{checkdigits.org_code_check_character(body8)}")


def _verdicts(summary) -> dict[int, tuple[str | None, list[str], bool]]:
    """row → (reject code or None, warning codes, whether the USCC hint was given) of a load."""
    found: dict[int, tuple[str | None, list[str], bool]] = {}
    for reject in rejects(summary):
        found[reject["row"]] = (reject["code"], [], USCC_HINT in reject["errors"][0]["message"])
    for warning in warnings(summary):
        code, codes, hinted = found.get(warning["row"], (None, [], False))
        found[warning["row"]] = (code, [*codes, warning["code"]], hinted)
    return found


def _answers(results) -> dict[int, tuple[str | None, list[str], bool]]:
    return {
        row: (r["code"], sorted(r["warnings"]), r.get("hint") == USCC_HINT)
        for row, r in enumerate(results, start=2)
        if r["code"] or r["warnings"]
    }


@pytest.mark.parametrize("authoritative", [False, True])
def test_mdm_check_answers_every_uscc_value_as_a_load_does(db, tmp_path, authoritative):
    """Citizen ID numbers in a USCC field, legacy codes with and without a USCC's structure, a legacy code the
    authority holds (loaded before from its own source) and one it does not, lower case and full width: the
    same code, warnings and hint from ``check_values`` (what ``mdm check`` runs) as from a load, row by row."""
    load(db, entities(authoritative=True), entity_file(tmp_path, [LEGACY_2], name="held.csv"), tmp_path)
    values = [
        *CITIZENS[:2],
        BOTH[0],
        LEGACY,
        legacy_of("MA1B2C3E").lower(),
        LEGACY_2,  # held by the authority now
        UNKNOWN,
        *NOT_LEGACY,
        legacy_of("MA1B2C3F").translate(FULL_WIDTH),
    ]
    summary = load(db, entities(authoritative=authoritative, source=TAX), entity_file(tmp_path, values), tmp_path)
    by_load = {row: (code, sorted(w), hint) for row, (code, w, hint) in _verdicts(summary).items()}
    by_check = _answers(check_values("uscc", values, authoritative=authoritative, known_legacy=KnownLegacyCodes(db)))
    assert by_check == by_load
    assert summary["rejected"] == len(CITIZENS[:2]) + 1 + len(NOT_LEGACY) + (0 if authoritative else 4)


def test_mdm_check_answers_every_citizen_id_value_as_a_load_does(db, tmp_path, vectors):
    """Wrong check characters that pass GB 32100 by chance (no hint), real USCCs in a citizen ID column (the hint),
    values passing the USCC check without its structure (no hint), a 15-digit number and an Excel-truncated one."""
    codes = (vectors / "uscc-valid-public.txt").read_text(encoding="utf-8").split()[:5]
    values = [
        *lucky_typos()[:5],
        *codes,
        with_check("99320505123456789"),
        with_check("91000000123456789"),
        "440306011231004",  # 15 digits: upgraded, id.upgraded
        "110105199003071000",
        CITIZENS[0],
    ]
    summary = load(db, persons(), csv_file(tmp_path / "p.csv", [f"{v},某" for v in values], header="id,name"), tmp_path)
    by_load = {row: (code, sorted(w), hint) for row, (code, w, hint) in _verdicts(summary).items()}
    assert by_load == _answers(check_values("cn-resident-id", values))
    assert sum(hint for _, _, hint in by_load.values()) == len(codes)
