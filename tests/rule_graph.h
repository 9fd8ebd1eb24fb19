// Turns a rule's patterns into an ONNX graph with concrete shapes, for testing rules: both sides of
// a directed rule become one model (left values, then right values, as outputs) over shared inputs, so a test can run
// the two sides on the reference interpreter and compare them, and import the model into an
// e-graph, saturate it with that one rule and check that each left value joined its right value.
//
// Right-side attribute expressions and `#c(...)` constants are evaluated here, independently of
// optimizer/rule_compiler.cpp, for the subset of the guard language they use (numbers, strings,
// lists, indexing, arithmetic, comparisons, rank/dim/shape/numel/len, attr, index_of,
// inverse_perm, gather, pad_left, compose, value). A `#c(...)` leaf becomes an initializer read
// through an Identity, so the e-graph sees it as a folded constant, as the compiler builds it.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "egraph/runner.h"
#include "interp/interpreter.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "rules/rule.h"

namespace eqopt::test {

// What the variables of a rule stand for.
struct RuleBindings {
  std::map<std::string, Shape> shapes;                      // term variable -> shape (float32)
  std::set<std::string> weights;                             // term variables given as initializers
  std::map<std::string, Tensor> values;                      // fixed values (else uniform in [lo, hi])
  std::map<std::string, std::vector<Attribute>> attr_sets;  // `*=?k` variables
  std::map<std::string, Attribute> attrs;                    // attribute variables (name ignored)
  float lo = -1.0f, hi = 1.0f;
  int64_t opset = 17;
  unsigned seed = 1;
};

namespace rule_graph_detail {

struct Val {
  enum class Kind { Int, Float, String, List, Term, Attrs };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0;
  std::string s;  // String; Term: the variable
  std::vector<Val> list;
  std::vector<Attribute> attrs;
  static Val num(int64_t v) { Val x; x.i = v; return x; }
  static Val real(double v) { Val x; x.kind = Kind::Float; x.f = v; return x; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double number() const { return kind == Kind::Int ? double(i) : f; }
};

inline bool operator==(const Val& a, const Val& b) {
  if (a.is_number() && b.is_number()) return a.number() == b.number();
  if (a.kind != b.kind) return false;
  if (a.kind == Val::Kind::List) return a.list == b.list;
  return a.s == b.s;
}

inline Val from_attribute(const Attribute& a) {
  Val v;
  switch (a.kind) {
    case Attribute::Kind::Int: return Val::num(a.i);
    case Attribute::Kind::Float: return Val::real(a.f);
    case Attribute::Kind::String: v.kind = Val::Kind::String; v.s = a.s; return v;
    case Attribute::Kind::Ints:
      v.kind = Val::Kind::List;
      for (int64_t x : a.ints) v.list.push_back(Val::num(x));
      return v;
    case Attribute::Kind::Floats:
      v.kind = Val::Kind::List;
      for (float x : a.floats) v.list.push_back(Val::real(x));
      return v;
    default: ADD_FAILURE() << "attribute kind not supported in rule tests"; return v;
  }
}

inline Attribute to_attribute(const std::string& name, const Val& v) {
  switch (v.kind) {
    case Val::Kind::Int: return Attribute::make_int(name, v.i);
    case Val::Kind::Float: return Attribute::make_float(name, float(v.f));
    case Val::Kind::String: return Attribute::make_string(name, v.s);
    case Val::Kind::List: {
      bool ints = true;
      for (const Val& e : v.list) ints &= e.kind == Val::Kind::Int;
      if (ints) {
        std::vector<int64_t> xs;
        for (const Val& e : v.list) xs.push_back(e.i);
        return Attribute::make_ints(name, xs);
      }
      std::vector<float> xs;
      for (const Val& e : v.list) xs.push_back(float(e.number()));
      return Attribute::make_floats(name, xs);
    }
    default: break;
  }
  throw std::runtime_error("attribute '" + name + "' has no attribute value");
}

// `#c(...)`: a number is a scalar, a list a 1-D tensor (int64 when all elements are integers).
inline Tensor to_tensor(const Val& v) {
  if (v.kind == Val::Kind::Int) return Tensor::scalar<int64_t>(v.i);
  if (v.kind == Val::Kind::Float) return Tensor::scalar<float>(float(v.f));
  if (v.kind != Val::Kind::List) throw std::runtime_error("#c() of a non-number");
  bool ints = true;
  for (const Val& e : v.list) ints &= e.kind == Val::Kind::Int;
  const int64_t n = int64_t(v.list.size());
  if (ints) {
    std::vector<int64_t> xs;
    for (const Val& e : v.list) xs.push_back(e.i);
    return Tensor::from_vector<int64_t>({n}, xs);
  }
  std::vector<float> xs;
  for (const Val& e : v.list) xs.push_back(float(e.number()));
  return Tensor::from_vector<float>({n}, xs);
}

class Builder {
 public:
  Builder(const RuleBindings& b, Model& m) : b_(b), m_(m), rng_(b.seed) {}

  // Emits the pattern's nodes; returns the name of the value it computes.
  std::string emit(const rules::PatternAst& p) {
    using K = rules::PatternAst::Kind;
    if (p.kind == K::Var) return term(p.name);
    if (p.kind == K::Const) {
      const std::string c = "const" + std::to_string(counter_++);
      m_.graph.initializers.push_back({c, to_tensor(eval(p.constant)), ""});
      return node("Identity", {c}, {});
    }
    std::vector<std::string> in;
    for (const rules::PatternAst& c : p.children) in.push_back(emit(c));
    std::vector<Attribute> attrs;
    for (const rules::Attr& a : p.attrs) {
      const Val v = eval(a.value);
      if (a.name == "*") {
        if (v.kind != Val::Kind::Attrs) throw std::runtime_error("*= needs an attribute-set variable");
        for (const Attribute& x : v.attrs) attrs.push_back(x);
        continue;
      }
      std::erase_if(attrs, [&](const Attribute& x) { return x.name == a.name; });
      attrs.push_back(to_attribute(a.name, v));
    }
    return node(p.name, in, attrs);
  }

  Val eval(const rules::Expr& e) {
    using K = rules::Expr::Kind;
    switch (e.kind) {
      case K::Int: return Val::num(e.int_value);
      case K::Float: return Val::real(e.float_value);
      case K::String: {
        Val v;
        v.kind = Val::Kind::String;
        v.s = e.text;
        return v;
      }
      case K::List: {
        Val v;
        v.kind = Val::Kind::List;
        for (const rules::Expr& x : e.args) v.list.push_back(eval(x));
        return v;
      }
      case K::Var: {
        if (auto it = b_.attr_sets.find(e.text); it != b_.attr_sets.end()) {
          Val v;
          v.kind = Val::Kind::Attrs;
          v.attrs = it->second;
          return v;
        }
        if (auto it = b_.attrs.find(e.text); it != b_.attrs.end()) return from_attribute(it->second);
        Val v;
        v.kind = Val::Kind::Term;
        v.s = e.text;
        return v;
      }
      case K::Index: {
        const Val base = eval(e.args[0]), idx = eval(e.args[1]);
        const int64_t n = int64_t(base.list.size());
        const int64_t i = idx.i < 0 ? idx.i + n : idx.i;
        if (base.kind != Val::Kind::List || i < 0 || i >= n) throw std::runtime_error("bad index in " + e.str());
        return base.list[size_t(i)];
      }
      case K::Unary: {
        const Val x = eval(e.args[0]);
        if (e.text == "!") return Val::num(!truthy(x));
        return x.kind == Val::Kind::Int ? Val::num(-x.i) : Val::real(-x.f);
      }
      case K::Binary: {
        const Val x = eval(e.args[0]), y = eval(e.args[1]);
        const std::string& op = e.text;
        if (op == "&&") return Val::num(truthy(x) && truthy(y));
        if (op == "||") return Val::num(truthy(x) || truthy(y));
        if (op == "==") return Val::num(x == y);
        if (op == "!=") return Val::num(!(x == y));
        const bool ints = x.kind == Val::Kind::Int && y.kind == Val::Kind::Int;
        if (op == "<") return Val::num(x.number() < y.number());
        if (op == "<=") return Val::num(x.number() <= y.number());
        if (op == ">") return Val::num(x.number() > y.number());
        if (op == ">=") return Val::num(x.number() >= y.number());
        if (op == "+") return ints ? Val::num(x.i + y.i) : Val::real(x.number() + y.number());
        if (op == "-") return ints ? Val::num(x.i - y.i) : Val::real(x.number() - y.number());
        if (op == "*") return ints ? Val::num(x.i * y.i) : Val::real(x.number() * y.number());
        if (op == "/") return ints ? Val::num(x.i / y.i) : Val::real(x.number() / y.number());
        if (op == "%") return Val::num(x.i % y.i);
        throw std::runtime_error("operator " + op);
      }
      case K::Call: return call(e);
    }
    throw std::runtime_error("expression " + e.str());
  }

  std::string term(const std::string& var) {
    const std::string name = "v_" + var.substr(1);
    if (declared_.insert(var).second) {
      auto s = b_.shapes.find(var);
      if (s == b_.shapes.end()) throw std::runtime_error("no shape for " + var);
      Tensor t = value(var, s->second);
      if (b_.weights.count(var)) {
        m_.graph.initializers.push_back({name, t, ""});
      } else {
        m_.graph.inputs.push_back({name, TensorType::of(t.dtype(), t.shape())});
        feeds_[name] = t;
      }
    }
    return name;
  }
  const std::map<std::string, Tensor>& feeds() const { return feeds_; }

 private:
  static bool truthy(const Val& v) { return v.is_number() ? v.number() != 0 : !v.list.empty(); }

  Tensor value(const std::string& var, const Shape& shape) {
    if (auto it = b_.values.find(var); it != b_.values.end()) return it->second;
    Tensor t(DType::Float, shape);
    std::uniform_real_distribution<float> d(b_.lo, b_.hi);
    float* p = t.mutable_data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng_);
    return t;
  }
  Shape shape_of(const Val& v) {
    if (v.kind != Val::Kind::Term) throw std::runtime_error("shape of a non-term");
    auto it = b_.values.find(v.s);
    if (it != b_.values.end()) return it->second.shape();
    return b_.shapes.at(v.s);
  }
  static Val list_of(const std::vector<int64_t>& xs) {
    Val r;
    r.kind = Val::Kind::List;
    for (int64_t x : xs) r.list.push_back(Val::num(x));
    return r;
  }
  static std::vector<int64_t> ints_of(const Val& v) {
    std::vector<int64_t> r;
    for (const Val& e : v.list) r.push_back(e.i);
    return r;
  }

  Val call(const rules::Expr& e) {
    std::vector<Val> a;
    for (const rules::Expr& x : e.args) a.push_back(eval(x));
    const std::string& f = e.text;
    if (f == "rank") return Val::num(int64_t(shape_of(a[0]).size()));
    if (f == "shape") return list_of(shape_of(a[0]));
    if (f == "dim") {
      const Shape s = shape_of(a[0]);
      const int64_t i = a[1].i < 0 ? a[1].i + int64_t(s.size()) : a[1].i;
      return Val::num(s.at(size_t(i)));
    }
    if (f == "numel") {
      int64_t n = 1;
      for (int64_t d : shape_of(a[0])) n *= d;
      return Val::num(n);
    }
    if (f == "len") return Val::num(int64_t(a[0].list.size()));
    if (f == "value") {
      const Tensor& t = b_.values.at(a[0].s);
      Val r;
      r.kind = Val::Kind::List;
      for (int64_t i = 0; i < t.numel(); ++i)
        r.list.push_back(is_floating(t.dtype()) ? Val::real(t.as_double(i)) : Val::num(int64_t(t.as_double(i))));
      return r;
    }
    if (f == "attr") {
      for (const Attribute& x : a[0].attrs)
        if (x.name == a[1].s) return from_attribute(x);
      return a[2];
    }
    if (f == "compose") {
      const std::vector<int64_t> p = ints_of(a[0]), q = ints_of(a[1]);
      std::vector<int64_t> r;
      for (int64_t i : q) r.push_back(p.at(size_t(i)));
      return list_of(r);
    }
    if (f == "inverse_perm") {
      const std::vector<int64_t> p = ints_of(a[0]);
      std::vector<int64_t> r(p.size());
      for (size_t i = 0; i < p.size(); ++i) r.at(size_t(p[i])) = int64_t(i);
      return list_of(r);
    }
    if (f == "index_of") {
      const std::vector<int64_t> p = ints_of(a[0]);
      auto find = [&](int64_t v) {
        if (v < 0) v += int64_t(p.size());
        for (size_t i = 0; i < p.size(); ++i)
          if (p[i] == v) return int64_t(i);
        throw std::runtime_error("index_of: value not in list");
      };
      if (a[1].kind != Val::Kind::List) return Val::num(find(a[1].i));
      std::vector<int64_t> r;
      for (const Val& v : a[1].list) r.push_back(find(v.i));
      return list_of(r);
    }
    if (f == "gather") {
      Val r;
      r.kind = Val::Kind::List;
      const int64_t n = int64_t(a[0].list.size());
      for (const Val& v : a[1].list) r.list.push_back(a[0].list.at(size_t(v.i < 0 ? v.i + n : v.i)));
      return r;
    }
    if (f == "pad_left") {
      Val r;
      r.kind = Val::Kind::List;
      r.list.assign(size_t(a[1].i) - a[0].list.size(), a[2]);
      r.list.insert(r.list.end(), a[0].list.begin(), a[0].list.end());
      return r;
    }
    throw std::runtime_error("function " + f + " is not supported by the rule-graph builder");
  }

  std::string node(const std::string& op, const std::vector<std::string>& in, const std::vector<Attribute>& attrs) {
    Node n;
    const auto dot = op.rfind('.');
    if (dot != std::string::npos) {
      n.domain = op.substr(0, dot);
      n.op_type = op.substr(dot + 1);
    } else {
      n.op_type = op;
    }
    n.inputs = in;
    n.outputs = {"t" + std::to_string(counter_++)};
    n.name = n.outputs[0];
    n.attributes = attrs;
    m_.graph.nodes.push_back(n);
    return n.outputs[0];
  }

  const RuleBindings& b_;
  Model& m_;
  std::mt19937 rng_;
  std::set<std::string> declared_;
  std::map<std::string, Tensor> feeds_;
  int counter_ = 0;
};

}  // namespace rule_graph_detail

// A directed rule's two sides as one model: the outputs are the left patterns' values, then the
// right patterns'. `feeds` receives the random values of the inputs.
inline Model rule_model(const rules::Rule& rule, const RuleBindings& b, std::map<std::string, Tensor>* feeds = nullptr) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", b.opset}, {"eqopt", 1}};
  m.graph.name = rule.name;
  rule_graph_detail::Builder builder(b, m);
  std::vector<std::string> outs;
  for (const rules::PatternAst& p : rule.lhs) outs.push_back(builder.emit(p));
  for (const rules::PatternAst& p : rule.rhs) outs.push_back(builder.emit(p));
  // Each side's value is an output under its own name (a bare-variable side is that input).
  for (const std::string& o : outs) m.graph.outputs.push_back({o, TensorType{DType::Float, std::nullopt}});
  if (feeds) *feeds = builder.feeds();
  return m;
}

struct RuleCheck {
  size_t patterns = 0;
  bool joined_before = false;  // every left value already in its right value's class after import
  bool joined_after = false;   // ... after saturating with the rule
  double max_error = 0;        // largest |lhs - rhs| / (atol + rtol |rhs|) over all elements
  std::string detail;
};

// Runs both sides on the interpreter and compares them (error measured against atol + rtol*|rhs|),
// then saturates the imported model with this one directed rule, or with `saturate_with` (for an
// equation that several rules prove together) for up to `iterations` iterations.
inline RuleCheck check_rule(const rules::Rule& rule, const RuleBindings& b, double rtol, double atol,
                            const std::vector<rules::Rule>& saturate_with = {}, size_t iterations = 3) {
  RuleCheck r;
  r.patterns = rule.lhs.size();
  std::map<std::string, Tensor> feeds;
  const Model m = rule_model(rule, b, &feeds);
  const std::vector<Tensor> out = Interpreter(m).run(feeds);
  for (size_t i = 0; i < r.patterns; ++i) {
    const Tensor &x = out[i], &y = out[r.patterns + i];
    if (x.shape() != y.shape() || x.dtype() != y.dtype()) {
      r.max_error = INFINITY;
      r.detail = "sides differ in shape or dtype";
      continue;
    }
    for (int64_t k = 0; k < x.numel(); ++k) {
      const double a = x.as_double(k), c = y.as_double(k);
      const double err = std::isnan(a) || std::isnan(c) ? INFINITY : std::abs(a - c) / (atol + rtol * std::abs(c));
      if (err > r.max_error) {
        r.max_error = err;
        std::ostringstream os;
        os << "output " << i << " element " << k << ": left " << a << ", right " << c;
        r.detail = os.str();
      }
    }
  }
  opt::TensorProgram program(m);
  auto joined = [&] {
    const auto& cls = program.output_classes();
    bool all = true;
    for (size_t i = 0; i < r.patterns; ++i)
      all &= program.egraph().find(cls[i]) == program.egraph().find(cls[r.patterns + i]);
    return all;
  };
  r.joined_before = joined();
  rules::Rule directed = rule;
  directed.bidirectional = false;
  const opt::CompiledRules compiled =
      opt::compile_rules(program, saturate_with.empty() ? std::vector<rules::Rule>{directed} : saturate_with);
  eg::RunnerLimits limits;
  limits.iterations = iterations;
  limits.nodes = 20000;
  limits.seconds = 5;
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), limits, eg::SchedulerKind::Simple);
  runner.run(compiled.rewrites);
  r.joined_after = joined();
  return r;
}

// Directed rules of a rule file (bidirectional ones as NAME and NAME-rev).
inline std::vector<rules::Rule> directed_rules(const std::string& path) {
  return rules::expand_bidirectional(rules::load_rule_file(path));
}

}  // namespace eqopt::test
