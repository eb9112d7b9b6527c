"""The store: batches, source systems, source records, golden records, versions, outbox, API keys.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from mdm.models import JsonDoc, UtcDateTime
from mdm.spatial import GeometryColumn

revision = "0001"
down_revision = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        has_postgis = op.get_bind().execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).scalar()
        if not has_postgis:
            op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("source_system_id", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(128), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("encoding", sa.String(32)),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("summary", JsonDoc, nullable=False),
    )
    op.create_table(
        "source_systems",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "source_records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("source_system_id", sa.String(64), sa.ForeignKey("source_systems.id"), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("feed", sa.String(128), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("raw", JsonDoc, nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("source_time", UtcDateTime(), nullable=False),
        sa.Column("first_batch_id", sa.String(36), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("seen_batch_id", sa.String(36), nullable=False),
        sa.UniqueConstraint("repository", "source_system_id", "source_key", name="uq_source_records_key"),
    )
    op.create_index("ix_source_records_business_key", "source_records", ["repository", "business_key"])
    op.create_index("ix_source_records_feed", "source_records", ["source_system_id", "feed", "status"])
    op.create_index("ix_source_records_seen", "source_records", ["seen_batch_id", "business_key"])

    op.create_table(
        "golden_records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("provenance", JsonDoc, nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("batch_id", sa.String(36)),
        sa.Column("geom", GeometryColumn(), nullable=True),
        sa.Column("min_x", sa.Float),
        sa.Column("min_y", sa.Float),
        sa.Column("max_x", sa.Float),
        sa.Column("max_y", sa.Float),
        sa.UniqueConstraint("repository", "business_key", name="uq_golden_records_key"),
    )
    op.create_index("ix_golden_records_status", "golden_records", ["repository", "status", "business_key"])

    op.create_table(
        "record_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("golden_id", BigId, sa.ForeignKey("golden_records.id"), nullable=False),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("provenance", JsonDoc, nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("batch_id", sa.String(36)),
        sa.UniqueConstraint("repository", "business_key", "version", name="uq_record_versions_version"),
    )
    op.create_index("ix_record_versions_recorded", "record_versions", ["repository", "business_key", "recorded_at"])

    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(32), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch_id", sa.String(36)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("processed_at", UtcDateTime()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(2000)),
    )
    op.create_index("ix_outbox_pending", "outbox", ["processed_at", "id"])

    op.create_table(
        "api_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime()),
    )

    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_golden_records_geom ON golden_records USING gist (geom)")
        op.execute(
            """
            CREATE FUNCTION mdm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'record_versions is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER record_versions_append_only BEFORE UPDATE OR DELETE ON record_versions "
            "FOR EACH ROW EXECUTE FUNCTION mdm_refuse_change()"
        )
    else:
        op.execute("CREATE VIRTUAL TABLE golden_rtree USING rtree(id, min_x, max_x, min_y, max_y)")
        op.execute(
            """
            CREATE TRIGGER golden_rtree_insert AFTER INSERT ON golden_records
            WHEN new.min_x IS NOT NULL BEGIN
              INSERT INTO golden_rtree VALUES (new.id, new.min_x, new.max_x, new.min_y, new.max_y);
            END
            """
        )
        op.execute(
            """
            CREATE TRIGGER golden_rtree_update AFTER UPDATE OF min_x, min_y, max_x, max_y ON golden_records
            BEGIN
              DELETE FROM golden_rtree WHERE id = old.id;
              INSERT INTO golden_rtree SELECT new.id, new.min_x, new.max_x, new.min_y, new.max_y
                WHERE new.min_x IS NOT NULL;
            END
            """
        )
        op.execute(
            """
            CREATE TRIGGER golden_rtree_delete AFTER DELETE ON golden_records BEGIN
              DELETE FROM golden_rtree WHERE id = old.id;
            END
            """
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"""
                CREATE TRIGGER record_versions_no_{event.lower()} BEFORE {event} ON record_versions BEGIN
                  SELECT RAISE(ABORT, 'record_versions is append-only');
                END
                """
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS record_versions_append_only ON record_versions")
        op.execute("DROP FUNCTION IF EXISTS mdm_refuse_change()")
    else:
        op.execute("DROP TABLE IF EXISTS golden_rtree")
    for table in (
        "api_keys",
        "outbox",
        "record_versions",
        "golden_records",
        "source_records",
        "source_systems",
        "batches",
    ):
        op.drop_table(table)
