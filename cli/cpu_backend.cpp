#include "cli/cpu_backend.h"

#include <filesystem>
#include <sstream>

#include "onnx_io/onnx_io.h"
#include "support/error.h"

namespace eqopt::cli {

namespace fs = std::filesystem;

std::string plan_path_of(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path p = fs::path(path) / "model.plan";
    return fs::is_regular_file(p, ec) ? p.string() : "";
  }
  return fs::is_regular_file(path, ec) && rt::is_plan_file(path) ? path : "";
}

std::unique_ptr<rt::Session> open_cpu_session(const std::string& path, const lower::CpuCompileOptions& compile,
                                              const rt::SessionOptions& options, lower::CpuCompileReport* report) {
  const std::string plan = plan_path_of(path);
  if (!plan.empty()) return std::make_unique<rt::Session>(rt::load_plan(plan), options);
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, ": a folder without model.plan (compile it with eqopt MODEL --target cpu)");
  const Model model = load_model(path);
  return std::make_unique<rt::Session>(lower::compile_cpu(model, compile, report), options);
}

Model stand_in_model(const rt::Session& session) {
  Model m;
  for (const rt::IoInfo& io : session.inputs()) m.graph.inputs.push_back({io.name, TensorType::of(io.dtype, io.shape)});
  for (const rt::IoInfo& io : session.outputs()) m.graph.outputs.push_back({io.name, TensorType::of(io.dtype, io.shape)});
  return m;
}

std::function<ModelRunner(const Model&, const std::map<std::string, Tensor>&)> cpu_check_runner(
    int threads, const std::set<std::string>& interp_ops) {
  return [threads, interp_ops](const Model& model, const std::map<std::string, Tensor>& feeds) -> ModelRunner {
    lower::CpuCompileOptions co;
    co.interp_ops = interp_ops;
    for (const auto& [name, t] : feeds) co.input_dims[name] = dims_of(t.shape());
    rt::SessionOptions so;
    so.threads = threads;
    std::shared_ptr<rt::Session> session;
    try {
      session = std::make_shared<rt::Session>(lower::compile_cpu(model, co), so);
    } catch (const Error& e) {
      // Shapes that depend on integer inputs (a Reshape's shape fed as an input): specialise the plan
      // for the values of this run, as a runtime does at the first run with new shapes.
      if (std::string(e.what()).find("depends on the data") == std::string::npos) throw;
      for (const auto& [name, t] : feeds)
        if ((is_integer(t.dtype()) && t.numel() <= 64) || (is_floating(t.dtype()) && t.rank() == 1 && t.numel() <= 8)) {
          co.input_values[name] = t;  // integers: shapes, axes, pads; short float vectors: Resize's scales
          co.input_dims.erase(name);
        }
      session = std::make_shared<rt::Session>(lower::compile_cpu(model, co), so);
    }
    return [session](const std::map<std::string, Tensor>& f) { return session->run(f); };
  };
}

std::string compile_report_text(const lower::CpuCompileReport& r) {
  std::ostringstream s;
  s << "compiled for cpu (" << r.machine << ") in " << r.seconds * 1e3 << " ms\n";
  s << "  kernels: " << r.kernels << " (oneDNN " << r.dnnl << ", own " << r.own << ", reorders " << r.reorders
    << ", interpreter " << r.interp << "); " << r.folded << " nodes folded into constants\n";
  if (!r.interp_ops.empty()) {
    s << "  run by the interpreter:";
    for (const auto& [op, n] : r.interp_ops) s << " " << op << " x" << n;
    s << "\n";
  }
  s << "  peak activation memory (arena): " << double(r.arena_bytes) / 1048576.0 << " MiB (without reuse "
    << double(r.activation_bytes) / 1048576.0 << " MiB); constants " << double(r.constant_bytes) / 1048576.0 << " MiB\n";
  return s.str();
}

std::set<std::string> interp_ops_option(const std::string& value) {
  std::set<std::string> r;
  std::stringstream ss(value);
  std::string op;
  while (std::getline(ss, op, ','))
    if (!op.empty()) r.insert(op);
  return r;
}

int threads_option(const std::string& value) {
  char* end = nullptr;
  const long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end || n < 0 || n > 4096) fail("--threads takes a count (0: all cores), got '", value, "'");
  return int(n);
}

}  // namespace eqopt::cli
