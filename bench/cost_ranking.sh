#!/usr/bin/env bash
# Does the cpu cost model rank programs the way ONNX Runtime's measured times do? For every shared
# model, several programs eqopt can produce (the original; import only: CSE and folding; the default
# optimization; the best standard-ONNX program for each target cpu, gpu and npu), the cpu target's
# estimate (`eqopt info --target cpu`) against ONNX Runtime 1.30's measured latency (CPU, one
# thread, median of 20 runs, optimization level "basic": constant folding and redundant-node
# elimination only, so ORT runs the graph it is given). Prints a markdown table and Spearman's rank
# correlation over all programs, and the mean of the per-model correlations.
# Needs node and npm (Debian: nodejs npm). Usage: bench/cost_ranking.sh [BUILD_DIR] [MODELS_DIR] [TARGET_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
eqopt="${1:-build}/bin/eqopt"
models="${2:-../shared/models}"
target=(--target cpu)
[ -n "${3:-}" ] && target=(--target-file "$3")
command -v node >/dev/null || { echo "cost_ranking: node is not installed (apt-get install nodejs npm)" >&2; exit 2; }
if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
  (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1
: >"$out/rows.txt"
for m in "$models"/*.onnx; do
  b="$(basename "$m" .onnx)"
  data="$models/$b.testdata"
  # shellcheck disable=SC2207
  shapes=($(node bench/ort/ort_run.js "$m" "$data" --shapes 1))
  cp "$m" "$out/$b.original.onnx"
  [ -f "$m.data" ] && cp "$m.data" "$out/"
  "$eqopt" optimize "$m" "${shapes[@]}" --no-rules -o "$out/$b.import-only.onnx" >/dev/null
  "$eqopt" optimize "$m" "${shapes[@]}" -o "$out/$b.optimize.onnx" >/dev/null
  for t in cpu gpu npu; do
    "$eqopt" "$m" "${shapes[@]}" --target "$t" -o "$out/$b.$t" --quiet
    cp "$out/$b.$t/model.onnx" "$out/$b.target-$t.onnx"
  done
  for v in original import-only optimize target-cpu target-gpu target-npu; do
    f="$out/$b.$v.onnx"
    est=$("$eqopt" info "$f" "${shapes[@]}" "${target[@]}" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["estimated_time_ms"])')
    meas=$(node bench/ort/ort_run.js "$f" "$data" --opt basic | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')
    echo "$b $v $est $meas" >>"$out/rows.txt"
  done
done
/usr/bin/python3 - "$out/rows.txt" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r
def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va > 0 and vb > 0 else float("nan")
print("| model | program | estimated ms (cpu) | measured ms (ORT) |")
print("|---|---|---:|---:|")
for b, v, e, m in rows:
    print("| %s | %s | %.3f | %.3f |" % (b, v, float(e), float(m)))
est = [float(r[2]) for r in rows]
meas = [float(r[3]) for r in rows]
print()
print("Spearman over all %d programs: %.3f" % (len(rows), spearman(est, meas)))
per = []
for b in sorted(set(r[0] for r in rows)):
    sub = [r for r in rows if r[0] == b]
    s = spearman([float(r[2]) for r in sub], [float(r[3]) for r in sub])
    if s == s:
        per.append((b, s))
print("Spearman within each model (programs of one model ranked):")
for b, s in per:
    print("  %s: %.3f" % (b, s))
if per:
    print("mean within-model Spearman: %.3f" % (sum(s for _, s in per) / len(per)))
PY
