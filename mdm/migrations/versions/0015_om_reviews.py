"""The O&M approval flow (运维项目审批): an O&M project names the system it maintains (a filed construction
project, ``om_system_project_id``) and its service period (``om_period_start``/``om_period_end``); each review of
it against its category's expenditure standard is a row of ``project_om_reviews`` with the finance reviewer's
decision when it is above the standard.

Existing O&M projects keep their declared construction cost and have no period yet (they give it before review).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    # the system's project id without a foreign key: SQLite adds no constraint to an existing table (the service
    # checks that it names a filed construction project of the same department)
    op.add_column("projects", sa.Column("om_system_project_id", BigId, nullable=True))
    op.add_column("projects", sa.Column("om_period_start", sa.Date(), nullable=True))
    op.add_column("projects", sa.Column("om_period_end", sa.Date(), nullable=True))
    op.create_table(
        "project_om_reviews",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("census_year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("standard_ratio", sa.String(16), nullable=True),
        sa.Column("contract_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("construction_cost_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ratio", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_department", sa.String(200), nullable=True),
        sa.Column("decided_key_prefix", sa.String(16), nullable=True),
        sa.Column("decided_at", UtcDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("project_om_reviews")
    for column in ("om_period_end", "om_period_start", "om_system_project_id"):
        op.drop_column("projects", column)
