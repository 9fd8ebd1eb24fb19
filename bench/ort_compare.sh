#!/usr/bin/env bash
# ONNX Runtime 1.30 (npm onnxruntime-node, CPU, one thread, median of 20 runs after 3 warm-up runs)
# latency of every shared model: (a) the original with ORT's optimizer off, (b) the original with
# it fully on, (c) eqopt's output with ORT's optimizer off, (d) eqopt's output with it on, and (e) the
# original at ORT's "extended" level (its fusions without the NCHWc layout change of "all"). Also checks
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
echo "| model | (a) orig, ORT opt off | (b) orig, ORT opt on | (c) eqopt, ORT opt off | (d) eqopt, ORT opt on | (e) orig, ORT extended | c/a | c/b | c/e | d/b | eqopt output matches in ORT |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  data="$models/$b.testdata"
  "$eqopt" optimize "$m" -o "$out/$b.onnx" >/dev/null
  a=$(node bench/ort/ort_run.js "$m" "$data" --opt disabled)
  bb=$(node bench/ort/ort_run.js "$m" "$data" --opt all)
  c=$(node bench/ort/ort_run.js "$out/$b.onnx" "$data" --opt disabled)
  d=$(node bench/ort/ort_run.js "$out/$b.onnx" "$data" --opt all)
  e=$(node bench/ort/ort_run.js "$m" "$data" --opt extended)
  echo "$b $a" >>"$out/a.txt"; echo "$b $bb" >>"$out/b.txt"; echo "$b $c" >>"$out/c.txt"; echo "$b $d" >>"$out/d.txt"; echo "$b $e" >>"$out/e.txt"
  /usr/bin/python3 - "$b" "$a" "$bb" "$c" "$d" "$e" <<'PY'
import json, sys
name = sys.argv[1]
a, b, c, d, e = (json.loads(x) for x in sys.argv[2:7])
ok = "yes" if c["ok"] and d["ok"] else "NO (max abs err %.2g)" % max(c["max_abs_err"], d["max_abs_err"])
A, B, C, D, E = (x["median_ms"] for x in (a, b, c, d, e))
print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s |" % (name, A, B, C, D, E, C / A, C / B,
      C / E, D / B, ok))
PY
done
/usr/bin/python3 - "$out" <<'PY'
import json, math, sys
col = {}
for k in "abcde":
    col[k] = [json.loads(line.split(" ", 1)[1])["median_ms"] for line in open("%s/%s.txt" % (sys.argv[1], k))]
gm = {k: math.exp(sum(math.log(x) for x in v) / len(v)) for k, v in col.items()}
print("| geometric mean | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | |" % (gm["a"], gm["b"], gm["c"],
      gm["d"], gm["e"], gm["c"] / gm["a"], gm["c"] / gm["b"], gm["c"] / gm["e"], gm["d"] / gm["b"]))
PY
