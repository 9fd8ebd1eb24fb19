#include "ir/model_stats.h"

#include <algorithm>
#include <set>

namespace eqopt {

std::optional<int64_t> node_flops(const Node& node, const std::vector<TensorType>& in,
                                  const std::vector<TensorType>& out) {
  if (const OpSchema* s = OpRegistry::global().find(OpId::of(node)))
    return s->flops ? s->flops(node, in, out) : std::nullopt;
  // An op eqopt does not know: in the default domain, one per output element, as elementwise ops.
  if (!node.is_default_domain() || out.empty() || !out[0].dims) return std::nullopt;
  return dims_numel(*out[0].dims);
}

namespace {

struct StatsWalker {
  const InferenceResult& types;
  ModelStats& stats;

  TensorType type_in(const GraphTypes* gt, const std::string& name) const {
    if (!gt || name.empty()) return {};
    auto it = gt->types.find(name);
    return it == gt->types.end() ? TensorType{} : it->second;
  }

  // Returns FLOPs of a graph (and counts histogram etc. when `count` is set).
  int64_t walk(const Graph& g, bool count) {
    const GraphTypes* gt = nullptr;
    if (auto it = types.graphs.find(&g); it != types.graphs.end()) gt = &it->second;
    std::set<std::string> graph_inputs;
    for (const ValueInfo& v : g.inputs) graph_inputs.insert(v.name);
    if (count)
      for (const Initializer& i : g.initializers)
        if (!graph_inputs.count(i.name)) {
          stats.parameter_count += i.value.numel();
          stats.parameter_bytes += int64_t(i.value.nbytes());
        }
    int64_t flops = 0;
    for (const Node& n : g.nodes) {
      if (count) {
        ++stats.node_count;
        ++stats.op_histogram[OpId::of(n).str()];
        if (n.op_type == "Constant" && n.is_default_domain())
          if (const Attribute* a = n.attr("value"); a && a->kind == Attribute::Kind::Tensor &&
                                                    is_floating(a->t.dtype()) && a->t.numel() > 1) {
            stats.parameter_count += a->t.numel();
            stats.parameter_bytes += int64_t(a->t.nbytes());
          }
      }
      if (n.op_type == "If" || n.op_type == "Loop" || n.op_type == "Scan") {
        int64_t branch_max = 0;
        for (const Attribute& a : n.attributes) {
          std::vector<const Graph*> subs;
          if (a.g) subs.push_back(a.g.get());
          for (const auto& s : a.graphs) subs.push_back(s.get());
          for (const Graph* s : subs) {
            if (count) ++stats.subgraph_count;
            branch_max = std::max(branch_max, walk(*s, count));
          }
        }
        int64_t trips = 1;
        if (n.op_type == "Loop" && gt && !n.inputs.empty() && !n.inputs[0].empty())
          if (auto it = gt->values.find(n.inputs[0]); it != gt->values.end() && it->second.numel() == 1)
            trips = std::max<int64_t>(0, it->second.as_int64(0));
        flops += branch_max * trips;
        continue;
      }
      std::vector<TensorType> in, out;
      for (const auto& s : n.inputs) in.push_back(type_in(gt, s));
      for (const auto& s : n.outputs) out.push_back(type_in(gt, s));
      // Nodes folded to constants cost nothing at run time.
      bool folded = gt && !n.outputs.empty();
      for (const auto& o : n.outputs) folded = folded && (o.empty() || gt->values.count(o));
      if (folded) continue;
      if (auto f = node_flops(n, in, out))
        flops += *f;
      else if (count)
        ++stats.flops_unknown_nodes;
    }
    return flops;
  }
};

}  // namespace

ModelStats compute_stats(const Model& model, const InferenceResult& types) {
  ModelStats stats;
  StatsWalker w{types, stats};
  stats.flops = w.walk(model.graph, true);
  return stats;
}

}  // namespace eqopt
