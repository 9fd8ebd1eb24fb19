// Turns parsed rules (rules/) into rewrites over a TensorProgram's e-graph.
//
// Every operator in a left pattern matches any attributes unless the pattern names some: a named
// attribute with a literal must be present with that value; with a variable, it binds that
// attribute variable. `?root` in a guard or right side is the matched class. A rule applies only
// when its right side infers to the matched class's dtype and shape (a rewrite never changes
// either), and never to the tuple class of a multi-output op.
#pragma once
#include <string>
#include <vector>

#include "egraph/rewrite.h"
#include "optimizer/tensor_egraph.h"
#include "rules/rule.h"

namespace eqopt::opt {

struct CompiledRules {
  std::vector<eg::Rewrite<TensorEGraph>> rewrites;
  std::vector<const rules::Rule*> sources;  // the directed rule each rewrite came from
  std::vector<rules::Rule> directed;          // storage for the expanded rules
};

// Compiles every rule (bidirectional ones as two); throws Error "FILE:LINE:COL: ..." for a rule that
// uses an unknown guard function or cannot be compiled.
CompiledRules compile_rules(TensorProgram& program, const std::vector<rules::Rule>& rules);

// The guard functions the compiler knows (for documentation and the linter).
std::vector<std::string> guard_function_names();

}  // namespace eqopt::opt
