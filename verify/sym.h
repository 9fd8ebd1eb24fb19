// Symbolic scalar expressions over the reals, the values of the rule verifier (docs/verification.md).
//
// A tensor under symbolic evaluation is a vector of these expressions, one per element. Nodes are
// hash-consed in a SymCtx (equal structure, equal id) and built through SymCtx's constructors, which
// fold constants and drop neutral elements (x + 0, x * 1) so that expressions stay small.
//
// Real semantics: Add, Mul, Neg are exact; Inv(x) is 1/x, defined for x != 0; Max, Min, Select
// (piecewise-linear) are exact. Exp, Log, Erf, Tanh, Sqrt, Pow are uninterpreted functions in the
// prover, with the axioms docs/verification.md lists; Log needs x > 0, Sqrt x >= 0. Every partial
// operation records its definedness condition in the context (`conditions()`), so a side's
// conditions say where it is defined. Booleans (Gt, Ge, Eq, And, Or, Not) appear as Select
// conditions and in conditions.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "support/error.h"

namespace eqopt::verify {

using SymId = uint32_t;

enum class SymOp : uint8_t {
  Const,  // value
  Var,    // name, index: element `index` (row-major) of the input called `name`
  Add,    // a + b
  Mul,    // a * b
  Neg,    // -a
  Inv,    // 1 / a (a != 0)
  Max,
  Min,
  Select,  // a ? b : c   (a boolean)
  Exp,
  Log,   // a > 0
  Erf,
  Tanh,
  Sqrt,  // a >= 0
  Pow,   // a ^ b, b not a small integer (those are multiplied out); a > 0
  // booleans
  Gt,  // a > b
  Ge,  // a >= b
  Eq,  // a == b
  And,
  Or,
  Not,
  True,
  False,
};

const char* sym_op_name(SymOp op);
bool sym_op_is_bool(SymOp op);

struct SymNode {
  SymOp op = SymOp::Const;
  double value = 0;  // Const
  std::string name;  // Var
  int64_t index = 0; // Var
  SymId a = 0, b = 0, c = 0;
  uint8_t arity = 0;
};

// Thrown when an expression outgrows the context's node limit (the caller reports "unknown").
struct SymLimitError : Error {
  using Error::Error;
};

class SymCtx {
 public:
  explicit SymCtx(size_t max_nodes = 2'000'000) : max_nodes_(max_nodes) {}

  const SymNode& node(SymId id) const { return nodes_[id]; }
  size_t size() const { return nodes_.size(); }

  SymId constant(double v);
  SymId var(const std::string& name, int64_t index);
  SymId add(SymId a, SymId b);
  SymId sub(SymId a, SymId b) { return add(a, neg(b)); }
  SymId mul(SymId a, SymId b);
  SymId neg(SymId a);
  SymId inv(SymId a);  // records a != 0
  SymId div(SymId a, SymId b) { return mul(a, inv(b)); }
  SymId max(SymId a, SymId b);
  SymId min(SymId a, SymId b);
  SymId select(SymId cond, SymId a, SymId b);
  SymId exp(SymId a);
  SymId log(SymId a);  // records a > 0
  SymId erf(SymId a);
  SymId tanh(SymId a);
  SymId sqrt(SymId a);  // records a >= 0
  SymId pow(SymId a, SymId b);  // integer exponents in [-8, 8] multiply out; else records a > 0
  SymId gt(SymId a, SymId b);
  SymId ge(SymId a, SymId b);
  SymId eq(SymId a, SymId b);
  SymId and_(SymId a, SymId b);
  SymId or_(SymId a, SymId b);
  SymId not_(SymId a);
  SymId truth(bool v);

  bool is_const(SymId id) const { return nodes_[id].op == SymOp::Const; }
  bool is_const(SymId id, double v) const { return is_const(id) && nodes_[id].value == v; }
  double const_value(SymId id) const { return nodes_[id].value; }

  // Definedness conditions recorded since the last take_conditions() (boolean expressions).
  std::vector<SymId> take_conditions();

  // Value under an assignment of the variables (exp, erf, ... by <cmath>); booleans give 1 or 0.
  // `vars` gets (name, index); NaN where a partial operation is undefined.
  double evaluate(SymId id, const std::function<double(const std::string&, int64_t)>& vars) const;
  // Printed as an S-expression, (+ x[0] (* 2 y[1])); `max_chars` truncates with "...".
  std::string str(SymId id, size_t max_chars = 400) const;
  // Every Var under the expression, in first-visit order, without repeats.
  std::vector<SymId> vars_of(SymId id) const;

 private:
  SymId intern(SymNode n);
  SymId make(SymOp op, SymId a, SymId b = 0, SymId c = 0, uint8_t arity = 1);

  struct Key {
    SymOp op;
    uint64_t bits;  // Const: value's bits; Var: index
    std::string name;
    SymId a, b, c;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  std::vector<SymNode> nodes_;
  std::unordered_map<Key, SymId, KeyHash> table_;
  std::vector<SymId> conditions_;
  size_t max_nodes_;
};

}  // namespace eqopt::verify
