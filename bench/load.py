"""Load benchmark: ``mdm load`` end to end against a raw COPY of the same rows, on PostgreSQL, in one run.

    python bench/load.py [--rows 100000] [--million] [--workers 1,0] [--database-url postgresql+psycopg2://…] [--keep]

Generates N synthetic natural_person rows as a CSV (api/samples.py; address code 990102, no real person) and
runs ``mdm load`` on it, as a user would (a CLI process per load, in a scratch schema), four times:

1. the initial load of N rows;
2. an unchanged re-load of the same file;
3. a 10 % delta: N/10 of the rows with a changed phone number;
4. a 1,000-row delta.

Each is printed as wall time (CLI start included), rows/s, the ratio to a raw ``COPY`` of as many golden-record
rows into a table made with ``LIKE golden_records INCLUDING ALL`` (same columns, same indexes) in the same
schema, and the load process's peak memory. ``--million`` runs at 1,000,000 rows. ``--workers`` runs the four
steps once per MDM_LOAD_WORKERS value, each in a schema of its own (default: 1 process, then the default pool), and
prints the speed-up. Not a test; tests/test_bench.py runs it tiny.
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

# Runs the CLI and, at exit, writes its own peak RSS (after exec, so the benchmark's memory is not counted).
_WRAPPER = (
    "import atexit, os, resource, runpy, sys\n"
    "atexit.register(lambda: open(os.environ['BENCH_PEAK_FILE'], 'w').write("
    "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
    "sys.argv = ['mdm', *sys.argv[1:]]\n"
    "runpy.run_module('api', run_name='__main__')\n"
)


def run_load(env: dict[str, str], path: Path) -> tuple[float, float, float, dict]:
    """One ``mdm load --json`` process: (wall seconds, CPU seconds of the process, peak RSS in MB, its summary)."""
    peak_file = path.with_suffix(".peak")
    command = [sys.executable, "-c", _WRAPPER, "load", "--profile", str(ROOT / "api/demo/persons.yaml"), "--json"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, str(path)],
        env={**env, "BENCH_PEAK_FILE": str(peak_file)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 5):
        raise SystemExit(f"mdm load exited {process.returncode}")
    peak = int(peak_file.read_text()) / 1024
    return seconds, usage.ru_utime + usage.ru_stime, peak, json.loads(out.splitlines()[-1])


def raw_copy_seconds(engine: sa.Engine, rows: int) -> float:
    """Seconds to COPY ``rows`` golden-record rows into a fresh table shaped like golden_records."""
    buffer = io.StringIO()
    with engine.begin() as conn, conn.connection.dbapi_connection.cursor() as cur:
        cur.copy_expert(f"COPY (SELECT * FROM golden_records ORDER BY id LIMIT {rows}) TO STDOUT", buffer)
    buffer.seek(0)
    table = f"golden_copy_{rows}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (LIKE golden_records INCLUDING ALL)")
        started = time.perf_counter()
        with conn.connection.dbapi_connection.cursor() as cur:
            cur.copy_expert(f"COPY {table} FROM STDIN", buffer)
        seconds = time.perf_counter() - started
        conn.exec_driver_sql(f"DROP TABLE {table}")
    return seconds


def changed(rows: list[dict], count: int, salt: int) -> list[dict]:
    """The first ``count`` rows with another phone number (a real change of one field)."""
    return [{**row, "phone": f"100{(int(row['phone'][3:]) + salt) % 10**8:08d}"} for row in rows[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="run at 1,000,000 rows")
    parser.add_argument("--database-url", default=os.environ.get("MDM_TEST_DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch schemas")
    parser.add_argument(
        "--workers",
        default="1,0",
        help="MDM_LOAD_WORKERS values to compare, comma-separated (0: the default, the usable CPUs; 1: one process)",
    )
    args = parser.parse_args()
    rows_n = 1_000_000 if args.million else args.rows
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("a PostgreSQL URL is needed (--database-url or MDM_TEST_DATABASE_URL)")
    worker_counts = [int(w) for w in args.workers.split(",")]
    admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    results: list[tuple[int, str, int, float, float, float, float, float]] = []  # see the table header below
    with tempfile.TemporaryDirectory(prefix="mdm-bench-") as tmp:
        started = time.perf_counter()
        people = list(samples.persons(rows_n, seed=42))
        full = samples.write_csv(Path(tmp) / "persons.csv", people)
        tenth = samples.write_csv(Path(tmp) / "delta-10pc.csv", changed(people, rows_n // 10, 1))
        small_n = min(1000, rows_n // 2)  # 1,000 rows, or half of a smoke run's few
        small = samples.write_csv(Path(tmp) / "delta-1000.csv", changed(people[rows_n // 2 :], small_n, 2))
        del people
        took = time.perf_counter() - started
        print(f"generated {rows_n:,} rows ({full.stat().st_size / 1e6:.1f} MB) in {took:.1f} s", flush=True)
        steps = [
            ("initial load", full, rows_n, "inserted"),
            ("unchanged re-load", full, rows_n, "unchanged"),
            ("10 % delta", tenth, rows_n // 10, "updated"),
            (f"{small_n:,}-row delta", small, small_n, "updated"),
        ]
        for workers in worker_counts:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            scoped_url = sa.engine.make_url(args.database_url).update_query_dict(
                {"options": f"-csearch_path={schema},public"}
            )
            scoped = scoped_url.render_as_string(hide_password=False)
            env = {
                **os.environ,
                "MDM_DATABASE_URL": scoped,
                "MDM_REPORT_DIR": str(Path(tmp) / f"loads-{workers}"),
                "MDM_LOAD_WORKERS": str(workers),
            }
            try:
                subprocess.run([sys.executable, "-m", "api", "db", "upgrade"], env=env, check=True, cwd=ROOT)
                engine = sa.create_engine(scoped)
                for label, path, count, counted in steps:
                    seconds, cpu, peak, summary = run_load(env, path)
                    assert summary[counted] == count and summary["rejected"] == 0, summary
                    copy = raw_copy_seconds(engine, count)
                    results.append((workers, label, count, seconds, summary["seconds"], cpu, copy, peak))
                    print(f"  MDM_LOAD_WORKERS={workers} {label}: {seconds:.1f} s", flush=True)
                engine.dispose()
            finally:
                if not args.keep:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()

    print(
        "\nwall s: the whole CLI process; load s: inside load_file (summary 'seconds'); CPU s: the CLI process's own"
        " user+sys time and its waited-for worker processes'; ratio: raw COPY seconds / wall seconds for as many"
        " rows; peak MB: the CLI process (not its preparation workers); workers: MDM_LOAD_WORKERS (0 = the CPUs)"
    )
    print(
        f"{'workers':>7} {'step':<20}{'rows':>10}{'wall s':>9}{'load s':>9}{'CPU s':>8}{'rows/s':>10}"
        f"{'COPY rows/s':>13}{'ratio':>8}{'peak MB':>9}"
    )
    for workers, label, count, seconds, inside, cpu, copy, peak in results:
        print(
            f"{workers:>7} {label:<20}{count:>10,}{seconds:>9.2f}{inside:>9.2f}{cpu:>8.2f}{count / seconds:>10,.0f}"
            f"{count / copy:>13,.0f}{copy / seconds:>8.3f}{peak:>9.0f}"
        )
    for workers in worker_counts:
        mine = [r for r in results if r[0] == workers]
        initial, reload = mine[0], mine[1]
        rate = (reload[2] / reload[3]) / (initial[2] / initial[3])
        print(f"workers {workers}: unchanged re-load rate / initial rate: {rate:.2f}")
    if len(worker_counts) > 1:
        first = {r[1]: r[3] for r in results if r[0] == worker_counts[0]}
        for workers in worker_counts[1:]:
            ratios = ", ".join(f"{r[1]} {first[r[1]] / r[3]:.2f}×" for r in results if r[0] == workers)
            print(f"speed-up of workers {workers} over {worker_counts[0]}: {ratios}")


if __name__ == "__main__":
    main()
