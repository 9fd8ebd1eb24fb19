#include "verify/guard_eval.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "optimizer/rule_compiler.h"

namespace eqopt::verify::guard {

using rules::Expr;

Value Value::of_int(int64_t v) {
  Value x;
  x.i = v;
  return x;
}
Value Value::of_float(double v) {
  Value x;
  x.kind = Kind::Float;
  x.f = v;
  return x;
}
Value Value::of_string(std::string v) {
  Value x;
  x.kind = Kind::String;
  x.s = std::move(v);
  return x;
}
Value Value::of_list(std::vector<Value> v) {
  Value x;
  x.kind = Kind::List;
  x.list = std::move(v);
  return x;
}
Value Value::of_ints(const std::vector<int64_t>& v) {
  Value x;
  x.kind = Kind::List;
  for (int64_t e : v) x.list.push_back(of_int(e));
  return x;
}

std::string Value::str() const {
  std::ostringstream os;
  switch (kind) {
    case Kind::Int: os << i; break;
    case Kind::Float: os << f; break;
    case Kind::String: os << '"' << s << '"'; break;
    case Kind::Term: os << s; break;
    case Kind::List:
      os << '[';
      for (size_t k = 0; k < list.size(); ++k) os << (k ? ", " : "") << list[k].str();
      os << ']';
      break;
    case Kind::Attrs: os << "{" << attrs.size() << " attributes}"; break;
  }
  return os.str();
}

namespace {

bool same_attribute(const Attribute& x, const Attribute& y) {
  return x.name == y.name && x.kind == y.kind && x.i == y.i && x.f == y.f && x.s == y.s && x.ints == y.ints &&
         x.floats == y.floats;
}

}  // namespace

// Numbers compare by value whatever their kind; attribute sets as sets (order does not matter).
bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.number() == b.number();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::String:
    case Value::Kind::Term: return a.s == b.s;
    case Value::Kind::List: return a.list == b.list;
    case Value::Kind::Attrs: {
      if (a.attrs.size() != b.attrs.size()) return false;
      std::vector<Attribute> x = a.attrs, y = b.attrs;
      auto by_name = [](const Attribute& p, const Attribute& q) { return p.name < q.name; };
      std::sort(x.begin(), x.end(), by_name);
      std::sort(y.begin(), y.end(), by_name);
      for (size_t k = 0; k < x.size(); ++k)
        if (!same_attribute(x[k], y[k])) return false;
      return true;
    }
    default: return false;
  }
}

// As the compiler: a number is true when non-zero, anything else when it is a non-empty list.
bool truthy(const Value& v) { return v.is_number() ? v.number() != 0 : !v.list.empty(); }

Value from_attribute(const Attribute& a) {
  switch (a.kind) {
    case Attribute::Kind::Int: return Value::of_int(a.i);
    case Attribute::Kind::Float: return Value::of_float(a.f);
    case Attribute::Kind::String: return Value::of_string(a.s);
    case Attribute::Kind::Ints: return Value::of_ints(a.ints);
    case Attribute::Kind::Floats: {
      Value v;
      v.kind = Value::Kind::List;
      for (float x : a.floats) v.list.push_back(Value::of_float(x));
      return v;
    }
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
      for (const Value& e : v.list) {
        if (!e.is_number()) throw Unknown{};
        all_int &= e.kind == Value::Kind::Int;
      }
      if (all_int) {
        std::vector<int64_t> xs;
        for (const Value& e : v.list) xs.push_back(e.i);
        return Attribute::make_ints(name, xs);
      }
      std::vector<float> xs;
      for (const Value& e : v.list) xs.push_back(float(e.number()));
      return Attribute::make_floats(name, xs);
    }
    default: throw Unknown{};
  }
}

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

void check_functions(const Expr& e, const rules::Rule& rule) {
  static const std::set<std::string> known = [] {
    std::set<std::string> s;
    for (const std::string& f : opt::guard_function_names()) s.insert(f);
    return s;
  }();
  if (e.kind == Expr::Kind::Call && !known.count(e.text))
    fail(rule.file, ":", e.line, ":", e.column, ": unknown guard function '", e.text, "'");
  for (const Expr& a : e.args) check_functions(a, rule);
}

namespace {

// What a guard may read about a term variable.
struct Term {
  DType dtype = DType::Float;
  Shape shape;
  const Tensor* value = nullptr;
  bool weight = false;
  bool initializer = false;
};

Term term_of(const Value& v, const Env& env) {
  if (v.kind != Value::Kind::Term) throw Unknown{};
  Term t;
  if (v.s == "?root") {
    if (!env.root) throw Unknown{};
    const auto shape = env.root->type.static_shape();
    if (!shape) throw Unknown{};
    t.dtype = env.root->type.dtype;
    t.shape = *shape;
    t.weight = env.root->weight;
    return t;
  }
  const Instance& in = *env.instance;
  auto s = in.shapes.find(v.s);
  if (s == in.shapes.end()) throw Unknown{};
  t.shape = s->second;
  if (auto d = in.dtypes.find(v.s); d != in.dtypes.end()) t.dtype = d->second;
  if (auto x = in.values.find(v.s); x != in.values.end()) t.value = &x->second;
  // A leaf with a known value is one of the model's initializers, as is a symbolic weight.
  t.initializer = t.value || in.weights.count(v.s);
  t.weight = t.initializer;
  return t;
}

std::vector<int64_t> int_list(const Value& v) {
  if (v.kind != Value::Kind::List) throw Unknown{};
  std::vector<int64_t> r;
  for (const Value& e : v.list) {
    if (e.kind != Value::Kind::Int) throw Unknown{};
    r.push_back(e.i);
  }
  return r;
}

// A constant's elements as a flat list (small constants only, as the compiler).
Value value_list(const Term& t) {
  if (!t.value || t.value->numel() > 4096 || t.value->dtype() == DType::String) throw Unknown{};
  Value v;
  v.kind = Value::Kind::List;
  for (int64_t i = 0; i < t.value->numel(); ++i)
    v.list.push_back(is_floating(t.value->dtype()) ? Value::of_float(t.value->as_double(i))
                                                   : Value::of_int(t.value->as_int64(i)));
  return v;
}

Value call(const Expr& e, const Env& env) {
  std::vector<Value> a;
  for (const Expr& x : e.args) a.push_back(eval(x, env));
  const std::string& f = e.text;
  const std::string file = env.rule ? env.rule->file : std::string("<rule>");
  auto need = [&](size_t n) {
    if (a.size() != n) fail(file, ":", e.line, ":", e.column, ": ", f, " takes ", n, " arguments");
  };
  if (f == "rank") {
    need(1);
    return Value::of_int(int64_t(term_of(a[0], env).shape.size()));
  }
  if (f == "dim") {
    need(2);
    const Shape s = term_of(a[0], env).shape;
    if (!a[1].is_number()) throw Unknown{};
    int64_t i = int64_t(a[1].number());
    if (i < 0) i += int64_t(s.size());
    if (i < 0 || i >= int64_t(s.size())) throw Unknown{};
    return Value::of_int(s[size_t(i)]);
  }
  if (f == "shape") {
    need(1);
    return Value::of_ints(term_of(a[0], env).shape);
  }
  if (f == "static") {
    need(1);
    term_of(a[0], env);  // instances have static shapes only
    return Value::of_bool(true);
  }
  if (f == "numel") {
    need(1);
    int64_t n = 1;
    for (int64_t d : term_of(a[0], env).shape) n *= d;
    return Value::of_int(n);
  }
  if (f == "dtype") {
    need(1);
    return Value::of_string(std::string(dtype_short_name(term_of(a[0], env).dtype)));
  }
  if (f == "const") {
    need(1);
    const Term t = term_of(a[0], env);
    const bool root_const = a[0].s == "?root" && env.root && env.root->constant;
    return Value::of_bool(t.value != nullptr || root_const);
  }
  if (f == "weight") {
    need(1);
    return Value::of_bool(term_of(a[0], env).weight);
  }
  if (f == "value") {
    need(1);
    return value_list(term_of(a[0], env));
  }
  if (f == "scalar") {
    need(1);
    const Value v = value_list(term_of(a[0], env));
    if (v.list.size() != 1) throw Unknown{};
    return v.list[0];
  }
  if (f == "outputs") {
    need(1);
    term_of(a[0], env);  // an instance's values are single tensors
    return Value::of_int(1);
  }
  if (f == "broadcastable") {
    // Whether b broadcasts to a's shape unidirectionally (b's dims are 1 or equal, right-aligned).
    need(2);
    const std::vector<int64_t> x = a[0].kind == Value::Kind::Term ? term_of(a[0], env).shape : int_list(a[0]);
    const std::vector<int64_t> y = a[1].kind == Value::Kind::Term ? term_of(a[1], env).shape : int_list(a[1]);
    if (y.size() > x.size()) return Value::of_bool(false);
    for (size_t k = 0; k < y.size(); ++k) {
      const int64_t dy = y[y.size() - 1 - k], dx = x[x.size() - 1 - k];
      if (dy != 1 && dy != dx) return Value::of_bool(false);
    }
    return Value::of_bool(true);
  }
  if (f == "compose") {
    // compose(p, q)[i] = p[q[i]]: Transpose(perm=q) of Transpose(perm=p) is Transpose(perm=compose(p, q)).
    need(2);
    const std::vector<int64_t> p = int_list(a[0]), q = int_list(a[1]);
    if (p.size() != q.size()) throw Unknown{};
    std::vector<int64_t> r;
    for (int64_t i : q) {
      if (i < 0 || i >= int64_t(p.size())) throw Unknown{};
      r.push_back(p[size_t(i)]);
    }
    return Value::of_ints(r);
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
    for (const Value& x : a[0].list)
      if (!(x == a[1])) return Value::of_bool(false);
    return Value::of_bool(true);
  }
  if (f == "contains") {
    need(2);
    if (a[0].kind != Value::Kind::List) throw Unknown{};
    for (const Value& x : a[0].list)
      if (x == a[1]) return Value::of_bool(true);
    return Value::of_bool(false);
  }
  if (f == "len") {
    need(1);
    if (a[0].kind != Value::Kind::List) throw Unknown{};
    return Value::of_int(int64_t(a[0].list.size()));
  }
  if (f == "attr") {
    // attr(?k, "name", default): an attribute of an `{*=?k}` binding, the default when absent.
    need(3);
    if (a[0].kind != Value::Kind::Attrs || a[1].kind != Value::Kind::String) throw Unknown{};
    for (const Attribute& x : a[0].attrs)
      if (x.name == a[1].s) return from_attribute(x);
    return a[2];
  }
  if (f == "inverse_perm") {
    need(1);
    const std::vector<int64_t> p = int_list(a[0]);
    std::vector<int64_t> inv(p.size(), -1);
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] < 0 || p[i] >= int64_t(p.size()) || inv[size_t(p[i])] != -1) throw Unknown{};
      inv[size_t(p[i])] = int64_t(i);
    }
    return Value::of_ints(inv);
  }
  if (f == "index_of") {
    // index_of(list, v): v's position in list (each element of a list v); a negative integer v
    // counts from the end.
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
    if (a.size() != 2 && a.size() != 3) fail(file, ":", e.line, ":", e.column, ": approx takes 2 or 3 arguments");
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
    need(1);
    const Term t = term_of(a[0], env);
    return Value::of_bool(a[0].s != "?root" && t.initializer);
  }
  fail(file, ":", e.line, ":", e.column, ": unknown guard function '", f, "'");
}

}  // namespace

Value eval(const Expr& e, const Env& env) {
  switch (e.kind) {
    case Expr::Kind::Int: return Value::of_int(e.int_value);
    case Expr::Kind::Float: return Value::of_float(e.float_value);
    case Expr::Kind::String: return Value::of_string(e.text);
    case Expr::Kind::List: {
      Value v;
      v.kind = Value::Kind::List;
      for (const Expr& x : e.args) v.list.push_back(eval(x, env));
      return v;
    }
    case Expr::Kind::Var: {
      const Instance& in = *env.instance;
      if (auto it = in.attr_sets.find(e.text); it != in.attr_sets.end()) {
        Value v;
        v.kind = Value::Kind::Attrs;
        v.attrs = it->second;
        return v;
      }
      if (auto it = in.attrs.find(e.text); it != in.attrs.end()) return from_attribute(it->second);
      if (e.text == "?root" || in.shapes.count(e.text)) {
        Value v;
        v.kind = Value::Kind::Term;
        v.s = e.text;
        return v;
      }
      throw Unknown{};  // not bound (yet)
    }
    case Expr::Kind::Call: return call(e, env);
    case Expr::Kind::Index: {
      const Value base = eval(e.args[0], env), idx = eval(e.args[1], env);
      if (base.kind != Value::Kind::List || idx.kind != Value::Kind::Int) throw Unknown{};
      const int64_t i = idx.i < 0 ? idx.i + int64_t(base.list.size()) : idx.i;
      if (i < 0 || i >= int64_t(base.list.size())) throw Unknown{};
      return base.list[size_t(i)];
    }
    case Expr::Kind::Unary: {
      const Value x = eval(e.args[0], env);
      if (e.text == "!") return Value::of_bool(!truthy(x));
      if (x.kind == Value::Kind::Int) return Value::of_int(-x.i);
      if (x.kind == Value::Kind::Float) return Value::of_float(-x.f);
      throw Unknown{};
    }
    case Expr::Kind::Binary: {
      const std::string& op = e.text;
      if (op == "&&") return Value::of_bool(truthy(eval(e.args[0], env)) && truthy(eval(e.args[1], env)));
      if (op == "||") return Value::of_bool(truthy(eval(e.args[0], env)) || truthy(eval(e.args[1], env)));
      const Value x = eval(e.args[0], env), y = eval(e.args[1], env);
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

bool holds(const Expr& guard, const Env& env) {
  try {
    return truthy(eval(guard, env));
  } catch (const Unknown&) {
    return false;
  }
}

}  // namespace eqopt::verify::guard
