#!/usr/bin/env bash
# Exact extraction at model scale (docs/targets.md): every shared model optimized with the default
# options, as a user runs it — `eqopt optimize MODEL -o OUT.onnx` (standard ONNX, cpu costs) and
# `eqopt MODEL --target T` for cpu, gpu and npu — and, from each report, the e-graph's size, what the
# exact extraction reduced it to, its sub-problems, whether optimality was proved (or the gap between
# the best bound and the program found), the time of each phase and the wall time of the whole
# command. Prints one markdown table, then the count of proved models per column.
# Usage: bench/exact_table.sh [BUILD_DIR] [MODELS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
eqopt="${1:-build}/bin/eqopt"
models="${2:-../shared/models}"
[ -x "$eqopt" ] || { echo "exact_table: $eqopt not found (build first: scripts/build.sh)" >&2; exit 2; }
[ -d "$models" ] || { echo "exact_table: no models folder $models" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  for t in onnx cpu gpu npu; do
    start=$(date +%s%N)
    if [ "$t" = onnx ]; then
      "$eqopt" optimize "$m" -o "$out/$b.onnx" --json "$out/$b.$t.json" >/dev/null
    else
      "$eqopt" "$m" --target "$t" -o "$out/$b.$t" >/dev/null
      cp "$out/$b.$t/report.json" "$out/$b.$t.json"
    fi
    echo "$b $t $(( ($(date +%s%N) - start) / 1000000 ))" >>"$out/times.txt"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
times = {}
for line in open(os.path.join(out, "times.txt")):
    b, t, ms = line.split()
    times[(b, t)] = int(ms)
models = sorted({b for b, _ in times})
print("| model | output | e-nodes | exact: e-nodes / after reduction | sub-problems (by CBC) | exact ms | proved | gap | saturate / extract ms | wall s |")
print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
proved = {}
for b in models:
    for t in ("onnx", "cpu", "gpu", "npu"):
        r = json.load(open(os.path.join(out, "%s.%s.json" % (b, t))))
        e = r["extraction"]
        ok = bool(e["optimal"])
        proved[t] = proved.get(t, 0) + ok
        gap = e.get("gap_percent")
        gap_s = "0" if ok else ("%.1f%%" % gap if gap is not None else "?")
        label = "standard ONNX" if t == "onnx" else "--target " + t
        tm = r["time_ms"]
        print("| %s | %s | %d | %d / %d | %d (%d) | %.0f | %s | %s | %.0f / %.0f | %.2f |" % (
            b, label, r["enodes"], e.get("exact_enodes", 0), e.get("exact_kept_enodes", 0), e.get("subproblems", 0),
            e.get("ilp_subproblems", 0), e.get("exact_ms", 0), "yes" if ok else "no", gap_s, tm["saturate"],
            tm["extract"], times[(b, t)] / 1000))
print()
print("proved optimal: " + ", ".join("%s %d of %d" % ("standard ONNX" if t == "onnx" else t, proved[t], len(models))
                                     for t in ("onnx", "cpu", "gpu", "npu")))
worst = max(times.items(), key=lambda kv: kv[1])
print("slowest command: %s %s, %.2f s" % (worst[0][0], worst[0][1], worst[1] / 1000))
PY
