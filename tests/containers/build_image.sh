#!/bin/sh
# build_image.sh TAG: podman build of deploy/docker/Dockerfile from the
# repository root, as run.sh configured podman.
#
#   --pull=never     the base images are local (base_image.sh); no registry
#   --network=host   RUN steps reach Debian's mirror for apt-get (and
#                    nothing else is needed: no npm inside the build)
#   --layers         each step's layer is cached in podman's storage, so
#                    a rebuild redoes only the steps whose inputs changed
#   --format docker  OCI images have no HEALTHCHECK; Docker's format does
#
# The web assets come from the context: `make web-deps` (npm ci of
# web/package-lock.json) ran first, as part of `make all`.
set -eu
TAG=$1
[ -f web/node_modules/uplot/dist/uPlot.iife.min.js ] || make web-deps
revision=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
source=$(git remote get-url origin 2>/dev/null || echo unknown)
podman build --pull=never --network=host --layers --format docker \
    --build-arg APEX_REVISION="$revision" --build-arg APEX_SOURCE="$source" \
    -f deploy/docker/Dockerfile -t "$TAG" .
