#!/usr/bin/env bash
# Newcomer command 1: install what is missing, build eqopt, and run it on the example models in
# examples/ (a residual CNN block and a transformer block): inspect, check, optimize, verify, and
# optimize for the reference NPU.
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
echo
echo "== eqopt optimize examples/resnet_block.onnx -o build/example_out/resnet_block.opt.onnx"
"$eqopt" optimize examples/resnet_block.onnx -o build/example_out/resnet_block.opt.onnx \
  --json build/example_out/resnet_block.report.json
echo
echo "== eqopt verify examples/resnet_block.onnx build/example_out/resnet_block.opt.onnx"
"$eqopt" verify examples/resnet_block.onnx build/example_out/resnet_block.opt.onnx
echo
echo "== eqopt check build/example_out/resnet_block.opt.onnx --data examples/resnet_block.testdata --atol 1e-5"
"$eqopt" check build/example_out/resnet_block.opt.onnx --data examples/resnet_block.testdata --atol 1e-5
echo
echo "== eqopt examples/resnet_block.onnx --target npu -o build/example_out/resnet_block.npu"
"$eqopt" examples/resnet_block.onnx --target npu -o build/example_out/resnet_block.npu
echo
echo "== eqopt verify examples/resnet_block.onnx build/example_out/resnet_block.npu/program.onnx"
"$eqopt" verify examples/resnet_block.onnx build/example_out/resnet_block.npu/program.onnx
echo
echo "== eqopt examples/resnet_block.onnx --target cpu -o build/example_out/resnet_block.cpu   (compiles model.plan)"
"$eqopt" examples/resnet_block.onnx --target cpu -o build/example_out/resnet_block.cpu
echo
echo "== eqopt check build/example_out/resnet_block.cpu --data examples/resnet_block.testdata --atol 1e-5   (the plan on the CPU runtime)"
"$eqopt" check build/example_out/resnet_block.cpu --data examples/resnet_block.testdata --atol 1e-5
echo
echo "== eqopt bench build/example_out/resnet_block.cpu --threads 1 --runs 20 --top 5"
"$eqopt" bench build/example_out/resnet_block.cpu --threads 1 --runs 20 --top 5
