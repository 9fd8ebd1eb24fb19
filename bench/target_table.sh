#!/usr/bin/env bash
# Evidence that targets matter (docs/targets.md): for every shared model, one saturated e-graph, the
# best program for each target (cpu, gpu, npu), and every program's estimated time on every target
# (`eqopt targets compare`). Prints two markdown tables: estimated ms per target row with the
# original and each target's best program as columns (the row's own target marked), and the exact
# extractor's gain over the greedy tree-cost extractor on the same e-graphs.
# Usage: bench/target_table.sh [BUILD_DIR] [MODELS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
eqopt="${1:-build}/bin/eqopt"
models="${2:-../shared/models}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  shapes=()
  if command -v node >/dev/null && [ -d bench/ort/node_modules/onnxruntime-node ]; then
    # shellcheck disable=SC2207
    shapes=($(node bench/ort/ort_run.js "$m" "$models/$b.testdata" --shapes 1))
  fi
  start=$(date +%s%N)
  "$eqopt" targets compare "$m" "${shapes[@]}" --json >"$out/$b.json"
  echo "$b $(( ($(date +%s%N) - start) / 1000000 ))" >>"$out/times.txt"
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
times = dict(l.split() for l in open(os.path.join(out, "times.txt")))
files = sorted(glob.glob(os.path.join(out, "*.json")))
print("| model | target | original | best for cpu | best for gpu | best for npu | own best cheapest | programs differ |")
print("|---|---|---:|---:|---:|---:|---|---|")
ok_all = True
differ_models = 0
for f in files:
    j = json.load(open(f))
    name = os.path.basename(f)[:-5]
    targets = j["targets"]
    same = {r["target"]: r["extraction"]["same_program_as"] for r in j["rows"]}
    distinct = len(set(same.values()))
    differ_models += distinct > 1
    for r in j["rows"]:
        t = r["target"]
        own = r["program_ms"][t]
        cheapest = all(own <= v * (1 + 1e-9) for v in r["program_ms"].values())
        ok_all &= cheapest
        cells = []
        for u in targets:
            v = r["program_ms"][u]
            cells.append(("**%.3f**" if u == t else "%.3f") % v)
        print("| %s | %s | %.3f | %s | %s | %s |" % (name, t, r["original_ms"], " | ".join(cells), "yes" if cheapest else "NO",
              "%d distinct" % distinct if t == targets[0] else ""))
print()
print("own-target program cheapest in every row: %s; models whose programs differ between targets: %d of %d"
      % ("yes" if ok_all else "NO", differ_models, len(files)))
print()
print("| model | e-nodes | target | greedy tree-cost ms | heuristic ms | best ms | gain over tree-greedy | method | ILP |")
print("|---|---:|---|---:|---:|---:|---:|---|---|")
for f in files:
    j = json.load(open(f))
    name = os.path.basename(f)[:-5]
    for r in j["rows"]:
        e = r["extraction"]
        gain = 100 * (1 - e["best_ms"] / e["greedy_tree_ms"]) if e["greedy_tree_ms"] > 0 else 0
        print("| %s | %d | %s | %.4f | %.4f | %.4f | %.2f%% | %s | %s, %.0f ms |" % (name, j["enodes"], r["target"],
              e["greedy_tree_ms"], e["heuristic_ms"], e["best_ms"], gain, e["method"] + (" (optimal)" if e["optimal"] else ""),
              e["ilp_status"], e["ilp_ms"]))
print()
print("wall time per model (s): " + ", ".join("%s %.1f" % (k, float(v) / 1000) for k, v in sorted(times.items())))
PY
