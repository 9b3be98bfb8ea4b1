#!/usr/bin/env bash
# Build an optimised (Release) tree and run every benchmark; each prints JSON lines.
# Usage: scripts/bench.sh [DATA_DIR_FOR_DISK_BENCHES]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$(mktemp -d /var/tmp/hotline-bench.XXXXXX)}
mkdir -p "$DIR"
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
echo "# $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576) " GiB"}' /proc/meminfo), disk of $DIR: $(df -h "$DIR" | awk 'NR==2 {print $1}')"
build/release/bin/bench_fsync "$DIR" 3
build/release/bin/bench_commit "$DIR" 3 200
build/release/bin/bench_scheduler "$DIR" 1000000
build/release/bin/bench_incident_close "$DIR" 5000
build/release/bin/bench_incident_close "$DIR" 12000
HOTLINE_BIN=$PWD/build/release/bin bash tests/bench/bench_feed.sh
HOTLINE_BIN=$PWD/build/release/bin HOTLINE_SRC=$PWD bash tests/bench/bench_intake.sh 200000
HOTLINE_BIN=$PWD/build/release/bin HOTLINE_SRC=$PWD bash tests/bench/bench_pipeline.sh 200000
