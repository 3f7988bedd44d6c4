#!/bin/sh
# make test-containers: the image built and run for real with Debian's
# podman, then tests/containers/test_*.py against it.
#
#   1. podman's configuration for this test only, in $CACHE/conf (see
#      podman_conf below): storage, runtime and cgroup settings that work
#      in this sandbox; nothing of the machine's /etc/containers is used.
#   2. A probe: can podman start a container here at all? If not, say
#      which capability is missing and stop (exit 0: skipped).
#   3. The base images debian:bookworm and debian:bookworm-slim, made with
#      debootstrap from Debian's mirror when the storage lacks them (no
#      registry is ever asked): tests/containers/base_image.sh.
#   4. The image apex:0.1.0 from deploy/docker/Dockerfile, with its
#      layers cached in the same storage (a warm build redoes only what
#      changed); the web assets come from web/node_modules (make web-deps).
#   5. The tests: python3 tests/run_integration.py --dir containers.
#
# $APEX_CONTAINERS_CACHE (default /var/tmp/apex-test-containers) holds
# podman's storage (base images, build layers, the image) between runs:
# outside the clone, so CI's fresh clone on the same machine finds it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
CACHE=${APEX_CONTAINERS_CACHE:-/var/tmp/apex-test-containers}
IMAGE=localhost/apex:0.1.0
export APEX_BUILD="${APEX_BUILD:-build}"

skip() {
    echo "test-containers: SKIPPED: $*"
    echo "containers tests: 0 run, 0 failures, 0 errors, 1 skipped"
    exit 0
}

[ "$(id -u)" -eq 0 ] || skip "needs root: the test runs rootful podman" \
    "(rootless podman needs /etc/subuid ranges, which it does not set up)"
command -v podman >/dev/null || skip "podman is not installed (make deps)"

# 1. podman_conf: the settings found to work here, each for a reason.
podman_conf() {
    mkdir -p "$CACHE/conf" "$CACHE/storage" "$CACHE/run"
    cat >"$CACHE/conf/storage.conf" <<CONF
# tests/containers/run.sh: podman storage of make test-containers only.
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$CACHE/run/storage"
CONF
    cat >"$CACHE/conf/containers.conf" <<CONF
# tests/containers/run.sh: podman settings of make test-containers only.
[containers]
# Containers share the host's network (the test binds 127.0.0.1): no
# bridge, no iptables rules, no CNI files on the machine.
netns = "host"
log_driver = "k8s-file"
# None of podman's default ulimits (nofile 1048576 and so on): raising a
# hard limit needs CAP_SYS_RESOURCE, which this sandbox withholds even
# from root ("setrlimit RLIMIT_NOFILE: Operation not permitted");
# containers keep the limits podman has.
default_ulimits = []

[engine]
# runc: crun 1.8 refuses this machine's hybrid cgroups (v1 controllers
# with one also enabled in v2: "cgroups in hybrid mode not supported")
# and cannot run without cgroups either. runc makes each container a
# cgroup under the v1 hierarchy (cgroupfs: no systemd here).
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$CACHE/run/events.log"
tmp_dir = "$CACHE/run/libpod"
static_dir = "$CACHE/storage/libpod"
volume_path = "$CACHE/storage/volumes"

[network]
# Where podman would write network definitions (none are made).
network_config_dir = "$CACHE/run/cni"
CONF
    cat >"$CACHE/conf/registries.conf" <<CONF
# No registry: every image is made here (debootstrap, podman build).
unqualified-search-registries = []
short-name-mode = "permissive"
CONF
    export CONTAINERS_CONF="$CACHE/conf/containers.conf"
    export CONTAINERS_STORAGE_CONF="$CACHE/conf/storage.conf"
    export CONTAINERS_REGISTRIES_CONF="$CACHE/conf/registries.conf"
}
podman_conf

# One run at a time on this storage (worktrees and CI share the cache),
# and nothing left from a run that was killed: the storage is this
# test's alone, so whatever runs in it is ours.
exec 9>"$CACHE/lock"
flock 9
podman pod rm -af -t 5 >/dev/null 2>&1 || true
podman rm -af -t 5 >/dev/null 2>&1 || true

# 2. The probe: podman itself, then a container on a scratch image (a
# static busybox is not assumed: an empty image runs nothing, so the
# probe runs the base image once it exists, below).
out=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' 2>&1) ||
    skip "podman cannot start here: $out"
echo "test-containers: podman $(podman version --format '{{.Client.Version}}'), runtime and storage: $out, cache $CACHE"

# 3. Base images.
sh "$here/base_image.sh" "$CACHE"
out=$(podman run --rm --pull=never debian:bookworm-slim true 2>&1) ||
    skip "podman cannot run a container here: $out"

# 4. The image.
start=$(date +%s)
sh "$here/build_image.sh" "$IMAGE"
echo "test-containers: image built in $(($(date +%s) - start)) s"
podman image inspect "$IMAGE" --format \
    'test-containers: {{index .RepoTags 0}} {{.Size}} bytes, revision {{index .Labels "org.opencontainers.image.revision"}}'

# 5. The tests (they read these to run podman the same way).
export APEX_CONTAINER_IMAGE="$IMAGE"
export APEX_CONTAINERS_CACHE="$CACHE"
/usr/bin/python3 tests/run_integration.py --dir containers
