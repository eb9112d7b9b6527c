"""The store through the load pipeline, on SQLite and on PostgreSQL + PostGIS."""

import datetime as dt

import pytest
import sqlalchemy as sa

from mdm import records
from mdm.errors import GuardRefused
from mdm.models import GoldenRecord, OutboxEntry, RecordVersion, SourceRecord
from standards import default_registry
from tests.helpers import csv_file, load, profile, read_jsonl

GEO = default_registry().get("geo_feature")
ROWS = [
    "p1,苏州博物馆,,320508,2020-01-01,120.6285,31.3236",
    "p2,拙政园,,320508,2020/01/02,120.6271,31.3264",
    "p3,寒山寺,,320508,20200103,120.5682,31.3104",
]


def count(db, model, **where):
    with db.read() as session:
        stmt = sa.select(sa.func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.execute(stmt).scalar_one()


def test_a_load_writes_source_and_golden_records_versions_and_outbox_rows(db, tmp_path):
    summary = load(db, profile(), csv_file(tmp_path / "poi.csv", ROWS), tmp_path)
    assert (summary["read"], summary["inserted"], summary["rejected"]) == (3, 3, 0)
    assert summary["golden"] == {"created": 3, "changed": 0, "retired": 0, "versions": 3}
    assert count(db, SourceRecord) == count(db, GoldenRecord) == count(db, RecordVersion) == count(db, OutboxEntry) == 3
    with db.read() as session:
        record = records.get_record(session, "geo_feature", "p2")
    assert record.version == 1 and record.status == "active"
    assert record.data["valid_from"] == "2020-01-02"
    assert record.data["geometry"] == {"type": "Point", "coordinates": [120.6271, 31.3264]}
    assert record.provenance["name"]["source"] == "test-poi"
    assert record.provenance["name"]["batch_id"] == summary["batch_id"]


def test_reloading_the_same_file_changes_nothing(db, tmp_path):
    path = csv_file(tmp_path / "poi.csv", ROWS)
    load(db, profile(), path, tmp_path)
    again = load(db, profile(), path, tmp_path)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["golden"]["versions"] == 0
    assert count(db, RecordVersion) == 3 and count(db, OutboxEntry) == 3


def test_a_changed_value_writes_a_new_version_and_the_old_one_stays_readable(db, tmp_path):
    first = load(db, profile(), csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    with db.read() as session:
        before = records.get_record(session, "geo_feature", "p1").recorded_at
    changed = [ROWS[0].replace("苏州博物馆", "苏州博物馆本馆"), *ROWS[1:]]
    second = load(db, profile(), csv_file(tmp_path / "b.csv", changed), tmp_path)
    assert (second["updated"], second["unchanged"], second["golden"]["changed"]) == (1, 2, 1)
    with db.read() as session:
        now = records.get_record(session, "geo_feature", "p1")
        then = records.get_record(session, "geo_feature", "p1", as_of=before + dt.timedelta(microseconds=1))
        versions = records.history(session, "geo_feature", "p1")
    assert (now.version, now.data["name"]) == (2, "苏州博物馆本馆")
    assert now.provenance["name"]["batch_id"] == second["batch_id"]
    assert (then.version, then.data["name"]) == (1, "苏州博物馆")
    assert [v.version for v in versions] == [1, 2]
    assert first["batch_id"] != second["batch_id"]


def test_as_of_before_the_first_version_is_not_found(db, tmp_path):
    load(db, profile(), csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    with db.read() as session, pytest.raises(Exception) as caught:
        records.get_record(session, "geo_feature", "p1", as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert caught.value.code == "record.not_found"


@pytest.mark.parametrize("chunk_rows", [1, 100], ids=["across-chunks", "within-a-chunk"])
def test_a_repeated_key_in_one_batch_is_rejected_and_the_first_row_kept(db, tmp_path, chunk_rows):
    rows = [*ROWS, "p1,重复的博物馆,,320508,2020-01-01,120.6,31.3"]
    summary = load(db, profile(), csv_file(tmp_path / "dup.csv", rows), tmp_path, chunk_rows=chunk_rows)
    assert (summary["inserted"], summary["rejected"]) == (3, 1)
    rejects = read_jsonl(summary["rejects_path"])
    assert [(r["row"], r["code"]) for r in rejects] == [(5, "batch.duplicate_key")]
    with db.read() as session:
        assert records.get_record(session, "geo_feature", "p1").data["name"] == "苏州博物馆"


def test_a_bad_row_is_a_reject_with_its_code_and_raw_value_and_the_rest_loads(db, tmp_path):
    rows = [*ROWS, "p4,坏区划,,3205X8,2020-01-01,120.6,31.3", "p5,坏日期,,320508,2023-02-30,120.6,31.3"]
    summary = load(db, profile(), csv_file(tmp_path / "bad.csv", rows), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (3, 2)
    rejects = {r["row"]: r for r in read_jsonl(summary["rejects_path"])}
    assert rejects[5]["code"] == "division_code.format" and rejects[5]["errors"][0]["value"] == "3205X8"
    assert rejects[6]["code"] == "date.invalid" and rejects[6]["errors"][0]["value"] == "2023-02-30"
    assert summary["reject_codes"] == {"date.invalid": 1, "division_code.format": 1}


def test_snapshot_retires_what_the_feed_no_longer_supplies(db, tmp_path):
    snap = profile(mode="snapshot")
    load(db, snap, csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    summary = load(db, snap, csv_file(tmp_path / "b.csv", ROWS[:2]), tmp_path, guard=0.5)
    assert summary["retired"] == 1 and summary["golden"]["retired"] == 1
    with db.read() as session:
        gone = records.get_record(session, "geo_feature", "p3")
        listed, _ = records.list_records(session, GEO, records.ListQuery(filters={}))
        everything, _ = records.list_records(session, GEO, records.ListQuery(filters={}, include_retired=True))
    assert (gone.status, gone.version) == ("retired", 2)
    assert [r.key for r in listed] == ["p1", "p2"]
    assert [r.key for r in everything] == ["p1", "p2", "p3"]


def test_the_snapshot_guard_refuses_and_stores_nothing_unless_forced(db, tmp_path):
    snap = profile(mode="snapshot")
    load(db, snap, csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    with pytest.raises(GuardRefused) as caught:
        load(db, snap, csv_file(tmp_path / "b.csv", ROWS[:1]), tmp_path)
    assert caught.value.code == "load.guard_refused"
    assert caught.value.extra["summary"]["status"] == "refused"
    assert count(db, GoldenRecord, status="active") == 3
    forced = load(db, snap, csv_file(tmp_path / "b.csv", ROWS[:1]), tmp_path, force=True)
    assert forced["retired"] == 2 and count(db, GoldenRecord, status="active") == 1


def test_a_retired_record_comes_back_when_the_feed_supplies_it_again(db, tmp_path):
    snap = profile(mode="snapshot")
    load(db, snap, csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    load(db, snap, csv_file(tmp_path / "b.csv", ROWS[:2]), tmp_path, force=True)
    back = load(db, snap, csv_file(tmp_path / "c.csv", ROWS), tmp_path)
    assert (back["updated"], back["golden"]["changed"]) == (1, 1)
    with db.read() as session:
        assert records.get_record(session, "geo_feature", "p3").status == "active"


def test_the_higher_priority_source_wins_and_provenance_names_it(db, tmp_path):
    load(db, profile(), csv_file(tmp_path / "a.csv", ROWS[:1]), tmp_path)
    other = profile("other-poi", source_system={"id": "other", "name": "other"}, priority=90)
    load(db, other, csv_file(tmp_path / "b.csv", ["p1,苏州博物馆西馆,,,,,"]), tmp_path)
    with db.read() as session:
        record = records.get_record(session, "geo_feature", "p1")
    assert record.data["name"] == "苏州博物馆西馆"
    assert record.provenance["name"]["source"] == "other"
    assert record.provenance["division_code"]["source"] == "test-poi"
    assert record.version == 2


def test_versions_are_append_only(db, tmp_path):
    load(db, profile(), csv_file(tmp_path / "a.csv", ROWS[:1]), tmp_path)
    for statement in ("UPDATE record_versions SET status = 'x'", "DELETE FROM record_versions"):
        with pytest.raises(sa.exc.DBAPIError), db.write() as session:
            session.execute(sa.text(statement))
    assert count(db, RecordVersion) == 1


def test_a_file_rejected_whole_leaves_the_store_untouched(db, tmp_path):
    load(db, profile(), csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    broken = tmp_path / "broken.csv"
    broken.write_text("id,name\np1,x\n", encoding="utf-8")
    with pytest.raises(Exception) as caught:
        load(db, profile(), broken, tmp_path)
    assert caught.value.code == "file.missing_columns"
    assert count(db, GoldenRecord) == 3 and count(db, RecordVersion) == 3


def test_a_rejected_row_in_a_snapshot_keeps_its_stored_record_instead_of_retiring_it(db, tmp_path):
    snap = profile(mode="snapshot")
    load(db, snap, csv_file(tmp_path / "a.csv", ROWS), tmp_path)
    broken = [ROWS[0], ROWS[1].replace("拙政园", ""), ROWS[2]]  # a required name missing in p2's new row
    summary = load(db, snap, csv_file(tmp_path / "b.csv", broken), tmp_path)
    assert (summary["rejected"], summary["retired"], summary["golden"]["retired"]) == (1, 0, 0)
    assert read_jsonl(summary["rejects_path"])[0]["source_key"] == "p2"
    with db.read() as session:
        kept = records.get_record(session, "geo_feature", "p2")
    assert (kept.status, kept.version, kept.data["name"]) == ("active", 1, "拙政园")


def test_the_guard_protects_a_small_feed_in_a_large_repository(db, tmp_path):
    big = profile("big-feed")
    load(db, big, csv_file(tmp_path / "big.csv", [f"b{i},大{i},,,,," for i in range(100)]), tmp_path)
    small = profile("small-feed", mode="snapshot")
    load(db, small, csv_file(tmp_path / "s1.csv", ROWS), tmp_path)
    with pytest.raises(GuardRefused) as caught:  # 2 of 103 records is under 5 %, but 2 of the feed's 3 is not
        load(db, small, csv_file(tmp_path / "s2.csv", ROWS[:1]), tmp_path)
    assert caught.value.extra["feed_would_retire"] == 2


def test_recency_uses_the_sources_own_timestamp_when_the_profile_maps_one(db, tmp_path):
    header = "id,name,level,division,since,lon,lat,changed"
    a = profile("feed-a", source_system={"id": "src-a", "name": "a"}, timestamp="changed")
    b = profile("feed-b", source_system={"id": "src-b", "name": "b"}, timestamp="changed")
    # b is loaded last, but a's own timestamp is the more recent: a's name survives.
    load(db, a, csv_file(tmp_path / "a.csv", ["p1,新名称,,,,,,2024-06-01T10:00:00"], header=header), tmp_path)
    load(db, b, csv_file(tmp_path / "b.csv", ["p1,旧名称,,,,,,2023-01-01"], header=header), tmp_path)
    with db.read() as session:
        record = records.get_record(session, "geo_feature", "p1")
    assert record.data["name"] == "新名称"
    assert record.provenance["name"] == {
        "source": "src-a",
        "batch_id": record.provenance["name"]["batch_id"],
        "recorded_at": "2024-06-01T02:00:00Z",
    }  # +08:00 by the profile's zone
