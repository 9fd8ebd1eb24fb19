#include "optimizer/tensor_egraph.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <unordered_set>

#include "interp/interpreter.h"
#include "ir/expand.h"
#include "ir/model_stats.h"
#include "ir/op_registry.h"

namespace eqopt::opt {

using eg::Id;
using eg::OpId;
using eg::PayloadId;

namespace {

void append_hex(std::string& out, const void* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
}

// Canonical text of a tensor: equal tensors give equal text.
void append_tensor(std::string& out, const Tensor& t) {
  out += std::string(dtype_short_name(t.dtype())) + shape_str(t.shape()) + ":";
  if (t.dtype() == DType::String)
    for (const std::string& s : t.strings()) out += std::to_string(s.size()) + ":" + s;
  else
    append_hex(out, t.raw_data(), t.nbytes());
}

// The e-graph operator of a node: its OpId's spelling ("Relu", "eqopt.FusedConv").
std::string op_key(const Node& n) { return eqopt::OpId::of(n).str(); }

}  // namespace

PayloadId TensorProgram::op_payload(const std::vector<Attribute>& attrs, size_t num_outputs) {
  std::vector<const Attribute*> sorted;
  for (const Attribute& a : attrs) sorted.push_back(&a);
  std::sort(sorted.begin(), sorted.end(), [](const Attribute* x, const Attribute* y) { return x->name < y->name; });
  std::string key = "#out=" + std::to_string(num_outputs);
  for (const Attribute* a : sorted) {
    key += ";" + a->name + "=" + std::string(attribute_kind_name(a->kind)) + ":";
    switch (a->kind) {
      case Attribute::Kind::Float: append_hex(key, &a->f, sizeof a->f); break;
      case Attribute::Kind::Int: key += std::to_string(a->i); break;
      case Attribute::Kind::String: key += std::to_string(a->s.size()) + ":" + a->s; break;
      case Attribute::Kind::Floats: append_hex(key, a->floats.data(), a->floats.size() * sizeof(float)); break;
      case Attribute::Kind::Ints:
        for (int64_t v : a->ints) key += std::to_string(v) + ",";
        break;
      case Attribute::Kind::Strings:
        for (const auto& v : a->strings) key += std::to_string(v.size()) + ":" + v;
        break;
      case Attribute::Kind::Tensor: append_tensor(key, a->t); break;
      case Attribute::Kind::Tensors:
        for (const Tensor& t : a->tensors) append_tensor(key, t);
        break;
      // Subgraphs are identified by address: two If nodes are equal only if they share bodies.
      case Attribute::Kind::Graph: key += std::to_string(reinterpret_cast<uintptr_t>(a->g.get())); break;
      case Attribute::Kind::Graphs:
        for (const auto& sub : a->graphs) key += std::to_string(reinterpret_cast<uintptr_t>(sub.get())) + ",";
        break;
      case Attribute::Kind::Opaque: append_hex(key, a->opaque.data(), a->opaque.size()); break;
    }
  }
  const PayloadId p = g_.intern_payload(key);
  if (!attrs_.count(p)) attrs_[p] = OpAttributes{attrs, num_outputs};
  return p;
}

PayloadId TensorProgram::add_constant(Tensor value) {
  // FNV-1a over dtype, shape and bytes.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, size_t n) {
    const auto* b = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  const int32_t dt = int32_t(value.dtype());
  mix(&dt, sizeof dt);
  mix(value.shape().data(), value.shape().size() * sizeof(int64_t));
  if (value.dtype() == DType::String)
    for (const std::string& str : value.strings()) mix(str.data(), str.size());
  else
    mix(value.raw_data(), value.nbytes());
  std::vector<PayloadId>& same_hash = consts_by_hash_[h];
  for (PayloadId p : same_hash)
    if (leaf_values_.at(p).bit_equal(value)) return p;
  const PayloadId p = g_.intern_payload("c" + std::to_string(next_const_++));
  leaf_values_[p] = std::move(value);
  same_hash.push_back(p);
  return p;
}

Node TensorProgram::node_for(Id n) const {
  Node node;
  const std::string& op = g_.op_name(g_.node_op(n));
  eqopt::OpId id = eqopt::OpId::parse(op);
  node.domain = std::move(id.domain);
  node.op_type = std::move(id.name);
  node.name = "e-node " + std::to_string(n);
  const auto kids = g_.node_children(n);
  const OpAttributes& oa = op_attributes(g_.node_payload(n));
  node.attributes = oa.attrs;
  // Explicit inputs are the leading children; for ops with subgraphs the rest are outer values.
  const size_t explicit_inputs = kids.size() - size_t(std::count_if(oa.attrs.begin(), oa.attrs.end(), [](const Attribute& a) {
                                                        return a.name.rfind("$outer:", 0) == 0;
                                                      }));
  for (size_t i = 0; i < explicit_inputs; ++i)
    node.inputs.push_back(g_.node_op(kids[i]) == op_none_ ? "" : "in" + std::to_string(i));
  for (size_t k = 0; k < oa.num_outputs; ++k) node.outputs.push_back("out" + std::to_string(k));
  return node;
}

TensorProgram::TensorProgram(const Model& model, const ImportOptions& options)
    : model_(model), options_(options), g_(TensorAnalysis{this}) {
  // Explanations must be on before the first e-node is added.
  if (options_.explanations) g_.set_explanations(true);
  // Leaf operators get the smallest ids (is_leaf_op relies on the order).
  op_input_ = g_.intern_op("$input");
  op_weight_ = g_.intern_op("$weight");
  op_const_ = g_.intern_op("$const");
  op_out_ = g_.intern_op("$out");
  op_none_ = g_.intern_op("$none");
  import_graph();
  g_.rebuild();
  // The model as imported: each class by the operator it came from (not a folded constant).
  Selection original;
  g_.for_each_class([&](Id c) {
    for (Id n : g_.eclass(c).nodes) {
      auto [it, fresh] = original.emplace(c, n);
      if (!fresh && g_.node_op(it->second) == op_const_) it->second = n;
    }
  });
  for (const auto& [c, n] : original) original_nodes_.insert(n);
  original_ = std::move(original);
  original_program_ = chosen_nodes(original_);
}

void TensorProgram::import_graph() {
  const Graph& graph = model_.graph;
  std::unordered_map<std::string, Id> value_class;
  std::set<std::string> init_names;
  for (const Initializer& i : graph.initializers) init_names.insert(i.name);
  for (const ValueInfo& in : graph.inputs) {
    if (init_names.count(in.name)) continue;  // an input with a default: treated as a weight below
    TensorType t = in.type;
    if (auto it = options_.input_dims.find(in.name); it != options_.input_dims.end())
      t = refine_type(t, TensorType{t.dtype, it->second});
    const PayloadId p = g_.intern_payload(in.name);
    input_types_[p] = t;
    value_class[in.name] = g_.add(op_input_, p, std::span<const Id>());
  }
  for (const Initializer& init : graph.initializers) {
    const PayloadId p = g_.intern_payload(init.name);
    leaf_values_[p] = init.value;
    weight_names_[p] = init.name;
    value_class[init.name] = g_.add(op_weight_, p, std::span<const Id>());
  }
  const Id none = g_.add(op_none_, std::span<const Id>());
  for (const size_t idx : topological_order(graph)) {
    const Node& n = graph.nodes[idx];
    // Constant nodes become weights named after their output.
    if (n.is_default_domain() && n.op_type == "Constant" && n.attributes.size() == 1 &&
        n.attributes[0].kind == Attribute::Kind::Tensor) {
      const PayloadId p = g_.intern_payload("$constant:" + n.outputs[0]);
      leaf_values_[p] = n.attributes[0].t;
      weight_names_[p] = n.outputs[0];
      value_class[n.outputs[0]] = g_.add(op_weight_, p, std::span<const Id>());
      original_names_.emplace(g_.find(value_class[n.outputs[0]]), n.outputs[0]);
      continue;
    }
    std::vector<Id> kids;
    for (const std::string& in : n.inputs) kids.push_back(in.empty() ? none : value_class.at(in));
    std::vector<Attribute> attrs = n.attributes;
    // Values the node's subgraphs read from this graph are children too (so extraction keeps them)
    // and are recorded, in order, as pseudo-attributes.
    std::vector<std::string> outer;
    for (const Attribute& a : n.attributes) {
      auto add_ref = [&](const std::string& name) {
        if (value_class.count(name) && std::find(outer.begin(), outer.end(), name) == outer.end()) outer.push_back(name);
      };
      if (a.g) for_each_outer_reference(*a.g, add_ref);
      for (const auto& sub : a.graphs)
        if (sub) for_each_outer_reference(*sub, add_ref);
    }
    for (const std::string& name : outer) {
      kids.push_back(value_class.at(name));
      attrs.push_back(Attribute::make_string("$outer:" + std::to_string(attrs.size()), name));
    }
    const OpId op = g_.intern_op(op_key(n));
    const PayloadId p = op_payload(attrs, n.outputs.size());
    const Id c = g_.add(op, p, kids);
    if (n.outputs.size() == 1) {
      value_class[n.outputs[0]] = c;
    } else {
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        if (n.outputs[k].empty()) continue;
        const Id ref[1] = {c};
        value_class[n.outputs[k]] = g_.add(op_out_, g_.intern_payload(std::to_string(k)), ref);
      }
    }
    for (const std::string& o : n.outputs)
      if (!o.empty()) original_names_.emplace(g_.find(value_class[o]), o);
  }
  for (const ValueInfo& o : graph.outputs) outputs_.push_back(value_class.at(o.name));
}

// ------------------------------------------------------------------ analysis

TensorData analyze_node(const TensorProgram& program, const TensorEGraph& g, Id n) {
  TensorData d;
  const OpId op = g.node_op(n);
  const PayloadId p = g.node_payload(n);
  if (op == program.op_input()) {
    d.types = {program.input_type(p)};
    d.values = {std::nullopt};
    return d;
  }
  if (op == program.op_weight() || op == program.op_const()) {
    const Tensor& v = program.leaf_value(p);
    d.types = {TensorType::of(v.dtype(), v.shape())};
    d.values = {v};
    d.weight_only = true;
    return d;
  }
  if (op == program.op_none()) {
    d.types = {TensorType{}};
    d.values = {std::nullopt};
    d.weight_only = true;
    return d;
  }
  const auto kids = g.node_children(n);
  if (op == program.op_out()) {
    const TensorData& tuple = g.data(kids[0]);
    const size_t k = size_t(std::stoul(g.payload_bytes(p)));
    d.types = {k < tuple.types.size() ? tuple.types[k] : TensorType{}};
    d.values = {k < tuple.values.size() ? tuple.values[k] : std::nullopt};
    d.weight_only = tuple.weight_only;
    return d;
  }
  const Node node = program.node_for(n);
  std::vector<TensorType> in_types(node.inputs.size());
  std::vector<const Tensor*> in_values(node.inputs.size(), nullptr);
  bool all_const = true;
  int64_t elems = 0;
  d.weight_only = true;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const TensorData& kd = g.data(kids[i]);
    d.weight_only &= kd.weight_only;
    if (node.inputs[i].empty()) continue;
    in_types[i] = kd.types.empty() ? TensorType{} : kd.types[0];
    if (!kd.values.empty() && kd.values[0]) {
      in_values[i] = &*kd.values[0];
      elems += kd.values[0]->numel();
    } else {
      all_const = false;
    }
  }
  for (size_t i = node.inputs.size(); i < kids.size(); ++i) d.weight_only &= g.data(kids[i]).weight_only;
  int64_t opset = program.opset(node.domain);
  if (opset == 0 && node.domain == kEqoptDomain) opset = 1;  // own ops a rule introduced
  const OpSchema* schema = OpRegistry::global().find(node.domain, node.op_type);
  InferContext ctx(node, opset, in_types, in_values);
  try {
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty() && !g.data(kids[i]).valid) throw Error("an input is ill-typed");
    infer_node(schema, ctx);
  } catch (const Error&) {
    // Only rules can build such a node (imported models were checked); it is kept but marked.
    d.types.assign(node.outputs.size(), TensorType{});
    d.values.assign(node.outputs.size(), std::nullopt);
    d.valid = false;
    return d;
  }
  d.types = ctx.output_types();
  d.values.assign(d.types.size(), std::nullopt);
  for (size_t k = 0; k < d.types.size(); ++k)
    if (ctx.output_values()[k]) d.values[k] = *ctx.output_values()[k];
  const bool has_subgraph = kids.size() > node.inputs.size() ||
                            std::any_of(node.attributes.begin(), node.attributes.end(),
                                        [](const Attribute& a) { return a.g || !a.graphs.empty(); });
  if (schema && all_const && !has_subgraph && !node.inputs.empty() && elems <= program.fold_max_elements()) {
    InterpreterFolder folder;
    if (auto folded = folder.fold(node, opset, in_values))
      for (size_t k = 0; k < folded->size() && k < d.values.size(); ++k) d.values[k] = (*folded)[k];
  }
  return d;
}

namespace {

[[maybe_unused]] bool types_agree(const TensorData& a, const TensorData& b) {
  if (a.types.size() != b.types.size()) return false;
  for (size_t k = 0; k < a.types.size(); ++k) {
    const TensorType &x = a.types[k], &y = b.types[k];
    if (x.dtype != DType::Undefined && y.dtype != DType::Undefined && x.dtype != y.dtype) return false;
    if (!x.dims || !y.dims) continue;
    if (x.dims->size() != y.dims->size()) return false;
    for (size_t i = 0; i < x.dims->size(); ++i)
      if ((*x.dims)[i].known() && (*y.dims)[i].known() && (*x.dims)[i].value != (*y.dims)[i].value) return false;
  }
  return true;
}

}  // namespace

std::pair<bool, bool> TensorAnalysis::merge(TensorData& into, TensorData from) {
  bool changed_into = false, changed_from = false;
  if (!into.valid && from.valid) {
    into = std::move(from);
    return {true, false};
  }
  if (into.valid && !from.valid) return {false, true};
  // Rules are refused when they would change a dtype or a known dim (rule_compiler.cpp); a merge
  // of two classes with different types is therefore a bug, caught here in debug builds.
  assert(types_agree(into, from) && "e-classes with different dtypes or shapes were merged");
  if (into.types.size() < from.types.size()) {
    into.types.resize(from.types.size());
    into.values.resize(from.types.size());
  }
  for (size_t k = 0; k < from.types.size(); ++k) {
    const TensorType refined = refine_type(into.types[k], from.types[k]);
    if (!(refined == into.types[k])) {
      into.types[k] = refined;
      changed_into = true;
    }
    if (!(refined == from.types[k])) changed_from = true;
    if (!into.values[k] && from.values[k]) {
      into.values[k] = from.values[k];
      changed_into = true;
    } else if (into.values[k] && !from.values[k]) {
      changed_from = true;
    }
  }
  if (!into.weight_only && from.weight_only) {
    into.weight_only = true;
    changed_into = true;
  } else if (into.weight_only && !from.weight_only) {
    changed_from = true;
  }
  return {changed_into, changed_from};
}

// ------------------------------------------------------------------ extraction and export

const tgt::CostModel& TensorProgram::cost_model() const {
  if (!cost_model_) cost_model_ = tgt::make_cost_model("cpu");
  return *cost_model_;
}

tgt::OpCost TensorProgram::node_cost(Id n) const {
  const OpId op = g_.node_op(n);
  if (is_leaf_op(op) || op == op_out_) return tgt::OpCost{};
  const Node node = node_for(n);
  const auto kids = g_.node_children(n);
  std::vector<tgt::TensorArg> in;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const TensorData& d = g_.data(kids[i]);
    tgt::TensorArg a;
    if (!node.inputs[i].empty()) a.type = d.types.empty() ? TensorType{} : d.types[0];
    // Graph inputs, weights and values computed from weights alone are read from DRAM.
    a.offchip = d.weight_only || std::any_of(g_.eclass(kids[i]).nodes.begin(), g_.eclass(kids[i]).nodes.end(),
                                             [&](Id k) { return g_.node_op(k) == op_input_; });
    in.push_back(a);
  }
  std::vector<TensorType> out = g_.data(g_.find(n)).types;
  out.resize(node.outputs.size());
  try {
    return cost_model().cost(node, in, out);
  } catch (const Error&) {
    // An own op whose definition needs something unknown: priced as one generic kernel.
    tgt::OpCost c;
    c.op_class = tgt::CostModel::op_class(node);
    c.total_s = c.overhead_s = cost_model().target().kernel_overhead * 10;
    return c;
  }
}

double TensorProgram::own_cost(Id n) const {
  auto it = own_cost_.find(n);
  if (it == own_cost_.end()) {
    const bool own_op = eqopt::OpId::parse(g_.op_name(g_.node_op(n))).domain == kEqoptDomain;
    // The model's own operators always stay extractable, so the original program is a valid choice.
    const bool valid = (allow_own_ops_ || !own_op) && (original_nodes_.count(n) || analyze_node(*this, g_, n).valid);
    double cost = -1.0;
    if (valid) {
      cost = node_cost(n).total_s + body_cost(n, false);
      // Every op costs more than nothing, so tree extraction stays acyclic.
      if (!is_leaf_op(g_.node_op(n)) && g_.node_op(n) != op_out_) cost = std::max(cost, 1e-12);
    }
    it = own_cost_.emplace(n, cost).first;
  }
  return it->second;
}

std::map<std::string, double> TensorProgram::cost_by_class(const Selection& s) const {
  return cost_by_class(chosen_nodes(s));
}

std::map<std::string, double> TensorProgram::cost_by_class(const std::vector<Id>& nodes) const {
  return cost_by_class(nodes, false);
}

std::map<std::string, double> TensorProgram::cost_by_class(const std::vector<Id>& nodes, bool before) const {
  std::map<std::string, double> out;
  for (Id n : nodes) {
    const OpId op = g_.node_op(n);
    if (is_leaf_op(op) || op == op_out_) continue;
    const tgt::OpCost c = node_cost(n);
    out[c.host ? "host" : c.op_class] += c.total_s;
    body_cost(n, before, &out);
  }
  return out;
}

double TensorProgram::body_cost(Id n, bool before, std::map<std::string, double>* by_class) const {
  const OpId op = g_.node_op(n);
  if (body_costs_.empty() || is_leaf_op(op) || op == op_out_) return 0;
  const OpAttributes& oa = op_attributes(g_.node_payload(n));
  std::vector<std::pair<std::string, const BodyCost*>> bodies;
  for (const Attribute& a : oa.attrs) {
    auto add = [&](const Graph* sub) {
      if (auto it = body_costs_.find(sub); it != body_costs_.end()) bodies.emplace_back(a.name, &it->second);
    };
    if (a.g) add(a.g.get());
    for (const auto& sub : a.graphs) add(sub.get());
  }
  if (bodies.empty()) return 0;
  auto value = [&](const BodyCost* b) { return before ? b->before : b->after; };
  const auto kids = g_.node_children(n);
  auto known_scalar = [&](size_t i) -> std::optional<int64_t> {
    if (i >= kids.size() || g_.node_op(kids[i]) == op_none_) return std::nullopt;
    const TensorData& d = g_.data(kids[i]);
    if (d.values.empty() || !d.values[0] || d.values[0]->numel() != 1) return std::nullopt;
    return d.values[0]->as_int64(0);
  };
  const std::string& name = g_.op_name(op);
  double trips = 1;
  std::vector<const BodyCost*> counted;
  if (name == "If") {
    // The taken branch when the condition is known, else the costlier one (an upper bound).
    const BodyCost *then_b = nullptr, *else_b = nullptr;
    for (const auto& [attr, b] : bodies) (attr == "then_branch" ? then_b : else_b) = b;
    if (auto cond = known_scalar(0)) {
      if (const BodyCost* taken = *cond != 0 ? then_b : else_b) counted = {taken};
    } else if (then_b && else_b) {
      counted = {value(then_b) >= value(else_b) ? then_b : else_b};
    } else {
      counted = {then_b ? then_b : else_b};
    }
  } else {
    // Bodies of other ops (other domains) count once each.
    for (const auto& [attr, b] : bodies) counted.push_back(b);
    if (name == "Loop" || name == "Scan") trips = kDefaultTrips;
    if (name == "Loop") {
      // M bounds the iterations (the condition may end the loop sooner); a huge M means "until the
      // condition says stop", which is unknown.
      if (auto m = known_scalar(0); m && *m >= 0 && *m <= (int64_t(1) << 32)) trips = double(*m);
    } else if (name == "Scan") {
      const Node node = node_for(n);
      const bool v8 = opset("") < 9;
      const size_t first = v8 ? 1 : 0;
      const int64_t m = node.attr_int("num_scan_inputs", 1);
      const size_t n_in = node.inputs.size() > first ? node.inputs.size() - first : 0;
      if (m >= 1 && size_t(m) <= n_in) {
        const size_t scan0 = first + (n_in - size_t(m));
        const TensorData& d = g_.data(kids[scan0]);
        if (!d.types.empty() && d.types[0].dims) {
          const Dims& dims = *d.types[0].dims;
          const int64_t rank = int64_t(dims.size());
          std::optional<double> len;
          if (v8) {
            if (rank >= 2 && dims[0].known() && dims[1].known()) len = double(dims[0].value) * double(dims[1].value);
          } else {
            std::vector<int64_t> axes = node.attr_ints("scan_input_axes");
            int64_t axis = axes.empty() ? 0 : axes[0];
            if (axis < 0) axis += rank;
            if (axis >= 0 && axis < rank && dims[size_t(axis)].known()) len = double(dims[size_t(axis)].value);
          }
          if (len) trips = *len;
        }
      }
    }
  }
  double total = 0;
  for (const BodyCost* b : counted) {
    if (!b) continue;
    total += trips * value(b);
    if (by_class)
      for (const auto& [k, v] : before ? b->by_class_before : b->by_class_after) (*by_class)[k] += trips * v;
  }
  return total;
}

TensorProgram::ExtractionProblem TensorProgram::extraction_problem() const {
  ExtractionProblem p;
  std::unordered_map<Id, uint32_t> index;
  g_.for_each_class([&](Id c) {
    index.emplace(c, p.problem.add_class());
    p.classes.push_back(c);
  });
  for (Id c : p.classes) {
    for (Id n : g_.eclass(c).nodes) {
      std::vector<uint32_t> kids;
      for (Id k : g_.node_children(n)) kids.push_back(index.at(g_.find(k)));
      p.problem.add_node(index.at(c), std::move(kids), own_cost(n));
      p.nodes.push_back(n);
    }
  }
  for (Id o : outputs_) p.problem.roots.push_back(index.at(g_.find(o)));
  p.problem.finish();
  return p;
}

TensorProgram::Selection TensorProgram::to_selection(const ExtractionProblem& p, const ex::Choice& choice) const {
  Selection s;
  for (size_t i = 0; i < choice.size() && i < p.classes.size(); ++i)
    if (choice[i] >= 0) s[p.classes[i]] = p.nodes[size_t(choice[i])];
  return s;
}

TensorProgram::Extraction TensorProgram::choose(const ex::Options& options) const {
  const ExtractionProblem p = extraction_problem();
  // The imported program is a start too, so extraction never returns something costlier.
  ex::Options with_start = options;
  {
    std::unordered_map<Id, uint32_t> index;
    for (size_t i = 0; i < p.classes.size(); ++i) index.emplace(p.classes[i], uint32_t(i));
    std::unordered_map<Id, int32_t> node_index;
    for (size_t j = 0; j < p.nodes.size(); ++j) node_index.emplace(p.nodes[j], int32_t(j));
    ex::Choice start(p.classes.size(), -1);
    for (const auto& [c, n] : original_selection()) {
      auto ci = index.find(g_.find(c));
      auto ni = node_index.find(n);
      if (ci != index.end() && ni != node_index.end()) start[ci->second] = ni->second;
    }
    with_start.starts.push_back(std::move(start));
  }
  Extraction e;
  e.result = ex::extract(p.problem, with_start);
  e.selection = to_selection(p, e.result.choice);
  e.cost = e.result.cost;  // the DAG cost of the choice, over the same costs as dag_cost()
  e.method = e.result.method;
  return e;
}

double TensorProgram::initial_cost() const {
  // own_cost() holds the bodies as optimized; the imported program counts them as imported.
  double total = total_cost(original_program_);
  for (Id n : original_program_) total += body_cost(n, true) - body_cost(n, false);
  return total;
}

std::map<std::string, double> TensorProgram::initial_cost_by_class() const { return cost_by_class(original_program_, true); }

TensorProgram::Selection TensorProgram::original_selection() const {
  Selection s;
  for (const auto& [c, n] : original_) s.emplace(g_.find(c), n);
  return s;
}

std::vector<Id> TensorProgram::chosen_nodes(const Selection& s) const {
  std::vector<Id> out;
  std::unordered_map<Id, bool> seen;
  std::vector<Id> stack(outputs_.begin(), outputs_.end());
  while (!stack.empty()) {
    const Id c = g_.find(stack.back());
    stack.pop_back();
    if (seen[c]) continue;
    seen[c] = true;
    auto it = s.find(c);
    if (it == s.end()) continue;
    out.push_back(it->second);
    for (Id k : g_.node_children(it->second)) stack.push_back(k);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double TensorProgram::dag_cost(const Selection& s) const { return total_cost(chosen_nodes(s)); }

double TensorProgram::total_cost(const std::vector<Id>& nodes) const {
  double total = 0;
  for (Id n : nodes) total += std::max(0.0, own_cost(n));
  return total;
}

Model TensorProgram::write(const Selection& best_node) const {
  const TensorEGraph& g = g_;
  Model out;
  out.ir_version = model_.ir_version;
  out.opset_imports = model_.opset_imports;
  out.producer_name = "eqopt";
  out.producer_version = "0.1.0";
  out.domain = model_.domain;
  out.model_version = model_.model_version;
  out.doc_string = model_.doc_string;
  out.metadata_props = model_.metadata_props;
  out.functions = model_.functions;
  Graph& graph = out.graph;
  graph.name = model_.graph.name;
  graph.doc_string = model_.graph.doc_string;
  for (const ValueInfo* in : model_.graph.runtime_inputs()) graph.inputs.push_back(*in);

  std::unordered_map<Id, std::string> name_of;  // class -> emitted value name
  std::set<std::string> used_names;
  for (const ValueInfo& v : graph.inputs) used_names.insert(v.name);
  int fresh = 0;
  auto fresh_name = [&](const std::string& base) {
    std::string nm = base;
    while (used_names.count(nm) || reserved_names_.count(nm)) nm = base + "_" + std::to_string(fresh++);
    used_names.insert(nm);
    return nm;
  };
  // Emits the classes a value needs in depth-first post-order (children in order, each class once)
  // with an explicit stack, so a model's depth never reaches the call stack. A class's name is
  // known when it is begun (inputs, weights, classes already emitted) or once its children are.
  struct Frame {
    Id c, n;
    size_t next = 0;                    // children begun so far
    std::vector<std::string> in_names;  // the names of the children finished so far
  };
  std::vector<Frame> stack;
  std::unordered_set<Id> on_stack;
  // Begins class `cls`: returns its name when known now, else pushes its frame and returns nullopt.
  auto begin = [&](Id cls) -> std::optional<std::string> {
    const Id c = g.find(cls);
    if (auto it = name_of.find(c); it != name_of.end()) return it->second;
    auto bn = best_node.find(c);
    if (bn == best_node.end()) fail("extraction: e-class ", c, " has no finite-cost e-node");
    const Id n = bn->second;
    const OpId op = g.node_op(n);
    const PayloadId p = g.node_payload(n);
    std::string name;
    if (op == op_input_) {
      name = g.payload_bytes(p);
    } else if (op == op_none_) {
      name = "";
    } else if (op == op_weight_ || op == op_const_) {
      auto wn = weight_names_.find(p);
      auto on = original_names_.find(c);
      name = fresh_name(wn != weight_names_.end() ? wn->second : on != original_names_.end() ? on->second : "eqopt_const");
      graph.initializers.push_back({name, leaf_values_.at(p), ""});
    } else {
      if (!on_stack.insert(c).second) fail("extraction: the program chosen for e-class ", c, " needs its own value (a cycle)");
      stack.push_back(Frame{c, n, 0, {}});
      return std::nullopt;
    }
    name_of[c] = name;
    return name;
  };
  // Finishes the frame on top of the stack, all of whose children are named: returns its name.
  auto finish = [&](Frame& f) -> std::string {
    const Id c = f.c, n = f.n;
    // Emitting the tuple's op named all its used outputs, this one included.
    if (g.node_op(n) == op_out_) return name_of.at(c);
    const PayloadId p = g.node_payload(n);
    const std::vector<std::string>& in_names = f.in_names;
    Node node = node_for(n);
    node.inputs.assign(in_names.begin(), in_names.begin() + long(node.inputs.size()));
    // Outer values read by subgraphs keep the names the subgraphs use; the $outer pseudo-attributes
    // that recorded them are dropped.
    std::vector<Attribute> attrs;
    size_t outer_index = node.inputs.size();
    for (const Attribute& a : node.attributes) {
      if (a.name.rfind("$outer:", 0) != 0) {
        attrs.push_back(a);
        continue;
      }
      const std::string& want = a.s;
      const std::string& have = in_names[outer_index++];
      if (have == want) continue;
      Node copy;
      copy.op_type = "Identity";
      copy.name = fresh_name("eqopt_outer_" + want);
      copy.inputs = {have};
      copy.outputs = {want};
      used_names.insert(want);
      graph.nodes.push_back(copy);
    }
    node.attributes = std::move(attrs);
    node.name = "";
    std::string name;
    const size_t n_out = op_attributes(p).num_outputs;
    const auto on = original_names_.find(c);
    if (n_out == 1) {
      name = fresh_name(on != original_names_.end() ? on->second : "eqopt_v");
      node.outputs = {name};
    } else {
      // Name every output after the class of its $out projection, when the graph uses it.
      node.outputs.assign(n_out, "");
      for (Id parent : g.eclass(c).parents) {
        if (!g.node_live(parent) || g.node_op(parent) != op_out_) continue;
        const Id pc = g.find(parent);
        const size_t k = size_t(std::stoul(g.payload_bytes(g.node_payload(parent))));
        if (k >= n_out || !node.outputs[k].empty()) continue;
        const auto pn = original_names_.find(pc);
        node.outputs[k] = fresh_name(pn != original_names_.end() ? pn->second : "eqopt_v");
        name_of[pc] = node.outputs[k];
      }
      name = fresh_name("eqopt_tuple");
    }
    node.name = fresh_name("eqopt_n");
    graph.nodes.push_back(std::move(node));
    name_of[c] = name;
    return name;
  };
  auto emit = [&](Id root) -> std::string {
    if (std::optional<std::string> known = begin(root)) return *known;
    std::string done;
    while (!stack.empty()) {
      const size_t top = stack.size() - 1;
      const Id n = stack[top].n;
      const auto kids = g.node_children(n);
      // A $out projection needs only its tuple.
      const size_t wanted = g.node_op(n) == op_out_ ? 1 : kids.size();
      if (stack[top].next < wanted) {
        const Id k = kids[stack[top].next++];
        if (std::optional<std::string> known = begin(k)) stack[top].in_names.push_back(std::move(*known));
        continue;  // else the child's frame is on top now
      }
      done = finish(stack[top]);
      on_stack.erase(stack[top].c);
      stack.pop_back();
      if (!stack.empty()) stack.back().in_names.push_back(done);
    }
    return done;
  };

  for (size_t k = 0; k < outputs_.size(); ++k) {
    const ValueInfo& declared = model_.graph.outputs[k];
    const std::string produced = emit(outputs_[k]);
    if (produced != declared.name) {
      // Keep the output's name: rename through an Identity (e.g. an output that is an input).
      Node id;
      id.op_type = "Identity";
      id.name = fresh_name("eqopt_output_" + declared.name);
      id.inputs = {produced};
      id.outputs = {declared.name};
      graph.nodes.push_back(id);
    }
    graph.outputs.push_back(declared);
  }
  // Own ops that rules introduced need their domain imported (version 1).
  // (bodies included: they were optimized with the same options).
  bool has_own_ops = false;
  for_each_graph(graph, [&](const Graph& sub, int) {
    for (const Node& n : sub.nodes) has_own_ops |= n.domain == kEqoptDomain;
  });
  if (has_own_ops && out.opset(kEqoptDomain) == 0) out.opset_imports.push_back({std::string(kEqoptDomain), 1});
  return out;
}

}  // namespace eqopt::opt
