// Symbolic evaluation of a model (verify/sym_eval.h): the walk over the graph, constants, the
// interpreter fallback for known values, own ops through their definitions, and conditions. The
// ops' symbolic definitions live in verify/sym_eval_{elementwise,tensor,nn}.cpp;
// docs/verification-ops.md lists their real-number semantics.
//
// Each node is handled by the first of these that applies:
//   1. an own op (domain "eqopt") with a definition in standard ops (ir/expand.h): its nodes, so
//      what is verified is the definition the exporter writes;
//   2. shape inference computed its outputs' values (Shape, Size, Constant): those values;
//   3. every input is known and no output is a float: the reference interpreter, exactly as it
//      runs (integer shape arithmetic must follow its integer semantics, not the reals');
//   4. the op has a symbolic definition: that, in real arithmetic, even when every input is known,
//      so constants fold exactly where SymCtx can keep them exact (the interpreter rounds to float32);
//   5. every input is known: the interpreter, its results read as constants (ConstantOfShape, ...);
//   6. the op has a definition in standard ops: its nodes;
//   7. otherwise UnsupportedOp.
#include "verify/sym_eval.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "interp/interpreter.h"
#include "interp/kernel_util.h"
#include "ir/expand.h"
#include "ir/op_registry.h"
#include "ir/shape_inference.h"
#include "verify/sym_eval_detail.h"
#include "verify/tensor_values.h"

namespace eqopt::verify {

namespace detail {

const SymTensor& OpEval::input(size_t i) const {
  if (!has_input(i)) fail("input ", i, " is required but missing");
  return *inputs_[i];
}

bool OpEval::known(size_t i) const {
  const SymTensor& t = input(i);
  return std::all_of(t.elems.begin(), t.elems.end(), [&](SymId e) { return sym.is_const(e); });
}

std::vector<double> OpEval::reals(size_t i, const char* what) const {
  if (!known(i))
    unsupported(std::string("input ") + std::to_string(i) + " (" + what + ") must be known, got a symbolic value");
  std::vector<double> v;
  for (SymId e : input(i).elems) v.push_back(sym.const_value(e));
  return v;
}

std::vector<int64_t> OpEval::ints(size_t i, const char* what) const {
  if (!known(i))
    unsupported(std::string("input ") + std::to_string(i) + " (" + what + ") must be known, got a symbolic value");
  std::vector<int64_t> v;
  for (SymId e : input(i).elems) v.push_back(sym.const_int(e));
  return v;
}

Shape OpEval::out_shape(size_t k) const {
  const std::optional<Shape> s = out_types_.at(k).static_shape();
  if (!s) unsupported("the shape of output " + std::to_string(k) + " is not static (" + out_types_.at(k).str() + ")");
  return *s;
}

SymId OpEval::real(double v, SymId exact) const { return targeted_(v).value_or(exact); }

SymId OpEval::attr_real(const char* name, double fallback) const {
  const Attribute* a = node_.attr(name);
  if (!a) return real(fallback);
  if (a->kind == Attribute::Kind::Int) return real(double(a->i));
  if (a->kind == Attribute::Kind::Float) return real(double(a->f));
  fail("attribute '", name, "' should be a number, found ", attribute_kind_name(a->kind));
}

void OpEval::set_output(size_t k, SymTensor t) {
  if (k < outputs_.size()) outputs_[k] = std::move(t);
}

void OpEval::unsupported(const std::string& why) const {
  const std::string op = node_.is_default_domain() ? node_.op_type : node_.domain + "." + node_.op_type;
  throw UnsupportedOp("op " + op + ": " + why + " (" + node_.label() + ")");
}

std::vector<int64_t> broadcast_index(const Shape& in, const Shape& out) {
  const size_t r = out.size();
  bool fits = in.size() <= r;
  for (size_t k = 0; fits && k < in.size(); ++k) fits = in[k] == 1 || in[k] == out[r - in.size() + k];
  if (!fits) fail("cannot broadcast ", shape_str(in), " to ", shape_str(out));
  std::vector<int64_t> map(size_t(shape_numel(out)), 0);
  const std::vector<int64_t> strides[1] = {broadcast_strides(in, out)};
  for_each_broadcast(out, strides, [&](int64_t i, const int64_t* off) { map[size_t(i)] = off[0]; });
  return map;
}

Shape broadcast_shape(const std::vector<Shape>& shapes, const std::string& where) {
  try {
    return broadcast_shapes(shapes);
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
}

int64_t normalize_axis(const OpEval& e, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) e.fail("axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

SymId sum_of(SymCtx& sym, const std::vector<SymId>& terms) {
  if (terms.empty()) return sym.constant(0);
  SymId s = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) s = sym.add(s, terms[i]);
  return s;
}

SymId as_condition(SymCtx& sym, SymId b) {
  if (sym.is_const(b)) return sym.truth(sym.const_value(b) != 0);
  if (!sym_op_is_bool(sym.node(b).op)) return sym.not_(sym.eq(b, sym.constant(0)));  // a real read as a bool
  return b;
}

SymId as_bool_elem(SymCtx& sym, SymId b) {
  const SymOp op = sym.node(b).op;
  if (op == SymOp::True) return sym.constant(1);
  if (op == SymOp::False) return sym.constant(0);
  return b;
}

const SymOpTable& sym_op_table() {
  static const SymOpTable table = [] {
    SymOpTable t;
    register_sym_elementwise(t);
    register_sym_tensor(t);
    register_sym_nn(t);
    return t;
  }();
  return table;
}

}  // namespace detail

namespace {

using detail::OpEval;

// Ops whose outputs shape inference computes (Constant, Shape, Size) or whose inputs are always
// known integers (ConstantOfShape): covered without a symbolic definition.
const char* const kByInference[] = {"Constant", "ConstantOfShape", "Shape", "Size"};

std::string op_name(const Node& n) { return n.is_default_domain() ? n.op_type : n.domain + "." + n.op_type; }

class Evaluator {
 public:
  Evaluator(SymCtx& ctx, const Model& model, const SymEvalOptions& options)
      : ctx_(ctx), model_(model), options_(options) {
    opset_ = model.opset("");
    if (opset_ <= 0) opset_ = kLatestOpset;
  }

  SymResult run() {
    // Conditions recorded before this call belong to no node of this model.
    ctx_.take_conditions();
    const Graph& g = model_.graph;
    for (const ValueInfo& v : g.inputs) used_.insert(v.name);
    for (const Initializer& i : g.initializers) {
      used_.insert(i.name);
      env_[i.name] = from_tensor(i.value);
    }
    for (const ValueInfo& v : g.inputs)
      if (!env_.count(v.name)) env_[v.name] = input_value(v);  // an initializer stays a known value
    for (const Node& n : g.nodes)
      for (const std::string& o : n.outputs) used_.insert(o);
    // The constants' own conditions (none unless a target is 0-like); every output depends on them.
    std::vector<SymId> start;
    for (SymId c : ctx_.take_conditions())
      if (ctx_.node(c).op != SymOp::True) start.push_back(c);
    for (size_t idx : topological_order(g)) {
      const Node& node = g.nodes[idx];
      std::set<SymId> conds(start.begin(), start.end());
      for (const std::string& in : node.inputs)
        if (auto it = conds_.find(in); it != conds_.end()) conds.insert(it->second.begin(), it->second.end());
      eval_node(node, opset_);
      for (SymId c : ctx_.take_conditions())
        if (ctx_.node(c).op != SymOp::True) conds.insert(c);
      for (const std::string& o : node.outputs)
        if (!o.empty()) conds_[o] = std::vector<SymId>(conds.begin(), conds.end());
    }
    SymResult r;
    for (const ValueInfo& o : g.outputs) {
      auto it = env_.find(o.name);
      if (it == env_.end()) fail("graph output '", o.name, "' has no value");
      r.outputs.push_back(it->second);
      auto c = conds_.find(o.name);
      r.conditions.push_back(c == conds_.end() ? start : c->second);
    }
    return r;
  }

 private:
  // The approx target a float constant stands for: t itself, or Inv(t) for a constant near 1/t
  // (relative distance as the guard's approx()); nullopt when no target is near.
  std::optional<SymId> targeted(double v) {
    if (!std::isfinite(v) || v == 0) return std::nullopt;
    auto near = [&](double a, double b) {
      return std::abs(a - b) <= options_.approx_rtol * std::max(std::abs(a), std::abs(b));
    };
    for (double t : options_.approx_targets)
      if (near(v, t)) return ctx_.constant(t);
    for (double t : options_.approx_targets)
      if (t != 0 && near(v, 1.0 / t)) return ctx_.inv(ctx_.constant(t));
    return std::nullopt;
  }
  SymId real(double v) { return targeted(v).value_or(ctx_.constant(v)); }

  SymTensor from_tensor(const Tensor& t) {
    if (t.dtype() == DType::String) throw UnsupportedOp("string tensors have no real-number reading");
    SymTensor s;
    s.dtype = t.dtype();
    s.shape = t.shape();
    s.elems.reserve(size_t(t.numel()));
    const bool floating = is_floating(t.dtype());
    const SymSort sort = sym_sort(t.dtype());
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (floating) s.elems.push_back(real(t.as_double(i)));
      else if (sort.integer()) s.elems.push_back(ctx_.int_constant(t.as_int64(i), sort));
      else s.elems.push_back(ctx_.constant(t.as_double(i)));
    }
    return s;
  }

  // A graph input: an unknown per element. A boolean is the sign of an unknown real, so each is a
  // free truth value; a float16 is an unknown real rounded to half precision (every float16 value
  // is one); an integer is an unknown of its dtype's width.
  SymTensor input_value(const ValueInfo& v) {
    const std::optional<Shape> shape = v.type.static_shape();
    if (!shape) throw UnsupportedOp("graph input '" + v.name + "' has no static shape (" + v.type.str() + ")");
    SymTensor s;
    s.dtype = v.type.dtype;
    s.shape = *shape;
    const int64_t n = shape_numel(*shape);
    const SymSort sort = sym_sort(s.dtype);
    if (s.dtype == DType::Float16) {
      for (int64_t i = 0; i < n; ++i) s.elems.push_back(ctx_.round(ctx_.var(v.name, i), 16));
    } else if (s.dtype == DType::Float || s.dtype == DType::Double) {
      for (int64_t i = 0; i < n; ++i) s.elems.push_back(ctx_.var(v.name, i));
    } else if (s.dtype == DType::Bool) {
      for (int64_t i = 0; i < n; ++i) s.elems.push_back(ctx_.gt(ctx_.var(v.name, i), ctx_.constant(0)));
    } else if (sort.integer()) {
      for (int64_t i = 0; i < n; ++i) s.elems.push_back(ctx_.int_var(v.name, i, sort));
    } else {
      throw UnsupportedOp("graph input '" + v.name + "' is a " + std::string(dtype_short_name(s.dtype)) +
                          " tensor without a value; its element type has no symbolic reading");
    }
    return s;
  }

  bool is_known(const SymTensor& t) const {
    return std::all_of(t.elems.begin(), t.elems.end(), [&](SymId e) { return ctx_.is_const(e); });
  }

  Tensor to_tensor(const SymTensor& s) const {
    const Tensor t = tensor_from(s.dtype, s.shape, [&](size_t i) {
      return std::pair(ctx_.const_value(s.elems[i]), ctx_.const_int(s.elems[i]));
    });
    if (!t.defined())
      throw UnsupportedOp("element type " + std::string(dtype_short_name(s.dtype)) + " has no real-number reading");
    return t;
  }

  std::string fresh(const std::string& base) {
    for (;;) {
      std::string name = base + "/sym" + std::to_string(counter_++);
      if (used_.insert(name).second) return name;
    }
  }

  // Computes the node's outputs into env_. `opset` is the default-domain opset the node is read in.
  void eval_node(const Node& node, int64_t opset) {
    for (const Attribute& a : node.attributes)
      if (a.g || !a.graphs.empty())
        throw UnsupportedOp("op " + op_name(node) + ": subgraphs are not supported (" + node.label() + ")");
    std::vector<const SymTensor*> inputs(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].empty()) continue;
      auto it = env_.find(node.inputs[i]);
      if (it == env_.end()) fail(node.label(), ": input '", node.inputs[i], "' has no value");
      inputs[i] = &it->second;
    }
    const OpSchema* schema = OpRegistry::global().find(node.domain, node.op_type);
    if (!schema) throw UnsupportedOp("op " + op_name(node) + ": not an op eqopt knows (" + node.label() + ")");
    const int64_t node_opset = node.is_default_domain() ? opset : std::max<int64_t>(model_.opset(node.domain), 1);

    std::vector<TensorType> types(node.inputs.size());
    std::vector<Tensor> values(node.inputs.size());
    std::vector<const Tensor*> value_ptrs(node.inputs.size(), nullptr);
    bool all_known = true;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i]) continue;
      types[i] = TensorType::of(inputs[i]->dtype, inputs[i]->shape);
      if (is_known(*inputs[i])) {
        values[i] = to_tensor(*inputs[i]);
        value_ptrs[i] = &values[i];
      } else {
        all_known = false;
      }
    }

    if (!node.is_default_domain() && schema->expand) {
      eval_expansion(node, types, opset);
      return;
    }

    InferContext ictx(node, node_opset, types, value_ptrs);
    infer_node(schema, ictx);
    const std::vector<TensorType>& out_types = ictx.output_types();

    bool inferred_all = true, float_out = false;
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      inferred_all = inferred_all && ictx.output_values()[k].has_value();
      float_out = float_out || is_floating(out_types[k].dtype);
    }
    if (inferred_all) {
      for (size_t k = 0; k < node.outputs.size(); ++k)
        if (!node.outputs[k].empty()) env_[node.outputs[k]] = from_tensor(*ictx.output_values()[k]);
      return;
    }
    const auto& table = detail::sym_op_table();
    const auto fn = node.is_default_domain() ? table.find(node.op_type) : table.end();
    if (all_known && (!float_out || fn == table.end())) {
      std::vector<Tensor> outs = evaluate_node(node, node_opset, value_ptrs);
      for (size_t k = 0; k < node.outputs.size(); ++k)
        if (!node.outputs[k].empty()) env_[node.outputs[k]] = from_tensor(outs[k]);
      return;
    }
    if (fn == table.end()) {
      if (schema->expand) {
        eval_expansion(node, types, opset);
        return;
      }
      throw UnsupportedOp("op " + op_name(node) + ": no symbolic semantics for a symbolic input (" + node.label() + ")");
    }
    OpEval e(ctx_, node, node_opset, inputs, out_types, [this](double v) { return targeted(v); });
    fn->second(e);
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      SymTensor& t = e.outputs()[k];
      check_output(node, k, t, out_types[k]);
      env_[node.outputs[k]] = std::move(t);
    }
  }

  // The symbolic definitions compute shapes themselves; inference must agree. Every element has
  // its dtype's sort: a real constant in an integer tensor (a definition's 0 or 1) becomes an
  // integer one.
  void check_output(const Node& node, size_t k, SymTensor& t, const TensorType& inferred) const {
    const std::optional<Shape> s = inferred.static_shape();
    if (int64_t(t.elems.size()) != t.numel() || (s && *s != t.shape) || t.dtype != inferred.dtype)
      fail(node.label(), ": internal error: symbolic output ", k, " is ", dtype_short_name(t.dtype), shape_str(t.shape),
           " with ", t.elems.size(), " elements, inference says ", inferred.str());
    const SymSort sort = sym_sort(t.dtype);
    for (SymId& v : t.elems) {
      if (ctx_.sort(v) == sort) continue;
      if (sort.integer() && ctx_.is_const(v) && !ctx_.is_int(v)) {
        v = ctx_.int_constant(int64_t(ctx_.const_value(v)), sort);
        continue;
      }
      fail(node.label(), ": internal error: symbolic output ", k, " (", dtype_short_name(t.dtype),
           ") has an element of another sort: ", ctx_.str(v, 80));
    }
  }

  // Evaluates the node's definition in standard ops at the model's opset.
  void eval_expansion(const Node& node, const std::vector<TensorType>& types, int64_t opset) {
    const std::vector<Node> nodes = expand_node(node, opset, types, [this](const std::string& b) { return fresh(b); });
    for (const Node& n : nodes) eval_node(n, opset);
    for (const std::string& o : node.outputs)
      if (!o.empty() && !env_.count(o)) fail(node.label(), ": its definition gives no value for '", o, "'");
  }

  SymCtx& ctx_;
  const Model& model_;
  const SymEvalOptions& options_;
  int64_t opset_ = 0;
  std::unordered_map<std::string, SymTensor> env_;
  std::unordered_map<std::string, std::vector<SymId>> conds_;
  std::set<std::string> used_;
  int64_t counter_ = 0;
};

}  // namespace

SymSort sym_sort(DType dtype) {
  switch (dtype) {
    case DType::Int8: return SymSort::int_of(8, false);
    case DType::Int16: return SymSort::int_of(16, false);
    case DType::Int32: return SymSort::int_of(32, false);
    case DType::Int64: return SymSort::int_of(64, false);
    case DType::UInt8: return SymSort::int_of(8, true);
    case DType::UInt16: return SymSort::int_of(16, true);
    case DType::UInt32: return SymSort::int_of(32, true);
    case DType::UInt64: return SymSort::int_of(64, true);
    default: return SymSort::real();
  }
}

SymResult sym_eval(SymCtx& ctx, const Model& model, const SymEvalOptions& options) {
  return Evaluator(ctx, model, options).run();
}

std::vector<std::string> sym_supported_ops() {
  std::set<std::string> ops;
  for (const auto& [name, fn] : detail::sym_op_table()) ops.insert(name);
  for (const char* name : kByInference) ops.insert(name);
  for (const OpSchema* s : OpRegistry::global().all())
    if (s->domain == kEqoptDomain && s->expand) ops.insert(s->domain + "." + s->name);
  return {ops.begin(), ops.end()};
}

}  // namespace eqopt::verify
