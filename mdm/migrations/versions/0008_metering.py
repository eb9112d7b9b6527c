"""Metering of verifications and key lookups (issue 20): a grant may declare a per-minute rate and a daily quota;
``usage_meter`` counts what each department used per purpose, kind and window.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("per_minute", sa.Integer()))
        batch.add_column(sa.Column("per_day", sa.Integer()))
    op.create_table(
        "usage_meter",
        sa.Column("department_id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),  # verify, lookup
        sa.Column("window", sa.String(16), primary_key=True),  # 2026-12-04T18:24 (a minute) or 2026-12-04 (a day)
        sa.Column("used", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("usage_meter")
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("per_day")
        batch.drop_column("per_minute")
