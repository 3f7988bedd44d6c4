#!/bin/sh
# Run the Project Apex benchmarks:
# scripts/benchmark.sh all|load|stress|soak|ws|db|web
#
#   API_URL        API to test (default http://127.0.0.1:8080); when it is
#                  the default and nothing answers there, the bundled
#                  apex-target is started for the run
#   WS_URL         WebSocket URL, passed to the scenario's ${WS_URL}
#   DATABASE_URL   PostgreSQL for db (libpq connection string or URL), with
#                  db/schema.sql and db/data.sql loaded (scripts/pg.sh load
#                  does it); when unset, a throwaway cluster is started,
#                  loaded and removed afterwards (scripts/pg.sh)
#   AUTH_TOKEN     sent as "Authorization: Bearer ..." when set
#   APEX_USERS     scale every stage so the peak is this many users
#   APEX_DURATION  scale the stages so the whole run lasts this long (30s, 2m)
#   APEX_PROCESSES local workers (default: one per core)
#   APEX_BUILD     build folder (default build)
#
# Results go to results/<test>-<UTC time>{_stats.csv,...,.json,.html}. The
# exit code is apex-master's: 0 passed, 99 thresholds failed, 1 requests
# failed, 2 usage, 3 aborted.
set -eu
cd "$(dirname "$0")/.."
BUILD=${APEX_BUILD:-build}
API_URL=${API_URL:-http://127.0.0.1:8080}
WS_URL=${WS_URL:-ws://127.0.0.1:8080}
export API_URL WS_URL
[ -n "${AUTH_TOKEN:-}" ] && export AUTH_TOKEN
PROCESSES=${APEX_PROCESSES:--1}
what=${1:-}

usage() {
    echo "usage: $0 all|load|stress|soak|ws|db|web" >&2
    exit 2
}
[ -n "$what" ] || usage

if [ ! -x "$BUILD/apex-master" ]; then
    echo "benchmark: $BUILD/apex-master is missing: run make first" >&2
    exit 2
fi
mkdir -p results

TARGET_PID=""
PG_DIR=""
cleanup() {
    if [ -n "$TARGET_PID" ]; then
        kill "$TARGET_PID" 2>/dev/null || true
        wait "$TARGET_PID" 2>/dev/null || true
    fi
    if [ -n "$PG_DIR" ]; then
        sh scripts/pg.sh stop "$PG_DIR"
        PG_DIR=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start the demo API when the default URL has nothing behind it.
ensure_target() {
    if curl -fsS -m 2 "$API_URL/health" >/dev/null 2>&1; then
        return
    fi
    if [ "$API_URL" != "http://127.0.0.1:8080" ]; then
        echo "benchmark: nothing answers at $API_URL/health" >&2
        exit 3
    fi
    echo "benchmark: starting the bundled apex-target on 127.0.0.1:8080"
    "$BUILD/apex-target" --port 8080 >results/benchmark_target.log 2>&1 &
    TARGET_PID=$!
    i=0
    until curl -fsS -m 1 "$API_URL/health" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "benchmark: apex-target did not start" >&2
            exit 3
        fi
        sleep 0.1
    done
}

# DATABASE_URL as given, else a throwaway cluster with the schema loaded.
ensure_db() {
    if [ -n "${DATABASE_URL:-}" ]; then
        export DATABASE_URL
        return
    fi
    echo "benchmark: DATABASE_URL is unset: starting a throwaway PostgreSQL"
    PG_DIR=$(sh scripts/pg.sh start)
    DATABASE_URL=$(sh scripts/pg.sh url "$PG_DIR")
    export DATABASE_URL
    echo "benchmark: loading db/schema.sql and db/data.sql into $DATABASE_URL"
    sh scripts/pg.sh load "$PG_DIR" 1
}

run() {
    name=$1
    scenario=$2
    shift
    shift
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    prefix="results/$name-$stamp"
    set -- -f "scenarios/$scenario.json" --host "$API_URL" \
        --processes "$PROCESSES" --csv "$prefix" --json-file "$prefix.json" \
        --html "$prefix.html" "$@"
    if [ -n "${APEX_DURATION:-}" ]; then
        set -- "$@" -t "$APEX_DURATION"
    fi
    echo "benchmark: $name -> $prefix.*"
    set +e
    "$BUILD/apex-master" "$@"
    rc=$?
    set -e
    echo "benchmark: $name finished with exit code $rc"
    return $rc
}

case "$what" in
load | stress | soak)
    ensure_target
    run "$what" "$what" --headless
    ;;
ws)
    ensure_target
    run ws websocket --headless
    ;;
db)
    ensure_db
    run db database --headless
    ;;
all)
    ensure_target
    status=0
    for t in load stress soak; do
        run "$t" "$t" --headless || status=$?
    done
    run ws websocket --headless || status=$?
    ensure_db
    run db database --headless || status=$?
    exit $status
    ;;
web)
    ensure_target
    echo "benchmark: web UI on http://127.0.0.1:${APEX_WEB_PORT:-8089}"
    run load load --web-port "${APEX_WEB_PORT:-8089}"
    ;;
*)
    usage
    ;;
esac
