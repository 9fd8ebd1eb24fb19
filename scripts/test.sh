#!/usr/bin/env bash
# Newcomer command 2: install what is missing, build eqopt with its tests, and run every test.
#   scripts/test.sh           release build, whole suite
#   scripts/test.sh --asan    the same suite in an ASan + UBSan build (build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."

kind=release
dir=build
if [ "${1:-}" = "--asan" ]; then kind=asan; dir=build-asan; fi

scripts/install-deps.sh
scripts/build.sh "$kind"

# Oversubscribed threads run many times slower on small machines: one per test, two tests at once.
export OMP_NUM_THREADS=1
jobs="$(nproc 2>/dev/null || echo 2)"
cd "$dir"
ctest --output-on-failure -j "$jobs" --timeout 1200
