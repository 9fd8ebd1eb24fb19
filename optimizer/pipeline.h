// The whole optimization of one model, as `eqopt optimize` and `eqopt MODEL --target T` run it:
// import into the tensor e-graph, saturate with the rules, extract the cheapest program under a
// target's cost model, and express the result in standard ONNX.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "egraph/runner.h"
#include "extract/extract.h"
#include "ir/graph.h"
#include "optimizer/export.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/rule.h"
#include "targets/cost_model.h"

namespace eqopt::opt {

struct OptimizeOptions {
  ImportOptions import;
  RuleSchedule schedule;
  // The whole of optimize_model, import to export, aims to finish within this many seconds:
  // saturation stops early enough to leave extraction and export their share, and exact extraction
  // gets what is left (at most extract_time_limit_s). `time_used_s` is what the caller spent before
  // (loading the model), counted against the budget.
  double time_budget_s = 2.0;
  double time_used_s = 0;
  // Kept for what follows optimize_model: export and writing the files (the CLI sets it from the
  // time loading took, since writing a model takes about as long as reading it).
  double export_reserve_s = 0.2;
  // Saturation limits (the time limit is further capped by the budget).
  size_t max_iterations = 20;
  size_t max_nodes = 100000;
  double time_limit_s = 1.2;
  size_t multi_nodes = 20000;  // e-nodes the multi-pattern rules may add in total
  // Let extraction choose eqopt's own ops. Off for plain standard-ONNX output (export writes them
  // back as standard ops, so they cannot make the ONNX program better); on for a target, which
  // runs the fusions it lists as one kernel.
  bool own_ops = false;
  // The target whose cost model extraction minimises (nullptr: the built-in cpu target).
  std::shared_ptr<const tgt::CostModel> cost_model;
  // Extraction: greedy (DAG-aware greedy + local search), exact (integer program with CBC, warm
  // started by the greedy result) or auto (exact when the e-graph is small enough, within the
  // time limit, else greedy).
  ex::Mode extract_mode = ex::Mode::Auto;
  double extract_time_limit_s = 5;  // capped by what the budget leaves
  // Optimize If/Loop/Scan bodies as programs of their own (same rules, target and limits; the
  // saturation and extraction time limits are shared with them) before the graph that holds them.
  bool optimize_bodies = true;
  // Keep the saturated e-graph as egraph-serialize JSON with the target's costs (for `eqopt extract`
  // and extraction-gym); e-nodes that can never be extracted get cost -1.
  bool serialize_egraph = false;
};

// What one extraction found, for one target.
struct TargetExtraction {
  std::string target;
  TensorProgram::Selection selection;
  double cost = 0;               // estimated seconds, DAG cost (shared values paid once)
  double tree_greedy_cost = 0;   // the greedy tree-cost extractor's program, same cost model
  double heuristic_cost = 0;     // greedy DAG + local search
  bool optimal = false;          // proved optimal (extract/decompose.cpp)
  double bound = 0;              // lower bound on the optimum under the cost model (= cost when optimal)
  std::string method;
  std::string ilp_status;        // the exact extraction's status, or why it did not run
  double ilp_ms = 0;             // time of the exact extraction
  size_t subproblems = 0, ilp_subproblems = 0;  // regions of the decomposition; those given to CBC
  size_t exact_nodes = 0, kept_nodes = 0;       // e-nodes the exact extraction saw; kept by its reduction
  std::map<std::string, double> by_class;  // estimated seconds per op class ("host": fallbacks)
};

struct OptimizeResult {
  Model model;       // standard ONNX
  Model extracted;   // the extracted program before export (may hold eqopt's own ops)
  std::string target;
  // E-nodes and e-classes summed over the model's graph and its bodies; rules and iterations of the
  // model's graph.
  size_t enodes = 0, eclasses = 0, rules = 0, iterations = 0;
  size_t bodies = 0;  // If/Loop/Scan bodies optimized (nested ones included)
  size_t bodies_unproved = 0;  // ... whose extraction was not proved optimal
  eg::StopReason stop = eg::StopReason::Saturated;
  std::map<std::string, size_t> fired;  // rule -> unions it made (in bodies too)
  // Estimated seconds on the target, bodies counted as TensorProgram::BodyCost says (before: the
  // bodies as imported; after: as optimized).
  double cost_before = 0, cost_after = 0;
  std::map<std::string, double> class_cost_before, class_cost_after;
  TargetExtraction extraction;
  ExportReport exported;
  std::string egraph_json;  // when OptimizeOptions::serialize_egraph
  // Time per phase, the bodies' phases included.
  double import_ms = 0, saturate_ms = 0, extract_ms = 0, export_ms = 0;
};

// Saturation statistics of one run.
struct SaturationStats {
  size_t rules = 0, iterations = 0;
  eg::StopReason stop = eg::StopReason::Saturated;
  std::map<std::string, size_t> fired;
};

// The rules meant for a target. A rule tagged with built-in target names (cpu, gpu, npu) is meant
// for those targets only; untagged rules, and every rule for a target that is not built in, apply.
// An empty target name keeps every rule.
std::vector<rules::Rule> rules_for_target(const std::vector<rules::Rule>& rules, const std::string& target);

// Saturates `program` with the rules under the options' limits (all of them: filter with
// rules_for_target first).
SaturationStats saturate(TensorProgram& program, const std::vector<rules::Rule>& rules, const OptimizeOptions& options);

// Extracts the cheapest program under `model`'s costs (sets the program's cost model).
TargetExtraction extract_for_target(TensorProgram& program, std::shared_ptr<const tgt::CostModel> model,
                                    const OptimizeOptions& options);

// Runs the pipeline with the given (parsed) rules, those meant for the cost model's target; an empty
// list only imports and extracts. Bodies of If/Loop/Scan are optimized first, each as a program
// whose inputs are its formal inputs and the outer values it reads (docs/optimizer.md).
OptimizeResult optimize_model(const Model& model, const std::vector<rules::Rule>& rules,
                              const OptimizeOptions& options = {});

// The evidence that targets matter: one e-graph saturated with every rule (whatever its target
// tags), the best program for each target, and every program's estimated cost on every target.
struct TargetMatrix {
  std::vector<std::string> targets;
  std::vector<double> original;             // [t]: the imported model on target t
  std::vector<std::vector<double>> cost;    // [t][u]: target u's program on target t
  std::vector<TargetExtraction> extractions;  // [u]
  std::vector<size_t> distinct;              // [u]: index of the first target with the same program
  size_t enodes = 0, eclasses = 0;
};
TargetMatrix compare_targets(const Model& model, const std::vector<rules::Rule>& rules,
                             const std::vector<std::shared_ptr<const tgt::CostModel>>& targets,
                             const OptimizeOptions& options = {});

}  // namespace eqopt::opt
