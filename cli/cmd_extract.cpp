// eqopt extract: runs the extractors of extract/ on a serialized e-graph (the egraph-serialize JSON
// that extraction-gym reads and `egraph/serialize.h` writes) and reports what each achieves.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "egraph/serialize.h"
#include "extract/extract.h"
#include "onnx_io/onnx_io.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt extract EGRAPH.json [--mode auto|exact|greedy] [--time-limit S] [--json] [-o CHOICE.json]

Reads an e-graph in the egraph-serialize JSON format ({"nodes": {id: {"op", "children" (node ids),
"eclass", "cost"}}, "root_eclasses": [...]}) and chooses one node per needed e-class so that the
program reachable from the roots is acyclic and costs least, each node paid once (DAG cost).
Reports the tree-greedy choice (its DAG cost and its cost as a tree), the DAG-greedy choice, the
best of them after local search, and the exact extraction with its status, bound and sub-problems.

  --mode M            auto (default): heuristics, then the exact extraction (the e-graph cut into
                      independent sub-problems, each solved exactly, CBC for the hard ones) if the
                      e-graph is not too large; exact: always it; greedy: heuristics only
  --time-limit S      time limit of the exact extraction in seconds (default 10)
  --exact-max-nodes N auto runs the exact extraction only up to N nodes reachable from the roots
                      (default 200000)
  --log N             N > 0: one line per sub-problem of the exact extraction on stderr; N > 1: CBC's log
  --json              print the report as JSON
  -o, --output FILE   write the choice as {"choices": {"<eclass>": "<node id>"}, "cost": X}
                      (needed classes only; written atomically)
)";

// JSON numbers cannot be infinite; such values are written as null.
nlohmann::ordered_json number(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }

}  // namespace

int cmd_extract(const std::vector<std::string>& argv) {
  Args args("extract", argv, {{"help"}, {"mode", true}, {"time-limit", true}, {"exact-max-nodes", true}, {"json"}, {"output", true}, {"log", true}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "EGRAPH.json");
  ex::Options options;
  options.mode = ex::parse_mode(args.value("mode").value_or("auto"));
  options.time_limit_s = args.number("time-limit", options.time_limit_s);
  options.exact_max_nodes = size_t(args.integer("exact-max-nodes", int64_t(options.exact_max_nodes)));
  options.log_level = int(args.integer("log", 0));
  const std::string path = args.positional()[0];
  const eg::SerializedEGraph s = eg::serialized_from_json(read_file(path));
  const ex::Problem p = ex::from_serialized(s);
  const ex::Result r = ex::extract(p, options);

  const double gain = r.greedy_tree_cost > 0 ? 100.0 * (r.greedy_tree_cost - r.cost) / r.greedy_tree_cost : 0.0;
  if (auto out = args.value("output")) {
    // Each needed class once, each with its own label: appended to the object's vector, since
    // assigning by key searches an ordered_json object linearly (quadratic on large e-graphs).
    nlohmann::ordered_json choices = nlohmann::ordered_json::object();
    auto& entries = choices.get_ref<nlohmann::ordered_json::object_t&>();
    for (uint32_t cls : ex::needed_classes(p, r.choice))
      entries.emplace_back(p.class_label[cls], s.nodes[size_t(r.choice[cls])].id);
    nlohmann::ordered_json j;
    j["choices"] = std::move(choices);
    j["cost"] = r.cost;
    write_file_atomic(*out, j.dump(2) + "\n");
  }

  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["egraph"] = path;
    j["classes"] = p.num_classes();
    j["nodes"] = p.num_nodes();
    j["roots"] = p.roots.size();
    j["mode"] = ex::mode_name(options.mode);
    j["tree_greedy"] = {{"dag_cost", number(r.greedy_tree_cost)}, {"tree_cost", number(r.greedy_tree_tree_cost)}};
    j["dag_greedy"] = r.greedy_dag_cost ? nlohmann::ordered_json{{"dag_cost", number(*r.greedy_dag_cost)}} : nlohmann::ordered_json();
    j["heuristic_cost"] = number(r.heuristic_cost);
    if (r.exact) {
      const ex::ExactResult& e = *r.exact;
      j["exact"] = {{"feasible", e.feasible}, {"cost", e.feasible ? number(e.cost) : nlohmann::ordered_json()},
                    {"optimal", e.optimal}, {"bound", number(e.bound)}, {"status", e.status}, {"seconds", e.seconds},
                    {"nodes", e.nodes}, {"kept_nodes", e.kept_nodes}, {"subproblems", e.subproblems},
                    {"nontrivial_subproblems", e.nontrivial}, {"enumerated", e.enumerated},
                    {"ilp_subproblems", e.ilp_subproblems}, {"ilp_optimal", e.ilp_optimal},
                    {"largest_subproblem_nodes", e.largest_subproblem}, {"largest_ilp_columns", e.largest_ilp}};
    } else {
      j["exact"] = nullptr;
    }
    j["bound"] = number(r.bound);
    j["ilp_status"] = r.ilp_status;
    j["method"] = r.method;
    j["cost"] = number(r.cost);
    j["optimal"] = r.optimal;
    j["gain_percent"] = gain;
    j["seconds"] = r.seconds;
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << "e-graph " << path << ": " << p.num_classes() << " classes, " << p.num_nodes() << " nodes, " << p.roots.size()
            << (p.roots.size() == 1 ? " root" : " roots") << "\n";
  std::cout << "tree-greedy:  DAG cost " << r.greedy_tree_cost << " (as a tree " << r.greedy_tree_tree_cost << ")\n";
  if (r.greedy_dag_cost)
    std::cout << "dag-greedy:   DAG cost " << *r.greedy_dag_cost << "\n";
  else
    std::cout << "dag-greedy:   " << (r.exact ? "run per sub-problem by the exact extraction" : "gave up (too many classes, or its choice was cyclic)") << "\n";
  std::cout << "heuristic:    " << r.heuristic_cost << " (best greedy + local search)\n";
  if (r.exact) {
    const ex::ExactResult& e = *r.exact;
    std::cout << "exact:        ";
    if (e.feasible) std::cout << e.cost << ", ";
    std::cout << e.status << ", bound " << e.bound << ", " << e.seconds << " s; " << e.nodes << " nodes, " << e.kept_nodes
              << " after reduction, " << e.subproblems << " sub-problems (" << e.nontrivial << " with a choice, "
              << e.enumerated << " enumerated, " << e.ilp_subproblems << " integer programs, " << e.ilp_optimal
              << " proved; largest " << e.largest_subproblem << " nodes)\n";
  } else {
    std::cout << "exact:        " << r.ilp_status << "\n";
  }
  std::cout << "chosen:       " << r.cost << " by " << r.method << (r.optimal ? ", optimal" : "") << "; gain over tree-greedy "
            << gain << "%\n";
  if (auto out = args.value("output")) std::cout << "wrote " << *out << "\n";
  return 0;
}

}  // namespace eqopt::cli
