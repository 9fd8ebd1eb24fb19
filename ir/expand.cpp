#include "ir/expand.h"

#include <algorithm>
#include <set>

namespace eqopt {

ExpandContext::ExpandContext(const Node& node, int64_t opset, std::vector<TensorType> input_types, FreshNameFn fresh)
    : node_(node), opset_(opset), input_types_(std::move(input_types)), fresh_(std::move(fresh)) {
  input_types_.resize(node.inputs.size());
  base_ = !node.name.empty() ? node.name : !node.outputs.empty() && !node.outputs[0].empty() ? node.outputs[0] : node.op_type;
  outputs_.resize(node.outputs.size());
}

const std::string& ExpandContext::input(size_t i) const {
  if (!has_input(i)) fail("input ", i, " is required but missing");
  return node_.inputs[i];
}

const TensorType& ExpandContext::input_type(size_t i) const {
  input(i);
  return input_types_[i];
}

int64_t ExpandContext::input_rank(size_t i) const {
  const TensorType& t = input_type(i);
  if (!t.has_rank())
    fail("the definition in standard ops needs the rank of input ", i, " ('", node_.inputs[i], "'), which is not known");
  return t.rank();
}

std::string ExpandContext::add(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attrs) {
  Node n;
  n.op_type = op;
  n.name = fresh_(base_ + "/" + op);
  n.inputs = std::move(inputs);
  n.outputs = {fresh_(base_ + "/" + op + "_out")};
  n.attributes = std::move(attrs);
  nodes_.push_back(std::move(n));
  return nodes_.back().outputs[0];
}

std::string ExpandContext::constant(Tensor value) {
  return add("Constant", {}, {Attribute::make_tensor("value", std::move(value))});
}

std::string ExpandContext::scalar(DType dtype, double value) { return constant(scalar_tensor(dtype, value)); }

std::string ExpandContext::ints(const std::vector<int64_t>& values) {
  return constant(Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

void ExpandContext::set_output(size_t k, std::string name) {
  if (k >= outputs_.size()) return;  // an optional output the node does not have
  outputs_[k] = std::move(name);
}

Tensor scalar_tensor(DType dtype, double value) {
  switch (dtype) {
    case DType::Float: return Tensor::scalar<float>(float(value));
    case DType::Double: return Tensor::scalar<double>(value);
    case DType::Float16: return Tensor::scalar<Half>(float_to_half(float(value)));
    case DType::BFloat16: return Tensor::scalar<BFloat16>(float_to_bfloat16(float(value)));
    default: break;
  }
  fail("a scalar constant of element type ", dtype_short_name(dtype), " is not supported (floating-point types only)");
}

bool has_definition(const Node& node) {
  const OpSchema* s = OpRegistry::global().find(node.domain, node.op_type);
  return s && s->expand;
}

std::vector<Node> expand_node(const Node& node, int64_t opset, const std::vector<TensorType>& input_types,
                              const FreshNameFn& fresh) {
  const OpSchema* schema = OpRegistry::global().find(node.domain, node.op_type);
  if (!schema || !schema->expand) fail(node.label(), ": has no definition in standard ONNX ops");
  // Validate the node first, so a malformed one fails with its own message.
  {
    std::vector<TensorType> types = input_types;
    types.resize(node.inputs.size());
    InferContext ictx(node, is_default_domain(node.domain) ? opset : 1, types, {});
    infer_node(schema, ictx);
  }
  ExpandContext ctx(node, opset, input_types, fresh);
  schema->expand(ctx);
  std::vector<Node> nodes = ctx.nodes();
  // Give the node's outputs their names: rename the value that carries each, or copy it through an
  // Identity when it is an input of the node or already carries another output.
  std::set<std::string> produced, renamed;
  for (const Node& n : nodes)
    for (const std::string& o : n.outputs) produced.insert(o);
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    const std::string& want = node.outputs[k];
    if (want.empty()) continue;
    const std::string& have = ctx.outputs()[k];
    if (have.empty()) fail(node.label(), ": internal error: the definition gives no value for output ", k);
    if (produced.count(have) && !renamed.count(have)) {
      for (Node& n : nodes) {
        for (std::string& in : n.inputs)
          if (in == have) in = want;
        for (std::string& o : n.outputs)
          if (o == have) o = want;
      }
      renamed.insert(have);
      // Later outputs that name the same value now find it under `want`.
      continue;
    }
    std::string source = have;
    for (size_t j = 0; j < k; ++j)
      if (ctx.outputs()[j] == have && !node.outputs[j].empty()) source = node.outputs[j];
    Node id;
    id.op_type = "Identity";
    id.name = fresh(want + "/Identity");
    id.inputs = {source};
    id.outputs = {want};
    nodes.push_back(std::move(id));
  }
  return nodes;
}

}  // namespace eqopt
