// The guard language (rules/guard.h) over a rule instance (verify/instance.h) instead of an e-graph
// match: a term variable's shape, dtype, value and weight are read from the instance. Used for
// guards, for right-side attribute expressions and `#c(...)` constants when an instance becomes a
// model, and by the instance search to prune partial bindings.
#pragma once
#include "rules/guard.h"
#include "verify/instance.h"

namespace eqopt::verify::guard {

using rules::guard::check_functions;
using rules::guard::from_attribute;
using rules::guard::to_attribute;
using rules::guard::to_tensor;
using rules::guard::truthy;
using rules::guard::Unknown;
using rules::guard::Value;

// The left side's first value (`?root`) as far as it is known.
struct RootInfo {
  TensorType type;
  bool weight = false;    // every term variable under it is a weight
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

}  // namespace eqopt::verify::guard
