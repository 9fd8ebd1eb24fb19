// The rule verifier: a rule is proved on each of its instances (verify/instance.h) by evaluating
// both sides symbolically (verify/sym_eval.h) and asking Z3 whether any input makes an output
// element differ where the left side is defined; or refuted with a concrete counterexample that
// double-precision evaluation confirms; or left unknown with the reason. docs/verification.md
// describes the method, the axioms and what a proof covers.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "verify/instance.h"

namespace eqopt::verify {

enum class Verdict { Proved, Refuted, Unknown };
const char* verdict_name(Verdict v);

struct VerifyOptions {
  double timeout_s = 10;         // per rule, instance search and every solver call included
  InstanceLimits limits;         // instance search bounds
  size_t random_points = 4;      // numeric probes per instance before the solver (fast refutations)
};

struct VerifyResult {
  std::string rule;  // directed rule name
  Verdict verdict = Verdict::Unknown;
  // Proved: what the proof covers ("all shapes: elementwise, proved on scalars" or "6 instances
  // (ranks <= 4, dims <= 3) satisfying the guard"). Unknown: the reason. Refuted: one line.
  std::string detail;
  // Refuted: the counterexample, several lines (instance, input values, outputs of both sides).
  std::string counterexample;
  bool real_algebra = false;  // tagged `real`: sound over the reals, float results may differ
  size_t instances = 0;       // instances checked
  size_t solver_calls = 0;
  double seconds = 0;
};

// Verifies one directed rule (bidirectional rules: expand_bidirectional first). Never throws for a
// problem of the rule itself (that is a Refuted or Unknown result); never runs past the timeout by
// more than the time of one symbolic evaluation.
VerifyResult verify_rule(const rules::Rule& rule, const VerifyOptions& options = {});

// Verifies many rules on `jobs` threads (each with its own Z3 context); results in input order.
// `progress`, when set, is called after each rule (from the worker threads, serialized).
std::vector<VerifyResult> verify_rules(const std::vector<rules::Rule>& rules, const VerifyOptions& options,
                                       unsigned jobs,
                                       const std::function<void(const VerifyResult&)>& progress = nullptr);

}  // namespace eqopt::verify
