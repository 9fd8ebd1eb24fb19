#!/usr/bin/env bash
# Newcomer command 2: install what is missing, build eqopt with its tests, and run every test,
# first in the release build (build/), then in the AddressSanitizer + UndefinedBehaviorSanitizer
# build (build-asan/).
#   scripts/test.sh                 both builds (what CI runs)
#   scripts/test.sh --release-only  release build only
#   scripts/test.sh --asan-only     sanitizer build only
set -euo pipefail
cd "$(dirname "$0")/.."

kinds=(release asan)
case "${1:-}" in
  "") ;;
  --release-only) kinds=(release) ;;
  --asan-only) kinds=(asan) ;;
  *) echo "usage: scripts/test.sh [--release-only|--asan-only]" >&2; exit 2 ;;
esac

scripts/install-deps.sh

# Oversubscribed threads run many times slower on small machines: one per test, two tests at once.
export OMP_NUM_THREADS=1
# The machine's cores: GNU nproc reports OMP_NUM_THREADS instead when it is set (test.sh sets it
# to 1 for the tests), so read the count without it.
jobs="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)"
for kind in "${kinds[@]}"; do
  dir=build
  [ "$kind" = asan ] && dir=build-asan
  echo "== $kind build ($dir/)"
  scripts/build.sh "$kind"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 1200)
done
