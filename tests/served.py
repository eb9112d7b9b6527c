"""The API test tier against a served process (issue 21): with ``MDM_TEST_SERVED=1`` the API tests' clients talk
HTTP to ``python3 -m api serve --workers 2`` (uvicorn's supervisor and two worker processes) on the test's own
PostgreSQL schema, instead of calling the app in-process through Starlette's TestClient.

Each test keeps the isolation it has in-process: the server is started for the test's database (a schema of its
own, ``search_path`` set by libpq ``options`` in ``MDM_DATABASE_URL``), with the app's settings turned into
``MDM_*`` variables and the test's search backend (the sql backend, or Elasticsearch with the test's index
prefix) — and ended with its whole process group when the test ends, so no worker outlives its schema.

Tests that reach into the app object (``app.state``, dependency overrides, an app built for an SQLite file or a
registry of the test's own) cannot run served: they carry ``@pytest.mark.in_process`` and are skipped under
``MDM_TEST_SERVED=1`` with that reason. Under ``MDM_TEST_SERVED=1`` the ``db`` fixtures are PostgreSQL only.

    MDM_TEST_SERVED=1 MDM_REQUIRE_SERVICES=1 python3 -m pytest tests/test_api.py ...
"""

from __future__ import annotations

import atexit
import contextlib
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.helpers import ROOT

SERVED = os.environ.get("MDM_TEST_SERVED") == "1"
WORKERS = int(os.environ.get("MDM_TEST_SERVED_WORKERS", "2"))
START_SECONDS = 120.0


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def schema_url(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use ``schema`` first (libpq ``options``), as a server process needs it."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema},public"


def settings_env(settings: Any) -> dict[str, str]:
    """The ``MDM_*`` variables that make ``Settings()`` in another process equal ``settings``."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"MDM_{name.upper()}"] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return env


class ServedApp:
    """``python3 -m api serve --workers N`` on a database URL, in a process group of its own."""

    def __init__(self, env: dict[str, str], *, cwd: Path, workers: int = WORKERS) -> None:
        self.port, self.workers = _free_port(), workers
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("MDM_") or k.startswith("MDM_TEST_")}
        base.update(env, PYTHONPATH=str(ROOT))
        self.log: list[str] = []
        self.clients: list[httpx.Client] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--workers", str(workers), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=base,
            cwd=cwd,
            start_new_session=True,  # its own process group: stop() ends the workers too, never orphans
        )
        stderr = self.process.stderr
        assert stderr is not None
        self._reader = threading.Thread(target=lambda: self.log.extend(iter(stderr.readline, "")), daemon=True)
        self._reader.start()
        self._ready = False
        _running.append(self)

    def ready(self) -> None:
        """Wait until the server answers (once): the first request waits, so that a test's own set-up runs
        while the workers start."""
        if not self._ready:
            self._wait_until_healthy()
            self._ready = True

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while True:
                if self.process.poll() is not None:
                    pytest.fail(f"the served app exited ({self.process.returncode}):\n{''.join(self.log)[-4000:]}")
                with contextlib.suppress(httpx.TransportError):
                    answered = http.get("/health").status_code in (200, 503)
                    # and every worker is up: the supervisor starts them one after another
                    if answered and "".join(self.log).count("Application startup complete") >= self.workers:
                        return
                if time.monotonic() > deadline:
                    pytest.fail(f"the served app did not start:\n{''.join(self.log)[-4000:]}")
                time.sleep(0.1)

    def client(self, *, settings: Any = None, db: Any = None, **kwargs: Any) -> ServedClient:
        return ServedClient(self, settings=settings, db=db, **kwargs)

    def opened(self, client: httpx.Client) -> None:
        self.clients.append(client)

    def stop(self) -> None:
        """End the supervisor and its workers: the clients' kept-alive connections closed (uvicorn's graceful
        shutdown would wait for them), SIGTERM to the group (uvicorn drains), SIGKILL after 20 s."""
        if self in _running:
            _running.remove(self)
        for client in self.clients:
            client.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker still there goes with the group
        self.process.wait(20)
        self._reader.join(5)


class AppView:
    """What a served client offers of ``client.app``: ``state.settings`` and ``state.db`` — the settings the server
    was started with and the test's database —, ``openapi()``, the served document (``GET /openapi.json``), and
    ``routes`` (an app of the same code's); nothing else (a test needing more of the app object is ``in_process``)."""

    def __init__(self, client: ServedClient, settings: Any, db: Any) -> None:
        self._client = client
        self.state = SimpleNamespace(settings=settings, db=db)

    @property
    def routes(self) -> list[Any]:
        """The routes of an app built here from the same code and settings as the served one (a route table is
        code, not state: what the server routes)."""
        from api.app import create_app

        return create_app(self.state.settings, db=self.state.db).routes

    def openapi(self) -> dict[str, Any]:
        response = self._client.get("/openapi.json")
        response.raise_for_status()
        return response.json()


class _LoopbackPolicy(http.cookiejar.DefaultCookiePolicy):
    """Send ``Secure`` cookies (the console's session) to the loopback server over plain HTTP, as browsers do for
    a potentially trustworthy origin (http://127.0.0.1); in-process the tests use https://testserver instead. (The
    ``Secure`` attribute itself is seen in the ``Set-Cookie`` header, which this does not touch.)"""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        cookie.secure = False  # kept as sendable over http: httpx copies the jar into jars of the default policy
        return super().set_ok(cookie, request)


class ServedClient(httpx.Client):
    """An httpx client on a served app, with TestClient's constructor arguments (``base_url`` is the served URL;
    ``raise_server_exceptions`` has no meaning across a socket: a server error is a 500 answer, as a client sees
    it). Its cookie jar sends the console's ``Secure`` cookie to 127.0.0.1 (:class:`_LoopbackPolicy`)."""

    def __init__(
        self,
        served: ServedApp,
        *,
        settings: Any = None,
        db: Any = None,
        base_url: str = "",
        raise_server_exceptions: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        del raise_server_exceptions, base_url
        kwargs.setdefault("follow_redirects", True)  # as TestClient does
        jar = http.cookiejar.CookieJar(policy=_LoopbackPolicy())
        super().__init__(base_url=served.url, headers=headers, timeout=60, cookies=jar, **kwargs)
        self.served = served
        served.opened(self)
        self.app = AppView(self, settings, db)
        self._settings, self._db = settings, db

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        self.served.ready()
        return super().send(request, **kwargs)

    def another(self, **kwargs: Any) -> ServedClient:
        """One more client on the same server (another connection pool: concurrent callers)."""
        return ServedClient(self.served, settings=self._settings, db=self._db, **kwargs)


def serve_app(request: pytest.FixtureRequest, settings: Any, db: Any, *, search: Any = None) -> ServedApp:
    """A served app for ``settings`` on the test's database ``db`` (a PgSchema's, see tests/conftest.py) and
    ``search`` backend; stopped when the requesting test (or fixture scope) ends."""
    schema = getattr(db, "test_schema", None)
    if schema is None:
        pytest.fail("a served app needs the test's PostgreSQL schema (the db fixtures under MDM_TEST_SERVED=1)")
    env = settings_env(settings)
    env["MDM_DATABASE_URL"] = schema_url(db.url, schema)
    env.pop("MDM_READ_DATABASE_URL", None)
    env["MDM_INDEXER_INTERVAL"] = "0"  # as in-process under TestClient without a lifespan: the test drains
    env.pop("MDM_ELASTICSEARCH_URL", None)
    if search is not None and getattr(search, "indexed", False):
        env["MDM_ELASTICSEARCH_URL"] = search.url
        env["MDM_ES_INDEX_PREFIX"] = search.prefix
    db.ensure_schema()
    served = ServedApp(env, cwd=Path(request.getfixturevalue("tmp_path_factory").mktemp("served")))
    request.addfinalizer(served.stop)
    return served


_running: list[ServedApp] = []
"""The served apps not yet stopped (ended at exit, whatever ended the run)."""


def _stop_all() -> None:
    for served in list(_running):
        served.stop()


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # pytest then runs the finalizers that stop the servers


if SERVED:  # a run ended by SIGTERM (`timeout`) must not leave workers behind that write into dropped schemas
    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, _terminated)


_current: list[pytest.FixtureRequest] = []
"""The running test's request (set by tests/conftest.py's autouse fixture under ``MDM_TEST_SERVED=1``): helpers
that build a client without being fixtures themselves (tests/sharing_env.py) start their server for it."""


def current_request() -> pytest.FixtureRequest:
    if not _current:
        pytest.fail("no running test to serve an app for")
    return _current[-1]


def client_for(
    request: pytest.FixtureRequest | None,
    factory: Callable[[], Any],
    settings: Any,
    db: Any,
    *,
    search: Any = None,
    **client_kwargs: Any,
) -> Any:
    """The API client of a test: Starlette's TestClient on ``factory()`` (the app) in-process, or, under
    ``MDM_TEST_SERVED=1``, an httpx client on ``python3 -m api serve --workers 2`` configured like that app."""
    if not SERVED:
        from fastapi.testclient import TestClient

        return TestClient(factory(), **client_kwargs)
    served = serve_app(request or current_request(), settings, db, search=search)
    return served.client(settings=settings, db=db, **client_kwargs)


def another_client(client: Any, **kwargs: Any) -> Any:
    """One more client like ``client`` on the same app: a TestClient on its app in-process, a client of the same
    server when served."""
    if isinstance(client, ServedClient):
        return client.another(**kwargs)
    from fastapi.testclient import TestClient

    return TestClient(client.app, **kwargs)


def started(client: Any) -> Any:
    """``client``, its served app up (the end of a fixture's set-up: a test's own timings then leave the start
    out); a TestClient as it is."""
    if isinstance(client, ServedClient):
        client.served.ready()
    return client
