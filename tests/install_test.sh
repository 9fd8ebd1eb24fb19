#!/usr/bin/env bash
# cmake --install of this build into a fresh prefix, then: the example project (examples/runtime_api)
# builds against the installed package (find_package(eqopt)) and runs a plan compiled by the
# installed eqopt; the installed eqopt-run runs it too and agrees with `eqopt run`.
# Usage: tests/install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1" src="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1
export XDG_CACHE_HOME="$work/cache" EQOPT_CALIBRATION=on  # the first cpu optimization calibrates and caches
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
prefix="$work/prefix"
for f in bin/eqopt bin/eqopt-run lib/libeqopt_runtime.a include/eqopt/runtime/session.h lib/cmake/eqopt/eqoptConfig.cmake \
         share/eqopt/ruledb/fusion.rules share/eqopt/targets/cpu.target; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
if ldd "$prefix/bin/eqopt-run" | grep -Eq 'libz3|libCbc'; then echo "eqopt-run links Z3 or CBC"; exit 1; fi
# The installed eqopt finds its rules and targets under PREFIX/share/eqopt.
"$prefix/bin/eqopt" "$src/examples/resnet_block.onnx" --target cpu -o "$work/rb" --quiet
[ -f "$work/rb/model.plan" ] || { echo "no plan written"; exit 1; }
grep -q '^cost figures: calibrated on this machine now' "$work/rb/report.txt" || { echo "no calibration on first use"; exit 1; }
ls "$work/cache/eqopt/"cpu-*.target > /dev/null
"$prefix/bin/eqopt" "$src/examples/resnet_block.onnx" --target cpu -o "$work/rb2" --quiet
grep -q "^cost figures: calibrated on this machine ($work/cache/eqopt/cpu-" "$work/rb2/report.txt" || { echo "the cache is not read"; exit 1; }
cmake -S "$src/examples/runtime_api" -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/example" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/example/runtime_api" "$work/rb/model.plan" | tee "$work/example.out"
grep -q '^output y float32\[1,16,32,32\] sum ' "$work/example.out"
# eqopt-run and eqopt run agree on the same input.
"$build/bin/eqopt" run "$work/rb" --out "$work/ref" --save-inputs > /dev/null
"$prefix/bin/eqopt-run" "$work/rb" --input "x=$work/ref/x.input.npy" --out "$work/got" > /dev/null
cmp "$work/ref/y.npy" "$work/got/y.npy"
echo "install, example project and eqopt-run: ok"
