"""Alembic environment: always run programmatically by :func:`mdm.db.upgrade` with a bound connection."""

from __future__ import annotations

from alembic import context

from mdm.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
