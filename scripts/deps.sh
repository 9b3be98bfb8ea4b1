#!/usr/bin/env bash
# Install the Debian packages Hotline builds, tests and runs with, if any is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang   # compilers; clang for the libFuzzer targets
  libzmq3-dev                              # ZeroMQ: commands and feeds between services
  libprotobuf-c-dev protobuf-c-compiler    # wire schemas and their C code
  liblmdb-dev lmdb-utils                   # each service's durable state and event log
  libuv1-dev                               # the event loop
  libhttp-parser-dev                       # HTTP/1.1 request parsing
  libjansson-dev                           # JSON
  libcurl4-openssl-dev                     # outbound HTTP (webhooks, connectors)
  libsodium-dev                            # hashing (tokens, keys) and base64
  libcmocka-dev                            # unit tests
  tzdata                                   # the tz database: calendar.zone and its tests
  curl                                     # HTTP client in tests and the demo
  prometheus                               # promtool checks the /metrics format in tests
  protobuf-compiler python3-protobuf       # wire-compatibility checks against protoc
  procps psmisc                            # ps / pkill / fuser used by the scripts
  wrk                                      # HTTP load for the intake benchmark
  systemd dpkg-dev lintian                 # systemd-analyze verifies the units; dpkg-shlibdeps
                                           # gives the Debian package its library dependencies;
                                           # lintian checks the package
  help2man                                 # manual pages from each program's --help
  docker-compose                           # `docker-compose config` checks deploy/compose (it
                                           # needs no Docker engine)
  debootstrap buildah                      # the container image: its Debian 12 base made from
                                           # the archive, built without a registry or daemon
)
# Node.js and npm run the Kubernetes manifest checks (tests/support/k8s-validate): Debian's, unless
# a node and an npm are there already (NodeSource's nodejs carries npm and conflicts with Debian's).
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The manifest validator's npm packages (kubernetes-models, typescript, yaml), exactly as its
# lockfile says, into tests/support/k8s-validate/node_modules (git-ignored); again only when the
# lockfile changes.
V=$(cd "$(dirname "$0")/.." && pwd)/tests/support/k8s-validate
want=$(sha256sum "$V/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$V/node_modules/.lock-sha256" 2>/dev/null)" != "$want" ]; then
  echo "installing the npm packages of tests/support/k8s-validate (npm ci)"
  (cd "$V" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$V/node_modules/.lock-sha256"
fi
