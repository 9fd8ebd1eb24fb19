// The guard language evaluated over a rule instance (verify/instance.h) instead of an e-graph match:
// the same values and functions as optimizer/rule_compiler.cpp, with a term variable's shape, dtype,
// value and weight read from the instance. Used for guards, for right-side attribute expressions
// and `#c(...)` constants when an instance becomes a model, and by the instance search to prune
// partial bindings.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "rules/rule.h"
#include "verify/instance.h"

namespace eqopt::verify::guard {

// Thrown when an expression needs something the instance does not give (an unbound variable, the
// value of a non-constant, an index out of range): a guard is then false, as in the compiler.
struct Unknown {};

struct Value {
  enum class Kind { Int, Float, String, List, Term, Attrs };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0;
  std::string s;                 // String: the text; Term: the variable ("?x", "?root")
  std::vector<Value> list;
  std::vector<Attribute> attrs;  // Attrs: an `{*=?k}` binding

  static Value of_int(int64_t v);
  static Value of_float(double v);
  static Value of_bool(bool b) { return of_int(b ? 1 : 0); }
  static Value of_string(std::string v);
  static Value of_list(std::vector<Value> v);
  static Value of_ints(const std::vector<int64_t>& v);
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double number() const { return kind == Kind::Int ? double(i) : f; }
  std::string str() const;
};
bool operator==(const Value& a, const Value& b);
bool truthy(const Value& v);

// The left side's first value (`?root`) as far as it is known.
struct RootInfo {
  TensorType type;
  bool weight = false;  // every term variable under it is a weight
  bool constant = false;  // every term variable under it has a known value
};

// Where variables are read from. Attribute variables and attribute sets come from the instance;
// term variables too, `?root` from `root` (Unknown when absent).
struct Env {
  const rules::Rule* rule = nullptr;  // for error positions
  const Instance* instance = nullptr;
  const RootInfo* root = nullptr;
};

Value eval(const rules::Expr& e, const Env& env);
// Evaluates a guard: Unknown makes it false. Throws Error for an unknown function or a wrong
// argument count.
bool holds(const rules::Expr& guard, const Env& env);

Value from_attribute(const Attribute& a);                        // Unknown for tensors and graphs
Attribute to_attribute(const std::string& name, const Value& v);  // Unknown for terms and sets
// `#c(...)` on a right side: a number is a scalar, a list a 1-D tensor (int64 when all integers).
Tensor to_tensor(const Value& v);

// Throws Error "FILE:LINE:COL: unknown guard function 'f'" for a call the evaluator does not know.
void check_functions(const rules::Expr& e, const rules::Rule& rule);

}  // namespace eqopt::verify::guard
