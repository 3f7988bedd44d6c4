#!/bin/sh
# make demo: start the demo Apex API, run a 30 s headless test through a
# master and 2 local workers, print the summary and write CSVs under
# results/. Ports: APEX_DEMO_PORT (8080) for the API, APEX_DEMO_MASTER_PORT
# (5557) for the workers.
set -eu
BUILD=${1:-build}
PORT=${APEX_DEMO_PORT:-8080}
MASTER_PORT=${APEX_DEMO_MASTER_PORT:-5557}
USERS=${APEX_DEMO_USERS:-50}
DURATION=${APEX_DEMO_DURATION:-30s}
mkdir -p results

"$BUILD/apex-target" --port "$PORT" >results/demo_target.log 2>&1 &
TARGET=$!
trap 'kill $TARGET 2>/dev/null; wait $TARGET 2>/dev/null || true' EXIT INT TERM

# Wait for the API to answer (at most 10 s).
i=0
until curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$TARGET" 2>/dev/null; then
        echo "demo: apex-target did not start on port $PORT:" >&2
        cat results/demo_target.log >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS -X POST "http://127.0.0.1:$PORT/stats/reset" >/dev/null
echo "demo: apex-target is up at http://127.0.0.1:$PORT"

set +e
"$BUILD/apex-master" -f scenarios/apex.json --headless \
    -u "$USERS" -r 10 -t "$DURATION" --host "http://127.0.0.1:$PORT" \
    --processes 2 --master-bind-port "$MASTER_PORT" --csv results/demo \
    --json-file results/demo.json --html results/demo.html
rc=$?
set -e
echo
echo "demo: apex-master exited with $rc; results:"
ls -l results/demo_*.csv results/demo.json results/demo.html
echo "demo: requests the API served (GET /stats):"
curl -fsS "http://127.0.0.1:$PORT/stats"
echo
exit $rc
