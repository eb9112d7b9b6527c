"""Read benchmark: GET by key and search through the API with the audit on and off, a bare FastAPI route doing
the same one SELECT (the framework's own ceiling, bench/bare.py), and raw PostgreSQL lookups of the same rows —
at concurrency 1, 16 and 64, with 1 and 2 server worker processes, in one run, printed as ratios with p50/p99.

    python bench/read.py [--persons 20000] [--requests 2000] [--workers 1,2] [--concurrency 1,16,64]
                         [--database-url postgresql+psycopg2://…]

Loads synthetic persons (api/samples.py; nothing real) into a scratch schema of the PostgreSQL database
(MDM_TEST_DATABASE_URL or --database-url) through the normal load pipeline, grants a bench department every
field unmasked for one purpose, and for each worker count starts three servers on free ports — `mdm serve
--workers W` with MDM_AUDIT_READS=true and =false, and `uvicorn bench.bare:create --workers W` — then measures
requests per second and per-request latency from N client threads (one HTTP connection each) for:

(1) GET /repositories/natural_person/records/{key} with random keys (audit on, off; the bare route);
(2) GET /repositories/natural_person/search?q=<a two-character name> (sql backend, pg_trgm; audit on, off);
(3) the same key lookups as raw SQL (``SELECT data FROM golden_records WHERE …``), one connection per thread.

The client threads run on the same 2-core machine as the servers, so every figure includes the client's own
cost; the ratios are what to read. Targets (issue 21, at concurrency 16 with 2 workers): API GET ≥ 0.25 × raw
SQL and ≥ 0.5 × the bare route; p99 ≤ 30 ms; audit on ≥ 0.9 × off. Not a test; tests/test_bench.py runs it tiny.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from api import samples  # noqa: E402
from api.demo import SAMPLES  # noqa: E402
from loaders.pipeline import LoadOptions, load_file  # noqa: E402
from loaders.profiles import load_profile  # noqa: E402
from mdm.access.departments import add_department, add_purpose  # noqa: E402
from mdm.access.grants import GrantSpec, issue_grant  # noqa: E402
from mdm.db import Database  # noqa: E402
from mdm.keys import create_key  # noqa: E402
from standards import default_registry  # noqa: E402

PURPOSE = "bench.read"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(requests: int, clients: int, make, call) -> tuple[float, list[float]]:
    """Requests per second for ``requests`` calls shared by ``clients`` threads, and each call's latency in ms;
    ``make()`` builds a per-thread connection, ``call(conn, i)`` does one request."""
    counter = iter(range(requests))
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    latencies: list[float] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            run()
        except BaseException as exc:  # a failed client fails the measurement, not just its thread
            failures.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    def run() -> None:
        conn = make()
        call(conn, -1)  # warm the connection
        barrier.wait()
        mine: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            began = time.perf_counter()
            call(conn, i)
            mine.append((time.perf_counter() - began) * 1000)
        with lock:
            latencies.extend(mine)
        close = getattr(conn, "close", None)
        if close:
            close()  # hand the connection back before the next run

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"a client failed: {failures[0]!r}")
    return requests / (time.perf_counter() - start), latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def serve(url: str, kind: str, port: int, workers: int, tmp: str) -> subprocess.Popen:
    """Start one server: ``kind`` is ``on`` / ``off`` (`mdm serve` with the read audit on or off) or ``bare``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MDM_DATABASE_URL": url,
        "BENCH_DATABASE_URL": url,
        "MDM_AUDIT_READS": "false" if kind == "off" else "true",
        "MDM_REPORT_DIR": tmp,
    }
    env.pop("MDM_ELASTICSEARCH_URL", None)
    if kind == "bare":
        command = [sys.executable, "-m", "uvicorn", "bench.bare:create", "--factory", "--log-level", "warning"]
    else:
        command = [sys.executable, "-m", "api", "serve"]
    log = Path(tmp) / f"server-{kind}-{workers}.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"the {kind} server exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"the {kind} server did not start:\n{log.read_text()[-2000:]}")


def stop(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    servers.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000, help="requests per measurement at concurrency ≥ 16")
    parser.add_argument("--workers", default="1,2", help="server worker counts, comma-separated")
    parser.add_argument("--concurrency", default="1,16,64", help="client thread counts, comma-separated")
    parser.add_argument("--database-url", default=os.environ.get("MDM_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("a PostgreSQL URL is needed (--database-url or MDM_TEST_DATABASE_URL)")
    worker_counts = [int(w) for w in args.workers.split(",")]
    levels = [int(c) for c in args.concurrency.split(",")]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{args.database_url}?options=-csearch_path%3D{schema},public"
    servers: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(url)
            people = list(samples.persons(args.persons))
            path = samples.write_csv(Path(tmp) / "persons.csv", people)
            load_file(
                db, load_profile(str(SAMPLES / "persons.yaml"), []), path, options=LoadOptions(report_root=Path(tmp))
            )
            with db.write() as session:
                add_department(session, department_id="bench", name="benchmark department")
                add_purpose(session, code=PURPOSE, title="benchmark", legal_basis="bench/read.py")
                spec = GrantSpec("natural_person", ("*",), (PURPOSE,), unmasked=("*",))
                issue_grant(
                    session, default_registry().get("natural_person"), department="bench", spec=spec, issued_by="bench"
                )
            key = create_key(db, department="bench", role="reader")
            keys = [p["citizen_id"] for p in people]
            names = sorted({p["name"] for p in people if len(p["name"]) == 2})[:200]
            headers = {"Authorization": f"Bearer {key}", "X-Purpose": PURPOSE}
            rng = random.Random(7)
            total = max(args.requests, 100) + 1  # the most requests one measurement makes, and the warm-up
            picks = [rng.choice(keys) for _ in range(total)]
            queries = [rng.choice(names) for _ in range(total)]

            def api(port: int, kind: str):
                base = f"http://127.0.0.1:{port}"

                def call(client: httpx.Client, i: int) -> None:
                    if kind == "get":
                        response = client.get(f"{base}/repositories/natural_person/records/{picks[i]}")
                    elif kind == "bare":
                        response = client.get(f"{base}/records/{picks[i]}")
                    else:
                        response = client.get(
                            f"{base}/repositories/natural_person/search", params={"q": queries[i], "limit": 10}
                        )
                    if response.status_code != 200:
                        raise SystemExit(f"{kind}: {response.status_code}: {response.text[:300]}")

                return lambda: httpx.Client(headers=headers, timeout=60), call

            raw_engine = sa.create_engine(url, pool_size=70, max_overflow=0)
            statement = sa.text(
                "SELECT data FROM golden_records WHERE repository = 'natural_person' AND business_key = :k"
            )

            def raw_call(conn, i: int) -> None:
                conn.execute(statement, {"k": picks[i]}).one()

            rows: list[tuple[int, int, str, float, float, float]] = []  # workers, clients, what, rate, p50, p99
            for workers in worker_counts:
                ports = {kind: free_port() for kind in ("on", "off", "bare")}
                servers.extend(serve(url, kind, port, workers, tmp) for kind, port in ports.items())
                for clients in levels:
                    n = args.requests if clients > 1 else max(100, args.requests // 4)
                    measured = [
                        ("GET audit on", *api(ports["on"], "get")),
                        ("GET audit off", *api(ports["off"], "get")),
                        ("bare route", *api(ports["bare"], "bare")),
                        ("search audit on", *api(ports["on"], "search")),
                        ("search audit off", *api(ports["off"], "search")),
                    ]
                    for what, make, call in measured:
                        rate, ms = throughput(n, clients, make, call)
                        rows.append((workers, clients, what, rate, percentile(ms, 0.5), percentile(ms, 0.99)))
                    if workers == worker_counts[0]:
                        rate, ms = throughput(n, clients, raw_engine.connect, raw_call)
                        rows.append((0, clients, "raw SQL", rate, percentile(ms, 0.5), percentile(ms, 0.99)))
                    print(f"  measured {workers} worker(s) at concurrency {clients}", flush=True)
                stop(servers)
            report(rows, worker_counts, levels, args.persons)
            with db.read() as session:
                events = session.execute(sa.text("SELECT count(*) FROM audit_events")).scalar()
            print(f"audit events written by the audited servers: {events}")
            raw_engine.dispose()
            db.dispose()
    finally:
        stop(servers)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def report(rows, worker_counts: list[int], levels: list[int], persons: int) -> None:
    """The table, then per worker count and concurrency the ratios against the targets."""
    print(f"{persons} persons, PostgreSQL; requests/s, p50 and p99 latency in ms (clients on the same machine)")
    print(f"{'workers':>7} {'clients':>7}  {'what':<17} {'req/s':>9} {'p50':>7} {'p99':>7}")
    for workers, clients, what, rate, p50, p99 in rows:
        shown = "-" if workers == 0 else str(workers)
        print(f"{shown:>7} {clients:>7}  {what:<17} {rate:9.1f} {p50:7.2f} {p99:7.2f}")
    by = {(w, c, what): (rate, p99) for w, c, what, rate, _, p99 in rows}
    for workers in worker_counts:
        for clients in levels:
            on, on_p99 = by[(workers, clients, "GET audit on")]
            off, _ = by[(workers, clients, "GET audit off")]
            bare, _ = by[(workers, clients, "bare route")]
            son, _ = by[(workers, clients, "search audit on")]
            soff, _ = by[(workers, clients, "search audit off")]
            raw, _ = by[(0, clients, "raw SQL")]
            print(
                f"  {workers} worker(s), concurrency {clients:>2}: GET/raw {on / raw:5.2f} (≥ 0.25)  "
                f"GET/bare {on / bare:5.2f} (≥ 0.5)  GET p99 {on_p99:6.1f} ms (≤ 30)  "
                f"audit on/off GET {on / off:4.2f} search {son / soff:4.2f} (≥ 0.9)"
            )


if __name__ == "__main__":
    main()
