#include "rules/guard.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cmath>
#include <set>
#include <sstream>

#include "support/error.h"

namespace eqopt::rules::guard {

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
Value Value::of_term(uint64_t handle, std::string name) {
  Value x;
  x.kind = Kind::Term;
  x.term = handle;
  x.s = std::move(name);
  return x;
}

std::string Value::str() const {
  std::ostringstream os;
  switch (kind) {
    case Kind::Int: os << i; break;
    case Kind::Float: os << f; break;
    case Kind::String: os << '"' << s << '"'; break;
    case Kind::Term:
      if (s.empty()) os << "term " << term;
      else os << s;
      break;
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

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.number() == b.number();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::String: return a.s == b.s;
    case Value::Kind::Term: return a.term == b.term && a.s == b.s;
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

const std::vector<std::string>& function_names() {
  static const std::vector<std::string> names = {
      "all_eq", "approx", "attr", "broadcastable", "compose", "const", "contains", "dim", "dtype",
      "gather", "index_of", "initializer", "inverse_perm", "is_identity_perm", "len", "numel", "outputs",
      "pad_left", "rank", "scalar", "shape", "sqrt", "static", "value", "weight"};
  return names;
}

void check_functions(const Expr& e, const Rule& rule) {
  static const std::set<std::string> known(function_names().begin(), function_names().end());
  if (e.kind == Expr::Kind::Call && !known.count(e.text))
    fail(rule.file, ":", e.line, ":", e.column, ": unknown guard function '", e.text, "'");
  for (const Expr& a : e.args) check_functions(a, rule);
}

void check_pattern_functions(const PatternAst& p, const Rule& rule) {
  for (const Attr& a : p.attrs) check_functions(a.value, rule);
  if (p.kind == PatternAst::Kind::Const) check_functions(p.constant, rule);
  for (const PatternAst& c : p.children) check_pattern_functions(c, rule);
}

namespace {

std::vector<int64_t> int_list(const Value& v) {
  if (v.kind != Value::Kind::List) throw Unknown{};
  std::vector<int64_t> r;
  for (const Value& e : v.list) {
    if (e.kind != Value::Kind::Int) throw Unknown{};
    r.push_back(e.i);
  }
  return r;
}

// A constant's elements as a flat list (small constants only).
Value value_list(const Tensor* t) {
  if (!t || t->numel() > 4096 || t->dtype() == DType::String) throw Unknown{};
  Value v;
  v.kind = Value::Kind::List;
  for (int64_t i = 0; i < t->numel(); ++i)
    v.list.push_back(is_floating(t->dtype()) ? Value::of_float(t->as_double(i)) : Value::of_int(t->as_int64(i)));
  return v;
}

const Value& term_arg(const Value& v) {
  if (v.kind != Value::Kind::Term) throw Unknown{};
  return v;
}

// A term's type with a known rank.
TensorType ranked_type(const Reader& r, const Value& v) {
  TensorType t = r.type(term_arg(v));
  if (!t.dims) throw Unknown{};
  return t;
}

// A term's shape, every dim known.
Shape shape_of(const Reader& r, const Value& v) {
  const auto s = r.type(term_arg(v)).static_shape();
  if (!s) throw Unknown{};
  return *s;
}

struct Context {
  const Reader& reader;
  const Rule* rule;
};

Value eval_in(const Expr& e, const Context& cx);

Value call(const Expr& e, const Context& cx) {
  std::vector<Value> a;
  for (const Expr& x : e.args) a.push_back(eval_in(x, cx));
  const Reader& r = cx.reader;
  const std::string& f = e.text;
  const std::string file = cx.rule ? cx.rule->file : std::string("<rule>");
  auto need = [&](size_t n) {
    if (a.size() != n) fail(file, ":", e.line, ":", e.column, ": ", f, " takes ", n, " arguments");
  };
  if (f == "rank") {
    need(1);
    return Value::of_int(int64_t(ranked_type(r, a[0]).dims->size()));
  }
  if (f == "dim") {
    need(2);
    const TensorType t = ranked_type(r, a[0]);
    if (!a[1].is_number()) throw Unknown{};
    int64_t i = int64_t(a[1].number());
    if (i < 0) i += int64_t(t.dims->size());
    if (i < 0 || i >= int64_t(t.dims->size()) || !(*t.dims)[size_t(i)].known()) throw Unknown{};
    return Value::of_int((*t.dims)[size_t(i)].value);
  }
  if (f == "shape") {
    need(1);
    return Value::of_ints(shape_of(r, a[0]));
  }
  if (f == "static") {
    need(1);
    return Value::of_bool(r.type(term_arg(a[0])).is_static());
  }
  if (f == "numel") {
    need(1);
    int64_t n = 1;
    for (int64_t d : shape_of(r, a[0])) n *= d;
    return Value::of_int(n);
  }
  if (f == "dtype") {
    need(1);
    return Value::of_string(std::string(dtype_short_name(r.type(term_arg(a[0])).dtype)));
  }
  if (f == "const") {
    need(1);
    return Value::of_bool(r.is_const(term_arg(a[0])));
  }
  if (f == "weight") {
    need(1);
    return Value::of_bool(r.is_weight(term_arg(a[0])));
  }
  if (f == "value") {
    need(1);
    return value_list(r.value(term_arg(a[0])));
  }
  if (f == "scalar") {
    need(1);
    const Value v = value_list(r.value(term_arg(a[0])));
    if (v.list.size() != 1) throw Unknown{};
    return v.list[0];
  }
  if (f == "outputs") {
    need(1);
    return Value::of_int(r.outputs(term_arg(a[0])));
  }
  if (f == "broadcastable") {
    // Whether b broadcasts to a's shape unidirectionally (b's dims are 1 or equal, right-aligned).
    need(2);
    const std::vector<int64_t> x = a[0].kind == Value::Kind::Term ? shape_of(r, a[0]) : int_list(a[0]);
    const std::vector<int64_t> y = a[1].kind == Value::Kind::Term ? shape_of(r, a[1]) : int_list(a[1]);
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
    // Whether the term holds a weight of the model (an initializer or Constant node), not only a
    // value that rules computed: multi-pattern merges use it so merged weights do not merge again.
    need(1);
    return Value::of_bool(r.is_initializer(term_arg(a[0])));
  }
  fail(file, ":", e.line, ":", e.column, ": unknown guard function '", f, "'");
}

Value eval_in(const Expr& e, const Context& cx) {
  switch (e.kind) {
    case Expr::Kind::Int: return Value::of_int(e.int_value);
    case Expr::Kind::Float: return Value::of_float(e.float_value);
    case Expr::Kind::String: return Value::of_string(e.text);
    case Expr::Kind::List: {
      Value v;
      v.kind = Value::Kind::List;
      for (const Expr& x : e.args) v.list.push_back(eval_in(x, cx));
      return v;
    }
    case Expr::Kind::Var: return cx.reader.variable(e.text);
    case Expr::Kind::Call: return call(e, cx);
    case Expr::Kind::Index: {
      const Value base = eval_in(e.args[0], cx), idx = eval_in(e.args[1], cx);
      if (base.kind != Value::Kind::List || idx.kind != Value::Kind::Int) throw Unknown{};
      const int64_t i = idx.i < 0 ? idx.i + int64_t(base.list.size()) : idx.i;
      if (i < 0 || i >= int64_t(base.list.size())) throw Unknown{};
      return base.list[size_t(i)];
    }
    case Expr::Kind::Unary: {
      const Value x = eval_in(e.args[0], cx);
      if (e.text == "!") return Value::of_bool(!truthy(x));
      if (x.kind == Value::Kind::Int) return Value::of_int(-x.i);
      if (x.kind == Value::Kind::Float) return Value::of_float(-x.f);
      throw Unknown{};
    }
    case Expr::Kind::Binary: {
      const std::string& op = e.text;
      if (op == "&&") return Value::of_bool(truthy(eval_in(e.args[0], cx)) && truthy(eval_in(e.args[1], cx)));
      if (op == "||") return Value::of_bool(truthy(eval_in(e.args[0], cx)) || truthy(eval_in(e.args[1], cx)));
      const Value x = eval_in(e.args[0], cx), y = eval_in(e.args[1], cx);
      if (op == "==") return Value::of_bool(x == y);
      if (op == "!=") return Value::of_bool(!(x == y));
      if (!x.is_number() || !y.is_number()) throw Unknown{};
      const bool ints = x.kind == Value::Kind::Int && y.kind == Value::Kind::Int;
      if (op == "<") return Value::of_bool(x.number() < y.number());
      if (op == "<=") return Value::of_bool(x.number() <= y.number());
      if (op == ">") return Value::of_bool(x.number() > y.number());
      if (op == ">=") return Value::of_bool(x.number() >= y.number());
      // Integer arithmetic that overflows has no value.
      int64_t z = 0;
      if (op == "+") {
        if (!ints) return Value::of_float(x.number() + y.number());
        if (__builtin_add_overflow(x.i, y.i, &z)) throw Unknown{};
        return Value::of_int(z);
      }
      if (op == "-") {
        if (!ints) return Value::of_float(x.number() - y.number());
        if (__builtin_sub_overflow(x.i, y.i, &z)) throw Unknown{};
        return Value::of_int(z);
      }
      if (op == "*") {
        if (!ints) return Value::of_float(x.number() * y.number());
        if (__builtin_mul_overflow(x.i, y.i, &z)) throw Unknown{};
        return Value::of_int(z);
      }
      if (op == "/" || op == "%") {
        if (y.number() == 0) throw Unknown{};
        if (!ints) {
          if (op == "%") throw Unknown{};
          return Value::of_float(x.number() / y.number());
        }
        if (x.i == INT64_MIN && y.i == -1) throw Unknown{};
        return Value::of_int(op == "/" ? x.i / y.i : x.i % y.i);
      }
      throw Unknown{};
    }
  }
  throw Unknown{};
}

}  // namespace

Value eval(const Expr& e, const Reader& reader, const Rule* rule) { return eval_in(e, Context{reader, rule}); }

bool holds(const Expr& guard, const Reader& reader, const Rule* rule) {
  try {
    return truthy(eval(guard, reader, rule));
  } catch (const Unknown&) {
    return false;
  }
}

}  // namespace eqopt::rules::guard
