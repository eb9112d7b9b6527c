"""Typed settings, read once from the environment (prefix ``MDM_``) and injected; nothing else reads os.environ."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every option of the service. The README's configuration table lists the same fields."""

    model_config = SettingsConfigDict(env_prefix="MDM_", env_file=None, extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/mdm.db",
        description="SQLAlchemy URL of the store: SQLite (embedded) or postgresql+psycopg2://… (PostGIS).",
    )
    read_database_url: str | None = Field(
        None,
        description="A PostgreSQL streaming replica for record reads and searches (writes, access and the audit "
        "always use MDM_DATABASE_URL).",
    )
    profile_path: str = Field(
        f"./profiles{os.pathsep}{PROJECT_ROOT / 'examples' / 'profiles'}",
        description="Directories searched for source profiles by name, separated by the OS path separator.",
    )
    report_dir: Path = Field(Path("./var/loads"), description="Where load reports go: <report_dir>/<batch_id>/.")
    snapshot_guard: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Largest share of a repository's active records one snapshot may retire without --force.",
    )
    chunk_rows: int = Field(5000, ge=1, description="Rows per chunk when loading (bounds memory).")
    load_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes preparing a load's rows (0: the usable CPUs, at most 8; 1: in the loading process).",
    )
    max_upload_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1,
        description="Largest file accepted by an upload (POST /repositories/{r}/loads, project documents), in bytes; "
        "a multipart body declaring more (plus 64 KiB for the form's other parts) is refused with 413 "
        "file.too_large before it is read.",
    )
    max_json_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest request body other than a file upload (JSON, forms), in bytes; a larger one is refused "
        "with 413 request.too_large before it is parsed.",
    )
    host: str = Field("127.0.0.1", description="Address `mdm serve` binds.")
    workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Worker processes of `mdm serve`; default: the number of CPUs on PostgreSQL, 1 on SQLite.",
    )
    port: int = Field(8000, ge=1, le=65535, description="Port `mdm serve` binds.")
    elasticsearch_url: str | None = Field(None, description="Elasticsearch URL; unset means the sql search backend.")
    es_index_prefix: str = Field(
        "mdm",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$",
        description="Prefix of index and alias names: <prefix>-<repository>.",
    )
    indexer_interval: float = Field(
        default=2.0,
        ge=0,
        description="Seconds between the served application's background drains of the outbox into "
        "Elasticsearch (mdm serve, mdm demo); 0 turns the background indexer off.",
    )
    search_max_candidates: int = Field(
        10_000, ge=100, description="sql search backend: the most candidate records one query ranks."
    )
    audit_reads: bool = Field(
        True, description="Audit every read (default on; off only to measure its cost in bench/read.py)."
    )
    verify_per_minute: int = Field(
        60, ge=1, description="Verifications a department may make per purpose per UTC minute (a grant may say more)."
    )
    verify_per_day: int = Field(5_000, ge=1, description="Verifications per department and purpose per UTC day.")
    lookup_per_minute: int = Field(
        20_000, ge=1, description="Keys a department may look up per purpose per UTC minute (POST …/lookup)."
    )
    lookup_per_day: int = Field(500_000, ge=1, description="Keys looked up per department and purpose per UTC day.")
    audit_batch: int = Field(
        500, ge=1, description="Most concurrent read events appended to the audit chain in one transaction."
    )
    audit_timeout: float = Field(
        5.0,
        gt=0,
        le=120,
        description="Seconds a read waits for its audit event to be durable (lock waits included) before it is "
        "refused with 503 audit.unavailable.",
    )
    console_session_hours: float = Field(
        8, gt=0, le=24 * 7, description="How long a console sign-in lasts before the key must be entered again."
    )

    @property
    def profile_dirs(self) -> list[Path]:
        return [Path(p) for p in self.profile_path.split(os.pathsep) if p]


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()
