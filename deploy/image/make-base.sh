#!/usr/bin/env bash
# The base of Hotline's container image, made here from Debian's archive: no registry is
# needed. debootstrap (variant minbase, bookworm) writes a Debian 12 root file system, which is
# kept as a tarball in the cache, and buildah makes it the image localhost/hotline-base:bookworm
# that deploy/image/Containerfile builds FROM. A second run finds both and does nothing.
#
#   deploy/image/make-base.sh
# Options: --cache-dir DIR (default $HOTLINE_CACHE_DIR or /var/cache/hotline), --mirror URL
# and --security URL (default: the ones this machine's apt uses), --image NAME, --refresh
# (debootstrap again even when the tarball is there). As root: debootstrap and chroot need it.
# buildah's storage driver: $STORAGE_DRIVER, default vfs (works everywhere, also inside a
# container; `STORAGE_DRIVER=overlay` takes less disk where the kernel allows it). Use the
# same for make-base.sh and build.sh: each driver keeps its own images.
set -euo pipefail

SUITE=bookworm
VARIANT=minbase
ARCH=$(dpkg --print-architecture)
CACHE=${HOTLINE_CACHE_DIR:-/var/cache/hotline}
IMAGE=localhost/hotline-base:$SUITE
REFRESH=false
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
# buildah 1.28 reads the driver from storage.conf only, not from $STORAGE_DRIVER: say it.
buildah() { command buildah --storage-driver "$STORAGE_DRIVER" "$@"; }

say() { echo "make-base: $*" >&2; }
die() { say "$*"; exit 1; }

# The mirrors this machine's apt uses (a deb822 debian.sources or a one-line sources.list), so
# the base pulls from where the host already can; deb.debian.org when neither names one.
host_uri() { # host_uri SUFFIX: the first URI of the host's sources ending in SUFFIX
  cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v '^ *#' |
    grep -oE "https?://[^ ]+$1/?( |$)" | head -n1 | tr -d ' ' | sed 's|/$||' || true
}
MIRROR=$(host_uri /debian)
SECURITY=$(host_uri /debian-security)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

while [ $# -gt 0 ]; do
  case $1 in
    --cache-dir) CACHE=${2:?--cache-dir DIR}; shift 2 ;;
    --mirror) MIRROR=${2:?--mirror URL}; shift 2 ;;
    --security) SECURITY=${2:?--security URL}; shift 2 ;;
    --image) IMAGE=${2:?--image NAME}; shift 2 ;;
    --refresh) REFRESH=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root: debootstrap and chroot need it"
command -v debootstrap >/dev/null ||
  die "debootstrap is missing: scripts/deps.sh installs it (or apt-get install debootstrap)"

TARBALL=$CACHE/base/$SUITE-$VARIANT-$ARCH.tar
mkdir -p "$CACHE/base"

# The root file system as debootstrap leaves it, plus what an image base needs: the updates
# and security suites, no recommends, no downloaded .debs or package lists kept, no manual
# pages or translations (as Debian's own slim images), and no host resolver or host name.
make_tarball() {
  local work=$CACHE/base/work.$$ t0=$SECONDS
  rm -rf "$work"
  mkdir -p "$work"
  say "debootstrap --variant=$VARIANT $SUITE from $MIRROR (a minute or two) ..."
  if ! debootstrap --variant="$VARIANT" --arch="$ARCH" "$SUITE" "$work/root" "$MIRROR" \
       >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    # debootstrap mounts /proc and /sys in the target while it runs; never leave them behind
    umount -R "$work/root/proc" "$work/root/sys" 2>/dev/null || true
    die "debootstrap failed (whole log: $work/debootstrap.log)"
  fi
  local r=$work/root
  cat >"$r/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
  cat >"$r/etc/apt/apt.conf.d/90hotline-image" <<'EOF'
// An image installs only what it asks for and keeps no package files or lists.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Binary::apt::APT::Keep-Downloaded-Packages "false";
EOF
  cat >"$r/etc/dpkg/dpkg.cfg.d/90hotline-image" <<'EOF'
# Manual pages, info and translations are never read in a container; copyrights stay.
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
EOF
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/*
  find "$r/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  chroot "$r" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/log/* "$r"/tmp/* \
         "$r"/etc/resolv.conf "$r"/etc/hostname
  # The tarball, then renamed: a reader never sees half of one.
  tar --numeric-owner --xattrs -C "$r" -cf "$work/base.tar" .
  mv "$work/base.tar" "$TARBALL"
  printf 'suite=%s variant=%s arch=%s mirror=%s security=%s made=%s\n' "$SUITE" "$VARIANT" \
    "$ARCH" "$MIRROR" "$SECURITY" "$(date -u +%FT%TZ)" >"$TARBALL.info"
  rm -rf "$work"
  say "made $TARBALL ($(du -m "$TARBALL" | cut -f1) MB) in $(( SECONDS - t0 )) s"
}

# One maker at a time: two runs at once wait for each other and share the tarball.
exec 9>"$CACHE/base/.lock"
flock 9
if [ "$REFRESH" = true ] || [ ! -s "$TARBALL" ]; then
  make_tarball
else
  say "cached: $TARBALL ($(cut -d' ' -f6 "$TARBALL.info" 2>/dev/null)); --refresh makes it anew"
fi

type -P buildah >/dev/null ||
  die "buildah is missing: scripts/deps.sh installs it (or apt-get install buildah)"
# The image remembers which tarball it was made from: the same one -> nothing to do.
SUM=$(sha256sum "$TARBALL" | cut -c1-64)
if [ "$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "org.hotline.base.tarball"}}' \
        "$IMAGE" 2>/dev/null)" = "$SUM" ]; then
  say "up to date: $IMAGE (storage driver $STORAGE_DRIVER)"
  exit 0
fi
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add "$ctr" "$TARBALL" / >/dev/null    # a local tarball is unpacked, owners kept
buildah config --os linux --arch "$ARCH" \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --label "org.hotline.base.tarball=$SUM" \
  --label "org.opencontainers.image.description=Debian $SUITE ($VARIANT), debootstrapped from $MIRROR" \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$IMAGE" >/dev/null
trap - EXIT
say "committed $IMAGE (storage driver $STORAGE_DRIVER): $(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)"
