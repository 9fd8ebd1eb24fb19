// Instances drawn from the op schema (verify/instance.h): dtypes from the ops' input specs (bool for
// logic and Where's condition, integers, float16), required attributes and attribute sets from the
// schema's values to try (AttrSpec::try_values, ir/ops/attr_domains.cpp); and the prover's reading
// of them: bools as truth values, integers wrapping around, float16 rounding (docs/verification.md,
// "Dtypes").
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ir/op_registry.h"
#include "rules/parser.h"
#include "verify/instance.h"
#include "verify/prover.h"

using namespace eqopt;
using namespace eqopt::verify;

namespace {

rules::Rule one_rule(const std::string& text) {
  auto rs = rules::expand_bidirectional(rules::parse_rules("category test\n" + text, "test.rules"));
  EXPECT_EQ(rs.size(), 1u);
  return rs.at(0);
}

bool has_dtype(const Instance& i, DType t) {
  return std::any_of(i.dtypes.begin(), i.dtypes.end(), [&](const auto& d) { return d.second == t; });
}

}  // namespace

TEST(VerifyDtypes, DeMorganIsDecidedOnBoolInstances) {
  // And takes bools only: the instance draws them, as unknowns (a known value would hide the bug).
  const VerifyResult wrong = verify_rule(one_rule("rule t:\n  (Not (And ?a ?b)) => (And (Not ?a) (Not ?b))\n"));
  EXPECT_EQ(wrong.verdict, Verdict::Refuted) << wrong.detail;
  EXPECT_NE(wrong.counterexample.find("?a: bool"), std::string::npos) << wrong.counterexample;
  EXPECT_NE(wrong.counterexample.find("inputs:"), std::string::npos) << wrong.counterexample;
  EXPECT_NE(wrong.detail.find("left true, right false"), std::string::npos) << wrong.detail;
  const VerifyResult right = verify_rule(one_rule("rule t:\n  (Not (And ?a ?b)) => (Or (Not ?a) (Not ?b))\n"));
  EXPECT_EQ(right.verdict, Verdict::Proved) << right.detail;
  EXPECT_NE(right.detail.find("dtypes bool"), std::string::npos) << right.detail;
}

TEST(VerifyDtypes, LpPoolGetsItsRequiredKernelShapeFromTheSchema) {
  // kernel_shape is required and `*=?k` leaves it open: every attribute set carries one of the
  // schema's values to try.
  const AttrSpec* ks = OpRegistry::global().find("", "LpPool")->attr("kernel_shape");
  ASSERT_TRUE(ks && ks->required);
  ASSERT_FALSE(ks->try_values.empty());
  const rules::Rule rule = one_rule("rule t:\n  (Neg (LpPool{*=?k} ?x)) => (LpPool{*=?k} (Neg ?x))\n");
  const InstanceSearch s = find_instances(rule);
  ASSERT_FALSE(s.instances.empty()) << s.note;
  for (const Instance& i : s.instances) {
    const auto& set = i.attr_sets.at("?k");
    EXPECT_TRUE(std::any_of(set.begin(), set.end(), [](const Attribute& a) { return a.name == "kernel_shape"; }))
        << i.str();
  }
  const VerifyResult r = verify_rule(rule);
  EXPECT_EQ(r.verdict, Verdict::Refuted) << r.detail;
  EXPECT_NE(r.counterexample.find("kernel_shape="), std::string::npos) << r.counterexample;
  // LpPool is even: this one holds.
  const VerifyResult even = verify_rule(one_rule("rule t:\n  (LpPool{*=?k} (Neg ?x)) => (LpPool{*=?k} ?x)\n"));
  EXPECT_EQ(even.verdict, Verdict::Proved) << even.detail;
}

TEST(VerifyDtypes, CastTargetsComeFromTheSchema) {
  // Cast's `to` is required; `*=?k` leaves it open, so the sets try the schema's targets.
  const InstanceSearch s = find_instances(
      one_rule("rule t:\n  (Transpose{perm=[1, 0]} (Cast{*=?k} ?x)) => (Cast{*=?k} (Transpose{perm=[1, 0]} ?x))\n"));
  std::set<int64_t> targets;
  for (const Instance& i : s.instances)
    for (const Attribute& a : i.attr_sets.at("?k"))
      if (a.name == "to") targets.insert(a.i);
  EXPECT_GE(targets.size(), 2u);
  // Without a set, the node's own `to` (a NodeAttr) takes the targets the guard allows.
  const InstanceSearch same = find_instances(one_rule("rule t:\n  (Cast ?x) => ?x\n  if dtype(?x) == dtype(?root)\n"));
  ASSERT_FALSE(same.instances.empty()) << same.note;
  EXPECT_EQ(same.instances[0].node_attrs.at("0").at(0).name, "to");
}

TEST(VerifyDtypes, IntegerInstancesWrapAround) {
  // Associativity holds for wrapping integers too; the search adds an int64 instance to the float32
  // ones and says so.
  const VerifyResult assoc = verify_rule(one_rule("rule t:\n  (Add ?a (Add ?b ?c)) => (Add (Add ?a ?b) ?c)\n"));
  EXPECT_EQ(assoc.verdict, Verdict::Proved) << assoc.detail;
  EXPECT_NE(assoc.detail.find("i64"), std::string::npos) << assoc.detail;
  EXPECT_NE(assoc.detail.find("integers wrapping around"), std::string::npos) << assoc.detail;
  // (2a) / 2 is a for reals, not for int64 where 2a overflows.
  const VerifyResult half = verify_rule(one_rule("rule t:\n  (Div (Mul ?a #c(2)) #c(2)) => ?a\n"));
  EXPECT_EQ(half.verdict, Verdict::Refuted) << half.detail;
  EXPECT_NE(half.counterexample.find("?a: i64"), std::string::npos) << half.counterexample;
  // Integer-only ops draw integers: BitShift unsigned ones.
  const InstanceSearch shift = find_instances(
      one_rule("rule t:\n  (BitShift{direction=\"LEFT\"} ?x ?s) => (BitShift{direction=\"LEFT\"} ?x ?s)\n"));
  ASSERT_FALSE(shift.instances.empty()) << shift.note;
  EXPECT_TRUE(has_dtype(shift.instances[0], DType::UInt64)) << shift.instances[0].str();
}

TEST(VerifyDtypes, Float16RoundsWhereValuesBecomeFloat16) {
  // A float16 value survives a trip through float32; a float32 value does not survive one through
  // float16.
  const VerifyResult back = verify_rule(one_rule("rule t:\n  (Cast{to=10} (Cast{to=1} ?x)) => ?x\n"));
  EXPECT_EQ(back.verdict, Verdict::Proved) << back.detail;
  EXPECT_NE(back.detail.find("f16"), std::string::npos) << back.detail;
  const VerifyResult lossy = verify_rule(one_rule("rule t:\n  (Cast{to=1} (Cast{to=10} ?x)) => ?x\n"));
  EXPECT_EQ(lossy.verdict, Verdict::Refuted) << lossy.detail;
  // Rounding commutes with Relu (it is monotone and keeps 0).
  const VerifyResult relu = verify_rule(one_rule("rule t:\n  (Relu (Cast{to=10} ?x)) => (Cast{to=10} (Relu ?x))\n"));
  EXPECT_EQ(relu.verdict, Verdict::Proved) << relu.detail;
}

TEST(VerifyDtypes, AnAttributeWithoutValuesToTryLeavesNoInstanceAndSaysWhy) {
  // Einsum's equation is required and has no values to try: the verdict names it, as the
  // RuleDb.Verify and RuleDb.WrongRulesRefuted tests look for ("no instance").
  const VerifyResult r = verify_rule(one_rule("rule t:\n  (Neg (Einsum ?x)) => (Einsum (Neg ?x))\n"));
  EXPECT_EQ(r.verdict, Verdict::Unknown);
  EXPECT_NE(r.detail.find("no instance"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("'equation' of Einsum"), std::string::npos) << r.detail;
}
