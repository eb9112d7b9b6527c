"""Search support for the sql backend: a search_text column and a representative point on golden records;
PostgreSQL: a pg_trgm GIN index; SQLite: an FTS5 trigram index kept by triggers.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("golden_records") as batch:
        batch.add_column(sa.Column("search_text", sa.Text))
        batch.add_column(sa.Column("rep_x", sa.Float))
        batch.add_column(sa.Column("rep_y", sa.Float))
    if dialect == "postgresql":
        has = op.get_bind().execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
        if not has:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_golden_records_search ON golden_records USING gin (search_text gin_trgm_ops)")
        op.execute("CREATE INDEX ix_golden_records_rep ON golden_records (repository, rep_x, rep_y)")
    else:
        op.execute("CREATE INDEX ix_golden_records_rep ON golden_records (repository, rep_x, rep_y)")
        op.execute(
            "CREATE VIRTUAL TABLE golden_fts USING fts5(search_text, content='golden_records', content_rowid='id',"
            " tokenize='trigram')"
        )
        op.execute(
            """
            CREATE TRIGGER golden_fts_insert AFTER INSERT ON golden_records BEGIN
              INSERT INTO golden_fts(rowid, search_text) VALUES (new.id, new.search_text);
            END
            """
        )
        op.execute(
            """
            CREATE TRIGGER golden_fts_update AFTER UPDATE OF search_text ON golden_records BEGIN
              INSERT INTO golden_fts(golden_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
              INSERT INTO golden_fts(rowid, search_text) VALUES (new.id, new.search_text);
            END
            """
        )
        op.execute(
            """
            CREATE TRIGGER golden_fts_delete AFTER DELETE ON golden_records BEGIN
              INSERT INTO golden_fts(golden_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
            END
            """
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("golden_fts_insert", "golden_fts_update", "golden_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS golden_fts")
    op.execute("DROP INDEX IF EXISTS ix_golden_records_search")
    op.execute("DROP INDEX IF EXISTS ix_golden_records_rep")
    with op.batch_alter_table("golden_records") as batch:
        batch.drop_column("rep_y")
        batch.drop_column("rep_x")
        batch.drop_column("search_text")
