#!/usr/bin/env bash
# Build Hotline's container image with buildah from deploy/image/Containerfile: the base is made
# first if it is missing (make-base.sh: debootstrap, no registry), then both stages run here
# (the build stage compiles a Release build, the runtime stage installs its package). As root.
#
#   deploy/image/build.sh [--base IMAGE] [--tag NAME] [-- BUILDAH BUD OPTIONS...]
#
# Default base localhost/hotline-base:bookworm, tags localhost/hotline:<version> and
# localhost/hotline:latest. --isolation chroot: RUN steps need no container runtime;
# --format docker: the OCI format has no HEALTHCHECK. buildah's storage driver:
# $STORAGE_DRIVER, default vfs (as make-base.sh). Prints the time taken and the image's size.
set -euo pipefail
cd "$(dirname "$0")/../.."

export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
# buildah 1.28 reads the driver from storage.conf only, not from $STORAGE_DRIVER: say it.
buildah() { command buildah --storage-driver "$STORAGE_DRIVER" "$@"; }
BASE=localhost/hotline-base:bookworm
VERSION=$(sed -n 's/^project(hotline VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
TAG=localhost/hotline:$VERSION
EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --base) BASE=${2:?--base IMAGE}; shift 2 ;;
    --tag) TAG=${2:?--tag NAME}; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "build: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

type -P buildah >/dev/null || { echo "build: buildah is missing: scripts/deps.sh installs it" >&2; exit 1; }
if [ "$BASE" = localhost/hotline-base:bookworm ]; then
  deploy/image/make-base.sh   # idempotent: a second run only checks
elif ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  echo "build: the base image $BASE is not in buildah's storage (driver $STORAGE_DRIVER)" >&2
  exit 1
fi

t0=$SECONDS
buildah bud --isolation chroot --format docker --build-arg "BASE=$BASE" \
  --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  -f deploy/image/Containerfile -t "$TAG" -t localhost/hotline:latest "${EXTRA[@]}" .
echo "build: $TAG built in $(( SECONDS - t0 )) s from $BASE (storage driver $STORAGE_DRIVER);" \
     "size $(buildah images --format '{{.Size}}' "$TAG" | head -n 1)"
