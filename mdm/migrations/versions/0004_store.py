"""The store package: what a batch has supplied is kept in a temporary table for the batch, so the index on
``source_records (seen_batch_id, business_key)`` — written on every row of every load, read by nothing now —
goes. ``seen_batch_id`` stays as the batch that last wrote the row.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.drop_index("ix_source_records_seen", table_name="source_records")


def downgrade() -> None:
    op.create_index("ix_source_records_seen", "source_records", ["seen_batch_id", "business_key"])
