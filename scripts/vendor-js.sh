#!/usr/bin/env bash
# JavaScript from the npm registry, pinned by version and integrity.
#
#   scripts/vendor-js.sh echarts   refresh the console's vendored ECharts (api/console/static/vendor/echarts/,
#                                  committed with its LICENSE and NOTICE: the service runs with no CDN and no npm)
#   scripts/vendor-js.sh axe       fetch axe-core for the browser tests into var/vendor/axe-core/ (not committed)
#
# Each package is fetched with `npm pack` and its integrity checked against the pin below before anything is
# copied.
set -euo pipefail
cd "$(dirname "$0")/.."

ECHARTS_VERSION=6.1.0
ECHARTS_SHA256=681aff88cc1038c3fa941a3a53d1b177a52250b05335efc607d6105ae13be481  # of the npm tarball
AXE_VERSION=4.14.1
AXE_SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745

log() { printf '[vendor-js] %s\n' "$*" >&2; }

fetch() {  # fetch NAME VERSION SHA256 DIR -> unpacks the package into DIR/package
    local name=$1 version=$2 sha=$3 dir=$4 tarball
    command -v npm >/dev/null 2>&1 || { log "npm is needed to fetch $name@$version"; exit 1; }
    log "npm pack $name@$version"
    tarball=$(cd "$dir" && npm pack --silent "$name@$version" | tail -1)
    echo "$sha  $dir/$tarball" | sha256sum --check --quiet - || { log "$name@$version: checksum mismatch"; exit 1; }
    tar -xzf "$dir/$tarball" -C "$dir"
}

case "${1:-}" in
  echarts)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    fetch echarts "$ECHARTS_VERSION" "$ECHARTS_SHA256" "$tmp"
    target=api/console/static/vendor/echarts
    mkdir -p "$target"
    cp "$tmp/package/dist/echarts.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$target/"
    printf 'echarts %s from the npm registry (dist/echarts.min.js, LICENSE, NOTICE); sha256 of echarts.min.js: %s\n' \
      "$ECHARTS_VERSION" "$(sha256sum "$target/echarts.min.js" | cut -d' ' -f1)" > "$target/VERSION"
    log "wrote $target ($(cat "$target/VERSION"))"
    ;;
  axe)
    target=var/vendor/axe-core
    if [ -f "$target/axe.min.js" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$target/package.json" 2>/dev/null; then
      log "axe-core $AXE_VERSION already in $target"; exit 0
    fi
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    fetch axe-core "$AXE_VERSION" "$AXE_SHA256" "$tmp"
    mkdir -p "$target"
    cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$tmp/package/package.json" "$target/"
    log "wrote $target"
    ;;
  *)
    echo "usage: scripts/vendor-js.sh echarts|axe" >&2; exit 2 ;;
esac
