"""Projects have an owner: each document records its uploader's role (a gate counts only the owning role's
documents), and a payment records finance's reason for paying above the approved amount.

Existing documents get the role of the key whose prefix they carry; the demo's (prefix ``demo``) get the role
its callers had (``demo <role>``, or ``declarer`` when uploaded by the project's own department). A document
whose role cannot be told stays without one and no longer counts for a gate.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.add_column("project_documents", sa.Column("role", sa.String(32)))
    op.add_column("project_payments", sa.Column("override_reason", sa.Text()))
    op.execute(
        "UPDATE project_documents SET role = "
        "(SELECT k.role FROM api_keys k WHERE k.prefix = project_documents.key_prefix LIMIT 1)"
    )
    op.execute(
        "UPDATE project_documents SET role = 'declarer' WHERE role IS NULL AND key_prefix = 'demo' AND department = "
        "(SELECT p.department_uscc FROM projects p WHERE p.id = project_documents.project_id)"
    )
    op.execute(
        "UPDATE project_documents SET role = substr(department, 6) WHERE role IS NULL AND key_prefix = 'demo' "
        "AND department LIKE 'demo %'"
    )


def downgrade() -> None:
    op.drop_column("project_payments", "override_reason")
    op.drop_column("project_documents", "role")
