#!/bin/bash
# The runtime stage of the image, run as root inside the image being built (the Containerfile's
# RUN). A script rather than RUN lines: shellcheck reads it, and it sets up any Debian 12 root
# the same way (a chroot, a VM).
#
#   runtime-setup.sh DEB ENTRYPOINT
#
# DEB is the hotline package (`cpack -G DEB`): apt installs it from the file and pulls the
# runtime libraries its Depends name (dpkg-shlibdeps wrote them from the binaries, so a
# sanitizer build brings libasan8 / libubsan1 by itself). ENTRYPOINT is hotline-entrypoint.
set -euo pipefail
DEB=${1:?usage: runtime-setup.sh DEB ENTRYPOINT}
ENTRYPOINT=${2:?usage: runtime-setup.sh DEB ENTRYPOINT}

# A fixed uid and gid, made before the package: its postinst then finds the user and leaves
# it, and volumes and Kubernetes' runAsUser / fsGroup can name 10001 in advance. No login, no
# home but the state.
HOTLINE_UID=10001
groupadd --gid "$HOTLINE_UID" hotline
useradd --uid "$HOTLINE_UID" --gid hotline --home-dir /var/lib/hotline --no-create-home \
  --shell /usr/sbin/nologin hotline

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# curl: the health check's HTTP client; ca-certificates: the webhooks (crews, the survey
# gateway) verify https peers against it.
apt-get install -y -qq --no-install-recommends "$DEB" curl ca-certificates >/dev/null
install -m 0755 "$ENTRYPOINT" /usr/bin/hotline-entrypoint

# State (the volume) and the port files the health check reads, both the service user's. Each
# service's directory is there already: a volume mounted on it alone (deploy/compose) starts
# with the image directory's owner, not root's.
install -d -m 0750 -o hotline -g hotline /var/lib/hotline
for s in intake dispatch sla callback analytics; do
  install -d -m 0750 -o hotline -g hotline "/var/lib/hotline/$s"
done
install -d -m 0755 -o hotline -g hotline /run/hotline

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
       /var/cache/debconf/*-old
hotline --version >/dev/null
for s in intake dispatch sla callback analytics; do "hotline-$s" --version >/dev/null; done
echo "runtime-setup: hotline $(dpkg-query -W -f '${Version}' hotline) installed; user hotline ($HOTLINE_UID)"
