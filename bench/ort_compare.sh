#!/usr/bin/env bash
# ONNX Runtime 1.30 (npm onnxruntime-node, CPU, one intra-op and one inter-op thread,
# OMP_NUM_THREADS=1) latency of every shared model against eqopt's output for it
# (`eqopt optimize MODEL -o OUT.onnx`, default options), at each ORT graph optimization level:
# "disabled" (ORT runs the graph it is given), "extended" (ORT's own operator fusions) and "all"
# (those plus ORT's blocked NCHWc layout for convolutions).
#
# What is measured: for each model one Node process (bench/ort/ort_run.js --vs) creates a session per
# file and level, warms each up, then times ROUNDS rounds; a round times, for each level, the
# original and eqopt's output back to back, in alternating order, so that load from other processes
# falls on both alike. A sample is the mean of k runs (k makes a sample of the original about 2 ms;
# k = 1 for models slower than that). Per level: the median sample of each file, the ratio of the
# medians eqopt/original, and the 10th-90th percentile of the per-round ratios (its spread).
# Geometric means over the models, and a list of the models whose ratio exceeds 1.02 at any level.
# Every session's outputs are checked against the model's reference outputs (rtol 1e-3, atol 1e-4).
#
# Measured against estimated, at level "disabled" (where ORT's own rewrites do not interfere): the
# estimated ratio is eqopt's report (`--json`): estimated_cost_ms after/before under the cpu
# target's cost model, with the report's unknown dims counted as 1; the estimate of both files at
# the reference inputs' shapes (`eqopt info FILE --target cpu --input-shape ...`) is shown beside
# it. For every model where the measured ratio and the report's ratio differ by more than 10%, ORT's
# profiler (PROFILE_RUNS runs per file at level "disabled") gives the kernel time per op type; op
# types are grouped into the cost model's op classes (targets/cost_model.cpp) and each class's change
# as a share of the original's total is set beside the report's estimated change for that class
# (estimated_cost_by_class_ms). The classes whose shares differ by 3 points or more are the ops
# whose estimates were off. Kernel times leave out ORT's time between kernels, so the profile's
# ratio is printed beside the timed one.
#
# --rt runs the timing process under SCHED_FIFO (chrt -f; needs root or CAP_SYS_NICE) so that other
# processes do not preempt it in the middle of a run: on a busy 2-core machine a preempted run is one
# or two 4 ms scheduler ticks longer, and without --rt those outliers widen the spread several-fold.
# It holds one core for the duration of the timing; everything else runs at normal priority.
#
# Needs node and npm (Debian: nodejs npm); installs onnxruntime-node into bench/ort/node_modules.
# Usage: bench/ort_compare.sh [--build DIR | --eqopt FILE] [--models DIR] [--rounds N] [--warmup N]
#                             [--profile-runs N] [--rt] [--keep DIR] [MODEL_NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bench/ort_compare.sh [--build DIR | --eqopt FILE] [--models DIR] [--rounds N] [--warmup N] [--profile-runs N] [--rt] [--keep DIR] [MODEL_NAME...]"
die() { echo "ort_compare: $*" >&2; exit 2; }
eqopt=build/bin/eqopt
models=../shared/models
rounds=30
warmup=3
profile_runs=20
keep=""
rt=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) echo "$usage"; exit 0 ;;
    --rt) rt=(chrt -f 10); shift ;;
    --build|--eqopt|--models|--rounds|--warmup|--profile-runs|--keep)
      [ $# -ge 2 ] || die "$1 needs a value ($usage)"
      case "$1" in
        --build) eqopt="$2/bin/eqopt" ;;
        --eqopt) eqopt="$2" ;;
        --models) models="$2" ;;
        --rounds) rounds="$2" ;;
        --warmup) warmup="$2" ;;
        --profile-runs) profile_runs="$2" ;;
        --keep) keep="$2" ;;
      esac
      shift 2 ;;
    -*) die "unknown option $1 ($usage)" ;;
    *) names+=("$1"); shift ;;
  esac
done
for n in "$rounds" "$warmup" "$profile_runs"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "--rounds, --warmup and --profile-runs take a whole number, not '$n'"
done
[ "$rounds" -ge 20 ] || die "--rounds must be at least 20 (medians of fewer rounds are noise on a shared machine)"
[ "$warmup" -ge 3 ] || die "--warmup must be at least 3"
[ -x "$eqopt" ] || die "$eqopt: no eqopt binary (build it with scripts/build.sh, or pass --build DIR or --eqopt FILE)"
[ -d "$models" ] || die "$models: no such models folder"
command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
[ ${#rt[@]} -eq 0 ] || "${rt[@]}" true 2>/dev/null || die "--rt: cannot run under SCHED_FIFO (chrt -f needs root or CAP_SYS_NICE)"
if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
  (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null 2>&1) ||
    die "npm install of onnxruntime-node in bench/ort failed"
fi
if [ -n "$keep" ]; then
  mkdir -p "$keep" || die "$keep: cannot create it"
  out="$keep"
else
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
export OMP_NUM_THREADS=1

files=()
if [ ${#names[@]} -eq 0 ]; then
  files=("$models"/*.onnx)
  [ -e "${files[0]}" ] || die "$models: no .onnx models"
else
  for n in "${names[@]}"; do
    f="$models/${n%.onnx}.onnx"
    [ -f "$f" ] || die "$f: no such model"
    files+=("$f")
  done
fi

# Runs a command with its stdout into FILE; on failure dies with the command's last stderr line.
run_to() {
  local file="$1" what="$2"
  shift 2
  "$@" >"$file" 2>"$file.err" || die "$what failed: $(tail -n 1 "$file.err")"
}

i=0
for m in "${files[@]}"; do
  i=$((i + 1))
  b="$(basename "$m" .onnx)"
  data="$models/$b.testdata"
  [ -d "$data" ] || die "$data: no reference data for $b"
  echo "ort_compare: [$i/${#files[@]}] $b" >&2
  run_to "$out/$b.optimize.txt" "eqopt optimize $m" "$eqopt" optimize "$m" -o "$out/$b.eqopt.onnx" --json "$out/$b.report.json"
  run_to "$out/$b.shapes.txt" "reading the input shapes of $b" node bench/ort/ort_run.js "$m" "$data" --shapes 1
  # shellcheck disable=SC2207
  shapes=($(cat "$out/$b.shapes.txt"))
  run_to "$out/$b.est-original.json" "eqopt info $m" "$eqopt" info "$m" --target cpu --json "${shapes[@]}"
  run_to "$out/$b.est-eqopt.json" "eqopt info on eqopt's output for $b" \
    "$eqopt" info "$out/$b.eqopt.onnx" --target cpu --json "${shapes[@]}"
  run_to "$out/$b.ort.json" "ONNX Runtime on $b" "${rt[@]}" node bench/ort/ort_run.js "$m" "$data" --vs "$out/$b.eqopt.onnx" \
    --levels disabled,extended,all --rounds "$rounds" --warmup "$warmup" --profile-runs "$profile_runs"
done
ort_version=$(node -p 'require("./bench/ort/node_modules/onnxruntime-node/package.json").version')
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "ONNX Runtime $ort_version (onnxruntime-node), CPU ${cpu:-unknown} ($(nproc --all) cores), $(date -u +%Y-%m-%d)," \
  "timing process $([ ${#rt[@]} -eq 0 ] && echo "at normal priority" || echo "under SCHED_FIFO (--rt)")," \
  "load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end."
echo
node bench/ort/ort_report.js "$out" "${files[@]}" || die "bench/ort/ort_report.js failed"
