"""O&M categories after GB/T 28827.1-2022 (信息技术服务 运行维护 第1部分：通用要求): the ``om_category`` code list
becomes the 2022 edition's service objects plus user support, a new list ``om_service_kind`` holds its four
service kinds, and existing projects move from the first seed's categories to the new codes.

* new codes are added unless a steward already has them in force (a steward's list is not duplicated);
* every project whose ``om_category`` is one of the first seed's six codes gets its new code (:data:`LEGACY`);
* the six first-seed entries still open are closed today (``valid_to``), so they leave the dictionary and new
  declarations, and stay in the table as history.

Stewards change the lists afterwards as any other (``mdm codes import om_category file.csv``).

Revision ID: 0012
Revises: 0011
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

OM_CATEGORY = [
    ("facility", "机房基础设施运维"),
    ("physical_resource", "物理资源运维"),
    ("virtual_resource", "虚拟资源运维"),
    ("platform_resource", "平台资源运维"),
    ("application_data", "应用和数据运维"),
    ("user_support", "用户支持"),
]
OM_SERVICE_KIND = [
    ("routine_operation", "例行操作"),
    ("response_support", "响应支持"),
    ("optimisation", "优化改善"),
    ("consulting_evaluation", "咨询评估"),
]
# The first seed (migration 0006) → GB/T 28827.1-2022. Security O&M is no service object of its own in the
# standard; its systems (firewalls, WAF, 等保 platforms) are counted as platform resources. Software and data
# O&M both become 应用和数据.
LEGACY = {
    "infrastructure": "facility",
    "hardware": "physical_resource",
    "software": "application_data",
    "data": "application_data",
    "security": "platform_resource",
    "service_desk": "user_support",
}
# Back, for downgrade only (a best guess where the mapping merged two codes).
REVERSE = {
    "facility": "infrastructure",
    "physical_resource": "hardware",
    "virtual_resource": "hardware",
    "platform_resource": "software",
    "application_data": "software",
    "user_support": "service_desk",
}

entries = sa.table(
    "code_list_entries",
    sa.column("list_name", sa.String),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("valid_to", sa.Date),
)
projects = sa.table("projects", sa.column("om_category", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    for list_name, rows in (("om_category", OM_CATEGORY), ("om_service_kind", OM_SERVICE_KIND)):
        open_codes = set(
            conn.execute(
                sa.select(entries.c.code).where(entries.c.list_name == list_name, entries.c.valid_to.is_(None))
            ).scalars()
        )
        new = [{"list_name": list_name, "code": c, "name": t} for c, t in rows if c not in open_codes]
        if new:
            conn.execute(entries.insert(), new)
    for old, code in LEGACY.items():
        conn.execute(projects.update().where(projects.c.om_category == old).values(om_category=code))
    conn.execute(
        entries.update()
        .where(entries.c.list_name == "om_category", entries.c.code.in_(list(LEGACY)), entries.c.valid_to.is_(None))
        .values(valid_to=dt.date.today())
    )


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(entries.delete().where(entries.c.list_name == "om_service_kind"))
    conn.execute(
        entries.delete().where(entries.c.list_name == "om_category", entries.c.code.in_([c for c, _ in OM_CATEGORY]))
    )
    conn.execute(
        entries.update()
        .where(entries.c.list_name == "om_category", entries.c.code.in_(list(LEGACY)))
        .values(valid_to=None)
    )
    for code, old in REVERSE.items():
        conn.execute(projects.update().where(projects.c.om_category == code).values(om_category=old))
