#include "targets/cost_model.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "ir/expand.h"
#include "ir/model_stats.h"
#include "ir/op_registry.h"
#include "ir/shape_inference.h"
#include "support/error.h"

namespace eqopt::tgt {

namespace {

bool is_float(DType d) { return d == DType::Float || d == DType::Double || d == DType::Float16 || d == DType::BFloat16; }

std::string dtype_key(DType d) {
  switch (d) {
    case DType::Float: return "float32";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Double: return "float64";
    case DType::Int8:
    case DType::UInt8: return "int8";
    case DType::Int32: return "int32";
    default: return "";
  }
}

size_t storage_size(const std::string& name) {
  if (name == "float16" || name == "bfloat16") return 2;
  if (name == "int8") return 1;
  if (name == "float64") return 8;
  return 4;
}

// Unknown dims count as 1; an unknown rank as a scalar.
TensorType concrete(const TensorType& t) {
  TensorType c = t;
  if (!c.dims) {
    c.dims = Dims{};
    return c;
  }
  for (Dim& d : *c.dims)
    if (!d.known()) d = Dim{1, ""};
  return c;
}

}  // namespace

std::string CostModel::op_class(const Node& node) {
  const OpSchema* s = OpRegistry::global().find(OpId::of(node));
  return std::string(op_class_name(s ? s->op_class : OpClass::Other));
}

CostModel::CostModel(TargetDescription target) : target_(std::move(target)) {
  if (!target_.host.empty()) host_ = make_cost_model(target_.host);
}

CostModel::CostModel(TargetDescription target, std::shared_ptr<const CostModel> host)
    : target_(std::move(target)), host_(std::move(host)) {
  if (!target_.host.empty() && !host_) host_ = make_cost_model(target_.host);
}

double CostModel::tensor_bytes(const TensorType& t) const {
  const TensorType c = concrete(t);
  const double numel = double(dims_numel(*c.dims).value_or(1));
  size_t size = std::max<size_t>(1, dtype_size(c.dtype));
  if (is_float(c.dtype) && !target_.storage_dtype.empty()) size = storage_size(target_.storage_dtype);
  return numel * double(size);
}

double CostModel::tensor_time(const TensorType& t, bool offchip) const {
  const double bytes = tensor_bytes(t);
  const bool dram = offchip || bytes > target_.onchip_size;
  return bytes / (dram ? target_.dram_bandwidth : target_.onchip_bandwidth);
}

bool CostModel::runs_fused(const Node& node) const {
  if (node.domain != kEqoptDomain) return true;
  if (!target_.fuses(OpId::of(node))) return false;
  const Attribute* act = node.attr("activation");
  return !act || act->kind != Attribute::Kind::String || act->s.empty() || target_.activations.count(act->s) > 0;
}

OpCost CostModel::native_cost(const Node& node, const std::vector<TensorArg>& inputs,
                              const std::vector<TensorType>& outputs) const {
  OpCost c;
  const OpSchema* s = OpRegistry::global().find(OpId::of(node));
  c.op_class = op_class_name(s ? s->op_class : OpClass::Other);
  if (s && s->view) {
    c.overhead_s = c.total_s = target_.view_overhead;
    return c;
  }
  std::vector<TensorType> in, out;
  for (const TensorArg& a : inputs) in.push_back(concrete(a.type));
  for (const TensorType& t : outputs) out.push_back(concrete(t));
  double flops = 0;
  try {
    flops = double(node_flops(node, in, out).value_or(0));
  } catch (const Error&) {
    flops = 0;  // a node whose shapes the FLOP count cannot use: memory time only
  }
  const bool matrix = c.op_class == "conv" || c.op_class == "matmul";
  const DType dt = in.empty() ? DType::Float : in[0].dtype;
  double peak = target_.vector_peak;
  if (matrix) {
    std::string key = is_float(dt) && !target_.matrix_dtype.empty() ? target_.matrix_dtype : dtype_key(dt);
    auto it = target_.matrix_peak.find(key);
    if (it == target_.matrix_peak.end()) it = target_.matrix_peak.find("float32");
    if (it == target_.matrix_peak.end()) it = target_.matrix_peak.begin();
    peak = it->second;
  }
  double memory = 0;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].type.dtype != DType::Undefined) memory += tensor_time(in[i], inputs[i].offchip);
  for (const TensorType& t : out) memory += tensor_time(t, false);
  const double eff = target_.efficiency_for(node.op_type, c.op_class);
  c.compute_s = flops / peak / eff;
  c.memory_s = memory / eff;
  if (c.op_class == "conv" && !in.empty() && in[0].dims && in[0].dims->size() == 4 && !out.empty()) {
    const std::string layout = s && s->channels_last ? "NHWC" : "NCHW";
    if (layout != target_.conv_layout)
      c.layout_s = 2 * (tensor_time(in[0], inputs[0].offchip) + tensor_time(out[0], false));
  }
  c.overhead_s = target_.kernel_overhead;
  c.total_s = std::max(c.compute_s, c.memory_s) + c.layout_s + c.overhead_s;
  return c;
}

OpCost CostModel::expanded_cost(const Node& node, const std::vector<TensorArg>& inputs,
                                const std::vector<TensorType>& outputs) const {
  std::vector<TensorType> in_types;
  std::unordered_map<std::string, TensorArg> values;
  for (size_t i = 0; i < inputs.size() && i < node.inputs.size(); ++i) {
    in_types.push_back(inputs[i].type);
    if (!node.inputs[i].empty()) values[node.inputs[i]] = inputs[i];
  }
  int fresh = 0;
  const std::vector<Node> nodes =
      expand_node(node, kLatestOpset, in_types, [&](const std::string& base) { return "$x" + std::to_string(fresh++) + base; });
  OpCost total;
  total.op_class = op_class(node);
  total.expanded = true;
  for (const Node& sub : nodes) {
    if (sub.op_type == "Constant") {
      for (const std::string& o : sub.outputs) {
        const Attribute* v = sub.attr("value");
        values[o] = TensorArg{v && v->kind == Attribute::Kind::Tensor ? TensorType::of(v->t.dtype(), v->t.shape()) : TensorType{}, true};
      }
      continue;
    }
    std::vector<TensorArg> args;
    std::vector<TensorType> types;
    for (const std::string& name : sub.inputs) {
      TensorArg a;
      if (!name.empty()) {
        auto it = values.find(name);
        if (it == values.end()) fail(node.label(), ": its definition reads '", name, "', which nothing defines");
        a = it->second;
      }
      args.push_back(a);
      types.push_back(a.type);
    }
    std::vector<const Tensor*> no_values(types.size(), nullptr);
    InferContext ctx(sub, kLatestOpset, types, no_values);
    infer_node(OpRegistry::global().find(sub.domain, sub.op_type), ctx);
    const std::vector<TensorType> sub_out = ctx.output_types();
    for (size_t k = 0; k < sub.outputs.size() && k < sub_out.size(); ++k) values[sub.outputs[k]] = TensorArg{sub_out[k], false};
    const OpCost c = cost(sub, args, sub_out);
    total.compute_s += c.compute_s;
    total.memory_s += c.memory_s;
    total.overhead_s += c.overhead_s;
    total.layout_s += c.layout_s;
    total.transfer_s += c.transfer_s;
    total.total_s += c.total_s;
    total.host |= c.host;
  }
  (void)outputs;
  return total;
}

OpCost CostModel::cost(const Node& node, const std::vector<TensorArg>& inputs, const std::vector<TensorType>& outputs) const {
  if (host_ && target_.is_unsupported(OpId::of(node))) {
    std::vector<TensorArg> host_inputs = inputs;
    for (TensorArg& a : host_inputs) a.offchip = true;
    OpCost c = host_->cost(node, host_inputs, outputs);
    double bytes = 0;
    for (const TensorArg& a : inputs)
      if (a.type.dtype != DType::Undefined) bytes += tensor_bytes(a.type);
    for (const TensorType& t : outputs) bytes += tensor_bytes(t);
    c.transfer_s = bytes / target_.host_bandwidth + target_.host_transfer_overhead;
    c.total_s += c.transfer_s;
    c.host = true;
    c.op_class = op_class(node);
    return c;
  }
  if (node.domain == kEqoptDomain && !runs_fused(node)) return expanded_cost(node, inputs, outputs);
  return native_cost(node, inputs, outputs);
}

ModelCost estimate_model(const CostModel& model, const Model& m, const InferOptions& options) {
  const InferenceResult types = infer_model(m, options);
  const GraphTypes& g = types.main();
  std::set<std::string> offchip;
  for (const ValueInfo& v : m.graph.inputs) offchip.insert(v.name);
  for (const Initializer& i : m.graph.initializers) offchip.insert(i.name);
  ModelCost r;
  for (const Node& n : m.graph.nodes) {
    if (n.is_default_domain() && n.op_type == "Constant") {
      for (const std::string& o : n.outputs) offchip.insert(o);
      continue;
    }
    std::vector<TensorArg> in;
    for (const std::string& name : n.inputs) {
      TensorArg a;
      if (!name.empty()) {
        if (auto it = g.types.find(name); it != g.types.end()) a.type = it->second;
        a.offchip = offchip.count(name) > 0;
      }
      in.push_back(a);
    }
    std::vector<TensorType> out;
    for (const std::string& name : n.outputs) {
      auto it = g.types.find(name);
      out.push_back(it == g.types.end() ? TensorType{} : it->second);
    }
    const OpCost c = model.cost(n, in, out);
    r.total_s += c.total_s;
    r.by_class[c.op_class] += c.total_s;
    r.host_ops += c.host;
  }
  return r;
}

std::shared_ptr<const CostModel> make_cost_model(const std::string& builtin_name) {
  return std::make_shared<CostModel>(load_builtin_target(builtin_name));
}

std::shared_ptr<const CostModel> make_cost_model_from_file(const std::string& path) {
  return std::make_shared<CostModel>(load_target_file(path));
}

}  // namespace eqopt::tgt
