// The verifier against deliberately wrong rules (every file of tests/wrong_rules): every one must
// be refuted with a counterexample that names the instance, the inputs and both sides' values, and
// every one must fail the rule tester. Also small rules the verifier must prove, with the scope it
// states.
#include <gtest/gtest.h>

#include "rules/parser.h"
#include "tests/test_util.h"
#include "verify/lint.h"
#include "verify/prover.h"
#include "verify/rule_test.h"

using namespace eqopt;
using namespace eqopt::verify;

namespace {

std::vector<rules::Rule> wrong_rules() {
  return rules::expand_bidirectional(load_rules({test::source_dir() + "/tests/wrong_rules"}));
}

rules::Rule one_rule(const std::string& text) {
  auto rs = rules::expand_bidirectional(rules::parse_rules("category test\n" + text, "test.rules"));
  EXPECT_EQ(rs.size(), 1u);
  return rs.at(0);
}

}  // namespace

TEST(VerifyWrongRules, EveryWrongRuleIsRefutedWithACounterexample) {
  const std::vector<rules::Rule> rs = wrong_rules();
  ASSERT_GE(rs.size(), 38u);
  const std::vector<VerifyResult> results = verify_rules(rs, VerifyOptions{}, 2);
  for (size_t i = 0; i < rs.size(); ++i) {
    SCOPED_TRACE(rs[i].name);
    EXPECT_EQ(results[i].verdict, Verdict::Refuted) << results[i].detail;
    EXPECT_NE(results[i].counterexample.find("instance:"), std::string::npos) << results[i].counterexample;
    // The differing element with both sides' values, or the shapes that differ.
    EXPECT_TRUE(results[i].detail.find("left") != std::string::npos ||
                results[i].detail.find("undefined") != std::string::npos)
        << results[i].detail;
  }
}

TEST(VerifyWrongRules, EveryWrongRuleFailsTheFloatTester) {
  for (const rules::Rule& r : wrong_rules()) {
    SCOPED_TRACE(r.name);
    const InstanceSearch search = find_instances(r);
    ASSERT_FALSE(search.instances.empty()) << search.note;
    const RuleTestResult t = test_rule(r, search, RuleTestOptions{});
    EXPECT_FALSE(t.passed) << "max error " << t.max_rel_error;
  }
}

TEST(VerifyProver, ElementwiseRuleIsProvedForAllShapes) {
  const VerifyResult r = verify_rule(one_rule("rule t:\n  (Mul ?a (Add ?b ?c)) => (Add (Mul ?a ?b) (Mul ?a ?c))\n"));
  EXPECT_EQ(r.verdict, Verdict::Proved) << r.detail;
  EXPECT_NE(r.detail.find("all shapes"), std::string::npos) << r.detail;
}

TEST(VerifyProver, RulesOverComparisonResultsAreDecided) {
  // A comparison's result is a Bool: the solver compares the two sides as Bools (subtracting them
  // crashed Z3's simplifier). Not(a < b) is a >= b, not a > b (they differ where a == b).
  const VerifyResult wrong = verify_rule(one_rule("rule t:\n  (Not (Less ?a ?b)) => (Greater ?a ?b)\n"));
  EXPECT_EQ(wrong.verdict, Verdict::Refuted) << wrong.detail;
  EXPECT_NE(wrong.counterexample.find("instance:"), std::string::npos) << wrong.counterexample;
  const VerifyResult right = verify_rule(one_rule("rule t:\n  (Not (Less ?a ?b)) => (GreaterOrEqual ?a ?b)\n"));
  EXPECT_EQ(right.verdict, Verdict::Proved) << right.detail;
}

TEST(VerifyProver, MatMulAssociativityIsProvedOnInstances) {
  const VerifyResult r = verify_rule(
      one_rule("rule t:\n  (MatMul (MatMul ?a ?b) ?c) => (MatMul ?a (MatMul ?b ?c))\n"
               "  if rank(?a) >= 2 && rank(?b) >= 2 && rank(?c) >= 2\n"));
  EXPECT_EQ(r.verdict, Verdict::Proved) << r.detail;
  EXPECT_NE(r.detail.find("instances"), std::string::npos) << r.detail;
  EXPECT_GE(r.instances, 1u);
}

TEST(VerifyProver, PiecewiseLinearIdentityNeedsTheSolver) {
  // relu(x) - relu(-x) = x holds for every real x, but the two expressions differ syntactically.
  const VerifyResult r =
      verify_rule(one_rule("rule t:\n  (Sub (Relu ?x) (Relu (Neg ?x))) => ?x\n  if dtype(?x) == \"float32\"\n"));
  EXPECT_EQ(r.verdict, Verdict::Proved) << r.detail;
  EXPECT_GE(r.solver_calls, 1u);
  // Not for int64: -MIN wraps to MIN, so both Relus give 0.
  const VerifyResult i = verify_rule(one_rule("rule t:\n  (Sub (Relu ?x) (Relu (Neg ?x))) => ?x\n"));
  EXPECT_EQ(i.verdict, Verdict::Refuted) << i.detail;
  EXPECT_NE(i.counterexample.find("i64"), std::string::npos) << i.counterexample;
  EXPECT_NE(i.detail.find("right -9223372036854775808"), std::string::npos) << i.detail;
}

TEST(VerifyProver, DivisionIntroducedOnTheRightIsRefuted) {
  // x * y = (x * y * y) / y fails where y = 0: the right side is undefined where the left is defined.
  const VerifyResult r = verify_rule(one_rule("rule t:\n  (Mul ?x ?y) => (Div (Mul (Mul ?x ?y) ?y) ?y)\n"));
  EXPECT_EQ(r.verdict, Verdict::Refuted) << r.detail;
  EXPECT_NE(r.detail.find("undefined"), std::string::npos) << r.detail;
  // With the division on the left, the left side is defined only where y != 0, and there the two
  // sides agree over the reals.
  const VerifyResult back = verify_rule(
      one_rule("rule t:\n  (Div (Mul (Mul ?x ?y) ?y) ?y) => (Mul ?x ?y)\n  if dtype(?x) == \"float32\"\n"));
  EXPECT_EQ(back.verdict, Verdict::Proved) << back.detail;
  // Integer products wrap, so dividing one by y need not give x * y back.
  const VerifyResult wraps = verify_rule(one_rule("rule t:\n  (Div (Mul (Mul ?x ?y) ?y) ?y) => (Mul ?x ?y)\n"));
  EXPECT_EQ(wraps.verdict, Verdict::Refuted) << wraps.detail;
  EXPECT_NE(wraps.counterexample.find("i64"), std::string::npos) << wraps.counterexample;
}

TEST(VerifyProver, ApproximateConstantsMeetTheirTargets) {
  // Gelu(x) = 0.5 x (1 + erf(x / sqrt(2))) with 1.4142135 as exported by frameworks.
  const VerifyResult r = verify_rule(
      one_rule("rule t:\n  (Mul (Mul ?x (Add (Erf (Div ?x ?r)) #c(1))) #c(0.5)) => (Gelu ?x)\n"
               "  if const(?r) && approx(scalar(?r), sqrt(2.0))\n"));
  EXPECT_EQ(r.verdict, Verdict::Proved) << r.detail;
  EXPECT_NE(r.detail.find("approx"), std::string::npos) << r.detail;
}

TEST(VerifyProver, TimeLimitGivesUnknownNotAHang) {
  VerifyOptions o;
  o.timeout_s = 1e-3;
  const VerifyResult r = verify_rule(
      one_rule("rule t:\n  (MatMul (MatMul ?a ?b) ?c) => (MatMul ?a (MatMul ?b ?c))\n"
               "  if rank(?a) >= 2 && rank(?b) >= 2 && rank(?c) >= 2\n"),
      o);
  EXPECT_NE(r.verdict, Verdict::Refuted);
  EXPECT_LT(r.seconds, 5.0);
}
