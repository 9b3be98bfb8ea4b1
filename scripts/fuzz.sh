#!/usr/bin/env bash
# Build the libFuzzer targets with clang and run each for N seconds (default 60) on its corpus.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}

CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DHOTLINE_FUZZ=ON >/dev/null
cmake --build build/fuzz -j"$(nproc)" >/dev/null
for target in build/fuzz/bin/fuzz_*; do
  name=$(basename "$target")
  corpus=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${SECONDS_EACH}s"
  mkdir -p build/fuzz/artifacts
  if ! "$target" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
        -artifact_prefix=build/fuzz/artifacts/ \
        -rss_limit_mb=2048 -print_final_stats=1 "$work" > "$work.log" 2>&1; then
    tail -n 40 "$work.log"
    echo "fuzz: $name FAILED (input saved under build/fuzz/artifacts/)"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$work.log" | tail -n 2 || true
  rm -rf "$work" "$work.log"
done
