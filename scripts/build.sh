#!/usr/bin/env bash
# Configures and builds eqopt. Usage: scripts/build.sh [release|debug|asan]  (default release)
# Build folders: build/ (release), build-debug/, build-asan/ (ASan + UBSan, Debug).
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-release}"
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug)   dir=build-debug; flags=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan)    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DEQOPT_SANITIZE=ON) ;;
  *) echo "usage: scripts/build.sh [release|debug|asan]" >&2; exit 2 ;;
esac

# The machine's cores: GNU nproc reports OMP_NUM_THREADS instead when it is set (test.sh sets it
# to 1 for the tests), so read the count without it.
jobs="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)"
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
echo "built $dir/bin/eqopt"
