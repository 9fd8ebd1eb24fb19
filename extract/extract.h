// Extraction: choosing one e-node per needed e-class of an e-graph so that the program reachable
// from the root classes is acyclic and has the least DAG cost (each chosen node's cost is paid
// once, however many parents use it).
//
// The library works on a neutral problem representation (`Problem`: classes, nodes with costs and
// child classes, roots) so that it knows nothing about tensors or about where costs come from; the
// optimizer and the `eqopt extract` command build a Problem and read back a `Choice`.
//
// Extractors, from cheap to exact:
//   greedy_tree   bottom-up tree cost (Knuth's generalization of Dijkstra); always acyclic
//   greedy_dag    extraction-gym's "faster greedy DAG" (cost sets as bitsets over classes)
//   local_search  single-class switches judged by the exact DAG cost, while the cost falls
//   extract_ilp   the exact 0-1 integer program (after TENSAT and extraction-gym), solved by CBC
//   extract_exact the problem reduced and cut into independent sub-problems, each solved exactly
//                 (by inspection, enumeration or extract_ilp) and stitched: exact at model scale
//   brute_force   every combination (for tests)
// `extract` combines them (heuristics, then extract_exact warm-started with the best heuristic choice).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "egraph/serialize.h"

namespace eqopt::ex {

// Classes 0..C-1, nodes 0..N-1. A node is extractable when its cost is finite and not negative
// and none of its children is its own class (such a node can never be part of an acyclic program).
struct Problem {
  uint32_t n_classes = 0;                            // counted by add_class()
  std::vector<uint32_t> node_class;                  // class of each node
  std::vector<std::vector<uint32_t>> node_children;  // child CLASSES of each node (may repeat)
  std::vector<double> node_cost;
  std::vector<std::string> node_label;               // optional (empty or one per node): messages, JSON
  std::vector<std::string> class_label;              // optional (empty or one per class)
  std::vector<std::vector<uint32_t>> class_nodes;    // filled by finish()
  std::vector<uint32_t> roots;                       // root classes

  size_t num_classes() const { return n_classes; }
  size_t num_nodes() const { return node_class.size(); }
  uint32_t add_class();
  // Adds a node; `cls` must exist already (children are checked by finish(), so they may name
  // classes added later).
  uint32_t add_node(uint32_t cls, std::vector<uint32_t> children, double cost, std::string label = {});
  // Builds class_nodes and checks every index and vector size; throws eqopt::Error naming the
  // offending node, class or root. Every extractor requires a finished problem.
  void finish();
  bool extractable(uint32_t node) const;
};

// From the egraph-serialize JSON content (egraph/serialize.h): one class per distinct "eclass" (in
// order of first appearance; class_label is the eclass name), node i is s.nodes[i] (node_label is
// its "op"; its id is s.nodes[i].id), a child is the class of the node it names. Throws on
// duplicate node ids, unknown children and roots that name no class.
Problem from_serialized(const eg::SerializedEGraph& s);

// Per class: the chosen node, or -1.
using Choice = std::vector<int32_t>;

// Every class reachable from the roots through chosen nodes has a chosen, extractable node of its
// own class, and the chosen nodes reachable from the roots form no cycle.
bool acyclic_and_complete(const Problem& p, const Choice& c);
// Classes reachable from the roots through chosen nodes (each once; depth-first order). Classes
// without a choice are listed but not followed.
std::vector<uint32_t> needed_classes(const Problem& p, const Choice& c);
// Sum of the chosen nodes' costs over the classes reachable from the roots; +infinity when a
// reachable class has no choice. Defined for cyclic choices too (each class counted once).
double dag_cost(const Problem& p, const Choice& c);
// Cost as a tree (a class used twice is paid twice), for reports; +infinity unless
// acyclic_and_complete.
double tree_cost(const Problem& p, const Choice& c);

// Least tree cost per class by Knuth's algorithm (a class is final when it is the cheapest open
// one; a node is considered once all its children are final). Every class that has any acyclic
// program gets a choice, so the result is complete exactly when the problem is feasible, and it is
// acyclic by construction (also with cost-0 nodes: a chosen node's children were final before it).
Choice greedy_tree(const Problem& p);
// extraction-gym's "faster greedy DAG": per class, the node whose set of needed classes (its own
// and those of its children's sets, merged) has the least total cost. nullopt when the sets would
// take more than 256 MB or their merging more than 2^30 word operations (long chains), or when the
// result is cyclic or incomplete.
std::optional<Choice> greedy_dag(const Problem& p);
// First-improvement local search over single-class switches judged by the exact DAG cost; stops
// when no switch lowers the cost or after about `budget` class visits. `start` must be
// acyclic_and_complete (throws otherwise); the result is too, and never costs more.
Choice local_search(const Problem& p, Choice start, size_t budget);

struct IlpOptions {
  double time_limit_s = 10;
  const Choice* warm_start = nullptr;  // ignored (and said so in status) unless acyclic_and_complete
  int log_level = 0;                   // > 0: CBC's log on stdout
  bool reduce = true;                  // drop dominated nodes before building the program
  bool isolate = true;                 // run CBC in a forked child (false: in this process, for
                                       // callers that are already in one)
  double kill_grace_s = 0.5;           // an isolated CBC still running at 1.2 x time_limit_s plus
                                       // this is killed (it overruns its limit in some phases)
  bool preprocess = true;              // CBC's preprocessing (off: a retry after it crashed)
  // Acyclicity: rows that forbid each cycle a solution holds, added as found and solved again
  // (lazy), or order variables inside the class graph's strongly connected components (big-M
  // rows, a much looser relaxation).
  bool lazy_cycles = true;
};
struct IlpResult {
  Choice choice;          // -1 outside the classes the program needs
  double cost = 0;        // DAG cost of `choice`, in the problem's unit
  bool optimal = false;   // CBC proved it optimal
  bool feasible = false;  // `choice` is a valid extraction
  double bound = 0;       // lower bound on the optimum (+infinity when proven infeasible)
  double seconds = 0;
  std::string status;     // "optimal", "infeasible: ...", "time limit, feasible", ...
  size_t rows = 0, cols = 0;
};
// The exact 0-1 program (see ilp.cpp and README.md), solved with CBC on one thread. Never throws
// for infeasible problems or solver trouble: feasible=false and status says why.
IlpResult extract_ilp(const Problem& p, const IlpOptions& options);

// Exact extraction at model scale (decompose.cpp, README.md): the problem is reduced (dominated
// nodes, free leaves), mandatory classes outside cycles become roots of their own, and the class
// graph is cut at classes that dominate everything below them into independent sub-problems,
// solved bottom-up by inspection, enumeration or the integer program, and stitched together.
struct ExactOptions {
  double time_limit_s = 1;             // for the whole; sub-problems share what is left
  const Choice* warm_start = nullptr;  // a valid choice (e.g. the heuristic's): each sub-problem starts
                                       // from its restriction; ignored where it is not valid
  uint64_t enumerate_max = 4096;       // sub-problems with at most this many combinations are enumerated
  int log_level = 0;
  bool isolate = true;                 // run each integer program in a forked child (CBC may
                                       // crash or overrun its limit; then that sub-problem keeps
                                       // its heuristic answer)
};
struct ExactResult {
  Choice choice;          // -1 outside the classes the program needs
  double cost = 0;        // DAG cost of `choice`
  double bound = 0;       // lower bound on the optimum (cost when optimal)
  bool optimal = false;   // every sub-problem proved optimal
  bool feasible = false;  // `choice` is a valid extraction
  size_t subproblems = 0;         // regions of the decomposition
  size_t nontrivial = 0;          // ... with a choice to make
  size_t enumerated = 0;          // ... solved by enumeration
  size_t ilp_subproblems = 0;     // ... given to the integer program
  size_t ilp_optimal = 0;         // ... and proved optimal there
  size_t largest_subproblem = 0;  // nodes of the largest region
  size_t largest_ilp = 0;         // columns of the largest integer program
  size_t nodes = 0, kept_nodes = 0;  // nodes of the classes reachable from the roots, and kept by the reduction
  double seconds = 0;
  std::string status;     // "optimal", "not proved (gap G)", "infeasible: ...", then what went wrong
                          // in a sub-problem's integer program, if anything
};
ExactResult extract_exact(const Problem& p, const ExactOptions& options);

// The cheapest valid choice by enumerating every combination of extractable nodes over the classes
// reachable from the roots; nullopt when no valid choice exists. Throws when there are more than
// `max_combinations` combinations. For tests.
std::optional<Choice> brute_force(const Problem& p, uint64_t max_combinations = 1'000'000);

enum class Mode { Greedy, Exact, Auto };
// "greedy", "exact", "auto" <-> Mode (parse throws on anything else).
Mode parse_mode(const std::string& text);
const char* mode_name(Mode m);

struct Options {
  Mode mode = Mode::Auto;
  double time_limit_s = 10;                      // for the exact extraction
  size_t local_search_budget = size_t(1) << 25;
  size_t exact_max_nodes = 200000;               // Auto runs the exact extraction only up to this many nodes
                                                 // in the classes reachable from the roots
  int log_level = 0;
  // Further valid choices the heuristic starts from too (e.g. the program as it was imported, so
  // extraction never does worse than the input); invalid ones are ignored.
  std::vector<Choice> starts;
};
struct Result {
  Choice choice;            // -1 outside the classes the program needs
  double cost = 0;          // DAG cost of `choice`
  std::string method;       // e.g. "dag-greedy + local search", "ilp"
  bool optimal = false;     // proven optimal (by the exact extraction)
  double greedy_tree_cost = 0;       // DAG cost of greedy_tree's choice
  double greedy_tree_tree_cost = 0;  // ... and its cost as a tree
  std::optional<double> greedy_dag_cost;  // nullopt when greedy_dag gave up, or was not run (the
                                          // exact extraction runs it per sub-problem)
  double heuristic_cost = 0;         // best heuristic after local search
  double seconds = 0;
  double ilp_seconds = 0;            // time of the exact extraction
  std::string ilp_status;            // the exact extraction's status, or why it was not run
  double bound = 0;                  // lower bound on the optimum (the cost when optimal; 0 when unknown)
  std::optional<ExactResult> exact;  // when the exact extraction ran
};
// Auto: heuristics (best of greedy_tree and greedy_dag by DAG cost, then local_search), then, when
// the needed part has at most exact_max_nodes nodes, extract_exact warm-started with the heuristic;
// its choice is taken when cheaper, and its bound reported. Greedy: heuristics only. Exact: always
// extract_exact; when it finds nothing the heuristic is returned and `method`/`ilp_status` say so.
// Throws when the problem has no valid choice (a root class has no acyclic program).
Result extract(const Problem& p, const Options& options);

}  // namespace eqopt::ex
