#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/cpu_backend.h"
#include "interp/feeds.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt run MODEL|DIR|PLAN [--backend interp|cpu] [--threads N] [--input NAME=FILE]...
                 [--input-shape NAME=DIMS]... [--out DIR] [--seed N]

Runs a model and prints each output's type and summary statistics. MODEL runs on the reference
interpreter, or with --backend cpu compiled for the CPU runtime (oneDNN) first; a compiled folder
(eqopt MODEL --target cpu -o DIR) or a plan file runs on the CPU runtime.

  --backend B              interp (default for a model) or cpu
  --threads N              threads of the CPU runtime (default 0: all cores)

  --input NAME=FILE        value of input NAME from a .npy file or a TensorProto .pb file (repeatable)
  --input-shape NAME=DIMS  shape for a dynamic input that gets random values, e.g. x=1x3x224x224
  --seed N                 seed for random inputs (default 0): floats uniform in [-1,1),
                           integers uniform in [0,8), bools fair coin flips
  --out DIR                write each output to DIR/<output name>.npy (DIR is created)
  --save-inputs            also write the inputs used to DIR/<input name>.input.npy
)";

std::string file_name_for(const std::string& value_name) {
  std::string s;
  for (char c : value_name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  if (s.empty() || s[0] == '.') s = "_" + s;
  return s;
}

void print_summary(const std::string& name, const Tensor& t) {
  std::cout << "  " << name << "  " << t.type_str();
  if (t.numel() > 0 && t.dtype() != DType::String) {
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double v = t.as_double(i);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
    std::cout << "  min " << lo << "  max " << hi << "  mean " << sum / double(t.numel());
  }
  std::cout << "\n";
}

}  // namespace

int cmd_run(const std::vector<std::string>& argv) {
  Args args("run", argv,
            {{"help"}, {"input", true, true}, {"input-shape", true, true}, {"out", true}, {"seed", true},
             {"save-inputs"}, {"backend", true}, {"threads", true}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL");
  const std::string path = args.positional()[0];
  const bool compiled = is_compiled_folder(path) || !plan_path_of(path).empty();
  const std::string backend = args.value("backend").value_or(compiled ? "cpu" : "interp");
  if (backend != "interp" && backend != "cpu") fail("--backend is interp or cpu, got '", backend, "'");
  if (backend == "interp" && compiled) fail(path, ": a compiled folder or plan runs on the cpu backend");
  const int threads = threads_option(args.value("threads").value_or("0"));
  std::map<std::string, Tensor> given;
  for (const std::string& v : args.values("input")) {
    auto [name, file] = split_assignment(v, "input");
    if (given.count(name)) fail("--input given twice for '", name, "'");
    given[name] = load_tensor_file(file).value;
  }
  FeedOptions fo;
  fo.seed = uint64_t(args.integer("seed", 0));
  fo.input_dims = parse_input_shapes(args.values("input-shape"));
  std::optional<Model> model;
  std::unique_ptr<rt::Session> session;
  std::map<std::string, Tensor> feeds;
  if (backend == "cpu") {
    std::map<std::string, Dims> dims = fo.input_dims;
    for (const auto& [name, t] : given) dims[name] = dims_of(t.shape());
    lower::CpuCompileReport report;
    session = open_cpu_session(path, dims, {}, rt::SessionOptions{threads, false}, &report);
    if (report.kernels > 0) std::cout << compile_report_text(report);
    model = stand_in_model(session->plan());
    fo.input_dims.clear();
  } else {
    model = load_model(path);
  }
  feeds = make_feeds(*model, given, fo);
  std::optional<Interpreter> interp;
  if (!session) interp.emplace(*model);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Tensor> outputs = session ? session->run(feeds) : interp->run(feeds);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "inputs:\n";
  for (const auto& [name, t] : feeds) print_summary(name, t);
  std::cout << "outputs:\n";
  for (size_t k = 0; k < outputs.size(); ++k) print_summary(model->graph.outputs[k].name, outputs[k]);
  std::cout << "time: " << ms << " ms (" << (session ? "CPU runtime, first run" : "reference interpreter") << ")\n";

  if (auto dir = args.value("out")) {
    std::error_code ec;
    std::filesystem::create_directories(*dir, ec);
    if (ec) fail("cannot create output folder '", *dir, "': ", ec.message());
    for (size_t k = 0; k < outputs.size(); ++k) {
      const std::string path = (std::filesystem::path(*dir) / (file_name_for(model->graph.outputs[k].name) + ".npy")).string();
      save_npy(outputs[k], path);
      std::cout << "wrote " << path << "\n";
    }
    if (args.flag("save-inputs"))
      for (const auto& [name, t] : feeds) {
        const std::string path = (std::filesystem::path(*dir) / (file_name_for(name) + ".input.npy")).string();
        save_npy(t, path);
        std::cout << "wrote " << path << "\n";
      }
  }
  return 0;
}

}  // namespace eqopt::cli
