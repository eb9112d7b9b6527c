#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the package with its dev extra, starts the services the
# tests need, checks style, and runs every tier.
#
#   scripts/test.sh [pytest args…]
#
# Services: if MDM_TEST_DATABASE_URL is already set, that database is used as it is. Otherwise, as root on
# Debian/Ubuntu, scripts/services.sh installs and starts PostgreSQL 15 + PostGIS and Elasticsearch; where a
# Docker engine runs, docker compose starts the same services. With neither, the PostgreSQL tier is skipped —
# unless MDM_REQUIRE_SERVICES=1 (CI), which turns every such skip into a failure. The console's browser tests
# need Debian's chromium + chromium-driver (installed here as root) and axe-core (fetched from npm into var/).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test] %s\n' "$*" >&2; }

log "installing the package and its dev extra"
python3 -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "Running pip as the 'root' user" || true

if [ -z "${MDM_TEST_DATABASE_URL:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "starting services with scripts/services.sh"
    service_env=$(bash scripts/services.sh start)  # a failing start stops this script here (set -e)
    eval "$service_env"
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    log "starting services with docker compose"
    docker compose up -d --wait db elasticsearch
    export MDM_TEST_DATABASE_URL="postgresql+psycopg2://mdm:mdm@127.0.0.1:5433/mdm_test"
    export MDM_TEST_ELASTICSEARCH_URL="http://127.0.0.1:9200"
  else
    log "no way to start PostgreSQL here (not root, no Docker engine): the PostgreSQL tier will be skipped"
  fi
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "browser for the console tests (Debian's chromium + chromium-driver)"
  bash scripts/services.sh browser
fi
if command -v npm >/dev/null 2>&1; then
  log "axe-core for the console's accessibility checks"
  bash scripts/vendor-js.sh axe || log "axe-core could not be fetched: the browser tests will skip (fail in CI)"
fi

log "ruff"
ruff check .
log "mypy"
python3 -m mypy
log "pytest (MDM_TEST_DATABASE_URL=${MDM_TEST_DATABASE_URL:-unset}, MDM_REQUIRE_SERVICES=${MDM_REQUIRE_SERVICES:-0})"
status=0
python3 -m pytest "$@" || status=$?

# The API tier once more, against `mdm serve --workers 2` (uvicorn's supervisor and two worker processes) on
# PostgreSQL + Elasticsearch instead of the in-process client, and the browser tests on the demo served so
# (tests/served.py; issue 21). Each test gets a server
# of its own on its own schema (a few seconds each), so CI runs a representative subset; the whole tier is
#   MDM_TEST_SERVED=1 python3 -m pytest $SERVED_ALL
# MDM_TEST_SERVED_TIER=all runs that here, =off skips the step; it is skipped too when arguments name test files.
SERVED_CI="tests/test_api.py tests/test_load_remit.py tests/test_trust_retrial.py tests/test_read_routes.py
  tests/test_oracles.py tests/test_projects_route_table.py tests/browser"
SERVED_ALL="tests/test_api.py tests/test_api_hostile.py tests/test_load_remit.py tests/test_sharing.py
  tests/test_trust_retrial.py tests/test_read_routes.py tests/test_oracles.py tests/test_audit_durable.py
  tests/test_sharing_rules.py tests/test_projects_route_table.py tests/test_projects_owner.py tests/test_search.py
  tests/test_api_fuzz.py tests/browser"
selected=0
for argument in "$@"; do
  case "$argument" in tests*|*.py|*::*) selected=1 ;; esac  # a path or node id given: that run only
done
tier=${MDM_TEST_SERVED_TIER:-ci}
if [ "$tier" = off ] || [ "$selected" = 1 ]; then
  log "served API tier: skipped (MDM_TEST_SERVED_TIER=$tier, tests selected: $selected)"
elif [ -z "${MDM_TEST_DATABASE_URL:-}" ] && [ "${MDM_REQUIRE_SERVICES:-0}" != 1 ]; then
  log "served API tier: skipped (no PostgreSQL)"
else
  files=$SERVED_CI
  [ "$tier" = all ] && files=$SERVED_ALL
  log "the API tier against mdm serve --workers 2 on PostgreSQL + Elasticsearch (MDM_TEST_SERVED=1, $tier)"
  # shellcheck disable=SC2086  # the file lists split on purpose
  MDM_TEST_SERVED=1 python3 -m pytest -p no:cacheprovider $files || {
    served=$?
    [ "$status" = 0 ] && status=$served
  }
fi
exit "$status"
