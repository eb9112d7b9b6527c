"""What a new user does after ``mdm demo``: finds every sample file the README promises, loads the demo's
files again through ``POST …/loads`` by profile name, and reads the key alone from stdout while the server's
logs go to stderr."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from api.demo import SAMPLES, demo_data_dir, demo_settings, prepare_demo, write_samples
from loaders.profiles import load_profile
from tests.conftest import ROOT


def readme_demo_files() -> list[str]:
    """The file names the README lists for ``./var/demo-data/``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = next(p for p in readme.split("\n\n") if "./var/demo-data/" in p)
    return re.findall(r"`([\w.-]+\.(?:csv|jsonl|geojson))`", paragraph)


def test_every_sample_file_the_readme_lists_is_written(settings):
    listed = readme_demo_files()
    assert len(listed) == 6
    prepare_demo(settings)
    directory = demo_data_dir(settings)
    assert sorted(p.name for p in directory.iterdir()) == sorted(listed)
    for name in listed:
        assert (directory / name).stat().st_size > 900, name


def test_after_the_demo_each_demo_profile_loads_through_the_api_by_name(settings):
    key = prepare_demo(settings).admin
    client = TestClient(create_app(demo_settings(settings)))
    for profile_file, data_file in write_samples(demo_data_dir(settings)):
        name = Path(profile_file).stem
        repository = load_profile(str(SAMPLES / profile_file), []).repository
        with data_file.open("rb") as upload:
            loaded = client.post(
                f"/repositories/{repository}/loads",
                data={"profile": name},
                files={"file": (data_file.name, upload)},
                headers={"Authorization": f"Bearer {key}"},
            )
        assert loaded.status_code == 201, (name, loaded.text)
        summary = loaded.json()
        assert summary["read"] > 0 and summary["unchanged"] == summary["read"], name  # the demo loaded them


def test_demo_settings_leave_the_users_profile_path_first(settings):
    served = demo_settings(settings)
    assert served.profile_dirs == [*settings.profile_dirs, SAMPLES]
    assert demo_settings(served).profile_dirs == served.profile_dirs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_mdm_demo_prints_the_key_alone_on_stdout_logs_to_stderr_and_serves_its_profiles(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDM_") or k.startswith("MDM_TEST_")}
    env["MDM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'mdm.db'}"  # reports and samples: ./var under cwd
    demo = subprocess.Popen(
        [sys.executable, "-m", "api", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    watchdog = threading.Timer(240, demo.kill)
    watchdog.start()
    try:
        key = demo.stdout.readline().strip()
        assert key.startswith("mdm_"), key
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                assert http.get("/health").status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and demo.poll() is None, "the demo did not start serving"
                time.sleep(0.2)
        listed = http.get("/repositories")
        assert listed.status_code == 200 and {i["id"] for i in listed.json()["items"]} >= {"natural_person"}
        people = tmp_path / "var" / "demo-data" / "persons.csv"
        loaded = http.post(
            "/repositories/natural_person/loads",
            data={"profile": "persons"},
            files={"file": (people.name, people.read_bytes())},
        )
        assert loaded.status_code == 201, loaded.text
        assert loaded.json()["unchanged"] == 1000
        http.close()
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert out == "", f"stdout holds more than the key: {out[:500]!r}"
    assert '"GET /repositories HTTP/1.1" 200' in err  # the access log went to stderr
    assert "admin key" in err
