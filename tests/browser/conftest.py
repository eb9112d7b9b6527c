"""Browser tests of the web console: the served application (uvicorn, in a thread) on the demo's data in an
embedded database of its own, driven by Selenium in Debian's headless Chromium (``/usr/bin/chromium`` with
``/usr/bin/chromedriver``; no browser download), with axe-core (npm, fetched by ``scripts/vendor-js.sh axe``)
checking every page. Screenshots go to ``var/test-output/console/``.

Without Chromium, ChromeDriver or axe-core the tests skip — and fail under ``MDM_REQUIRE_SERVICES=1`` (CI), where
``scripts/test.sh`` installs them first.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ROOT, missing
from tests.served import SERVED

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / "var" / "vendor" / "axe-core" / "axe.min.js"
OUTPUT = ROOT / "var" / "test-output" / "console"


@dataclass(frozen=True)
class Console:
    """The served console: its base URL, the demo's keys and the database behind it."""

    url: str
    keys: object  # api.demo_sharing.DemoKeys
    database_url: str
    report_dir: Path


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Console]:
    import uvicorn

    from api.app import create_app
    from api.demo import demo_settings, prepare_demo
    from mdm.settings import Settings

    home = tmp_path_factory.mktemp("console")
    if SERVED:
        yield from _served_console(home, request)
        return
    settings = demo_settings(
        Settings(database_url=f"sqlite:///{home / 'mdm.db'}", report_dir=home / "loads", indexer_interval=0)
    )
    keys = prepare_demo(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the console server did not start")
        time.sleep(0.05)
    yield Console(f"http://127.0.0.1:{port}", keys, settings.database_url, home / "loads")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        missing(f"axe-core at {AXE} (scripts/vendor-js.sh axe)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def driver() -> Iterator[object]:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        missing("Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("the selenium package")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--lang=zh-CN",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(OUTPUT / "downloads")})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    yield browser
    browser.quit()


def pytest_sessionfinish(session: pytest.Session) -> None:  # keep the download folder from growing
    shutil.rmtree(OUTPUT / "downloads", ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On a failure, a screenshot of where the browser was (var/test-output/console/FAILED-<test>.png)."""
    outcome = yield
    report = outcome.get_result()
    browser = getattr(item, "funcargs", {}).get("driver")
    if report.when == "call" and report.failed and browser is not None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(OUTPUT / f"FAILED-{item.name}.png"))
        report.sections.append(("browser", f"at {browser.current_url}"))


def _served_console(home: Path, request: pytest.FixtureRequest) -> Iterator[Console]:
    """Under ``MDM_TEST_SERVED=1`` (tests/served.py): the demo on a PostgreSQL schema of its own with
    Elasticsearch (an index prefix of its own), served by ``python3 -m api serve --workers 2``."""
    import os
    import uuid

    from api.demo import demo_settings, prepare_demo
    from mdm.search.elastic import ElasticBackend
    from mdm.settings import Settings
    from standards import default_registry
    from tests.conftest import PgSchema
    from tests.served import ServedApp, schema_url, settings_env

    es_url = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
    if not es_url:
        missing("Elasticsearch at MDM_TEST_ELASTICSEARCH_URL")
    schema = PgSchema(request.getfixturevalue("pg_url"))
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = demo_settings(
        Settings(
            database_url=schema_url(schema.url, schema.name),
            report_dir=home / "loads",
            elasticsearch_url=es_url,
            es_index_prefix=prefix,
            indexer_interval=0,
        )
    )
    served = None
    try:
        keys = prepare_demo(settings)
        served = ServedApp(settings_env(settings), cwd=home)
        served.ready()
        yield Console(served.url, keys, settings.database_url, home / "loads")
    finally:
        if served is not None:
            served.stop()
        schema.drop()
        backend = ElasticBackend(es_url, prefix=prefix)
        for repository in default_registry().repositories:
            backend.drop(repository)
