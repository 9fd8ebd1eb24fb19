#include "ir/shape_inference.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <unordered_set>

namespace eqopt {

namespace {

std::string graph_label(const Graph& g) {
  return g.name.empty() ? std::string("graph") : "graph '" + g.name + "'";
}

}  // namespace

std::vector<size_t> topological_order(const Graph& graph, const std::set<std::string>& outer) {
  // producer of each value inside this graph
  std::unordered_map<std::string, size_t> producer;
  std::unordered_set<std::string> available;  // graph inputs and initializers
  for (const ValueInfo& v : graph.inputs) available.insert(v.name);
  for (const Initializer& i : graph.initializers) available.insert(i.name);
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (const std::string& out : graph.nodes[n].outputs) {
      if (out.empty()) continue;
      if (producer.count(out))
        fail(graph_label(graph), ": value '", out, "' is produced by both ",
             graph.nodes[producer[out]].label(), " and ", graph.nodes[n].label());
      if (available.count(out))
        fail(graph_label(graph), ": ", graph.nodes[n].label(), " writes '", out,
             "', which is already a graph input or initializer");
      producer[out] = n;
    }

  // Kahn's algorithm, preferring file order so already-sorted graphs keep their order.
  const size_t n_nodes = graph.nodes.size();
  std::vector<std::vector<size_t>> users(n_nodes);
  std::vector<size_t> pending(n_nodes, 0);
  for (size_t n = 0; n < n_nodes; ++n) {
    const Node& node = graph.nodes[n];
    std::vector<std::string> reads;
    for (const std::string& in : node.inputs)
      if (!in.empty()) reads.push_back(in);
    // Values its subgraphs read from this scope are inputs of the node too.
    auto add_read = [&reads](const std::string& name) { reads.push_back(name); };
    for (const Attribute& a : node.attributes) {
      if (a.g) for_each_outer_reference(*a.g, add_read);
      for (const auto& gg : a.graphs)
        if (gg) for_each_outer_reference(*gg, add_read);
    }
    std::unordered_set<size_t> deps;
    for (const std::string& in : reads) {
      auto it = producer.find(in);
      if (it != producer.end()) {
        if (it->second == n) fail(graph_label(graph), ": ", node.label(), " reads its own output '", in, "'");
        deps.insert(it->second);
      } else if (!available.count(in) && !outer.count(in)) {
        fail(graph_label(graph), ": ", node.label(), " reads '", in,
             "', which no node, initializer or graph input produces");
      }
    }
    pending[n] = deps.size();
    for (size_t d : deps) users[d].push_back(n);
  }
  std::vector<size_t> order;
  order.reserve(n_nodes);
  // A min-heap on node index keeps file order among ready nodes.
  std::vector<size_t> ready;
  for (size_t n = 0; n < n_nodes; ++n)
    if (pending[n] == 0) ready.push_back(n);
  std::make_heap(ready.begin(), ready.end(), std::greater<>());
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), std::greater<>());
    const size_t n = ready.back();
    ready.pop_back();
    order.push_back(n);
    for (size_t u : users[n])
      if (--pending[u] == 0) {
        ready.push_back(u);
        std::push_heap(ready.begin(), ready.end(), std::greater<>());
      }
  }
  if (order.size() != n_nodes) {
    for (size_t n = 0; n < n_nodes; ++n)
      if (pending[n] != 0) fail(graph_label(graph), " has a cycle through ", graph.nodes[n].label());
  }
  for (const ValueInfo& out : graph.outputs)
    if (!producer.count(out.name) && !available.count(out.name) && !outer.count(out.name))
      fail(graph_label(graph), ": output '", out.name, "' is not produced by any node");
  return order;
}

namespace {

void validate_graph(const Graph& g, const std::set<std::string>& outer) {
  topological_order(g, outer);
  std::set<std::string> scope = outer;
  for (const ValueInfo& v : g.inputs) scope.insert(v.name);
  for (const Initializer& i : g.initializers) scope.insert(i.name);
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) scope.insert(o);
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attributes) {
      if (a.g) validate_graph(*a.g, scope);
      for (const auto& sub : a.graphs)
        if (sub) validate_graph(*sub, scope);
    }
}

}  // namespace

void validate_model(const Model& model) { validate_graph(model.graph, {}); }

TensorType refine_type(const TensorType& declared, const TensorType& inferred) {
  TensorType r;
  r.dtype = inferred.dtype != DType::Undefined ? inferred.dtype : declared.dtype;
  if (!inferred.dims) {
    r.dims = declared.dims;
    return r;
  }
  if (!declared.dims || declared.dims->size() != inferred.dims->size()) {
    r.dims = inferred.dims;
    return r;
  }
  Dims d(inferred.dims->size());
  for (size_t i = 0; i < d.size(); ++i) {
    const Dim &a = (*declared.dims)[i], &b = (*inferred.dims)[i];
    if (b.known())
      d[i] = b;
    else if (a.known())
      d[i] = a;
    else
      d[i] = b.param.empty() ? a : b;
  }
  r.dims = std::move(d);
  return r;
}

namespace {

bool types_conflict(const TensorType& declared, const TensorType& inferred) {
  if (declared.dtype != DType::Undefined && inferred.dtype != DType::Undefined &&
      declared.dtype != inferred.dtype)
    return true;
  if (!declared.dims || !inferred.dims) return false;
  if (declared.dims->size() != inferred.dims->size()) return true;
  for (size_t i = 0; i < declared.dims->size(); ++i) {
    const Dim &a = (*declared.dims)[i], &b = (*inferred.dims)[i];
    if (a.known() && b.known() && a.value != b.value) return true;
  }
  return false;
}

struct Scope {
  GraphTypes* local;
  const Scope* parent;
  const TensorType* find_type(const std::string& n) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->local->types.find(n);
      if (it != s->local->types.end()) return &it->second;
    }
    return nullptr;
  }
  const Tensor* find_value(const std::string& n) const {
    for (const Scope* s = this; s; s = s->parent) {
      if (s->local->types.count(n)) {
        auto it = s->local->values.find(n);
        return it == s->local->values.end() ? nullptr : &it->second;
      }
    }
    return nullptr;
  }
  std::set<std::string> visible_names() const {
    std::set<std::string> r;
    for (const Scope* s = this; s; s = s->parent)
      for (const auto& [k, v] : s->local->types) r.insert(k);
    return r;
  }
};

class Inferrer {
 public:
  Inferrer(const Model& model, const InferOptions& options, InferenceResult& result)
      : model_(model), options_(options), result_(result) {}

  // Infers g with the given input types (subgraphs) or its declared ones (main graph);
  // returns the output types.
  std::vector<TensorType> run(const Graph& g, const Scope* parent,
                              const std::vector<TensorType>* formal_inputs) {
    GraphTypes& types = result_.graphs[&g];
    types = GraphTypes{};
    Scope scope{&types, parent};
    std::set<std::string> init_names;
    for (const Initializer& i : g.initializers) init_names.insert(i.name);

    for (size_t k = 0; k < g.inputs.size(); ++k) {
      const ValueInfo& in = g.inputs[k];
      TensorType t = in.type;
      if (formal_inputs && k < formal_inputs->size()) t = refine_type(in.type, (*formal_inputs)[k]);
      if (!parent) {
        auto it = options_.input_dims.find(in.name);
        if (it != options_.input_dims.end()) t = apply_override(in, it->second);
      }
      if (!in.has_type && init_names.count(in.name))
        if (const Initializer* init = g.find_initializer(in.name))
          t = TensorType::of(init->value.dtype(), init->value.shape());
      types.types[in.name] = t;
    }
    for (const Initializer& init : g.initializers) {
      if (types.types.count(init.name)) continue;  // an input with a default: not a constant
      types.types[init.name] = TensorType::of(init.value.dtype(), init.value.shape());
      types.values[init.name] = init.value;
    }
    if (!parent)
      for (const auto& [name, dims] : options_.input_dims)
        if (!g.find_input(name)) fail("--input-shape names '", name, "', which is not a graph input");

    const std::vector<size_t> order = topological_order(g, parent ? parent->visible_names() : std::set<std::string>{});
    for (size_t idx : order) infer_one(g.nodes[idx], scope, types);

    std::vector<TensorType> outs;
    for (const ValueInfo& o : g.outputs) {
      const TensorType* t = scope.find_type(o.name);
      TensorType inferred = t ? *t : TensorType{};
      if (types_conflict(o.type, inferred))
        result_.warnings.push_back(graph_label(g) + ": output '" + o.name + "' is declared " +
                                   o.type.str() + " but computes " + inferred.str());
      outs.push_back(refine_type(o.type, inferred));
    }
    return outs;
  }

 private:
  TensorType apply_override(const ValueInfo& in, const Dims& dims) {
    const TensorType& declared = in.type;
    if (declared.dims) {
      if (declared.dims->size() != dims.size())
        fail("input '", in.name, "' is ", declared.str(), "; the given shape ", dims_str(dims),
             " has rank ", dims.size());
      for (size_t i = 0; i < dims.size(); ++i) {
        const Dim &a = (*declared.dims)[i], &b = dims[i];
        if (a.known() && b.known() && a.value != b.value)
          fail("input '", in.name, "' is ", declared.str(), "; the given shape ", dims_str(dims),
               " differs in dim ", i);
      }
    }
    return refine_type(declared, TensorType{declared.dtype, dims});
  }

  void infer_one(const Node& node, const Scope& scope, GraphTypes& types) {
    std::vector<TensorType> in_types(node.inputs.size());
    std::vector<const Tensor*> in_values(node.inputs.size(), nullptr);
    bool all_const = true;
    int64_t const_elems = 0;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& name = node.inputs[i];
      if (name.empty()) continue;
      const TensorType* t = scope.find_type(name);
      if (!t) fail(node.label(), " reads '", name, "', which no node, initializer or graph input produces");
      in_types[i] = *t;
      in_values[i] = scope.find_value(name);
      if (in_values[i])
        const_elems += in_values[i]->numel();
      else
        all_const = false;
    }
    const int64_t opset = model_.opset(node.domain);
    const OpSchema* schema = OpRegistry::global().find(node.domain, node.op_type);
    if (schema && is_default_domain(node.domain) && opset == 0)
      fail(node.label(), ": the model does not import the default ONNX opset");
    InferContext ctx(node, opset, in_types, in_values,
                     [this, &scope](const Graph& sub, const std::vector<TensorType>& formal) {
                       return run(sub, &scope, &formal);
                     });
    infer_node(schema, ctx);
    auto& out_values = ctx.output_values();

    // Fold nodes whose inputs are all small constants.
    bool have_all_values = true;
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (!node.outputs[k].empty() && !out_values[k]) have_all_values = false;
    if (!have_all_values && schema && all_const && options_.folder && !node.inputs.empty() &&
        const_elems <= options_.fold_max_elements && !has_subgraph(node)) {
      if (auto folded = options_.folder->fold(node, opset, in_values)) {
        for (size_t k = 0; k < folded->size() && k < node.outputs.size(); ++k)
          out_values[k] = (*folded)[k];
      }
    }
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const std::string& out = node.outputs[k];
      if (out.empty()) continue;
      TensorType t = ctx.output_types()[k];
      if (out_values[k]) t = TensorType::of(out_values[k]->dtype(), out_values[k]->shape());
      types.types[out] = t;
      if (out_values[k]) types.values[out] = *out_values[k];
    }
  }

  static bool has_subgraph(const Node& n) {
    for (const Attribute& a : n.attributes)
      if (a.g || !a.graphs.empty()) return true;
    return false;
  }

  const Model& model_;
  const InferOptions& options_;
  InferenceResult& result_;
};

}  // namespace

const TensorType* InferenceResult::type_of(const std::string& name) const {
  const GraphTypes& g = main();
  auto it = g.types.find(name);
  return it == g.types.end() ? nullptr : &it->second;
}

InferenceResult infer_model(const Model& model, const InferOptions& options) {
  InferenceResult result;
  result.model = &model;
  Inferrer(model, options, result).run(model.graph, nullptr, nullptr);
  return result;
}

namespace {

void annotate_graph(Graph& g, const InferenceResult& result, bool is_main) {
  auto it = result.graphs.find(&g);
  if (it != result.graphs.end()) {
    const GraphTypes& types = it->second;
    if (is_main)
      for (ValueInfo& in : g.inputs) {
        auto t = types.types.find(in.name);
        if (t != types.types.end() && !(t->second == in.type)) {
          in.type = t->second;
          in.raw_type.reset();
        }
      }
    for (ValueInfo& out : g.outputs) {
      auto t = types.types.find(out.name);
      if (t == types.types.end()) continue;
      TensorType refined = refine_type(out.type, t->second);
      if (!(refined == out.type) && out.is_tensor) {
        out.type = refined;
        out.raw_type.reset();
        out.has_type = true;
      }
    }
    std::set<std::string> listed;
    for (const ValueInfo& v : g.inputs) listed.insert(v.name);
    for (const ValueInfo& v : g.outputs) listed.insert(v.name);
    for (const Initializer& i : g.initializers) listed.insert(i.name);
    for (ValueInfo& v : g.value_info) {
      listed.insert(v.name);
      auto t = types.types.find(v.name);
      if (t == types.types.end() || !v.is_tensor) continue;
      TensorType refined = refine_type(v.type, t->second);
      if (!(refined == v.type)) {
        v.type = refined;
        v.raw_type.reset();
        v.has_type = true;
      }
    }
    for (const Node& n : g.nodes)
      for (const std::string& o : n.outputs) {
        if (o.empty() || listed.count(o)) continue;
        auto t = types.types.find(o);
        if (t == types.types.end() || t->second.dtype == DType::Undefined) continue;
        ValueInfo vi;
        vi.name = o;
        vi.type = t->second;
        g.value_info.push_back(std::move(vi));
        listed.insert(o);
      }
  }
  for (Node& n : g.nodes)
    for (Attribute& a : n.attributes) {
      if (a.g) annotate_graph(*a.g, result, false);
      for (auto& sub : a.graphs)
        if (sub) annotate_graph(*sub, result, false);
    }
}

}  // namespace

void annotate_model(Model& model, const InferenceResult& result) {
  // Results are keyed by graph address, so they only describe the very model they came from.
  if (result.model != &model) fail("internal error: annotate_model given the inference result of another model");
  annotate_graph(model.graph, result, true);
}

Dims parse_dims(const std::string& text) {
  Dims dims;
  if (text.empty() || text == "scalar") return dims;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of("x,", start);
    if (end == std::string::npos) end = text.size();
    const std::string tok = text.substr(start, end - start);
    if (tok.empty()) fail("bad shape '", text, "': empty dimension");
    if (tok == "?") {
      dims.push_back(Dim::unknown());
    } else if (std::all_of(tok.begin(), tok.end(), [](unsigned char c) { return std::isdigit(c); })) {
      if (tok.size() > 15) fail("bad shape '", text, "': dimension ", tok, " is too large");
      dims.push_back(Dim::of(std::stoll(tok)));
    } else if (std::isalpha(static_cast<unsigned char>(tok[0])) || tok[0] == '_') {
      dims.push_back(Dim::symbol(tok));
    } else {
      fail("bad shape '", text, "': '", tok, "' is not a dimension");
    }
    start = end + 1;
  }
  return dims;
}

}  // namespace eqopt
