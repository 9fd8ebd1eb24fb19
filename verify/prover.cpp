#include "verify/prover.h"

#include <z3++.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <tuple>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "support/child.h"
#include "verify/sym_eval.h"

namespace eqopt::verify {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Proved: return "proved";
    case Verdict::Refuted: return "refuted";
    case Verdict::Unknown: return "unknown";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A double as the simplest fraction within float32 precision (2^-24 relative): 0.16666667 (float
// 1/6) is read as 1/6, 1e-5f as 1/100000. Both sides of a rule go through the same function, so a
// constant written on one side and computed on the other meet; docs/verification.md ("Constants").
// Returns "" when no such fraction with a 31-bit numerator and denominator exists.
std::string simplest_fraction(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    return buf;
  }
  const bool negative = v < 0;
  const double x = std::abs(v), tol = x * std::ldexp(1.0, -24);
  // Continued-fraction convergents and their semiconvergents, smallest denominator first.
  long double h0 = 0, h1 = 1, k0 = 1, k1 = 0, r = x;
  for (int i = 0; i < 64; ++i) {
    const long double a = std::floor(r);
    for (long double m = std::max<long double>(1, std::floor(a / 2)); m <= a; m += 1) {
      const long double h = m * h1 + h0, k = m * k1 + k0;
      if (h > 2147483647.0L || k > 2147483647.0L) return "";
      if (std::abs(double(h / k) - x) <= tol) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%lld/%lld", negative ? "-" : "", static_cast<long long>(h),
                      static_cast<long long>(k));
        return buf;
      }
    }
    const long double h = a * h1 + h0, k = a * k1 + k0;
    h0 = h1, h1 = h, k0 = k1, k1 = k;
    const long double frac = r - a;
    if (frac < 1e-18L) break;
    r = 1 / frac;
  }
  return "";
}


// Canonical forms of symbolic expressions, so that the two sides of a rule can be compared without
// the solver when they are equal as polynomials. A polynomial is a map from monomials (sorted
// multisets of atoms) to exact rational coefficients; an atom is a variable or a non-polynomial
// application (max, min, ite, inv, exp, ...) whose arguments are canonical in turn, with the
// arguments of commutative ones (max, min, and, or) sorted. Polynomials and atoms are interned, so
// equal forms have equal ids. Z3's simplifier is not used for this because its sum-of-monomials
// order follows term creation order, which differs between the sides.
class Canon {
 public:
  using Rat = boost::multiprecision::cpp_rational;

  explicit Canon(const SymCtx& s) : s_(s) {}

  // The interned canonical form of a numeric or boolean expression.
  uint32_t of(SymId id) {
    auto it = memo_.find(id);
    if (it != memo_.end()) return it->second;
    const uint32_t r = build(id);
    memo_.emplace(id, r);
    return r;
  }

  static Rat rational(double v) {
    const std::string f = simplest_fraction(v);
    if (!f.empty()) {
      const size_t slash = f.find('/');
      if (slash == std::string::npos) return Rat(boost::multiprecision::cpp_int(f));
      return Rat(boost::multiprecision::cpp_int(f.substr(0, slash)), boost::multiprecision::cpp_int(f.substr(slash + 1)));
    }
    int e = 0;
    const double m = std::frexp(v, &e);
    Rat r(static_cast<long long>(std::ldexp(m, 53)));
    const int k = e - 53;
    boost::multiprecision::cpp_int p2 = 1;
    p2 <<= std::abs(k);
    return k >= 0 ? r * Rat(p2) : r / Rat(p2);
  }

 private:
  using Mono = std::vector<uint32_t>;  // atom ids, sorted, with repeats
  using Poly = std::map<Mono, Rat>;    // nonzero coefficients only
  struct Atom {
    int kind;  // SymOp, or -1 for a boolean wrapper of a polynomial sign test
    std::string name;
    int64_t index = 0;
    std::vector<uint32_t> args;
    bool operator<(const Atom& o) const { return std::tie(kind, name, index, args) < std::tie(o.kind, o.name, o.index, o.args); }
  };

  uint32_t intern_poly(Poly p) {
    auto [it, fresh] = poly_ids_.try_emplace(std::move(p), uint32_t(polys_.size()));
    if (fresh) polys_.push_back(&it->first);
    return it->second;
  }
  uint32_t intern_atom(Atom a) {
    auto [it, fresh] = atom_ids_.try_emplace(std::move(a), uint32_t(atom_ids_.size()));
    return it->second;
  }
  uint32_t atom_poly(Atom a) { return intern_poly(Poly{{Mono{intern_atom(std::move(a))}, Rat(1)}}); }
  const Poly& poly(uint32_t id) const { return *polys_[id]; }

  uint32_t add(uint32_t a, uint32_t b, const Rat& scale_b = Rat(1)) {
    Poly r = poly(a);
    for (const auto& [m, c] : poly(b)) {
      Rat& x = r[m];
      x += c * scale_b;
      if (x == 0) r.erase(m);
    }
    return intern_poly(std::move(r));
  }
  uint32_t mul(uint32_t a, uint32_t b) {
    Poly r;
    for (const auto& [m1, c1] : poly(a))
      for (const auto& [m2, c2] : poly(b)) {
        Mono m = m1;
        m.insert(m.end(), m2.begin(), m2.end());
        std::sort(m.begin(), m.end());
        Rat& x = r[m];
        x += c1 * c2;
        if (x == 0) r.erase(m);
      }
    return intern_poly(std::move(r));
  }
  std::optional<Rat> constant(uint32_t p) const {
    const Poly& q = poly(p);
    if (q.empty()) return Rat(0);
    if (q.size() == 1 && q.begin()->first.empty()) return q.begin()->second;
    return std::nullopt;
  }

  uint32_t build(SymId id) {
    const SymNode& n = s_.node(id);
    switch (n.op) {
      case SymOp::Const: {
        const Rat v = n.sort.integer() ? Rat(n.index) : rational(n.value);
        return intern_poly(v == 0 ? Poly{} : Poly{{Mono{}, v}});
      }
      case SymOp::Var: return atom_poly(Atom{int(n.op), n.name, n.index, {}});
      case SymOp::Add: return add(of(n.a), of(n.b));
      case SymOp::Mul: return mul(of(n.a), of(n.b));
      case SymOp::Neg: return add(intern_poly({}), of(n.a), Rat(-1));
      case SymOp::Inv: {
        const uint32_t a = of(n.a);
        if (auto c = constant(a); c && *c != 0) return intern_poly(Poly{{Mono{}, Rat(1) / *c}});
        return atom_poly(Atom{int(n.op), "", 0, {a}});
      }
      case SymOp::Max:
      case SymOp::Min:
      case SymOp::And:
      case SymOp::Or: {
        std::vector<uint32_t> args = {of(n.a), of(n.b)};
        std::sort(args.begin(), args.end());
        return atom_poly(Atom{int(n.op), "", sort_code(n.sort), args});
      }
      case SymOp::Gt:
      case SymOp::Ge:
        // Integers wrap, so a > b is not a sign test of a - b there: the operands stay apart.
        if (const SymSort& o = s_.sort(n.a); o.integer())
          return atom_poly(Atom{int(n.op), "", sort_code(o), {of(n.a), of(n.b)}});
        // a > b as a sign test of the canonical a - b.
        return atom_poly(Atom{int(n.op), "", 0, {add(of(n.a), of(n.b), Rat(-1))}});
      case SymOp::Eq: {
        const uint32_t d1 = add(of(n.a), of(n.b), Rat(-1)), d2 = add(of(n.b), of(n.a), Rat(-1));
        return atom_poly(Atom{int(n.op), "", 0, {std::min(d1, d2)}});
      }
      case SymOp::Select: return atom_poly(Atom{int(n.op), "", 0, {of(n.a), of(n.b), of(n.c)}});
      case SymOp::Pow:
      case SymOp::IDiv:
      case SymOp::IRem:
      case SymOp::Shl:
      case SymOp::Shr: return atom_poly(Atom{int(n.op), "", sort_code(n.sort), {of(n.a), of(n.b)}});
      case SymOp::True:
      case SymOp::False: return atom_poly(Atom{int(n.op), "", 0, {}});
      case SymOp::Round: return atom_poly(Atom{int(n.op), "", n.index, {of(n.a)}});
      // exp, log, erf, tanh, sqrt, not, conversions: the sort tells the conversions apart.
      default: return atom_poly(Atom{int(n.op), "", sort_code(n.sort), {of(n.a)}});
    }
  }

  static int64_t sort_code(const SymSort& s) { return s.bits | (s.is_unsigned ? 0x100 : 0); }

  const SymCtx& s_;
  std::unordered_map<SymId, uint32_t> memo_;
  std::map<Poly, uint32_t> poly_ids_;
  std::vector<const Poly*> polys_;
  std::map<Atom, uint32_t> atom_ids_;
};

// The symbolic expressions of one rule instance in one Z3 context, with the ground instances of
// the axioms for the uninterpreted functions that occur (docs/verification.md, "Axioms").
class Translator {
 public:
  Translator(z3::context& c, const SymCtx& s)
      : c_(c), s_(s), simp_(c), inv_(z3::function("inv", c.real_sort(), c.real_sort())),
        exp_(z3::function("exp", c.real_sort(), c.real_sort())),
        log_(z3::function("log", c.real_sort(), c.real_sort())),
        erf_(z3::function("erf", c.real_sort(), c.real_sort())),
        tanh_(z3::function("tanh", c.real_sort(), c.real_sort())),
        sqrt_(z3::function("sqrt", c.real_sort(), c.real_sort())),
        pow_(z3::function("pow", c.real_sort(), c.real_sort(), c.real_sort())) {
    simp_.set("som", true);
    simp_.set("arith_lhs", true);
    simp_.set("som_blowup", 1000000u);  // the default (10) leaves big products unexpanded, not canonical
  }

  // The expression in Z3's normal form (sums of monomials): equal polynomials become the same AST.
  z3::expr normal(const z3::expr& e) { return e.simplify(simp_); }

  z3::expr operator()(SymId id) {
    auto it = memo_.find(id);
    if (it != memo_.end()) return it->second;
    const SymNode& n = s_.node(id);
    z3::expr e = translate(n);
    memo_.emplace(id, e);
    return e;
  }

  z3::expr var_expr(const SymNode& v) {
    const std::string name = v.name + "[" + std::to_string(v.index) + "]";
    return v.sort.integer() ? c_.bv_const(name.c_str(), v.sort.bits) : c_.real_const(name.c_str());
  }

  // Axioms over the function applications translated so far.
  z3::expr_vector axioms() {
    z3::expr_vector out(c_);
    const z3::expr zero = c_.real_val(0), one = c_.real_val(1);
    for (const auto& [arg, app] : inv_apps_) out.push_back(z3::implies(arg != zero, arg * app == one));
    for (const auto& [arg, app] : sqrt_apps_) out.push_back(z3::implies(arg >= zero, app >= zero && app * app == arg));
    for (const auto& [arg, app] : exp_apps_) out.push_back(app > zero);
    for (const auto& [arg, app] : tanh_apps_) out.push_back(app > -one && app < one);
    for (const auto& [arg, app] : erf_apps_) out.push_back(app > -one && app < one);
    // Strict monotonicity, instantiated on the pairs of applications that occur (bounded).
    auto monotone = [&](const std::vector<std::pair<z3::expr, z3::expr>>& apps) {
      const size_t n = std::min<size_t>(apps.size(), 40);
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j)
          if (i != j) out.push_back(z3::implies(apps[i].first < apps[j].first, apps[i].second < apps[j].second));
    };
    monotone(exp_apps_);
    monotone(tanh_apps_);
    monotone(erf_apps_);
    monotone(sqrt_apps_);
    // Rounding to a floating-point format (docs/verification.md, "Dtypes"): it keeps the sign and
    // zero, is monotone (not strictly), odd, idempotent, exact on integers the significand holds,
    // and within half an ulp: |r - t| <= 2^-p |t| + 2^(emin - p).
    for (const auto& [bits, apps] : round_apps_) {
      const FloatFormat& f = *FloatFormat::of_bits(bits);
      const z3::expr rel = numeral(std::ldexp(1.0, -f.precision));
      const z3::expr abs_err = numeral(std::ldexp(1.0, f.min_exp - f.precision));
      const size_t n = std::min<size_t>(apps.size(), 40);
      for (size_t i = 0; i < apps.size(); ++i) {
        const auto& [t, r] = apps[i];
        out.push_back(z3::implies(t >= zero, r >= zero) && z3::implies(t <= zero, r <= zero));
        const z3::expr abs_t = z3::ite(t >= zero, t, -t), d = r - t;
        out.push_back(z3::ite(d >= zero, d, -d) <= rel * abs_t + abs_err);
        if (round_exact_[bits].count(i))
          out.push_back(z3::implies(abs_t <= numeral(std::ldexp(1.0, f.precision)), r == t));
      }
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) {
          if (i == j) continue;
          const auto &[ti, ri] = apps[i];
          const auto &[tj, rj] = apps[j];
          out.push_back(z3::implies(ti <= tj, ri <= rj));
          out.push_back(z3::implies(tj == ri, rj == ri));
          out.push_back(z3::implies(ti == -tj, ri == -rj));
        }
    }
    // An integer's value: within its sort's range, 0 exactly for 0, of the integer's sign, and
    // strictly increasing in the sort's order. A truncation toward zero lies within 1 of the real,
    // on zero's side, is monotone, and gives back an integer converted to a real.
    for (size_t i = 0; i < to_real_apps_.size(); ++i) {
      const ToReal& a = to_real_apps_[i];
      const z3::expr zero_bv = c_.bv_val(0, a.sort.bits);
      const double lo = a.sort.is_unsigned ? 0.0 : -std::ldexp(1.0, a.sort.bits - 1);
      const double hi = a.sort.is_unsigned ? std::ldexp(1.0, a.sort.bits) - 1 : std::ldexp(1.0, a.sort.bits - 1) - 1;
      out.push_back(a.v >= numeral(lo) && a.v <= numeral(hi));
      out.push_back((a.x == zero_bv) == (a.v == zero));
      if (!a.sort.is_unsigned) out.push_back(z3::sgt(a.x, zero_bv) == (a.v > zero));
      for (size_t j = 0; j < std::min<size_t>(to_real_apps_.size(), 40); ++j) {
        const ToReal& b = to_real_apps_[j];
        if (i == j || !(a.sort == b.sort)) continue;
        out.push_back(z3::implies(a.sort.is_unsigned ? z3::ult(a.x, b.x) : z3::slt(a.x, b.x), a.v < b.v));
      }
    }
    for (size_t i = 0; i < to_int_apps_.size(); ++i) {
      const ToInt& a = to_int_apps_[i];
      out.push_back(z3::implies(a.t >= zero, a.v <= a.t && a.t < a.v + one));
      out.push_back(z3::implies(a.t <= zero, a.t <= a.v && a.v - one < a.t));
      for (size_t j = 0; j < std::min<size_t>(to_int_apps_.size(), 40); ++j) {
        const ToInt& b = to_int_apps_[j];
        if (i == j || !(a.sort == b.sort)) continue;
        out.push_back(z3::implies(a.t <= b.t, a.sort.is_unsigned ? z3::ule(a.b, b.b) : z3::sle(a.b, b.b)));
      }
      for (const ToReal& r : to_real_apps_)
        if (r.sort == a.sort) out.push_back(z3::implies(a.t == r.v, a.b == r.x));
    }
    return out;
  }

  bool uses_functions() const {
    return !exp_apps_.empty() || !log_apps_.empty() || !erf_apps_.empty() || !tanh_apps_.empty() ||
           !sqrt_apps_.empty() || pow_count_ > 0 || !round_apps_.empty() || !to_real_apps_.empty();
  }

 private:
  // The constant as Canon reads it (simplest float32-precision fraction, else the exact double),
  // so the solver and the canonical forms agree on every constant.
  z3::expr numeral(double v) { return c_.real_val(Canon::rational(v).str().c_str()); }

  z3::expr translate(const SymNode& n) {
    auto a = [&] { return (*this)(n.a); };
    auto b = [&] { return (*this)(n.b); };
    // Integer operands compare by their sort's order.
    const bool integer = n.arity > 0 && s_.sort(n.a).integer();
    const bool is_unsigned = integer && s_.sort(n.a).is_unsigned;
    auto ge = [&](const z3::expr& x, const z3::expr& y) {
      return !integer ? x >= y : is_unsigned ? z3::uge(x, y) : z3::sge(x, y);
    };
    auto gt = [&](const z3::expr& x, const z3::expr& y) {
      return !integer ? x > y : is_unsigned ? z3::ugt(x, y) : z3::sgt(x, y);
    };
    switch (n.op) {
      case SymOp::Const:
        return n.sort.integer() ? c_.bv_val(uint64_t(n.index), n.sort.bits) : numeral(n.value);
      case SymOp::Var: return var_expr(n);
      case SymOp::Add: return a() + b();
      case SymOp::Mul: return a() * b();
      case SymOp::Neg: return -a();
      case SymOp::Inv: {
        if (s_.is_const(n.a)) return c_.real_val(1) / numeral(s_.const_value(n.a));
        z3::expr x = normal(a()), app = inv_(x);
        inv_apps_.emplace_back(x, app);
        return app;
      }
      // The arguments of ite and of uninterpreted functions are normalized, so that the two sides'
      // relu(p) and relu(p') with equal polynomials p, p' become one term and cancel.
      case SymOp::Max: {
        z3::expr x = normal(a()), y = normal(b());
        return z3::ite(ge(x, y), x, y);
      }
      case SymOp::Min: {
        z3::expr x = normal(a()), y = normal(b());
        return z3::ite(ge(y, x), x, y);
      }
      case SymOp::Select: return z3::ite(normal(a()), normal(b()), normal((*this)(n.c)));
      case SymOp::Exp: return record(exp_, exp_apps_, normal(a()));
      case SymOp::Log: return record(log_, log_apps_, normal(a()));
      case SymOp::Erf: return record(erf_, erf_apps_, normal(a()));
      case SymOp::Tanh: return record(tanh_, tanh_apps_, normal(a()));
      case SymOp::Sqrt: return record(sqrt_, sqrt_apps_, normal(a()));
      case SymOp::Pow: ++pow_count_; return pow_(normal(a()), normal(b()));
      case SymOp::Gt: return gt(a(), b());
      case SymOp::Ge: return ge(a(), b());
      case SymOp::Eq: return a() == b();
      case SymOp::And: return a() && b();
      case SymOp::Or: return a() || b();
      case SymOp::Not: return !a();
      case SymOp::True: return c_.bool_val(true);
      case SymOp::False: return c_.bool_val(false);
      case SymOp::Round: {
        auto [it, fresh] = round_fns_.try_emplace(
            int(n.index), z3::function(("round" + std::to_string(n.index)).c_str(), c_.real_sort(), c_.real_sort()));
        auto& apps = round_apps_[int(n.index)];
        if (s_.node(n.a).op == SymOp::IntToReal) round_exact_[int(n.index)].insert(apps.size());
        return record(it->second, apps, normal(a()));
      }
      case SymOp::IntToReal: return to_real(a(), s_.sort(n.a));
      case SymOp::RealToInt: {
        const z3::expr t = normal(a());
        const z3::expr b = conversion("to_int", c_.real_sort(), c_.bv_sort(n.sort.bits), n.sort)(t);
        to_int_apps_.push_back({t, b, to_real(b, n.sort), n.sort});
        return b;
      }
      case SymOp::IntCast: {
        const SymSort& from = s_.sort(n.a);
        const z3::expr x = a();
        if (n.sort.bits < from.bits) return x.extract(n.sort.bits - 1, 0);
        if (n.sort.bits > from.bits)
          return from.is_unsigned ? z3::zext(x, n.sort.bits - from.bits) : z3::sext(x, n.sort.bits - from.bits);
        return x;
      }
      case SymOp::IDiv: return n.sort.is_unsigned ? z3::udiv(a(), b()) : z3::expr(c_, Z3_mk_bvsdiv(c_, a(), b()));
      case SymOp::IRem: return n.sort.is_unsigned ? z3::urem(a(), b()) : z3::srem(a(), b());
      case SymOp::Shl: return z3::shl(a(), b());
      case SymOp::Shr: return n.sort.is_unsigned ? z3::lshr(a(), b()) : z3::ashr(a(), b());
    }
    throw Error("verifier: unknown symbolic op");
  }

  // An integer's value as a real: an uninterpreted function with the axioms of the conversion.
  // (Z3's bv2int makes even small queries over 64-bit integers take seconds.)
  z3::expr to_real(const z3::expr& x, const SymSort& sort) {
    const z3::expr v = conversion("to_real", c_.bv_sort(sort.bits), c_.real_sort(), sort)(x);
    to_real_apps_.push_back({x, v, sort});
    return v;
  }

  z3::func_decl conversion(const std::string& what, const z3::sort& from, const z3::sort& to, const SymSort& sort) {
    const std::string name = what + (sort.is_unsigned ? "_u" : "_s") + std::to_string(sort.bits);
    return conversions_.try_emplace(name, z3::function(name.c_str(), from, to)).first->second;
  }

  z3::expr record(z3::func_decl& f, std::vector<std::pair<z3::expr, z3::expr>>& apps, z3::expr x) {
    z3::expr app = f(x);
    apps.emplace_back(x, app);
    return app;
  }

  z3::context& c_;
  const SymCtx& s_;
  z3::params simp_;
  z3::func_decl inv_, exp_, log_, erf_, tanh_, sqrt_, pow_;
  std::unordered_map<SymId, z3::expr> memo_;
  std::vector<std::pair<z3::expr, z3::expr>> inv_apps_, exp_apps_, log_apps_, erf_apps_, tanh_apps_, sqrt_apps_;
  size_t pow_count_ = 0;
  // Per floating-point format: the rounding function, its applications, and which of them round an
  // integer's value.
  std::map<int, z3::func_decl> round_fns_;
  std::map<int, std::vector<std::pair<z3::expr, z3::expr>>> round_apps_;
  std::map<int, std::set<size_t>> round_exact_;
  // Integer <-> real conversions: an integer's value (x, its value v), and truncations (a real t,
  // the integer b, b's value v).
  struct ToReal {
    z3::expr x, v;
    SymSort sort;
  };
  struct ToInt {
    z3::expr t, b, v;
    SymSort sort;
  };
  std::map<std::string, z3::func_decl> conversions_;
  std::vector<ToReal> to_real_apps_;
  std::vector<ToInt> to_int_apps_;
};

struct SolverOutcome {
  std::string result;  // "sat", "unsat", or "" (see reason)
  std::string reason;
  std::map<std::pair<std::string, int64_t>, SymScalar> values;  // sat: the inputs' values
};

// Runs the solver in a child process that is killed at the deadline. Z3's timeout and interrupt
// are not honoured inside every tactic (nonlinear arithmetic with large constants can run on for
// minutes), and `eqopt rules verify` must never hang. The child reports the verdict and, when
// satisfiable, the model's value of each input, as text on a pipe.
SolverOutcome solve_isolated(z3::solver& s, Translator& t, const SymCtx& ctx, const std::vector<SymId>& inputs,
                             Clock::time_point deadline) {
  SolverOutcome o;
  const ChildResult child = run_in_child(
      [&] {
        std::string out;
        try {
          const z3::check_result r = s.check();
          if (r == z3::unsat) {
            out = "unsat\n";
          } else if (r == z3::unknown) {
            out = "unknown solver gave up (" + s.reason_unknown() + ")\n";
          } else {
            out = "sat\n";
            const z3::model m = s.get_model();
            // Integers as "i" and their two's-complement bits, reals as decimals.
            for (SymId id : inputs) {
              const SymNode& var = ctx.node(id);
              const z3::expr v = m.eval(t.var_expr(var), true);
              out += var.name + "\t" + std::to_string(var.index) + "\t";
              if (var.sort.integer()) out += 'i';
              out += var.sort.integer() ? std::to_string(int64_t(v.get_numeral_uint64())) : v.get_decimal_string(17);
              out += '\n';
            }
          }
        } catch (const z3::exception& e) {
          out = std::string("unknown solver error: ") + e.msg() + "\n";
        }
        return out;
      },
      deadline);
  if (child.timed_out) {
    o.reason = "time limit reached in the solver";
    return o;
  }
  if (!child.ok) {
    o.reason = "the solver process failed (" + child.error + ")";
    return o;
  }
  const std::string& bytes = child.bytes;
  std::istringstream in(bytes);
  std::string line;
  if (!std::getline(in, line) || line.empty()) {
    o.reason = "the solver process ended without a verdict";
    return o;
  }
  if (line == "unsat" || line == "sat") {
    o.result = line;
  } else {
    o.reason = line.substr(line.find(' ') + 1);
    return o;
  }
  while (std::getline(in, line)) {
    const size_t a = line.find('\t'), b = line.rfind('\t');
    if (a == std::string::npos || a == b) continue;
    std::string v = line.substr(b + 1);
    if (!v.empty() && v.back() == '?') v.pop_back();  // Z3 marks truncated decimals with '?'
    try {
      o.values[{line.substr(0, a), std::stoll(line.substr(a + 1, b - a - 1))}] =
          v.rfind('i', 0) == 0 ? SymScalar::of_int(std::stoll(v.substr(1))) : SymScalar::of_real(std::stod(v));
    } catch (...) {
    }
  }
  return o;
}

std::string index_str(const Shape& shape, int64_t flat) {
  if (shape.empty()) return "[]";
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? "," : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string fmt(double v, int digits = 6) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Values of the symbolic inputs: (name, index) -> value.
using Assignment = std::map<std::pair<std::string, int64_t>, SymScalar>;

// One element of a tensor of the dtype, as the model sees it: a bool input is the sign of its
// unknown, a float16 one its unknown rounded to half precision.
std::string element_str(DType dtype, const SymScalar& v) {
  switch (dtype) {
    case DType::Bool: return v.real > 0 ? "true" : "false";
    case DType::Float16: return fmt(FloatFormat::of_bits(16)->round(v.real));
    case DType::UInt64: return std::to_string(uint64_t(v.bits));
    default: return is_integer(dtype) ? std::to_string(v.bits) : fmt(v.real);
  }
}

// The graph inputs' values as tensors, for a counterexample.
std::string inputs_str(const Model& m, const Assignment& values) {
  std::ostringstream os;
  for (const auto& in : m.graph.inputs) {
    const std::optional<Shape> static_shape = in.type.static_shape();
    if (!static_shape) continue;
    const Shape& shape = *static_shape;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    os << "    " << in.name << " " << (shape.empty() ? "scalar" : index_str(shape, n - 1)) << " = [";
    for (int64_t i = 0; i < n && i < 64; ++i) {
      auto it = values.find({in.name, i});
      os << (i ? ", " : "") << element_str(in.type.dtype, it == values.end() ? SymScalar{} : it->second);
    }
    os << (n > 64 ? ", ...]" : "]") << "\n";
  }
  return os.str();
}

// An output element's value: a bool is 1 or 0 there.
std::string output_str(DType dtype, const SymScalar& v) {
  if (dtype == DType::Bool) return v.real != 0 ? "true" : "false";
  return element_str(dtype, v);
}

// Whether the expression rounds to a floating-point format somewhere.
bool rounding_under(const SymCtx& ctx, SymId root) {
  std::vector<SymId> stack{root};
  std::set<SymId> seen;
  while (!stack.empty()) {
    const SymId id = stack.back();
    stack.pop_back();
    if (!seen.insert(id).second) continue;
    const SymNode& n = ctx.node(id);
    if (n.op == SymOp::Round || n.op == SymOp::RealToInt) return true;
    const SymId kids[3] = {n.a, n.b, n.c};
    for (int k = 0; k < n.arity; ++k) stack.push_back(kids[k]);
  }
  return false;
}

// A random integer of the sort for probe p: small ones first, then anywhere in the range, then the
// range's edges (where wrap-around shows).
SymScalar random_int(std::mt19937_64& rng, const SymSort& s, size_t p) {
  const int64_t lo = s.is_unsigned ? 0 : -8, hi = s.is_unsigned ? 16 : 8;
  switch (p % 4) {
    case 2: return SymScalar::of_int(int64_t(rng()));
    case 3: {
      const uint64_t top = uint64_t(1) << (s.bits - 1);  // the sign bit of the width
      const uint64_t edges[] = {top, top + 1, top - 1, top - 2, ~uint64_t(0), 1, 2, uint64_t(1) << (s.bits / 2)};
      return SymScalar::of_int(int64_t(edges[rng() % 8]));
    }
    default: return SymScalar::of_int(std::uniform_int_distribution<int64_t>(lo, hi)(rng));
  }
}

struct OutputCheck {
  Verdict verdict = Verdict::Proved;
  std::string detail;          // unknown: reason; refuted: one line
  std::string counterexample;  // refuted
  bool needs_solver = false;   // unknown after the probes, with the solver not asked yet
};

class RuleVerifier {
 public:
  RuleVerifier(const rules::Rule& rule, const VerifyOptions& options, Clock::time_point deadline)
      : rule_(rule), options_(options), deadline_(deadline) {}

  double remaining() const { return std::chrono::duration<double>(deadline_ - Clock::now()).count(); }

  // One instance: every output of the left side against the right side's; without `solve`, only
  // as far as canonical forms and numeric probes go.
  OutputCheck check_instance(const Instance& inst, size_t& solver_calls, bool solve) {
    const Model model = instance_model(rule_, inst);
    SymCtx ctx(400'000);
    SymEvalOptions so;
    so.approx_targets = inst.approx_targets;
    SymResult res;
    try {
      res = sym_eval(ctx, model, so);
    } catch (const SymLimitError& e) {
      return {Verdict::Unknown, std::string("instance too large: ") + e.what(), ""};
    } catch (const UnsupportedOp& e) {
      return {Verdict::Unknown, std::string("unsupported: ") + e.what(), ""};
    }
    const size_t n = rule_.lhs.size();
    if (res.outputs.size() != 2 * n) return {Verdict::Unknown, "the instance model has the wrong number of outputs", ""};
    OutputCheck open;
    for (size_t i = 0; i < n; ++i) {
      OutputCheck c = check_output(ctx, model, inst, res, i, solver_calls, solve);
      if (c.needs_solver) open = c;  // a later output's probes may still refute the rule
      else if (c.verdict != Verdict::Proved) return c;
    }
    return open;
  }

 private:
  OutputCheck check_output(SymCtx& ctx, const Model& model, const Instance& inst, const SymResult& res, size_t i,
                           size_t& solver_calls, bool solve) {
    const size_t n = rule_.lhs.size();
    const SymTensor &L = res.outputs[i], &R = res.outputs[n + i];
    const std::vector<SymId>&lc = res.conditions[i], &rc = res.conditions[n + i];
    const std::string where = n > 1 ? "output " + std::to_string(i) + " " : "";
    if (L.shape != R.shape || L.elems.size() != R.elems.size())
      return refuted(inst, model, where + "shapes differ: left " + shape_str(L.shape) + ", right " + shape_str(R.shape),
                     {});
    // Elements equal as canonical forms need no solver; nor do the right side's definedness
    // conditions that the left side has too.
    Canon canon(ctx);
    std::vector<size_t> pending;
    for (size_t k = 0; k < L.elems.size(); ++k)
      if (L.elems[k] != R.elems[k] && canon.of(L.elems[k]) != canon.of(R.elems[k])) pending.push_back(k);
    std::set<uint32_t> left_conditions;
    for (SymId c : lc) left_conditions.insert(canon.of(c));
    std::vector<SymId> rc_open;
    for (SymId c : rc)
      if (ctx.node(c).op != SymOp::True && !left_conditions.count(canon.of(c))) rc_open.push_back(c);
    const bool rc_trivial = rc_open.empty();
    if (pending.empty() && rc_trivial) return {};

    // Numeric probes: a wrong rule usually shows at random points; such a counterexample needs no
    // solver and has ordinary-looking values.
    // Reals are eighths (short, exact in binary) in [-2, 2] or [0.25, 2]; where a value is
    // rounded to a floating-point format, two more probes take arbitrary reals (eighths are exact
    // in every format). Integers are small, then anywhere in their range, then at its edges.
    std::mt19937_64 rng(0x5eed + i);
    const bool rounds = std::any_of(pending.begin(), pending.end(), [&](size_t k) {
      return rounding_under(ctx, L.elems[k]) || rounding_under(ctx, R.elems[k]);
    });
    const size_t points = options_.random_points + (rounds ? 2 : 0);
    for (size_t p = 0; p < points; ++p) {
      std::uniform_real_distribution<double> d(p % 2 ? 0.25 : -2.0, 2.0);
      const bool fine = p >= options_.random_points;
      Assignment values;
      auto lookup = [&](const SymNode& var) {
        auto [it, fresh] = values.try_emplace({var.name, var.index});
        if (fresh) it->second = var.sort.integer() ? random_int(rng, var.sort, p)
                                : SymScalar::of_real(fine ? (p % 2 ? 1e4 : 1.0) * d(rng) : std::round(d(rng) * 8) / 8);
        return it->second;
      };
      if (auto c = probe(ctx, model, inst, L, R, lc, rc, pending, lookup, values, where)) return *c;
    }

    // The solver: is there an input where the left side is defined and the right side is undefined
    // or differs in some element?
    if (!solve) return {Verdict::Unknown, "", "", true};
    if (remaining() <= 0.05) return {Verdict::Unknown, "time limit reached", ""};
    z3::context c;
    Translator t(c, ctx);
    z3::solver s(c);
    z3::params prm(c);
    prm.set("timeout", unsigned(std::max(50.0, remaining() * 1000)));
    s.set(prm);
    z3::expr_vector differ(c);
    for (size_t k : pending) {
      const z3::expr l = t.normal(t(L.elems[k])), r = t.normal(t(R.elems[k]));
      if (z3::eq(l, r)) continue;
      // A comparison's or logical op's result is a Bool: the sides differ where they are not equal
      // (l - r on Bools is ill-sorted, and Z3 4.8's simplifier crashed on it).
      if (l.is_bool() || r.is_bool() || l.is_bv()) {
        differ.push_back(l != r);
        continue;
      }
      z3::expr diff = t.normal(l - r);
      double value = 1;
      if (diff.is_numeral(value) && value == 0) continue;
      differ.push_back(diff != c.real_val(0));
    }
    for (SymId cnd : rc_open) differ.push_back(!t(cnd));
    if (differ.empty()) return {};
    for (SymId cnd : lc) s.add(t(cnd));
    s.add(z3::mk_or(differ));
    const z3::expr_vector ax = t.axioms();
    for (unsigned k = 0; k < ax.size(); ++k) s.add(ax[k]);
    ++solver_calls;
    // The inputs a counterexample must give values to.
    std::vector<SymId> inputs;
    {
      std::set<SymId> seen;
      auto add_vars = [&](SymId root) {
        for (SymId v : ctx.vars_of(root))
          if (seen.insert(v).second) inputs.push_back(v);
      };
      for (size_t k : pending) add_vars(L.elems[k]), add_vars(R.elems[k]);
      for (SymId cnd : lc) add_vars(cnd);
      for (SymId cnd : rc) add_vars(cnd);
    }
    const SolverOutcome r = solve_isolated(s, t, ctx, inputs, deadline_);
    if (r.result == "unsat") return {};
    if (r.result != "sat")
      return {Verdict::Unknown, r.reason + (t.uses_functions() ? " (uninterpreted functions)" : ""), ""};
    // A model: confirm it in double precision with the real functions; a model that relies on an
    // exp or tanh the axioms do not pin down is not a counterexample.
    Assignment values = r.values;
    auto lookup = [&](const SymNode& var) { return values.try_emplace({var.name, var.index}).first->second; };
    if (auto cx = probe(ctx, model, inst, L, R, lc, rc, pending, lookup, values, where)) return *cx;
    return {Verdict::Unknown,
            std::string("the solver's counterexample does not hold numerically") +
                (t.uses_functions() ? " (it relies on values of exp/erf/tanh/sqrt the axioms allow)" : ""),
            ""};
  }

  // Evaluates both sides at one point; a counterexample when the left side is defined and the right
  // side is not, or an element differs beyond double rounding.
  std::optional<OutputCheck> probe(SymCtx& ctx, const Model& model, const Instance& inst, const SymTensor& L,
                                   const SymTensor& R, const std::vector<SymId>& lc, const std::vector<SymId>& rc,
                                   const std::vector<size_t>& pending,
                                   const std::function<SymScalar(const SymNode&)>& lookup,
                                   const Assignment& values, const std::string& where) {
    for (SymId cnd : lc)
      if (ctx.evaluate_scalar(cnd, lookup).real == 0) return std::nullopt;  // left side undefined here
    for (SymId cnd : rc)
      if (ctx.evaluate_scalar(cnd, lookup).real == 0)
        return refuted(inst, model, where + "the right side is undefined where the left side is defined (" +
                                        ctx.str(cnd, 120) + " fails)",
                       values);
    double scale = 1;
    std::vector<std::pair<SymScalar, SymScalar>> lr;
    for (size_t k : pending) {
      const SymScalar l = ctx.evaluate_scalar(L.elems[k], lookup), r = ctx.evaluate_scalar(R.elems[k], lookup);
      lr.push_back({l, r});
      if (std::isfinite(l.real)) scale = std::max(scale, std::abs(l.real));
      if (std::isfinite(r.real)) scale = std::max(scale, std::abs(r.real));
    }
    const bool integer = is_integer(L.dtype);
    for (size_t j = 0; j < pending.size(); ++j) {
      const double l = lr[j].first.real, r = lr[j].second.real;
      // Integers must agree exactly. Constants are float32 values read as exact fractions by the
      // solver (1/6 for 0.16666667), so a difference of reals below float32 precision is left to
      // the solver, not reported.
      const bool differ = integer ? lr[j].first.bits != lr[j].second.bits : std::abs(l - r) > 1e-6 * scale;
      const bool bad = std::isnan(l) != std::isnan(r) || (!std::isnan(l) && differ);
      if (!bad) continue;
      std::string ls, rs;
      if (integer || L.dtype == DType::Bool) {
        ls = std::isnan(l) ? "undefined" : output_str(L.dtype, lr[j].first);
        rs = std::isnan(r) ? "undefined" : output_str(L.dtype, lr[j].second);
      } else {
        // Enough digits that the two printed values differ.
        int digits = 6;
        while (digits < 17 && fmt(l, digits) == fmt(r, digits)) ++digits;
        ls = fmt(l, digits), rs = fmt(r, digits);
      }
      return refuted(inst, model,
                     where + "element " + index_str(L.shape, int64_t(pending[j])) + ": left " + ls + ", right " + rs,
                     values);
    }
    return std::nullopt;
  }

  OutputCheck refuted(const Instance& inst, const Model& model, const std::string& line, const Assignment& values) {
    OutputCheck c;
    c.verdict = Verdict::Refuted;
    c.detail = line;
    std::ostringstream os;
    os << "  instance: " << inst.str() << "\n";
    if (!values.empty()) os << "  inputs:\n" << inputs_str(model, values);
    os << "  " << line << "\n";
    c.counterexample = os.str();
    return c;
  }

  static std::string shape_str(const Shape& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
    return r + "]";
  }

  const rules::Rule& rule_;
  const VerifyOptions& options_;
  Clock::time_point deadline_;
};

}  // namespace

VerifyResult verify_rule(const rules::Rule& rule, const VerifyOptions& options) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.timeout_s));
  VerifyResult out;
  out.rule = rule.name;
  out.real_algebra = rule.has_tag("real");
  auto finish = [&](Verdict v, std::string detail) {
    out.verdict = v;
    out.detail = std::move(detail);
    out.seconds = seconds_since(start);
    return out;
  };
  InstanceLimits limits = options.limits;
  limits.seconds = std::min(limits.seconds, options.timeout_s / 2);
  InstanceSearch search;
  try {
    search = find_instances(rule, limits);
  } catch (const std::exception& e) {
    return finish(Verdict::Unknown, std::string("instance search failed: ") + e.what());
  }
  if (search.instances.empty())
    return finish(Verdict::Unknown, "no instance: " + (search.note.empty() ? std::string("none found") : search.note));

  RuleVerifier v(rule, options, deadline);
  std::string unknown;
  // An elementwise rule proved on scalars holds for every shape in those dtypes: its other
  // instances in the same dtypes prove nothing more.
  std::set<std::map<std::string, DType>> proved_on_scalars;
  // Every instance first goes as far as canonical forms and probes: a wrong rule is refuted there
  // by whichever instance shows it (an int64 one, where float32 ones need the solver to be proved)
  // before any solver call. Then the solver, on the instances still open.
  std::vector<size_t> all(search.instances.size()), open;
  std::iota(all.begin(), all.end(), size_t(0));
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i : pass == 0 ? all : open) {
      const Instance& inst = search.instances[i];
      if (pass == 1 && search.elementwise && proved_on_scalars.count(inst.dtypes)) continue;
      if (v.remaining() <= 0) {
        if (unknown.empty()) unknown = "time limit reached after " + std::to_string(out.instances) + " instances";
        break;
      }
      OutputCheck c;
      try {
        c = v.check_instance(inst, out.solver_calls, pass == 1);
      } catch (const std::exception& e) {
        c = {Verdict::Unknown, std::string("evaluation failed: ") + e.what(), ""};
      }
      if (pass == 0) ++out.instances;
      if (c.verdict == Verdict::Refuted) {
        out.counterexample = c.counterexample;
        return finish(Verdict::Refuted, c.detail);
      }
      if (c.needs_solver) {
        open.push_back(i);
        continue;
      }
      if (c.verdict == Verdict::Unknown && unknown.empty()) unknown = c.detail + " (instance " + inst.str() + ")";
      const bool scalars =
          std::all_of(inst.shapes.begin(), inst.shapes.end(), [](const auto& s) { return s.second.empty(); });
      if (c.verdict == Verdict::Proved && scalars) proved_on_scalars.insert(inst.dtypes);
    }
  }
  if (!unknown.empty()) return finish(Verdict::Unknown, unknown);
  std::string scope;
  if (search.elementwise) {
    scope = "all shapes (elementwise: proved on scalars, broadcasting applies it to every element)";
    // The dtypes the scalar proofs cover, where they are not float32 alone.
    if (const size_t at = search.scope.find(", dtypes"); at != std::string::npos)
      scope += search.scope.substr(at, search.scope.find(" (", at) - at);
  } else {
    scope = search.scope.empty() ? std::to_string(out.instances) + " instances" : search.scope;
  }
  const bool integers = std::any_of(search.instances.begin(), search.instances.end(), [](const Instance& i) {
    return std::any_of(i.dtypes.begin(), i.dtypes.end(),
                       [&](const auto& d) { return is_integer(d.second) && !i.values.count(d.first); });
  });
  scope += integers ? "; real arithmetic, integers wrapping around" : "; real arithmetic";
  if (!search.instances.front().approx_targets.empty()) scope += ", approx() constants read as their targets";
  return finish(Verdict::Proved, scope);
}

std::vector<VerifyResult> verify_rules(const std::vector<rules::Rule>& rules, const VerifyOptions& options,
                                       unsigned jobs, const std::function<void(const VerifyResult&)>& progress) {
  std::vector<VerifyResult> out(rules.size());
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < rules.size();) {
      out[i] = verify_rule(rules[i], options);
      if (progress) {
        std::lock_guard<std::mutex> lock(mu);
        progress(out[i]);
      }
    }
  };
  jobs = std::max(1u, std::min<unsigned>(jobs, unsigned(rules.size())));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace eqopt::verify
