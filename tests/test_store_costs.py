"""A load costs in proportion to what changed, and the embedded database stays lean (issue 7, "Performance")."""

import sqlalchemy as sa

from mdm.models import OutboxEntry, RecordVersion, SourceRecord
from tests.helpers import csv_file, load, profile

ROWS = [f"p{i},地点{i},,320508,2020-01-01,120.6,31.3" for i in range(40)]


def count(db, model, *where):
    with db.read() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def test_an_unchanged_reload_writes_no_source_record_version_or_outbox_row(db, tmp_path):
    path = csv_file(tmp_path / "a.csv", ROWS)
    load(db, profile(mode="snapshot"), path, tmp_path, chunk_rows=7)
    again = load(db, profile(mode="snapshot"), path, tmp_path, chunk_rows=7)
    assert (again["unchanged"], again["retired"], again["golden"]["versions"]) == (40, 0, 0)
    assert count(db, SourceRecord, SourceRecord.seen_batch_id == again["batch_id"]) == 0  # no row rewritten
    assert count(db, RecordVersion) == count(db, OutboxEntry) == 40


def test_a_delta_writes_only_the_rows_that_changed(db, tmp_path):
    load(db, profile(), csv_file(tmp_path / "a.csv", ROWS), tmp_path, chunk_rows=7)
    changed = [row.replace("地点3,", "新地点3,") if row.startswith("p3,") else row for row in ROWS]
    delta = load(db, profile(), csv_file(tmp_path / "b.csv", changed), tmp_path, chunk_rows=7)
    assert (delta["updated"], delta["unchanged"], delta["golden"]["versions"]) == (1, 39, 1)
    assert count(db, SourceRecord, SourceRecord.batch_id == delta["batch_id"]) == 1


def test_the_embedded_wal_is_checkpointed_after_a_load(tmp_path):
    from mdm.db import Database

    db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
    try:
        load(db, profile(), csv_file(tmp_path / "a.csv", ROWS * 1), tmp_path)
        wal = tmp_path / "mdm.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        db.dispose()


def test_an_unchanged_reload_of_a_feed_without_source_times_rebuilds_no_golden_record(db, tmp_path, monkeypatch):
    """A row's time is then only the batch's own: nothing can rank the sources anew, so nothing is rebuilt."""
    from mdm.store import batch

    touched: list[int] = []
    original = batch._rebuild_touched

    def counting(session, standard, batch_id, counts):
        touched.append(session.execute(sa.text(f"SELECT count(*) FROM {batch._TOUCHED}")).scalar_one())
        return original(session, standard, batch_id, counts)

    monkeypatch.setattr(batch, "_rebuild_touched", counting)
    path = csv_file(tmp_path / "a.csv", ROWS)
    load(db, profile(), path, tmp_path, chunk_rows=7)
    again = load(db, profile(), path, tmp_path, chunk_rows=7)
    assert again["unchanged"] == 40 and touched == [40, 0]
