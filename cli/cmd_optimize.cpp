#include <chrono>
#include <iostream>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "onnx_io/onnx_io.h"
#include "egraph/runner.h"
#include "optimizer/pipeline.h"
#include "rules/parser.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt optimize MODEL -o OUT.onnx [--json REPORT.json] [--rules DIR] [--input-shape NAME=DIMS]...

Turns MODEL into an e-graph over eqopt's tensor language, saturates it with the rules of the rule
database, extracts the cheapest program and writes it as standard ONNX. Importing alone merges
repeated subexpressions (hash-consing), folds constant computations (shape arithmetic, weight-only
subgraphs) and drops unused nodes.

  -o, --output OUT.onnx     where to write the optimized model (written atomically)
  --json REPORT.json        also write the report as JSON
  --rules DIR               rule files to use (default: the ruledb/ folder eqopt was built from)
  --no-rules                import and extract only
  --max-iterations N        saturation iteration limit (default 20)
  --max-nodes N             saturation e-node limit (default 100000)
  --time-limit S            saturation time limit in seconds (default 1.5)
  --multi-iterations N      multi-pattern rules run in the first N iterations only (default 2)
  --multi-nodes N           e-nodes the multi-pattern rules may add in total (default 20000)
  --ac-match-limit N        per-iteration match budget of rules tagged [ac] before the backoff
                            scheduler bans them (default 250; other rules 1000)
  --own-ops                 let extraction choose eqopt's own fused ops (export still writes
                            them as standard ops; by default the extractor compares standard
                            programs only, since that is what the output holds)
  --input-shape NAME=DIMS   fix a dynamic input shape (enables more folding)
)";

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::map<std::string, int64_t> histogram(const Graph& g) {
  std::map<std::string, int64_t> h;
  for (const Node& n : g.nodes) ++h[n.is_default_domain() ? n.op_type : n.domain + "." + n.op_type];
  return h;
}

}  // namespace

int cmd_optimize(const std::vector<std::string>& argv) {
  Args args("optimize", argv,
            {{"help"}, {"output", true}, {"json", true}, {"input-shape", true, true}, {"rules", true}, {"no-rules"},
             {"max-iterations", true}, {"max-nodes", true}, {"time-limit", true}, {"multi-iterations", true},
             {"multi-nodes", true}, {"ac-match-limit", true}, {"own-ops"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL");
  const auto out_path = args.value("output");
  if (!out_path) fail("eqopt optimize: missing -o OUT.onnx (see eqopt optimize --help)");
  const auto t0 = std::chrono::steady_clock::now();
  const Model model = load_model(args.positional()[0]);
  const double load_ms = ms_since(t0);
  opt::OptimizeOptions options;
  options.import.input_dims = parse_input_shapes(args.values("input-shape"));
  options.max_iterations = size_t(args.integer("max-iterations", int64_t(options.max_iterations)));
  options.max_nodes = size_t(args.integer("max-nodes", int64_t(options.max_nodes)));
  options.time_limit_s = args.number("time-limit", options.time_limit_s);
  options.multi_nodes = size_t(args.integer("multi-nodes", int64_t(options.multi_nodes)));
  options.schedule.multi_iterations = size_t(args.integer("multi-iterations", int64_t(options.schedule.multi_iterations)));
  options.schedule.ac_match_limit = size_t(args.integer("ac-match-limit", int64_t(options.schedule.ac_match_limit)));
  options.own_ops = args.flag("own-ops");
  std::vector<rules::Rule> parsed;
  if (!args.flag("no-rules")) parsed = rules::load_rule_dir(args.value("rules").value_or(EQOPT_RULEDB_DIR));
  const opt::OptimizeResult r = opt::optimize_model(model, parsed, options);
  const auto t3 = std::chrono::steady_clock::now();
  save_model(r.model, *out_path);
  const double save_ms = ms_since(t3);
  const double export_ms = r.export_ms + save_ms;

  const auto before = histogram(model.graph), after = histogram(r.model.graph);
  const size_t n_before = model.graph.nodes.size(), n_after = r.model.graph.nodes.size();
  std::cout << "optimized " << args.positional()[0] << " -> " << *out_path << "\n";
  std::cout << "e-graph: " << r.enodes << " e-nodes, " << r.eclasses << " e-classes; " << r.rules << " rules, "
            << r.iterations << " iterations, stop " << eg::stop_reason_name(r.stop) << "\n";
  std::cout << "nodes: " << n_before << " -> " << n_after << "\n";
  std::cout << "estimated cost: " << r.cost_before * 1e3 << " ms -> " << r.cost_after * 1e3 << " ms (" << r.extraction
            << " extraction; placeholder cost model)\n";
  std::cout << "opset: " << r.exported.opset_before << " -> " << r.exported.opset_after;
  if (!r.exported.expanded.empty()) {
    std::cout << "; written by their definitions:";
    for (const std::string& op : r.exported.expanded) std::cout << " " << op;
  }
  std::cout << "\n";
  std::cout << "time ms: load " << load_ms << ", import " << r.import_ms << ", saturate " << r.saturate_ms << ", extract "
            << r.extract_ms << ", export " << export_ms << "\n";
  if (!r.fired.empty()) {
    std::cout << "rules that fired (unions):\n";
    for (const auto& [name, n] : r.fired)
      std::cout << "  " << name << std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') << n << "\n";
  }
  std::cout << "ops before -> after:\n";
  std::set<std::string> all;
  for (const auto& [k, v] : before) all.insert(k);
  for (const auto& [k, v] : after) all.insert(k);
  for (const std::string& op : all) {
    const int64_t b = before.count(op) ? before.at(op) : 0, a = after.count(op) ? after.at(op) : 0;
    std::cout << "  " << op << std::string(op.size() < 24 ? 24 - op.size() : 1, ' ') << b << " -> " << a << "\n";
  }
  if (auto json_path = args.value("json")) {
    nlohmann::ordered_json j;
    j["model"] = args.positional()[0];
    j["output"] = *out_path;
    j["enodes"] = r.enodes;
    j["eclasses"] = r.eclasses;
    j["nodes_before"] = n_before;
    j["nodes_after"] = n_after;
    j["ops_before"] = before;
    j["ops_after"] = after;
    j["rules"] = r.rules;
    j["iterations"] = r.iterations;
    j["stop"] = std::string(eg::stop_reason_name(r.stop));
    j["rules_fired"] = r.fired;
    j["estimated_cost_ms"] = {{"before", r.cost_before * 1e3}, {"after", r.cost_after * 1e3}};
    j["extraction"] = r.extraction;
    j["opset"] = {{"before", r.exported.opset_before}, {"after", r.exported.opset_after}};
    j["expanded_ops"] = r.exported.expanded;
    j["time_ms"] = {{"load", load_ms},         {"import", r.import_ms}, {"saturate", r.saturate_ms},
                    {"extract", r.extract_ms}, {"export", export_ms}};
    write_file_atomic(*json_path, j.dump(2) + "\n");
  }
  return 0;
}

}  // namespace eqopt::cli
