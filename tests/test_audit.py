"""The audit chain on SQLite and PostgreSQL: append-only, hash-chained, and every tampering — a row edited,
deleted or reordered by SQL — detected by ``mdm audit verify`` naming the row (issue 9)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app as cli_app
from mdm import audit
from mdm.audit import AuditWriter, verify_chain
from mdm.settings import get_settings


def seed(db, count=6):
    with db.write() as session:
        for n in range(count):
            audit.record(
                session,
                actor="d1",
                action="test:write",
                target=f"t{n}",
                detail={"n": n},
                keys=[f"k{n}"],
                repository="legal_entity",
            )


def check(db):
    with db.read() as session:
        return verify_chain(session)


def tamper(db, *statements):
    """Run SQL with the append-only triggers out of the way, as someone with the owner's rights could."""
    with db.engine.connect() as conn, conn.begin():
        if db.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        for statement in statements:
            conn.exec_driver_sql(statement)
        if db.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


def test_an_intact_chain_verifies(db):
    seed(db)
    result = check(db)
    assert result.ok and result.checked == 6 and len(result.head) == 64


def test_the_application_cannot_update_or_delete_audit_rows(db):
    seed(db, 2)
    for statement in ("UPDATE audit_events SET target = 'x' WHERE id = 1", "DELETE FROM audit_events WHERE id = 2"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(statement)
    assert check(db).ok


@pytest.mark.parametrize(
    ("statements", "broken", "problem"),
    [
        (["UPDATE audit_events SET target = 'innocent' WHERE id = 3"], 3, "edited"),
        (["UPDATE audit_events SET detail = '{\"n\": 99}' WHERE id = 4"], 4, "edited"),
        (["DELETE FROM audit_events WHERE id = 3"], 4, "deleted"),
        (
            [
                "UPDATE audit_events SET id = 100 WHERE id = 2",
                "UPDATE audit_events SET id = 2 WHERE id = 3",
                "UPDATE audit_events SET id = 3 WHERE id = 100",
            ],
            2,
            "edited or moved",
        ),
    ],
    ids=["edited-target", "edited-detail", "deleted", "reordered"],
)
def test_tampering_is_found_and_the_first_broken_row_named(db, statements, broken, problem):
    seed(db)
    tamper(db, *statements)
    result = check(db)
    assert not result.ok and result.broken_id == broken and result.problem.startswith(problem)


def test_an_edit_that_recomputes_its_own_hash_breaks_the_link_to_the_next_row(db):
    seed(db)
    with db.read() as session:
        row = session.get(audit.AuditEvent, 2)
        forged = audit.chain_hash(row.prev_hash, audit.content_of(row) | {"target": "innocent"})
    tamper(db, f"UPDATE audit_events SET target = 'innocent', hash = '{forged}' WHERE id = 2")
    result = check(db)
    assert not result.ok and result.broken_id == 3 and result.problem.startswith("unlinked")


def test_mdm_audit_verify_exits_1_naming_the_row(db, monkeypatch):
    seed(db)
    url = db.url
    if db.dialect == "postgresql":
        schema = db.engine.url.query.get("options") or ""
        path = db.engine.pool._creator
        del path
        with db.engine.connect() as conn:
            search_path = conn.exec_driver_sql("SHOW search_path").scalar()
        url = f"{db.url}?options=-csearch_path%3D{search_path.replace(' ', '')}"
        del schema
    monkeypatch.setenv("MDM_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify"])
    assert ok.exit_code == 0 and '"ok": true' in ok.stdout and '"checked": 6' in ok.stdout
    tamper(db, "UPDATE audit_events SET department = 'd2' WHERE id = 5")
    broken = runner.invoke(cli_app, ["audit", "verify"])
    assert broken.exit_code == 1 and "audit.chain_broken" in broken.output and "event 5" in broken.output
    get_settings.cache_clear()


def test_buffered_read_events_from_many_threads_form_one_chain_with_direct_writes(db):
    writer = AuditWriter(db, batch=7)
    threads = [
        threading.Thread(
            target=lambda n=n: [
                writer.submit(department="d", action="read:get", keys=[f"{n}-{i}"], repository="legal_entity")
                for i in range(25)
            ]
        )
        for n in range(8)
    ]
    for t in threads:
        t.start()
    seed(db, 3)
    for t in threads:
        t.join()
    writer.close()  # a clean shutdown writes everything queued
    result = check(db)
    assert result.ok and result.checked == 8 * 25 + 3
    with db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(audit.AuditKey)).scalar() == 8 * 25 + 3


def test_loads_grants_and_keys_are_audited_in_their_own_transaction(db, tmp_path):
    from mdm.keys import create_key, list_keys, revoke_key
    from tests.helpers import csv_file, grant, load, profile

    load(db, profile(), csv_file(tmp_path / "a.csv", ["p1,苏州博物馆,,320508,2020-01-01,120.6285,31.3236"]), tmp_path)
    create_key(db, department="统计局", role="reader", register=True)
    grant(db, "统计局", "geo_feature")
    revoke_key(db, list_keys(db)[0]["prefix"])
    with db.read() as session:
        actions = [e["action"] for e in audit.find_events(session)]
    assert actions == ["key:revoke", "grant:issue", "key:issue", "department:add", "load:commit"]
    assert check(db).ok
