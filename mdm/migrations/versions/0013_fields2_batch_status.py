"""A batch's status may be ``committed_unindexed`` (issue 26, kind 7: stored, but the search index refused some of
its records): the column is widened from 16 to 32 characters. SQLite does not enforce a VARCHAR length, so only
PostgreSQL's column changes.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("batches", "status", type_=sa.String(32), existing_type=sa.String(16))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE batches SET status = 'committed' WHERE status = 'committed_unindexed'")
        op.alter_column("batches", "status", type_=sa.String(16), existing_type=sa.String(32))
