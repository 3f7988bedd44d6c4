#!/bin/sh
# A throwaway PostgreSQL cluster for the demo, the tests and the benchmark:
# Debian's postgresql-15 binaries, initdb in a temporary folder, its own
# port on 127.0.0.1, run by an unprivileged user, removed afterwards. It
# never touches a system-wide cluster (Debian's "main" on 5432 may run or
# not: nothing here depends on it).
#
#   scripts/pg.sh start [DIR]  initdb into DIR (default: a new folder under
#                              /tmp), start on a free port (APEX_PG_PORT to
#                              choose), create the database "apex", print
#                              DIR on stdout
#   scripts/pg.sh url DIR      the cluster's libpq URL
#                              (postgresql://apex@127.0.0.1:PORT/apex)
#   scripts/pg.sh load DIR [SCALE]  load db/schema.sql and db/data.sql
#                              (SCALE 1: about a million rows)
#   scripts/pg.sh psql DIR [ARGS]   psql on the cluster's database
#   scripts/pg.sh restart DIR  stop (fast: clients are cut off) and start
#   scripts/pg.sh stop DIR     stop the server and remove DIR
#
# PostgreSQL refuses to run as root: as root the server runs as
# APEX_PG_USER (default apexpg, a system user created with useradd when
# missing); as anyone else, as that user. Authentication is "trust" on
# 127.0.0.1 and the folder's Unix socket only; the superuser is "apex".
set -eu
cd "$(dirname "$0")/.."

PG_BIN=${APEX_PG_BIN:-}
if [ -z "$PG_BIN" ]; then
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/postgres" ] && PG_BIN=$d
    done
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ]; then
    echo "pg.sh: no PostgreSQL server found (install postgresql-15: make deps)" >&2
    exit 2
fi

usage() {
    echo "usage: $0 start [DIR] | url DIR | load DIR [SCALE] | psql DIR [ARGS] |" \
        "restart DIR | stop DIR" >&2
    exit 2
}

# Run a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

PG_USER=${APEX_PG_USER:-apexpg}
ensure_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    if ! id "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$PG_USER"
    fi
}

free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_of() {
    sed -n 's/^port = \([0-9]*\).*/\1/p' "$1/data/postgresql.auto.conf" \
        "$1/data/apex.conf" 2>/dev/null | head -n 1
}

server_start() {
    dir=$1
    if ! as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
        -w -t 60 start >/dev/null; then
        echo "pg.sh: the server did not start; its log:" >&2
        tail -n 20 "$dir/postgres.log" >&2 || true
        return 1
    fi
}

cmd_start() {
    dir=${1:-}
    if [ -z "$dir" ]; then
        dir=$(mktemp -d /tmp/apex-pg.XXXXXX)
    else
        mkdir -p "$dir"
    fi
    ensure_user
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$dir"
    chmod 700 "$dir"
    port=${APEX_PG_PORT:-$(free_port)}
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U apex --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        echo "pg.sh: initdb failed:" >&2
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # Settings for a throwaway cluster: no durability (nothing here is
    # kept), statement statistics for the tests, enough connections for
    # the benchmark's two clients of 50.
    as_owner sh -c "cat >'$dir/data/apex.conf'" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
log_min_messages = warning
EOF
    echo "include = 'apex.conf'" | as_owner sh -c "cat >>'$dir/data/postgresql.conf'"
    server_start "$dir"
    as_owner "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U apex -d postgres \
        -c "CREATE DATABASE apex" >/dev/null
    as_owner "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U apex -d apex \
        -c "CREATE EXTENSION pg_stat_statements" >/dev/null
    echo "$dir"
}

need_dir() {
    if [ -z "${1:-}" ] || [ ! -f "$1/data/apex.conf" ]; then
        echo "pg.sh: ${1:-(none)}: not a cluster made by pg.sh start" >&2
        exit 2
    fi
}

cmd_psql() {
    dir=$1
    shift
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port_of "$dir")" \
        -U apex -d apex "$@"
}

what=${1:-}
[ -n "$what" ] || usage
shift
case "$what" in
start)
    cmd_start "${1:-}"
    ;;
url)
    need_dir "${1:-}"
    echo "postgresql://apex@127.0.0.1:$(port_of "$1")/apex"
    ;;
load)
    need_dir "${1:-}"
    cmd_psql "$1" -v scale="${2:-1}" -f db/schema.sql -f db/data.sql
    ;;
psql)
    need_dir "${1:-}"
    cmd_psql "$@"
    ;;
restart)
    need_dir "${1:-}"
    as_owner "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null
    server_start "$1"
    ;;
stop)
    dir=${1:-}
    need_dir "$dir"
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
        >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    usage
    ;;
esac
