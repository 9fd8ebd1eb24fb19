#!/usr/bin/env bash
# Optimizes every shared model with `eqopt optimize --json` and prints a Markdown table: node
# counts before and after, rules fired, e-graph size and stop reason, estimated cost before and after
# (eqopt's placeholder cost model), pipeline time (load, import, saturate, extract, export) and whether
# `eqopt check` still passes against the model's reference data.
# Usage: bench/optimize_models.sh [BUILD_DIR] [MODELS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
eqopt="${1:-build}/bin/eqopt"
models="${2:-../shared/models}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1
echo "| model | nodes before | nodes after | rules fired (unions) | e-nodes | iterations, stop | est. cost before → after (ms) | total ms | check |"
echo "|---|---:|---:|---|---:|---|---|---:|---|"
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  "$eqopt" optimize "$m" -o "$out/$b.onnx" --json "$out/$b.json" >/dev/null
  if "$eqopt" check "$out/$b.onnx" --data "$models/$b.testdata" --atol 1e-4 --quiet >/dev/null; then ok=pass; else ok=FAIL; fi
  /usr/bin/python3 - "$out/$b.json" "$b" "$ok" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
fired = ", ".join("%s %d" % (k, v) for k, v in sorted(r["rules_fired"].items())) or "-"
t = r["time_ms"]
c = r["estimated_cost_ms"]
print("| %s | %d | %d | %s | %d | %d, %s | %.2f → %.2f | %.0f | %s |" % (sys.argv[2], r["nodes_before"], r["nodes_after"],
      fired, r["enodes"], r["iterations"], r["stop"], c["before"], c["after"], sum(t.values()), sys.argv[3]))
PY
done
