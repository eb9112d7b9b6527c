"""The four non-spatial repositories through the loaders, on messy department files written here."""

import datetime as dt
import json
import multiprocessing
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from api.demo import SAMPLES
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile, parse_profile
from mdm import records
from mdm.db import Database
from mdm.models import GoldenRecord, RecordVersion, SourceRecord
from tests.helpers import load, read_jsonl

PERSONS = load_profile(str(SAMPLES / "persons.yaml"), [])
ENTITIES = load_profile(str(SAMPLES / "entities.yaml"), [])
CREDIT = load_profile(str(SAMPLES / "credit.yaml"), [])
LICENCES = load_profile(str(SAMPLES / "licences.yaml"), [])
P = "32050519900307123X"
U = "91320505MA1B2C3D85"
A = "113205000142510039"
LID = "1.2.156.3005.2.113205000142510039001.113205000142510039.320505000123.001.4"


def for_header(profile, header: str):
    """The profile restricted to the columns a test file has (a profile's columns must all be present)."""
    columns = set(header.split(","))
    document = profile.model_dump(exclude={"name"})
    document["fields"] = {k: v for k, v in document["fields"].items() if v["column"] in columns}
    return parse_profile(document, default_name=f"{profile.name}-subset")


def write(path, header: str, *rows: str):
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


PERSON_HEADER = "citizen_id,name,gender_code,birth_date,phone"
PERSONS_T = for_header(PERSONS, PERSON_HEADER)
ENTITIES_T = for_header(ENTITIES, "uscc,name")
LICENCE_HEADER = "license_id,license_type_code,holder_name,holder_id_type,holder_id,status,long_term,valid_to"
LICENCES_T = for_header(LICENCES, LICENCE_HEADER)


def persons_csv(path, *rows):
    return write(path, PERSON_HEADER, *rows)


def get(db, repository, key):
    with db.read() as session:
        return records.get_record(session, repository, key)


def codes(summary):
    return [r["code"] for r in read_jsonl(summary["rejects_path"])]


def test_a_person_loads_and_a_birth_date_disagreeing_with_the_id_is_rejected(db, tmp_path):
    path = persons_csv(
        tmp_path / "p.csv", f"{P},周晓岚,2,1990-03-07,13812345678", "110101202311012176,错日期,1,2023-11-02,"
    )
    summary = load(db, PERSONS_T, path, tmp_path)
    assert (summary["inserted"], codes(summary)) == (1, ["person.birth_date_mismatch"])
    assert get(db, "natural_person", P).data["phone"] == "13812345678"


def test_full_width_lowercase_and_legacy_citizen_ids_are_normalised_with_the_raw_value_kept(db, tmp_path):
    full_width = "３２０５０５１９９００３０７１２３ｘ,周晓岚,2,,"
    path = persons_csv(tmp_path / "p.csv", full_width, "44011320141005001x,小明,1,,", "110101231101217,老号,1,,")
    summary = load(db, PERSONS_T, path, tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (3, 0)
    # issue 8 item 11: each normalisation leaves a warning (the full-width ｘ is also lower case)
    assert summary["warning_codes"] == {"id.upgraded": 1, "identifier.full_width": 1, "identifier.lower_case": 2}
    assert get(db, "natural_person", "11010119231101217X").data["name"] == "老号"
    with db.read() as session:
        raw = {r.business_key: r.raw["citizen_id"] for r in session.execute(sa.select(SourceRecord)).scalars()}
    assert raw == {
        P: "３２０５０５１９９００３０７１２３ｘ",
        "44011320141005001X": "44011320141005001x",
        "11010119231101217X": "110101231101217",
    }


def test_an_id_that_went_through_excel_in_a_csv_is_rejected(db, tmp_path):
    summary = load(db, PERSONS_T, persons_csv(tmp_path / "p.csv", "1.10105E+17,某人,1,,"), tmp_path)
    assert codes(summary) == ["id.lossy_numeric"]


def test_a_numeric_xlsx_cell_in_an_identifier_column_is_rejected_not_rebuilt(db, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["citizen_id", "name", "gender_code", "birth_date", "phone"])
    sheet.append([110101202311012176, "数字格", "1", None, None])  # Excel keeps 15 significant digits
    sheet.append([P, "文本格", "2", dt.date(1990, 3, 7), "13812345678"])
    book.save(tmp_path / "p.xlsx")
    prof = parse_profile({**PERSONS_T.model_dump(exclude={"name"}), "format": "xlsx"}, default_name="persons-xlsx")
    summary = load(db, prof, tmp_path / "p.xlsx", tmp_path)
    assert (summary["inserted"], codes(summary), summary["encoding"]) == (1, ["id.lossy_numeric"], "xlsx")
    assert get(db, "natural_person", P).data["birth_date"] == "1990-03-07"


def test_a_uscc_outside_the_alphabet_and_one_with_a_wrong_check_character_are_rejected(db, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(f"uscc,name\n{U},好公司\n91320505MA1B2C3DI5,坏字母\n91320505MA1B2C3D86,坏校验\n", encoding="utf-8")
    summary = load(db, ENTITIES_T, path, tmp_path)
    assert (summary["inserted"], codes(summary)) == (1, ["uscc.charset", "uscc.checksum"])


def test_code_columns_keep_their_leading_zeros(db, tmp_path):
    path = write(tmp_path / "p.csv", "citizen_id,name,ethnicity_code", f"{P},周晓岚,01")
    load(db, for_header(PERSONS, "citizen_id,name,ethnicity_code"), path, tmp_path)
    assert get(db, "natural_person", P).data["ethnicity_code"] == "01"


def test_credit_records_from_json_lines_with_negative_amounts_rejected_and_unknown_subjects_warned(db, tmp_path):
    rows = [
        {
            "record_id": "CR-1",
            "record_type": "administrative_penalty",
            "subject_type": "legal_entity",
            "subject_uscc": U,
            "subject_name": "苏州示例科技有限公司",
            "penalty_category": "2",
            "fine_wan": 0.5,
        },
        {
            "record_id": "CR-2",
            "record_type": "administrative_penalty",
            "subject_type": "legal_entity",
            "subject_uscc": U,
            "subject_name": "苏州示例科技有限公司",
            "fine_wan": -3,
        },
        {
            "record_id": "CR-3",
            "record_type": "administrative_penalty",
            "subject_type": "legal_entity",
            "subject_uscc": U,
            "subject_name": "x",
            "fine_wan": 1.12345678,
        },
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    summary = load(db, CREDIT, path, tmp_path)
    assert (summary["inserted"], codes(summary)) == (1, ["amount.negative", "amount.precision"])
    assert summary["warning_codes"] == {"ref.unknown": 1}  # the company has not been loaded (yet)
    assert get(db, "credit_record", "CR-1").data["fine_wan"] == 0.5


def test_a_reference_to_a_loaded_record_is_not_warned(db, tmp_path):
    (tmp_path / "e.csv").write_text(f"uscc,name\n{U},苏州示例科技有限公司\n", encoding="utf-8")
    load(db, ENTITIES_T, tmp_path / "e.csv", tmp_path)
    row = {
        "record_id": "CR-1",
        "record_type": "red_list",
        "subject_type": "legal_entity",
        "subject_uscc": U,
        "subject_name": "苏州示例科技有限公司",
    }
    (tmp_path / "c.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load(db, CREDIT, tmp_path / "c.jsonl", tmp_path)["warnings"] == 0


def test_a_licence_whose_holder_id_fails_its_own_format_is_rejected(db, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(
        "\n".join(
            [
                LICENCE_HEADER,
                f"{LID},{A}001,苏州示例科技有限公司,001,{U},valid,是,",
                f"{LID[:-1]}5,{A}001,周晓岚,111,{U},valid,,2030-01-01",
                f"{LID[:-1]}6,{A}001,长期又到期,001,{U},valid,true,2030-01-01",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    summary = load(db, LICENCES_T, path, tmp_path)
    assert codes(summary) == ["license.holder_id_invalid", "license.validity_conflict"]
    assert summary["inserted"] == 1 and get(db, "e_license", LID).data["long_term"] is True


def test_a_licence_id_with_a_mismatching_check_character_loads_with_a_warning(db, tmp_path):
    path = write(tmp_path / "l.csv", LICENCE_HEADER, f"{LID[:-1]}7,{A}001,苏州示例科技有限公司,001,{U},valid,,")
    summary = load(db, LICENCES_T, path, tmp_path)
    assert summary["inserted"] == 1
    assert summary["warning_codes"] == {"license_id.checksum": 1, "ref.unknown": 1}


def _load_in_process(url: str, schema: str | None, path: str, report: str) -> int:
    kwargs = {"connect_args": {"options": f"-csearch_path={schema},public"}} if schema else {}
    db = Database(url, **kwargs)
    summary = load_file(db, PERSONS, Path(path), options=LoadOptions(report_root=Path(report), chunk_rows=50))
    db.dispose()
    return summary["rejected"]


def test_two_processes_loading_the_same_keys_at_once_make_one_record_per_key(db, tmp_path):
    from api import samples

    people = list(samples.persons(400, seed=7))
    samples.write_csv(tmp_path / "a.csv", people)
    samples.write_csv(tmp_path / "b.csv", list(reversed(people)))
    url = db.url
    schema = None
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = [
            pool.apply_async(_load_in_process, (url, schema, str(tmp_path / name), str(tmp_path / "r")))
            for name in ("a.csv", "b.csv")
        ]
        rejected = [r.get(timeout=120) for r in results]
    assert rejected == [0, 0]
    with db.read() as session:
        golden = session.execute(sa.select(sa.func.count()).select_from(GoldenRecord)).scalar_one()
        versions = session.execute(sa.select(sa.func.count()).select_from(RecordVersion)).scalar_one()
        sources = session.execute(sa.select(sa.func.count()).select_from(SourceRecord)).scalar_one()
    assert golden == sources == 400
    assert versions == 400  # the second load found every row unchanged


def test_the_demo_correction_file_rejects_its_five_bad_rows_with_their_codes_and_changes_nothing(db, tmp_path):
    from api.demo import write_corrections, write_samples

    persons = next((p, f) for p, f in write_samples(tmp_path / "samples") if p == "persons.yaml")
    load(db, load_profile(str(SAMPLES / persons[0]), []), persons[1], tmp_path)
    profile_file, data_file = write_corrections(tmp_path / "samples")
    summary = load(db, load_profile(str(SAMPLES / profile_file), []), data_file, tmp_path)
    assert (summary["read"], summary["rejected"], summary["unchanged"], summary["inserted"]) == (7, 5, 2, 0)
    codes = {"date.invalid": 1, "id.checksum": 1, "id.length": 1, "schema.enum": 1, "schema.required": 1}
    assert summary["reject_codes"] == codes


@pytest.mark.parametrize("repository", ["natural_person", "legal_entity", "credit_record", "e_license"])
def test_the_demo_samples_load_without_rejects_or_warnings(db, tmp_path, repository):
    from api.demo import write_samples

    for profile_file, data_file in write_samples(tmp_path / "samples"):
        profile = load_profile(str(SAMPLES / profile_file), [])
        summary = load(db, profile, data_file, tmp_path)
        assert (summary["rejected"], summary["warnings"]) == (0, 0), (profile.name, summary["reject_codes"])
        if profile.repository == repository:
            break
