#!/usr/bin/env bash
# Runs the e-graph workloads that egg's figures cover (../shared/bench/egg-figures.md) with
# `eqopt bench-egraph --reps 3 --json` and prints a Markdown table: wall ms (median of 3),
# search/apply/rebuild ms, iterations, stop, e-nodes, e-classes, peak RSS.
# Usage: bench/egraph_table.sh [BUILD_DIR]     (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
eqopt="${1:-build}/bin/eqopt"
export OMP_NUM_THREADS=1
runs=(
  "W2 simple" "W2 backoff" "W3 simple" "W3:4 simple" "W3 backoff"
  "W1b/simplify_root simple" "W1b/simplify_factor simple"
  "W1a/simplify_factor simple" "W1a/simplify_const simple" "W1a/simplify_root backoff"
)
echo "| workload | scheduler | wall ms (median of 3) | search / apply / rebuild ms | iterations | stop | e-nodes | e-classes | peak RSS MiB |"
echo "|---|---|---:|---|---:|---|---:|---:|---:|"
for r in "${runs[@]}"; do
  set -- $r
  "$eqopt" bench-egraph "$1" --scheduler "$2" --reps 3 --json |
    /usr/bin/python3 -c '
import json, sys
for w in json.load(sys.stdin):
    print("| %s | %s | %.1f | %.1f / %.1f / %.1f | %d | %s | %s | %s | %.0f |" % (
        w["workload"], w["scheduler"], w["wall_ms_median"], w["search_ms"], w["apply_ms"], w["rebuild_ms"],
        w["iterations"], w["stop"], format(w["enodes"], ","), format(w["eclasses"], ","), w["peak_rss_mib"]))
'
done
