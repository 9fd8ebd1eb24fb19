#include "verify/sym.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <sstream>

namespace eqopt::verify {

const char* sym_op_name(SymOp op) {
  switch (op) {
    case SymOp::Const: return "const";
    case SymOp::Var: return "var";
    case SymOp::Add: return "+";
    case SymOp::Mul: return "*";
    case SymOp::Neg: return "-";
    case SymOp::Inv: return "inv";
    case SymOp::Max: return "max";
    case SymOp::Min: return "min";
    case SymOp::Select: return "ite";
    case SymOp::Exp: return "exp";
    case SymOp::Log: return "log";
    case SymOp::Erf: return "erf";
    case SymOp::Tanh: return "tanh";
    case SymOp::Sqrt: return "sqrt";
    case SymOp::Pow: return "pow";
    case SymOp::Gt: return ">";
    case SymOp::Ge: return ">=";
    case SymOp::Eq: return "=";
    case SymOp::And: return "and";
    case SymOp::Or: return "or";
    case SymOp::Not: return "not";
    case SymOp::True: return "true";
    case SymOp::False: return "false";
    case SymOp::Round: return "round";
    case SymOp::IntToReal: return "to_real";
    case SymOp::RealToInt: return "to_int";
    case SymOp::IntCast: return "int_cast";
    case SymOp::IDiv: return "idiv";
    case SymOp::IRem: return "irem";
    case SymOp::Shl: return "<<";
    case SymOp::Shr: return ">>";
  }
  return "?";
}

double FloatFormat::overflow() const {
  // Halfway between the largest finite value and the next power of two: ties go to even, which
  // is the power of two, i.e. infinity.
  return max_finite + std::ldexp(1.0, int(std::floor(std::log2(max_finite))) - precision);
}

double FloatFormat::round(double x) const {
  if (!std::isfinite(x) || x == 0) return x;
  if (std::abs(x) >= overflow()) return x > 0 ? INFINITY : -INFINITY;
  int e = 0;
  std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
  const int exp = std::max(e - 1, min_exp);
  const double ulp = std::ldexp(1.0, exp - (precision - 1));
  // x / ulp is exact (a power-of-two scaling); nearbyint rounds half to even.
  return std::nearbyint(x / ulp) * ulp;
}

const FloatFormat* FloatFormat::of_bits(int bits) {
  static const FloatFormat half{16, 11, -14, 65504.0};
  static const FloatFormat single{32, 24, -126, 3.4028234663852886e38};
  static const FloatFormat dbl{64, 53, -1022, 1.7976931348623157e308};
  switch (bits) {
    case 16: return &half;
    case 32: return &single;
    case 64: return &dbl;
    default: return nullptr;
  }
}

bool sym_op_is_bool(SymOp op) {
  switch (op) {
    case SymOp::Gt: case SymOp::Ge: case SymOp::Eq: case SymOp::And: case SymOp::Or: case SymOp::Not:
    case SymOp::True: case SymOp::False:
      return true;
    default: return false;
  }
}

size_t SymCtx::KeyHash::operator()(const Key& k) const {
  size_t h = std::hash<uint64_t>()(k.bits) ^ (size_t(k.op) * 0x9e3779b97f4a7c15ull);
  h ^= std::hash<std::string>()(k.name) + 0x9e3779b9 + (h << 6) + (h >> 2);
  h = h * 31 + k.a;
  h = h * 31 + k.b;
  h = h * 31 + k.c;
  return h;
}

namespace {

// v wrapped to the sort's width: sign-extended for signed sorts, zero-extended for unsigned ones.
int64_t wrap(uint64_t v, SymSort s) {
  if (s.bits >= 64) return int64_t(v);
  const uint64_t mask = (uint64_t(1) << s.bits) - 1;
  v &= mask;
  if (!s.is_unsigned && (v >> (s.bits - 1)) & 1) v |= ~mask;
  return int64_t(v);
}

// The value of wrapped bits as a double (unsigned 64-bit values above 2^63 included).
double int_real(int64_t bits, SymSort s) { return s.is_unsigned ? double(uint64_t(bits)) : double(bits); }

bool int_less(int64_t a, int64_t b, SymSort s) { return s.is_unsigned ? uint64_t(a) < uint64_t(b) : a < b; }

}  // namespace

SymId SymCtx::intern(SymNode n) {
  Key k{n.op, uint64_t(n.index), n.name, n.a, n.b, n.c, uint16_t(n.sort.bits | (n.sort.is_unsigned ? 0x100 : 0))};
  if (n.op == SymOp::Const && !n.sort.integer()) k.bits = std::bit_cast<uint64_t>(n.value == 0 ? 0.0 : n.value);
  auto it = table_.find(k);
  if (it != table_.end()) return it->second;
  if (nodes_.size() >= max_nodes_)
    throw SymLimitError("symbolic evaluation exceeds " + std::to_string(max_nodes_) + " expression nodes");
  const SymId id = SymId(nodes_.size());
  nodes_.push_back(std::move(n));
  table_.emplace(std::move(k), id);
  return id;
}

SymId SymCtx::make(SymOp op, SymId a, SymId b, SymId c, uint8_t arity, SymSort sort, int64_t index) {
  SymNode n;
  n.op = op;
  n.a = a;
  n.b = arity > 1 ? b : 0;
  n.c = arity > 2 ? c : 0;
  n.arity = arity;
  n.sort = sort;
  n.index = index;
  return intern(std::move(n));
}

SymSort SymCtx::unify(SymId& a, SymId& b) {
  const SymSort sa = sort(a), sb = sort(b);
  if (sa == sb) return sa;
  auto convert = [&](SymId& x, SymSort to) {
    if (!is_const(x) || sort(x).integer()) return false;
    const double v = const_value(x);
    if (v != std::floor(v) || std::abs(v) >= 9.2e18) fail("a constant ", v, " beside an integer that is not one");
    x = int_constant(int64_t(v), to);
    return true;
  };
  if (sa.integer() && convert(b, sa)) return sa;
  if (sb.integer() && convert(a, sb)) return sb;
  fail("internal error: operands of different sorts (", str(a, 60), ", ", str(b, 60), ")");
}

int64_t SymCtx::const_int(SymId id) const {
  const SymNode& n = nodes_[id];
  if (n.sort.integer()) return n.index;
  // A real's integer part, where an int64 holds it (callers read integers only from integral reals).
  return std::abs(n.value) < 9.2e18 ? int64_t(n.value) : 0;
}

SymId SymCtx::int_constant(int64_t v, SymSort sort) {
  if (!sort.integer()) return constant(double(v));
  SymNode n;
  n.op = SymOp::Const;
  n.sort = sort;
  n.index = wrap(uint64_t(v), sort);
  n.value = int_real(n.index, sort);
  return intern(std::move(n));
}

SymId SymCtx::int_var(const std::string& name, int64_t index, SymSort sort) {
  SymNode n;
  n.op = SymOp::Var;
  n.name = name;
  n.index = index;
  n.sort = sort;
  return intern(std::move(n));
}

namespace {
void require_real(const SymCtx& s, SymId a, const char* what) {
  if (s.is_int(a)) fail("internal error: ", what, " of an integer (", s.str(a, 60), ")");
}
void require_int(const SymCtx& s, SymId a, const char* what) {
  if (!s.is_int(a)) fail("internal error: ", what, " of a real (", s.str(a, 60), ")");
}
}  // namespace

SymId SymCtx::constant(double v) {
  SymNode n;
  n.op = SymOp::Const;
  n.value = v == 0 ? 0.0 : v;
  return intern(std::move(n));
}

SymId SymCtx::var(const std::string& name, int64_t index) {
  SymNode n;
  n.op = SymOp::Var;
  n.name = name;
  n.index = index;
  return intern(std::move(n));
}

SymId SymCtx::truth(bool v) { return make(v ? SymOp::True : SymOp::False, 0, 0, 0, 0); }

SymId SymCtx::add(SymId a, SymId b) {
  if (const SymSort s = unify(a, b); s.integer()) {
    if (is_const(a) && is_const(b)) return int_constant(int64_t(uint64_t(const_int(a)) + uint64_t(const_int(b))), s);
    if (is_const(a, 0)) return b;
    if (is_const(b, 0)) return a;
    if (a > b) std::swap(a, b);
    return make(SymOp::Add, a, b, 0, 2, s);
  }
  if (is_const(a) && is_const(b)) return constant(const_value(a) + const_value(b));
  if (is_const(a, 0)) return b;
  if (is_const(b, 0)) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Add, a, b, 0, 2);
}

SymId SymCtx::mul(SymId a, SymId b) {
  if (const SymSort s = unify(a, b); s.integer()) {
    if (is_const(a) && is_const(b)) return int_constant(int64_t(uint64_t(const_int(a)) * uint64_t(const_int(b))), s);
    if (is_const(a, 0) || is_const(b, 0)) return int_constant(0, s);
    if (is_const(a, 1)) return b;
    if (is_const(b, 1)) return a;
    if (a > b) std::swap(a, b);
    return make(SymOp::Mul, a, b, 0, 2, s);
  }
  if (is_const(a) && is_const(b)) return constant(const_value(a) * const_value(b));
  if (is_const(a, 0) || is_const(b, 0)) return constant(0);
  if (is_const(a, 1)) return b;
  if (is_const(b, 1)) return a;
  if (is_const(a, -1)) return neg(b);
  if (is_const(b, -1)) return neg(a);
  if (a > b) std::swap(a, b);
  return make(SymOp::Mul, a, b, 0, 2);
}

SymId SymCtx::neg(SymId a) {
  const SymSort s = sort(a);
  if (s.integer() && is_const(a)) return int_constant(int64_t(0 - uint64_t(const_int(a))), s);
  if (is_const(a)) return constant(-const_value(a));
  if (nodes_[a].op == SymOp::Neg) return nodes_[a].a;
  return make(SymOp::Neg, a, 0, 0, 1, s);
}

SymId SymCtx::inv(SymId a) {
  require_real(*this, a, "inv");
  if (is_const(a) && const_value(a) != 0) {
    const double v = const_value(a);
    // Keep 1/v exact where it is (powers of two); otherwise the prover reads Inv(const) as the
    // exact rational 1/v, so the node stays.
    const double r = 1.0 / v;
    int exponent = 0;  // frexp writes the exponent; it may not be null
    const double mantissa = std::frexp(v, &exponent);
    if (mantissa == 0.5 || mantissa == -0.5) return constant(r);
    return make(SymOp::Inv, a);
  }
  if (is_const(a)) conditions_.push_back(truth(false));
  else conditions_.push_back(not_(eq(a, constant(0))));
  return make(SymOp::Inv, a);
}

SymId SymCtx::max(SymId a, SymId b) {
  const SymSort s = unify(a, b);
  if (s.integer() && is_const(a) && is_const(b)) return int_less(const_int(a), const_int(b), s) ? b : a;
  if (is_const(a) && is_const(b)) return constant(std::max(const_value(a), const_value(b)));
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Max, a, b, 0, 2, s);
}

SymId SymCtx::min(SymId a, SymId b) {
  const SymSort s = unify(a, b);
  if (s.integer() && is_const(a) && is_const(b)) return int_less(const_int(a), const_int(b), s) ? a : b;
  if (is_const(a) && is_const(b)) return constant(std::min(const_value(a), const_value(b)));
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Min, a, b, 0, 2, s);
}

SymId SymCtx::select(SymId cond, SymId a, SymId b) {
  if (nodes_[cond].op == SymOp::True) return a;
  if (nodes_[cond].op == SymOp::False) return b;
  const SymSort s = unify(a, b);
  if (a == b) return a;
  return make(SymOp::Select, cond, a, b, 3, s);
}

SymId SymCtx::exp(SymId a) {
  require_real(*this, a, "exp");
  if (is_const(a, 0)) return constant(1);
  return make(SymOp::Exp, a);
}

SymId SymCtx::log(SymId a) {
  require_real(*this, a, "log");
  if (is_const(a, 1)) return constant(0);
  if (is_const(a)) {
    if (const_value(a) <= 0) conditions_.push_back(truth(false));
  } else {
    conditions_.push_back(gt(a, constant(0)));
  }
  return make(SymOp::Log, a);
}

SymId SymCtx::erf(SymId a) {
  require_real(*this, a, "erf");
  if (is_const(a, 0)) return constant(0);
  return make(SymOp::Erf, a);
}

SymId SymCtx::tanh(SymId a) {
  require_real(*this, a, "tanh");
  if (is_const(a, 0)) return constant(0);
  return make(SymOp::Tanh, a);
}

SymId SymCtx::sqrt(SymId a) {
  require_real(*this, a, "sqrt");
  if (is_const(a)) {
    const double v = const_value(a);
    if (v < 0) {
      conditions_.push_back(truth(false));
      return make(SymOp::Sqrt, a);
    }
    const double r = std::sqrt(v);
    if (r * r == v) return constant(r);  // exact square roots (0, 1, 4, 0.25, ...)
    return make(SymOp::Sqrt, a);
  }
  conditions_.push_back(ge(a, constant(0)));
  return make(SymOp::Sqrt, a);
}

SymId SymCtx::pow(SymId a, SymId b) {
  require_real(*this, a, "pow");
  require_real(*this, b, "pow");
  if (is_const(b)) {
    const double e = const_value(b);
    if (e == std::floor(e) && std::abs(e) <= 8) {
      SymId r = constant(1);
      for (int i = 0; i < int(std::abs(e)); ++i) r = mul(r, a);
      return e < 0 ? inv(r) : r;
    }
    if (e == 0.5) return sqrt(a);
  }
  if (is_const(a)) {
    if (const_value(a) <= 0) conditions_.push_back(truth(false));
  } else {
    conditions_.push_back(gt(a, constant(0)));
  }
  return make(SymOp::Pow, a, b, 0, 2);
}

SymId SymCtx::gt(SymId a, SymId b) {
  const SymSort s = unify(a, b);
  if (s.integer() && is_const(a) && is_const(b)) return truth(int_less(const_int(b), const_int(a), s));
  if (is_const(a) && is_const(b)) return truth(const_value(a) > const_value(b));
  if (a == b) return truth(false);
  return make(SymOp::Gt, a, b, 0, 2);
}

SymId SymCtx::ge(SymId a, SymId b) {
  const SymSort s = unify(a, b);
  if (s.integer() && is_const(a) && is_const(b)) return truth(!int_less(const_int(a), const_int(b), s));
  if (is_const(a) && is_const(b)) return truth(const_value(a) >= const_value(b));
  if (a == b) return truth(true);
  return make(SymOp::Ge, a, b, 0, 2);
}

SymId SymCtx::eq(SymId a, SymId b) {
  const SymSort s = unify(a, b);
  if (s.integer() && is_const(a) && is_const(b)) return truth(const_int(a) == const_int(b));
  if (is_const(a) && is_const(b)) return truth(const_value(a) == const_value(b));
  if (a == b) return truth(true);
  if (a > b) std::swap(a, b);
  return make(SymOp::Eq, a, b, 0, 2);
}

SymId SymCtx::and_(SymId a, SymId b) {
  if (nodes_[a].op == SymOp::False || nodes_[b].op == SymOp::False) return truth(false);
  if (nodes_[a].op == SymOp::True) return b;
  if (nodes_[b].op == SymOp::True) return a;
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::And, a, b, 0, 2);
}

SymId SymCtx::or_(SymId a, SymId b) {
  if (nodes_[a].op == SymOp::True || nodes_[b].op == SymOp::True) return truth(true);
  if (nodes_[a].op == SymOp::False) return b;
  if (nodes_[b].op == SymOp::False) return a;
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Or, a, b, 0, 2);
}

SymId SymCtx::not_(SymId a) {
  if (nodes_[a].op == SymOp::True) return truth(false);
  if (nodes_[a].op == SymOp::False) return truth(true);
  if (nodes_[a].op == SymOp::Not) return nodes_[a].a;
  return make(SymOp::Not, a);
}

SymId SymCtx::round(SymId a, int format_bits) {
  require_real(*this, a, "round");
  const FloatFormat* f = FloatFormat::of_bits(format_bits);
  if (!f) fail("internal error: no floating-point format of ", format_bits, " bits");
  if (is_const(a)) {
    const double r = f->round(const_value(a));
    if (std::isfinite(r)) return constant(r);
    conditions_.push_back(truth(false));
    return make(SymOp::Round, a, 0, 0, 1, {}, format_bits);
  }
  const SymNode& n = nodes_[a];
  // Rounding twice to one format is rounding once; an integer's value rounds exactly where the
  // format's significand holds every value of the integer's width.
  if (n.op == SymOp::Round && n.index == format_bits) return a;
  if (n.op == SymOp::IntToReal && nodes_[n.a].sort.bits + (nodes_[n.a].sort.is_unsigned ? 0 : -1) <= f->precision)
    return a;
  const SymId limit = constant(f->overflow());
  conditions_.push_back(and_(gt(limit, a), gt(a, neg(limit))));
  return make(SymOp::Round, a, 0, 0, 1, {}, format_bits);
}

SymId SymCtx::int_to_real(SymId a) {
  require_int(*this, a, "to_real");
  if (is_const(a)) return constant(const_value(a));
  return make(SymOp::IntToReal, a);
}

SymId SymCtx::real_to_int(SymId a, SymSort to) {
  require_real(*this, a, "to_int");
  if (!to.integer()) fail("internal error: to_int needs an integer sort");
  // The truncated value fits, lo <= trunc(a) < end: lo - 1 < a < end (powers of two, exact in a
  // double).
  const double lo = to.is_unsigned ? 0.0 : -std::ldexp(1.0, to.bits - 1);
  const double end = std::ldexp(1.0, to.is_unsigned ? to.bits : to.bits - 1);
  if (is_const(a)) {
    const double t = std::trunc(const_value(a));
    if (t >= lo && t < end) return int_constant(to.is_unsigned ? int64_t(uint64_t(t)) : int64_t(t), to);
    conditions_.push_back(truth(false));
    return make(SymOp::RealToInt, a, 0, 0, 1, to);
  }
  conditions_.push_back(and_(gt(a, constant(lo - 1)), gt(constant(end), a)));
  return make(SymOp::RealToInt, a, 0, 0, 1, to);
}

SymId SymCtx::int_cast(SymId a, SymSort to) {
  require_int(*this, a, "int_cast");
  if (!to.integer()) fail("internal error: int_cast needs an integer sort");
  if (sort(a) == to) return a;
  if (is_const(a)) return int_constant(const_int(a), to);
  return make(SymOp::IntCast, a, 0, 0, 1, to);
}

SymId SymCtx::int_binary(SymOp op, SymId a, SymId b) {
  require_int(*this, a, sym_op_name(op));
  const SymSort s = unify(a, b);
  const SymId zero = int_constant(0, s);
  if (op == SymOp::IDiv || op == SymOp::IRem) conditions_.push_back(not_(eq(b, zero)));
  if (is_const(a) && is_const(b)) {
    SymScalar r = evaluate_scalar(make(op, a, b, 0, 2, s), [](const SymNode&) { return SymScalar{}; });
    if (!std::isnan(r.real)) return int_constant(r.bits, s);
  }
  return make(op, a, b, 0, 2, s);
}

SymId SymCtx::idiv(SymId a, SymId b) { return int_binary(SymOp::IDiv, a, b); }
SymId SymCtx::irem(SymId a, SymId b) { return int_binary(SymOp::IRem, a, b); }
SymId SymCtx::shl(SymId a, SymId b) { return int_binary(SymOp::Shl, a, b); }
SymId SymCtx::shr(SymId a, SymId b) { return int_binary(SymOp::Shr, a, b); }

std::vector<SymId> SymCtx::take_conditions() {
  std::vector<SymId> out;
  out.swap(conditions_);
  return out;
}

double SymCtx::evaluate(SymId root, const std::function<double(const std::string&, int64_t)>& vars) const {
  return evaluate_scalar(root, [&](const SymNode& v) {
           const double x = vars(v.name, v.index);
           return v.sort.integer() ? SymScalar::of_int(int64_t(std::llround(x))) : SymScalar::of_real(x);
         }).real;
}

SymScalar SymCtx::evaluate_scalar(SymId root, const std::function<SymScalar(const SymNode&)>& vars) const {
  std::unordered_map<SymId, SymScalar> memo;
  // Iterative post-order: expressions can be deep (long sums).
  std::vector<std::pair<SymId, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [id, expanded] = stack.back();
    stack.pop_back();
    if (memo.count(id)) continue;
    const SymNode& n = nodes_[id];
    if (!expanded) {
      stack.push_back({id, true});
      if (n.arity >= 1) stack.push_back({n.a, false});
      if (n.arity >= 2) stack.push_back({n.b, false});
      if (n.arity >= 3) stack.push_back({n.c, false});
      continue;
    }
    auto v = [&](SymId x) { return memo.at(x).real; };
    auto bits = [&](SymId x) { return memo.at(x).bits; };
    const SymSort s = n.sort;
    // An integer result from its two's-complement bits; NaN marks an undefined one.
    auto integer = [&](uint64_t u) {
      const int64_t w = wrap(u, s);
      return SymScalar{int_real(w, s), w};
    };
    const SymScalar undefined{NAN, 0};
    // Operands of a comparison or Max/Min: integers by their sort's order.
    auto less = [&](SymId x, SymId y) {
      const SymSort o = nodes_[x].sort;
      return o.integer() ? int_less(bits(x), bits(y), o) : v(x) < v(y);
    };
    auto defined = [&](SymId x) { return !std::isnan(memo.at(x).real); };
    SymScalar r;
    switch (n.op) {
      case SymOp::Const: r = s.integer() ? SymScalar{n.value, n.index} : SymScalar::of_real(n.value); break;
      case SymOp::Var:
        r = vars(n);
        if (s.integer()) r = integer(uint64_t(r.bits));
        break;
      case SymOp::Add:
        r = s.integer() ? integer(uint64_t(bits(n.a)) + uint64_t(bits(n.b))) : SymScalar::of_real(v(n.a) + v(n.b));
        break;
      case SymOp::Mul:
        r = s.integer() ? integer(uint64_t(bits(n.a)) * uint64_t(bits(n.b))) : SymScalar::of_real(v(n.a) * v(n.b));
        break;
      case SymOp::Neg: r = s.integer() ? integer(0 - uint64_t(bits(n.a))) : SymScalar::of_real(-v(n.a)); break;
      case SymOp::Inv: r.real = v(n.a) == 0 ? NAN : 1.0 / v(n.a); break;
      case SymOp::Max: r = memo.at(less(n.a, n.b) ? n.b : n.a); break;
      case SymOp::Min: r = memo.at(less(n.b, n.a) ? n.b : n.a); break;
      case SymOp::Select: r = memo.at(v(n.a) != 0 ? n.b : n.c); break;
      case SymOp::Exp: r.real = std::exp(v(n.a)); break;
      case SymOp::Log: r.real = v(n.a) > 0 ? std::log(v(n.a)) : NAN; break;
      case SymOp::Erf: r.real = std::erf(v(n.a)); break;
      case SymOp::Tanh: r.real = std::tanh(v(n.a)); break;
      case SymOp::Sqrt: r.real = v(n.a) >= 0 ? std::sqrt(v(n.a)) : NAN; break;
      case SymOp::Pow: r.real = v(n.a) > 0 ? std::pow(v(n.a), v(n.b)) : NAN; break;
      case SymOp::Gt: r.real = less(n.b, n.a); break;
      case SymOp::Ge: r.real = !less(n.a, n.b); break;
      case SymOp::Eq:
        r.real = nodes_[n.a].sort.integer() ? bits(n.a) == bits(n.b) : v(n.a) == v(n.b);
        break;
      case SymOp::And: r.real = v(n.a) != 0 && v(n.b) != 0; break;
      case SymOp::Or: r.real = v(n.a) != 0 || v(n.b) != 0; break;
      case SymOp::Not: r.real = v(n.a) == 0; break;
      case SymOp::True: r.real = 1; break;
      case SymOp::False: r.real = 0; break;
      case SymOp::Round: {
        const double x = FloatFormat::of_bits(int(n.index))->round(v(n.a));
        r.real = std::isfinite(x) ? x : NAN;
        break;
      }
      case SymOp::IntToReal: r.real = v(n.a); break;
      case SymOp::RealToInt: {
        const double t = std::trunc(v(n.a));
        const double lo = s.is_unsigned ? 0.0 : -std::ldexp(1.0, s.bits - 1);
        const double hi = s.is_unsigned ? std::ldexp(1.0, s.bits) : std::ldexp(1.0, s.bits - 1);
        if (!(t >= lo && t < hi)) r = undefined;
        else r = integer(s.is_unsigned ? uint64_t(t) : uint64_t(int64_t(t)));
        break;
      }
      case SymOp::IntCast: r = integer(uint64_t(bits(n.a))); break;
      case SymOp::IDiv:
      case SymOp::IRem: {
        const int64_t x = bits(n.a), y = bits(n.b);
        if (y == 0) {
          r = undefined;
        } else if (!s.is_unsigned && y == -1) {
          // MIN / -1 wraps to MIN, MIN % -1 is 0 (as bvsdiv and bvsrem, and eqopt's interpreter).
          r = integer(n.op == SymOp::IDiv ? 0 - uint64_t(x) : 0);
        } else if (s.is_unsigned) {
          r = integer(n.op == SymOp::IDiv ? uint64_t(x) / uint64_t(y) : uint64_t(x) % uint64_t(y));
        } else {
          r = integer(uint64_t(n.op == SymOp::IDiv ? x / y : x % y));
        }
        break;
      }
      case SymOp::Shl:
      case SymOp::Shr: {
        const int64_t x = bits(n.a), y = bits(n.b);
        if (uint64_t(y) >= uint64_t(s.bits)) {
          // Every bit shifted out (a shift amount read as unsigned, as bvshl reads it).
          r = integer(n.op == SymOp::Shr && !s.is_unsigned && x < 0 ? ~uint64_t(0) : 0);
        } else if (n.op == SymOp::Shl) {
          r = integer(uint64_t(x) << y);
        } else {
          // The bits are wrapped to the sort: sign-extended (arithmetic) or zero-extended (logical).
          r = integer(s.is_unsigned ? uint64_t(x) >> y : uint64_t(x >> y));
        }
        break;
      }
    }
    // An integer computed from an undefined one is undefined (NaN propagates through reals).
    if (s.integer() && n.op != SymOp::Select) {
      const SymId kids[3] = {n.a, n.b, n.c};
      for (int k = 0; k < n.arity; ++k)
        if (!defined(kids[k])) r = undefined;
    }
    memo[id] = r;
  }
  return memo.at(root);
}

std::string SymCtx::str(SymId root, size_t max_chars) const {
  std::ostringstream os;
  // Children in order a, b, c up to the arity.
  std::function<void(SymId)> rec = [&](SymId id) {
    if (size_t(os.tellp()) > max_chars) return;
    const SymNode& n = nodes_[id];
    if (n.op == SymOp::Const) {
      if (n.sort.integer()) os << n.index;
      else os << n.value;
      return;
    }
    if (n.op == SymOp::Round) {
      os << "(round" << n.index << " ";
      rec(n.a);
      os << ")";
      return;
    }
    if (n.op == SymOp::Var) {
      os << n.name << "[" << n.index << "]";
      return;
    }
    if (n.arity == 0) {
      os << sym_op_name(n.op);
      return;
    }
    os << "(" << sym_op_name(n.op);
    const SymId kids[3] = {n.a, n.b, n.c};
    for (int i = 0; i < n.arity; ++i) {
      os << " ";
      rec(kids[i]);
    }
    os << ")";
  };
  rec(root);
  std::string s = os.str();
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

std::vector<SymId> SymCtx::vars_of(SymId root) const {
  std::vector<SymId> out, stack{root};
  std::unordered_map<SymId, bool> seen;
  while (!stack.empty()) {
    const SymId id = stack.back();
    stack.pop_back();
    if (seen[id]) continue;
    seen[id] = true;
    const SymNode& n = nodes_[id];
    if (n.op == SymOp::Var) out.push_back(id);
    if (n.arity >= 3) stack.push_back(n.c);
    if (n.arity >= 2) stack.push_back(n.b);
    if (n.arity >= 1) stack.push_back(n.a);
  }
  return out;
}

}  // namespace eqopt::verify
