#include <chrono>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/optimize_common.h"
#include "onnx_io/onnx_io.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt optimize MODEL -o OUT.onnx [--json REPORT.json] [--program PROGRAM.onnx] [OPTIONS]

Turns MODEL into an e-graph over eqopt's tensor language, saturates it with the rules of the rule
database, extracts the cheapest program under a target's cost model and writes it as standard ONNX.
Importing alone merges repeated subexpressions (hash-consing), folds constant computations (shape
arithmetic, weight-only subgraphs) and drops unused nodes. Without --target the cost model is the
cpu target's and extraction compares standard programs only; `eqopt MODEL --target T` is the same
with an output folder.

  -o, --output OUT.onnx     where to write the optimized model, standard ONNX (written atomically)
  --json REPORT.json        also write the report as JSON
  --program PROGRAM.onnx    also write the target program: the extracted program with eqopt's own
                            fused ops (domain "eqopt"), as the target's lowering will consume it
  --save-egraph FILE.json   also write the saturated e-graph with the target's costs in the
                            egraph-serialize format (`eqopt extract FILE.json`, extraction-gym)
)";

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int cmd_optimize(const std::vector<std::string>& argv) {
  std::vector<OptionSpec> specs = optimize_option_specs();
  specs.insert(specs.end(), {{"help"}, {"output", true}, {"json", true}, {"program", true}, {"save-egraph", true}});
  Args args("optimize", argv, specs);
  if (args.flag("help")) {
    std::cout << kHelp << kOptimizeOptionsHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL");
  const auto out_path = args.value("output");
  if (!out_path) fail("eqopt optimize: missing -o OUT.onnx (see eqopt optimize --help)");
  const auto start = std::chrono::steady_clock::now();
  OptimizeSetup setup = optimize_setup(args, "");
  setup.options.serialize_egraph = args.flag("save-egraph");
  const auto t0 = std::chrono::steady_clock::now();
  const Model model = load_model(args.positional()[0]);
  const double load_ms = ms_since(t0);
  setup.options.time_used_s = ms_since(start) / 1e3;  // rules and model loading count against the budget
  setup.options.export_reserve_s = 0.1 + 1 * load_ms / 1e3;  // writing the model takes about as long as reading
  const opt::OptimizeResult r = opt::optimize_model(model, setup.rules, setup.options);
  const auto t3 = std::chrono::steady_clock::now();
  ReportInput report{args.positional()[0], &model, &r, load_ms, 0, {{"optimized model", *out_path}}, setup.cost_figures};
  save_model(r.model, *out_path);
  if (auto program = args.value("program")) {
    save_model(r.extracted, *program);
    report.files.push_back({"target program", *program});
  }
  if (auto egraph = args.value("save-egraph")) {
    write_file_atomic(*egraph, r.egraph_json);
    report.files.push_back({"e-graph", *egraph});
  }
  report.save_ms = ms_since(t3);
  if (auto json_path = args.value("json")) {
    report.files.push_back({"report json", *json_path});
    write_file_atomic(*json_path, report_json(report).dump(2) + "\n");
  }
  std::cout << report_text(report);
  return 0;
}

}  // namespace eqopt::cli
