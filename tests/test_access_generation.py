"""The access generation and the per-process access cache (issue 21), on SQLite and PostgreSQL: every change to
keys, grants, purposes, departments or ownership bumps the generation in its own transaction (and a rolled-back
change does not); a cache never keeps a value read under an older generation; and a key or grant revoked from
another process is refused on the very next request by two server processes that had both cached it."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mdm.access import generation
from mdm.access.cache import AccessCache
from mdm.access.departments import add_department, add_purpose, set_owner
from mdm.access.grants import revoke_grant
from mdm.db import Database
from mdm.keys import create_key, revoke_key
from mdm.models import ApiKey
from tests.conftest import PgSchema
from tests.helpers import ROOT, grant


def now(db: Database) -> int:
    with db.read() as session:
        return generation.current(session)


def test_every_change_to_access_bumps_the_generation_and_nothing_else_does(db):
    steps = []
    start = now(db)
    with db.write() as session:
        add_department(session, department_id="11990000MB0000010K", name="公安局", owns=["natural_person"])
    steps.append(("department", now(db)))
    with db.write() as session:
        add_department(session, department_id="11990000MB0000030M", name="民政局")
    with db.write() as session:
        set_owner(session, repository="natural_person", department="11990000MB0000030M", actor="tests")
    steps.append(("owner", now(db)))
    with db.write() as session:
        add_purpose(session, code="social.assistance", title="最低生活保障", legal_basis="条例")
    steps.append(("purpose", now(db)))
    key = create_key(db, department="11990000MB0000030M", role="reader")
    steps.append(("key", now(db)))
    grant_id = grant(db, "11990000MB0000030M", "natural_person", purposes=("social.assistance",))
    steps.append(("grant", now(db)))
    with db.write() as session:
        revoke_grant(session, grant_id, revoked_by="tests")  # an UPDATE statement, not a flushed object
    steps.append(("grant revoked", now(db)))
    with db.read() as session:
        prefix = session.execute(select(ApiKey.prefix)).scalars().first()
    revoke_key(db, prefix)
    steps.append(("key revoked", now(db)))
    seen = [start] + [g for _, g in steps]
    assert all(b > a for a, b in itertools.pairwise(seen)), steps
    # reads, and a change that rolls back, leave it where it is
    before = now(db)
    with db.read() as session:
        session.execute(select(ApiKey)).all()
    with pytest.raises(RuntimeError), db.write() as session:
        add_department(session, department_id="11990000MB0000040N", name="税务局")
        session.flush()
        raise RuntimeError("rolled back")
    assert now(db) == before and key


def test_the_cache_never_keeps_a_value_read_under_an_older_generation(db):
    cache = AccessCache()
    with db.read() as session:
        cache.sync(session)
        first = cache.get("t", "k", session, lambda s: "old")
        assert first == "old" and cache.get("t", "k", session, lambda s: "never read") == "old"
    with db.write() as session:
        add_purpose(session, code="tax.audit", title="税务稽查", legal_basis="税收征收管理法")
    with db.read() as session:

        def load_and_race(s):
            # another request syncs the new generation while this value is being read
            with db.read() as other:
                cache.sync(other)
            return "read under the old generation"

        assert cache.get("t", "other", session, load_and_race) == "read under the old generation"
        assert cache.get("t", "other", session, lambda s: "fresh") == "fresh"  # not kept
        assert cache.get("t", "k", session, lambda s: "new") == "new"  # the old entry went with the sync


def test_no_raw_sql_writes_the_access_tables():
    """The session events bump the generation for ORM writes only; raw SQL on these tables would escape them."""
    pattern = re.compile(r"(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(api_keys|grants|departments|purposes)\b", re.I)
    offenders = []
    for folder in ("mdm", "api", "loaders"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            offenders += [
                f"{path}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)
            ]
    assert offenders == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(url: str, port: int, tmp: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDM_") or k.startswith("MDM_TEST_")}
    env.update(PYTHONPATH=str(ROOT), MDM_DATABASE_URL=url, MDM_REPORT_DIR=str(tmp / "loads"))
    return subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--workers", "1", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_revoked_key_and_a_revoked_grant_are_refused_at_once_by_two_server_processes(pg_url, tmp_path):
    from tests.sharing_env import CIVIL, make_bed

    schema = PgSchema(pg_url)
    db = schema.database()
    bed = make_bed(db, tmp_path)  # persons, departments, purposes and keys; no grant yet
    grant_id = grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
    url = f"{pg_url}?options=-csearch_path%3D{schema.name},public"
    ports = [_free_port(), _free_port()]
    servers = [_serve(url, port, tmp_path) for port in ports]
    person = bed.persons[0]["citizen_id"]
    path = f"/repositories/natural_person/records/{person}"
    try:
        clients = [
            httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=bed.headers("civil", "social.assistance"))
            for port in ports
        ]
        deadline = time.monotonic() + 90
        for client, server in zip(clients, servers, strict=True):
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, "a server did not start"
                time.sleep(0.3)
        for _ in range(3):  # both processes have the key, the grants and the purpose cached
            assert [c.get(path).status_code for c in clients] == [200, 200]
        with db.write() as session:  # another process (this one) revokes the grant
            revoke_grant(session, grant_id, revoked_by="tests")
        assert [c.get(path).json().get("code") for c in clients] == ["access.no_grant"] * 2
        grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
        assert [c.get(path).status_code for c in clients] == [200, 200]  # a new grant works at once too
        with db.read() as session:
            prefix = session.execute(
                select(ApiKey.prefix).where(ApiKey.department == CIVIL, ApiKey.revoked_at.is_(None))
            ).scalar_one()
        revoke_key(db, prefix)
        answers = [c.get(path) for c in clients]
        assert [(a.status_code, a.json()["code"]) for a in answers] == [(401, "auth.invalid_key")] * 2
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        db.dispose()
        schema.drop()


@pytest.mark.in_process("counts the access cache's database reads in app.state.access")
def test_a_repeated_read_asks_the_database_for_no_access_fact_again(db, tmp_path):
    from tests.sharing_env import CIVIL, make_bed

    bed = make_bed(db, tmp_path)
    grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
    path = f"/repositories/natural_person/records/{bed.persons[0]['citizen_id']}"
    cache = bed.app.state.access
    assert bed.get("civil", path).status_code == 200
    misses, syncs = cache.misses, cache.syncs
    assert bed.get("civil", path).status_code == 200
    assert cache.misses == misses and cache.syncs == syncs + 1  # one generation check, every fact from the cache
    grant(db, CIVIL, "credit_record", purposes=("social.assistance",))
    assert bed.get("civil", path).status_code == 200
    assert cache.misses > misses  # the new generation emptied it


def test_a_repeated_get_by_key_is_one_session_and_two_statements(db, tmp_path):
    """The hot path (issue 21): with the caller, purpose, grants and owner cached, a GET by key checks out one
    connection and runs two statements — the access generation and the record — besides the audit's own
    transaction (the audit writer's thread, not counted; SQLite's explicit BEGIN neither)."""
    from sqlalchemy import event

    from tests.sharing_env import CIVIL, make_bed

    bed = make_bed(db, tmp_path)
    grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
    path = f"/repositories/natural_person/records/{bed.persons[0]['citizen_id']}"
    assert bed.get("civil", path).status_code == 200  # fills the cache
    statements: list[str] = []
    checkouts: list[str] = []

    def on_execute(_conn, _cursor, statement, *_args):
        if threading.current_thread().name != "mdm-audit" and not statement.startswith("BEGIN"):
            statements.append(" ".join(statement.split())[:80])

    def on_checkout(*_args):
        if threading.current_thread().name != "mdm-audit":
            checkouts.append(threading.current_thread().name)

    engine = bed.app.state.db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        answer = bed.get("civil", path)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine.pool, "checkout", on_checkout)
    assert answer.status_code == 200
    assert len(checkouts) == 1, checkouts
    assert len(statements) == 2, statements
    assert "access_generation" in statements[0] and "golden_records" in statements[1]
