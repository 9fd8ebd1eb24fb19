#include "optimizer/pipeline.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "egraph/serialize.h"
#include "interp/interpreter.h"

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

// What the budget leaves for extraction once saturation has run (its heuristics, and some time for
// the exact extraction).
constexpr double kExtractReserveS = 0.5;

// Less a margin for what no phase measures: writing the reports, freeing the e-graph, exiting.
constexpr double kMarginS = 0.2;
double seconds_left(const OptimizeOptions& o, Clock::time_point start) {
  return o.time_budget_s - kMarginS - o.time_used_s - ms_since(start) / 1e3;
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

namespace {

// ---- subgraph bodies

bool has_bodies(const Graph& g) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
    return std::any_of(n.attributes.begin(), n.attributes.end(), [](const Attribute& a) { return a.g || !a.graphs.empty(); });
  });
}

size_t count_nodes(const Graph& g) {
  size_t n = 0;
  for_each_graph(g, [&](const Graph& sub, int) { n += sub.nodes.size(); });
  return n;
}

// The names a graph defines itself (its nested graphs not included).
std::set<std::string> defined_names(const Graph& g) {
  std::set<std::string> names;
  for (const ValueInfo& v : g.inputs) names.insert(v.name);
  for (const Initializer& i : g.initializers) names.insert(i.name);
  for (const Node& n : g.nodes) {
    if (!n.name.empty()) names.insert(n.name);
    for (const std::string& o : n.outputs)
      if (!o.empty()) names.insert(o);
  }
  return names;
}

// One optimization of a model and, first, of every body it holds. Bodies are optimized bottom-up,
// each as a model of its own; names are kept unique across scopes (ONNX forbids a body to redefine
// a name of an enclosing scope) through a count of the scopes that define each name.
class ScopedOptimizer {
 public:
  ScopedOptimizer(const std::vector<rules::Rule>& rules, bool track_names)
      : rules_(rules), track_names_(track_names), start_(Clock::now()) {}

  void register_names(const Graph& g) {
    if (track_names_)
      for_each_graph(g, [&](const Graph& sub, int) {
        for (const std::string& n : defined_names(sub)) ++defined_[n];
      });
  }

  // `own`: the names the model's graph defined before optimization (those it may keep).
  OptimizeResult run(const Model& model, OptimizeOptions options, const std::set<std::string>& own, bool top) {
    OptimizeResult r;
    Model work;
    const Model* src = &model;
    std::unordered_map<const Graph*, TensorProgram::BodyCost> body_costs;
    if (options.optimize_bodies && has_bodies(model.graph)) {
      work = model;  // shares the bodies until optimized ones replace them
      optimize_bodies(work, options, r, body_costs);
      src = &work;
    }
    const auto t0 = Clock::now();
    TensorProgram program(*src, options.import);
    program.set_body_costs(std::move(body_costs));
    r.import_ms += ms_since(t0);

    const auto t1 = Clock::now();
    const std::string target = options.cost_model ? options.cost_model->name() : "cpu";
    OptimizeOptions limited = options;
    limited.time_limit_s =
        std::max(0.02, std::min(options.time_limit_s, seconds_left(options, start_) - kExtractReserveS - options.export_reserve_s));
    const SaturationStats s = saturate(program, rules_, limited);
    r.saturate_ms += ms_since(t1);
    r.rules = s.rules;
    r.iterations = s.iterations;
    r.stop = s.stop;
    for (const auto& [rule, n] : s.fired) r.fired[rule] += n;
    r.enodes += program.egraph().num_nodes();
    r.eclasses += program.egraph().num_classes();

    const auto t2 = Clock::now();
    OptimizeOptions extract_options = options;
    extract_options.extract_time_limit_s =
        std::max(0.02, std::min(options.extract_time_limit_s, seconds_left(options, start_) - options.export_reserve_s));
    // (A body without any choice costs no integer program: the exact extraction solves its
    // sub-problems by inspection, in this process, and proves the one program optimal.)
    r.extraction = extract_for_target(program, options.cost_model, extract_options);
    // The whole is proved optimal only when every body's extraction is too (each body is priced in
    // its enclosing graph at what was found for it).
    if (r.bodies_unproved) r.extraction.optimal = false;
    if (track_names_) {
      for (const std::string& n : own) --defined_[n];
      std::set<std::string> reserved;
      for (const auto& [n, count] : defined_)
        if (count > 0) reserved.insert(n);
      program.reserve_names(std::move(reserved));
    }
    try {
      r.extracted = program.write(r.extraction.selection);
    } catch (...) {
      if (track_names_)
        for (const std::string& n : own) ++defined_[n];
      throw;
    }
    r.extract_ms += ms_since(t2);
    r.target = r.extraction.target;
    r.cost_before = program.initial_cost();
    r.cost_after = r.extraction.cost;
    r.class_cost_before = program.initial_cost_by_class();
    r.class_cost_after = r.extraction.by_class;
    // Do no harm: the imported program is one of extraction's starts, so this holds unless merges
    // made its selection cyclic; then the graph is kept as it was imported (its bodies optimized).
    if (r.cost_after > r.cost_before * (1 + 1e-9)) {
      r.extracted = *src;
      r.cost_after = r.cost_before;
      r.class_cost_after = r.class_cost_before;
      r.extraction.cost = r.cost_before;
      r.extraction.optimal = false;
      r.extraction.method += "; the imported program is cheaper, kept";
    }
    if (top && options.serialize_egraph)
      r.egraph_json = eg::write_egraph_json<TensorEGraph>(program.egraph(), program.output_classes(),
                                                          [&](const TensorEGraph&, eg::Id n) { return program.own_cost(n); });
    if (top) {
      const auto t3 = Clock::now();
      r.model = to_standard_onnx(r.extracted, &r.exported);
      r.export_ms += ms_since(t3);
    }
    return r;
  }

 private:
  // Optimizes every body of `work`'s graph and puts it back; `options` keeps the time the graph
  // itself may still use.
  void optimize_bodies(Model& work, OptimizeOptions& options, OptimizeResult& r,
                       std::unordered_map<const Graph*, TensorProgram::BodyCost>& costs) {
    const auto t0 = Clock::now();
    InferenceResult types;
    try {
      InferOptions io;
      io.input_dims = options.import.input_dims;
      InterpreterFolder folder;
      io.folder = &folder;
      types = infer_model(work, io);
    } catch (const Error&) {
      return;  // the import reports what is wrong
    }
    r.import_ms += ms_since(t0);
    const GraphTypes& outer_types = types.main();
    // The time limits are shared by node count: each body gets the part of what is left that its
    // nodes are of the nodes still to optimize (the graph's own nodes last).
    double nodes_left = double(count_nodes(work.graph));
    for (Node& node : work.graph.nodes)
      for (Attribute& a : node.attributes) {
        std::vector<std::shared_ptr<Graph>*> slots;
        if (a.g) slots.push_back(&a.g);
        for (auto& sub : a.graphs)
          if (sub) slots.push_back(&sub);
        for (std::shared_ptr<Graph>* slot : slots) {
          const Graph& body = **slot;
          const double body_nodes = double(count_nodes(body));
          const double share = nodes_left > 0 ? std::min(1.0, body_nodes / nodes_left) : 1.0;
          nodes_left -= body_nodes;
          if (body.nodes.empty()) continue;
          // A formal input with a default (an initializer of the same name) would not stay an input.
          if (std::any_of(body.inputs.begin(), body.inputs.end(), [&](const ValueInfo& v) { return body.find_initializer(v.name); }))
            continue;
          std::vector<std::string> outer;
          for_each_outer_reference(body, [&](const std::string& name) {
            if (std::find(outer.begin(), outer.end(), name) == outer.end()) outer.push_back(name);
          });
          Model bm;
          bm.ir_version = work.ir_version;
          bm.opset_imports = work.opset_imports;
          bm.functions = work.functions;
          bm.graph = body;
          if (auto bt = types.graphs.find(&body); bt != types.graphs.end())
            for (ValueInfo& in : bm.graph.inputs)
              if (auto it = bt->second.types.find(in.name); it != bt->second.types.end()) in.type = refine_type(in.type, it->second);
          for (const std::string& name : outer) {
            ValueInfo v;
            v.name = name;
            if (auto it = outer_types.types.find(name); it != outer_types.types.end()) v.type = it->second;
            bm.graph.inputs.push_back(std::move(v));
          }
          OptimizeOptions sub = options;
          sub.import.input_dims.clear();
          sub.serialize_egraph = false;
          sub.time_limit_s = std::max(1e-3, options.time_limit_s * share);
          sub.extract_time_limit_s = std::max(1e-2, options.extract_time_limit_s * share);
          OptimizeResult br;
          try {
            br = run(bm, sub, defined_names(body), false);
          } catch (const Error&) {
            // The body stays as it was; its names (nested bodies' too) count as defined again.
            register_names(body);
            continue;
          }
          Graph ng = std::move(br.extracted.graph);
          ng.inputs = body.inputs;  // formal inputs as declared; the outer values are not inputs
          ng.name = body.name;
          ng.doc_string = body.doc_string;
          auto optimized = std::make_shared<Graph>(std::move(ng));
          if (track_names_)
            for (const std::string& n : defined_names(*optimized)) ++defined_[n];
          costs[optimized.get()] = {br.cost_before, br.cost_after, br.class_cost_before, br.class_cost_after};
          *slot = std::move(optimized);
          r.bodies += 1 + br.bodies;
          r.bodies_unproved += br.bodies_unproved + (br.extraction.optimal ? 0 : 1);
          r.enodes += br.enodes;
          r.eclasses += br.eclasses;
          for (const auto& [rule, n] : br.fired) r.fired[rule] += n;
          r.import_ms += br.import_ms;
          r.saturate_ms += br.saturate_ms;
          r.extract_ms += br.extract_ms;
          options.time_limit_s = std::max(1e-3, options.time_limit_s - br.saturate_ms / 1e3);
          options.extract_time_limit_s = std::max(1e-2, options.extract_time_limit_s - br.extract_ms / 1e3);
        }
      }
  }

  const std::vector<rules::Rule>& rules_;
  bool track_names_;
  Clock::time_point start_;  // the time budget counts from here
  std::map<std::string, int> defined_;  // name -> number of scopes that define it
};

}  // namespace

OptimizeResult optimize_model(const Model& model, const std::vector<rules::Rule>& rules, const OptimizeOptions& options) {
  const std::string target = options.cost_model ? options.cost_model->name() : "cpu";
  const std::vector<rules::Rule> for_target = rules_for_target(rules, target);
  const bool bodies = options.optimize_bodies && has_bodies(model.graph);
  ScopedOptimizer opt(for_target, bodies);
  opt.register_names(model.graph);
  return opt.run(model, options, defined_names(model.graph), true);
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
