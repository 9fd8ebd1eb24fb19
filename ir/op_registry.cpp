#include "ir/op_registry.h"

#include <algorithm>

#include "ir/ops/ops.h"

namespace eqopt {

InferContext::InferContext(const Node& node, int64_t opset, std::vector<TensorType> input_types,
                           std::vector<const Tensor*> input_values, SubgraphInferFn subgraph_infer)
    : node_(node),
      opset_(opset),
      in_types_(std::move(input_types)),
      in_values_(std::move(input_values)),
      subgraph_infer_(std::move(subgraph_infer)),
      out_types_(node.outputs.size()),
      out_values_(node.outputs.size()) {
  in_types_.resize(node.inputs.size());
  in_values_.resize(node.inputs.size(), nullptr);
}

const TensorType& InferContext::input_type(size_t i) const {
  if (!has_input(i)) fail("input ", i, " is required but missing");
  return in_types_[i];
}

const Dims& InferContext::input_dims(size_t i) const {
  const TensorType& t = input_type(i);
  if (!t.dims) fail("the rank of input ", i, " ('", node_.inputs[i], "') is not known");
  return *t.dims;
}

const Tensor* InferContext::input_value(size_t i) const {
  return has_input(i) ? in_values_[i] : nullptr;
}

std::optional<std::vector<int64_t>> InferContext::input_ints(size_t i) const {
  const Tensor* v = input_value(i);
  if (!v) return std::nullopt;
  if (!is_integer(v->dtype()) && v->dtype() != DType::Bool)
    fail("input ", i, " ('", node_.inputs[i], "') must be an integer tensor, got ",
         dtype_short_name(v->dtype()));
  return v->to_int64_vector();
}

void InferContext::set_output(size_t i, TensorType t) {
  if (i >= out_types_.size()) return;  // optional output not requested
  out_types_[i] = std::move(t);
}

void InferContext::set_output_value(size_t i, Tensor value) {
  if (i >= out_types_.size()) return;
  out_types_[i] = TensorType::of(value.dtype(), value.shape());
  out_values_[i] = std::move(value);
}

std::vector<TensorType> InferContext::infer_subgraph(const Graph& g,
                                                     const std::vector<TensorType>& inputs) const {
  if (!subgraph_infer_) {
    std::vector<TensorType> unknown(g.outputs.size());
    for (size_t k = 0; k < g.outputs.size(); ++k) unknown[k] = g.outputs[k].type;
    return unknown;
  }
  return subgraph_infer_(g, inputs);
}

void InferContext::require_dtype(size_t input, std::initializer_list<DType> allowed) const {
  const DType t = input_dtype(input);
  if (t == DType::Undefined) return;
  if (std::find(allowed.begin(), allowed.end(), t) != allowed.end()) return;
  std::string list;
  for (DType a : allowed) list += (list.empty() ? "" : ", ") + std::string(dtype_short_name(a));
  fail("input ", input, " ('", node_.inputs[input], "') has element type ", dtype_short_name(t),
       "; expected one of ", list);
}

void InferContext::require_same_dtype(size_t a, size_t b) const {
  const DType ta = input_dtype(a), tb = input_dtype(b);
  if (ta == DType::Undefined || tb == DType::Undefined || ta == tb) return;
  fail("inputs ", a, " and ", b, " have different element types (", dtype_short_name(ta), " vs ",
       dtype_short_name(tb), ")");
}

void InferContext::require_rank(size_t input, int64_t rank) const {
  const int64_t r = input_rank(input);
  if (r >= 0 && r != rank)
    fail("input ", input, " ('", node_.inputs[input], "') must have rank ", rank, ", got ",
         input_type(input).str());
}

int64_t InferContext::normalize_axis(int64_t axis, int64_t rank, std::string_view what) const {
  if (axis < -rank || axis >= rank) fail(what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

// ---------------------------------------------------------------- schema

std::vector<DType> DTypeSet::list() const {
  std::vector<DType> r;
  for (int32_t t = 0; t < 32; ++t)
    if (bits_ & (uint32_t(1) << t)) r.push_back(DType(t));
  return r;
}

std::string DTypeSet::str() const {
  std::string s;
  for (DType t : list()) s += (s.empty() ? "" : ", ") + std::string(dtype_short_name(t));
  return s;
}

std::string_view op_class_name(OpClass c) {
  switch (c) {
    case OpClass::Conv: return "conv";
    case OpClass::MatMul: return "matmul";
    case OpClass::Activation: return "activation";
    case OpClass::Normalization: return "normalization";
    case OpClass::Pooling: return "pooling";
    case OpClass::Softmax: return "softmax";
    case OpClass::Reduction: return "reduction";
    case OpClass::Data: return "data";
    case OpClass::Elementwise: return "elementwise";
    case OpClass::Control: return "control";
    case OpClass::Other: return "other";
  }
  return "other";
}

const AttrSpec* OpSchema::attr(std::string_view attr_name) const {
  for (const AttrSpec& a : attrs)
    if (a.name == attr_name) return &a;
  return nullptr;
}

namespace {
const ValueSpec* spec_at(const std::vector<ValueSpec>& specs, size_t i) {
  if (i < specs.size()) return &specs[i];
  if (!specs.empty() && specs.back().presence == ValueSpec::Presence::Variadic) return &specs.back();
  return nullptr;
}
}  // namespace

const ValueSpec* OpSchema::input(size_t i) const { return spec_at(inputs, i); }
const ValueSpec* OpSchema::output(size_t i) const { return spec_at(outputs, i); }

// ---------------------------------------------------------------- registry

const OpRegistry& OpRegistry::global() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_all_ops(r);
    return r;
  }();
  return registry;
}

void OpRegistry::add(OpSchema schema) {
  if (is_default_domain(schema.domain)) schema.domain.clear();
  OpId id = schema.id();
  ops_[std::move(id)] = std::move(schema);
}

const OpSchema* OpRegistry::find(const OpId& id) const {
  auto it = ops_.find(id);
  return it == ops_.end() ? nullptr : &it->second;
}

OpSchema* OpRegistry::find_mutable(std::string_view domain, std::string_view name) {
  return const_cast<OpSchema*>(find(domain, name));
}

std::vector<const OpSchema*> OpRegistry::all() const {
  std::vector<const OpSchema*> r;
  for (const auto& [k, v] : ops_) r.push_back(&v);
  return r;
}

void infer_node(const OpSchema* schema, InferContext& ctx) {
  if (!schema) return;  // unknown op: outputs stay of unknown type
  const Node& node = ctx.node();
  // Trailing omitted inputs do not count.
  int n_in = int(node.inputs.size());
  while (n_in > 0 && node.inputs[size_t(n_in) - 1].empty()) --n_in;
  if (n_in < schema->min_inputs || (schema->max_inputs >= 0 && n_in > schema->max_inputs)) {
    if (schema->min_inputs == schema->max_inputs)
      ctx.fail("expects ", schema->min_inputs, " inputs, got ", n_in);
    if (schema->max_inputs < 0) ctx.fail("expects at least ", schema->min_inputs, " inputs, got ", n_in);
    ctx.fail("expects ", schema->min_inputs, " to ", schema->max_inputs, " inputs, got ", n_in);
  }
  for (int i = 0; i < schema->min_inputs; ++i)
    if (node.inputs[size_t(i)].empty()) ctx.fail("input ", i, " is required but missing");
  const int n_out = int(node.outputs.size());
  if (n_out < schema->min_outputs || (schema->max_outputs >= 0 && n_out > schema->max_outputs))
    ctx.fail("has ", n_out, " outputs; the op produces ",
             schema->min_outputs == schema->max_outputs
                 ? std::to_string(schema->min_outputs)
                 : std::to_string(schema->min_outputs) + " to " +
                       (schema->max_outputs < 0 ? std::string("any number")
                                                : std::to_string(schema->max_outputs)));
  schema->infer(ctx);
}

// ---------------------------------------------------------------- helpers

Dims broadcast_dims(const InferContext& ctx, const std::vector<const Dims*>& shapes) {
  size_t rank = 0;
  for (const Dims* s : shapes) rank = std::max(rank, s->size());
  Dims out(rank, Dim::of(1));
  for (size_t k = 0; k < rank; ++k) {
    // Walk from the right; out[rank-1-k].
    Dim result = Dim::of(1);
    bool have_unknown = false;
    Dim unknown_dim;
    for (const Dims* s : shapes) {
      if (k >= s->size()) continue;
      const Dim& d = (*s)[s->size() - 1 - k];
      if (d.known()) {
        if (d.value == 1) continue;
        if (result.known() && result.value != 1 && result.value != d.value) {
          std::string msg;
          for (const Dims* t : shapes) {
            msg += msg.empty() ? "" : " and ";
            msg += dims_str(*t);
          }
          ctx.fail("shapes ", msg, " cannot be broadcast together");
        }
        result = d;
      } else {
        if (!have_unknown || (unknown_dim.param.empty() && !d.param.empty()) ) unknown_dim = d;
        else if (unknown_dim != d) unknown_dim = Dim::unknown();
        have_unknown = true;
      }
    }
    if (result.known() && result.value != 1)
      out[rank - 1 - k] = result;  // a known non-1 dim decides (unknowns must equal it or be 1)
    else if (have_unknown)
      out[rank - 1 - k] = unknown_dim;  // 1 broadcast against an unknown gives the unknown
    else
      out[rank - 1 - k] = Dim::of(1);
  }
  return out;
}

Dims dims_from_values(const std::vector<int64_t>& v) {
  Dims d;
  for (int64_t x : v) d.push_back(x >= 0 ? Dim::of(x) : Dim::unknown());
  return d;
}

std::optional<int64_t> dims_numel(const Dims& d) {
  int64_t n = 1;
  for (const Dim& x : d) {
    if (!x.known()) return std::nullopt;
    n *= x.value;
  }
  return n;
}

}  // namespace eqopt
