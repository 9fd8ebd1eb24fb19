#!/usr/bin/env bash
# ONNX Runtime 1.30 (npm onnxruntime-node, CPU, one thread, median of 20 runs after 3 warm-up runs)
# latency of every shared model: (a) the original with ORT's optimizer off, (b) the original with
# it fully on, (c) eqopt's output with ORT's optimizer off, (d) eqopt's output with it on. Also checks
# that ORT reproduces each model's reference outputs from eqopt's output (rtol 1e-3, atol 1e-4).
# Needs node and npm (Debian: nodejs npm); installs onnxruntime-node into bench/ort/node_modules.
# Usage: bench/ort_compare.sh [BUILD_DIR] [MODELS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
eqopt="${1:-build}/bin/eqopt"
models="${2:-../shared/models}"
command -v node >/dev/null || { echo "ort_compare: node is not installed (apt-get install nodejs npm)" >&2; exit 2; }
if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
  (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1
echo "| model | (a) orig, ORT opt off | (b) orig, ORT opt on | (c) eqopt, ORT opt off | (d) eqopt, ORT opt on | c/a | d/b | eqopt output matches in ORT |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  data="$models/$b.testdata"
  "$eqopt" optimize "$m" -o "$out/$b.onnx" >/dev/null
  a=$(node bench/ort/ort_run.js "$m" "$data" --opt disabled)
  bb=$(node bench/ort/ort_run.js "$m" "$data" --opt all)
  c=$(node bench/ort/ort_run.js "$out/$b.onnx" "$data" --opt disabled)
  d=$(node bench/ort/ort_run.js "$out/$b.onnx" "$data" --opt all)
  /usr/bin/python3 - "$b" "$a" "$bb" "$c" "$d" <<'PY'
import json, sys
name = sys.argv[1]
a, b, c, d = (json.loads(x) for x in sys.argv[2:6])
ok = "yes" if c["ok"] and d["ok"] else "NO (max abs err %.2g)" % max(c["max_abs_err"], d["max_abs_err"])
print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s |" % (name, a["median_ms"], b["median_ms"], c["median_ms"],
      d["median_ms"], c["median_ms"] / a["median_ms"], d["median_ms"] / b["median_ms"], ok))
PY
done
