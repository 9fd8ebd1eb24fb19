#include "cli/cpu_backend.h"

#include <cctype>
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

namespace {

// "x=1x3x224x224,y=2" as a file name.
std::string dims_key(const std::map<std::string, Dims>& dims) {
  std::string k;
  for (const auto& [name, d] : dims) {
    if (!k.empty()) k.push_back(',');
    k.append(name).push_back('=');
    for (size_t i = 0; i < d.size(); ++i) {
      if (i) k.push_back('x');
      k.append(d[i].str());
    }
  }
  std::string safe;
  for (char c : k) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '=' || c == ',' || c == '-' || c == '_') ? c : '_';
  return safe.size() > 200 ? safe.substr(0, 200) : safe;
}

}  // namespace

std::unique_ptr<rt::Session> open_cpu_session(const std::string& path, const std::map<std::string, Dims>& dims,
                                              lower::CpuCompileOptions compile, const rt::SessionOptions& options,
                                              lower::CpuCompileReport* report) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && rt::is_plan_file(path)) return std::make_unique<rt::Session>(rt::load_plan(path), options);
  compile.input_dims.insert(dims.begin(), dims.end());
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (dims.empty() && fs::is_regular_file(dir / "model.plan", ec))
      return std::make_unique<rt::Session>(rt::load_plan((dir / "model.plan").string()), options);
    if (!fs::is_regular_file(dir / "program.onnx", ec))
      fail(path, ": not a compiled folder (no model.plan or program.onnx; compile with eqopt MODEL --target cpu)");
    if (dims.empty())
      fail(path, ": the model has dynamic dims and the folder has no plan; give them with --input-shape NAME=DIMS ",
           "(a plan for them is compiled and cached in ", (dir / "plans").string(), ")");
    const fs::path cached = dir / "plans" / (dims_key(dims) + ".plan");
    if (fs::is_regular_file(cached, ec)) return std::make_unique<rt::Session>(rt::load_plan(cached.string()), options);
    rt::Plan plan = lower::compile_cpu(load_model((dir / "program.onnx").string()), compile, report);
    fs::create_directories(cached.parent_path(), ec);
    if (!ec) rt::save_plan(plan, cached.string());  // a cache: a folder that cannot be written is no error
    return std::make_unique<rt::Session>(std::move(plan), options);
  }
  const Model model = load_model(path);
  return std::make_unique<rt::Session>(lower::compile_cpu(model, compile, report), options);
}

Model io_model(const std::string& path) {
  std::error_code ec;
  const std::string plan = plan_path_of(path);
  if (!plan.empty()) return stand_in_model(rt::load_plan(plan));
  if (fs::is_directory(path, ec)) {
    if (!fs::is_regular_file(fs::path(path) / "program.onnx", ec))
      fail(path, ": not a compiled folder (no model.plan or program.onnx; compile with eqopt MODEL --target cpu)");
    return load_model((fs::path(path) / "program.onnx").string());
  }
  return load_model(path);
}

Model stand_in_model(const rt::Plan& plan) {
  Model m;
  for (int32_t i : plan.inputs) {
    const rt::PlanValue& v = plan.values[size_t(i)];
    // An input the plan was specialised for is not fed: the plan holds its value.
    if (v.storage != rt::Storage::Constant) m.graph.inputs.push_back({v.name, TensorType::of(v.dtype, v.shape)});
  }
  for (int32_t i : plan.outputs) {
    const rt::PlanValue& v = plan.values[size_t(i)];
    m.graph.outputs.push_back({v.name, TensorType::of(v.dtype, v.shape)});
  }
  return m;
}

bool is_compiled_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) &&
         (fs::is_regular_file(fs::path(path) / "model.plan", ec) || fs::is_regular_file(fs::path(path) / "program.onnx", ec));
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
    << ", interpreter " << r.interp << "); " << r.folded << " nodes folded into constants; " << r.table_gathers
    << " data moves as table gathers\n";
  if (!r.interp_ops.empty()) {
    s << "  run by the interpreter:";
    for (const auto& [op, n] : r.interp_ops) s << " " << op << " x" << n;
    s << "\n";
  }
  s << "  peak activation memory (arena): " << double(r.arena_bytes) / 1048576.0 << " MiB (without reuse "
    << double(r.activation_bytes) / 1048576.0 << " MiB; " << r.in_place << " outputs in place); constants "
    << double(r.constant_bytes) / 1048576.0 << " MiB\n";
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
