"""Where SQLite and PostgreSQL differ in the store, in one place (DESIGN §3 "Storage"; spatial aside).

:class:`Dialect` answers every "which database is it?" of the store, the read path and the search backend:
writer locks, temporary staging tables, bulk fills (``COPY`` on PostgreSQL, ``executemany`` on SQLite), the
text form of a timestamp in raw SQL, ``INSERT … ON CONFLICT`` constructs, the FTS5 trigram index, and the WAL
checkpoint after a batch. The migrations keep their own checks (they create different objects per database);
:mod:`mdm.spatial` keeps the geometry differences. A test greps the code for dialect checks anywhere else.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.orm import Session

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
_BUSY_MS = 30_000  # SQLite: how long a connection waits for the writer lock by default


class Dialect:
    """The store's view of one database kind; ``name`` is SQLAlchemy's dialect name (``sqlite``/``postgresql``)."""

    def __init__(self, name: str) -> None:
        if name not in (POSTGRESQL, SQLITE):
            raise ValueError(f"unsupported database {name!r}: the store runs on SQLite or PostgreSQL")
        self.name = name

    @classmethod
    def of(cls, bind: Session | Connection | Engine | SaDialect) -> Dialect:
        """The dialect of a session, connection, engine or SQLAlchemy dialect object."""
        if isinstance(bind, SaDialect):
            return cls(bind.name)
        engine = bind.get_bind() if isinstance(bind, Session) else bind
        return cls(engine.dialect.name)

    @classmethod
    def from_url(cls, url: str) -> Dialect:
        """The dialect a SQLAlchemy URL names (``sqlite:///…``, ``postgresql+psycopg2://…``)."""
        return cls(make_url(url).get_backend_name())

    def create_engine(self, url: str, **kwargs: Any) -> Engine:
        """An engine for ``url``. SQLite: creates the file's directory, WAL, foreign keys, 30 s busy timeout,
        ``BEGIN IMMEDIATE`` for a writing unit of work (``mdm_write`` execution option) so a second writer waits
        for the first instead of failing on a lock upgrade. PostgreSQL: pre-ping pooled connections."""
        if self.name == POSTGRESQL:
            return create_engine(url, pool_pre_ping=True, **kwargs)
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = "IMMEDIATE" if conn.get_execution_options().get("mdm_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    # -- capabilities --------------------------------------------------------------------------------------

    @property
    def is_embedded(self) -> bool:
        """True for SQLite: one writer at a time, a file with a WAL beside it."""
        return self.name == SQLITE

    @property
    def has_fts_trigram(self) -> bool:
        """True where trigram text search is an FTS5 table (``golden_fts``) rather than a pg_trgm index."""
        return self.name == SQLITE

    @property
    def native_timezones(self) -> bool:
        """True where timestamps keep their zone (PostgreSQL ``timestamptz``); SQLite stores naive UTC text."""
        return self.name == POSTGRESQL

    # -- writing -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock_wait(self, conn: Connection, seconds: float | None) -> Iterator[None]:
        """Bound how long the unit of work about to begin on ``conn`` waits for locks (``None``: the defaults).

        SQLite: the busy timeout of the connection (which ``BEGIN IMMEDIATE`` waits under), set on the driver
        connection before the transaction begins and reset to 30 s afterwards. PostgreSQL: ``lock_timeout`` and
        ``statement_timeout`` for the transaction (``SET LOCAL``, so they end with it; advisory locks included).
        A wait past the bound raises SQLAlchemy's ``OperationalError``."""
        if seconds is None:
            yield
            return
        ms = max(1, int(seconds * 1000))
        if self.name == POSTGRESQL:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}; SET LOCAL statement_timeout = {ms}")
            yield
            return
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute(f"PRAGMA busy_timeout={ms}")
        try:
            yield
        finally:
            raw.execute(f"PRAGMA busy_timeout={_BUSY_MS}")

    def lock_repository(self, session: Session, repository: str) -> None:
        """Serialise writers of one repository until the transaction ends (see :meth:`lock`)."""
        self.lock(session, f"mdm.load.{repository}")

    def lock(self, session: Session, name: str) -> None:
        """Serialise the holders of the lock ``name`` until the transaction ends: a transaction-scoped advisory
        lock on PostgreSQL (keyed by schema and name); on SQLite the writing unit of work already holds the single
        writer (``BEGIN IMMEDIATE``), so nothing is taken."""
        if self.name == POSTGRESQL:
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || :name, 0))"),
                {"name": name},
            )

    def lock_then(self, session: Session, name: str, query: str) -> Any:
        """Take the lock ``name`` (:meth:`lock`), then run ``query`` (one statement, no parameters) and return its
        first row — in one round trip on PostgreSQL: the statements of one simple query run in order, each with
        a snapshot taken when it starts, so ``query`` sees everything committed before the lock was granted."""
        if self.name != POSTGRESQL:
            return session.execute(text(query)).first()
        lock = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || %(name)s, 0))"
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(f"{lock}; {query}", {"name": name})
            return cursor.fetchone()
        finally:
            cursor.close()

    def current_schema(self, conn: Connection) -> str | None:
        """The schema unqualified names are created in: PostgreSQL's ``current_schema()``; None on SQLite."""
        if self.name == POSTGRESQL:
            return conn.exec_driver_sql("SELECT current_schema()").scalar()
        return None

    def lease(self, engine: Engine, name: str) -> Lease:
        """A lease on ``name`` held by at most one process at a time, across every worker process and machine
        that shares the database, and released by the holder's death (see :class:`Lease`)."""
        if self.name == POSTGRESQL:
            return _AdvisoryLease(engine, name)
        return _FileLease(engine.url.database, name)

    def create_temp_table(self, session: Session, name: str, columns: Sequence[tuple[str, str]]) -> None:
        """A temporary table for this transaction (``columns``: name and a type of ``text int float json blob time``),
        emptied if a previous unit of work on this connection left it behind."""
        types = {
            POSTGRESQL: {
                "text": "text",
                "int": "integer",
                "float": "float8",
                "json": "jsonb",
                "blob": "text",
                "time": "timestamptz",
            },
            SQLITE: {"text": "TEXT", "int": "INTEGER", "float": "REAL", "json": "TEXT", "blob": "BLOB", "time": "TEXT"},
        }[self.name]
        body = ", ".join(f"{column} {types[kind]}" for column, kind in columns)
        suffix = " ON COMMIT DROP" if self.name == POSTGRESQL else ""
        session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({body}){suffix}"))
        session.execute(text(f"DELETE FROM {name}"))

    def fill(self, session: Session, table: str, columns: Sequence[str], rows: Sequence[tuple], *, empty: bool) -> None:
        """Write ``rows`` into ``table``: ``COPY … FROM STDIN`` on PostgreSQL, ``executemany`` on SQLite. With
        ``empty`` the table (a staging table) is emptied first. JSON columns take canonical JSON text; timestamps
        take :meth:`time_value`."""
        if empty:
            session.execute(text(f"TRUNCATE {table}" if self.name == POSTGRESQL else f"DELETE FROM {table}"))
        if not rows:
            return
        if self.name == POSTGRESQL:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            for row in rows:
                writer.writerow(["\\N" if v is None else v for v in row])
            buffer.seek(0)
            dbapi = session.connection().connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            try:
                cursor.copy_expert(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
                )
            finally:
                cursor.close()
        else:
            placeholders = ", ".join("?" for _ in columns)
            session.connection().exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", list(rows)
            )

    def analyse(self, session: Session, table: str) -> None:
        """Give the planner row counts for a freshly filled temporary table (PostgreSQL never auto-analyses
        them, and a join planned for an empty table scans the other side whole)."""
        if self.name == POSTGRESQL:
            session.execute(text(f"ANALYZE {table}"))

    def time_value(self, value: dt.datetime) -> str:
        """A timezone-aware time as raw SQL and staging tables take it: ISO 8601 with offset on PostgreSQL,
        SQLAlchemy's naive-UTC text on SQLite (so raw SQL and the ORM compare the same form)."""
        value = value.astimezone(dt.UTC)
        if self.name == POSTGRESQL:
            return value.isoformat()
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def insert(self, model: Any):
        """An ``INSERT`` construct with ``on_conflict_do_update`` / ``on_conflict_do_nothing`` for ``model``."""
        return (postgresql.insert if self.name == POSTGRESQL else sqlite.insert)(model)

    # -- after a batch -------------------------------------------------------------------------------------

    def checkpoint(self, engine: Engine) -> None:
        """After a load on SQLite, fold the WAL back into the database file and truncate it, so the embedded
        database does not carry a WAL as large as a whole load. Best effort: a busy reader postpones it."""
        if self.name != SQLITE:
            return
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class Lease:
    """A process-wide lease: :meth:`try_acquire` takes it when nobody holds it (True also when this process
    already holds it) and never waits; :meth:`release` gives it up. A holder that dies loses it at once: on
    PostgreSQL it is a session-level advisory lock on a connection of its own, which ends with the process; on
    SQLite an exclusive ``flock`` on ``<database>.<name>.lock``, which the kernel drops with the process."""

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class _AdvisoryLease(Lease):
    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT 1")  # still ours while the connection lives
                return True
            except Exception:  # the connection died with its lock: try again below
                self._drop()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || :name, 0))"),
                {"name": self.name},
            ).scalar_one()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(current_schema() || :name, 0))"), {"name": self.name}
            )
        finally:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back to the pool with a session lock on it
            finally:
                conn.close()


class _FileLease(Lease):
    def __init__(self, database: str | None, name: str) -> None:
        self.path = None if not database or database == ":memory:" else Path(f"{database}.{name}.lock")
        self._file: Any = None
        self._held = self.path is None  # an in-memory database lives in one process: the lease is its own

    def try_acquire(self) -> bool:
        if self._held:
            return True
        import fcntl

        assert self.path is not None
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open for as long as the lease
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file, self._held = handle, True
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None
            self._held = False
