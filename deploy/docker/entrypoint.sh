#!/bin/sh
# apex-entrypoint: the container image's ENTRYPOINT.
#
#   apex-entrypoint PROGRAM [OPTION...]
#
# PROGRAM is master, worker or target (or apex-master, apex-worker,
# apex-target); the program replaces this shell (exec), so it is PID 1 of
# the container and receives SIGTERM itself: apex-master then ends the run
# as after Ctrl-C (summary, CSV files, workers told to quit).
#
# Every option can also come from the environment (APEX_USERS,
# APEX_MASTER_HOST, ...: see `apex-master --help`); the command line wins.
# The programs are looked up in PATH (/usr/local/bin in the image).
set -eu

usage() {
    cat <<'USAGE'
usage: apex-entrypoint PROGRAM [OPTION...]

PROGRAM:
  master   apex-master: coordinates workers, prints and writes the results
  worker   apex-worker: simulates users; needs APEX_MASTER_HOST (or
           --master-host) and nothing else: the master sends the scenario
  target   apex-target: the demo Project Apex API (use --bind 0.0.0.0)
  help     this text

Options of each program: apex-entrypoint PROGRAM --help
USAGE
}

if [ "$#" -eq 0 ]; then
    usage >&2
    exit 2
fi

program=$1
shift
case "$program" in
master | apex-master) exec apex-master "$@" ;;
worker | apex-worker) exec apex-worker "$@" ;;
target | apex-target) exec apex-target "$@" ;;
help | -h | --help)
    usage
    exit 0
    ;;
*)
    echo "apex-entrypoint: unknown program '$program'" >&2
    usage >&2
    exit 2
    ;;
esac
