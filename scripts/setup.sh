#!/usr/bin/env bash
# Newcomer command 1: install what is missing, build eqopt, and run it on the example models in
# examples/ (a residual CNN block and a transformer block).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release

export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
eqopt=build/bin/eqopt
for m in examples/resnet_block.onnx examples/transformer_block.onnx; do
  echo
  echo "== eqopt info $m"
  "$eqopt" info "$m"
  echo
  echo "== eqopt check $m   (reference interpreter against the stored outputs)"
  "$eqopt" check "$m"
done
echo
echo "== eqopt run examples/resnet_block.onnx --seed 1 --out build/example_out"
"$eqopt" run examples/resnet_block.onnx --seed 1 --out build/example_out
