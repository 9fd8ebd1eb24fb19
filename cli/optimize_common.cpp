#include "cli/optimize_common.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "cli/common.h"
#include "rules/parser.h"
#include "support/error.h"

namespace eqopt::cli {

const char* const kOptimizeOptionsHelp = R"(  --target NAME             optimize for a built-in target: cpu, gpu or npu (targets/*.target).
                            Extraction minimises that target's estimated time and may choose
                            the fused ops it runs as one kernel.
  --target-file FILE        optimize for a target described in FILE (docs/targets.md)
  --extractor MODE          auto (default): exact extraction (the e-graph cut into independent
                            sub-problems, each solved exactly, the hard ones by CBC), warm-started
                            by the greedy result, within the time limit, when the e-graph is not
                            too large; exact: always try it; greedy: DAG-aware greedy with local
                            search only
  --time-budget S           the whole run, from reading the rules to writing the result, aims to
                            finish within S seconds (default 2): saturation stops in time to leave
                            extraction and export their share, and exact extraction gets the rest
  --extract-time-limit S    time limit of exact extraction in seconds (default 5, capped by the
                            budget)
  --rules DIR               rule files to use (default: the ruledb/ folder eqopt was built from)
  --no-rules                import and extract only
  --max-iterations N        saturation iteration limit (default 20)
  --max-nodes N             saturation e-node limit (default 100000)
  --time-limit S            saturation time limit in seconds (default 1.2, capped by the budget)
  --multi-iterations N      multi-pattern rules run in the first N iterations only (default 2)
  --multi-nodes N           e-nodes the multi-pattern rules may add in total (default 20000)
  --ac-match-limit N        per-iteration match budget of rules tagged [ac] before the backoff
                            scheduler bans them (default 250; other rules 1000)
  --own-ops                 without a target: let extraction choose eqopt's own fused ops (export
                            still writes them as standard ops)
  --no-own-ops              with a target: extract standard ops only
  --input-shape NAME=DIMS   fix a dynamic input shape (enables more folding, better estimates)
)";

std::vector<OptionSpec> optimize_option_specs() {
  return {{"input-shape", true, true}, {"rules", true},        {"no-rules"},          {"max-iterations", true},
          {"max-nodes", true},         {"time-limit", true},   {"multi-iterations", true}, {"multi-nodes", true},
          {"ac-match-limit", true},    {"own-ops"},            {"no-own-ops"},        {"target", true},
          {"target-file", true},       {"extractor", true},    {"extract-time-limit", true},
          {"time-budget", true}};
}

OptimizeSetup optimize_setup(const Args& args, const std::string& default_target) {
  OptimizeSetup s;
  opt::OptimizeOptions& o = s.options;
  o.import.input_dims = parse_input_shapes(args.values("input-shape"));
  o.max_iterations = size_t(args.integer("max-iterations", int64_t(o.max_iterations)));
  o.max_nodes = size_t(args.integer("max-nodes", int64_t(o.max_nodes)));
  o.time_limit_s = args.number("time-limit", o.time_limit_s);
  o.multi_nodes = size_t(args.integer("multi-nodes", int64_t(o.multi_nodes)));
  o.schedule.multi_iterations = size_t(args.integer("multi-iterations", int64_t(o.schedule.multi_iterations)));
  o.schedule.ac_match_limit = size_t(args.integer("ac-match-limit", int64_t(o.schedule.ac_match_limit)));
  o.extract_time_limit_s = args.number("extract-time-limit", o.extract_time_limit_s);
  o.time_budget_s = args.number("time-budget", o.time_budget_s);
  if (!(o.time_budget_s > 0)) fail("--time-budget must be greater than 0");
  if (!(o.extract_time_limit_s > 0)) fail("--extract-time-limit must be greater than 0");
  const std::string mode = args.value("extractor").value_or("auto");
  if (mode == "auto") o.extract_mode = ex::Mode::Auto;
  else if (mode == "exact") o.extract_mode = ex::Mode::Exact;
  else if (mode == "greedy") o.extract_mode = ex::Mode::Greedy;
  else fail("--extractor must be auto, exact or greedy, found '", mode, "'");
  if (args.flag("target") && args.flag("target-file")) fail("give --target or --target-file, not both");
  if (args.flag("own-ops") && args.flag("no-own-ops")) fail("give --own-ops or --no-own-ops, not both");
  if (auto file = args.value("target-file")) {
    o.cost_model = tgt::make_cost_model_from_file(*file);
    s.target_given = true;
  } else if (auto name = args.value("target")) {
    o.cost_model = tgt::make_cost_model(*name);
    s.target_given = true;
  } else if (!default_target.empty()) {
    o.cost_model = tgt::make_cost_model(default_target);
    s.target_given = true;
  } else {
    o.cost_model = tgt::make_cost_model("cpu");
  }
  o.own_ops = s.target_given ? !args.flag("no-own-ops") : args.flag("own-ops");
  if (!args.flag("no-rules")) s.rules = rules::load_rule_dir(args.value("rules").value_or(EQOPT_RULEDB_DIR));
  return s;
}

namespace {

// Op counts and node counts include the nodes inside If/Loop/Scan bodies.
std::map<std::string, int64_t> histogram(const Graph& g) {
  std::map<std::string, int64_t> h;
  for_each_graph(g, [&](const Graph& sub, int) {
    for (const Node& n : sub.nodes) ++h[OpId::of(n).str()];
  });
  return h;
}

size_t node_count(const Graph& g) {
  size_t n = 0;
  for_each_graph(g, [&](const Graph& sub, int) { n += sub.nodes.size(); });
  return n;
}

std::string fixed(double x, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string pad(const std::string& s, size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' '); }

}  // namespace

std::string report_text(const ReportInput& in) {
  const opt::OptimizeResult& r = *in.result;
  const Model& model = *in.original;
  std::ostringstream o;
  o << "optimized " << in.model_path << " for target " << r.target << "\n";
  for (const auto& [role, path] : in.files) o << "  " << pad(role + ":", 18) << path << "\n";
  o << "e-graph: " << r.enodes << " e-nodes, " << r.eclasses << " e-classes; " << r.rules << " rules, " << r.iterations
    << " iterations, stop " << eg::stop_reason_name(r.stop);
  if (r.bodies)
    o << "; " << r.bodies << " If/Loop/Scan bodies optimized too (e-nodes summed; " << r.bodies - r.bodies_unproved
      << " proved optimal)";
  o << "\n";
  o << "nodes: " << node_count(model.graph) << " -> " << node_count(r.extracted.graph) << " (target program), "
    << node_count(r.model.graph) << " (standard ONNX)\n";
  const double speedup = r.cost_after > 0 ? r.cost_before / r.cost_after : 0;
  o << "estimated time on " << r.target << ": " << fixed(r.cost_before * 1e3) << " ms -> " << fixed(r.cost_after * 1e3)
    << " ms (" << fixed(speedup, 2) << "x)\n";
  const opt::TargetExtraction& e = r.extraction;
  o << "extraction: " << e.method << (e.optimal ? " (optimal)" : "") << "; greedy tree-cost "
    << fixed(e.tree_greedy_cost * 1e3) << " ms, heuristic " << fixed(e.heuristic_cost * 1e3) << " ms";
  o << "\n";
  if (!e.ilp_status.empty()) {
    o << "exact extraction: " << e.ilp_status;
    if (e.subproblems)
      o << "; " << e.exact_nodes << " e-nodes, " << e.kept_nodes << " after reduction, " << e.subproblems
        << " sub-problems (" << e.ilp_subproblems << " by integer program)";
    o << ", " << fixed(e.ilp_ms, 0) << " ms";
    if (!e.optimal && e.bound > 0 && e.cost > 0)
      o << "; best bound " << fixed(e.bound * 1e3) << " ms, gap " << fixed(100 * (e.cost - e.bound) / e.cost, 2) << "%";
    o << "\n";
  }
  o << "estimated time per op class (ms):\n";
  o << "  " << pad("class", 16) << pad("before", 12) << "after\n";
  std::set<std::string> classes;
  for (const auto& [k, v] : r.class_cost_before) classes.insert(k);
  for (const auto& [k, v] : r.class_cost_after) classes.insert(k);
  for (const std::string& c : classes) {
    const double b = r.class_cost_before.count(c) ? r.class_cost_before.at(c) : 0;
    const double a = r.class_cost_after.count(c) ? r.class_cost_after.at(c) : 0;
    o << "  " << pad(c, 16) << pad(fixed(b * 1e3, 4), 12) << fixed(a * 1e3, 4) << "\n";
  }
  o << "opset: " << r.exported.opset_before << " -> " << r.exported.opset_after;
  if (!r.exported.expanded.empty()) {
    o << "; written by their definitions in the standard ONNX:";
    for (const std::string& op : r.exported.expanded) o << " " << op;
  }
  o << "\n";
  o << "time ms: load " << fixed(in.load_ms, 1) << ", import " << fixed(r.import_ms, 1) << ", saturate "
    << fixed(r.saturate_ms, 1) << ", extract " << fixed(r.extract_ms, 1) << ", export " << fixed(r.export_ms + in.save_ms, 1)
    << "\n";
  if (!r.fired.empty()) {
    o << "rules that fired (unions):\n";
    for (const auto& [name, n] : r.fired) o << "  " << pad(name, 28) << n << "\n";
  }
  const auto before = histogram(model.graph), after = histogram(r.extracted.graph);
  o << "ops before -> after (target program):\n";
  std::set<std::string> all;
  for (const auto& [k, v] : before) all.insert(k);
  for (const auto& [k, v] : after) all.insert(k);
  for (const std::string& op : all) {
    const int64_t b = before.count(op) ? before.at(op) : 0, a = after.count(op) ? after.at(op) : 0;
    o << "  " << pad(op, 24) << b << " -> " << a << "\n";
  }
  return o.str();
}

nlohmann::ordered_json report_json(const ReportInput& in) {
  const opt::OptimizeResult& r = *in.result;
  const Model& model = *in.original;
  nlohmann::ordered_json j;
  j["model"] = in.model_path;
  j["target"] = r.target;
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const auto& [role, path] : in.files) files[role] = path;
  j["files"] = files;
  j["enodes"] = r.enodes;
  j["eclasses"] = r.eclasses;
  j["bodies"] = r.bodies;
  j["bodies_unproved"] = r.bodies_unproved;
  j["nodes_before"] = node_count(model.graph);
  j["nodes_after"] = node_count(r.model.graph);
  j["nodes_target_program"] = node_count(r.extracted.graph);
  j["ops_before"] = histogram(model.graph);
  j["ops_after"] = histogram(r.model.graph);
  j["ops_target_program"] = histogram(r.extracted.graph);
  j["rules"] = r.rules;
  j["iterations"] = r.iterations;
  j["stop"] = std::string(eg::stop_reason_name(r.stop));
  j["rules_fired"] = r.fired;
  j["estimated_cost_ms"] = {{"before", r.cost_before * 1e3}, {"after", r.cost_after * 1e3}};
  nlohmann::ordered_json by_class = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.class_cost_before) by_class[k]["before"] = v * 1e3;
  for (const auto& [k, v] : r.class_cost_after) by_class[k]["after"] = v * 1e3;
  for (auto& [k, v] : by_class.items()) {
    if (!v.contains("before")) v["before"] = 0.0;
    if (!v.contains("after")) v["after"] = 0.0;
  }
  j["estimated_cost_by_class_ms"] = by_class;
  const opt::TargetExtraction& e = r.extraction;
  j["extraction"] = {{"method", e.method},
                     {"optimal", e.optimal},
                     {"cost_ms", e.cost * 1e3},
                     {"greedy_tree_cost_ms", e.tree_greedy_cost * 1e3},
                     {"heuristic_cost_ms", e.heuristic_cost * 1e3},
                     {"bound_ms", e.bound * 1e3},
                     {"gap_percent", e.optimal ? nlohmann::ordered_json(0.0)
                                     : e.subproblems && e.cost > 0 ? nlohmann::ordered_json(100 * (e.cost - e.bound) / e.cost)
                                                                   : nlohmann::ordered_json()},
                     {"exact_status", e.ilp_status},
                     {"exact_ms", e.ilp_ms},
                     {"exact_enodes", e.exact_nodes},
                     {"exact_kept_enodes", e.kept_nodes},
                     {"subproblems", e.subproblems},
                     {"ilp_subproblems", e.ilp_subproblems}};
  j["opset"] = {{"before", r.exported.opset_before}, {"after", r.exported.opset_after}};
  j["expanded_ops"] = r.exported.expanded;
  j["time_ms"] = {{"load", in.load_ms},      {"import", r.import_ms}, {"saturate", r.saturate_ms},
                  {"extract", r.extract_ms}, {"export", r.export_ms + in.save_ms}};
  return j;
}

}  // namespace eqopt::cli
