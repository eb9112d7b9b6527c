"""E-government projects: projects, their transitions, documents, evaluations, vendors, payments and actions;
and the seed of the projects' data dictionary (code lists in ``code_list_entries``, which stewards replace with
``mdm codes import``).

Revision ID: 0006
Revises: 0004 (re-chained after the store's 0004; the integrator re-chains after 0005 when it lands)
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Fen = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)

# The data dictionary seed (数据字典). The lifecycle stages and document types are this service's; the O&M
# categories follow the service objects of GB/T 28827.1 (信息技术服务 运行维护 第1部分：通用要求): basic
# environment, hardware, software, data — plus security and the operation-centre desk, which the city counts
# separately. Stewards can replace any list with `mdm codes import <list> file.csv`.
SEED = {
    "project_stage": [
        ("draft", "草稿"),
        ("declared", "已申报"),
        ("evaluated", "已评审"),
        ("approved", "已批复"),
        ("procuring", "采购中"),
        ("implementing", "实施中"),
        ("accepted", "已验收"),
        ("filed", "已归档"),
        ("rejected", "未通过"),
        ("withdrawn", "已撤回"),
    ],
    "project_kind": [("construction", "建设类"), ("om", "运维类")],
    "project_document_type": [
        ("proposal", "项目建议书"),
        ("feasibility_study", "可行性研究报告"),
        ("performance_report", "事前绩效评估报告"),
        ("software_evaluation", "软件开发费用评审报告"),
        ("hardware_evaluation", "硬件购置费用评审报告"),
        ("approval", "批复文件"),
        ("contract", "合同"),
        ("supervision_contract", "监理合同"),
        ("acceptance_report", "验收报告"),
        ("other", "其他"),
    ],
    "evaluation_kind": [
        ("software", "软件开发费用评审（大数据局）"),
        ("hardware", "硬件购置费用评审（财政投资评审中心）"),
        ("performance", "事前绩效评估"),
    ],
    "om_category": [
        ("infrastructure", "基础环境运维"),
        ("hardware", "硬件运维"),
        ("software", "软件运维"),
        ("data", "数据运维"),
        ("security", "安全运维"),
        ("service_desk", "运维服务台"),
    ],
}


def _actor() -> list[sa.Column]:
    return [sa.Column("department", sa.String(200), nullable=False), sa.Column("key_prefix", sa.String(16))]


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("department_uscc", sa.String(18), nullable=False),
        sa.Column("department_name", sa.String(500), nullable=False),
        sa.Column("requested_fen", Fen, nullable=False),
        sa.Column("systems", Json, nullable=False),
        sa.Column("other_parts", Json, nullable=False),
        sa.Column("om_category", sa.String(64)),
        sa.Column("om_construction_cost_fen", Fen),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("control_price_fen", Fen),
        sa.Column("approved_fen", Fen),
        sa.Column("plan_confirmed", sa.Boolean, nullable=False),
        sa.Column("not_duplicate_statement", sa.Text),
        sa.Column("duplicate_candidates", Json, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_projects_year", "projects", ["year", "kind", "status"])
    op.create_index("ix_projects_department", "projects", ["department_uscc"])
    op.create_table(
        "project_transitions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        *_actor(),
        sa.Column("at", When, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("documents", Json, nullable=False),
    )
    op.create_table(
        "project_documents",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("size", Fen, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        *_actor(),
        sa.Column("uploaded_at", When, nullable=False),
    )
    op.create_table(
        "project_evaluations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount_fen", Fen),
        sa.Column("passed", sa.Boolean),
        sa.Column("report_document_id", BigId, sa.ForeignKey("project_documents.id")),
        sa.Column("computation", Json, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        *_actor(),
        sa.Column("at", When, nullable=False),
    )
    op.create_table(
        "project_vendors",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("credit", Json, nullable=False),
        sa.Column("override_reason", sa.Text),
        *_actor(),
        sa.Column("at", When, nullable=False),
    )
    op.create_table(
        "project_payments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("voucher_no", sa.String(64), nullable=False, unique=True),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("amount_fen", Fen, nullable=False),
        sa.Column("imported_at", When, nullable=False),
    )
    op.create_table(
        "project_actions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, sa.ForeignKey("projects.id"), index=True),
        sa.Column("action", sa.String(64), nullable=False),
        *_actor(),
        sa.Column("at", When, nullable=False),
        sa.Column("detail", Json, nullable=False),
    )
    entries = sa.table(
        "code_list_entries",
        sa.column("list_name", sa.String),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
    )
    op.bulk_insert(
        entries,
        [{"list_name": name, "code": code, "name": title} for name, rows in SEED.items() for code, title in rows],
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM code_list_entries WHERE list_name IN :names").bindparams(
            sa.bindparam("names", list(SEED), expanding=True)
        )
    )
    for table in (
        "project_actions",
        "project_payments",
        "project_vendors",
        "project_evaluations",
        "project_documents",
        "project_transitions",
        "projects",
    ):
        op.drop_table(table)
