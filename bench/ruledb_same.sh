#!/usr/bin/env bash
# Checks that two eqopt builds (or two rule databases) behave the same on every shared model: the
# same e-graph (node and class counts, iterations, stop reason, unions per rule, and the saved
# e-graph file, byte for byte but for the addresses that name If/Loop bodies in it), the same
# extracted program (the optimized ONNX file and the target program byte for byte) and the same
# estimated costs, for standard ONNX output and for each target (cpu, gpu, npu). Saturation is
# made independent of the clock: the time budget and time limit are made large, so it stops on
# its iteration or node limit or at saturation, and extraction is the greedy one (the exact one
# stops on a time limit on some models; with the e-graphs identical, any deterministic extractor
# gives the same program).
#
# Usage: bench/ruledb_same.sh BEFORE_BIN AFTER_BIN [BEFORE_RULES_DIR AFTER_RULES_DIR] [MODELS_DIR]
#   e.g. bench/ruledb_same.sh /tmp/old/eqopt build/bin/eqopt /tmp/old/ruledb ruledb
# Without rule folders each binary uses the ruledb/ it was built from; with them, the two folders'
# rules are also compared as text (`AFTER_BIN rules list --expanded`). Prints a line for the rules
# and one per model and output, then a summary; exits 1 when anything differs.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,16p "$0" >&2; exit 2; }
before_bin="$1" after_bin="$2"
before_rules="${3:-}" after_rules="${4:-}"
models="${5:-$(dirname "$0")/../../shared/models}"
[ -x "$before_bin" ] && [ -x "$after_bin" ] || { echo "ruledb_same: binaries not found" >&2; exit 2; }
[ -d "$models" ] || { echo "ruledb_same: no models folder $models" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1
opts=(--time-budget 100000 --time-limit 100000 --extractor greedy)

run() {  # run SIDE BIN RULES MODEL TARGET
  local side="$1" bin="$2" rules="$3" m="$4" t="$5" d
  d="$out/$side/$(basename "$m" .onnx).$t"
  mkdir -p "$d"
  local extra=()
  [ -n "$rules" ] && extra+=(--rules "$rules")
  [ "$t" != onnx ] && extra+=(--target "$t" --program "$d/program.onnx")
  "$bin" optimize "$m" -o "$d/model.onnx" --json "$d/report.json" --save-egraph "$d/egraph.json" \
    "${opts[@]}" "${extra[@]}" >/dev/null
}

fail=0 n=0
# The rules themselves: both folders as the optimizer runs them (directed, predicates and variants
# expanded), printed by the newer binary, must be the same text.
if [ -n "$before_rules" ] && [ -n "$after_rules" ]; then
  "$after_bin" rules list --expanded "$before_rules" >"$out/rules.before"
  "$after_bin" rules list --expanded "$after_rules" >"$out/rules.after"
  n=$((n + 1))
  if diff -u "$out/rules.before" "$out/rules.after" >"$out/rules.diff"; then
    echo "rules: the same $(grep -c '^rule ' "$out/rules.after") directed rules"
  else
    echo "rules: DIFFERENT"; head -40 "$out/rules.diff"; fail=$((fail + 1))
  fi
fi
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  for t in onnx cpu gpu npu; do
    run before "$before_bin" "$before_rules" "$m" "$t"
    run after "$after_bin" "$after_rules" "$m" "$t"
    n=$((n + 1))
    if ! /usr/bin/python3 - "$out/before/$b.$t" "$out/after/$b.$t" "$b" "$t" <<'PY'; then fail=$((fail + 1)); fi
import filecmp, json, os, re, sys
a, b, model, target = sys.argv[1:5]
ra, rb = json.load(open(os.path.join(a, "report.json"))), json.load(open(os.path.join(b, "report.json")))
keys = ["enodes", "eclasses", "iterations", "stop", "nodes_after", "ops_after", "rules_fired",
        "estimated_cost_ms", "nodes_target_program", "ops_target_program"]
diff = [k for k in keys if ra.get(k) != rb.get(k)]
for f in ["model.onnx", "program.onnx"]:
    fa, fb = os.path.join(a, f), os.path.join(b, f)
    if os.path.exists(fa) != os.path.exists(fb) or (os.path.exists(fa) and not filecmp.cmp(fa, fb, shallow=False)):
        diff.append(f)
# Subgraph attributes are named by their address in the saved e-graph: not part of the comparison.
norm = lambda p: re.sub(r"graph:[0-9]+", "graph:_", open(p).read())
if norm(os.path.join(a, "egraph.json")) != norm(os.path.join(b, "egraph.json")):
    diff.append("egraph.json")
print("%-36s %-4s %6d e-nodes %6d e-classes %2d it %-15s %s" % (
    model, target, rb["enodes"], rb["eclasses"], rb["iterations"], rb["stop"],
    "same" if not diff else "DIFFERENT: " + ", ".join(diff)))
sys.exit(1 if diff else 0)
PY
  done
done
echo "$((n - fail)) of $n runs the same"
[ "$fail" -eq 0 ]
