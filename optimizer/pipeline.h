// The whole optimization of one model, as `eqopt optimize` runs it: import into the tensor e-graph,
// saturate with the rules, extract, and express the result in standard ONNX.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "egraph/runner.h"
#include "ir/graph.h"
#include "optimizer/export.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/rule.h"

namespace eqopt::opt {

struct OptimizeOptions {
  ImportOptions import;
  RuleSchedule schedule;
  // Saturation limits; the defaults keep the whole pipeline within about 2 s on the shared models.
  size_t max_iterations = 20;
  size_t max_nodes = 100000;
  double time_limit_s = 1.5;
  size_t multi_nodes = 20000;  // e-nodes the multi-pattern rules may add in total
  // Let extraction choose eqopt's own ops. Off for standard-ONNX output (export would write them
  // back as standard ops, so they cannot make the ONNX program better); targets turn it on.
  bool own_ops = false;
};

struct OptimizeResult {
  Model model;       // standard ONNX
  Model extracted;   // the extracted program before export (may hold eqopt's own ops)
  size_t enodes = 0, eclasses = 0, rules = 0, iterations = 0;
  eg::StopReason stop = eg::StopReason::Saturated;
  std::map<std::string, size_t> fired;  // rule -> unions it made
  double cost_before = 0, cost_after = 0;  // estimated seconds (placeholder cost model)
  std::string extraction;                  // extraction method
  ExportReport exported;
  double import_ms = 0, saturate_ms = 0, extract_ms = 0, export_ms = 0;
};

// Runs the pipeline with the given (parsed) rules; an empty list only imports and extracts.
OptimizeResult optimize_model(const Model& model, const std::vector<rules::Rule>& rules,
                              const OptimizeOptions& options = {});

}  // namespace eqopt::opt
