"""Sharing on demand: departments, purposes, grants, sharing requests and the hash-chained audit.

Existing API keys name their department by free text; each distinct name becomes a department whose id is
:func:`mdm.access.departments.code_for_name` of it, and the key then references that id. The audit table is
append-only: triggers refuse UPDATE and DELETE on both dialects, and on PostgreSQL no role but the owner holds
UPDATE, DELETE or TRUNCATE on it (run the service as a role that does not own the tables to make that bind).

Revision ID: 0005
Revises: 0006 (after the projects migration; re-chain onto 0004 when it lands)
"""

import datetime as dt
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"

_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _code_for_name(name: str) -> str:
    # the same rule as mdm.access.departments.code_for_name, frozen here as migrations must not import the app
    return "dept-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "departments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("owns", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "purposes",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("legal_basis", sa.String(1000), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "grants",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("department_id", sa.String(64), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("purposes", _JSON, nullable=False),
        sa.Column("unmasked", _JSON, nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_until", _TS),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
        sa.Column("request_id", _ID),
    )
    op.create_index("ix_grants_department", "grants", ["department_id", "repository"])
    op.create_table(
        "sharing_requests",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("department_id", sa.String(64), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("owner_id", sa.String(64), sa.ForeignKey("departments.id")),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("purpose", sa.String(64), sa.ForeignKey("purposes.code"), nullable=False),
        sa.Column("unmasked", _JSON, nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_until", _TS),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("filed_by", sa.String(16), nullable=False),
        sa.Column("filed_at", _TS, nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", _TS),
        sa.Column("decision_reason", sa.String(2000)),
        sa.Column("grant_id", _ID),
    )
    op.create_index("ix_sharing_requests_state", "sharing_requests", ["state", "owner_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("department", sa.String(64)),
        sa.Column("key_prefix", sa.String(16)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("repository", sa.String(32)),
        sa.Column("purpose", sa.String(64)),
        sa.Column("target", sa.String(500)),
        sa.Column("keys", _JSON, nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_department", "audit_events", ["department", "at"])
    op.create_index("ix_audit_events_repository", "audit_events", ["repository", "at"])
    op.create_table(
        "audit_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_keys_record", "audit_keys", ["repository", "business_key"])

    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    names = [r[0] for r in conn.execute(sa.text("SELECT DISTINCT department FROM api_keys")).all()]
    for name in names:
        code = _code_for_name(name)
        conn.execute(
            sa.text("INSERT INTO departments (id, name, owns, created_at) VALUES (:id, :name, '[]', :at)"),
            {"id": code, "name": name, "at": now.replace(tzinfo=None) if dialect == "sqlite" else now},
        )
        conn.execute(
            sa.text("UPDATE api_keys SET department = :id WHERE department = :name"), {"id": code, "name": name}
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("department", type_=sa.String(64), existing_type=sa.String(200))
        batch.create_foreign_key("fk_api_keys_department", "departments", ["department"], ["id"])

    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION mdm_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'audit_events is append-only';
            END $$
            """
        )
        for table in ("audit_events", "audit_keys"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION mdm_audit_refuse_change()"
            )
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    else:
        for table in ("audit_events", "audit_keys"):
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"""
                    CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} BEGIN
                      SELECT RAISE(ABORT, '{table} is append-only');
                    END
                    """
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in ("audit_events", "audit_keys"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS mdm_audit_refuse_change()")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_department", type_="foreignkey")
    for table in ("audit_keys", "audit_events", "sharing_requests", "grants", "purposes", "departments"):
        op.drop_table(table)
