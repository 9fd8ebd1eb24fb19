#!/usr/bin/env bash
# eqopt's compiled CPU plans against ONNX Runtime 1.30 (npm onnxruntime-node, graph optimization
# level "all", its default) on every shared model, at 1 and 2 threads.
#
# Per model: `eqopt MODEL --target cpu -o OUT` (the optimizer with its default 2 s budget, then the
# plan compiler; the input shapes of the reference data are given, so dynamic models get a plan too),
# then bench/ort/cpu_vs_ort.js: ORT in a Node process and the plan in a child `eqopt bench --serve`,
# timed interleaved round by round (alternating which goes first) on the reference inputs; the
# median of ROUNDS samples each, and the median of the per-round ratios ORT/eqopt (above 1: eqopt
# is faster). The plan's outputs are checked against the reference data first (eqopt check).
# Neither side spins while idle (ORT: session.intra_op.allow_spinning=0; eqopt: OMP_WAIT_POLICY=passive):
# with spinning, 2-thread runs on a 2-core machine shared with anything else collapse.
# Prints a markdown table (the one in docs/cpu.md) and the geometric mean of the speedups.
#
# Usage: bench/cpu_vs_ort.sh [--build DIR] [--rounds N] [--threads "1 2"] [--keep DIR] [MODEL_NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "cpu_vs_ort: $*" >&2; exit 2; }
build=build rounds=20 threads="1 2" keep=""
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -*) die "unknown option $1" ;;
    *) names+=("$1"); shift ;;
  esac
done
eqopt="$build/bin/eqopt"
[ -x "$eqopt" ] || die "$eqopt is not built (scripts/build.sh)"
models=../shared/models
[ -d "$models" ] || die "$models is missing"
command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
  (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null 2>&1) ||
    die "npm install of onnxruntime-node in bench/ort failed"
fi
out="${keep:-$(mktemp -d)}"
mkdir -p "$out"
[ ${#names[@]} -gt 0 ] || names=($(cd "$models" && ls *.onnx | sed 's/\.onnx$//'))

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; $("$eqopt" --version)"
echo
header="| model | compile s | kernels (oneDNN/own/interp) | arena MiB |"
sep="|---|---:|---|---:|"
for t in $threads; do header+=" ORT ${t}T ms | eqopt ${t}T ms | speedup ${t}T (p10-p90) |"; sep+="---:|---:|---|"; done
echo "$header"
echo "$sep"
declare -A logsum count
for b in "${names[@]}"; do
  m="$models/$b.onnx"
  data="$models/$b.testdata/test_data_set_0"
  [ -f "$m" ] || die "$m is missing"
  shapes=$(node bench/ort/ort_run.js "$m" "$data" --shapes 1)
  start=$(date +%s.%N)
  OMP_NUM_THREADS=1 "$eqopt" "$m" --target cpu -o "$out/$b" --quiet $shapes > "$out/$b.compile.txt" 2>&1 ||
    { echo "| $b | compile failed: $(tail -1 "$out/$b.compile.txt") |"; continue; }
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  OMP_NUM_THREADS=1 "$eqopt" check "$out/$b" --data "$models/$b.testdata" --atol 1e-4 --threads 1 > "$out/$b.check.txt" 2>&1 ||
    { echo "| $b | outputs differ: $(head -1 "$out/$b.check.txt") |"; continue; }
  k=$(grep -m1 'kernels:' "$out/$b/report.txt" | sed -E 's/.*\(oneDNN ([0-9]+), own ([0-9]+), reorders [0-9]+, interpreter ([0-9]+)\).*/\1\/\2\/\3/')
  arena=$(grep -m1 'arena' "$out/$b/report.txt" | sed -E 's/.*\(arena\): ([0-9.]+) MiB.*/\1/')
  row="| $b | $(printf %.2f "$secs") | $k | $(printf %.1f "$arena") |"
  for t in $threads; do
    j=$(node bench/ort/cpu_vs_ort.js "$m" "$data" "$eqopt" "$out/$b" --threads "$t" --rounds "$rounds")
    echo "$j" > "$out/$b.$t.json"
    read -r o e s lo hi < <(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.ort_median_ms.toFixed(2),j.eqopt_median_ms.toFixed(2),j.speedup_median.toFixed(2),j.speedup_p10.toFixed(2),j.speedup_p90.toFixed(2))' "$j")
    row+=" $o | $e | $s ($lo-$hi) |"
    logsum[$t]=$(awk -v a="${logsum[$t]:-0}" -v s="$s" 'BEGIN { print a + log(s) }')
    count[$t]=$(( ${count[$t]:-0} + 1 ))
  done
  echo "$row"
done
echo
for t in $threads; do
  [ "${count[$t]:-0}" -gt 0 ] && echo "geometric mean speedup at $t thread(s): $(awk -v a="${logsum[$t]}" -v n="${count[$t]}" 'BEGIN { printf "%.2f", exp(a / n) }') over ${count[$t]} models"
done
[ -n "$keep" ] || rm -rf "$out"
