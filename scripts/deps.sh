#!/bin/sh
# Install the Debian packages given as arguments when any is missing:
# apt-get update, then a non-interactive install. A no-op when all are
# present. Uses sudo when not root.
#
# Some packages ship a daemon the tests start themselves, as children with
# their own configuration (influxdb, prometheus: tests/integration). Their
# system services must not run: nothing relies on them, and they would
# hold the ports. So while installing, a temporary policy-rc.d (when the
# machine has none) keeps them from starting, and afterwards they are
# stopped and disabled (systemd or sysvinit), so they stay off at boot.
set -eu
DAEMONS="influxdb prometheus tinyproxy"
missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
        grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
# Node.js and npm (for the pinned front-end packages and the browser
# tests): Debian's, unless the machine already has a node and npm (some
# images ship NodeSource's nodejs, which conflicts with Debian's npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# The daemons among the missing packages.
daemons=""
for d in $DAEMONS; do
    case " $missing " in *" $d "*) daemons="$daemons $d" ;; esac
done

policy=/usr/sbin/policy-rc.d
own_policy=""
if [ -n "$daemons" ] && [ ! -e "$policy" ]; then
    # invoke-rc.d and deb-systemd-invoke ask this script before starting
    # a service: 101 forbids it.
    own_policy=1
    # shellcheck disable=SC2086 # $daemons: words to join with |
    pattern=$(echo $daemons | tr ' ' '|')
    # shellcheck disable=SC2016 # $1 belongs to the policy script
    printf '#!/bin/sh\ncase "$1" in %s) exit 101 ;; esac\nexit 0\n' \
        "$pattern" | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 0755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
fi

$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

if [ -n "$own_policy" ]; then
    $SUDO rm -f "$policy"
    trap - EXIT
fi
for d in $daemons; do
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now "$d" >/dev/null 2>&1 || true
    else
        $SUDO service "$d" stop >/dev/null 2>&1 || true
        $SUDO update-rc.d "$d" disable >/dev/null 2>&1 || true
    fi
    echo "deps: $d's system service is stopped and disabled (the tests" \
        "start their own)"
done
