#!/usr/bin/env bash
# scripts/services.sh — run PostgreSQL + PostGIS and Elasticsearch without Docker (Debian 12, as root).
#
#   scripts/services.sh start [postgres|elasticsearch]   install if needed, start (default: both), print env lines
#   scripts/services.sh stop  [postgres|elasticsearch]   stop (default: both)
#   scripts/services.sh status                           print both statuses; non-zero exit if either is down
#   scripts/services.sh start replica                    start (creating it if needed) a streaming replica of the
#                                                        test cluster; `start` (all) starts it too
#   scripts/services.sh env                              print the `export ...` lines the tests read
#                                                        (use: eval "$(scripts/services.sh env)")
#   scripts/services.sh browser                          install Debian's chromium, chromium-driver and CJK
#                                                        fonts for the console's browser tests
#
# Fixed choices (the project design, "Running it"):
#   PostgreSQL 15 + PostGIS 3 from apt, in a DEDICATED cluster "15/mdm" on 127.0.0.1:5433, created with
#     --locale C.UTF-8 --encoding UTF8 (C.UTF-8 ships with Debian's libc; nothing to generate). The distro's
#     "15/main" cluster (port 5432, locale depends on how apt was run) is left alone, so the port never varies.
#     Role mdm/mdm (LOGIN CREATEDB), databases mdm and mdm_test owned by mdm, each with postgis + pg_trgm.
#     postgis + pg_trgm are also installed in template1, so a database that a test creates has them too
#     (mdm is not a superuser and cannot CREATE EXTENSION postgis itself).
#   Elasticsearch 8.19.9 (newest 8.19 patch on Maven Central when this was written; 8.19.10-12 did not
#     resolve), artifact org.elasticsearch.distribution.integ-test-zip:elasticsearch:8.19.9:zip, unpacked to
#     /opt/mdm-es/elasticsearch-8.19.9, run as system user mdm-es with OpenJDK 17, on 127.0.0.1:9200,
#     data/logs/pidfile in /var/lib/mdm-es. Heap 512m, override with MDM_ES_HEAP (e.g. MDM_ES_HEAP=1g).
#
#   That distribution's modules/ holds exactly: apm, transport-netty4, x-pack-core, x-pack-security.
#     - x-pack-security IS there  -> we write `xpack.security.enabled: false` (plain HTTP, no auth).
#     - NO analysis-common: only the built-in analyzers/filters (standard, simple, whitespace, keyword, stop,
#       lowercase tokenizer via standard...); no asciifolding/edge_ngram/synonym etc. in index settings.
#     - NO geo/spatial module (no x-pack-spatial): geo_point works (core), geo_shape does NOT.
#     - No painless (lang-painless), no reindex, no ingest-common, no ingest-geoip, no mapper-extras.
#     - Readiness is polled on /_cluster/health; never rely on `GET /`.
#
#   A streaming replica of 15/mdm for the read-scaling tests (MDM_READ_DATABASE_URL): a hot standby made by
#     pg_basebackup -R as role mdm_replica (REPLICATION), in /var/lib/postgresql/15/mdm-replica, run with pg_ctl
#     on 127.0.0.1:5434 (not a Debian-managed cluster: its postgresql.conf and pg_hba.conf live in its data
#     directory). Role mdm may pause and resume its replay (the tests make it lag on purpose).
#
# Logs go to stderr; only the env lines go to stdout.
set -euo pipefail

# ---------------------------------------------------------------- settings
PG_VERSION=15
PG_CLUSTER=mdm
PG_PORT=5433
PG_USER=mdm
PG_PASSWORD=mdm
PG_DATABASES=(mdm mdm_test)
PG_EXTENSIONS=(postgis pg_trgm)

ES_VERSION=8.19.9
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
ES_BASE=/opt/mdm-es
ES_HOME="${ES_BASE}/elasticsearch-${ES_VERSION}"
ES_USER=mdm-es
ES_VAR=/var/lib/mdm-es
ES_DATA="${ES_VAR}/data"
ES_LOGS="${ES_VAR}/logs"
ES_PIDFILE="${ES_VAR}/elasticsearch.pid"
ES_CLUSTER_NAME=mdm
ES_HOST=127.0.0.1
ES_PORT=9200
ES_HEAP="${MDM_ES_HEAP:-512m}"
ES_READY_TIMEOUT="${MDM_ES_READY_TIMEOUT:-120}"

DATABASE_URL="postgresql+psycopg2://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/mdm_test"
PG_REPLICA_PORT=5434
PG_REPLICA_DIR="/var/lib/postgresql/${PG_VERSION}/mdm-replica"
PG_REPLICA_LOG="/var/log/postgresql/postgresql-${PG_VERSION}-mdm-replica.log"
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
READ_DATABASE_URL="postgresql+psycopg2://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_REPLICA_PORT}/mdm_test"
ELASTICSEARCH_URL="http://${ES_HOST}:${ES_PORT}"

export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- helpers
log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "run as root (installs packages, manages a system user and clusters)"; }

APT_UPDATED=0
# apt_ensure PKG... — install the packages that are missing; apt-get update only if something is missing.
apt_ensure() {
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    ((${#missing[@]})) || return 0
    if ((APT_UPDATED == 0)); then
        log "apt-get update (missing: ${missing[*]})"
        apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
        APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ---------------------------------------------------------------- PostgreSQL
pg_conf_dir() { echo "/etc/postgresql/${PG_VERSION}/${PG_CLUSTER}"; }

pg_running() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }

# psql as superuser over the cluster's socket
pg_su() {
    local db=$1; shift
    runuser -u postgres -- env PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "$db" "$@"
}

pg_install() {
    apt_ensure "postgresql-${PG_VERSION}" "postgresql-${PG_VERSION}-postgis-3" "postgresql-client-${PG_VERSION}"
}

pg_ensure_cluster() {
    local confdir
    confdir=$(pg_conf_dir)
    if [[ ! -f "${confdir}/postgresql.conf" ]]; then
        # the port must be ours alone
        if ss -Hltn "sport = :${PG_PORT}" 2>/dev/null | grep -q .; then
            die "port ${PG_PORT} is taken by something else; cannot create cluster ${PG_VERSION}/${PG_CLUSTER}"
        fi
        log "creating cluster ${PG_VERSION}/${PG_CLUSTER} (port ${PG_PORT}, C.UTF-8, UTF8)"
        pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" \
            --locale C.UTF-8 --encoding UTF8 >&2
    fi
    # our settings, in conf.d (included by Debian's postgresql.conf); restart if they changed while running
    local conf="${confdir}/conf.d/50-mdm.conf" want
    want=$(printf '%s\n' \
        "# written by scripts/services.sh" \
        "listen_addresses = '127.0.0.1'" \
        "port = ${PG_PORT}" \
        "max_connections = 200")
    mkdir -p "${confdir}/conf.d"
    if [[ ! -f "$conf" ]] || [[ "$(cat "$conf")" != "$want" ]]; then
        printf '%s\n' "$want" >"$conf"
        chown postgres:postgres "$conf"
        if pg_running; then
            log "configuration changed; restarting ${PG_VERSION}/${PG_CLUSTER}"
            pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart >&2
        fi
    fi
}

pg_start() {
    need_root
    pg_install
    pg_ensure_cluster
    if pg_running; then
        log "postgres ${PG_VERSION}/${PG_CLUSTER} already running on port ${PG_PORT}"
    else
        log "starting postgres ${PG_VERSION}/${PG_CLUSTER}"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2 \
            || { tail -n 30 "/var/log/postgresql/postgresql-${PG_VERSION}-${PG_CLUSTER}.log" >&2 || true
                 die "postgres did not start"; }
    fi
    local i
    for i in $(seq 1 30); do
        runuser -u postgres -- pg_isready -q -p "$PG_PORT" && break
        sleep 1
    done
    runuser -u postgres -- pg_isready -q -p "$PG_PORT" || die "postgres is not accepting connections"

    local enc
    enc=$(pg_su postgres -tAc "SHOW server_encoding")
    [[ "$enc" == UTF8 ]] || die "cluster ${PG_VERSION}/${PG_CLUSTER} has encoding ${enc}, not UTF8; drop it (pg_dropcluster --stop ${PG_VERSION} ${PG_CLUSTER}) and rerun"

    # role: create once; (re)assert password and privileges every time (cheap, idempotent)
    pg_su postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${PG_USER}') THEN
    CREATE ROLE ${PG_USER} LOGIN;
  END IF;
END
\$\$;
ALTER ROLE ${PG_USER} WITH LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
SQL
    local ext db
    for ext in "${PG_EXTENSIONS[@]}"; do
        pg_su template1 -c "CREATE EXTENSION IF NOT EXISTS ${ext}"
    done
    for db in "${PG_DATABASES[@]}"; do
        if [[ -z "$(pg_su postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${db}'")" ]]; then
            log "creating database ${db}"
            pg_su postgres -c "CREATE DATABASE ${db} OWNER ${PG_USER} ENCODING 'UTF8' TEMPLATE template1"
        fi
        for ext in "${PG_EXTENSIONS[@]}"; do
            pg_su "$db" -c "CREATE EXTENSION IF NOT EXISTS ${ext}"
        done
    done
    log "postgres ready: 127.0.0.1:${PG_PORT}, databases ${PG_DATABASES[*]}"
}

pg_stop() {
    if ! command -v pg_ctlcluster >/dev/null || [[ ! -f "$(pg_conf_dir)/postgresql.conf" ]]; then
        log "postgres cluster ${PG_VERSION}/${PG_CLUSTER} does not exist"
        return 0
    fi
    if pg_running; then
        log "stopping postgres ${PG_VERSION}/${PG_CLUSTER}"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast >&2
    else
        log "postgres ${PG_VERSION}/${PG_CLUSTER} is not running"
    fi
}

pg_status() {
    if command -v pg_ctlcluster >/dev/null && [[ -f "$(pg_conf_dir)/postgresql.conf" ]] && pg_running \
        && runuser -u postgres -- pg_isready -q -p "$PG_PORT"; then
        echo "postgres:      up   (cluster ${PG_VERSION}/${PG_CLUSTER}, 127.0.0.1:${PG_PORT})"
        return 0
    fi
    echo "postgres:      down (cluster ${PG_VERSION}/${PG_CLUSTER}, port ${PG_PORT})"
    return 1
}

# ---------------------------------------------------------------- PostgreSQL streaming replica
replica_pg_ctl() { runuser -u postgres -- "${PG_BIN}/pg_ctl" -D "$PG_REPLICA_DIR" "$@"; }

replica_running() { [[ -d "$PG_REPLICA_DIR" ]] && replica_pg_ctl status >/dev/null 2>&1; }

replica_start() {
    need_root
    pg_running || pg_start
    pg_su postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mdm_replica') THEN
    CREATE ROLE mdm_replica REPLICATION LOGIN;
  END IF;
END
\$\$;
ALTER ROLE mdm_replica WITH REPLICATION LOGIN PASSWORD 'mdm_replica';
SQL
    local db
    for db in "${PG_DATABASES[@]}"; do  # function privileges are per database; they stream to the standby
        pg_su "$db" -c "GRANT EXECUTE ON FUNCTION pg_wal_replay_pause() TO ${PG_USER}; GRANT EXECUTE ON FUNCTION pg_wal_replay_resume() TO ${PG_USER}"
    done
    if replica_running; then
        log "replica already running on port ${PG_REPLICA_PORT}"
    else
        if [[ ! -f "${PG_REPLICA_DIR}/standby.signal" ]]; then
            log "base backup of ${PG_VERSION}/${PG_CLUSTER} into ${PG_REPLICA_DIR}"
            rm -rf "$PG_REPLICA_DIR"
            install -d -o postgres -g postgres -m 700 "$PG_REPLICA_DIR"
            runuser -u postgres -- env PGPASSWORD=mdm_replica "${PG_BIN}/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" \
                -U mdm_replica -D "$PG_REPLICA_DIR" -R -X stream -c fast >&2
        fi
        # a data directory of its own: the primary's configuration lives in /etc (Debian), not in the backup
        printf '%s\n' "# written by scripts/services.sh" "port = ${PG_REPLICA_PORT}" \
            "listen_addresses = '127.0.0.1'" "unix_socket_directories = '/var/run/postgresql'" \
            "hot_standby = on" "max_connections = 200" "hot_standby_feedback = on" \
            >"${PG_REPLICA_DIR}/postgresql.conf"
        printf '%s\n' "local all postgres peer" "local all all scram-sha-256" \
            "host all all 127.0.0.1/32 scram-sha-256" >"${PG_REPLICA_DIR}/pg_hba.conf"
        touch "${PG_REPLICA_DIR}/pg_ident.conf"
        chown postgres:postgres "${PG_REPLICA_DIR}"/postgresql.conf "${PG_REPLICA_DIR}"/pg_hba.conf \
            "${PG_REPLICA_DIR}"/pg_ident.conf
        log "starting the replica on port ${PG_REPLICA_PORT}"
        install -o postgres -g postgres -m 640 /dev/null "$PG_REPLICA_LOG" 2>/dev/null || true
        replica_pg_ctl -l "$PG_REPLICA_LOG" -w -t 120 start >&2 \
            || { tail -n 30 "$PG_REPLICA_LOG" >&2 || true; die "the replica did not start"; }
    fi
    local i
    for i in $(seq 1 60); do
        [[ "$(runuser -u postgres -- psql -X -tA -p "$PG_REPLICA_PORT" -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" == t ]] && break
        sleep 1
    done
    [[ "$(runuser -u postgres -- psql -X -tA -p "$PG_REPLICA_PORT" -d postgres -c 'SELECT pg_is_in_recovery()')" == t ]] \
        || die "the replica on port ${PG_REPLICA_PORT} is not a standby"
    log "replica ready: 127.0.0.1:${PG_REPLICA_PORT} (hot standby of 127.0.0.1:${PG_PORT})"
}

replica_stop() {
    if replica_running; then
        log "stopping the replica"
        replica_pg_ctl -m fast stop >&2
    fi
}

replica_status() {
    if replica_running; then
        echo "replica:       up   (hot standby, 127.0.0.1:${PG_REPLICA_PORT})"
        return 0
    fi
    echo "replica:       down (port ${PG_REPLICA_PORT})"
    return 1
}

# ---------------------------------------------------------------- Elasticsearch
es_java_home() {
    local d
    if [[ -n "${MDM_ES_JAVA_HOME:-}" ]]; then echo "$MDM_ES_JAVA_HOME"; return; fi
    for d in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-1.17.0-openjdk-*; do
        if [[ -x "$d/bin/java" ]]; then readlink -f "$d"; return; fi
    done
    return 1
}

es_pid() {
    local pid
    [[ -f "$ES_PIDFILE" ]] || return 1
    pid=$(cat "$ES_PIDFILE" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

es_health() { curl -fsS --max-time 3 "${ELASTICSEARCH_URL}/_cluster/health" 2>/dev/null; }

es_log_tail() {
    log "---- tail of ${ES_LOGS}/${ES_CLUSTER_NAME}.log ----"
    tail -n 30 "${ES_LOGS}/${ES_CLUSTER_NAME}.log" >&2 2>/dev/null || true
    log "---- tail of ${ES_LOGS}/startup.out (launcher output of this start) ----"
    tail -n 30 "${ES_LOGS}/startup.out" >&2 2>/dev/null || true
}

es_install() {
    apt_ensure curl unzip maven openjdk-17-jre-headless
    if ! id "$ES_USER" >/dev/null 2>&1; then
        log "creating system user ${ES_USER}"
        useradd --system --user-group --home-dir "$ES_VAR" --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    fi
    if [[ ! -x "${ES_HOME}/bin/elasticsearch" ]]; then
        local dist="${ES_BASE}/dist" zip
        zip="${dist}/elasticsearch-${ES_VERSION}.zip"
        mkdir -p "$dist"
        if [[ ! -s "$zip" ]]; then
            log "fetching ${ES_ARTIFACT} from Maven Central"
            mvn -B -q -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
                -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$dist" >&2 \
                || die "could not fetch ${ES_ARTIFACT}"
        fi
        [[ -s "$zip" ]] || die "expected ${zip} after mvn copy"
        log "unpacking to ${ES_HOME}"
        local tmp
        tmp=$(mktemp -d "${ES_BASE}/unpack.XXXXXX")
        unzip -q "$zip" -d "$tmp"
        rm -rf "$ES_HOME"
        mv "$tmp/elasticsearch-${ES_VERSION}" "$ES_HOME"
        rm -rf "$tmp"
    fi
    mkdir -p "$ES_DATA" "$ES_LOGS"
    # config/ must be writable (the keystore is created there on first start)
    local yml="${ES_HOME}/config/elasticsearch.yml" security=""
    if [[ -d "${ES_HOME}/modules/x-pack-security" ]]; then
        security="xpack.security.enabled: false"
    fi
    local want
    want=$(printf '%s\n' \
        "# written by scripts/services.sh" \
        "cluster.name: ${ES_CLUSTER_NAME}" \
        "node.name: ${ES_CLUSTER_NAME}-1" \
        "discovery.type: single-node" \
        "network.host: ${ES_HOST}" \
        "http.port: ${ES_PORT}" \
        "path.data: ${ES_DATA}" \
        "path.logs: ${ES_LOGS}" \
        "cluster.routing.allocation.disk.threshold_enabled: false" \
        ${security:+"$security"})
    if [[ "$(cat "$yml" 2>/dev/null)" != "$want" ]]; then
        printf '%s\n' "$want" >"$yml"
    fi
    chown -R "${ES_USER}:${ES_USER}" "$ES_HOME" "$ES_VAR"
}

es_start() {
    need_root
    local pid launched=$SECONDS
    if pid=$(es_pid); then
        log "elasticsearch already running (pid ${pid})"
    else
        if es_health >/dev/null || ss -Hltn "sport = :${ES_PORT}" 2>/dev/null | grep -q .; then
            die "port ${ES_PORT} is in use by something that is not this script's Elasticsearch"
        fi
        es_install
        local java_home
        java_home=$(es_java_home) || die "no OpenJDK 17 found under /usr/lib/jvm (set MDM_ES_JAVA_HOME)"
        rm -f "$ES_PIDFILE"
        log "starting elasticsearch ${ES_VERSION} (heap ${ES_HEAP}, java ${java_home})"
        # jvm.options writes gc.log / hs_err into the working directory: run from the logs dir
        if ! (cd "$ES_LOGS" && runuser -u "$ES_USER" -- env -i \
                PATH=/usr/local/bin:/usr/bin:/bin HOME="$ES_VAR" LANG=C.UTF-8 \
                ES_JAVA_HOME="$java_home" ES_JAVA_OPTS="-Xms${ES_HEAP} -Xmx${ES_HEAP}" \
                "${ES_HOME}/bin/elasticsearch" -d -p "$ES_PIDFILE" >"${ES_LOGS}/startup.out" 2>&1); then
            es_log_tail
            die "elasticsearch failed to start"
        fi
    fi
    log "waiting for ${ELASTICSEARCH_URL}/_cluster/health (up to ${ES_READY_TIMEOUT}s)"
    local deadline=$((SECONDS + ES_READY_TIMEOUT)) health
    while :; do
        if health=$(es_health) && [[ "$health" =~ \"status\":\"(green|yellow)\" ]]; then
            break
        fi
        if ! es_pid >/dev/null && ((SECONDS - launched > 5)); then
            # the pidfile appears only once the daemon has forked; give it a moment before declaring death
            sleep 2
            if ! es_pid >/dev/null; then es_log_tail; die "elasticsearch exited during startup"; fi
        fi
        if ((SECONDS >= deadline)); then
            es_log_tail
            die "elasticsearch did not become ready within ${ES_READY_TIMEOUT}s"
        fi
        sleep 1
    done
    log "elasticsearch ready: ${ELASTICSEARCH_URL} (${BASH_REMATCH[1]})"
}

es_stop() {
    local pid i
    if ! pid=$(es_pid); then
        log "elasticsearch is not running"
        rm -f "$ES_PIDFILE"
        return 0
    fi
    log "stopping elasticsearch (pid ${pid})"
    kill -TERM "$pid"
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "elasticsearch did not stop in 30s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$ES_PIDFILE"
}

es_status() {
    local pid health
    if pid=$(es_pid) && health=$(es_health) && [[ "$health" =~ \"status\":\"(green|yellow)\" ]]; then
        echo "elasticsearch: up   (pid ${pid}, ${ELASTICSEARCH_URL}, status ${BASH_REMATCH[1]})"
        return 0
    fi
    echo "elasticsearch: down (${ELASTICSEARCH_URL})"
    return 1
}

# ---------------------------------------------------------------- main
print_env() {
    local what=${1:-all}
    [[ "$what" == elasticsearch || "$what" == replica ]] || echo "export MDM_TEST_DATABASE_URL=${DATABASE_URL}"
    [[ "$what" == postgres || "$what" == replica ]] || echo "export MDM_TEST_ELASTICSEARCH_URL=${ELASTICSEARCH_URL}"
    [[ "$what" == all || "$what" == replica ]] && echo "export MDM_TEST_READ_DATABASE_URL=${READ_DATABASE_URL}"
    return 0
}

browser_install() {
    need_root
    apt_ensure chromium chromium-driver fonts-noto-cjk
    log "browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing'), $(/usr/bin/chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
}

usage() {
    echo "usage: $0 start|stop [postgres|elasticsearch|replica] | status | env | browser" >&2
    exit 2
}

cmd=${1:-}
what=${2:-all}
case "$what" in all|postgres|elasticsearch|replica) ;; *) usage ;; esac

case "$cmd" in
    start)
        [[ "$what" == elasticsearch || "$what" == replica ]] || pg_start
        [[ "$what" == postgres || "$what" == replica ]] || es_start
        [[ "$what" == all || "$what" == replica ]] && replica_start
        print_env "$what"
        ;;
    stop)
        [[ "$what" == postgres || "$what" == replica ]] || es_stop
        [[ "$what" == all || "$what" == replica || "$what" == postgres ]] && replica_stop
        [[ "$what" == elasticsearch || "$what" == replica ]] || pg_stop
        ;;
    status)
        rc=0
        pg_status || rc=1
        replica_status || rc=1
        es_status || rc=1
        exit "$rc"
        ;;
    env)
        print_env all
        ;;
    browser)
        browser_install
        ;;
    *)
        usage
        ;;
esac
