#!/bin/bash
# apex-healthcheck: the container image's HEALTHCHECK.
#
# Looks at what PID 1 runs (/proc/1/cmdline, and /proc/1/environ for the
# APEX_* variables) and asks it over HTTP where it serves HTTP:
#
#   apex-target          GET /health on its --port (default 8080): 200
#   apex-master (web UI) GET /stats/requests on its web port (--web-port,
#                        APEX_WEB_PORT, default 8089): 200
#   apex-master --headless, apex-worker
#                        no port to ask: healthy while PID 1 is that
#                        program (a worker that lost its master registers
#                        again by itself; a headless master's verdict is
#                        its exit code)
#
# bash for /dev/tcp: the image has no HTTP client besides libcurl.
# Exit 0 healthy, 1 unhealthy (Docker's and podman's convention).
set -u

args=()
while IFS= read -r -d '' a; do args+=("$a"); done </proc/1/cmdline
declare -A env=()
while IFS= read -r -d '' kv; do env[${kv%%=*}]=${kv#*=}; done </proc/1/environ

option() { # option NAME VARIABLE DEFAULT: the value given to PID 1
    local name=$1 value=${env[$2]:-$3} i
    for ((i = 1; i < ${#args[@]}; i++)); do
        case ${args[i]} in
        "$name") value=${args[i + 1]:-} ;;
        "$name"=*) value=${args[i]#*=} ;;
        esac
    done
    printf '%s' "$value"
}

http_ok() { # http_ok PORT PATH: 0 when 127.0.0.1:PORT answers PATH 200
    local status
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    IFS= read -r -t 4 status <&3 || return 1
    exec 3<&-
    case $status in
    "HTTP/1."?" 200 "*) return 0 ;;
    *) echo "unhealthy: GET $2 on port $1: $status" >&2 && return 1 ;;
    esac
}

case ${args[0]##*/} in
apex-target) http_ok "$(option --port - 8080)" /health ;;
apex-master)
    headless=$(option --headless APEX_HEADLESS false)
    for a in "${args[@]}"; do [ "$a" = --headless ] && headless=true; done
    case ${headless,,} in
    1 | true | yes | on) exit 0 ;;
    *) http_ok "$(option --web-port APEX_WEB_PORT 8089)" /stats/requests ;;
    esac
    ;;
apex-worker) exit 0 ;;
*)
    echo "unhealthy: PID 1 is not an apex program: ${args[0]}" >&2
    exit 1
    ;;
esac
