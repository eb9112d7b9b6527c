"""``mdm demo``: the embedded database with the built-in sample data, ready to try.

The sample (``api/demo/``): Suzhou and its county-level divisions, with codes and names from the statistics
bureau's 2023 division codes and coarse synthetic boundaries (marked as such). Running it again is safe: the
loads are idempotent; each run issues a fresh admin key.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.db import Database
from mdm.keys import create_key
from mdm.settings import Settings

SAMPLES = Path(__file__).parent / "demo"
LOADS = [("suzhou-divisions.yaml", "suzhou-divisions.geojson")]


def prepare_demo(settings: Settings, *, console: Console | None = None) -> str:
    """Migrate the database, load every sample, and return a new admin key."""
    database = Database(settings.database_url)
    database.ensure_schema()
    options = LoadOptions(
        report_root=settings.report_dir, guard=settings.snapshot_guard, chunk_rows=settings.chunk_rows
    )
    for profile_file, data_file in LOADS:
        profile = load_profile(str(SAMPLES / profile_file), [])
        summary = load_file(database, profile, SAMPLES / data_file, options=options)
        if console:
            console.print(
                f"loaded {data_file}: {summary['read']} read, {summary['inserted']} inserted, "
                f"{summary['updated']} updated, {summary['unchanged']} unchanged, "
                f"{summary['rejected']} rejected"
            )
    key = create_key(database, department="demo", role="admin")
    database.dispose()
    return key
