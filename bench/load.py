"""Load benchmark: ``mdm load`` end to end against a raw COPY of the same final rows, on PostgreSQL.

    python bench/load.py --rows 1000000 [--database-url postgresql+psycopg2://…] [--keep]

(a) generates N synthetic natural_person rows as a CSV (api/samples.py; address code 990102, no real person)
    and runs ``mdm load`` on it, as a user would, in a scratch schema;
(b) copies the golden records that load produced into a table made with ``LIKE golden_records INCLUDING ALL``
    (same columns, same indexes) in the same scratch schema, with one raw ``COPY``.

Prints rows/s for each and the ratio a/b, measured side by side in one run. Not a test; CI does not run it.
The database URL defaults to MDM_TEST_DATABASE_URL (as scripts/services.sh sets it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import samples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("MDM_TEST_DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch schema")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("a PostgreSQL URL is needed (--database-url or MDM_TEST_DATABASE_URL)")

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    scoped_url = sa.engine.make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema},public"})
    scoped = scoped_url.render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory(prefix="mdm-bench-") as tmp:
            data = Path(tmp) / "persons.csv"
            started = time.perf_counter()
            samples.write_csv(data, list(samples.persons(args.rows, seed=42)))
            print(
                f"generated {args.rows:,} rows ({data.stat().st_size / 1e6:.1f} MB) "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )

            env = {**os.environ, "MDM_DATABASE_URL": scoped, "MDM_REPORT_DIR": str(Path(tmp) / "loads")}
            subprocess.run([sys.executable, "-m", "api", "db", "upgrade"], env=env, check=True, cwd=ROOT)
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "api",
                    "load",
                    "--profile",
                    str(ROOT / "api/demo/persons.yaml"),
                    "--json",
                    str(data),
                ],
                env=env,
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            load_seconds = time.perf_counter() - started
            summary = json.loads(done.stdout.splitlines()[-1])
            assert summary["inserted"] == args.rows and summary["rejected"] == 0, summary

            engine = sa.create_engine(scoped)
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE golden_copy (LIKE golden_records INCLUDING ALL)")
                raw = conn.connection.dbapi_connection
                buffer = io.StringIO()
                with raw.cursor() as cur:
                    cur.copy_expert("COPY golden_records TO STDOUT", buffer)
                buffer.seek(0)
            with engine.begin() as conn:
                raw = conn.connection.dbapi_connection
                started = time.perf_counter()
                with raw.cursor() as cur:
                    cur.copy_expert("COPY golden_copy FROM STDIN", buffer)
                copy_seconds = time.perf_counter() - started
            engine.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()

    load_rate = args.rows / load_seconds
    copy_rate = args.rows / copy_seconds
    print(f"(a) mdm load end to end: {load_seconds:8.1f} s  {load_rate:12,.0f} rows/s")
    print(f"(b) raw COPY, same rows: {copy_seconds:8.1f} s  {copy_rate:12,.0f} rows/s")
    print(f"ratio a/b: {load_rate / copy_rate:.3f}  (the load runs at {load_rate / copy_rate:.1%} of raw COPY speed)")


if __name__ == "__main__":
    main()
