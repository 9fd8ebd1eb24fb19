// The instance search (verify/instance.h): a depth-first search over the left patterns' operators
// in post-order. At each operator, a proposer offers candidate bindings for its still unbound term
// variables (shapes, dtypes, integer values), attribute variables and attribute sets, knowing the
// types of the children bound or computed before; the operator's own shape inference then accepts
// or rejects the binding. Top-level conjuncts of the guard are checked as soon as their variables
// are bound, the whole guard and the right side's types once everything is.
//
// To make the kept instances differ, the first choice point of the search (usually the first
// variable's shape, or a convolution's attributes) may yield any number of instances, every later
// one at most one per alternative above it; a second pass without that limit fills up the rest.
//
// find_instances retries when that finds nothing: with weights where the guard says nothing, then
// with equal dims first (square matrices, cubes: where a rule's sides agree in type only there),
// then with every dtype each variable's op allows rather than the preferred one. An int64 and a
// float16 instance join where the rule's ops allow those dtypes: the first instance with its
// float32 values retyped, where that still holds the guard and types both sides alike. For rules
// that are not elementwise, one more search prefers dims >= 2 at every choice, so that some
// instance has no unit dims or scalars the guard does not force.
#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <cmath>
#include <optional>
#include <set>

#include "interp/interpreter.h"
#include "ir/shape_inference.h"
#include "verify/instance_detail.h"
#include "verify/sym_eval.h"

namespace eqopt::verify {

using guard::Value;
using rules::Expr;
using rules::PatternAst;

namespace {

// ------------------------------------------------------------------ what the guard says

bool is_call(const Expr& e, const char* f, size_t nargs) {
  return e.kind == Expr::Kind::Call && e.text == f && e.args.size() == nargs;
}
bool is_call_on_var(const Expr& e, const char* f) {
  return e.kind == Expr::Kind::Call && e.text == f && !e.args.empty() && e.args[0].is_var();
}

// A constant expression's value (numbers, lists, sqrt(...), 1.0 / 6.0), or nullopt.
std::optional<Value> constant_value(const Expr& e) {
  std::vector<std::string> vars;
  rules::collect_vars(e, vars);
  if (!vars.empty()) return std::nullopt;
  Instance none;
  guard::Env env;
  env.instance = &none;
  try {
    return guard::eval(e, env);
  } catch (const guard::Unknown&) {
    return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// Syntactic hints read from a guard (and the right side) that steer the search towards bindings
// the guard accepts. Rank and same-shape hints come from top-level conjuncts only, so they are
// necessary conditions and may filter; the others only order candidates.
struct Hints {
  std::map<std::string, std::set<int64_t>> rank_eq;
  std::map<std::string, int64_t> rank_min, rank_max;
  std::map<std::string, std::vector<std::string>> same_shape;
  std::set<std::string> numel_one;
  std::map<std::string, std::vector<Value>> attr_values;  // attribute variable == literal, approx(?a, T)
  std::map<std::string, std::vector<Attribute>> set_hint;  // attr(?k, "n", d) == literal / approx target
  std::map<std::string, double> fill;                       // one value for every element
  std::map<std::string, std::vector<Value>> value_list;      // value(?v) == [..]
  std::set<std::string> weight, not_weight, need_value;
  std::vector<double> approx_targets;
};

void add_set_hint(Hints& h, const std::string& var, const Attribute& a) {
  auto& v = h.set_hint[var];
  std::erase_if(v, [&](const Attribute& x) { return x.name == a.name; });
  v.push_back(a);
}

void top_level_hints(const Expr& e, Hints& h) {
  if (e.kind == Expr::Kind::Binary && e.text == "&&") {
    top_level_hints(e.args[0], h);
    top_level_hints(e.args[1], h);
    return;
  }
  if (e.kind != Expr::Kind::Binary) return;
  const std::string& op = e.text;
  for (int side = 0; side < 2; ++side) {
    const Expr& l = e.args[size_t(side)];
    const Expr& r = e.args[size_t(1 - side)];
    if (is_call(l, "rank", 1) && l.args[0].is_var() && r.kind == Expr::Kind::Int) {
      const std::string& v = l.args[0].text;
      // Normalise to "rank OP n" with rank on the left.
      std::string o = op;
      if (side == 1) o = op == "<" ? ">" : op == ">" ? "<" : op == "<=" ? ">=" : op == ">=" ? "<=" : op;
      const int64_t n = r.int_value;
      if (o == "==") h.rank_eq[v].insert(n);
      if (o == ">=") h.rank_min[v] = std::max(h.rank_min.count(v) ? h.rank_min[v] : 0, n);
      if (o == ">") h.rank_min[v] = std::max(h.rank_min.count(v) ? h.rank_min[v] : 0, n + 1);
      if (o == "<=") h.rank_max[v] = n;
      if (o == "<") h.rank_max[v] = n - 1;
    }
  }
  if (op == "==" && is_call(e.args[0], "shape", 1) && is_call(e.args[1], "shape", 1) && e.args[0].args[0].is_var() &&
      e.args[1].args[0].is_var()) {
    const std::string &a = e.args[0].args[0].text, &b = e.args[1].args[0].text;
    if (a != "?root" && b != "?root") {
      h.same_shape[a].push_back(b);
      h.same_shape[b].push_back(a);
    }
  }
}

void any_level_hints(const Expr& e, Hints& h, bool positive) {
  if (e.kind == Expr::Kind::Unary && e.text == "!") {
    any_level_hints(e.args[0], h, !positive);
    return;
  }
  if (e.kind == Expr::Kind::Call && !e.args.empty() && e.args[0].is_var()) {
    const std::string& v = e.args[0].text;
    if (e.text == "weight" || e.text == "initializer") (positive ? h.weight : h.not_weight).insert(v);
    if (e.text == "const") {
      if (positive) {
        h.weight.insert(v);
        h.need_value.insert(v);
      } else {
        h.not_weight.insert(v);
      }
    }
    if (e.text == "value" || e.text == "scalar") {
      h.weight.insert(v);
      h.need_value.insert(v);
    }
    if (e.text == "scalar") h.numel_one.insert(v);
  }
  if (e.kind == Expr::Kind::Call && e.text == "approx" && e.args.size() >= 2) {
    if (auto t = constant_value(e.args[1]); t && t->is_number()) {
      const double target = t->number();
      h.approx_targets.push_back(target);
      const Expr& x = e.args[0];
      if (x.is_var()) h.attr_values[x.text].push_back(Value::of_float(target));
      if (is_call_on_var(x, "scalar") || is_call_on_var(x, "value")) h.fill[x.args[0].text] = target;
      if (is_call(x, "attr", 3) && x.args[0].is_var() && x.args[1].kind == Expr::Kind::String)
        add_set_hint(h, x.args[0].text, Attribute::make_float(x.args[1].text, float(target)));
    }
  }
  if (is_call(e, "all_eq", 2) && is_call_on_var(e.args[0], "value"))
    if (auto c = constant_value(e.args[1]); c && c->is_number()) h.fill[e.args[0].args[0].text] = c->number();
  if (e.kind == Expr::Kind::Binary && is_call(e.args[0], "numel", 1) && e.args[0].args[0].is_var() && e.text == "==" &&
      e.args[1].kind == Expr::Kind::Int && e.args[1].int_value == 1)
    h.numel_one.insert(e.args[0].args[0].text);
  if (e.kind == Expr::Kind::Binary && e.text != "&&" && e.text != "||") {
    for (int side = 0; side < 2; ++side) {
      const Expr& l = e.args[size_t(side)];
      const std::optional<Value> c = constant_value(e.args[size_t(1 - side)]);
      if (!c) continue;
      if (e.text == "==" && l.is_var()) h.attr_values[l.text].push_back(*c);
      if (e.text == "==" && is_call_on_var(l, "value") && c->kind == Value::Kind::List)
        h.value_list[l.args[0].text].push_back(*c);
      if (is_call_on_var(l, "scalar") && c->is_number()) {
        // scalar(?v) OP c: c itself satisfies ==, <=, >=; one step away the strict comparisons.
        const bool less = side == 0 ? (e.text == "<") : (e.text == ">");
        const bool more = side == 0 ? (e.text == ">") : (e.text == "<");
        h.fill[l.args[0].text] = c->number() + (less ? -1.0 : more ? 1.0 : 0.0);
      }
      if (e.text == "==" && is_call(l, "attr", 3) && l.args[0].is_var() && l.args[1].kind == Expr::Kind::String) {
        // attr(?k, "n", d) == v with v other than the default: the set must hold n = v.
        const std::optional<Value> d = constant_value(l.args[2]);
        if (!d || !(*d == *c)) {
          try {
            add_set_hint(h, l.args[0].text, guard::to_attribute(l.args[1].text, *c));
          } catch (const guard::Unknown&) {
          }
        }
      }
    }
  }
  const bool flip = e.kind == Expr::Kind::Unary;
  for (const Expr& a : e.args) any_level_hints(a, h, flip ? !positive : positive);
}

void rhs_value_reads(const Expr& e, Hints& h) {
  if ((is_call_on_var(e, "value") || is_call_on_var(e, "scalar")) && e.args[0].text != "?root") {
    h.need_value.insert(e.args[0].text);
    h.weight.insert(e.args[0].text);
  }
  for (const Expr& a : e.args) rhs_value_reads(a, h);
}
void rhs_value_reads(const PatternAst& p, Hints& h) {
  if (p.kind == PatternAst::Kind::Const) rhs_value_reads(p.constant, h);
  for (const rules::Attr& a : p.attrs) rhs_value_reads(a.value, h);
  for (const PatternAst& c : p.children) rhs_value_reads(c, h);
}

void split_conjuncts(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == Expr::Kind::Binary && e.text == "&&") {
    split_conjuncts(e.args[0], out);
    split_conjuncts(e.args[1], out);
    return;
  }
  out.push_back(&e);
}

// ------------------------------------------------------------------ ops

bool is_conv(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "FusedConv" || op == "ConvNHWC";
}

const OpSchema* schema_of(const std::string& op) { return OpRegistry::global().find(OpId::parse(op)); }

// The element types an instance draws, in order of preference: float32 first (the dtype most
// rules are written for), then the others the schemas' input specs allow.
constexpr DType kDrawOrder[] = {DType::Float,  DType::Bool,   DType::Int64, DType::Int32,  DType::Float16,
                                DType::UInt64, DType::UInt32, DType::Double, DType::Int8,  DType::UInt8,
                                DType::Int16,  DType::UInt16};

// The values an instance tries for an attribute: the schema's domain, else its default.
std::vector<Attribute> attribute_domain(const AttrSpec& spec) {
  std::vector<Attribute> out = spec.try_values;
  if (out.empty() && spec.default_value) out.push_back(*spec.default_value);
  for (Attribute& a : out) a.name = spec.name;
  return out;
}

// The default-domain opset the rule's op forms need (docs: Instance::opset).
int64_t choose_opset(const rules::Rule& rule) {
  int64_t lo = 1, hi = 1000;
  std::function<void(const PatternAst&)> visit = [&](const PatternAst& p) {
    if (p.kind != PatternAst::Kind::Op) return;
    const bool axes_attr = p.attr("axes") != nullptr;
    if (p.name == "Clip") {
      if (p.attr("min") || p.attr("max")) hi = std::min<int64_t>(hi, 10);
      if (p.children.size() > 1) lo = std::max<int64_t>(lo, 11);
    }
    if (p.name == "Squeeze" || p.name == "Unsqueeze") {
      if (axes_attr) hi = std::min<int64_t>(hi, 12);
      if (p.children.size() > 1) lo = std::max<int64_t>(lo, 13);
    }
    if (p.name.rfind("Reduce", 0) == 0) {
      const int64_t since = p.name == "ReduceSum" ? 13 : 18;
      if (axes_attr) hi = std::min<int64_t>(hi, since - 1);
      if (p.children.size() > 1) lo = std::max<int64_t>(lo, since);
    }
    for (const PatternAst& c : p.children) visit(c);
  };
  for (const PatternAst& p : rule.lhs) visit(p);
  for (const PatternAst& p : rule.rhs) visit(p);
  return std::clamp<int64_t>(17, lo, std::max(lo, hi));
}

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Tensor int_tensor(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>({int64_t(v.size())}, v); }

// ------------------------------------------------------------------ the search

struct PNode {
  const PatternAst* pat = nullptr;
  const OpSchema* schema = nullptr;
  std::string domain, op;  // op without its domain
  std::string path;
  std::vector<int> child;  // node index of an operator child, -1 for variables and constants
  std::vector<std::optional<double>> consts;  // `#c(...)` children's values
  // `#c(...)` children as tensors of the dtype of the op's other operands (child_value points here).
  mutable std::vector<std::optional<Tensor>> const_tensors;
};

struct Slot {
  enum class Kind { Child, AttrVar, AttrSet, NodeAttr };
  Kind kind = Kind::Child;
  size_t child = 0;
  std::string var;   // the variable (Child, AttrVar, AttrSet)
  std::string name;  // attribute name (AttrVar, NodeAttr)
};

struct TermChoice {
  Shape shape;
  DType dtype = DType::Float;
  std::optional<Tensor> value;
};

// How a search proposes shapes. The first search uses the defaults; find_instances retries with
// the other settings when it found nothing, or only instances that prove little.
struct Mode {
  // Variables the guard says nothing about are weights (the retry when the guard never held with
  // them as plain inputs).
  bool weights_by_default = false;
  // Every dtype a variable's op allows in turn rather than the preferred one, the first of
  // kDrawOrder it allows (the retry when that found nothing).
  bool all_dtypes = false;
  // Shapes whose dims coincide come first (the retry when every binding failed the left side's
  // type check or the right side's type): a rule whose sides agree in type only on square
  // matrices or cubes (A used as both MatMul operands, a wrong permutation) has instances there.
  bool equal_dims = false;
  // Shapes without unit dims come first, scalars last: the extra search for one instance where
  // every dim the guard leaves free is >= 2, since unit dims and scalars hide wrong axes,
  // permutations and broadcasts.
  bool rich = false;
};

// Unit dims and scalars among the term variables' shapes (integer operands excluded: their
// length is the rank they address, not a dim of the data): 0 for an instance whose data has
// dims >= 2 everywhere.
int64_t unit_count(const Shape& s) {
  if (s.empty()) return 1;
  return std::count(s.begin(), s.end(), int64_t(1));
}
int64_t unit_count(const Instance& inst) {
  int64_t n = 0;
  for (const auto& [var, shape] : inst.shapes) {
    const auto v = inst.values.find(var);
    if (v != inst.values.end() && is_integer(v->second.dtype())) continue;
    n += unit_count(shape);
  }
  return n;
}

class Search {
 public:
  Search(const rules::Rule& rule, const InstanceLimits& limits, InstanceSearch& out, Mode mode)
      : rule_(rule), limits_(limits), out_(out), start_(std::chrono::steady_clock::now()), mode_(mode) {
    if (rule_.guard) {
      guard::check_functions(*rule_.guard, rule_);
      top_level_hints(*rule_.guard, hints_);
      any_level_hints(*rule_.guard, hints_, true);
      split_conjuncts(*rule_.guard, conjuncts_);
      for (const Expr* c : conjuncts_) {
        std::vector<std::string> vars;
        rules::collect_vars(*c, vars);
        conjunct_vars_.push_back(vars);
      }
      conjunct_failures_.assign(conjuncts_.size(), 0);
    }
    for (const PatternAst& p : rule_.rhs) rhs_value_reads(p, hints_);
    inst_.opset = choose_opset(rule_);
    for (size_t i = 0; i < rule_.lhs.size(); ++i) {
      const int root = add_nodes(rule_.lhs[i], std::to_string(i));
      pattern_roots_.push_back(root);
    }
    for (size_t n = 0; n < nodes_.size(); ++n) slots_.push_back(make_slots(nodes_[n]));
    types_.resize(nodes_.size());
    values_.resize(nodes_.size());
  }

  void run() {
    if (nodes_.empty()) {
      out_.note = "the left side has no operator to match";
      return;
    }
    pass_ = 1;
    step(0, 0, 0);
    if (!stop_ && out_.instances.size() < limits_.max_instances) {
      pass_ = 2;
      step(0, 0, 0);
    }
  }

  std::vector<std::string> infer_failures;  // "op: message", the first few
  // An attribute the search has no value for (its schema gives no try_values and no default).
  std::string no_domain;
  std::string budget_note;

  const std::vector<const Expr*>& conjuncts() const { return conjuncts_; }
  const std::vector<size_t>& conjunct_failures() const { return conjunct_failures_; }
  size_t left_failures = 0;

 private:
  int add_nodes(const PatternAst& p, const std::string& path) {
    if (p.kind != PatternAst::Kind::Op) return -1;
    PNode n;
    n.pat = &p;
    const OpId id = OpId::parse(p.name);
    n.domain = id.domain;
    n.op = id.name;
    n.schema = OpRegistry::global().find(id);
    n.path = path;
    for (size_t i = 0; i < p.children.size(); ++i) {
      const PatternAst& c = p.children[i];
      n.child.push_back(add_nodes(c, path + "." + std::to_string(i)));
      if (c.kind == PatternAst::Kind::Const)
        n.consts.push_back(c.constant.kind == Expr::Kind::Int ? double(c.constant.int_value) : c.constant.float_value);
      else
        n.consts.push_back(std::nullopt);
    }
    n.const_tensors.resize(n.consts.size());
    nodes_.push_back(std::move(n));
    return int(nodes_.size() - 1);
  }

  // Decision order within an operator: convolutions choose their attributes first (shapes follow
  // from groups and kernels); other ops choose their first input first (ranks, axes and
  // permutations follow from it), then attributes, then the other inputs relative to the first.
  std::vector<Slot> make_slots(const PNode& n) const {
    std::vector<Slot> attr_slots, out;
    bool has_set = false;
    for (const rules::Attr& a : n.pat->attrs)
      if (a.value.is_var() && a.name != "*") attr_slots.push_back({Slot::Kind::AttrVar, 0, a.value.text, a.name});
    for (const rules::Attr& a : n.pat->attrs)
      if (a.name == "*") {
        has_set = true;
        attr_slots.push_back({Slot::Kind::AttrSet, 0, a.value.text, ""});
      }
    if (!has_set && n.schema)
      for (const AttrSpec& a : n.schema->attrs)
        if (a.required && !n.pat->attr(a.name)) attr_slots.push_back({Slot::Kind::NodeAttr, 0, "", a.name});
    auto child_slot = [&](size_t i) {
      if (n.pat->children[i].kind == PatternAst::Kind::Var)
        out.push_back({Slot::Kind::Child, i, n.pat->children[i].name, ""});
    };
    const size_t nc = n.pat->children.size();
    if (is_conv(n.op)) {
      out = attr_slots;
      for (size_t i = 0; i < nc; ++i) child_slot(i);
    } else {
      if (nc > 0) child_slot(0);
      out.insert(out.end(), attr_slots.begin(), attr_slots.end());
      for (size_t i = 1; i < nc; ++i) child_slot(i);
    }
    return out;
  }

  bool out_of_budget() {
    if (stop_) return true;
    if (++steps_ % 64 == 0) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      if (s > limits_.seconds) {
        budget_note = "search stopped after " + std::to_string(limits_.seconds) + " s";
        stop_ = true;
      }
    }
    return stop_;
  }

  bool bound(const Slot& s) const {
    switch (s.kind) {
      case Slot::Kind::Child: return inst_.shapes.count(s.var) > 0;
      case Slot::Kind::AttrVar: return inst_.attrs.count(s.var) > 0;
      case Slot::Kind::AttrSet: return inst_.attr_sets.count(s.var) > 0;
      case Slot::Kind::NodeAttr: return false;
    }
    return false;
  }

  // Runs the DFS from slot `s` of node `n`; `depth` counts the choice points above.
  void step(size_t n, size_t s, int depth) {
    if (out_of_budget()) return;
    if (n == nodes_.size()) {
      complete();
      return;
    }
    if (s == slots_[n].size()) {
      if (!infer(n)) return;
      step(n + 1, 0, depth);
      types_[n].reset();
      values_[n].reset();
      return;
    }
    const Slot& slot = slots_[n][s];
    if (bound(slot)) {
      step(n, s + 1, depth);
      return;
    }
    auto descend = [&]() {
      const size_t before = solutions_;
      if (admissible(slot.var)) step(n, s + 1, depth + 1);
      // Later choice points yield one instance per alternative above them (pass 1).
      return pass_ == 1 && depth > 0 && solutions_ > before;
    };
    switch (slot.kind) {
      case Slot::Kind::Child: {
        for (TermChoice& c : rotated(child_candidates(n, slot.child, slot.var), depth)) {
          bind_term(slot.var, std::move(c));
          const bool done = descend();
          unbind_term(slot.var);
          if (done || stop_) break;
        }
        break;
      }
      case Slot::Kind::AttrVar: {
        for (const Attribute& a : rotated(attr_candidates(n, slot.name, slot.var), depth)) {
          inst_.attrs[slot.var] = a;
          const bool done = descend();
          inst_.attrs.erase(slot.var);
          if (done || stop_) break;
        }
        break;
      }
      case Slot::Kind::AttrSet: {
        for (const std::vector<Attribute>& set : rotated(set_candidates(n, slot.var), depth)) {
          inst_.attr_sets[slot.var] = set;
          const bool done = descend();
          inst_.attr_sets.erase(slot.var);
          if (done || stop_) break;
        }
        break;
      }
      case Slot::Kind::NodeAttr: {
        const std::string& path = nodes_[n].path;
        for (const Attribute& a : rotated(attr_candidates(n, slot.name, ""), depth)) {
          inst_.node_attrs[path].push_back(a);
          const size_t before = solutions_;
          step(n, s + 1, depth + 1);
          inst_.node_attrs[path].pop_back();
          if (inst_.node_attrs[path].empty()) inst_.node_attrs.erase(path);
          if ((pass_ == 1 && depth > 0 && solutions_ > before) || stop_) break;
        }
        break;
      }
    }
  }

  // In pass 1, the choice point at depth d starts at its (k d)-th alternative for the k-th
  // instance, so that instances differ there too, and two choice points with the same
  // alternatives (the permutations of two Transposes) do not move in step.
  template <class T>
  std::vector<T> rotated(std::vector<T> v, int depth) const {
    if (pass_ == 1 && depth > 0 && !v.empty())
      std::rotate(v.begin(), v.begin() + long((solutions_ * size_t(depth)) % v.size()), v.end());
    return v;
  }

  void bind_term(const std::string& var, TermChoice c) {
    inst_.shapes[var] = c.shape;
    if (c.dtype != DType::Float) inst_.dtypes[var] = c.dtype;
    if (!c.value && hints_.need_value.count(var)) c.value = fill_value(var, c.shape, c.dtype);
    if (c.value) inst_.values[var] = *c.value;
    // The guard decides what is a weight; a known value always is one (a constant).
    const bool weight =
        c.value || ((hints_.weight.count(var) || mode_.weights_by_default) && !hints_.not_weight.count(var));
    if (weight) inst_.weights.insert(var);
  }
  void unbind_term(const std::string& var) {
    inst_.shapes.erase(var);
    inst_.dtypes.erase(var);
    inst_.values.erase(var);
    inst_.weights.erase(var);
  }

  // A value for a variable the guard or the right side reads: what the guard asks for (all_eq,
  // approx, a comparison, a literal list), else small non-zero numbers.
  Tensor fill_value(const std::string& var, const Shape& shape, DType dtype) const {
    const int64_t n = numel_of(shape);
    std::vector<double> v(static_cast<size_t>(n));
    if (auto l = hints_.value_list.find(var); l != hints_.value_list.end() && !l->second.empty() &&
                                              int64_t(l->second[0].list.size()) == n) {
      for (int64_t i = 0; i < n; ++i) v[size_t(i)] = l->second[0].list[size_t(i)].number();
    } else if (auto f = hints_.fill.find(var); f != hints_.fill.end()) {
      std::fill(v.begin(), v.end(), f->second);
    } else {
      for (int64_t i = 0; i < n; ++i)
        v[size_t(i)] = is_floating(dtype) ? 0.5 + 0.25 * double(i % 5) : double(1 + i % 3);
    }
    return detail::tensor_of(dtype, shape, v);
  }

  // Top-level conjuncts whose variables are now all bound must hold.
  bool admissible(const std::string& var) {
    for (size_t k = 0; k < conjuncts_.size(); ++k) {
      const auto& vars = conjunct_vars_[k];
      if (!var.empty() && std::find(vars.begin(), vars.end(), var) == vars.end()) continue;
      bool all = true;
      for (const std::string& v : vars)
        all &= v != "?root" && (inst_.shapes.count(v) || inst_.attrs.count(v) || inst_.attr_sets.count(v));
      if (!all) continue;
      guard::Env env;
      env.rule = &rule_;
      env.instance = &inst_;
      if (!guard::holds(*conjuncts_[k], env)) {
        ++conjunct_failures_[k];
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- types of children

  std::optional<TensorType> child_type(size_t n, size_t i) const {
    const PNode& pn = nodes_[n];
    const PatternAst& c = pn.pat->children[i];
    if (c.kind == PatternAst::Kind::Var) {
      auto s = inst_.shapes.find(c.name);
      if (s == inst_.shapes.end()) return std::nullopt;
      auto d = inst_.dtypes.find(c.name);
      return TensorType::of(d == inst_.dtypes.end() ? DType::Float : d->second, s->second);
    }
    if (c.kind == PatternAst::Kind::Const) {
      const Tensor& t = const_tensor(n, i);
      return TensorType::of(t.dtype(), t.shape());
    }
    return types_[size_t(pn.child[i])];
  }
  // The `#c(...)` child i of node n, of the dtype of the node's first typed other operand.
  const Tensor& const_tensor(size_t n, size_t i) const {
    const PNode& pn = nodes_[n];
    std::optional<DType> sibling;
    for (size_t j = 0; j < pn.pat->children.size() && !sibling; ++j)
      if (pn.pat->children[j].kind != PatternAst::Kind::Const)
        if (const auto t = child_type(n, j)) sibling = t->dtype;
    std::optional<Tensor>& cached = pn.const_tensors[i];
    const Tensor t = detail::left_constant(pn.schema, i, *pn.consts[i], sibling);
    if (!cached || cached->dtype() != t.dtype()) cached = t;
    return *cached;
  }
  std::optional<Shape> child_shape(size_t n, size_t i) const {
    if (i >= nodes_[n].pat->children.size()) return std::nullopt;
    const auto t = child_type(n, i);
    if (!t) return std::nullopt;
    return t->static_shape();
  }
  const Tensor* child_value(size_t n, size_t i) const {
    const PNode& pn = nodes_[n];
    const PatternAst& c = pn.pat->children[i];
    if (c.kind == PatternAst::Kind::Var) {
      auto v = inst_.values.find(c.name);
      return v == inst_.values.end() ? nullptr : &v->second;
    }
    if (c.kind == PatternAst::Kind::Const) return &const_tensor(n, i);
    const auto& v = values_[size_t(pn.child[i])];
    return v ? &*v : nullptr;
  }

  // The node's attributes as far as they are bound (sets first, named ones replacing).
  std::vector<Attribute> node_attributes(size_t n) const {
    const PNode& pn = nodes_[n];
    std::vector<Attribute> attrs;
    auto put = [&](const Attribute& a) {
      std::erase_if(attrs, [&](const Attribute& x) { return x.name == a.name; });
      attrs.push_back(a);
    };
    for (const rules::Attr& a : pn.pat->attrs)
      if (a.name == "*")
        if (auto it = inst_.attr_sets.find(a.value.text); it != inst_.attr_sets.end())
          for (const Attribute& x : it->second) put(x);
    for (const rules::Attr& a : pn.pat->attrs) {
      if (a.name == "*") continue;
      guard::Env env;
      env.rule = &rule_;
      env.instance = &inst_;
      try {
        put(guard::to_attribute(a.name, guard::eval(a.value, env)));
      } catch (const guard::Unknown&) {
      }
    }
    if (auto it = inst_.node_attrs.find(pn.path); it != inst_.node_attrs.end())
      for (const Attribute& x : it->second) put(x);
    return attrs;
  }
  static const Attribute* find_attr(const std::vector<Attribute>& attrs, const std::string& name) {
    for (const Attribute& a : attrs)
      if (a.name == name) return &a;
    return nullptr;
  }
  // A pointer into a temporary list would dangle.
  static const Attribute* find_attr(std::vector<Attribute>&&, const std::string&) = delete;
  // The node's integer attribute `name`, where bound.
  std::optional<int64_t> int_attr(size_t n, const std::string& name) const {
    const std::vector<Attribute> attrs = node_attributes(n);
    const Attribute* a = find_attr(attrs, name);
    return a ? std::optional<int64_t>(a->i) : std::nullopt;
  }

  // Shape inference of node n on its first `count` inputs (all children when count < 0).
  std::optional<TensorType> infer_prefix(size_t n, int count, std::optional<Tensor>* value, std::string* error) {
    const PNode& pn = nodes_[n];
    const size_t k = count < 0 ? pn.pat->children.size() : size_t(count);
    Node node;
    node.op_type = pn.op;
    node.domain = pn.domain;
    node.name = str_cat("%", pn.path);
    node.attributes = node_attributes(n);
    node.outputs = {"y"};
    std::vector<TensorType> types;
    std::vector<const Tensor*> vals;
    for (size_t i = 0; i < k; ++i) {
      const auto t = child_type(n, i);
      if (!t) return std::nullopt;
      node.inputs.push_back("x" + std::to_string(i));
      types.push_back(*t);
      vals.push_back(child_value(n, i));
    }
    try {
      InferContext ctx(node, inst_.opset, types, vals);
      infer_node(pn.schema, ctx);
      if (ctx.output_types().empty()) return std::nullopt;
      if (value && !ctx.output_values().empty() && ctx.output_values()[0]) *value = *ctx.output_values()[0];
      return ctx.output_types()[0];
    } catch (const Error& e) {
      if (error) *error = e.what();
      return std::nullopt;
    }
  }

  bool infer(size_t n) {
    std::string error;
    std::optional<Tensor> value;
    const auto t = infer_prefix(n, -1, &value, &error);
    const PNode& pn = nodes_[n];
    if (!t || !t->static_shape()) {
      ++left_failures;
      if (infer_failures.size() < 3) {
        std::string what = pn.pat->name + ": ";
        if (!pn.schema) what += "op unknown to eqopt (no shape inference)";
        else what += error.empty() ? "no static output type" : error;
        if (std::find(infer_failures.begin(), infer_failures.end(), what) == infer_failures.end())
          infer_failures.push_back(what);
      }
      return false;
    }
    types_[n] = *t;
    values_[n] = value;
    return true;
  }

  // ---------------------------------------------------------------- candidate shapes

  // Rank and same-shape conditions of the guard's top-level conjuncts.
  bool admit_shape(const std::string& var, const Shape& s) const {
    const int64_t r = int64_t(s.size());
    if (r > limits_.max_rank && !(hints_.rank_eq.count(var) && hints_.rank_eq.at(var).count(r))) return false;
    if (auto it = hints_.rank_eq.find(var); it != hints_.rank_eq.end() && !it->second.count(r)) return false;
    if (auto it = hints_.rank_min.find(var); it != hints_.rank_min.end() && r < it->second) return false;
    if (auto it = hints_.rank_max.find(var); it != hints_.rank_max.end() && r > it->second) return false;
    if (auto it = hints_.same_shape.find(var); it != hints_.same_shape.end())
      for (const std::string& other : it->second)
        if (auto o = inst_.shapes.find(other); o != inst_.shapes.end() && o->second != s) return false;
    return true;
  }

  // The dtypes variable `var` may take as input i of node n: what the op's input spec allows, the
  // same as an operand of the same type set already typed (ONNX's type variable T), in kDrawOrder;
  // only the first unless the search tries them all.
  std::vector<DType> dtype_choices(size_t n, size_t i) const {
    const PNode& pn = nodes_[n];
    const ValueSpec* spec = pn.schema ? pn.schema->input(i) : nullptr;
    const DTypeSet allowed = spec && !spec->dtypes.empty() ? spec->dtypes : DTypeSet{DType::Float};
    for (size_t j = 0; j < pn.pat->children.size(); ++j) {
      if (j == i || pn.pat->children[j].kind == PatternAst::Kind::Const) continue;
      const ValueSpec* other = pn.schema ? pn.schema->input(j) : nullptr;
      if (!other || other->dtypes != allowed) continue;
      if (const auto t = child_type(n, j); t && allowed.contains(t->dtype)) return {t->dtype};
    }
    std::vector<DType> out;
    for (DType d : kDrawOrder)
      if (allowed.contains(d)) out.push_back(d);
    if (!mode_.all_dtypes && out.size() > 1) out.resize(1);
    return out;
  }

  std::vector<TermChoice> finish(size_t n, size_t i, const std::string& var, std::vector<Shape> shapes) const {
    // Scalar-like shapes first where the guard wants one element.
    if (hints_.numel_one.count(var))
      std::stable_partition(shapes.begin(), shapes.end(), [](const Shape& s) { return numel_of(s) == 1; });
    else if (mode_.rich)
      std::stable_sort(shapes.begin(), shapes.end(),
                       [](const Shape& a, const Shape& b) { return unit_count(a) < unit_count(b); });
    std::vector<TermChoice> out;
    std::set<Shape> seen;
    std::vector<Shape> kept;
    for (Shape& s : shapes)
      if (admit_shape(var, s) && seen.insert(s).second) kept.push_back(std::move(s));
    for (DType dtype : dtype_choices(n, i))
      for (const Shape& s : kept) {
        TermChoice c;
        c.shape = s;
        c.dtype = dtype;
        out.push_back(std::move(c));
      }
    return out;
  }

  Shape clamp_dims(Shape s) const {
    for (int64_t& d : s) d = std::clamp<int64_t>(d, 1, std::max<int64_t>(limits_.max_dim, 1));
    return s;
  }

  // Shapes for a variable nothing constrains yet: small, of every rank, with distinct non-unit dims
  // where possible (a wrong permutation or axis then changes the shape), unit dims later
  // (broadcasting), equal dims last (a wrong permutation then keeps the shape and changes values).
  // In the equal-dims retry the uniform shapes come first, since the rule has no instance elsewhere.
  std::vector<Shape> pool(int64_t min_rank = 0) const {
    static const std::vector<Shape> base = {{},     {3},       {2, 3},    {2, 3, 2}, {2, 3, 2, 3}, {1},
                                            {3, 2}, {1, 3},    {3, 1, 2}, {1, 2, 3, 2}, {2},   {3, 3},
                                            {2, 2}, {2, 2, 3}, {3, 2, 3, 2}, {2, 2, 2}, {2, 2, 2, 2}};
    static const std::vector<Shape> uniform = {{2, 2}, {3, 3}, {2, 2, 2}, {2}, {2, 2, 2, 2}, {3}, {3, 3, 3}, {}};
    std::vector<Shape> out;
    if (mode_.equal_dims)
      for (const Shape& s : uniform)
        if (int64_t(s.size()) >= min_rank) out.push_back(clamp_dims(s));
    for (const Shape& s : base)
      if (int64_t(s.size()) >= min_rank) out.push_back(clamp_dims(s));
    std::vector<Shape> unique;
    for (Shape& s : out)
      if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(std::move(s));
    return unique;
  }

  // Shapes that broadcast with s: s itself, its suffixes, a scalar, and unit dims in place of some.
  std::vector<Shape> broadcast_variants(const Shape& s, bool bigger) const {
    std::vector<Shape> out = {s};
    for (size_t k = 1; k < s.size(); ++k) out.push_back(Shape(s.begin() + long(k), s.end()));
    out.push_back({});
    for (size_t k = 0; k < s.size(); ++k) {
      const Shape suffix(s.begin() + long(k), s.end());
      for (size_t keep = 0; keep < suffix.size(); ++keep) {
        Shape t(suffix.size(), 1);
        t[keep] = suffix[keep];
        out.push_back(t);
      }
    }
    out.push_back({1});
    for (size_t k = 0; k < s.size(); ++k) {
      Shape t = s;
      t[k] = 1;
      out.push_back(t);
    }
    if (bigger) {
      Shape t = s;
      t.insert(t.begin(), 2);
      out.push_back(t);
    }
    // The other direction where the op allows it: s's unit dims widened to one of its other dims
    // ([3, 1] -> [3, 3]), so that s is the operand that broadcasts. A rule that confuses a row with
    // a column broadcast types the same on both sides only there.
    if (!bigger) return out;
    std::vector<int64_t> wide;
    for (int64_t d : s)
      if (d > 1 && std::find(wide.begin(), wide.end(), d) == wide.end()) wide.push_back(d);
    if (wide.empty() && !s.empty()) wide.push_back(std::min<int64_t>(2, std::max<int64_t>(limits_.max_dim, 1)));
    for (int64_t w : wide) {
      Shape t = s;
      bool changed = false;
      for (int64_t& d : t)
        if (d == 1 && w > 1) {
          d = w;
          changed = true;
        }
      if (changed) out.push_back(t);
    }
    return out;
  }

  std::vector<TermChoice> child_candidates(size_t n, size_t i, const std::string& var) {
    const PNode& pn = nodes_[n];
    const std::string& op = pn.op;
    const size_t nc = pn.pat->children.size();
    if (detail::int_operand(pn.schema, i)) return int_candidates(n, i, var);
    if ((op == "MatMul" || op == "FusedMatMul" || op == "Gemm") && i < 2) return finish(n, i, var, matmul_shapes(n, i));
    if ((op == "FusedMatMul" || op == "Gemm") && i == 2) return output_broadcast(n, i, var);
    if (is_conv(op)) return conv_candidates(n, i, var);
    const auto x = child_shape(n, 0);
    if ((op == "BatchNormalization" || op == "InstanceNormalization") && i >= 1) {
      if (!x || x->size() < 2) return {};
      return finish(n, i, var, {{(*x)[1]}});
    }
    if (op == "LayerNormalization" && i >= 1) {
      if (!x || x->empty()) return {};
      int64_t axis = int_attr(n, "axis").value_or(-1);
      if (axis < 0) axis += int64_t(x->size());
      if (axis < 0 || axis >= int64_t(x->size())) return {};
      return finish(n, i, var, {Shape(x->begin() + axis, x->end())});
    }
    if (op == "Clip" && i >= 1) {
      std::vector<TermChoice> c = finish(n, i, var, {{}});
      // ReLU6-like bounds: the lower one cuts inputs in [-2, 2], so does the upper one in [0.5, 2].
      if (!c.empty() && hints_.need_value.count(var) && !hints_.fill.count(var))
        c[0].value = detail::tensor_of(c[0].dtype, {}, {i == 1 ? 0.0 : 1.0});
      return c;
    }
    if (op == "Dropout" && i >= 1) {
      TermChoice c;
      if (i == 1) c.value = Tensor::scalar<float>(0.5f);
      else {
        c.dtype = DType::Bool;
        Tensor t(DType::Bool, {});
        c.value = t;  // training_mode false
      }
      return {c};
    }
    if (op == "Transpose" && i == 0) {
      if (const rules::Attr* p = pn.pat->attr("perm"); p && p->value.kind == Expr::Kind::List) {
        std::vector<Shape> shapes;
        for (const Shape& s : pool())
          if (s.size() == p->value.args.size()) shapes.push_back(s);
        return finish(n, i, var, shapes);
      }
    }
    if (op == "Concat" && i > 0) return concat_candidates(n, i, var);
    // Elementwise and anything else: relative to a known operand (not Where's condition beside a
    // branch), else from the pool.
    std::optional<Shape> anchor;
    const ValueSpec* spec = pn.schema ? pn.schema->input(i) : nullptr;
    for (size_t j = 0; j < nc && !anchor; ++j) {
      // A `#c(...)` scalar broadcasts to anything: it says nothing about the other operands.
      if (j == i || pn.pat->children[j].kind == PatternAst::Kind::Const) continue;
      const auto t = child_type(n, j);
      if (t && (t->dtype != DType::Bool || (spec && spec->dtypes.contains(DType::Bool)))) anchor = t->static_shape();
    }
    if (anchor) return finish(n, i, var, broadcast_variants(*anchor, op != "PRelu"));
    return finish(n, i, var, pool(op == "Concat" || op == "Softmax" || op == "LogSoftmax" ? 1 : 0));
  }

  std::vector<TermChoice> output_broadcast(size_t n, size_t i, const std::string& var) {
    const auto out = infer_prefix(n, int(i), nullptr, nullptr);
    if (!out || !out->static_shape()) return {};
    return finish(n, i, var, broadcast_variants(*out->static_shape(), false));
  }

  std::vector<Shape> matmul_shapes(size_t n, size_t i) const {
    std::vector<Shape> out;
    const auto other = child_shape(n, 1 - i);
    const int64_t D = std::max<int64_t>(limits_.max_dim, 1);
    auto dims = [&](int64_t first) {
      std::vector<int64_t> v = {first, std::min<int64_t>(2, D), std::min<int64_t>(3, D)};
      std::vector<int64_t> u;
      for (int64_t x : v)
        if (std::find(u.begin(), u.end(), x) == u.end()) u.push_back(x);
      return u;
    };
    if (!other) {
      // Square matrices last (first in the equal-dims retry): products of a matrix with itself
      // (A.(A.B)) need them.
      std::vector<Shape> shapes = {{2, 3}, {3, 2}, {2, 2, 3}, {1, 2, 3}, {2, 1, 2, 3}, {3}, {3, 3}, {2, 2}, {2, 3, 3}};
      if (mode_.equal_dims)
        std::stable_partition(shapes.begin(), shapes.end(), [](const Shape& s) {
          return s.size() >= 2 && s[s.size() - 1] == s[s.size() - 2];
        });
      for (const Shape& s : shapes) out.push_back(clamp_dims(s));
      return out;
    }
    const Shape& o = *other;
    if (o.empty()) return out;
    if (i == 0) {  // a for a known b = [.., K, N]
      if (o.size() == 1) {
        out.push_back({o[0]});
        for (int64_t m : dims(2)) out.push_back({m, o[0]});
        return out;
      }
      const int64_t K = o[o.size() - 2], N = o.back();
      const Shape batch(o.begin(), o.end() - 2);
      for (int64_t m : dims(N)) {
        if (!batch.empty()) {
          Shape s = batch;
          s.push_back(m);
          s.push_back(K);
          out.push_back(s);
        }
        out.push_back({m, K});
      }
      return out;
    }
    // b for a known a = [.., M, K]
    if (o.size() == 1) {
      for (int64_t k : dims(2)) out.push_back({o[0], k});
      out.push_back({o[0]});
      return out;
    }
    const int64_t M = o[o.size() - 2], K = o.back();
    const Shape batch(o.begin(), o.end() - 2);
    for (int64_t nn : dims(M)) {
      if (!batch.empty()) {
        Shape s = batch;
        s.push_back(K);
        s.push_back(nn);
        out.push_back(s);
      }
      out.push_back({K, nn});
    }
    return out;
  }

  std::vector<TermChoice> concat_candidates(size_t n, size_t i, const std::string& var) const {
    std::optional<Shape> anchor;
    for (size_t j = 0; j < nodes_[n].pat->children.size() && !anchor; ++j)
      if (j != i) anchor = child_shape(n, j);
    if (!anchor) return finish(n, i, var, pool(1));
    const int64_t r = int64_t(anchor->size());
    int64_t axis = int_attr(n, "axis").value_or(0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return {};
    std::vector<Shape> out = {*anchor};
    for (int64_t d = 1; d <= std::max<int64_t>(limits_.max_dim, 1); ++d) {
      Shape s = *anchor;
      s[size_t(axis)] = d;
      out.push_back(s);
    }
    return finish(n, i, var, out);
  }

  // Integer operands: known int64 values that fit the first input.
  std::vector<TermChoice> int_candidates(size_t n, size_t i, const std::string& var) {
    const std::string& op = nodes_[n].op;
    std::vector<std::vector<int64_t>> vals;
    if (auto l = hints_.value_list.find(var); l != hints_.value_list.end())
      for (const Value& v : l->second) {
        std::vector<int64_t> xs;
        bool ok = v.kind == Value::Kind::List;
        for (const Value& e : v.list) {
          ok &= e.kind == Value::Kind::Int;
          xs.push_back(e.i);
        }
        if (ok) vals.push_back(xs);
      }
    const auto xo = child_shape(n, 0);
    if (!xo) return {};
    const Shape& x = *xo;
    const int64_t r = int64_t(x.size()), numel = numel_of(x);
    bool scalar_ok = false;
    if (op == "Reshape") {
      vals.push_back(x);
      vals.push_back({numel});
      vals.push_back({-1});
      vals.push_back(Shape(x.rbegin(), x.rend()));
      if (r >= 2) {
        vals.push_back({0, -1});
        Shape merged(x.begin(), x.end() - 2);
        merged.push_back(x[size_t(r - 2)] * x[size_t(r - 1)]);
        vals.push_back(merged);
      }
      Shape one = x;
      one.insert(one.begin(), 1);
      vals.push_back(one);
    } else if (op == "Expand") {
      vals.push_back(x);
      Shape wide = x;
      for (int64_t& d : wide)
        if (d == 1) d = std::min<int64_t>(3, std::max<int64_t>(limits_.max_dim, 1));
      vals.push_back(wide);
      Shape more = x;
      more.insert(more.begin(), 2);
      vals.push_back(more);
    } else if (op == "Squeeze") {
      std::vector<int64_t> all;
      for (int64_t k = 0; k < r; ++k)
        if (x[size_t(k)] == 1) {
          vals.push_back({k});
          all.push_back(k);
        }
      if (all.size() > 1) vals.push_back(all);
    } else if (op == "Unsqueeze") {
      vals.push_back({0});
      vals.push_back({r});
      vals.push_back({-1});
      if (r >= 1) vals.push_back({1});
      vals.push_back({0, r + 1});
    } else if (op == "Tile") {
      Shape t(size_t(r), 1);
      if (r > 0) t[0] = 2;
      vals.push_back(t);
    } else if (op == "Gather") {
      scalar_ok = true;
      vals.push_back({0});
      if (r > 0 && x[0] >= 2) vals.push_back({1, 0});
    } else if (op == "Pad") {
      if (i == 1) {
        vals.push_back(std::vector<int64_t>(size_t(2 * r), 0));
        vals.push_back(std::vector<int64_t>(size_t(2 * r), 1));
        if (r > 0) {
          std::vector<int64_t> last(size_t(2 * r), 0);
          last[size_t(2 * r - 1)] = 1;
          vals.push_back(last);
        }
      } else {
        for (int64_t k = 0; k < r; ++k) vals.push_back({k});
      }
    } else if (op == "Slice") {
      if (r == 0) return {};
      if (i == 1) vals = {{0}, {1}};
      if (i == 2) vals = {{std::max<int64_t>(1, x[0] - 1)}, {x[0]}};
      if (i == 3) vals = {{0}, {-r}};
      if (i == 4) vals = {{1}};
    } else if (op.rfind("Reduce", 0) == 0) {
      if (r > 0) {
        vals.push_back({r - 1});
        vals.push_back({-1});
        vals.push_back({0});
        if (r > 1) vals.push_back({0, r - 1});
      }
    } else if (op == "Split") {
      if (r > 0 && x[0] >= 2) vals.push_back({1, x[0] - 1});
    } else if (op == "CumSum") {
      scalar_ok = true;
    } else if (op == "TopK") {
      vals.push_back({1});
    }
    std::vector<TermChoice> out;
    std::set<std::vector<int64_t>> seen;
    if (scalar_ok) {
      TermChoice c;
      c.dtype = DType::Int64;
      c.value = Tensor::scalar<int64_t>(0);
      out.push_back(c);
    }
    for (const auto& v : vals) {
      if (!seen.insert(v).second) continue;
      TermChoice c;
      c.shape = {int64_t(v.size())};
      c.dtype = DType::Int64;
      c.value = int_tensor(v);
      if (admit_shape(var, c.shape)) out.push_back(std::move(c));
    }
    return out;
  }

  // Convolutions: the attributes are chosen first; the input, weight, bias and residual follow.
  std::vector<TermChoice> conv_candidates(size_t n, size_t i, const std::string& var) {
    const std::string& op = nodes_[n].op;
    const bool nhwc = op == "ConvNHWC", transposed = op == "ConvTranspose";
    const std::vector<Attribute> attrs = node_attributes(n);
    const Attribute* ga = find_attr(attrs, "group");
    const int64_t g = ga ? std::max<int64_t>(ga->i, 1) : 1;
    const Attribute* ks = find_attr(attrs, "kernel_shape");
    const Attribute* da = find_attr(attrs, "dilations");
    const int64_t dil = da && !da->ints.empty() ? da->ints[0] : 1;
    if (i == 0) {
      std::vector<int64_t> channels;
      if (const auto w = child_shape(n, 1); w && w->size() == 4) {
        channels.push_back(transposed ? (*w)[0] : (*w)[1] * g);
      } else if (g > 1) {
        channels = {g, 2 * g};
      } else {
        channels = {2, 3, 1};
      }
      int64_t h = 3;
      if (ks && ks->ints.size() == 2) h = std::max(h, (std::max(ks->ints[0], ks->ints[1]) - 1) * dil + 1);
      std::vector<Shape> out;
      for (int64_t c : channels) out.push_back(nhwc ? Shape{1, h, h, c} : Shape{1, c, h, h});
      for (int64_t c : channels) out.push_back(nhwc ? Shape{2, h, 2, c} : Shape{2, c, h, 2});
      return finish(n, i, var, out);
    }
    const auto x = child_shape(n, 0);
    if (i == 1) {
      if (!x || x->size() != 4) return {};
      const int64_t c = nhwc ? (*x)[3] : (*x)[1];
      const int64_t hh = nhwc ? (*x)[1] : (*x)[2], ww = nhwc ? (*x)[2] : (*x)[3];
      if (c % g != 0) return {};
      std::vector<Shape> kernels;
      if (ks && ks->ints.size() == 2) {
        kernels.push_back(ks->ints);
      } else {
        for (const Shape& k : std::vector<Shape>{{1, 1}, {2, 2}, {3, 3}, {2, 1}})
          if ((k[0] - 1) * dil + 1 <= hh + 2 && (k[1] - 1) * dil + 1 <= ww + 2) kernels.push_back(k);
        // A second conv of the same input tries other kernels than the first one's first (two
        // convs with different kernels merged into one need it).
        if (const int sib = sibling(n); sib >= 0)
          if (const auto w = child_shape(size_t(sib), 1); w && w->size() == 4) {
            const Shape first = nhwc ? Shape{(*w)[1], (*w)[2]} : Shape{(*w)[2], (*w)[3]};
            std::stable_partition(kernels.begin(), kernels.end(), [&](const Shape& k) { return k != first; });
          }
      }
      std::vector<Shape> out;
      const std::vector<int64_t> ms = g > 1 ? std::vector<int64_t>{g, 2 * g} : std::vector<int64_t>{2, 3};
      for (int64_t m : ms)
        for (const Shape& k : kernels)
          out.push_back(transposed ? Shape{c, m / (g > 1 ? g : 1), k[0], k[1]} : Shape{m, c / g, k[0], k[1]});
      return finish(n, i, var, out);
    }
    if (i == 2) {
      const auto w = child_shape(n, 1);
      if (!w || w->size() != 4) return {};
      return finish(n, i, var, {{transposed ? (*w)[1] * g : (*w)[0]}});
    }
    return output_broadcast(n, i, var);
  }

  // ---------------------------------------------------------------- attributes

  // Values for attribute `name` of node n: what the guard compares it with, then the schema's
  // domain for the attribute (AttrSpec::try_values, else its default; for an attribute of an older
  // opset, the domain of its name). Values that do not fit the inputs (an axis beyond the rank, a
  // permutation of another length) fail the op's inference.
  std::vector<Attribute> attr_candidates(size_t n, const std::string& name, const std::string& var) {
    std::vector<Attribute> out;
    auto add = [&](const Attribute& a) {
      for (const Attribute& x : out)
        if (guard::from_attribute(x) == guard::from_attribute(a) && x.kind == a.kind) return;
      out.push_back(a);
    };
    if (auto h = hints_.attr_values.find(var); h != hints_.attr_values.end())
      for (const Value& v : h->second) try {
          add(guard::to_attribute(name, v));
        } catch (const guard::Unknown&) {
        }
    const OpSchema* schema = nodes_[n].schema;
    const AttrSpec* spec = schema ? schema->attr(name) : nullptr;
    for (const Attribute& a : spec ? attribute_domain(*spec) : attribute_domain_by_name(name)) add(a);
    if (out.empty() && no_domain.empty()) no_domain = missing_domain(n, name);
    return out;
  }

  // Attribute sets: {} first, then one set per value of an attribute's domain other than its
  // default, then pairs of two attributes' first such values (strides with pads, ...); a required
  // attribute a set lacks takes its domain's first value. Merged with what the guard asks for
  // (attr(?k, "n", d) == v, approx) and with the node's named attributes (`*` binds them all).
  std::vector<std::vector<Attribute>> set_candidates(size_t n, const std::string& var) {
    const PNode& pn = nodes_[n];
    const std::string& op = pn.op;
    using A = Attribute;
    std::vector<std::vector<A>> menu = {{}};
    if (pn.schema) {
      std::vector<A> firsts;
      for (const AttrSpec& spec : pn.schema->attrs) {
        bool first = true;
        for (const A& a : attribute_domain(spec)) {
          if (spec.default_value && guard::from_attribute(a) == guard::from_attribute(*spec.default_value)) continue;
          menu.push_back({a});
          if (first) firsts.push_back(a);
          first = false;
        }
      }
      for (size_t a = 0; a < firsts.size(); ++a)
        for (size_t b = a + 1; b < firsts.size(); ++b) menu.push_back({firsts[a], firsts[b]});
      for (std::vector<A>& set : menu)
        for (const AttrSpec& spec : pn.schema->attrs) {
          if (!spec.required || std::any_of(set.begin(), set.end(), [&](const A& x) { return x.name == spec.name; }))
            continue;
          const std::vector<A> domain = attribute_domain(spec);
          if (!domain.empty()) set.push_back(domain[0]);
          else if (no_domain.empty()) no_domain = missing_domain(n, spec.name);
        }
    }
    const auto hint = hints_.set_hint.find(var);
    // Named attributes of this node (literals and bound variables) belong to the set too.
    std::vector<A> named;
    {
      guard::Env env;
      env.rule = &rule_;
      env.instance = &inst_;
      for (const rules::Attr& a : nodes_[n].pat->attrs) {
        if (a.name == "*") continue;
        try {
          named.push_back(guard::to_attribute(a.name, guard::eval(a.value, env)));
        } catch (const guard::Unknown&) {
        }
      }
    }
    std::vector<std::vector<A>> out;
    for (std::vector<A> set : menu) {
      auto put = [&](const A& a) {
        std::erase_if(set, [&](const A& x) { return x.name == a.name; });
        set.push_back(a);
      };
      if (hint != hints_.set_hint.end())
        for (const A& a : hint->second) put(a);
      for (const A& a : named) put(a);
      Value v;
      v.kind = Value::Kind::Attrs;
      v.attrs = set;
      bool dup = false;
      for (const auto& o : out) {
        Value w;
        w.kind = Value::Kind::Attrs;
        w.attrs = o;
        dup |= v == w;
      }
      if (!dup) out.push_back(set);
    }
    // A second conv of the same input (two convs merged into one) tries other attributes than the
    // first one's first: equal ones would make the two convs alike and prove little.
    if (const int sib = sibling(n); sib >= 0 && is_conv(op))
      for (const rules::Attr& a : nodes_[size_t(sib)].pat->attrs)
        if (a.name == "*" && a.value.text != var)
          if (auto it = inst_.attr_sets.find(a.value.text); it != inst_.attr_sets.end()) {
            Value first;
            first.kind = Value::Kind::Attrs;
            first.attrs = it->second;
            std::stable_partition(out.begin(), out.end(), [&](const std::vector<A>& set) {
              Value v;
              v.kind = Value::Kind::Attrs;
              v.attrs = set;
              return !(v == first);
            });
          }
    return out;
  }

  std::string missing_domain(size_t n, const std::string& attr) const {
    return "no value to try for attribute '" + attr + "' of " + nodes_[n].pat->name +
           " (its schema gives no try_values and no default)";
  }

  // An earlier operator node of the same op whose first input is the same term variable (two
  // branches of one input), or -1.
  int sibling(size_t n) const {
    const PatternAst& x = nodes_[n].pat->children.empty() ? *nodes_[n].pat : nodes_[n].pat->children[0];
    if (x.kind != PatternAst::Kind::Var) return -1;
    for (size_t m = 0; m < n; ++m) {
      const PatternAst& p = *nodes_[m].pat;
      if (p.name == nodes_[n].pat->name && !p.children.empty() && p.children[0].kind == PatternAst::Kind::Var &&
          p.children[0].name == x.name)
        return int(m);
    }
    return -1;
  }

  // ---------------------------------------------------------------- a complete binding

  void complete() {
    ++out_.candidates;
    if (out_.candidates >= limits_.max_candidates) {
      budget_note = "search stopped after " + std::to_string(limits_.max_candidates) + " candidates";
      stop_ = true;
    }
    inst_.const_dtypes.clear();
    for (size_t n = 0; n < nodes_.size(); ++n)
      for (size_t i = 0; i < nodes_[n].consts.size(); ++i)
        if (nodes_[n].consts[i])
          if (const DType d = const_tensor(n, i).dtype(); d != DType::Float)
            inst_.const_dtypes[nodes_[n].path + "." + std::to_string(i)] = d;
    const int root_node = pattern_roots_[0];
    guard::RootInfo root = detail::root_info(rule_, inst_, *types_[size_t(root_node)]);
    if (rule_.guard) {
      guard::Env env;
      env.rule = &rule_;
      env.instance = &inst_;
      env.root = &root;
      if (!guard::holds(*rule_.guard, env)) {
        for (size_t k = 0; k < conjuncts_.size(); ++k)
          if (!guard::holds(*conjuncts_[k], env)) {
            ++conjunct_failures_[k];
            break;
          }
        return;
      }
    }
    Model m;
    std::string mismatch;
    try {
      m = detail::build_model(rule_, inst_, &root);
    } catch (const Error& e) {
      mismatch = e.what();
    }
    if (mismatch.empty()) {
      try {
        const InferenceResult r = infer_model(m);
        const size_t np = rule_.lhs.size();
        for (size_t i = 0; i < np && mismatch.empty(); ++i) {
          const TensorType* l = r.type_of(m.graph.outputs[i].name);
          const TensorType* rt = r.type_of(m.graph.outputs[np + i].name);
          if (!l || !rt || !l->static_shape()) {
            ++left_failures;
            return;  // the left side's value is not fully known: not an instance
          }
          if (!(l->dtype == rt->dtype && rt->static_shape() == l->static_shape()))
            mismatch = "right side " + std::to_string(i) + " infers to " + rt->str() + ", left side " + l->str();
        }
      } catch (const Error& e) {
        // Nodes are named in emission order, left side first: an error there is not the right side's.
        const std::string what = e.what();
        const size_t at = what.find("node '%");
        if (at != std::string::npos) {
          const int idx = std::atoi(what.c_str() + at + 7);
          if (what[at + 7] != 'c' && idx < int(nodes_.size())) {
            ++left_failures;
            return;
          }
        }
        mismatch = "right side does not infer: " + what;
      }
    }
    ++out_.guard_true;
    if (!mismatch.empty()) {
      ++out_.rhs_mismatch;
      if (out_.first_rhs_mismatch.empty()) out_.first_rhs_mismatch = inst_.str() + ": " + mismatch;
      return;
    }
    Instance found = inst_;
    found.approx_targets = hints_.approx_targets;
    const std::string key = found.str();
    for (const Instance& k : out_.instances)
      if (k.str() == key) return;
    out_.instances.push_back(std::move(found));
    ++solutions_;
    if (out_.instances.size() >= limits_.max_instances) stop_ = true;
  }

  const rules::Rule& rule_;
  const InstanceLimits limits_;  // a copy: callers pass temporaries (the rest of a budget)
  InstanceSearch& out_;
  std::chrono::steady_clock::time_point start_;
  Hints hints_;
  std::vector<const Expr*> conjuncts_;
  std::vector<std::vector<std::string>> conjunct_vars_;
  std::vector<size_t> conjunct_failures_;
  std::vector<PNode> nodes_;
  std::vector<int> pattern_roots_;
  std::vector<std::vector<Slot>> slots_;
  std::vector<std::optional<TensorType>> types_;
  std::vector<std::optional<Tensor>> values_;
  Instance inst_;
  Mode mode_;
  int pass_ = 1;
  size_t solutions_ = 0, steps_ = 0;
  bool stop_ = false;
};

bool reads_shapes(const Expr& e) {
  static const std::set<std::string> shape_fns = {"rank", "dim", "shape", "numel", "static", "broadcastable"};
  if (e.kind == Expr::Kind::Call && shape_fns.count(e.text)) return true;
  for (const Expr& a : e.args)
    if (reads_shapes(a)) return true;
  return false;
}

bool elementwise_pattern(const PatternAst& p) {
  if (p.kind == PatternAst::Kind::Const) return !reads_shapes(p.constant);
  if (p.kind == PatternAst::Kind::Var) return true;
  const OpSchema* schema = schema_of(p.name);
  if (!schema || !schema->elementwise) return false;
  for (const rules::Attr& a : p.attrs)
    if (reads_shapes(a.value)) return false;
  for (const PatternAst& c : p.children)
    if (!elementwise_pattern(c)) return false;
  return true;
}

bool is_elementwise_rule(const rules::Rule& rule) {
  for (const PatternAst& p : rule.lhs)
    if (!elementwise_pattern(p)) return false;
  for (const PatternAst& p : rule.rhs)
    if (!elementwise_pattern(p)) return false;
  std::vector<std::string> l = detail::term_vars(rule.lhs), r = detail::term_vars(rule.rhs);
  std::sort(l.begin(), l.end());
  std::sort(r.begin(), r.end());
  if (l != r) return false;
  return !rule.guard || !reads_shapes(*rule.guard);
}

// Whether symbolic evaluation reads every op of the instance in its dtypes: an op's schema may
// allow a dtype its symbolic definition does not cover (Erf of integers, integer Gemm).
bool readable(const rules::Rule& rule, const Instance& inst) {
  try {
    SymCtx ctx(100'000);
    sym_eval(ctx, instance_model(rule, inst));
    return true;
  } catch (const UnsupportedOp&) {
    return false;
  } catch (const Error&) {
    return true;  // anything else is the prover's to report
  }
}

// The instance with its float32 variables and constants in another dtype (values converted), where
// the guard still holds, both sides type alike and symbolic evaluation reads it; else nullopt.
std::optional<Instance> retyped(const rules::Rule& rule, const Instance& base, DType to) {
  Instance inst = base;
  for (const auto& [var, shape] : base.shapes) {
    if (base.dtypes.count(var)) continue;  // bools and integer operands keep their dtypes
    inst.dtypes[var] = to;
    if (auto v = inst.values.find(var); v != inst.values.end()) {
      std::vector<double> xs;
      for (int64_t i = 0; i < v->second.numel(); ++i) xs.push_back(v->second.as_double(i));
      v->second = detail::tensor_of(to, shape, xs);
    }
  }
  // The left side's float32 constants too.
  std::function<void(const PatternAst&, const std::string&)> constants = [&](const PatternAst& p,
                                                                           const std::string& path) {
    if (p.kind == PatternAst::Kind::Const && !base.const_dtypes.count(path)) inst.const_dtypes[path] = to;
    for (size_t i = 0; i < p.children.size(); ++i) constants(p.children[i], path + "." + std::to_string(i));
  };
  for (size_t i = 0; i < rule.lhs.size(); ++i) constants(rule.lhs[i], std::to_string(i));
  try {
    if (!guard_holds(rule, inst)) return std::nullopt;
    const Model m = instance_model(rule, inst);
    const InferenceResult r = infer_model(m);
    const size_t np = rule.lhs.size();
    for (size_t i = 0; i < np; ++i) {
      const TensorType* l = r.type_of(m.graph.outputs[i].name);
      const TensorType* rt = r.type_of(m.graph.outputs[np + i].name);
      if (!l || !rt || !l->static_shape() || l->dtype != rt->dtype || l->static_shape() != rt->static_shape())
        return std::nullopt;
    }
  } catch (const Error&) {
    return std::nullopt;  // a side does not type-check in that dtype
  }
  if (!readable(rule, inst)) return std::nullopt;
  return inst;
}

// Whether some variable of the left side may take the dtype: its op allows it there, and so does
// every op above that the value reaches in that dtype (an op whose output cannot have the dtype, a
// comparison or a Conv's float result, ends the path).
bool draws(const rules::Rule& rule, DType dtype) {
  // `up`: the value of p may have the dtype as far as the ops above are concerned.
  std::function<bool(const PatternAst&, bool)> visit = [&](const PatternAst& p, bool up) {
    if (p.kind != PatternAst::Kind::Op) return false;
    const OpSchema* schema = schema_of(p.name);
    const ValueSpec* out = schema ? schema->output(0) : nullptr;
    const bool passes = out && out->dtypes.contains(dtype);  // the dtype flows on to p's value
    for (size_t i = 0; i < p.children.size(); ++i) {
      const ValueSpec* in = schema ? schema->input(i) : nullptr;
      const bool here = in && in->dtypes.contains(dtype) && !detail::int_operand(schema, i) && (!passes || up);
      if (p.children[i].kind == PatternAst::Kind::Var ? here : visit(p.children[i], here)) return true;
    }
    return false;
  };
  return std::any_of(rule.lhs.begin(), rule.lhs.end(), [&](const PatternAst& p) { return visit(p, true); });
}

bool all_scalar(const Instance& inst) {
  for (const auto& [var, shape] : inst.shapes)
    if (!shape.empty()) return false;
  return true;
}

}  // namespace

InstanceSearch find_instances(const rules::Rule& rule, const InstanceLimits& limits) {
  const auto start = std::chrono::steady_clock::now();
  // What is left of the budget for one more search after the ones so far.
  auto rest_of = [&](const InstanceSearch& so_far) {
    InstanceLimits rest = limits;
    rest.max_candidates = limits.max_candidates > so_far.candidates ? limits.max_candidates - so_far.candidates : 1;
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rest.seconds = std::max(0.0, limits.seconds - spent);
    return rest;
  };
  // A retry replaces the result when it found instances; otherwise only its candidates count.
  auto adopt = [](InstanceSearch& out, InstanceSearch&& retry) {
    if (retry.instances.empty()) {
      out.candidates += retry.candidates;
      return false;
    }
    retry.candidates += out.candidates;
    out = std::move(retry);
    return true;
  };
  InstanceSearch out;
  Mode mode;
  Search search(rule, limits, out, mode);
  search.run();
  if (out.instances.empty() && out.guard_true == 0 && search.budget_note.empty()) {
    // The guard's weight literals were read one way; a guard that wants the other (weights where
    // it says nothing, e.g. through a computed condition) gets one more try, within the budget.
    Mode weights = mode;
    weights.weights_by_default = true;
    InstanceSearch retry;
    Search again(rule, rest_of(out), retry, weights);
    again.run();
    if (adopt(out, std::move(retry))) mode = weights;
  }
  // A retry when every binding failed the left side's type check or gave the right side another
  // type, with at least a quarter of the budget.
  auto retry_typed = [&](Mode changed) {
    if (!out.instances.empty() || (out.rhs_mismatch == 0 && search.left_failures == 0)) return;
    InstanceLimits lim = rest_of(out);
    lim.max_candidates = std::max(lim.max_candidates, limits.max_candidates / 4);
    lim.seconds = std::max(lim.seconds, limits.seconds / 4);
    InstanceSearch retry;
    Search again(rule, lim, retry, changed);
    again.run();
    if (adopt(out, std::move(retry))) mode = changed;
  };
  // The sides may agree only where dims coincide (a variable used as both operands of a MatMul, a
  // wrong permutation of a cube), which the first search reaches last or, in a large rule, not
  // within its budget: such shapes first.
  Mode equal = mode;
  equal.equal_dims = true;
  retry_typed(equal);
  // Each variable took its preferred dtype (float32 where its op allows it); one used where that
  // does not fit (a BitShift operand, a variable an And reads too) needs another: every dtype its
  // op allows.
  Mode all = mode;
  all.all_dtypes = true;
  retry_typed(all);
  // One more instance in each other dtype the left side's variables may take (int64 with its
  // wrap-around arithmetic, float16 with its rounding), where the rule allows it and the symbolic
  // evaluator reads it: a rule the compiler applies to every dtype must hold for each. It is the
  // first instance (the smallest, all scalars for an elementwise rule) or the next one retyped.
  const size_t found = out.instances.size();
  for (DType other : {DType::Int64, DType::Float16}) {
    if (!limits.other_dtypes || !draws(rule, other)) continue;
    for (size_t k = 0; k < std::min<size_t>(found, 2); ++k)
      if (std::optional<Instance> r = retyped(rule, out.instances[k], other)) {
        out.instances.push_back(std::move(*r));
        break;
      }
  }
  if (!out.instances.empty() && !is_elementwise_rule(rule)) {
    // An instance with unit dims or scalars where the guard allows others proves little about
    // axes, permutations and broadcasts: one more search prefers dims >= 2 at every choice, and
    // its instance joins (or replaces the one with most unit dims) unless another has fewer. Ties
    // join too: the greedy choices differ from the first search's (e.g. an operand [C] against an
    // output whose last dim is C, which broadcasts along that dim and types like a per-channel one).
    int64_t fewest = std::numeric_limits<int64_t>::max();
    for (const Instance& i : out.instances) fewest = std::min(fewest, unit_count(i));
    if (fewest > 0) {
      Mode rich = mode;
      rich.rich = true;
      InstanceLimits one = rest_of(out);
      one.max_instances = 1;
      one.max_candidates = std::max<size_t>(std::min(one.max_candidates, limits.max_candidates / 4), 1);
      one.seconds = std::min(one.seconds, limits.seconds / 4);
      InstanceSearch extra;
      Search again(rule, one, extra, rich);
      again.run();
      out.candidates += extra.candidates;
      const bool fresh = !extra.instances.empty() && std::none_of(out.instances.begin(), out.instances.end(),
                                                                  [&](const Instance& i) {
                                                                    return i.str() == extra.instances[0].str();
                                                                  });
      if (fresh && unit_count(extra.instances[0]) <= fewest) {
        if (out.instances.size() < limits.max_instances) {
          out.instances.push_back(std::move(extra.instances[0]));
        } else {
          // The one with most unit dims, the largest of those (the small ones are the readable
          // counterexamples).
          auto worst = std::max_element(out.instances.begin(), out.instances.end(),
                                        [](const Instance& a, const Instance& b) {
                                          return std::pair(unit_count(a), a.size()) < std::pair(unit_count(b), b.size());
                                        });
          *worst = std::move(extra.instances[0]);
        }
      }
    }
  }
  // Smallest first (the search order makes that likely, not certain).
  std::stable_sort(out.instances.begin(), out.instances.end(),
                   [](const Instance& a, const Instance& b) { return a.size() < b.size(); });
  if (is_elementwise_rule(rule)) {
    auto it = std::find_if(out.instances.begin(), out.instances.end(), all_scalar);
    if (it != out.instances.end()) {
      std::rotate(out.instances.begin(), it, it + 1);
      out.elementwise = true;
    }
  }
  const int64_t opset = out.instances.empty() ? 17 : out.instances[0].opset;
  out.scope = std::to_string(out.instances.size()) + (out.instances.size() == 1 ? " instance" : " instances") +
              ", ranks <= " + std::to_string(limits.max_rank) + ", dims <= " + std::to_string(limits.max_dim) +
              (rule.guard ? ", guard true" : ", no guard") + (opset != 17 ? ", opset " + std::to_string(opset) : "");
  {
    std::set<std::string> dtypes;
    for (const Instance& i : out.instances)
      for (const auto& [var, shape] : i.shapes)
        if (!i.values.count(var))
          dtypes.insert(detail::dtype_tag(i.dtypes.count(var) ? i.dtypes.at(var) : DType::Float));
    if (dtypes.size() > 1 || (dtypes.size() == 1 && *dtypes.begin() != "f32")) {
      out.scope += ", dtypes";
      for (const std::string& d : dtypes) out.scope += " " + d;
    }
  }
  if (!search.budget_note.empty()) out.scope += " (" + search.budget_note + ")";
  if (out.instances.empty()) {
    std::string why;
    if (out.guard_true > 0) {
      why = "the right side never infers to the left side's type: " + out.first_rhs_mismatch;
    } else if (out.candidates > 0 || std::any_of(search.conjunct_failures().begin(), search.conjunct_failures().end(),
                                                 [](size_t c) { return c > 0; })) {
      size_t worst = 0;
      for (size_t k = 0; k < search.conjuncts().size(); ++k)
        if (search.conjunct_failures()[k] > search.conjunct_failures()[worst]) worst = k;
      why = "the guard never held";
      if (!search.conjuncts().empty()) why += " (most often false: " + search.conjuncts()[worst]->str() + ")";
    } else if (!search.no_domain.empty()) {
      why = search.no_domain;
    } else {
      why = "the left side never type-checks within ranks <= " + std::to_string(limits.max_rank) +
            ", dims <= " + std::to_string(limits.max_dim);
      if (!search.infer_failures.empty()) why += " (" + search.infer_failures[0] + ")";
    }
    if (!search.budget_note.empty()) why += "; " + search.budget_note;
    out.note = why;
  }
  return out;
}

}  // namespace eqopt::verify
