#!/bin/sh
# base_image.sh CACHE: make the images deploy/docker/Dockerfile starts
# FROM, debian:bookworm and debian:bookworm-slim, with debootstrap from
# Debian's mirror, when podman's storage (configured by run.sh) lacks
# them. No registry is asked: the machine reaches none but Debian's and
# npm's. Both come from one minimal bootstrap (--variant=minbase: the
# Essential and required packages, apt, and nothing else), cleaned as
# Docker's official images are (no package caches, no apt lists; the
# bookworm, bookworm-updates and bookworm-security suites configured);
# the slim one also drops documentation, manual pages and translations,
# and tells dpkg to keep them out, as Docker's -slim images do.
#
# $APEX_DEBIAN_MIRROR overrides the mirror (default http://deb.debian.org/debian).
set -eu
CACHE=$1
MIRROR=${APEX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${APEX_DEBIAN_SECURITY:-${MIRROR%/debian}/debian-security}

if podman image exists docker.io/library/debian:bookworm &&
    podman image exists docker.io/library/debian:bookworm-slim; then
    echo "base-image: debian:bookworm and debian:bookworm-slim are cached"
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "base-image: debootstrap is needed (make test-containers installs it)" >&2
    exit 1
}
work=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "base-image: debootstrap --variant=minbase bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$work/log" 2>&1 || {
    tail -20 "$work/log" >&2
    exit 1
}

rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# No caches, no logs, no machine identity in the image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/root/.cache
: >"$rootfs/etc/machine-id"
echo "debian-bookworm" >"$rootfs/etc/hostname"

import() { # import TAG: the rootfs as one layer
    tar -C "$rootfs" --numeric-owner -cf - . |
        podman import --change 'CMD ["bash"]' \
            --message "debootstrap --variant=minbase bookworm $MIRROR" \
            - "docker.io/library/debian:$1" >/dev/null
    echo "base-image: debian:$1 made ($(du -sm "$rootfs" | cut -f1) MB)"
}
import bookworm

# -slim: Docker's debian:bookworm-slim rules (debuerreotype-slimify).
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'SLIM'
# As Docker's debian:*-slim: no documentation, manual pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
SLIM
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/linda/* "$rootfs"/usr/share/lintian/overrides/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/man/*
import bookworm-slim
