"""Search benchmark: the API against the same Elasticsearch queries issued directly, and reindex against a raw
bulk load of the same documents — measured side by side in one run, printed as ratios.

    python bench/search.py [--persons 1000000] [--entities 200000] [--queries 10000] [--clients 8]

Loads synthetic persons, companies and points (api/samples.py; nothing real) into a scratch SQLite database
through the normal load pipeline, drains them into Elasticsearch (MDM_TEST_ELASTICSEARCH_URL or --es-url) under a
scratch index prefix, starts `mdm serve` on a free port, then:

(1) p50/p99 latency of a fixed query mix — exact names, two-character substrings of company names, pinyin,
    a ``near`` search over points — from ``--clients`` concurrent HTTP clients, against the same
    ElasticBackend.search calls made directly in-process (same clients, same mix);
(2) ``mdm reindex`` of natural_person in documents/s against ``helpers.streaming_bulk`` of the same documents
    into an index with the same mapping.

Not a test; CI does not run it. A larger heap helps at the default sizes (MDM_ES_HEAP=2g scripts/services.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
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
from elasticsearch import helpers  # noqa: E402

from api import samples  # noqa: E402
from api.demo import SAMPLES  # noqa: E402
from loaders.pipeline import LoadOptions, load_file  # noqa: E402
from loaders.profiles import load_profile, parse_profile  # noqa: E402
from mdm.db import Database  # noqa: E402
from mdm.keys import create_key  # noqa: E402
from mdm.search import SearchQuery  # noqa: E402
from mdm.search.elastic import SETTINGS, ElasticBackend, mapping, to_document  # noqa: E402
from mdm.search.indexer import drain, reindex  # noqa: E402
from mdm.search.text import pinyin  # noqa: E402
from standards import default_registry  # noqa: E402

REGISTRY = default_registry()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_clients(jobs: list, clients: int, call) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    cursor = iter(jobs)

    def worker() -> None:
        mine = []
        while True:
            with lock:
                job = next(cursor, None)
            if job is None:
                break
            started = time.perf_counter()
            call(job)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--es-url", default=os.environ.get("MDM_TEST_ELASTICSEARCH_URL", "http://127.0.0.1:9200"))
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    backend = ElasticBackend(args.es_url, prefix=prefix, timeout=60)
    tmp = Path(tempfile.mkdtemp(prefix="mdm-bench-search-"))
    db = Database(f"sqlite:///{tmp / 'mdm.db'}")
    server = None
    try:
        started = time.perf_counter()
        people = list(samples.persons(args.persons, seed=5))
        companies = list(samples.entities(args.entities, seed=6))
        rng = random.Random(7)
        points = [
            {
                "id": f"poi-{i}",
                "name": f"示例地点{i}",
                "lon": round(120.4 + rng.random() * 0.6, 6),
                "lat": round(31.1 + rng.random() * 0.5, 6),
            }
            for i in range(args.points)
        ]
        options = LoadOptions(report_root=tmp / "loads", chunk_rows=10_000)
        load_file(
            db,
            load_profile(str(SAMPLES / "persons.yaml"), []),
            samples.write_csv(tmp / "p.csv", people),
            options=options,
        )
        load_file(
            db,
            load_profile(str(SAMPLES / "entities.yaml"), []),
            samples.write_csv(tmp / "e.csv", companies),
            options=options,
        )
        poi_profile = parse_profile(
            {
                "repository": "geo_feature",
                "source_system": {"id": "bench", "name": "bench"},
                "format": "csv",
                "crs": "EPSG:4490",
                "geometry": {"source": "columns", "x": "lon", "y": "lat"},
                "fields": {
                    "feature_id": {"column": "id"},
                    "name": {"column": "name"},
                    "feature_type": {"value": "poi"},
                },
            },
            default_name="bench-poi",
        )
        load_file(db, poi_profile, samples.write_csv(tmp / "g.csv", points), options=options)
        drained = drain(db, backend, REGISTRY, chunk=5000)
        for repository in ("natural_person", "legal_entity", "geo_feature"):
            backend.refresh(repository)
        print(f"loaded and indexed {drained.indexed:,} records in {time.perf_counter() - started:.0f} s", flush=True)

        jobs = []
        for i in range(args.queries):
            kind = i % 4
            if kind == 0:
                jobs.append(("natural_person", {"q": rng.choice(people)["name"]}))
            elif kind == 1:
                name = rng.choice(companies)["name"]
                at = rng.randrange(2, max(3, len(name) - 4))
                jobs.append(("legal_entity", {"q": name[at : at + 2]}))
            elif kind == 2:
                jobs.append(("natural_person", {"q": pinyin(rng.choice(people)["name"])[0]}))
            else:
                p = rng.choice(points)
                jobs.append(("geo_feature", {"q": "示例地点", "near": f"{p['lon']},{p['lat']},2000"}))

        port = free_port()
        env = {
            **os.environ,
            "MDM_DATABASE_URL": f"sqlite:///{tmp / 'mdm.db'}",
            "MDM_ELASTICSEARCH_URL": args.es_url,
            "MDM_ES_INDEX_PREFIX": prefix,
        }
        key = create_key(db, department="bench", role="admin", register=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        local = threading.local()

        def via_api(job) -> None:
            client = getattr(local, "client", None) or httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            local.client = client
            repository, params = job
            response = client.get(f"/repositories/{repository}/search", params=params)
            response.raise_for_status()

        def direct(job) -> None:
            repository, params = job
            near = tuple(float(v) for v in params["near"].split(",")) if "near" in params else None
            backend.search(REGISTRY.get(repository), SearchQuery(q=params["q"], near=near))

        run_clients(jobs[:200], args.clients, via_api)  # warm both paths
        run_clients(jobs[:200], args.clients, direct)
        api_ms = run_clients(jobs, args.clients, via_api)
        es_ms = run_clients(jobs, args.clients, direct)

        person = REGISTRY.get("natural_person")
        started = time.perf_counter()
        result = reindex(db, backend, person, chunk=5000)
        reindex_rate = result["indexed"] / (time.perf_counter() - started)
        raw_index = f"{prefix}-raw"
        backend.client.indices.create(index=raw_index, settings=SETTINGS, mappings=mapping(person))
        with db.read() as session:
            from sqlalchemy import select

            from mdm.models import GoldenRecord as G

            rows = session.execute(
                select(G.id, G.business_key, G.version, G.status, G.data).where(G.repository == "natural_person")
            ).all()
        documents = [
            {
                "_index": raw_index,
                "_id": r.business_key,
                "version": r.version,
                "version_type": "external",
                "_source": to_document(person, r.business_key, r.version, r.status, r.data, seq=r.id),
            }
            for r in rows
        ]
        started = time.perf_counter()
        for _ok, _ in helpers.streaming_bulk(backend.client, documents, chunk_size=500, raise_on_error=False):
            pass
        raw_rate = len(documents) / (time.perf_counter() - started)
        backend.client.indices.delete(index=raw_index)
    finally:
        if server:
            server.terminate()
        for repository in REGISTRY.repositories:
            with contextlib.suppress(Exception):
                backend.drop(repository)
        db.dispose()

    print(
        f"queries: {len(jobs):,} from {args.clients} clients; persons {args.persons:,}, "
        f"entities {args.entities:,}, points {args.points:,}"
    )
    print(f"API search      p50 {statistics.median(api_ms):7.1f} ms  p99 {percentile(api_ms, 0.99):7.1f} ms")
    print(f"direct ES query p50 {statistics.median(es_ms):7.1f} ms  p99 {percentile(es_ms, 0.99):7.1f} ms")
    print(
        f"ratio API/ES: p50 {statistics.median(api_ms) / statistics.median(es_ms):.2f}, "
        f"p99 {percentile(api_ms, 0.99) / percentile(es_ms, 0.99):.2f}"
    )
    print(
        f"reindex {reindex_rate:,.0f} docs/s; raw streaming_bulk {raw_rate:,.0f} docs/s; "
        f"ratio {reindex_rate / raw_rate:.2f}"
    )


if __name__ == "__main__":
    main()
