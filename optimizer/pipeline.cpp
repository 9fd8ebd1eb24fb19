#include "optimizer/pipeline.h"

#include <chrono>

namespace eqopt::opt {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

OptimizeResult optimize_model(const Model& model, const std::vector<rules::Rule>& rules, const OptimizeOptions& options) {
  OptimizeResult r;
  const auto t0 = Clock::now();
  TensorProgram program(model, options.import);
  r.import_ms = ms_since(t0);

  const auto t1 = Clock::now();
  const CompiledRules compiled = compile_rules(program, rules, options.schedule);
  eg::RunnerLimits limits;
  limits.iterations = options.max_iterations;
  limits.nodes = options.max_nodes;
  limits.seconds = options.time_limit_s;
  limits.group_nodes.assign(kMultiGroup + 1, 0);
  limits.group_nodes[kMultiGroup] = options.multi_nodes;
  eg::Runner<TensorEGraph> runner(program.egraph(), limits, eg::SchedulerKind::Backoff);
  if (!compiled.rewrites.empty()) r.stop = runner.run(compiled.rewrites);
  for (const auto& it : runner.iterations())
    for (size_t k = 0; k < it.rules.size(); ++k)
      if (it.rules[k].unions) r.fired[compiled.rewrites[k].name] += it.rules[k].unions;
  r.saturate_ms = ms_since(t1);
  r.rules = compiled.rewrites.size();
  r.iterations = runner.iterations().size();
  r.enodes = program.egraph().num_nodes();
  r.eclasses = program.egraph().num_classes();

  const auto t2 = Clock::now();
  program.allow_own_ops(options.own_ops);
  const TensorProgram::Extraction extraction = program.choose();
  r.extracted = program.write(extraction.selection);
  r.extract_ms = ms_since(t2);
  r.cost_before = program.initial_cost();
  r.cost_after = extraction.cost;
  r.extraction = extraction.method;

  const auto t3 = Clock::now();
  r.model = to_standard_onnx(r.extracted, &r.exported);
  r.export_ms = ms_since(t3);
  return r;
}

}  // namespace eqopt::opt
