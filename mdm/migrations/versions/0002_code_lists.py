"""Code lists imported by stewards (divisions, industries, …): one row per code and validity period.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "code_list_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
    )
    op.create_index("ix_code_list_entries_code", "code_list_entries", ["list_name", "code"])


def downgrade() -> None:
    op.drop_table("code_list_entries")
