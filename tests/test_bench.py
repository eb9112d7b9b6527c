"""Every benchmark stays runnable (issue 21: a benchmark is code too): each ``bench/`` script runs at a tiny size
against the real services and prints its ratios. Speed is not asserted here — the figures are read by hand."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT, missing


def run(script: str, *args: str, timeout: float = 600) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture
def es_url() -> str:
    url = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
    if not url:
        missing("Elasticsearch at MDM_TEST_ELASTICSEARCH_URL")
    return url


def test_the_search_benchmark_runs_and_prints_its_ratios(es_url):
    out = run("search.py", "--persons", "60", "--entities", "30", "--points", "20", "--queries", "40", "--clients", "2")
    assert "ratio API/ES: p50" in out and "reindex" in out


def test_the_load_benchmark_runs_and_prints_its_ratios(pg_url):
    out = run("load.py", "--rows", "300")
    assert "initial load" in out and "unchanged re-load" in out and "150-row delta" in out


def test_the_read_benchmark_runs_and_prints_its_ratios(pg_url):
    out = run("read.py", "--persons", "60", "--requests", "40", "--concurrency", "1,4", "--workers", "1,2")
    assert "GET/raw" in out and "GET/bare" in out and "bare route" in out
