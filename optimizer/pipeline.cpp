#include "optimizer/pipeline.h"

#include <algorithm>
#include <chrono>

#include "egraph/serialize.h"

namespace eqopt::opt {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::shared_ptr<const tgt::CostModel> model_or_cpu(std::shared_ptr<const tgt::CostModel> m) {
  return m ? m : tgt::make_cost_model("cpu");
}

}  // namespace

std::vector<rules::Rule> rules_for_target(const std::vector<rules::Rule>& rules, const std::string& target) {
  const std::vector<std::string> builtin = tgt::builtin_target_names();
  const bool is_builtin = std::find(builtin.begin(), builtin.end(), target) != builtin.end();
  if (!is_builtin) return rules;
  std::vector<rules::Rule> out;
  for (const rules::Rule& r : rules) {
    const bool tagged = std::any_of(r.tags.begin(), r.tags.end(), [&](const std::string& t) {
      return std::find(builtin.begin(), builtin.end(), t) != builtin.end();
    });
    if (!tagged || std::find(r.tags.begin(), r.tags.end(), target) != r.tags.end()) out.push_back(r);
  }
  return out;
}

namespace {

// What the budget leaves for extraction and export once saturation has run: extraction needs a
// little for its heuristics and export for writing the model.
constexpr double kExtractReserveS = 0.5, kExportReserveS = 0.2;

double seconds_left(const OptimizeOptions& o, Clock::time_point start) {
  return o.time_budget_s - o.time_used_s - ms_since(start) / 1e3;
}

}  // namespace

SaturationStats saturate(TensorProgram& program, const std::vector<rules::Rule>& rules, const OptimizeOptions& options) {
  SaturationStats s;
  const CompiledRules compiled = compile_rules(program, rules, options.schedule);
  eg::RunnerLimits limits;
  limits.iterations = options.max_iterations;
  limits.nodes = options.max_nodes;
  limits.seconds = options.time_limit_s;
  limits.group_nodes.assign(kMultiGroup + 1, 0);
  limits.group_nodes[kMultiGroup] = options.multi_nodes;
  eg::Runner<TensorEGraph> runner(program.egraph(), limits, eg::SchedulerKind::Backoff);
  if (!compiled.rewrites.empty()) s.stop = runner.run(compiled.rewrites);
  for (const auto& it : runner.iterations())
    for (size_t k = 0; k < it.rules.size(); ++k)
      if (it.rules[k].unions) s.fired[compiled.rewrites[k].name] += it.rules[k].unions;
  s.rules = compiled.rewrites.size();
  s.iterations = runner.iterations().size();
  return s;
}

TargetExtraction extract_for_target(TensorProgram& program, std::shared_ptr<const tgt::CostModel> model,
                                    const OptimizeOptions& options) {
  model = model_or_cpu(std::move(model));
  program.set_cost_model(model);
  program.allow_own_ops(options.own_ops);
  ex::Options eo;
  eo.mode = options.extract_mode;
  eo.time_limit_s = options.extract_time_limit_s;
  const TensorProgram::Extraction e = program.choose(eo);
  TargetExtraction t;
  t.target = model->name();
  t.selection = e.selection;
  t.cost = e.cost;
  t.tree_greedy_cost = e.result.greedy_tree_cost;
  t.heuristic_cost = e.result.heuristic_cost;
  t.optimal = e.result.optimal;
  t.method = e.method;
  t.ilp_status = e.result.ilp_status;
  t.ilp_ms = e.result.ilp_seconds * 1e3;
  t.bound = e.result.bound;
  if (const auto& x = e.result.exact) {
    t.subproblems = x->subproblems;
    t.ilp_subproblems = x->ilp_subproblems;
    t.exact_nodes = x->nodes;
    t.kept_nodes = x->kept_nodes;
  }
  t.by_class = program.cost_by_class(t.selection);
  return t;
}

OptimizeResult optimize_model(const Model& model, const std::vector<rules::Rule>& rules, const OptimizeOptions& options) {
  OptimizeResult r;
  const auto t0 = Clock::now();
  TensorProgram program(model, options.import);
  r.import_ms = ms_since(t0);

  const auto t1 = Clock::now();
  const std::string target = options.cost_model ? options.cost_model->name() : "cpu";
  OptimizeOptions limited = options;
  limited.time_limit_s =
      std::max(0.05, std::min(options.time_limit_s, seconds_left(options, t0) - kExtractReserveS - kExportReserveS));
  const SaturationStats s = saturate(program, rules_for_target(rules, target), limited);
  r.saturate_ms = ms_since(t1);
  r.rules = s.rules;
  r.iterations = s.iterations;
  r.stop = s.stop;
  r.fired = s.fired;
  r.enodes = program.egraph().num_nodes();
  r.eclasses = program.egraph().num_classes();

  const auto t2 = Clock::now();
  limited.extract_time_limit_s =
      std::max(0.05, std::min(options.extract_time_limit_s, seconds_left(options, t0) - kExportReserveS));
  r.extraction = extract_for_target(program, options.cost_model, limited);
  r.extracted = program.write(r.extraction.selection);
  r.extract_ms = ms_since(t2);
  r.target = r.extraction.target;
  r.cost_before = program.initial_cost();
  r.cost_after = r.extraction.cost;
  r.class_cost_before = program.initial_cost_by_class();
  r.class_cost_after = r.extraction.by_class;
  // Do no harm: the imported program is one of extraction's starts, so this holds unless merges
  // made its selection cyclic; then the model is kept as it was imported.
  if (r.cost_after > r.cost_before * (1 + 1e-9)) {
    r.extracted = model;
    r.cost_after = r.cost_before;
    r.class_cost_after = r.class_cost_before;
    r.extraction.cost = r.cost_before;
    r.extraction.optimal = false;
    r.extraction.method += "; the imported program is cheaper, kept";
  }
  if (options.serialize_egraph)
    r.egraph_json = eg::write_egraph_json<TensorEGraph>(program.egraph(), program.output_classes(),
                                                        [&](const TensorEGraph&, eg::Id n) { return program.own_cost(n); });

  const auto t3 = Clock::now();
  r.model = to_standard_onnx(r.extracted, &r.exported);
  r.export_ms = ms_since(t3);
  return r;
}

TargetMatrix compare_targets(const Model& model, const std::vector<rules::Rule>& rules,
                             const std::vector<std::shared_ptr<const tgt::CostModel>>& targets,
                             const OptimizeOptions& options) {
  TargetMatrix m;
  TensorProgram program(model, options.import);
  saturate(program, rules, options);
  m.enodes = program.egraph().num_nodes();
  m.eclasses = program.egraph().num_classes();
  const size_t n = targets.size();
  for (size_t u = 0; u < n; ++u) {
    m.targets.push_back(targets[u]->name());
    m.extractions.push_back(extract_for_target(program, targets[u], options));
  }
  m.original.assign(n, 0);
  m.cost.assign(n, std::vector<double>(n, 0));
  for (size_t t = 0; t < n; ++t) {
    program.set_cost_model(targets[t]);
    program.allow_own_ops(options.own_ops);
    m.original[t] = program.initial_cost();
    for (size_t u = 0; u < n; ++u) m.cost[t][u] = program.dag_cost(m.extractions[u].selection);
  }
  std::vector<std::vector<eg::Id>> programs;
  for (size_t u = 0; u < n; ++u) {
    programs.push_back(program.chosen_nodes(m.extractions[u].selection));
    size_t first = u;
    for (size_t v = 0; v < u; ++v)
      if (programs[v] == programs[u]) {
        first = v;
        break;
      }
    m.distinct.push_back(first);
  }
  return m;
}

}  // namespace eqopt::opt
