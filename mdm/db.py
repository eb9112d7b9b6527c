"""The database: engine creation, migrations on first use, and units of work.

SQLite (the embedded default) runs in WAL mode with a busy timeout; a writing unit of work starts with
``BEGIN IMMEDIATE`` so a second writer waits for the first instead of failing on a lock upgrade. PostgreSQL runs
at READ COMMITTED; writers serialise per repository with advisory locks (see :mod:`mdm.store`). What differs
between the two lives in :mod:`mdm.store.dialect`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from mdm.errors import Unavailable
from mdm.store.dialect import Dialect
from mdm.store.text import storable

__all__ = ["Database", "canonical_json", "current_revision", "make_engine", "storable", "upgrade"]


def canonical_json(value) -> str:
    """The one JSON text form the store writes: sorted keys, UTF-8 characters kept, no spaces.

    Source and golden records are compared as stored JSON on SQLite, so every writer must use this form.
    """
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


MIGRATIONS = Path(__file__).parent / "migrations"
_lock = threading.Lock()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` that writes JSON in :func:`canonical_json` form (see
    :meth:`mdm.store.dialect.Dialect.create_engine` for what each database gets)."""
    return Dialect.from_url(url).create_engine(url, json_serializer=canonical_json, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine`` (idempotent)."""
    from alembic import command  # imported here: most commands find the database migrated and never need it
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(mdm_write=True) as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*(None|"[^"]*"|\'[^\']*\')', re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations, read from their files' ``revision`` / ``down_revision`` lines (the
    one no other revises); None if they do not form one chain — then Alembic decides."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(found["revision"].strip("\"'"))
        if found.get("down_revision", "None") != "None":
            revised.add(found["down_revision"].strip("\"'"))
    heads = revisions - revised
    return next(iter(heads)) if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version", schema=Dialect.of(conn).current_schema(conn)):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


class Database:
    """An engine, a session factory, and the migrate-on-first-use guarantee.

    ``read_url`` (``MDM_READ_DATABASE_URL``) names a PostgreSQL streaming replica: :meth:`replica` sessions —
    record reads and searches, nothing that decides access — go there; :meth:`read` and :meth:`write` always go
    to the primary. Without it :meth:`replica` is :meth:`read`. A replica may lag the primary by the time it
    takes to apply the primary's WAL (normally milliseconds; see README "Reads on replicas").
    """

    def __init__(self, url: str, *, migrate: bool = True, read_url: str | None = None, **engine_kwargs) -> None:
        from mdm.access import generation  # noqa: F401 — its session events bump the access generation

        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._migrate = migrate
        self._ready = False
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._closers: list = []
        self.read_url = read_url
        self.replica_engine = make_engine(read_url, **engine_kwargs) if read_url else None
        self._replica_sessions = sessionmaker(self.replica_engine, expire_on_commit=False) if read_url else None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (for reports such as ``/health``; code asks :class:`Dialect`)."""
        return Dialect.of(self.engine).name

    def ensure_schema(self) -> None:
        """Create and migrate the database on first use. A database already at the newest revision is recognised
        with one query, without loading Alembic (it is most of a short command's start-up)."""
        if self._ready or not self._migrate:
            return
        with _lock:
            if not self._ready:
                try:
                    if current_revision(self.engine) == head_revision():
                        self._ready = True
                        return
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
    def replica(self) -> Iterator[Session]:
        """A session for reading records from the replica (the primary when there is none)."""
        if self._replica_sessions is None:
            with self.read() as session:
                yield session
            return
        self.ensure_schema()  # migrations run on the primary and reach the replica by streaming
        with self._replica_sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self, *, lock_wait: float | None = None) -> Iterator[Session]:
        """A unit of work: committed if the block finishes, rolled back if it raises. The only commit point.

        ``lock_wait`` bounds, in seconds, how long it waits for locks (SQLite's writer lock, PostgreSQL row and
        advisory locks; :meth:`mdm.store.dialect.Dialect.lock_wait`); past it the statement raises
        ``OperationalError``. The audit writer uses it so a read is refused in bounded time."""
        self.ensure_schema()
        with (
            self.engine.connect().execution_options(mdm_write=True) as conn,
            Dialect.of(self.engine).lock_wait(conn, lock_wait),
            Session(bind=conn, expire_on_commit=False, join_transaction_mode="control_fully") as session,
        ):
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def on_dispose(self, closer) -> None:
        """Call ``closer()`` before the engine is disposed (the audit writer flushes its queue there)."""
        self._closers.append(closer)

    def dispose(self) -> None:
        for closer in self._closers:
            closer()
        self._closers.clear()
        self.engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()
