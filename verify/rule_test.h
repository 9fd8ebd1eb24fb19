// The rule tester: runs both sides of each instance of a rule (verify/instance.h), in the instance's
// dtypes, on the reference interpreter with random inputs and compares them. It cannot prove a
// rule, but it finds most wrong ones in milliseconds and checks what a proof over the reals ignores:
// float32 and float16 rounding of the rewritten computation. Integer and bool outputs must agree
// exactly.
#pragma once
#include <cstddef>
#include <string>

#include "rules/rule.h"
#include "verify/instance.h"

namespace eqopt::verify {

struct RuleTestOptions {
  size_t trials = 3;   // random inputs per instance (rule_test.cpp: floats in [-2, 2] and [0.5, 2])
  unsigned seed = 1;
  double rtol = 1e-4;  // rules tagged `real` use at least 1e-3 (reassociation changes rounding)
  double atol = 1e-5;
};

struct RuleTestResult {
  size_t instances = 0, runs = 0;
  // Largest |L - R| / (atol + rtol * scale) over all outputs, instances and trials (see rule_test.cpp).
  double max_rel_error = 0;
  std::string worst;  // the instance, output, element and both values of the largest error
  std::string note;   // why nothing ran (no instance, an interpreter error)
  bool passed = false;  // at least one run, and every error <= 1
};

// Tests a directed rule on the instances `search` found.
RuleTestResult test_rule(const rules::Rule& directed, const InstanceSearch& search,
                         const RuleTestOptions& options = {});

}  // namespace eqopt::verify
