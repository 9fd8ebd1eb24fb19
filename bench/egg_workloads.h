// The e-graph workloads of ../shared/bench/egg-workloads.md (W1a, W1b, W2, W3), run exactly as
// specified: same rules in the same order, start terms, limits and runner semantics.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "egraph/runner.h"

namespace eqopt::bench {

struct WorkloadResult {
  std::string name;                 // e.g. "W1b/simplify_root", "W3:4"
  std::vector<std::string> rules;   // rule names, in order
  std::vector<eg::IterationReport> iterations;
  eg::StopReason stop = eg::StopReason::Saturated;
  double total_ms = 0;              // the runner alone (start term already added)
  size_t start_nodes = 0, nodes = 0, classes = 0, hashcons = 0;
};

// Workload names: W1a, W1b (each with /simplify_add, /simplify_const, /simplify_root,
// /simplify_factor), W2, W3, and W3:N (W3 with iteration limit N).
std::vector<std::string> workload_names();
bool is_workload(const std::string& name);

// Runs one workload (a W1a/W1b name without a start term runs all four; each is one result).
// `max_iterations` lowers the iteration limit (tests use it to stop after the complete iterations).
std::vector<WorkloadResult> run_workload(const std::string& name, eg::SchedulerKind scheduler,
                                         std::optional<size_t> max_iterations = std::nullopt);

}  // namespace eqopt::bench
