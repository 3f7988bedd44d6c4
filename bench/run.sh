#!/bin/sh
# make bench: throughput per client CPU-second next to wrk, and memory per
# idle user, against nginx on loopback. Not a test: it prints figures.
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
exec /usr/bin/python3 "$(dirname "$0")/bench.py" --build "$BUILD" "$@"
