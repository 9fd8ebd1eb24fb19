// Symbolic scalar expressions, the values of the rule verifier (docs/verification.md): reals,
// booleans and fixed-width integers.
//
// A tensor under symbolic evaluation is a vector of these expressions, one per element. Nodes are
// hash-consed in a SymCtx (equal structure, equal id) and built through SymCtx's constructors, which
// fold constants and drop neutral elements (x + 0, x * 1) so that expressions stay small.
//
// Real semantics (every floating-point type): Add, Mul, Neg are exact; Inv(x) is 1/x, defined for
// x != 0; Max, Min, Select (piecewise-linear) are exact. Exp, Log, Erf, Tanh, Sqrt, Pow are
// uninterpreted functions in the prover, with the axioms docs/verification.md lists; Log needs
// x > 0, Sqrt x >= 0. Round(x, format) is x rounded to the nearest value of a floating-point format
// (ties to even): where a value becomes float16 (a float16 input, a Cast), or an integer becomes a
// float; it needs |x| below the format's overflow threshold.
//
// Integer semantics: an expression whose sort has `bits` > 0 is a two's-complement bit-vector of that
// width, signed or unsigned, with wrap-around Add, Mul and Neg (ONNX int64/int32 arithmetic as
// runtimes compute it), truncating division and remainder (IDiv, IRem: divisor != 0; MIN / -1
// wraps to MIN), shifts (every bit shifted out at the width or beyond) and conversions (IntCast
// between widths, IntToReal, RealToInt truncating toward zero and defined only in range). These
// are SMT-LIB's bit-vector operations and eqopt's interpreter's integer kernels alike. Add, Mul,
// Neg, Max, Min, Select and the comparisons take the sort of their operands; a real constant next
// to an integer becomes one.
//
// Every partial operation records its definedness condition in the context (`conditions()`), so a
// side's conditions say where it is defined. Booleans (Gt, Ge, Eq, And, Or, Not) appear as Select
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
  // conversions and integer-only ops
  Round,      // a rounded to the floating-point format `index` (16, 32 or 64 bits); real
  IntToReal,  // the integer a's value as a real
  RealToInt,  // a truncated toward zero, as an integer of the node's sort
  IntCast,    // integer a in the node's sort (wraps when narrowing)
  IDiv,       // a / b truncated toward zero (b != 0)
  IRem,       // a - b * IDiv(a, b): the sign of a (b != 0)
  Shl,        // a << b
  Shr,        // a >> b (logical for unsigned sorts, arithmetic for signed ones)
};

// The sort of an expression: real (also the sort of booleans) or an integer of `bits` bits.
struct SymSort {
  uint8_t bits = 0;  // 0: real or boolean
  bool is_unsigned = false;
  bool integer() const { return bits > 0; }
  bool operator==(const SymSort&) const = default;
  static SymSort real() { return {}; }
  static SymSort int_of(int bits, bool is_unsigned) { return {uint8_t(bits), is_unsigned}; }
};

// The floating-point formats Round knows, by width.
struct FloatFormat {
  int bits;        // 16, 32, 64
  int precision;   // significand bits, the hidden one included (11, 24, 53)
  int min_exp;     // exponent of the smallest normal value (-14, -126, -1022)
  double max_finite;
  // Smallest magnitude that rounds to infinity.
  double overflow() const;
  // x rounded to the nearest value of the format, ties to even; infinity beyond overflow().
  double round(double x) const;
  static const FloatFormat* of_bits(int bits);  // nullptr for another width
};

// A scalar under numeric evaluation: a real (booleans are 1 or 0), or an integer's value as a
// two's-complement int64 (an unsigned 64-bit value above 2^63 wraps to a negative one).
struct SymScalar {
  double real = 0;
  int64_t bits = 0;
  static SymScalar of_real(double v) { return {v, 0}; }
  static SymScalar of_int(int64_t v) { return {double(v), v}; }
};

const char* sym_op_name(SymOp op);
bool sym_op_is_bool(SymOp op);

struct SymNode {
  SymOp op = SymOp::Const;
  double value = 0;  // Const (an integer constant's value, rounded to a double)
  std::string name;  // Var
  int64_t index = 0; // Var: element index; integer Const: the exact value; Round: the format's bits
  SymId a = 0, b = 0, c = 0;
  uint8_t arity = 0;
  SymSort sort;
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
  // An integer constant of the sort (wrapped to its width).
  SymId int_constant(int64_t v, SymSort sort);
  SymId var(const std::string& name, int64_t index);
  SymId int_var(const std::string& name, int64_t index, SymSort sort);
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
  // Conversions (see the header comment).
  SymId round(SymId a, int format_bits);  // records |a| < overflow
  SymId int_to_real(SymId a);
  SymId real_to_int(SymId a, SymSort to);  // records that the truncated value fits `to`
  SymId int_cast(SymId a, SymSort to);
  // Integer-only ops.
  SymId idiv(SymId a, SymId b);  // records b != 0
  SymId irem(SymId a, SymId b);  // records b != 0
  SymId shl(SymId a, SymId b);
  SymId shr(SymId a, SymId b);
  // v as a constant of the sort (an integer constant, or a real one).
  SymId constant_of(double v, const SymSort& sort) {
    return sort.integer() ? int_constant(int64_t(v), sort) : constant(v);
  }

  bool is_const(SymId id) const { return nodes_[id].op == SymOp::Const; }
  bool is_const(SymId id, double v) const { return is_const(id) && nodes_[id].value == v; }
  double const_value(SymId id) const { return nodes_[id].value; }
  // An integer constant's exact value; a real constant's integer part (0 beyond int64's range).
  int64_t const_int(SymId id) const;
  const SymSort& sort(SymId id) const { return nodes_[id].sort; }
  bool is_int(SymId id) const { return nodes_[id].sort.integer(); }

  // Definedness conditions recorded since the last take_conditions() (boolean expressions).
  std::vector<SymId> take_conditions();

  // Value under an assignment of the variables (exp, erf, ... by <cmath>); booleans give 1 or 0.
  // `vars` gets (name, index); NaN where a partial operation is undefined.
  double evaluate(SymId id, const std::function<double(const std::string&, int64_t)>& vars) const;
  // The same with integers exact: `vars` gets the Var node (its sort says which part to fill).
  // An undefined integer operation gives a NaN `real`.
  SymScalar evaluate_scalar(SymId id, const std::function<SymScalar(const SymNode&)>& vars) const;
  // Printed as an S-expression, (+ x[0] (* 2 y[1])); `max_chars` truncates with "...".
  std::string str(SymId id, size_t max_chars = 400) const;
  // Every Var under the expression, in first-visit order, without repeats.
  std::vector<SymId> vars_of(SymId id) const;

 private:
  SymId intern(SymNode n);
  SymId make(SymOp op, SymId a, SymId b = 0, SymId c = 0, uint8_t arity = 1, SymSort sort = {}, int64_t index = 0);
  // The common sort of two operands of an arithmetic op: a real constant beside an integer becomes
  // an integer constant (returned through a or b); fails on an integer beside a non-constant real.
  SymSort unify(SymId& a, SymId& b);
  SymId int_binary(SymOp op, SymId a, SymId b);

  struct Key {
    SymOp op;
    uint64_t bits;  // Const: value's bits; Var: index
    std::string name;
    SymId a, b, c;
    uint16_t sort;
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
