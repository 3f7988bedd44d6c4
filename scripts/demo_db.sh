#!/bin/sh
# make demo-db: start a throwaway PostgreSQL cluster (scripts/pg.sh), load
# the Project Apex schema with about a million generated rows (db/), run
# scenarios/database.json headless for APEX_DEMO_DURATION (20s; the
# scenario's stages are scaled to it) through a master and 2 local
# workers, print the summary with the README's query targets as
# thresholds, write results/demo_db*, and remove the cluster.
# APEX_DEMO_MASTER_PORT (5557) is the port the workers connect to.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${APEX_DEMO_DURATION:-20s}
MASTER_PORT=${APEX_DEMO_MASTER_PORT:-5557}
mkdir -p results

dir=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "$dir" ]; then
        sh scripts/pg.sh stop "$dir"
        echo "demo-db: the cluster is removed"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dir=$(sh scripts/pg.sh start)
DATABASE_URL=$(sh scripts/pg.sh url "$dir")
export DATABASE_URL
echo "demo-db: PostgreSQL is up at $DATABASE_URL (in $dir)"
echo "demo-db: loading db/schema.sql and db/data.sql (about a minute) ..."
sh scripts/pg.sh load "$dir" 1
sh scripts/pg.sh psql "$dir" -c "SELECT pg_stat_statements_reset()" >/dev/null

set +e
"$BUILD/apex-master" -f scenarios/database.json --headless -t "$DURATION" \
    --processes 2 --master-bind-port "$MASTER_PORT" --only-summary \
    --csv results/demo_db --json-file results/demo_db.json \
    --html results/demo_db.html
rc=$?
set -e
echo
echo "demo-db: apex-master exited with $rc; results:"
ls -l results/demo_db_*.csv results/demo_db.json results/demo_db.html
echo "demo-db: statements the server ran (pg_stat_statements):"
sh scripts/pg.sh psql "$dir" -c "SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC LIMIT 6"
exit $rc
