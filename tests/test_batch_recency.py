"""Recency inside one batch (issue 8 item 8): the same key twice in a file — the later source time wins, and the
reject of the other row names both rows. On SQLite and on PostgreSQL, within a chunk and across chunks."""

import pytest
import sqlalchemy as sa

from mdm import records
from mdm.models import RecordVersion, SourceRecord
from tests.helpers import csv_file, load, profile, read_jsonl

HEADER = "id,name,level,division,since,lon,lat,changed"
TIMED = {"timestamp": "changed"}
CHUNKS = pytest.mark.parametrize("chunk_rows", [1, 100], ids=["across-chunks", "within-a-chunk"])


def name_of(db, key="p1"):
    with db.read() as session:
        return records.get_record(session, "geo_feature", key).data["name"]


def versions(db, key="p1"):
    with db.read() as session:
        return session.execute(
            sa.select(sa.func.count()).select_from(RecordVersion).where(RecordVersion.business_key == key)
        ).scalar_one()


@CHUNKS
def test_the_row_with_the_later_source_time_wins_even_when_it_comes_second(db, tmp_path, chunk_rows):
    rows = [
        "p1,旧名称,,320508,,120.6,31.3,2024-01-01T08:00:00",
        "p2,拙政园,,320508,,120.6,31.3,2024-01-01T08:00:00",
        "p1,新名称,,320508,,120.6,31.3,2024-06-01T08:00:00",
    ]
    summary = load(db, profile(**TIMED), csv_file(tmp_path / "a.csv", rows, HEADER), tmp_path, chunk_rows=chunk_rows)
    assert (summary["read"], summary["inserted"], summary["rejected"]) == (3, 2, 1)
    assert name_of(db) == "新名称"
    assert versions(db) == 1  # the golden record is built once per batch, from the winner
    [reject] = read_jsonl(summary["rejects_path"])
    assert (reject["row"], reject["code"], reject["source_key"]) == (2, "batch.duplicate_key", "p1")
    assert "rows 2 and 4" in reject["errors"][0]["message"] and "row 4 is kept" in reject["errors"][0]["message"]
    assert reject["raw"]["name"] == "旧名称"  # the losing row's cells as supplied


@CHUNKS
def test_an_earlier_row_with_the_later_source_time_keeps_its_place(db, tmp_path, chunk_rows):
    rows = [
        "p1,新名称,,320508,,120.6,31.3,2024-06-01T08:00:00",
        "p1,旧名称,,320508,,120.6,31.3,2024-01-01T08:00:00",
    ]
    summary = load(db, profile(**TIMED), csv_file(tmp_path / "a.csv", rows, HEADER), tmp_path, chunk_rows=chunk_rows)
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    assert name_of(db) == "新名称"
    [reject] = read_jsonl(summary["rejects_path"])
    assert (reject["row"], reject["raw"]["name"]) == (3, "旧名称")
    assert "rows 2 and 3" in reject["errors"][0]["message"] and "row 2 is kept" in reject["errors"][0]["message"]


@CHUNKS
def test_without_source_times_the_first_row_wins(db, tmp_path, chunk_rows):
    rows = ["p1,第一,,320508,,120.6,31.3,", "p1,第二,,320508,,120.6,31.3,"]
    summary = load(db, profile(**TIMED), csv_file(tmp_path / "a.csv", rows, HEADER), tmp_path, chunk_rows=chunk_rows)
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    assert name_of(db) == "第一"
    assert read_jsonl(summary["rejects_path"])[0]["row"] == 3


def test_a_later_row_replacing_an_update_counts_once_as_updated(db, tmp_path):
    first = ["p1,原名,,320508,,120.6,31.3,2023-01-01T08:00:00"]
    load(db, profile(**TIMED), csv_file(tmp_path / "a.csv", first, HEADER), tmp_path)
    rows = [
        "p1,中间名,,320508,,120.6,31.3,2024-01-01T08:00:00",
        "p1,最新名,,320508,,120.6,31.3,2024-06-01T08:00:00",
    ]
    summary = load(db, profile(**TIMED), csv_file(tmp_path / "b.csv", rows, HEADER), tmp_path, chunk_rows=1)
    assert (summary["inserted"], summary["updated"], summary["unchanged"], summary["rejected"]) == (0, 1, 0, 1)
    assert summary["golden"] == {"created": 0, "changed": 1, "retired": 0, "versions": 1}
    assert name_of(db) == "最新名" and versions(db) == 2


def test_a_later_row_under_another_source_key_replaces_the_earlier_source_record(db, tmp_path):
    header = HEADER + ",ref"
    rows = [
        "p1,旧名称,,320508,,120.6,31.3,2024-01-01T08:00:00,A-1",
        "p1,新名称,,320508,,120.6,31.3,2024-06-01T08:00:00,A-2",
    ]
    prof = profile(source_key="ref", **TIMED)
    summary = load(db, prof, csv_file(tmp_path / "a.csv", rows, header), tmp_path, chunk_rows=1)
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    assert name_of(db) == "新名称"
    with db.read() as session:
        kept = session.execute(sa.select(SourceRecord.source_key)).scalars().all()
    assert kept == ["A-2"]
    assert read_jsonl(summary["rejects_path"])[0]["source_key"] == "A-1"


def test_a_row_with_a_blank_source_key_is_rejected_and_the_rest_of_the_file_loads(db, tmp_path):
    header = HEADER + ",ref"
    rows = [
        "p1,一号,,320508,,120.6,31.3,2024-01-01T08:00:00,A-1",
        "p2,二号,,320508,,120.6,31.3,2024-01-01T08:00:00,",
        "p3,三号,,320508,,120.6,31.3,2024-01-01T08:00:00,A-3",
    ]
    summary = load(db, profile(source_key="ref", **TIMED), csv_file(tmp_path / "a.csv", rows, header), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (2, 1)
    [reject] = read_jsonl(summary["rejects_path"])
    assert (reject["row"], reject["code"], reject["errors"][0]["field"]) == (3, "row.source_key_missing", "ref")
