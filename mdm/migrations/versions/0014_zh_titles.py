"""Chinese titles of the project codes the console shows beside them (issue 23, item 6): two new lists of the
projects' data dictionary — ``cost_step`` (the steps of the software cost computation, GB/T 36964-2018 terms)
and ``vendor_role`` (承建单位, 监理单位). Entries are added unless a steward already has the code in force;
stewards change them afterwards as any other list (``mdm codes import cost_step file.csv``).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"

COST_STEP = [
    ("unadjusted_function_points", "未调整功能点数 UFP"),
    ("adjusted_size", "调整后规模 S"),
    ("quality_factor", "质量特性调整因子 Q"),
    ("software_factor", "软件因素调整因子 SWF"),
    ("development_factor", "开发因素调整因子 RDF"),
    ("effort_person_hours", "工作量 AE，人时"),
    ("effort_person_months", "工作量，人月"),
    ("labour_cost_yuan", "人力成本，元"),
    ("total_yuan", "软件开发费用，元"),
    ("amount_wan", "软件开发费用，万元"),
]
VENDOR_ROLE = [("contractor", "承建单位"), ("supervisor", "监理单位")]
LISTS = {"cost_step": COST_STEP, "vendor_role": VENDOR_ROLE}

entries = sa.table(
    "code_list_entries",
    sa.column("list_name", sa.String),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("valid_to", sa.Date),
)


def upgrade() -> None:
    conn = op.get_bind()
    for list_name, rows in LISTS.items():
        open_codes = set(
            conn.execute(
                sa.select(entries.c.code).where(entries.c.list_name == list_name, entries.c.valid_to.is_(None))
            ).scalars()
        )
        new = [{"list_name": list_name, "code": c, "name": t} for c, t in rows if c not in open_codes]
        if new:
            conn.execute(entries.insert(), new)


def downgrade() -> None:
    op.execute(entries.delete().where(entries.c.list_name.in_(list(LISTS))))
