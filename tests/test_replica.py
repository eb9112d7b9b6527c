"""Reads on a PostgreSQL streaming replica (issue 21): with ``read_url`` record reads and searches go to the
standby, while writes, access decisions (keys, grants, purposes) and the audit stay on the primary — shown by
pausing the standby's replay, so it lags on purpose. Needs ``MDM_TEST_READ_DATABASE_URL`` (``scripts/services.sh
start`` starts the replica)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mdm.db import Database
from mdm.models import AuditEvent, GoldenRecord
from tests.conftest import PgSchema
from tests.helpers import grant, missing
from tests.sharing_env import CIVIL, make_bed

NP = "/repositories/natural_person"


@pytest.fixture
def replica_url() -> str:
    url = os.environ.get("MDM_TEST_READ_DATABASE_URL")
    if not url:
        missing("a PostgreSQL streaming replica at MDM_TEST_READ_DATABASE_URL")
    return url


@pytest.fixture
def pair(pg_url, replica_url) -> Iterator[tuple[Database, sa.Engine]]:
    """A database of a schema of its own whose record reads go to the replica, and a superuser-free engine on the
    replica (to pause and resume its replay)."""
    schema = PgSchema(pg_url)
    options = {"options": f"-csearch_path={schema.name},public"}
    db = Database(pg_url, read_url=replica_url, connect_args=options)
    standby = sa.create_engine(replica_url, isolation_level="AUTOCOMMIT")
    try:
        yield db, standby
    finally:
        with standby.connect() as conn:
            conn.exec_driver_sql("SELECT pg_wal_replay_resume()")
        standby.dispose()
        db.dispose()
        schema.drop()


def caught_up(db: Database, timeout: float = 30) -> None:
    """Wait until the replica shows every golden record the primary has."""
    deadline = time.monotonic() + timeout
    with db.read() as session:
        want = session.execute(sa.select(sa.func.count()).select_from(GoldenRecord)).scalar_one()
    while True:
        try:
            with db.replica() as session:
                if session.execute(sa.select(sa.func.count()).select_from(GoldenRecord)).scalar_one() == want:
                    return
        except sa.exc.ProgrammingError:  # the schema's tables have not reached the standby yet
            pass
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.2)


def test_records_are_read_from_the_replica_and_access_and_audit_from_the_primary(pair, tmp_path):
    db, standby = pair
    bed = make_bed(db, tmp_path)
    grant_id = grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
    caught_up(db)
    person = bed.persons[0]
    path = f"{NP}/records/{person['citizen_id']}"
    assert bed.get("civil", path).json()["data"]["name"] == person["name"]
    with standby.connect() as conn:
        conn.exec_driver_sql("SELECT pg_wal_replay_pause()")
    with db.write() as session:  # a change on the primary that the paused replica cannot see
        row = session.execute(
            sa.select(GoldenRecord).where(GoldenRecord.business_key == person["citizen_id"])
        ).scalar_one()
        row.data = {**row.data, "name": "改名后"}
    served = bed.get("civil", path)
    assert served.status_code == 200 and served.json()["data"]["name"] == person["name"]  # the replica's copy
    searched = bed.get("civil", f"{NP}/records", limit=100).json()["items"]
    assert "改名后" not in str(searched)
    # access is decided on the primary: a grant revoked there is refused at once, lag or not
    from mdm.access.grants import revoke_grant

    with db.write() as session:
        revoke_grant(session, grant_id, revoked_by="tests")
    assert bed.get("civil", path).json()["code"] == "access.no_grant"
    # and the audit of those reads was written to the primary (the standby is read-only)
    bed.flush()
    with db.read() as session:
        reads = session.execute(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action.like("read:%"))
        ).scalar_one()
    assert reads >= 4
    with standby.connect() as conn:
        conn.exec_driver_sql("SELECT pg_wal_replay_resume()")
    grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
    deadline = time.monotonic() + 30
    while bed.get("civil", path).json().get("data", {}).get("name") != "改名后":
        assert time.monotonic() < deadline, "the replica never showed the change"
        time.sleep(0.2)


def test_without_a_replica_records_are_read_from_the_primary(db, tmp_path):
    bed = make_bed(db, tmp_path, people=2)
    grant(db, CIVIL, "natural_person", purposes=("social.assistance",), unmasked=("citizen_id",))
    assert db.read_url is None
    assert bed.get("civil", f"{NP}/records/{bed.persons[0]['citizen_id']}").status_code == 200
