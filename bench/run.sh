#!/bin/sh
# make bench: throughput per client CPU-second next to wrk, and memory per
# idle user, against nginx on loopback; the worker's user-space
# instructions per request under callgrind; SQL steps next to pgbench on a
# throwaway PostgreSQL; scripted (Lua) users next to JSON users and
# Locust, Lua 5.4 next to LuaJIT; WebSocket connections next to artillery. Not a
# test: it prints figures.
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
HERE=$(dirname "$0")
/usr/bin/python3 "$HERE/bench.py" --build "$BUILD" "$@"
/usr/bin/python3 "$HERE/callgrind.py" --build "$BUILD" --engine http1
/usr/bin/python3 "$HERE/callgrind.py" --build "$BUILD" --engine curl
/usr/bin/python3 "$HERE/conns.py" --build "$BUILD"
/usr/bin/python3 "$HERE/pg_bench.py" --build "$BUILD"
/usr/bin/python3 "$HERE/lua_bench.py" --build "$BUILD"
exec /usr/bin/python3 "$HERE/ws_bench.py" --build "$BUILD"
