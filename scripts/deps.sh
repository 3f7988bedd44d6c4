#!/bin/sh
# Install the Debian packages given as arguments when any is missing:
# apt-get update, then a non-interactive install. A no-op when all are
# present. Uses sudo when not root.
set -eu
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
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
