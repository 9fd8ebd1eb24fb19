#include "interp/interpreter.h"

#include <set>
#include <unordered_map>

#include "interp/kernel_util.h"
#include "ir/expand.h"
#include "ir/op_registry.h"

namespace eqopt {

const InterpreterKernels& interpreter_kernels() {
  static const InterpreterKernels registry = [] {
    InterpreterKernels r;
    register_elementwise_kernels(r);
    register_tensor_kernels(r);
    register_nn_kernels(r);
    register_math_kernels(r);
    register_rnn_kernels(r);
    register_control_kernels(r);
    return r;
  }();
  return registry;
}

KernelFn interpreter_kernel(const Node& node) {
  const KernelFn* k = interpreter_kernels().find(node);
  return k ? *k : nullptr;
}

std::string type_mismatch(const TensorType& declared, const Tensor& value) {
  if (declared.dtype != DType::Undefined && declared.dtype != value.dtype())
    return "expects " + declared.str() + ", got " + value.type_str();
  if (!declared.dims) return {};
  if (int64_t(declared.dims->size()) != value.rank())
    return "expects " + declared.str() + ", got " + value.type_str();
  for (size_t i = 0; i < declared.dims->size(); ++i) {
    const Dim& d = (*declared.dims)[i];
    if (d.known() && d.value != value.shape()[i])
      return "expects " + declared.str() + ", got " + value.type_str();
  }
  return {};
}

namespace {

bool is_runnable(const Node& node) {
  if (interpreter_kernel(node)) return true;
  const OpSchema* s = OpRegistry::global().find(node.domain, node.op_type);
  return s && (s->infer_computes_values || s->expand);
}

}  // namespace

std::vector<Tensor> evaluate_node(const Node& node, int64_t opset,
                                  const std::vector<const Tensor*>& inputs,
                                  const SubgraphRunner& runner) {
  const OpSchema* schema = OpRegistry::global().find(node.domain, node.op_type);
  KernelFn kernel = interpreter_kernel(node);
  if (schema && !kernel && !schema->infer_computes_values && schema->expand) {
    // No kernel, but a definition in standard ops (eqopt's own ops): run that, at the node's
    // default-domain opset, or the latest for ops of other domains.
    const int64_t target = is_default_domain(node.domain) ? opset : kLatestOpset;
    std::vector<Tensor> result = evaluate_expansion(node, target, inputs);
    std::vector<TensorType> in_types(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size() && i < inputs.size(); ++i)
      if (inputs[i]) in_types[i] = TensorType::of(inputs[i]->dtype(), inputs[i]->shape());
    std::vector<const Tensor*> in_values = inputs;
    in_values.resize(node.inputs.size(), nullptr);
    InferContext ictx(node, opset, in_types, in_values, nullptr);
    infer_node(schema, ictx);
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      const std::string bad = type_mismatch(ictx.output_types()[k], result[k]);
      if (!bad.empty())
        fail(node.label(), ": internal error: the definition's output ", k, " disagrees with shape inference (", bad, ")");
    }
    return result;
  }
  if (!schema || (!kernel && !schema->infer_computes_values)) {
    fail(node.label(), ": the reference interpreter has no kernel for op '", OpId::of(node).str(), "'");
  }
  std::vector<TensorType> in_types(node.inputs.size());
  for (size_t i = 0; i < node.inputs.size() && i < inputs.size(); ++i)
    if (inputs[i]) in_types[i] = TensorType::of(inputs[i]->dtype(), inputs[i]->shape());
  std::vector<const Tensor*> in_values = inputs;
  in_values.resize(node.inputs.size(), nullptr);
  // Subgraph types are not needed here: control-flow kernels compute their outputs themselves.
  InferContext ictx(node, opset, in_types, in_values, nullptr);
  infer_node(schema, ictx);

  std::vector<Tensor> outputs(node.outputs.size());
  bool all_known = true;
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (node.outputs[k].empty()) continue;
    if (ictx.output_values()[k]) {
      outputs[k] = *ictx.output_values()[k];
      continue;
    }
    all_known = false;
    const TensorType& t = ictx.output_types()[k];
    if (auto shape = t.static_shape(); shape && t.dtype != DType::Undefined)
      outputs[k] = Tensor(t.dtype, *shape);
  }
  if (all_known && (schema->infer_computes_values || !kernel)) return outputs;
  if (!kernel) fail(node.label(), ": could not compute its outputs");

  KernelContext kctx(node, opset, in_values, std::move(outputs), runner);
  kernel(kctx);
  std::vector<Tensor>& result = kctx.outputs();
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (node.outputs[k].empty()) continue;
    if (!result[k].defined()) fail(node.label(), ": kernel produced no value for output ", k);
    const std::string bad = type_mismatch(ictx.output_types()[k], result[k]);
    if (!bad.empty())
      fail(node.label(), ": internal error: output ", k, " disagrees with shape inference (", bad, ")");
  }
  return std::move(result);
}

std::vector<Tensor> evaluate_expansion(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs) {
  std::vector<TensorType> in_types(node.inputs.size());
  std::unordered_map<std::string, Tensor> env;
  std::set<std::string> taken;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i].empty()) continue;
    if (i >= inputs.size() || !inputs[i]) fail(node.label(), ": input ", i, " ('", node.inputs[i], "') has no value");
    in_types[i] = TensorType::of(inputs[i]->dtype(), inputs[i]->shape());
    env[node.inputs[i]] = *inputs[i];
    taken.insert(node.inputs[i]);
  }
  for (const std::string& o : node.outputs) taken.insert(o);
  int counter = 0;
  const FreshNameFn fresh = [&](const std::string& base) {
    std::string name;
    do name = "$def" + std::to_string(counter++) + ":" + base;
    while (taken.count(name));
    taken.insert(name);
    return name;
  };
  const std::vector<Node> nodes = expand_node(node, opset, in_types, fresh);
  for (const Node& sub : nodes) {
    std::vector<const Tensor*> sub_inputs(sub.inputs.size(), nullptr);
    for (size_t i = 0; i < sub.inputs.size(); ++i) {
      if (sub.inputs[i].empty()) continue;
      auto it = env.find(sub.inputs[i]);
      if (it == env.end()) fail(node.label(), ": internal error: its definition reads '", sub.inputs[i], "' before it is computed");
      sub_inputs[i] = &it->second;
    }
    std::vector<Tensor> outs = evaluate_node(sub, is_default_domain(sub.domain) ? opset : 1, sub_inputs);
    for (size_t k = 0; k < sub.outputs.size(); ++k)
      if (!sub.outputs[k].empty()) env[sub.outputs[k]] = std::move(outs[k]);
  }
  std::vector<Tensor> result(node.outputs.size());
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (node.outputs[k].empty()) continue;
    auto it = env.find(node.outputs[k]);
    if (it == env.end()) fail(node.label(), ": internal error: its definition does not compute output ", k);
    result[k] = it->second;
  }
  return result;
}

std::optional<std::vector<Tensor>> InterpreterFolder::fold(
    const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs) const {
  if (!is_runnable(node)) return std::nullopt;
  try {
    return evaluate_node(node, opset, inputs);
  } catch (const Error&) {
    return std::nullopt;  // inference reports real errors itself
  }
}

Interpreter::Interpreter(const Model& model) : model_(model) { validate_model(model); }

std::vector<UnsupportedOp> Interpreter::unsupported_ops() const {
  std::vector<UnsupportedOp> r;
  std::set<std::pair<std::string, std::string>> seen;
  for_each_graph(model_.graph, [&](const Graph& g, int) {
    for (const Node& n : g.nodes)
      if (!is_runnable(n) && seen.insert({n.domain, n.op_type}).second)
        r.push_back({n.domain, n.op_type, n.label()});
  });
  return r;
}

namespace {

struct Env {
  std::unordered_map<std::string, Tensor> values;
  const Env* parent = nullptr;
  const Tensor* find(const std::string& name) const {
    for (const Env* e = this; e; e = e->parent) {
      auto it = e->values.find(name);
      if (it != e->values.end()) return &it->second;
    }
    return nullptr;
  }
};

std::vector<Tensor> run_graph(const Model& model, const Graph& g, Env& env) {
  std::set<std::string> outer;
  for (const Env* e = env.parent; e; e = e->parent)
    for (const auto& [k, v] : e->values) outer.insert(k);
  const std::vector<size_t> order = topological_order(g, outer);

  // Last use of each local value, so intermediates are freed early. A value that a node's
  // subgraphs read from this scope counts as used by that node (it is then never freed here).
  std::unordered_map<std::string, size_t> last_use;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const Node& node = g.nodes[order[pos]];
    for (const std::string& in : node.inputs)
      if (!in.empty()) last_use[in] = pos;
    for (const Attribute& a : node.attributes) {
      if (a.g) for_each_outer_reference(*a.g, [&](const std::string& name) { last_use[name] = pos; });
      for (const auto& sub : a.graphs)
        if (sub) for_each_outer_reference(*sub, [&](const std::string& name) { last_use[name] = pos; });
    }
  }
  std::set<std::string> keep;
  for (const ValueInfo& o : g.outputs) keep.insert(o.name);

  for (size_t pos = 0; pos < order.size(); ++pos) {
    const Node& node = g.nodes[order[pos]];
    std::vector<const Tensor*> inputs(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].empty()) continue;
      inputs[i] = env.find(node.inputs[i]);
      if (!inputs[i]) fail(node.label(), ": input '", node.inputs[i], "' has no value");
    }
    SubgraphRunner runner = [&model, &env](const Graph& sub, const std::vector<Tensor>& formal) {
      Env child;
      child.parent = &env;
      if (formal.size() > sub.inputs.size())
        fail("subgraph '", sub.name, "' takes ", sub.inputs.size(), " inputs, given ", formal.size());
      for (size_t i = 0; i < formal.size(); ++i) child.values[sub.inputs[i].name] = formal[i];
      for (const Initializer& init : sub.initializers)
        if (!child.values.count(init.name)) child.values[init.name] = init.value;
      return run_graph(model, sub, child);
    };
    std::vector<Tensor> outs = evaluate_node(node, model.opset(node.domain), inputs, runner);
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (!node.outputs[k].empty()) env.values[node.outputs[k]] = std::move(outs[k]);
    for (const std::string& in : node.inputs) {
      if (in.empty() || keep.count(in)) continue;
      auto it = last_use.find(in);
      if (it != last_use.end() && it->second == pos) env.values.erase(in);
    }
  }
  std::vector<Tensor> result;
  for (const ValueInfo& o : g.outputs) {
    const Tensor* t = env.find(o.name);
    if (!t) fail("graph output '", o.name, "' was not computed");
    result.push_back(*t);
  }
  return result;
}

}  // namespace

std::vector<Tensor> Interpreter::run(const std::map<std::string, Tensor>& feeds) const {
  const Graph& g = model_.graph;
  if (auto bad = unsupported_ops(); !bad.empty()) {
    const auto& u = bad.front();
    fail(u.where, ": the reference interpreter has no kernel for op '", OpId(u.domain, u.op_type).str(), "'");
  }
  Env env;
  for (const auto& [name, value] : feeds) {
    const ValueInfo* in = g.find_input(name);
    if (!in) {
      std::string names;
      for (const ValueInfo* v : g.runtime_inputs()) names += (names.empty() ? "" : ", ") + v->name;
      fail("the model has no input named '", name, "' (its inputs: ", names, ")");
    }
    const std::string bad = type_mismatch(in->type, value);
    if (!bad.empty()) fail("input '", name, "' ", bad);
    env.values[name] = value;
  }
  for (const ValueInfo* in : g.runtime_inputs())
    if (!env.values.count(in->name)) fail("no value given for input '", in->name, "' (", in->type.str(), ")");
  for (const Initializer& init : g.initializers)
    if (!env.values.count(init.name)) env.values[init.name] = init.value;
  return run_graph(model_, g, env);
}

}  // namespace eqopt
