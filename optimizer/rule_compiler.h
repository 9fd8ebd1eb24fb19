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

// How tagged rules are scheduled. `ac` (associativity/commutativity) rules get a smaller match
// budget in the backoff scheduler, so they are banned sooner and cannot swamp a run; `multi`
// (multi-pattern) rules run only in the first iterations and share one e-node budget
// (RunnerLimits::group_nodes[kMultiGroup]), as TENSAT limits its multi-pattern rules.
struct RuleSchedule {
  size_t ac_match_limit = 250;
  size_t multi_iterations = 2;
};
constexpr int kMultiGroup = 0;

struct CompiledRules {
  std::vector<eg::Rewrite<TensorEGraph>> rewrites;
  std::vector<const rules::Rule*> sources;  // the directed rule each rewrite came from
  std::vector<rules::Rule> directed;          // storage for the expanded rules
};

// Compiles every rule (bidirectional ones as two); throws Error "FILE:LINE:COL: ..." for a rule that
// uses an unknown guard function or cannot be compiled.
CompiledRules compile_rules(TensorProgram& program, const std::vector<rules::Rule>& rules,
                            const RuleSchedule& schedule = {});

}  // namespace eqopt::opt
