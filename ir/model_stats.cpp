#include "ir/model_stats.h"

#include <algorithm>
#include <set>

namespace eqopt {

namespace {

std::optional<int64_t> numel_of(const TensorType& t) {
  if (!t.dims) return std::nullopt;
  return dims_numel(*t.dims);
}

const std::set<std::string> kDataMovement = {
    "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Concat", "Split", "Slice", "Gather",
    "GatherElements", "GatherND", "ScatterND", "ScatterElements", "Expand", "Tile", "Pad", "Shape",
    "Size", "Constant", "ConstantOfShape", "Identity", "Dropout", "Cast", "CastLike", "Range",
    "DepthToSpace", "SpaceToDepth", "Trilu", "OneHot", "NonZero", "If", "Loop"};

}  // namespace

std::optional<int64_t> node_flops(const Node& node, const std::vector<TensorType>& in,
                                  const std::vector<TensorType>& out) {
  const std::string& op = node.op_type;
  auto in_numel = [&](size_t i) { return i < in.size() ? numel_of(in[i]) : std::nullopt; };
  auto out_numel = [&](size_t i) { return i < out.size() ? numel_of(out[i]) : std::nullopt; };
  if (node.domain == "eqopt") {
    // eqopt's own ops: the work of the standard ops they stand for, plus one per output element
    // for each epilogue step (bias, residual, activation).
    const std::string core = op == "FusedConv" || op == "ConvNHWC" ? "Conv" : op == "FusedMatMul" ? "MatMul" : "";
    if (!core.empty()) {
      Node plain = node;
      plain.domain = "";
      plain.op_type = core;
      const std::vector<TensorType> two(in.begin(), in.begin() + long(std::min<size_t>(2, in.size())));
      const auto f = node_flops(plain, two, out);
      const auto o = out_numel(0);
      if (!f || !o) return std::nullopt;
      const int64_t epilogue = int64_t(in.size() > 2) + int64_t(in.size() > 3) + int64_t(!node.attr_string("activation", "").empty());
      return *f + epilogue * *o;
    }
    if (op == "Attention") {
      // scores = Q·K^T (2·S·Sk·D), softmax (about 5 per score), scores·V (2·S·Sk·Dv), per batch.
      const auto o = out_numel(0);
      if (!o || in.size() < 3 || !in[0].dims || !in[2].dims || in[0].dims->size() < 2 || in[2].dims->size() < 2)
        return std::nullopt;
      const Dim &d = in[0].dims->back(), &sk = (*in[2].dims)[in[2].dims->size() - 2], &dv = in[2].dims->back();
      if (!d.known() || !sk.known() || !dv.known() || dv.value == 0) return std::nullopt;
      const int64_t rows = *o / dv.value;  // batch · S
      return rows * sk.value * (2 * d.value + 5 + 2 * dv.value);
    }
    if (op == "Swish") {
      const auto o = out_numel(0);
      return o ? std::optional<int64_t>(3 * *o) : std::nullopt;
    }
    return std::nullopt;
  }
  if (!node.is_default_domain()) return std::nullopt;
  if (kDataMovement.count(op)) return 0;
  if (op == "Conv") {
    const auto o = out_numel(0);
    if (!o || in.size() < 2 || !in[1].is_static()) return std::nullopt;
    const Shape w = *in[1].static_shape();  // [M, C/group, k...]
    int64_t per = 1;
    for (size_t i = 1; i < w.size(); ++i) per *= w[i];
    return 2 * *o * per + (in.size() > 2 && in[2].dtype != DType::Undefined ? *o : 0);
  }
  if (op == "ConvTranspose") {
    const auto x = in_numel(0);
    if (!x || in.size() < 2 || !in[1].is_static() || !in[0].dims || in[0].dims->size() < 2) return std::nullopt;
    const Shape w = *in[1].static_shape();  // [C, M/group, k...]
    int64_t per = 1;
    for (size_t i = 1; i < w.size(); ++i) per *= w[i];
    return 2 * *x * per;
  }
  if (op == "MatMul" || op == "Gemm") {
    const auto o = out_numel(0);
    if (!o || in.empty() || !in[0].dims || in[0].dims->empty()) return std::nullopt;
    const Dims& a = *in[0].dims;
    const bool trans_a = op == "Gemm" && node.attr_int("transA", 0) != 0;
    const Dim& k = a.size() == 1 ? a[0] : (trans_a ? a[a.size() - 2] : a.back());
    if (!k.known()) return std::nullopt;
    return 2 * *o * k.value + (op == "Gemm" && in.size() > 2 ? *o : 0);
  }
  if (op == "LSTM" || op == "GRU" || op == "RNN") {
    if (in.size() < 3 || !in[0].is_static() || !in[2].is_static()) return std::nullopt;
    const Shape x = *in[0].static_shape();  // [seq, batch, input]
    const Shape r = *in[2].static_shape();  // [dirs, gates*H, H]
    if (x.size() != 3 || r.size() != 3) return std::nullopt;
    const int64_t gates_h = r[1], hidden = r[2];
    return 2 * x[0] * x[1] * r[0] * gates_h * (x[2] + hidden) + 10 * x[0] * x[1] * r[0] * hidden;
  }
  if (op == "MaxPool" || op == "AveragePool") {
    const auto o = out_numel(0);
    if (!o) return std::nullopt;
    int64_t k = 1;
    for (int64_t v : node.attr_ints("kernel_shape")) k *= v;
    return *o * k;
  }
  if (op.rfind("Reduce", 0) == 0 || op == "GlobalAveragePool" || op == "GlobalMaxPool" ||
      op == "ArgMax" || op == "ArgMin" || op == "CumSum" || op == "TopK")
    return in_numel(0);
  if (op == "Softmax" || op == "LogSoftmax" || op == "LayerNormalization" ||
      op == "BatchNormalization" || op == "InstanceNormalization") {
    const auto x = in_numel(0);
    if (!x) return std::nullopt;
    return *x * (op == "BatchNormalization" ? 2 : 5);
  }
  if (op == "Einsum") return std::nullopt;
  // Elementwise and everything else: one per output element.
  return out_numel(0);
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
        ++stats.op_histogram[n.is_default_domain() ? n.op_type : n.domain + "." + n.op_type];
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
