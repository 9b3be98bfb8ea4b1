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
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
