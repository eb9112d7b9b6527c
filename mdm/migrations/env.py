"""Alembic environment: always run programmatically by :func:`mdm.db.upgrade` with a bound connection.

On PostgreSQL the version table is pinned to the connection's current schema (the first of its search_path):
SQLAlchemy's table check sees every schema on the path, so a database whose ``public`` schema holds another
installation's ``alembic_version`` would otherwise make a fresh schema look migrated and leave it empty."""

from __future__ import annotations

from alembic import context

from mdm.models import Base
from mdm.store.dialect import Dialect

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    version_table_schema=Dialect.of(connection).current_schema(connection),
)
with context.begin_transaction():
    context.run_migrations()
