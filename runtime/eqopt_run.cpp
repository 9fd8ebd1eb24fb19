// eqopt-run: runs a compiled plan and nothing else. It links only the runtime library (no
// optimizer, Z3 or CBC), as a deployment would.
//
//   eqopt-run PLAN|DIR [--input NAME=FILE]... [--out DIR] [--threads N] [--runs N]
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "support/error.h"

namespace {

constexpr const char* kUsage = R"(usage: eqopt-run PLAN|DIR [--input NAME=FILE]... [--out DIR] [--threads N] [--runs N]

Runs a plan compiled by `eqopt MODEL --target cpu -o DIR` (DIR/model.plan) on the CPU runtime.
  --input NAME=FILE  input NAME from a .npy or TensorProto .pb file (every input is required)
  --out DIR          write each output to DIR/<output name>.npy
  --threads N        OpenMP threads (default 0: all cores)
  --runs N           run N times and print the median latency (default 1)
Prints each output's type and its first values. Exit codes: 0 success, 2 bad input.
)";

int run(int argc, char** argv) {
  std::string path, out_dir;
  std::map<std::string, eqopt::Tensor> feeds;
  int threads = 0;
  long runs = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) eqopt::fail(a, " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--input") {
      const std::string v = value();
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) eqopt::fail("--input takes NAME=FILE, got '", v, "'");
      feeds[v.substr(0, eq)] = eqopt::load_tensor_file(v.substr(eq + 1)).value;
    } else if (a == "--out") {
      out_dir = value();
    } else if (a == "--threads") {
      threads = std::atoi(value().c_str());
    } else if (a == "--runs") {
      runs = std::strtol(value().c_str(), nullptr, 10);
      if (runs < 1) eqopt::fail("--runs must be at least 1");
    } else if (!a.empty() && a[0] == '-') {
      eqopt::fail("unknown option '", a, "' (eqopt-run --help)");
    } else if (path.empty()) {
      path = a;
    } else {
      eqopt::fail("one plan only; unexpected '", a, "'");
    }
  }
  if (path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "model.plan").string();
  eqopt::rt::Session session(eqopt::rt::load_plan(path), eqopt::rt::SessionOptions{threads, false});
  std::vector<eqopt::Tensor> outputs;
  std::vector<double> ms;
  for (long r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    outputs = session.run(feeds);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const auto infos = session.outputs();
  for (size_t k = 0; k < outputs.size(); ++k) {
    std::printf("%s %s", infos[k].name.c_str(), outputs[k].type_str().c_str());
    for (int64_t i = 0; i < std::min<int64_t>(outputs[k].numel(), 4); ++i) std::printf(" %g", outputs[k].as_double(i));
    std::printf("%s\n", outputs[k].numel() > 4 ? " ..." : "");
    if (!out_dir.empty()) {
      std::filesystem::create_directories(out_dir);
      std::string file;
      for (char c : infos[k].name) file += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
      eqopt::save_npy(outputs[k], (std::filesystem::path(out_dir) / (file + ".npy")).string());
    }
  }
  if (runs > 1) {
    std::sort(ms.begin(), ms.end());
    std::printf("median %.3f ms over %ld runs\n", ms[ms.size() / 2], runs);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const eqopt::Error& e) {
    std::fprintf(stderr, "eqopt-run: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eqopt-run: error: %s\n", e.what());
    return 2;
  }
}
