#include "optimizer/rule_compiler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "rules/parser.h"

namespace eqopt::opt {

using eg::Id;
using eg::MatchView;
using eg::PayloadId;
using rules::Expr;
using rules::PatternAst;

namespace {

// ------------------------------------------------------------------ values of the guard language

struct Value {
  enum class Kind { Int, Float, String, List, Class, Attrs };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<Value> list;
  Id cls = eg::kNoId;
  std::vector<Attribute> attrs;  // Kind::Attrs: every attribute of an operator (`{*=?a}`)

  static Value of_int(int64_t v) { Value x; x.i = v; return x; }
  static Value of_float(double v) { Value x; x.kind = Kind::Float; x.f = v; return x; }
  static Value of_bool(bool b) { return of_int(b ? 1 : 0); }
  static Value of_class(Id c) { Value x; x.kind = Kind::Class; x.cls = c; return x; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double number() const { return kind == Kind::Int ? double(i) : f; }
};

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.number() == b.number();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::String: return a.s == b.s;
    case Value::Kind::List: return a.list == b.list;
    case Value::Kind::Class: return a.cls == b.cls;
    case Value::Kind::Attrs: {
      if (a.attrs.size() != b.attrs.size()) return false;
      std::vector<Attribute> x = a.attrs, y = b.attrs;
      auto by_name = [](const Attribute& p, const Attribute& q) { return p.name < q.name; };
      std::sort(x.begin(), x.end(), by_name);
      std::sort(y.begin(), y.end(), by_name);
      for (size_t k = 0; k < x.size(); ++k)
        if (x[k].name != y[k].name || x[k].kind != y[k].kind || x[k].i != y[k].i || x[k].f != y[k].f ||
            x[k].s != y[k].s || x[k].ints != y[k].ints || x[k].floats != y[k].floats)
          return false;
      return true;
    }
    default: return false;
  }
}

// Thrown when a guard needs something unknown (an unknown dim, a non-constant value): the guard
// is then false, never an error.
struct Unknown {};

Value from_attribute(const Attribute& a) {
  Value v;
  switch (a.kind) {
    case Attribute::Kind::Int: return Value::of_int(a.i);
    case Attribute::Kind::Float: return Value::of_float(a.f);
    case Attribute::Kind::String: v.kind = Value::Kind::String; v.s = a.s; return v;
    case Attribute::Kind::Ints:
      v.kind = Value::Kind::List;
      for (int64_t x : a.ints) v.list.push_back(Value::of_int(x));
      return v;
    case Attribute::Kind::Floats:
      v.kind = Value::Kind::List;
      for (float x : a.floats) v.list.push_back(Value::of_float(x));
      return v;
    default: throw Unknown{};
  }
}

Attribute to_attribute(const std::string& name, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Int: return Attribute::make_int(name, v.i);
    case Value::Kind::Float: return Attribute::make_float(name, float(v.f));
    case Value::Kind::String: return Attribute::make_string(name, v.s);
    case Value::Kind::List: {
      bool all_int = true;
      for (const Value& e : v.list) all_int &= e.kind == Value::Kind::Int;
      if (all_int) {
        std::vector<int64_t> xs;
        for (const Value& e : v.list) xs.push_back(e.i);
        return Attribute::make_ints(name, xs);
      }
      std::vector<float> xs;
      for (const Value& e : v.list) xs.push_back(float(e.number()));
      return Attribute::make_floats(name, xs);
    }
    case Value::Kind::Class:
    case Value::Kind::Attrs: break;
  }
  throw Unknown{};
}

// A tensor for `#c(...)` on a right side: a number is a scalar, a list a 1-D tensor (int64 when all
// elements are integers, else float32).
Tensor to_tensor(const Value& v) {
  if (v.kind == Value::Kind::Int) return Tensor::scalar<int64_t>(v.i);
  if (v.kind == Value::Kind::Float) return Tensor::scalar<float>(float(v.f));
  if (v.kind != Value::Kind::List) throw Unknown{};
  bool all_int = true;
  for (const Value& e : v.list) {
    if (!e.is_number()) throw Unknown{};
    all_int &= e.kind == Value::Kind::Int;
  }
  const int64_t n = int64_t(v.list.size());
  if (all_int) {
    std::vector<int64_t> xs;
    for (const Value& e : v.list) xs.push_back(e.i);
    return Tensor::from_vector<int64_t>({n}, xs);
  }
  std::vector<float> xs;
  for (const Value& e : v.list) xs.push_back(float(e.number()));
  return Tensor::from_vector<float>({n}, xs);
}

// The e-graph operator key of an operator written in a rule: `Op` is a default-domain op, and a
// dotted name's last part is the op and the rest its domain (`eqopt.FusedConv` is op FusedConv of
// domain "eqopt"), keyed "domain::Op" as the tensor language keys imported nodes.
std::string rule_op_key(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return name;
  const std::string domain = name.substr(0, dot);
  if (is_default_domain(domain)) return name.substr(dot + 1);
  return domain + "::" + name.substr(dot + 1);
}

const std::set<std::string> kFunctions = {"rank",  "dim",     "shape",      "numel",      "dtype",  "const",
                                          "weight", "value",  "scalar",     "static",     "broadcastable",
                                          "compose", "is_identity_perm", "all_eq", "contains", "len", "outputs",
                                          "attr", "inverse_perm", "index_of", "gather", "pad_left",
                                          "approx", "sqrt", "initializer"};

// ------------------------------------------------------------------ one compiled rule

struct AttrCheck {
  int payload_var;   // which payload variable (one per left operator)
  std::string name;  // attribute name
  Expr value;        // a literal, or a variable that binds
};

struct ConstLeaf {
  int var;       // the class variable standing for `#c(...)` on the left
  double value;
};

class CompiledRule {
 public:
  CompiledRule(TensorProgram& program, const rules::Rule& rule, eg::Rewrite<TensorEGraph>& rw)
      : program_(program), rule_(rule) {
    TensorEGraph& g = program.egraph();
    rw.name = rule.name;
    for (const PatternAst& p : rule.lhs) {
      eg::SExpr s = to_sexpr(p, rw.vars);
      rw.lhs.push_back(eg::compile_pattern(g, s, rw.vars, true));
    }
    for (const eg::Pattern& p : rw.lhs) rw.programs.push_back(eg::Program::compile(p, rw.vars));
    vars_ = rw.vars;
    // Check the guard's and right side's functions now, so a typo fails at load time.
    if (rule.guard) check_functions(*rule.guard);
    for (const PatternAst& p : rule.rhs) check_pattern_functions(p);
  }

  std::vector<Id> apply(TensorEGraph& g, const MatchView& m) const {
    try {
      Env env = bind(g, m);
      if (rule_.guard && !truthy(eval(*rule_.guard, env, g))) return {};
      std::vector<Id> out;
      for (size_t i = 0; i < rule_.rhs.size(); ++i) {
        const Id built = build(rule_.rhs[i], env, g);
        if (!compatible(g, built, m.eclass(i))) return {};
        out.push_back(built);
      }
      return out;
    } catch (const Unknown&) {
      return {};
    }
  }

 private:
  struct Env {
    std::map<std::string, Value> vars;
  };

  eg::SExpr to_sexpr(const PatternAst& p, eg::VarTable& vars) {
    eg::SExpr s;
    if (p.kind == PatternAst::Kind::Var) {
      s.head = p.name;
      return s;
    }
    if (p.kind == PatternAst::Kind::Const) {
      // A constant on the left is a class variable checked against the value in the guard.
      s.head = "?$const" + std::to_string(consts_.size());
      consts_.push_back({-1, p.constant.kind == Expr::Kind::Int ? double(p.constant.int_value) : p.constant.float_value});
      const_names_.push_back(s.head);
      return s;
    }
    s.is_list = true;
    s.head = rule_op_key(p.name);
    s.has_payload = true;
    const int pv = payload_vars_++;
    s.payload = "?$p" + std::to_string(pv);
    for (const rules::Attr& a : p.attrs) attr_checks_.push_back({pv, a.name, a.value});
    for (const PatternAst& c : p.children) s.children.push_back(to_sexpr(c, vars));
    return s;
  }

  void check_functions(const Expr& e) const {
    if (e.kind == Expr::Kind::Call && !kFunctions.count(e.text))
      fail(rule_.file, ":", e.line, ":", e.column, ": unknown guard function '", e.text, "'");
    for (const Expr& a : e.args) check_functions(a);
  }
  void check_pattern_functions(const PatternAst& p) const {
    for (const rules::Attr& a : p.attrs) check_functions(a.value);
    for (const PatternAst& c : p.children) check_pattern_functions(c);
  }

  Env bind(TensorEGraph& g, const MatchView& m) const {
    Env env;
    // The matched class must be one value, not the tuple of a multi-output op.
    if (g.data(m.eclass(0)).types.size() != 1) throw Unknown{};
    env.vars["?root"] = Value::of_class(m.eclass(0));
    // A multi-pattern rule relates values the model never combined (merging parallel ops, pairing
    // values through a Concat); with unknown dims that relation would rest on an assumption, so
    // such rules apply to static shapes only.
    if (m.num_patterns > 1) {
      for (uint32_t p = 0; p < m.num_patterns; ++p)
        if (!type_of(g, m.eclass(p)).is_static()) throw Unknown{};
      for (size_t v = 0; v < vars_.vars.size(); ++v)
        if (vars_.vars[v].rfind("?$const", 0) != 0 && !type_of(g, m.var(uint32_t(v))).is_static()) throw Unknown{};
    }
    for (size_t v = 0; v < vars_.vars.size(); ++v) env.vars[vars_.vars[v]] = Value::of_class(m.var(uint32_t(v)));
    const Id* pvars = m.entry + m.num_patterns + vars_.vars.size();
    for (const AttrCheck& c : attr_checks_) {
      const int slot = vars_.find(vars_.payload_vars, "?$p" + std::to_string(c.payload_var));
      const auto& attrs = program_.op_attributes(PayloadId(pvars[slot])).attrs;
      const Attribute* found = nullptr;
      for (const Attribute& a : attrs)
        if (a.name == c.name) found = &a;
      Value have;
      if (c.name == "*") {
        have.kind = Value::Kind::Attrs;
        have.attrs = attrs;
      } else {
        if (!found) throw Unknown{};  // attribute absent: defaults are not assumed
        have = from_attribute(*found);
      }
      if (c.value.kind == Expr::Kind::Var) {
        auto it = env.vars.find(c.value.text);
        if (it == env.vars.end())
          env.vars[c.value.text] = have;
        else if (!(it->second == have))
          throw Unknown{};
      } else if (!(eval(c.value, env, g) == have)) {
        throw Unknown{};
      }
    }
    for (size_t k = 0; k < consts_.size(); ++k) {
      const Id cls = m.var(uint32_t(vars_.find(vars_.vars, const_names_[k])));
      const Value v = value_of(g, cls);
      if (v.list.empty()) throw Unknown{};
      for (const Value& e : v.list)
        if (e.number() != consts_[k].value) throw Unknown{};
    }
    return env;
  }

  static const TensorType& type_of(const TensorEGraph& g, Id c) {
    const TensorData& d = g.data(c);
    if (d.types.size() != 1) throw Unknown{};
    return d.types[0];
  }
  static Value shape_of(const TensorEGraph& g, Id c) {
    const TensorType& t = type_of(g, c);
    if (!t.dims) throw Unknown{};
    Value v;
    v.kind = Value::Kind::List;
    for (const Dim& d : *t.dims) {
      if (!d.known()) throw Unknown{};
      v.list.push_back(Value::of_int(d.value));
    }
    return v;
  }
  // A constant class's elements as a flat list (small constants only).
  static Value value_of(const TensorEGraph& g, Id c) {
    const TensorData& d = g.data(c);
    if (d.values.size() != 1 || !d.values[0] || d.values[0]->numel() > 4096 || d.values[0]->dtype() == DType::String)
      throw Unknown{};
    const Tensor& t = *d.values[0];
    Value v;
    v.kind = Value::Kind::List;
    for (int64_t i = 0; i < t.numel(); ++i)
      v.list.push_back(is_floating(t.dtype()) ? Value::of_float(t.as_double(i)) : Value::of_int(t.as_int64(i)));
    return v;
  }
  static Id class_arg(const Value& v) {
    if (v.kind != Value::Kind::Class) throw Unknown{};
    return v.cls;
  }
  static std::vector<int64_t> int_list(const Value& v) {
    if (v.kind != Value::Kind::List) throw Unknown{};
    std::vector<int64_t> r;
    for (const Value& e : v.list) {
      if (e.kind != Value::Kind::Int) throw Unknown{};
      r.push_back(e.i);
    }
    return r;
  }
  static bool truthy(const Value& v) { return v.is_number() ? v.number() != 0 : !v.list.empty(); }

  Value call(const Expr& e, Env& env, TensorEGraph& g) const {
    std::vector<Value> a;
    for (const Expr& x : e.args) a.push_back(eval(x, env, g));
    const std::string& f = e.text;
    auto need = [&](size_t n) {
      if (a.size() != n) fail(rule_.file, ":", e.line, ":", e.column, ": ", f, " takes ", n, " arguments");
    };
    if (f == "rank") {
      need(1);
      const TensorType& t = type_of(g, class_arg(a[0]));
      if (!t.dims) throw Unknown{};
      return Value::of_int(int64_t(t.dims->size()));
    }
    if (f == "dim") {
      need(2);
      const TensorType& t = type_of(g, class_arg(a[0]));
      if (!t.dims || !a[1].is_number()) throw Unknown{};
      int64_t i = int64_t(a[1].number());
      if (i < 0) i += int64_t(t.dims->size());
      if (i < 0 || i >= int64_t(t.dims->size()) || !(*t.dims)[size_t(i)].known()) throw Unknown{};
      return Value::of_int((*t.dims)[size_t(i)].value);
    }
    if (f == "shape") {
      need(1);
      return shape_of(g, class_arg(a[0]));
    }
    if (f == "static") {
      need(1);
      return Value::of_bool(type_of(g, class_arg(a[0])).is_static());
    }
    if (f == "numel") {
      need(1);
      int64_t n = 1;
      for (const Value& d : shape_of(g, class_arg(a[0])).list) n *= d.i;
      return Value::of_int(n);
    }
    if (f == "dtype") {
      need(1);
      Value v;
      v.kind = Value::Kind::String;
      v.s = std::string(dtype_short_name(type_of(g, class_arg(a[0])).dtype));
      return v;
    }
    if (f == "const") {
      need(1);
      const TensorData& d = g.data(class_arg(a[0]));
      return Value::of_bool(d.values.size() == 1 && d.values[0].has_value());
    }
    if (f == "weight") {
      need(1);
      return Value::of_bool(g.data(class_arg(a[0])).weight_only);
    }
    if (f == "value") {
      need(1);
      return value_of(g, class_arg(a[0]));
    }
    if (f == "scalar") {
      need(1);
      const Value v = value_of(g, class_arg(a[0]));
      if (v.list.size() != 1) throw Unknown{};
      return v.list[0];
    }
    if (f == "outputs") {
      need(1);
      return Value::of_int(int64_t(g.data(class_arg(a[0])).types.size()));
    }
    if (f == "broadcastable") {
      // Whether b broadcasts to a's shape unidirectionally (b's dims are 1 or equal, right-aligned).
      need(2);
      const std::vector<int64_t> x = int_list(a[0].kind == Value::Kind::Class ? shape_of(g, a[0].cls) : a[0]);
      const std::vector<int64_t> y = int_list(a[1].kind == Value::Kind::Class ? shape_of(g, a[1].cls) : a[1]);
      if (y.size() > x.size()) return Value::of_bool(false);
      for (size_t k = 0; k < y.size(); ++k) {
        const int64_t dy = y[y.size() - 1 - k], dx = x[x.size() - 1 - k];
        if (dy != 1 && dy != dx) return Value::of_bool(false);
      }
      return Value::of_bool(true);
    }
    if (f == "compose") {
      // compose(a, b)[i] = a[b[i]]: Transpose(perm=b) of Transpose(perm=a) is Transpose(perm=compose(a, b)).
      need(2);
      const std::vector<int64_t> p = int_list(a[0]), q = int_list(a[1]);
      if (p.size() != q.size()) throw Unknown{};
      Value r;
      r.kind = Value::Kind::List;
      for (int64_t i : q) {
        if (i < 0 || i >= int64_t(p.size())) throw Unknown{};
        r.list.push_back(Value::of_int(p[size_t(i)]));
      }
      return r;
    }
    if (f == "is_identity_perm") {
      need(1);
      const std::vector<int64_t> p = int_list(a[0]);
      for (size_t i = 0; i < p.size(); ++i)
        if (p[i] != int64_t(i)) return Value::of_bool(false);
      return Value::of_bool(true);
    }
    if (f == "all_eq") {
      need(2);
      if (a[0].kind != Value::Kind::List || a[0].list.empty()) throw Unknown{};
      for (const Value& e : a[0].list)
        if (!(e == a[1])) return Value::of_bool(false);
      return Value::of_bool(true);
    }
    if (f == "contains") {
      need(2);
      if (a[0].kind != Value::Kind::List) throw Unknown{};
      for (const Value& e : a[0].list)
        if (e == a[1]) return Value::of_bool(true);
      return Value::of_bool(false);
    }
    if (f == "len") {
      need(1);
      if (a[0].kind != Value::Kind::List) throw Unknown{};
      return Value::of_int(int64_t(a[0].list.size()));
    }
    if (f == "attr") {
      // attr(?a, "name", default): attribute `name` of an `{*=?a}` binding, or default when absent.
      need(3);
      if (a[0].kind != Value::Kind::Attrs || a[1].kind != Value::Kind::String) throw Unknown{};
      for (const Attribute& x : a[0].attrs)
        if (x.name == a[1].s) return from_attribute(x);
      return a[2];
    }
    if (f == "inverse_perm") {
      // inverse_perm(p)[p[i]] = i: Transpose(perm=inverse_perm(p)) undoes Transpose(perm=p).
      need(1);
      const std::vector<int64_t> p = int_list(a[0]);
      std::vector<int64_t> inv(p.size(), -1);
      for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] < 0 || p[i] >= int64_t(p.size()) || inv[size_t(p[i])] != -1) throw Unknown{};
        inv[size_t(p[i])] = int64_t(i);
      }
      Value r;
      r.kind = Value::Kind::List;
      for (int64_t i : inv) r.list.push_back(Value::of_int(i));
      return r;
    }
    if (f == "index_of") {
      // index_of(list, v): the position of v in list; v may be a list (each element mapped). An
      // integer v below 0 counts from the end (an axis, with list a permutation of the rank).
      need(2);
      if (a[0].kind != Value::Kind::List) throw Unknown{};
      const Value& list = a[0];
      auto find = [&](Value v) {
        if (v.kind == Value::Kind::Int && v.i < 0) v.i += int64_t(list.list.size());
        for (size_t i = 0; i < list.list.size(); ++i)
          if (list.list[i] == v) return Value::of_int(int64_t(i));
        throw Unknown{};
      };
      if (a[1].kind != Value::Kind::List) return find(a[1]);
      Value r;
      r.kind = Value::Kind::List;
      for (const Value& v : a[1].list) r.list.push_back(find(v));
      return r;
    }
    if (f == "gather") {
      // gather(list, idx) = [list[i] for i in idx]; negative indices count from the end.
      need(2);
      if (a[0].kind != Value::Kind::List || a[1].kind != Value::Kind::List) throw Unknown{};
      const int64_t n = int64_t(a[0].list.size());
      Value r;
      r.kind = Value::Kind::List;
      for (const Value& v : a[1].list) {
        if (v.kind != Value::Kind::Int) throw Unknown{};
        const int64_t i = v.i < 0 ? v.i + n : v.i;
        if (i < 0 || i >= n) throw Unknown{};
        r.list.push_back(a[0].list[size_t(i)]);
      }
      return r;
    }
    if (f == "pad_left") {
      // pad_left(list, n, v): list with copies of v in front up to length n (a shape made rank n).
      need(3);
      if (a[0].kind != Value::Kind::List || a[1].kind != Value::Kind::Int) throw Unknown{};
      if (int64_t(a[0].list.size()) > a[1].i) throw Unknown{};
      Value r;
      r.kind = Value::Kind::List;
      r.list.assign(size_t(a[1].i) - a[0].list.size(), a[2]);
      r.list.insert(r.list.end(), a[0].list.begin(), a[0].list.end());
      return r;
    }
    if (f == "approx") {
      // approx(x, y) or approx(x, y, rtol): |x - y| <= rtol * max(|x|, |y|), rtol 1e-5 by default, so
      // a float32 constant such as 0.70710677 or 0.16666667 matches 1 / sqrt(2) or 1 / 6.
      if (a.size() != 2 && a.size() != 3)
        fail(rule_.file, ":", e.line, ":", e.column, ": approx takes 2 or 3 arguments");
      for (const Value& v : a)
        if (!v.is_number()) throw Unknown{};
      const double x = a[0].number(), y = a[1].number(), rtol = a.size() == 3 ? a[2].number() : 1e-5;
      return Value::of_bool(x == y || std::fabs(x - y) <= rtol * std::max(std::fabs(x), std::fabs(y)));
    }
    if (f == "sqrt") {
      need(1);
      if (!a[0].is_number() || a[0].number() < 0) throw Unknown{};
      return Value::of_float(std::sqrt(a[0].number()));
    }
    if (f == "initializer") {
      // Whether the class holds a weight of the model (an initializer or Constant node), not only a
      // value that rules computed: multi-pattern merges use it so merged weights do not merge again.
      need(1);
      const Id c = g.find(class_arg(a[0]));
      for (Id n : g.eclass(c).nodes)
        if (g.node_op(n) == program_.op_weight()) return Value::of_bool(true);
      return Value::of_bool(false);
    }
    fail(rule_.file, ":", e.line, ":", e.column, ": unknown guard function '", f, "'");
  }

  Value eval(const Expr& e, Env& env, TensorEGraph& g) const {
    switch (e.kind) {
      case Expr::Kind::Int: return Value::of_int(e.int_value);
      case Expr::Kind::Float: return Value::of_float(e.float_value);
      case Expr::Kind::String: {
        Value v;
        v.kind = Value::Kind::String;
        v.s = e.text;
        return v;
      }
      case Expr::Kind::List: {
        Value v;
        v.kind = Value::Kind::List;
        for (const Expr& x : e.args) v.list.push_back(eval(x, env, g));
        return v;
      }
      case Expr::Kind::Var: {
        auto it = env.vars.find(e.text);
        if (it == env.vars.end()) throw Unknown{};
        return it->second;
      }
      case Expr::Kind::Call: return call(e, env, g);
      case Expr::Kind::Index: {
        const Value base = eval(e.args[0], env, g), idx = eval(e.args[1], env, g);
        if (base.kind != Value::Kind::List || idx.kind != Value::Kind::Int) throw Unknown{};
        int64_t i = idx.i < 0 ? idx.i + int64_t(base.list.size()) : idx.i;
        if (i < 0 || i >= int64_t(base.list.size())) throw Unknown{};
        return base.list[size_t(i)];
      }
      case Expr::Kind::Unary: {
        const Value x = eval(e.args[0], env, g);
        if (e.text == "!") return Value::of_bool(!truthy(x));
        if (x.kind == Value::Kind::Int) return Value::of_int(-x.i);
        if (x.kind == Value::Kind::Float) return Value::of_float(-x.f);
        throw Unknown{};
      }
      case Expr::Kind::Binary: {
        const std::string& op = e.text;
        if (op == "&&") return Value::of_bool(truthy(eval(e.args[0], env, g)) && truthy(eval(e.args[1], env, g)));
        if (op == "||") return Value::of_bool(truthy(eval(e.args[0], env, g)) || truthy(eval(e.args[1], env, g)));
        const Value x = eval(e.args[0], env, g), y = eval(e.args[1], env, g);
        if (op == "==") return Value::of_bool(x == y);
        if (op == "!=") return Value::of_bool(!(x == y));
        if (!x.is_number() || !y.is_number()) throw Unknown{};
        const bool ints = x.kind == Value::Kind::Int && y.kind == Value::Kind::Int;
        if (op == "<") return Value::of_bool(x.number() < y.number());
        if (op == "<=") return Value::of_bool(x.number() <= y.number());
        if (op == ">") return Value::of_bool(x.number() > y.number());
        if (op == ">=") return Value::of_bool(x.number() >= y.number());
        if (op == "+") return ints ? Value::of_int(x.i + y.i) : Value::of_float(x.number() + y.number());
        if (op == "-") return ints ? Value::of_int(x.i - y.i) : Value::of_float(x.number() - y.number());
        if (op == "*") return ints ? Value::of_int(x.i * y.i) : Value::of_float(x.number() * y.number());
        if (op == "/") {
          if (y.number() == 0) throw Unknown{};
          return ints ? Value::of_int(x.i / y.i) : Value::of_float(x.number() / y.number());
        }
        if (op == "%") {
          if (!ints || y.i == 0) throw Unknown{};
          return Value::of_int(x.i % y.i);
        }
        throw Unknown{};
      }
    }
    throw Unknown{};
  }

  Id build(const PatternAst& p, Env& env, TensorEGraph& g) const {
    if (p.kind == PatternAst::Kind::Var) return class_arg(env.vars.at(p.name));
    if (p.kind == PatternAst::Kind::Const)
      return g.add(program_.op_const(), program_.add_constant(to_tensor(eval(p.constant, env, g))),
                   std::span<const Id>());
    std::vector<Id> kids;
    for (const PatternAst& c : p.children) kids.push_back(build(c, env, g));
    std::vector<Attribute> attrs;
    for (const rules::Attr& a : p.attrs) {
      const Value v = eval(a.value, env, g);
      if (a.name == "*") {
        if (v.kind != Value::Kind::Attrs) throw Unknown{};
        for (const Attribute& x : v.attrs) attrs.push_back(x);
        continue;
      }
      // An explicit attribute replaces a copied one of the same name.
      attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [&](const Attribute& x) { return x.name == a.name; }),
                  attrs.end());
      attrs.push_back(to_attribute(a.name, v));
    }
    return g.add(g.intern_op(rule_op_key(p.name)), program_.op_payload(attrs, 1), kids);
  }

  // The right side must not change dtype or (known) shape, and must have inferred cleanly.
  static bool compatible(const TensorEGraph& g, Id built, Id matched) {
    const TensorData &b = g.data(built), &m = g.data(matched);
    if (!b.valid || b.types.size() != 1 || m.types.size() != 1) return false;
    const TensorType &x = b.types[0], &y = m.types[0];
    // Both unknown (values of an operator eqopt does not know) is allowed: nothing can disagree.
    if (x.dtype != y.dtype) return false;
    if (x.dims && y.dims) {
      if (x.dims->size() != y.dims->size()) return false;
      for (size_t i = 0; i < x.dims->size(); ++i) {
        const Dim &a = (*x.dims)[i], &c = (*y.dims)[i];
        if (a.known() && c.known() && a.value != c.value) return false;
        // A right side that knows a dim the matched value does not (or names another symbol) was
        // inferred under an assumption about that dim (e.g. a Concat unifying an unknown dim with
        // a known one): not valid for every value of it.
        if (!c.known() && (a.known() || (!c.param.empty() && !a.param.empty() && a.param != c.param))) return false;
      }
    } else if (x.dims.has_value() != y.dims.has_value() && y.dims) {
      return false;  // the right side's rank is unknown where the left's is known
    }
    return true;
  }

  TensorProgram& program_;
  const rules::Rule& rule_;
  eg::VarTable vars_;
  std::vector<AttrCheck> attr_checks_;
  std::vector<ConstLeaf> consts_;
  std::vector<std::string> const_names_;
  int payload_vars_ = 0;
};

}  // namespace

std::vector<std::string> guard_function_names() { return {kFunctions.begin(), kFunctions.end()}; }

CompiledRules compile_rules(TensorProgram& program, const std::vector<rules::Rule>& rules,
                            const RuleSchedule& schedule) {
  CompiledRules out;
  out.directed = rules::expand_bidirectional(rules);
  std::vector<std::shared_ptr<CompiledRule>> compiled;
  for (const rules::Rule& r : out.directed) {
    eg::Rewrite<TensorEGraph> rw;
    auto c = std::make_shared<CompiledRule>(program, r, rw);
    rw.applier = [c](TensorEGraph& g, const MatchView& m) { return c->apply(g, m); };
    const auto has_tag = [&](const char* t) { return std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end(); };
    if (has_tag("ac")) rw.match_limit = schedule.ac_match_limit;
    if (r.lhs.size() > 1 || has_tag("multi")) {
      rw.iteration_limit = schedule.multi_iterations;
      rw.budget_group = kMultiGroup;
    }
    out.rewrites.push_back(std::move(rw));
    out.sources.push_back(&r);
  }
  return out;
}

}  // namespace eqopt::opt
