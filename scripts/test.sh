#!/usr/bin/env bash
# The test command: install what is missing, build with warnings as errors under
# AddressSanitizer + UndefinedBehaviorSanitizer, run every test, then fuzz each decoder briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

scripts/deps.sh
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DHOTLINE_SANITIZE=ON -DHOTLINE_WERROR=ON >/dev/null
cmake --build build/asan -j"$JOBS"
(cd build/asan && ctest --output-on-failure -j"$JOBS")
scripts/fuzz.sh "${HOTLINE_FUZZ_SECONDS:-10}"
echo "all tests passed"
