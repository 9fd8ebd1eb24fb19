// The guard language's values and its one evaluator. Guards, right-side attribute expressions and
// `#c(...)` constants are evaluated here, for the optimizer over an e-graph match
// (optimizer/rule_compiler.cpp) and for the verifier over a rule instance (verify/guard_eval.h).
// What differs between the two is only where variables and the facts about terms (type, constant
// value, weight, ...) come from: a Reader answers those.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "rules/rule.h"

namespace eqopt::rules::guard {

// Thrown when an expression needs something unknown (an unbound variable, an unknown dim, the value
// of a non-constant, an index out of range): a guard is then false, never an error.
struct Unknown {};

struct Value {
  enum class Kind { Int, Float, String, List, Term, Attrs };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0;
  std::string s;                 // String: the text; Term: the variable, where the reader names terms
  uint64_t term = 0;             // Term: the reader's handle (an e-class), where it numbers them
  std::vector<Value> list;
  std::vector<Attribute> attrs;  // Attrs: every attribute of an operator (`{*=?k}`)

  static Value of_int(int64_t v);
  static Value of_float(double v);
  static Value of_bool(bool b) { return of_int(b ? 1 : 0); }
  static Value of_string(std::string v);
  static Value of_list(std::vector<Value> v);
  static Value of_ints(const std::vector<int64_t>& v);
  static Value of_term(uint64_t handle, std::string name = {});
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double number() const { return kind == Kind::Int ? double(i) : f; }
  std::string str() const;
};
// Numbers compare by value whatever their kind; attribute sets as sets; terms by handle and name.
bool operator==(const Value& a, const Value& b);
// A number is true when non-zero, anything else when it is a non-empty list.
bool truthy(const Value& v);

Value from_attribute(const Attribute& a);                        // Unknown for tensors and graphs
Attribute to_attribute(const std::string& name, const Value& v);  // Unknown for terms and sets
// `#c(...)` on a right side: a number is a scalar, a list a 1-D tensor (int64 when all integers,
// else float32).
Tensor to_tensor(const Value& v);

// Where variables and the facts about terms come from. Every method may throw Unknown.
class Reader {
 public:
  virtual ~Reader() = default;
  // A bound variable's value: a term, an attribute value or an attribute set.
  virtual Value variable(const std::string& name) const = 0;
  // The type of a term that is one value (Unknown for a tuple or a term the reader cannot see).
  virtual TensorType type(const Value& term) const = 0;
  // The term's constant value, nullptr when it has none.
  virtual const Tensor* value(const Value& term) const = 0;
  // `const(t)`: whether the term is a constant (its value may still be out of reach).
  virtual bool is_const(const Value& term) const { return value(term) != nullptr; }
  virtual bool is_weight(const Value& term) const = 0;       // computed from weights only
  virtual bool is_initializer(const Value& term) const = 0;  // a weight of the model itself
  virtual int64_t outputs(const Value& term) const = 0;      // values the term stands for
};

// `rule` gives error positions (may be null). Throws Unknown as above, and Error
// "FILE:LINE:COL: ..." for an unknown function or a wrong argument count.
Value eval(const Expr& e, const Reader& reader, const Rule* rule);
// A guard: Unknown makes it false.
bool holds(const Expr& guard, const Reader& reader, const Rule* rule);

// The guard functions (for documentation and the linter).
const std::vector<std::string>& function_names();
// Throws Error "FILE:LINE:COL: unknown guard function 'f'" for a call no evaluator knows.
void check_functions(const Expr& e, const Rule& rule);
// The same over every attribute expression and constant of a pattern.
void check_pattern_functions(const PatternAst& p, const Rule& rule);

}  // namespace eqopt::rules::guard
