"""No answered read without its durable audit event, on SQLite and PostgreSQL (issue 20 "fail closed", issue 21
item 3 "group commit"): while another process holds the audit chain's lock a read is refused with 503
``audit.unavailable`` and no record data; concurrent reads share a commit; a served process killed with SIGKILL
leaves an audit event for every read it answered, in a chain that verifies."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from mdm.audit import AuditWriter, verify_chain
from mdm.db import Database
from mdm.keys import authenticate
from mdm.models import AuditEvent
from mdm.reads import ReadContext, Reads
from mdm.repositories import standard_for
from standards import default_registry
from tests.served import SERVED, another_client
from tests.sharing_env import make_bed

NP = "/repositories/natural_person"
_CHAIN_LOCK = "mdm.audit.chain"
_HOLD_SQLITE = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
    "c.execute('ROLLBACK')\n"
)


@contextlib.contextmanager
def chain_locked(db: Database) -> Iterator[None]:
    """Hold what an audit append must take, from elsewhere: SQLite's write lock (``BEGIN IMMEDIATE``) in another
    process; PostgreSQL's chain advisory lock in another session."""
    if db.dialect == "sqlite":
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_SQLITE, db.engine.url.database or ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            yield
        finally:
            holder.communicate("release\n", timeout=30)
        return
    lock = "SELECT pg_advisory_lock(hashtextextended(current_schema() || :name, 0))"
    with db.engine.connect() as conn:
        conn.execute(sa.text(lock), {"name": _CHAIN_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text(lock.replace("pg_advisory_lock", "pg_advisory_unlock")), {"name": _CHAIN_LOCK})
            conn.commit()


def read_events(db: Database) -> list[AuditEvent]:
    with db.read() as session:
        return list(session.execute(sa.select(AuditEvent).where(AuditEvent.action.like("read:%"))).scalars())


def served_url(db: Database) -> str:
    """The URL another process uses for ``db`` (on PostgreSQL with the test schema on its search path)."""
    if db.dialect == "sqlite":
        return db.url
    with db.engine.connect() as conn:
        search_path = conn.exec_driver_sql("SHOW search_path").scalar() or ""
    return f"{db.url}?options=-csearch_path%3D{search_path.replace(' ', '')}"


def test_a_read_is_refused_with_503_while_its_audit_event_cannot_be_written(db, tmp_path):
    bed = make_bed(db, tmp_path, audit_timeout=1.0)
    client = bed.client
    person = bed.persons[0]
    owner = bed.headers("owner", "social.assistance")
    with chain_locked(db):
        started = time.monotonic()
        refused = client.get(f"{NP}/records/{person['citizen_id']}", headers=owner)
        waited = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "audit.unavailable"
        assert set(refused.json()) <= {"type", "title", "status", "detail", "code", "instance"}
        told = json.dumps({k: v for k, v in refused.json().items() if k != "instance"}, ensure_ascii=False)
        assert not [v for v in person.values() if len(str(v)) > 1 and str(v) in told]  # only the path names the key
        looked_up = client.post(f"{NP}/lookup", json={"keys": [person["citizen_id"]]}, headers=owner)
        assert looked_up.status_code == 503 and person["name"] not in looked_up.text
        # a refusal is still the caller's answer (its audit is best effort)
        no_grant = client.get(f"{NP}/records/{person['citizen_id']}", headers=bed.headers("tax", "tax.audit"))
        assert no_grant.status_code == 403 and no_grant.json()["code"] == "access.no_grant"
    assert waited < 10  # bounded by MDM_AUDIT_TIMEOUT, not by the lock holder
    assert read_events(db) == []
    answered = client.get(f"{NP}/records/{person['citizen_id']}", headers=owner)
    assert answered.status_code == 200 and answered.json()["data"]["name"] == person["name"]
    events = read_events(db)
    assert [(e.action, e.keys) for e in events] == [("read:get", [person["citizen_id"]])]
    with db.read() as session:
        assert verify_chain(session).ok
    if not SERVED:  # the writer's own count, in the process that refused
        assert bed.app.state.audit.stats().refused >= 2


def test_with_read_audit_off_reads_do_not_wait_for_the_audit(db, tmp_path):
    bed = make_bed(db, tmp_path, people=2, audit_reads=False, audit_timeout=1)
    client = bed.client
    person = bed.persons[0]
    with chain_locked(db):
        answered = client.get(f"{NP}/records/{person['citizen_id']}", headers=bed.headers("owner", "social.assistance"))
    assert answered.status_code == 200 and answered.json()["data"]["name"] == person["name"]
    assert read_events(db) == []


@pytest.mark.in_process("drives the read service (Reads, AuditWriter) in the test process: no HTTP")
def test_concurrent_reads_share_one_commit(db, tmp_path):
    bed = make_bed(db, tmp_path, people=2)
    writer = AuditWriter(db, batch=500, timeout=30)
    reads = Reads(db, bed.app.state.search, writer)
    standard = standard_for(default_registry(), "natural_person")
    ctx = ReadContext(authenticate(db, bed.keys["owner"]), "social.assistance", "GET test")
    key = bed.persons[0]["citizen_id"]
    answers: list[str] = []

    def read() -> None:
        answers.append(reads.get(ctx, standard, key).view.key)

    threads = [threading.Thread(target=read) for _ in range(50)]
    with chain_locked(db):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while writer.stats().pending < 50:  # every read waits for its event, none is answered yet
            assert time.monotonic() < deadline, writer.stats()
            time.sleep(0.02)
        assert answers == []
    for thread in threads:
        thread.join(timeout=30)
    stats = writer.stats()
    assert answers == [key] * 50
    assert stats.events == 50 and stats.pending == 0 and stats.refused == 0
    assert stats.transactions <= 3, stats  # the one taken before the lock was seen, then the rest together
    assert len(read_events(db)) == 50
    with db.read() as session:
        assert verify_chain(session).ok
    writer.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(db: Database, tmp_path) -> tuple[subprocess.Popen, str]:
    """``mdm serve`` in a process group of its own: two workers on PostgreSQL (one chain across processes), the
    embedded default of one on SQLite."""
    port = _free_port()
    workers = "1" if db.dialect == "sqlite" else "2"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDM_") or k.startswith("MDM_TEST_")}
    env |= {"MDM_DATABASE_URL": served_url(db), "MDM_REPORT_DIR": str(tmp_path / "loads")}
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--workers", workers],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            os.killpg(server.pid, signal.SIGKILL)
            raise AssertionError(f"the server did not start: {server.communicate()[1][-2000:]!r}")
        time.sleep(0.2)


def test_every_read_answered_before_a_sigkill_has_its_event_and_the_chain_verifies(db, tmp_path):
    bed = make_bed(db, tmp_path)
    server, base = _serve(db, tmp_path)
    headers = bed.headers("owner", "social.assistance")
    keys = [p["citizen_id"] for p in bed.persons]
    answered: list[str] = []  # probes of reads that got a 200 with the record
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            while not stop.is_set():
                probe = uuid.uuid4().hex
                try:
                    got = http.get(f"{NP}/records/{keys[n % len(keys)]}", params={"probe": probe})
                except httpx.TransportError:
                    return  # the server is gone
                if got.status_code == 200 and got.json()["key"] == keys[n % len(keys)]:
                    with lock:
                        answered.append(probe)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    try:
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 60
        while len(answered) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGKILL)  # mid-run, the supervisor and every worker: requests are in flight
        server.wait(timeout=30)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
    assert len(answered) >= 150
    audited = {e.detail["query"].get("probe") for e in read_events(db)}
    assert set(answered) <= audited, f"{len(set(answered) - audited)} answered reads have no audit event"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDM_") or k.startswith("MDM_TEST_")}
    verified = subprocess.run(
        [sys.executable, "-m", "api", "audit", "verify"],
        env=env | {"MDM_DATABASE_URL": served_url(db)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True


def test_during_a_load_reads_are_audited_on_postgresql_and_refused_on_sqlite(db, tmp_path):
    """The embedded mode's documented limit: a load holds SQLite's single write lock for its whole file, so a
    read during it cannot append its event and is refused after ``MDM_AUDIT_TIMEOUT``; on PostgreSQL a load
    takes the chain lock only for its own event at its commit, so reads are answered and audited meanwhile."""
    from api import samples
    from api.demo import SAMPLES
    from loaders.pipeline import LoadOptions, load_file
    from loaders.profiles import load_profile

    bed = make_bed(db, tmp_path, people=4, audit_timeout=1.0)
    client = bed.client
    more = samples.write_csv(tmp_path / "more.csv", list(samples.persons(8)))
    mid_file, go_on = threading.Event(), threading.Event()

    def progress(read: int, _position: int, _size: int) -> None:
        if read == 2 and not mid_file.is_set():  # the first chunk is written, the transaction is open
            mid_file.set()
            go_on.wait(30)

    options = LoadOptions(report_root=tmp_path / "loads", chunk_rows=2)
    profile = load_profile(str(SAMPLES / "persons.yaml"), [])
    loaded: list[str] = []
    loading = threading.Thread(
        target=lambda: loaded.append(load_file(db, profile, more, options=options, progress=progress).status)
    )
    loading.start()
    try:
        assert mid_file.wait(30)
        during = client.get(
            f"{NP}/records/{bed.persons[0]['citizen_id']}", headers=bed.headers("owner", "social.assistance")
        )
    finally:
        go_on.set()
        loading.join(60)
    assert loaded == ["committed"]
    if db.dialect == "sqlite":
        assert during.status_code == 503 and during.json()["code"] == "audit.unavailable"
        assert [e.action for e in read_events(db)] == []
    else:
        assert during.status_code == 200, during.text
        assert [e.action for e in read_events(db)] == ["read:get"]
    after = client.get(
        f"{NP}/records/{bed.persons[0]['citizen_id']}", headers=bed.headers("owner", "social.assistance")
    )
    assert after.status_code == 200
    with db.read() as session:
        assert verify_chain(session).ok


def test_the_console_refuses_a_record_page_whose_read_cannot_be_audited(db, tmp_path):
    from tests.test_console_pages import sign_in

    bed = make_bed(db, tmp_path, people=2, audit_timeout=1.0)
    console = another_client(bed.client, base_url="https://testserver", raise_server_exceptions=False)
    sign_in(console, bed.keys["owner"], "social.assistance")
    person = bed.persons[0]
    page = f"/console/repositories/natural_person/records/{person['citizen_id']}"
    with chain_locked(db):
        refused = console.get(page)
    assert refused.status_code == 503 and "audit.unavailable" in refused.text
    assert person["name"] not in refused.text and person["phone"] not in refused.text
    assert read_events(db) == []
    shown = console.get(page)
    assert shown.status_code == 200 and person["name"] in shown.text
    assert sorted(e.action for e in read_events(db)) == ["read:get", "read:history"]  # the page reads both
