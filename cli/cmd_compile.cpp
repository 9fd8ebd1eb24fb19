// `eqopt MODEL.onnx --target T [-o OUTDIR]`: the headline command. Optimizes MODEL for the target
// and writes everything it produced into one folder; later stages add the target's executable
// artefact to the same folder.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/cpu_backend.h"
#include "cli/optimize_common.h"
#include "onnx_io/onnx_io.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt MODEL.onnx [--target cpu|gpu|npu | --target-file FILE] [-o OUTDIR] [OPTIONS]
       eqopt compile MODEL.onnx ...   (the same)

Optimizes MODEL for a target (default cpu) and writes into OUTDIR (default: MODEL's name and the
target's, e.g. resnet.npu/, in the current folder):
  model.onnx           the optimized model as standard ONNX (runs in any ONNX runtime)
  program.onnx         the target program: the extracted program with eqopt's own fused ops
                       (domain "eqopt"), as the target's lowering consumes it; `eqopt run` runs it
  report.txt           what was done: e-graph size, rules that fired, estimated time per op class
                       before and after, extraction method and optimality
  report.json          the same as JSON
  model.plan           target cpu: the compiled plan (docs/cpu.md): oneDNN kernels with their layouts,
                       the memory plan and the pre-packed weights; `eqopt run DIR`, `eqopt check DIR`,
                       `eqopt bench DIR` and `eqopt-run DIR` run it
Files are written atomically; nothing is written when optimization fails.

  -o, --output OUTDIR       the output folder (created if missing; files in it are replaced)
  --quiet                   do not print the report
  --no-plan                 target cpu: do not compile the plan
  --blocked-layouts on|off  target cpu: let convolutions choose blocked layouts (default on)
)";

// The first graph input whose dims stay unknown after `dims`, or "".
std::string dynamic_input(const Model& m, const std::map<std::string, Dims>& dims) {
  for (const ValueInfo* in : m.graph.runtime_inputs()) {
    const auto it = dims.find(in->name);
    const Dims* d = it != dims.end() ? &it->second : (in->type.dims ? &*in->type.dims : nullptr);
    if (!d || std::any_of(d->begin(), d->end(), [](const Dim& x) { return !x.known(); })) return in->name;
  }
  return "";
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int cmd_compile(const std::vector<std::string>& argv) {
  std::vector<OptionSpec> specs = optimize_option_specs();
  specs.insert(specs.end(), {{"help"}, {"output", true}, {"quiet"}, {"no-plan"}, {"blocked-layouts", true}});
  Args args("compile", argv, specs);
  if (args.flag("help")) {
    std::cout << kHelp << kOptimizeOptionsHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL");
  const std::string model_path = args.positional()[0];
  const auto start = std::chrono::steady_clock::now();
  OptimizeSetup setup = optimize_setup(args, "cpu");
  const auto t0 = std::chrono::steady_clock::now();
  const Model model = load_model(model_path);
  const double load_ms = ms_since(t0);
  setup.options.time_used_s = ms_since(start) / 1e3;  // rules and model loading count against the budget
  setup.options.export_reserve_s = 0.1 + 2 * load_ms / 1e3;  // writing model.onnx and program.onnx takes about as long as reading
  const opt::OptimizeResult r = opt::optimize_model(model, setup.rules, setup.options);

  namespace fs = std::filesystem;
  const fs::path dir = args.value("output").value_or(fs::path(model_path).stem().string() + "." + r.target);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) fail(dir.string(), ": exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec) fail(dir.string(), ": cannot create the output folder (", ec.message(), ")");
  const auto t1 = std::chrono::steady_clock::now();
  ReportInput report{model_path, &model, &r, load_ms, 0, {}, setup.cost_figures};
  const std::string model_out = (dir / "model.onnx").string(), program_out = (dir / "program.onnx").string();
  const std::string text_out = (dir / "report.txt").string(), json_out = (dir / "report.json").string();
  report.files = {{"optimized model", model_out}, {"target program", program_out}, {"report", text_out}, {"report json", json_out}};
  // The CPU plan is compiled before anything is written, so a failure leaves no partial folder.
  std::optional<rt::Plan> plan;
  std::string plan_text;
  if (r.target == "cpu" && !args.flag("no-plan")) {
    lower::CpuCompileOptions co;
    co.input_dims = setup.options.import.input_dims;
    const std::string blocked = args.value("blocked-layouts").value_or("on");
    if (blocked != "on" && blocked != "off") fail("--blocked-layouts is on or off, got '", blocked, "'");
    co.blocked_layouts = blocked == "on";
    const bool tty = isatty(2) && !args.flag("quiet");
    if (tty)
      co.progress = [](size_t done, size_t total) {
        if (done == total || done % 16 == 0) std::fprintf(stderr, "\rcompiling the plan: %zu/%zu nodes", done, total);
        if (done == total) std::fprintf(stderr, "\r\033[K");
      };
    lower::CpuCompileReport cr;
    const std::string dynamic = dynamic_input(r.extracted, co.input_dims);
    if (dynamic.empty()) {
      plan = lower::compile_cpu(r.extracted, co, &cr);
      plan_text = compile_report_text(cr);
      report.files.push_back({"compiled plan", (dir / "model.plan").string()});
    } else {
      plan_text = "no plan: input '" + dynamic + "' has dynamic dims; eqopt run|check|bench " + dir.string() +
                  " --input-shape ... compiles one for given dims and caches it in " + (dir / "plans").string() +
                  " (or compile with --input-shape)\n";
    }
  }
  save_model(r.model, model_out);
  save_model(r.extracted, program_out);
  if (plan) rt::save_plan(*plan, (dir / "model.plan").string());
  report.save_ms = ms_since(t1);
  const std::string text = report_text(report) + plan_text;
  write_file_atomic(json_out, report_json(report).dump(2) + "\n");
  write_file_atomic(text_out, text);
  if (!args.flag("quiet")) std::cout << text;
  return 0;
}

}  // namespace eqopt::cli
