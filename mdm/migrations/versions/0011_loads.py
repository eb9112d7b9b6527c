"""Loads inside their department's remit (issue 20): a source system records the department that owns it, a batch
records the department it loaded for and the department that ran it (the same, or a steward on its behalf).

Existing source systems and batches get no owner (NULL): only stewards load under such a source system until a
profile that declares its department loads it, and only stewards see the reports of such batches.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.add_column("source_systems", sa.Column("department_id", sa.String(64)))
    op.add_column("batches", sa.Column("department_id", sa.String(64)))
    op.add_column("batches", sa.Column("loaded_by", sa.String(64)))
    op.create_index("ix_batches_department_id", "batches", ["department_id"])


def downgrade() -> None:
    op.drop_index("ix_batches_department_id", table_name="batches")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("loaded_by")
        batch.drop_column("department_id")
    with op.batch_alter_table("source_systems") as batch:
        batch.drop_column("department_id")
