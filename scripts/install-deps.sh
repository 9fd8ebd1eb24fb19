#!/usr/bin/env bash
# Installs, from Debian 12's repositories only, whatever eqopt needs that is missing. Idempotent:
# packages already present are left alone, and apt is not touched when nothing is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake make pkg-config
  # ONNX + protobuf (ONNX 1.12, protobuf 3.21)
  libonnx-dev libprotobuf-dev protobuf-compiler
  # oneDNN 2.6 (CPU lowering); its CMake config needs the OpenCL headers
  libdnnl-dev
  # OpenCL ICD loader, headers, and PoCL (OpenCL on the CPU)
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
  # Z3 (rule verification), CBC (exact extraction), Boost, JSON
  libz3-dev coinor-libcbc-dev libboost-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # 932 more ONNX node tests (ONNX 1.12) used by the test suite
  libonnx-testdata
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
