"""Loads prepare their rows on every core (issue 22), on SQLite and PostgreSQL: the same file loaded with one and
with several preparation processes stores the same source records, golden records, versions and provenance,
row for row, with the same summary and rejects; a worker killed mid-load fails the load cleanly (the batch
marked failed, nothing stored) and a rerun converges."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from api import samples
from api.demo import SAMPLES
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.errors import MdmError
from mdm.models import Batch, GoldenRecord, RecordVersion, SourceRecord
from tests.conftest import _make_db


def persons_file(tmp_path: Path, n: int) -> Path:
    people = list(samples.persons(n, seed=11))
    for i in range(0, n, 97):  # some bad rows, so rejects are compared too
        people[i] = {**people[i], "citizen_id": people[i]["citizen_id"][:-1] + "0"}
    return samples.write_csv(tmp_path / "persons.csv", people)


def stored(db) -> dict[str, list[tuple]]:
    with db.read() as session:
        return {
            "golden": session.execute(
                sa.select(
                    GoldenRecord.business_key, GoldenRecord.version, GoldenRecord.status, GoldenRecord.data
                ).order_by(GoldenRecord.business_key)
            ).all(),
            "sources": session.execute(
                sa.select(SourceRecord.source_key, SourceRecord.data, SourceRecord.raw).order_by(
                    SourceRecord.source_key
                )
            ).all(),
            "versions": session.execute(
                sa.select(
                    RecordVersion.business_key, RecordVersion.version, RecordVersion.data, RecordVersion.provenance
                ).order_by(RecordVersion.business_key, RecordVersion.version)
            ).all(),
        }


def load(db, tmp_path: Path, path: Path, workers: int, chunk_rows: int = 200):
    options = LoadOptions(report_root=tmp_path / f"loads-{workers}", chunk_rows=chunk_rows, workers=workers)
    return load_file(db, load_profile(str(SAMPLES / "persons.yaml"), []), path, options=options)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_one_and_several_preparation_processes_store_the_same_rows(backend, tmp_path, request):
    path = persons_file(tmp_path, 1500)
    results = {}
    for workers in (1, 3):
        where = tmp_path / f"w{workers}"
        where.mkdir()
        gen = _make_db(backend, where, request)
        db = next(gen)
        try:
            summary = load(db, where, path, workers)
            rejects = (Path(summary["rejects_path"])).read_text(encoding="utf-8").splitlines()
            keep = {
                k: v
                for k, v in summary.as_dict().items()
                if k not in ("batch_id", "started_at", "finished_at", "seconds", "rejects_path", "warnings_path")
            }
            results[workers] = (keep, [_without_batch(line) for line in rejects], _comparable(stored(db)))
        finally:
            next(gen, None)
    one, several = results[1], results[3]
    assert one[0] == several[0] and one[0]["rejected"] == 16 and one[0]["inserted"] == 1500 - 16
    assert one[1] == several[1]
    assert one[2] == several[2]


def _without_batch(line: str) -> str:
    import json

    record = json.loads(line)
    record.pop("batch_id", None)
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def _comparable(rows: dict[str, list[tuple]]) -> dict[str, list[str]]:
    import json

    def plain(value):
        if isinstance(value, dict):  # provenance carries batch ids and times: keep its fields and sources only
            return {k: plain(v) for k, v in value.items() if k not in ("batch_id", "recorded_at")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {
        name: [json.dumps(plain(list(r)), sort_keys=True, default=str, ensure_ascii=False) for r in rs]
        for name, rs in rows.items()
    }


def test_a_worker_killed_mid_load_fails_the_load_and_stores_nothing_and_a_rerun_converges(db, tmp_path):
    path = persons_file(tmp_path, 6000)
    killed = threading.Event()

    def kill_a_worker() -> None:
        me = os.getpid()
        mine = Path(f"/proc/{me}/cmdline").read_bytes()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                # a forked worker runs our own command line (a resource tracker or a server has its own)
                if parent == me and int(entry.name) != me and (entry / "cmdline").read_bytes() == mine:
                    try:
                        os.kill(int(entry.name), signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    killed.set()
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    with pytest.raises(MdmError) as failed:
        load(db, tmp_path, path, workers=2, chunk_rows=100)
    killer.join()
    assert killed.is_set() and failed.value.code == "load.worker_failed"
    with db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(SourceRecord)).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(GoldenRecord)).scalar_one() == 0
        statuses = session.execute(sa.select(Batch.status)).scalars().all()
    assert statuses == ["failed"]
    again = load(db, tmp_path, path, workers=2, chunk_rows=100)
    assert again["status"] == "committed" and again["inserted"] + again["rejected"] == 6000
    with db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(GoldenRecord)).scalar_one() == again["inserted"]
