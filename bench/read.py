"""Read benchmark: GET-by-key and search through the API with the audit on, the same with the audit off, and raw
PostgreSQL lookups of the same rows — at concurrency 1 and 16, in one run, printed as ratios.

    python bench/read.py [--persons 20000] [--requests 2000] [--database-url postgresql+psycopg2://…]

Loads synthetic persons (api/samples.py; nothing real) into a scratch schema of the PostgreSQL database
(MDM_TEST_DATABASE_URL or --database-url) through the normal load pipeline, grants a bench department every
field unmasked for one purpose, starts two `mdm serve` processes on free ports — MDM_AUDIT_READS=true and
false — and measures requests per second from N client threads (one HTTP connection each) for:

(1) GET /repositories/natural_person/records/{key} with random keys;
(2) GET /repositories/natural_person/search?q=<a two-character name> (sql backend, pg_trgm);
(3) the same key lookups as raw SQL (``SELECT data FROM golden_records WHERE …``), one connection per thread.

Runs alternate (on, off, on, off) and keep the best of each, because the machine is shared. Targets (issue 9):
audit on ≥ 0.85 × audit off; API GET ≥ 0.25 × raw PostgreSQL at concurrency 16. Not a test; CI does not run it.
"""

from __future__ import annotations

import argparse
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
from mdm.access.departments import add_purpose  # noqa: E402
from mdm.access.grants import GrantSpec, issue_grant  # noqa: E402
from mdm.db import Database  # noqa: E402
from mdm.keys import create_key  # noqa: E402
from standards import default_registry  # noqa: E402

PURPOSE = "bench.read"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(requests: int, clients: int, make, call) -> float:
    """Requests per second for ``requests`` calls shared by ``clients`` threads; ``make()`` builds a per-thread
    connection, ``call(conn, i)`` does one request."""
    counter = iter(range(requests))
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker() -> None:
        conn = make()
        call(conn, -1)  # warm the connection
        barrier.wait()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            call(conn, i)
        close = getattr(conn, "close", None)
        if close:
            close()  # hand the connection back before the next run

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return requests / (time.perf_counter() - start)


def serve(url: str, audit: bool, port: int, tmp: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MDM_DATABASE_URL": url,
        "MDM_AUDIT_READS": "true" if audit else "false",
        "MDM_REPORT_DIR": tmp,
    }
    env.pop("MDM_ELASTICSEARCH_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--database-url", default=os.environ.get("MDM_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("needs PostgreSQL: --database-url or MDM_TEST_DATABASE_URL")
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
            key = create_key(db, department="bench", role="reader", register=True)
            with db.write() as session:
                add_purpose(session, code=PURPOSE, title="benchmark", legal_basis="bench/read.py")
                spec = GrantSpec("natural_person", ("*",), (PURPOSE,), unmasked=("*",))
                issue_grant(
                    session, default_registry().get("natural_person"), department="bench", spec=spec, issued_by="bench"
                )
            keys = [p["citizen_id"] for p in people]
            names = sorted({p["name"] for p in people if len(p["name"]) == 2})[:200]
            ports = {True: free_port(), False: free_port()}
            servers = [serve(url, audit, port, tmp) for audit, port in ports.items()]
            headers = {"Authorization": f"Bearer {key}", "X-Purpose": PURPOSE}
            rng = random.Random(7)
            picks = [rng.choice(keys) for _ in range(args.requests + 1)]
            queries = [rng.choice(names) for _ in range(args.requests + 1)]

            def api(port: int, kind: str):
                base = f"http://127.0.0.1:{port}/repositories/natural_person"

                def call(client: httpx.Client, i: int) -> None:
                    if kind == "get":
                        response = client.get(f"{base}/records/{picks[i]}")
                    else:
                        response = client.get(f"{base}/search", params={"q": queries[i], "limit": 10})
                    if response.status_code != 200:
                        raise SystemExit(f"{response.status_code}: {response.text[:300]}")

                return lambda: httpx.Client(headers=headers, timeout=60), call

            raw_engine = sa.create_engine(url, pool_size=20, max_overflow=0)
            statement = sa.text(
                "SELECT data FROM golden_records WHERE repository = 'natural_person' AND business_key = :k"
            )

            def raw_call(conn, i: int) -> None:
                conn.execute(statement, {"k": picks[i]}).one()

            results: dict[tuple, float] = {}
            for clients in (1, 16):
                n = args.requests if clients == 16 else max(200, args.requests // 4)
                for _ in range(2):
                    for kind in ("get", "search"):
                        for audit in (True, False):
                            make, call = api(ports[audit], kind)
                            rate = throughput(n, clients, make, call)
                            results[(kind, audit, clients)] = max(rate, results.get((kind, audit, clients), 0))
                    rate = throughput(n, clients, raw_engine.connect, raw_call)
                    results[("raw", None, clients)] = max(rate, results.get(("raw", None, clients), 0))
            print(f"{args.persons} persons, PostgreSQL, requests/s (best of 2):")
            for clients in (1, 16):
                on, off = results[("get", True, clients)], results[("get", False, clients)]
                son, soff = results[("search", True, clients)], results[("search", False, clients)]
                raw = results[("raw", None, clients)]
                print(
                    f"  concurrency {clients:>2}: GET on {on:8.1f}  off {off:8.1f}  | search on {son:7.1f}  "
                    f"off {soff:7.1f}  | raw SQL {raw:8.1f}"
                )
                print(f"    ratio GET audit on / off      {on / off:5.2f}  (target ≥ 0.85)")
                print(f"    ratio search audit on / off   {son / soff:5.2f}  (target ≥ 0.85)")
                print(f"    ratio API GET / raw PostgreSQL {on / raw:5.2f}  (target ≥ 0.25 at 16)")
            with db.read() as session:
                events = session.execute(sa.text("SELECT count(*) FROM audit_events")).scalar()
            print(f"  audit events written by the audited server: {events}")
            raw_engine.dispose()
            db.dispose()
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


if __name__ == "__main__":
    main()
