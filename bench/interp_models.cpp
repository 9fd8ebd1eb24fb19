// Times the reference interpreter on the shared models: median wall time of N runs on the stored
// reference inputs, one thread. Prints a Markdown table (docs/interpreter.md holds the results).
//
//   eqopt_bench_interp [--reps N] [MODELS_DIR]     (default ../shared/models, 3 reps)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "ir/model_stats.h"
#include "onnx_io/onnx_io.h"

using namespace eqopt;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  int reps = 3;
  std::string dir = std::string(EQOPT_SOURCE_DIR) + "/../shared/models";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--help") {
      std::cout << "usage: eqopt_bench_interp [--reps N] [MODELS_DIR]\n";
      return 0;
    } else {
      dir = a;
    }
  }
  if (!fs::is_directory(dir)) {
    std::cerr << "eqopt_bench_interp: '" << dir << "' is not a folder of models\n";
    return 2;
  }
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".onnx") models.push_back(e.path());
  std::sort(models.begin(), models.end());

  std::printf("| model | nodes | GFLOPs | median s (%d runs) |\n|---|---:|---:|---:|\n", reps);
  for (const fs::path& m : models) {
    try {
      const Model model = load_model(m.string());
      std::map<std::string, Tensor> feeds;
      const fs::path data = fs::path(m).replace_extension(".testdata") / "test_data_set_0";
      const auto inputs = model.graph.runtime_inputs();
      for (size_t i = 0; i < inputs.size(); ++i) {
        const NamedTensor t = load_tensor_file((data / ("input_" + std::to_string(i) + ".pb")).string());
        feeds[model.graph.find_input(t.name) ? t.name : inputs[i]->name] = t.value;
      }
      InferOptions opt;
      for (const auto& [name, t] : feeds) opt.input_dims[name] = dims_of(t.shape());
      InterpreterFolder folder;
      opt.folder = &folder;
      const ModelStats stats = compute_stats(model, infer_model(model, opt));
      Interpreter interp(model);
      std::vector<double> times;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        interp.run(feeds);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(times.begin(), times.end());
      std::printf("| %s | %lld | %.2f | %.3f |\n", m.stem().c_str(), static_cast<long long>(stats.node_count),
                  double(stats.flops) / 1e9, times[times.size() / 2]);
    } catch (const Error& e) {
      std::printf("| %s | error: %s | | |\n", m.stem().c_str(), e.what());
    }
    std::fflush(stdout);
  }
  return 0;
}
