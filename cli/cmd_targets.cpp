// `eqopt targets`: the built-in targets, one description, and how one model comes out per target.
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/optimize_common.h"
#include "onnx_io/onnx_io.h"
#include "targets/target.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt targets list
       eqopt targets show NAME|--target-file FILE
       eqopt targets compare MODEL [--targets cpu,gpu,npu] [--json] [OPTIONS]

list      the built-in targets (targets/*.target) with their main figures
show      a description as eqopt reads it (defaults filled in)
compare   saturates MODEL once, extracts the best program for each target, and prints every
          program's estimated time on every target: the best program for a target should be the
          cheapest in its row. Also the exact extractor's gain over the greedy tree-cost extractor.
          Takes the optimization options of `eqopt optimize` (not --target).

  --targets LIST            targets to compare, comma separated (built-in names or .target files;
                            default cpu,gpu,npu)
  --json                    machine-readable output
)";

std::string fmt(double x, const char* f = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

std::shared_ptr<const tgt::CostModel> model_for(const std::string& name_or_file) {
  if (name_or_file.find('/') != std::string::npos || name_or_file.find(".target") != std::string::npos)
    return tgt::make_cost_model_from_file(name_or_file);
  return tgt::make_cost_model(name_or_file);
}

int compare(const std::vector<std::string>& argv) {
  std::vector<OptionSpec> specs = optimize_option_specs();
  specs.insert(specs.end(), {{"help"}, {"targets", true}, {"json"}});
  Args args("targets compare", argv, specs);
  if (args.flag("help")) {
    std::cout << kHelp << kOptimizeOptionsHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL");
  if (args.flag("target") || args.flag("target-file")) fail("eqopt targets compare: use --targets, not --target");
  OptimizeSetup setup = optimize_setup(args, "");
  setup.options.own_ops = !args.flag("no-own-ops");
  std::vector<std::shared_ptr<const tgt::CostModel>> models;
  std::string list = args.value("targets").value_or("cpu,gpu,npu");
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    if (!item.empty()) models.push_back(model_for(item));
    start = comma + 1;
  }
  if (models.empty()) fail("--targets names no target");
  const Model model = load_model(args.positional()[0]);
  const opt::TargetMatrix m = opt::compare_targets(model, setup.rules, models, setup.options);
  const size_t n = m.targets.size();
  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["model"] = args.positional()[0];
    j["enodes"] = m.enodes;
    j["eclasses"] = m.eclasses;
    j["targets"] = m.targets;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (size_t t = 0; t < n; ++t) {
      nlohmann::ordered_json row;
      row["target"] = m.targets[t];
      row["original_ms"] = m.original[t] * 1e3;
      nlohmann::ordered_json progs = nlohmann::ordered_json::object();
      for (size_t u = 0; u < n; ++u) progs[m.targets[u]] = m.cost[t][u] * 1e3;
      row["program_ms"] = progs;
      const opt::TargetExtraction& e = m.extractions[t];
      row["extraction"] = {{"method", e.method},
                           {"optimal", e.optimal},
                           {"greedy_tree_ms", e.tree_greedy_cost * 1e3},
                           {"heuristic_ms", e.heuristic_cost * 1e3},
                           {"best_ms", e.cost * 1e3},
                           {"ilp_status", e.ilp_status},
                           {"ilp_ms", e.ilp_ms},
                           {"same_program_as", m.targets[m.distinct[t]]}};
      rows.push_back(row);
    }
    j["rows"] = rows;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << args.positional()[0] << ": e-graph " << m.enodes << " e-nodes, " << m.eclasses << " e-classes\n";
  std::cout << "estimated ms on target (rows) of each target's best program (columns):\n";
  std::cout << "  target    original";
  for (size_t u = 0; u < n; ++u) std::cout << "  best-" << m.targets[u] << std::string(m.targets[u].size() < 5 ? 5 - m.targets[u].size() : 0, ' ');
  std::cout << "\n";
  for (size_t t = 0; t < n; ++t) {
    std::cout << "  " << m.targets[t] << std::string(m.targets[t].size() < 8 ? 8 - m.targets[t].size() : 1, ' ')
              << "  " << fmt(m.original[t] * 1e3, "%8.4f");
    for (size_t u = 0; u < n; ++u) std::cout << "  " << fmt(m.cost[t][u] * 1e3, "%9.4f") << (u == t ? "*" : " ");
    std::cout << "\n";
  }
  std::cout << "extraction per target (greedy tree-cost -> best, gain):\n";
  for (size_t t = 0; t < n; ++t) {
    const opt::TargetExtraction& e = m.extractions[t];
    const double gain = e.tree_greedy_cost > 0 ? 100 * (1 - e.cost / e.tree_greedy_cost) : 0;
    std::cout << "  " << m.targets[t] << ": " << fmt(e.tree_greedy_cost * 1e3, "%.4f") << " -> " << fmt(e.cost * 1e3, "%.4f")
              << " ms (" << fmt(gain, "%.2f") << "%), " << e.method << (e.optimal ? ", optimal" : "")
              << (m.distinct[t] != t ? ", same program as " + m.targets[m.distinct[t]] : "") << "\n";
  }
  return 0;
}

}  // namespace

int cmd_targets(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    std::cout << kHelp;
    return argv.empty() ? 2 : 0;
  }
  const std::string sub = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "compare") return compare(rest);
  if (sub == "list") {
    Args args("targets list", rest, {{"help"}});
    args.expect_positional(0, "");
    for (const std::string& name : tgt::builtin_target_names()) {
      const tgt::TargetDescription t = tgt::load_builtin_target(name);
      double peak = 0;
      for (const auto& [dt, p] : t.matrix_peak) peak = std::max(peak, p);
      std::cout << name << std::string(6 - std::min<size_t>(5, name.size()), ' ') << t.description << "\n"
                << "      matrix peak " << fmt(peak / 1e12) << " TFLOP/s, DRAM " << fmt(t.dram_bandwidth / 1e9)
                << " GB/s, on-chip " << fmt(t.onchip_size / 1048576) << " MiB, " << fmt(t.kernel_overhead * 1e6)
                << " us per kernel, convolutions " << t.conv_layout << ", " << t.unsupported.size()
                << " ops on the host\n";
    }
    return 0;
  }
  if (sub == "show") {
    Args args("targets show", rest, {{"help"}, {"target-file", true}});
    tgt::TargetDescription t;
    if (auto file = args.value("target-file")) {
      args.expect_positional(0, "");
      t = tgt::load_target_file(*file);
    } else {
      args.expect_positional(1, "NAME");
      t = tgt::load_builtin_target(args.positional()[0]);
    }
    std::cout << "# " << (t.source.empty() ? "built in" : t.source) << "\n" << tgt::write_target(t);
    return 0;
  }
  fail("eqopt targets: unknown subcommand '", sub, "' (list, show or compare)");
}

}  // namespace eqopt::cli
