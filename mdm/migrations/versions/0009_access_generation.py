"""The access generation (issue 21): one counter bumped in the same transaction as any change to keys, grants,
purposes or departments (and so ownership), so per-process caches of access decisions know when they are stale.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    table = op.create_table(
        "access_generation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "generation": 1}])


def downgrade() -> None:
    op.drop_table("access_generation")
