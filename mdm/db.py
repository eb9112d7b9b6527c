"""The database: engine creation, migrations on first use, and units of work.

SQLite (the embedded default) runs in WAL mode with a busy timeout; a writing unit of work starts with
``BEGIN IMMEDIATE`` so a second writer waits for the first instead of failing on a lock upgrade. PostgreSQL runs
at READ COMMITTED; writers serialise per business key with advisory locks (see :mod:`mdm.store`).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from mdm.errors import Unavailable


def canonical_json(value) -> str:
    """The one JSON text form the store writes: sorted keys, UTF-8 characters kept, no spaces.

    Source and golden records are compared as stored JSON on SQLite, so every writer must use this form.
    """
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


MIGRATIONS = Path(__file__).parent / "migrations"
_lock = threading.Lock()


def storable(text: str) -> bool:
    """True if the store can keep and compare ``text``: no NUL (PostgreSQL refuses it) and no unpaired
    surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``. SQLite: creates the file's directory, WAL, foreign keys, 30 s busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, json_serializer=canonical_json, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = "IMMEDIATE" if conn.get_execution_options().get("mdm_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=canonical_json, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine`` (idempotent)."""
    from alembic import command  # imported here: most commands find the database migrated and never need it
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(mdm_write=True) as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


class Database:
    """An engine, a session factory, and the migrate-on-first-use guarantee."""

    def __init__(self, url: str, *, migrate: bool = True, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._migrate = migrate
        self._ready = False
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> None:
        """Create and migrate the database on first use."""
        if self._ready or not self._migrate:
            return
        with _lock:
            if not self._ready:
                try:
                    upgrade(self.engine)
                except (OperationalError, InterfaceError) as exc:
                    raise Unavailable("database.unavailable", "cannot reach the database") from exc
                except ProgrammingError as exc:
                    if "extension" in str(exc):
                        raise Unavailable(
                            "database.extension_missing",
                            "PostGIS and pg_trgm must be in the database before the first migration; as a superuser "
                            "run CREATE EXTENSION postgis; CREATE EXTENSION pg_trgm; (scripts/services.sh does this)",
                        ) from exc
                    raise
                self._ready = True

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; closed (its transaction rolled back) at the end, loaded objects kept."""
        self.ensure_schema()
        with self._sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: committed if the block finishes, rolled back if it raises. The only commit point."""
        self.ensure_schema()
        with (
            self.engine.connect().execution_options(mdm_write=True) as conn,
            Session(bind=conn, expire_on_commit=False) as session,
        ):
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
