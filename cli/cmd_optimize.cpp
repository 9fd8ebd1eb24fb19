#include <chrono>
#include <iostream>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "onnx_io/onnx_io.h"
#include "egraph/runner.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
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
             {"max-iterations", true}, {"max-nodes", true}, {"time-limit", true}});
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
  opt::ImportOptions io;
  io.input_dims = parse_input_shapes(args.values("input-shape"));
  const auto t1 = std::chrono::steady_clock::now();
  opt::TensorProgram program(model, io);
  const double import_ms = ms_since(t1);
  // Saturation with the rule database.
  const std::string rules_dir = args.value("rules").value_or(EQOPT_RULEDB_DIR);
  std::vector<rules::Rule> parsed;
  if (!args.flag("no-rules")) parsed = rules::load_rule_dir(rules_dir);
  const opt::CompiledRules compiled = opt::compile_rules(program, parsed);
  eg::RunnerLimits limits;
  limits.iterations = size_t(args.integer("max-iterations", 20));
  limits.nodes = size_t(args.integer("max-nodes", 100000));
  limits.seconds = args.number("time-limit", 1.5);
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), limits, eg::SchedulerKind::Backoff);
  const auto ts = std::chrono::steady_clock::now();
  const eg::StopReason stop = compiled.rewrites.empty() ? eg::StopReason::Saturated : runner.run(compiled.rewrites);
  const double saturate_ms = ms_since(ts);
  std::map<std::string, size_t> fired;  // rule -> unions it made
  for (const auto& it : runner.iterations())
    for (size_t r = 0; r < it.rules.size(); ++r)
      if (it.rules[r].unions) fired[compiled.rewrites[r].name] += it.rules[r].unions;

  const auto t2 = std::chrono::steady_clock::now();
  const Model optimized = program.extract();
  const double extract_ms = ms_since(t2);
  const auto t3 = std::chrono::steady_clock::now();
  save_model(optimized, *out_path);
  const double export_ms = ms_since(t3);

  const auto before = histogram(model.graph), after = histogram(optimized.graph);
  const size_t n_before = model.graph.nodes.size(), n_after = optimized.graph.nodes.size();
  std::cout << "optimized " << args.positional()[0] << " -> " << *out_path << "\n";
  std::cout << "e-graph: " << program.egraph().num_nodes() << " e-nodes, " << program.egraph().num_classes()
            << " e-classes; " << compiled.rewrites.size() << " rules, " << runner.iterations().size()
            << " iterations, stop " << eg::stop_reason_name(stop) << "\n";
  std::cout << "nodes: " << n_before << " -> " << n_after << "\n";
  std::cout << "time ms: load " << load_ms << ", import " << import_ms << ", saturate " << saturate_ms << ", extract "
            << extract_ms << ", export " << export_ms << "\n";
  if (!fired.empty()) {
    std::cout << "rules that fired (unions):\n";
    for (const auto& [name, n] : fired) std::cout << "  " << name << std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') << n << "\n";
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
    j["enodes"] = program.egraph().num_nodes();
    j["eclasses"] = program.egraph().num_classes();
    j["nodes_before"] = n_before;
    j["nodes_after"] = n_after;
    j["ops_before"] = before;
    j["ops_after"] = after;
    j["rules"] = compiled.rewrites.size();
    j["iterations"] = runner.iterations().size();
    j["stop"] = std::string(eg::stop_reason_name(stop));
    j["rules_fired"] = fired;
    j["time_ms"] = {{"load", load_ms},       {"import", import_ms}, {"saturate", saturate_ms},
                    {"extract", extract_ms}, {"export", export_ms}};
    write_file_atomic(*json_path, j.dump(2) + "\n");
  }
  return 0;
}

}  // namespace eqopt::cli
