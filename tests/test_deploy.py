"""The compose stack as a new operator meets it (no Docker engine runs here, so the files are checked, not run):
the API container is unprivileged, restarts, has a healthcheck, and the README says how to get the first key."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT


def test_the_compose_file_parses_and_the_api_service_is_unprivileged_restarting_and_health_checked():
    stack = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    api = stack["services"]["api"]
    assert api["restart"] in ("always", "unless-stopped")
    assert api["user"].split(":")[0] not in ("0", "root")
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert api["environment"]["MDM_ELASTICSEARCH_URL"]  # and so the served app runs the background indexer
    for name in ("db", "elasticsearch"):
        assert stack["services"][name]["restart"] in ("always", "unless-stopped")
        assert stack["services"][name]["healthcheck"]


def test_the_image_runs_as_a_user_of_its_own_with_a_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*\n?.*?/health", dockerfile, re.M)


def test_the_readme_says_how_to_get_the_first_key_in_the_stack():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose exec api mdm keys create" in readme
