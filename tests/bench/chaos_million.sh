#!/usr/bin/env bash
# The chaos suite (tests/chaos/test_chaos_suite.sh) at benchmark size: 1,000,000 tickets through
# the Release build, each service's data on a loop-mounted ext4 image on the real disk (so
# commits flush to the disk and a filler makes it really full), SIGKILLs of every service for
# 2 minutes, dispatch stopped for 3 minutes, 20 s of disk full on each service in turn, the
# clock jumps, and the final jump past every ladder (9 steps per ticket), then the independent
# checker over every log. Prints the suite's figures as JSON (also to CHAOS_SUMMARY).
# Usage: tests/bench/chaos_million.sh   (as root; about 40 minutes on 2 cores; any of the
# suite's variables overrides the sizes below)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -n "${HOTLINE_BIN:-}" ] || [ -x build/release/bin/hotline-intake ] || {
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/release -j2 >/dev/null
}
export HOTLINE_BIN=${HOTLINE_BIN:-$PWD/build/release/bin}
export CHAOS_N=${CHAOS_N:-1000000} CHAOS_ROUND=${CHAOS_ROUND:-50000} CHAOS_RATE=${CHAOS_RATE:-2500}
export KILL_SECONDS=${KILL_SECONDS:-120} STOP_SECONDS=${STOP_SECONDS:-180}
export FULL_HOLD_SECONDS=${FULL_HOLD_SECONDS:-20} JUMP_KILLS=${JUMP_KILLS:-3}
export CHAOS_FS=${CHAOS_FS:-ext4} CHAOS_FS_MB=${CHAOS_FS_MB:-40960}
export DRAIN_SECONDS=${DRAIN_SECONDS:-7200} SETTLE_SECONDS=${SETTLE_SECONDS:-1800} CHAOS_CONTROLS=${CHAOS_CONTROLS:-0}
export CHAOS_SUMMARY=${CHAOS_SUMMARY:-/var/tmp/hotline-chaos-million.json}
echo "# $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576) " GiB"}' /proc/meminfo), $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null)"
exec bash tests/chaos/test_chaos_suite.sh
