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
  }
  return "?";
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

SymId SymCtx::intern(SymNode n) {
  Key k{n.op, 0, n.name, n.a, n.b, n.c};
  if (n.op == SymOp::Const) k.bits = std::bit_cast<uint64_t>(n.value == 0 ? 0.0 : n.value);
  if (n.op == SymOp::Var) k.bits = uint64_t(n.index);
  auto it = table_.find(k);
  if (it != table_.end()) return it->second;
  if (nodes_.size() >= max_nodes_)
    throw SymLimitError("symbolic evaluation exceeds " + std::to_string(max_nodes_) + " expression nodes");
  const SymId id = SymId(nodes_.size());
  nodes_.push_back(std::move(n));
  table_.emplace(std::move(k), id);
  return id;
}

SymId SymCtx::make(SymOp op, SymId a, SymId b, SymId c, uint8_t arity) {
  SymNode n;
  n.op = op;
  n.a = a;
  n.b = arity > 1 ? b : 0;
  n.c = arity > 2 ? c : 0;
  n.arity = arity;
  return intern(std::move(n));
}

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
  if (is_const(a) && is_const(b)) return constant(const_value(a) + const_value(b));
  if (is_const(a, 0)) return b;
  if (is_const(b, 0)) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Add, a, b, 0, 2);
}

SymId SymCtx::mul(SymId a, SymId b) {
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
  if (is_const(a)) return constant(-const_value(a));
  if (nodes_[a].op == SymOp::Neg) return nodes_[a].a;
  return make(SymOp::Neg, a);
}

SymId SymCtx::inv(SymId a) {
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
  if (is_const(a) && is_const(b)) return constant(std::max(const_value(a), const_value(b)));
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Max, a, b, 0, 2);
}

SymId SymCtx::min(SymId a, SymId b) {
  if (is_const(a) && is_const(b)) return constant(std::min(const_value(a), const_value(b)));
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  return make(SymOp::Min, a, b, 0, 2);
}

SymId SymCtx::select(SymId cond, SymId a, SymId b) {
  if (nodes_[cond].op == SymOp::True) return a;
  if (nodes_[cond].op == SymOp::False) return b;
  if (a == b) return a;
  return make(SymOp::Select, cond, a, b, 3);
}

SymId SymCtx::exp(SymId a) {
  if (is_const(a, 0)) return constant(1);
  return make(SymOp::Exp, a);
}

SymId SymCtx::log(SymId a) {
  if (is_const(a, 1)) return constant(0);
  if (is_const(a)) {
    if (const_value(a) <= 0) conditions_.push_back(truth(false));
  } else {
    conditions_.push_back(gt(a, constant(0)));
  }
  return make(SymOp::Log, a);
}

SymId SymCtx::erf(SymId a) {
  if (is_const(a, 0)) return constant(0);
  return make(SymOp::Erf, a);
}

SymId SymCtx::tanh(SymId a) {
  if (is_const(a, 0)) return constant(0);
  return make(SymOp::Tanh, a);
}

SymId SymCtx::sqrt(SymId a) {
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
  if (is_const(a) && is_const(b)) return truth(const_value(a) > const_value(b));
  if (a == b) return truth(false);
  return make(SymOp::Gt, a, b, 0, 2);
}

SymId SymCtx::ge(SymId a, SymId b) {
  if (is_const(a) && is_const(b)) return truth(const_value(a) >= const_value(b));
  if (a == b) return truth(true);
  return make(SymOp::Ge, a, b, 0, 2);
}

SymId SymCtx::eq(SymId a, SymId b) {
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

std::vector<SymId> SymCtx::take_conditions() {
  std::vector<SymId> out;
  out.swap(conditions_);
  return out;
}

double SymCtx::evaluate(SymId root, const std::function<double(const std::string&, int64_t)>& vars) const {
  std::unordered_map<SymId, double> memo;
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
    auto v = [&](SymId x) { return memo.at(x); };
    double r = 0;
    switch (n.op) {
      case SymOp::Const: r = n.value; break;
      case SymOp::Var: r = vars(n.name, n.index); break;
      case SymOp::Add: r = v(n.a) + v(n.b); break;
      case SymOp::Mul: r = v(n.a) * v(n.b); break;
      case SymOp::Neg: r = -v(n.a); break;
      case SymOp::Inv: r = v(n.a) == 0 ? NAN : 1.0 / v(n.a); break;
      case SymOp::Max: r = std::max(v(n.a), v(n.b)); break;
      case SymOp::Min: r = std::min(v(n.a), v(n.b)); break;
      case SymOp::Select: r = v(n.a) != 0 ? v(n.b) : v(n.c); break;
      case SymOp::Exp: r = std::exp(v(n.a)); break;
      case SymOp::Log: r = v(n.a) > 0 ? std::log(v(n.a)) : NAN; break;
      case SymOp::Erf: r = std::erf(v(n.a)); break;
      case SymOp::Tanh: r = std::tanh(v(n.a)); break;
      case SymOp::Sqrt: r = v(n.a) >= 0 ? std::sqrt(v(n.a)) : NAN; break;
      case SymOp::Pow: r = v(n.a) > 0 ? std::pow(v(n.a), v(n.b)) : NAN; break;
      case SymOp::Gt: r = v(n.a) > v(n.b); break;
      case SymOp::Ge: r = v(n.a) >= v(n.b); break;
      case SymOp::Eq: r = v(n.a) == v(n.b); break;
      case SymOp::And: r = v(n.a) != 0 && v(n.b) != 0; break;
      case SymOp::Or: r = v(n.a) != 0 || v(n.b) != 0; break;
      case SymOp::Not: r = v(n.a) == 0; break;
      case SymOp::True: r = 1; break;
      case SymOp::False: r = 0; break;
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
      os << n.value;
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
