// Rule instances (verify/instance.h) and the float32 rule tester (verify/rule_test.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "interp/interpreter.h"
#include "ir/shape_inference.h"
#include "rules/parser.h"
#include "test_util.h"
#include "verify/instance.h"
#include "verify/rule_test.h"

namespace eqopt::verify {
namespace {

std::vector<rules::Rule> ruledb_rules() {
  return rules::expand_bidirectional(rules::load_rule_dir(test::source_dir() + "/ruledb"));
}

rules::Rule parse_one(const std::string& text) {
  std::vector<rules::Rule> r = rules::expand_bidirectional(rules::parse_rules(text, "test.rules"));
  EXPECT_EQ(r.size(), 1u);
  return r.at(0);
}

// Directed ruledb rules without an instance, each with the reason. Empty: every rule has one.
const std::map<std::string, std::string> kNoInstance = {};

// ---------------------------------------------------------------- guard evaluation

TEST(InstanceGuard, ShapeFunctions) {
  const rules::Rule r = parse_one(
      "rule g: (Add ?a ?b) => (Add ?b ?a) if rank(?a) == 2 && dim(?a, -1) == 3 && numel(?b) == 3 && "
      "broadcastable(?a, ?b) && shape(?b) == [3] && !broadcastable(?b, ?a)");
  Instance inst;
  inst.shapes["?a"] = {2, 3};
  inst.shapes["?b"] = {3};
  EXPECT_TRUE(guard_holds(r, inst));
  inst.shapes["?b"] = {2};
  EXPECT_FALSE(guard_holds(r, inst));
}

TEST(InstanceGuard, WeightsValuesAndAttributes) {
  const rules::Rule r = parse_one(
      "rule g: (Mul (LeakyRelu{*=?k} ?x) ?c) => ?x if weight(?c) && const(?c) && !weight(?x) && "
      "all_eq(value(?c), 1) && approx(attr(?k, \"alpha\", 0.01), 0.1) && attr(?k, \"beta\", 7) == 7 && "
      "initializer(?c) && scalar(?c) == 1.0");
  Instance inst;
  inst.shapes["?x"] = {2};
  inst.shapes["?c"] = {};
  inst.values["?c"] = Tensor::scalar<float>(1.0f);
  inst.weights.insert("?c");
  inst.attr_sets["?k"] = {Attribute::make_float("alpha", 0.1f)};
  EXPECT_TRUE(guard_holds(r, inst));
  inst.attr_sets["?k"] = {};  // the default alpha 0.01 is not 0.1
  EXPECT_FALSE(guard_holds(r, inst));
  inst.attr_sets["?k"] = {Attribute::make_float("alpha", 0.1f)};
  inst.values["?c"] = Tensor::scalar<float>(2.0f);
  EXPECT_FALSE(guard_holds(r, inst));
  inst.values.erase("?c");  // a symbolic weight: const() and value() are false / unknown
  EXPECT_FALSE(guard_holds(r, inst));
}

TEST(InstanceGuard, ListFunctionsRootAndErrors) {
  const rules::Rule r = parse_one(
      "rule g: (Transpose{perm=?p} ?x) => ?x if compose(?p, [1, 0, 2]) == [0, 2, 1] && inverse_perm(?p) == [1, 2, 0] "
      "&& index_of(?p, -1) == 0 && gather(?p, [0]) == [2] && pad_left([3], 3, 1) == [1, 1, 3] && len(?p) == 3 && "
      "contains(?p, 0) && shape(?root) == [4, 2, 3] && dtype(?root) == \"float32\" && is_identity_perm([0, 1]) "
      "&& sqrt(4.0) == 2 && 7 % 4 == 3 && 7 / 2 == 3");
  Instance inst;
  inst.shapes["?x"] = {2, 3, 4};
  inst.attrs["?p"] = Attribute::make_ints("perm", {2, 0, 1});
  EXPECT_TRUE(guard_holds(r, inst));
  inst.attrs["?p"] = Attribute::make_ints("perm", {1, 0, 2});
  EXPECT_FALSE(guard_holds(r, inst));
  const rules::Rule bad = parse_one("rule g: (Relu ?x) => ?x if frobnicate(?x)");
  EXPECT_THROW(guard_holds(bad, inst), Error);
}

// ---------------------------------------------------------------- instance models

TEST(InstanceModel, ConstantsAndComputedAttributes) {
  const rules::Rule s = parse_one(
      "rule m: (Transpose{perm=?p} (Add ?x ?c)) => (Add (Transpose{perm=inverse_perm(?p)} ?x) (Mul ?c #c(2.0))) "
      "if weight(?c)");
  Instance inst;
  inst.shapes["?x"] = {2, 3, 4};
  inst.shapes["?c"] = {1};
  inst.values["?c"] = Tensor::from_vector<float>({1}, {3});
  inst.weights.insert("?c");
  inst.attrs["?p"] = Attribute::make_ints("perm", {1, 2, 0});
  const Model m = instance_model(s, inst);
  ASSERT_EQ(m.graph.inputs.size(), 1u);
  EXPECT_EQ(m.graph.inputs[0].name, "x");
  ASSERT_EQ(m.graph.outputs.size(), 2u);
  bool found_inverse = false, found_two = false;
  for (const Node& n : m.graph.nodes)
    if (n.op_type == "Transpose" && n.attr_ints("perm") == std::vector<int64_t>{2, 0, 1}) found_inverse = true;
  for (const Initializer& i : m.graph.initializers)
    if (i.value.dtype() == DType::Float && i.value.rank() == 0 && i.value.as_double(0) == 2.0) found_two = true;
  EXPECT_TRUE(found_inverse);
  EXPECT_TRUE(found_two);
  EXPECT_NE(m.graph.find_initializer("c"), nullptr);
  const InferenceResult types = infer_model(m);
  EXPECT_EQ(types.type_of(m.graph.outputs[0].name)->str(), "float32[3,4,2]");
}

TEST(InstanceModel, IntegerConstantsAndBareVariables) {
  const rules::Rule r = parse_one(
      "rule m: (Flatten{axis=1} ?x) => (Reshape (Flatten{axis=rank(?x) - 1} ?x) #c([dim(?x, 0), -1]))");
  Instance inst;
  inst.shapes["?x"] = {2, 3, 4};
  const Model m = instance_model(r, inst);
  std::vector<int64_t> axes;
  for (const Node& n : m.graph.nodes)
    if (n.op_type == "Flatten") axes.push_back(n.attr_int("axis", -7));
  EXPECT_EQ(axes, (std::vector<int64_t>{1, 2}));
  const Initializer* shape = nullptr;
  for (const Initializer& i : m.graph.initializers)
    if (i.value.dtype() == DType::Int64) shape = &i;
  ASSERT_NE(shape, nullptr);
  EXPECT_EQ(shape->value.to_int64_vector(), (std::vector<int64_t>{2, -1}));
  const InferenceResult types = infer_model(m);
  EXPECT_EQ(types.type_of(m.graph.outputs[1].name)->str(), "float32[2,12]");
  const rules::Rule id = parse_one("rule m: (Identity ?x) => ?x");
  const Model mi = instance_model(id, inst);
  ASSERT_EQ(mi.graph.outputs.size(), 2u);
  EXPECT_EQ(mi.graph.outputs[1].name, "x");
}

// ---------------------------------------------------------------- the search

TEST(InstanceSearch, ElementwiseRuleStartsWithScalars) {
  const InstanceSearch s = find_instances(parse_one("rule e: (Relu (Neg ?x)) => (Neg (Relu (Neg (Neg ?x))))"));
  ASSERT_FALSE(s.instances.empty()) << s.note;
  EXPECT_TRUE(s.elementwise);
  EXPECT_TRUE(s.instances[0].shapes.at("?x").empty());
  EXPECT_GT(s.instances.size(), 1u);
  const InstanceSearch mm = find_instances(parse_one("rule m: (MatMul ?a ?b) => (MatMul ?a ?b)"));
  ASSERT_FALSE(mm.instances.empty()) << mm.note;
  EXPECT_FALSE(mm.elementwise);
  const InstanceSearch shaped =
      find_instances(parse_one("rule e: (Add ?a ?b) => (Add ?b ?a) if rank(?a) == 2 && shape(?a) == shape(?b)"));
  EXPECT_FALSE(shaped.elementwise);
  ASSERT_FALSE(shaped.instances.empty());
  for (const Instance& i : shaped.instances) {
    EXPECT_EQ(i.shapes.at("?a").size(), 2u);
    EXPECT_EQ(i.shapes.at("?a"), i.shapes.at("?b"));
  }
}

TEST(InstanceSearch, InstancesDifferAndSatisfyTheGuard) {
  const rules::Rule r = parse_one(
      "rule t: (Transpose{perm=?p} (Concat{axis=?ax} ?a ?b)) "
      "=> (Concat{axis=index_of(?p, ?ax)} (Transpose{perm=?p} ?a) (Transpose{perm=?p} ?b)) if rank(?a) == len(?p)");
  const InstanceSearch s = find_instances(r);
  ASSERT_GE(s.instances.size(), 3u) << s.note;
  std::set<std::string> seen;
  for (const Instance& i : s.instances) {
    EXPECT_TRUE(seen.insert(i.str()).second) << i.str();
    EXPECT_TRUE(guard_holds(r, i)) << i.str();
  }
  EXPECT_NE(s.scope.find("instances"), std::string::npos);
}

TEST(InstanceSearch, GuardHintsAndOpset) {
  // approx() on an attribute set: the set holds the target, which the instance records.
  const InstanceSearch h = find_instances(parse_one(
      "rule h: (Mul ?x (HardSigmoid{*=?h} ?x)) => (HardSwish ?x) "
      "if approx(attr(?h, \"alpha\", 0.2), 1.0 / 6.0) && approx(attr(?h, \"beta\", 0.5), 0.5)"));
  ASSERT_FALSE(h.instances.empty()) << h.note;
  ASSERT_EQ(h.instances[0].approx_targets.size(), 2u);
  EXPECT_DOUBLE_EQ(h.instances[0].approx_targets[0], 1.0 / 6.0);
  EXPECT_NEAR(h.instances[0].attr_sets.at("?h").at(0).f, 1.0 / 6.0, 1e-7);
  // Values the guard reads: all_eq, comparisons, approx of a scalar.
  const InstanceSearch v = find_instances(parse_one(
      "rule v: (Where ?c (Add ?x ?z) (Mul ?x ?r)) => ?x if all_eq(value(?z), 0) && scalar(?r) <= -3 && "
      "static(?x) && shape(?x) == shape(?root)"));
  ASSERT_FALSE(v.instances.empty()) << v.note;
  for (const Instance& i : v.instances) {
    EXPECT_EQ(i.values.at("?z").as_double(0), 0.0);
    EXPECT_EQ(i.values.at("?r").as_double(0), -3.0);
    EXPECT_EQ(i.dtypes.at("?c"), DType::Bool);
    EXPECT_TRUE(i.weights.count("?z"));
  }
  // An axes attribute on Squeeze is the opset < 13 form.
  const InstanceSearch o = find_instances(parse_one("rule o: (Squeeze{axes=?a} (Unsqueeze{axes=?a} ?x)) => ?x"));
  ASSERT_FALSE(o.instances.empty()) << o.note;
  EXPECT_EQ(o.instances[0].opset, 12);
  EXPECT_NE(o.scope.find("opset 12"), std::string::npos);
  // Smallest first.
  for (size_t k = 1; k < o.instances.size(); ++k) EXPECT_LE(o.instances[0].size(), o.instances[k].size());
}

TEST(InstanceSearch, RightSideMismatchIsCounted) {
  const InstanceSearch s =
      find_instances(parse_one("rule bad: (Concat{axis=0} (Relu ?a) (Relu ?b)) => (Relu (Concat{axis=1} ?a ?b))"));
  EXPECT_TRUE(s.instances.empty());
  EXPECT_GT(s.rhs_mismatch, 0u);
  EXPECT_FALSE(s.first_rhs_mismatch.empty());
  EXPECT_NE(s.note.find("right side"), std::string::npos) << s.note;
}

TEST(InstanceSearch, GuardThatNeverHoldsIsExplained) {
  const InstanceSearch s =
      find_instances(parse_one("rule never: (Relu ?x) => ?x if rank(?x) == 2 && dim(?x, 0) == 17"));
  EXPECT_TRUE(s.instances.empty());
  EXPECT_NE(s.note.find("dim(?x, 0) == 17"), std::string::npos) << s.note;
}

TEST(InstanceSearch, EveryRuledbRuleHasInstances) {
  const std::vector<rules::Rule> all = ruledb_rules();
  ASSERT_GT(all.size(), 300u);
  size_t without = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const rules::Rule& r : all) {
    const InstanceSearch s = find_instances(r);
    if (s.instances.empty()) {
      ++without;
      if (!kNoInstance.count(r.name)) ADD_FAILURE() << r.name << ": no instance: " << s.note;
    } else {
      for (const Instance& i : s.instances) EXPECT_TRUE(guard_holds(r, i)) << r.name << ": " << i.str();
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("instances of %zu directed rules in %.2f s; %zu without\n", all.size(), seconds, without);
  EXPECT_LT(seconds, 30.0);
}

std::vector<rules::Rule> wrong_rules() {
  return rules::expand_bidirectional(rules::load_rule_file(test::source_dir() + "/tests/wrong_rules/wrong.rules"));
}

const rules::Rule& rule_named(const std::vector<rules::Rule>& rules, const std::string& name) {
  for (const rules::Rule& r : rules)
    if (r.name == name) return r;
  throw Error("no rule " + name);
}

bool uniform(const Shape& s, int64_t rank) {
  return int64_t(s.size()) == rank && s[0] >= 2 && std::all_of(s.begin(), s.end(), [&](int64_t d) { return d == s[0]; });
}

TEST(InstanceSearch, WrongRulesGetInstancesWhereDimsCoincide) {
  // Both sides type alike only on cubes (a wrong permutation) and square matrices (A^T B^T for
  // (AB)^T): the instances are there, and the wrong rules are then refutable.
  const std::vector<rules::Rule> wrong = wrong_rules();
  const InstanceSearch t = find_instances(rule_named(wrong, "wrong-transpose-compose"));
  ASSERT_FALSE(t.instances.empty()) << t.note;
  for (const Instance& i : t.instances) EXPECT_TRUE(uniform(i.shapes.at("?x"), 3)) << i.str();
  const InstanceSearch m = find_instances(rule_named(wrong, "wrong-transpose-matmul"));
  ASSERT_FALSE(m.instances.empty()) << m.note;
  for (const Instance& i : m.instances) {
    EXPECT_TRUE(uniform(i.shapes.at("?a"), 2)) << i.str();
    EXPECT_EQ(i.shapes.at("?a"), i.shapes.at("?b")) << i.str();
  }
  // A column [N, 1] added to x types like the row [N] only where x is [N, N] (x's dims taken from
  // the partner operand's); an instance with N = 1 shows nothing.
  const InstanceSearch b = find_instances(rule_named(wrong, "wrong-broadcast"));
  EXPECT_TRUE(std::any_of(b.instances.begin(), b.instances.end(), [](const Instance& i) {
    const Shape& x = i.shapes.at("?x");
    return uniform(x, 2) && i.shapes.at("?b") == Shape{x[0]};
  })) << b.note;
}

TEST(InstanceSearch, EqualDimsRetryWhenTheBudgetEndsFirst) {
  // With a budget of three bindings, the first search tries [2,3,2], [3,1,2], [2,2,3]; the retry
  // starts with the uniform shapes.
  InstanceLimits limits;
  limits.max_candidates = 3;
  const InstanceSearch s = find_instances(
      parse_one("rule p: (Transpose{perm=[0, 2, 1]} (Transpose{perm=[1, 0, 2]} ?x)) => (Transpose{perm=[2, 0, 1]} ?x)"),
      limits);
  ASSERT_FALSE(s.instances.empty()) << s.note;
  EXPECT_TRUE(uniform(s.instances[0].shapes.at("?x"), 3)) << s.instances[0].str();
}

TEST(InstanceSearch, MatMulOfAVariableWithItselfNeedsSquares) {
  const std::vector<rules::Rule> all = ruledb_rules();
  for (const char* name : {"tensat-s011", "tensat-s014", "tensat-s017"}) {
    SCOPED_TRACE(name);
    const rules::Rule& r = rule_named(all, name);
    const InstanceSearch s = find_instances(r);
    ASSERT_FALSE(s.instances.empty()) << s.note;
    // s011 multiplies by ?a twice (A.(A.B)); s014 (B.A added to A) and s017 (B.(B.C)) need ?b square.
    const std::string square = std::string(name) == "tensat-s011" ? "?a" : "?b";
    for (const Instance& i : s.instances) {
      const Shape& x = i.shapes.at(square);
      ASSERT_GE(x.size(), 2u);
      EXPECT_EQ(x[x.size() - 1], x[x.size() - 2]) << i.str();
      EXPECT_TRUE(guard_holds(r, i)) << i.str();
    }
  }
}

TEST(InstanceSearch, ShapeRulesKeepAnInstanceWithoutUnitDims) {
  // A Transpose rule whose first instances are scalars and vectors [1] and [3] keeps one with every
  // dim >= 2 (the min bound is a scalar by Clip's definition).
  const std::vector<rules::Rule> all = ruledb_rules();
  for (const char* name : {"transpose-clip-min", "transpose-clip-min-rev"}) {
    SCOPED_TRACE(name);
    const InstanceSearch s = find_instances(rule_named(all, name));
    EXPECT_TRUE(std::any_of(s.instances.begin(), s.instances.end(), [](const Instance& i) {
      const Shape& x = i.shapes.at("?x");
      return x.size() >= 2 && std::all_of(x.begin(), x.end(), [](int64_t d) { return d >= 2; });
    })) << s.note;
  }
  const InstanceSearch t = find_instances(
      parse_one("rule t: (Transpose{perm=?p} (Add ?x ?y)) => (Add (Transpose{perm=?p} ?x) (Transpose{perm=?p} ?y)) "
                "if rank(?x) == rank(?y)"));
  EXPECT_TRUE(std::any_of(t.instances.begin(), t.instances.end(), [](const Instance& i) {
    for (const auto& [var, shape] : i.shapes)
      if (shape.empty() || std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 2; })) return false;
    return true;
  })) << t.note;
  // An elementwise rule keeps its scalar instance first and needs no other.
  EXPECT_TRUE(find_instances(parse_one("rule e: (Relu (Relu ?x)) => (Relu ?x)")).elementwise);
}

TEST(InstanceSearch, SecondConvOfOneInputTriesAnotherKernel) {
  // Two convs of one input merged into one (the smaller kernel zero-padded to the larger): some
  // instance has kernels of different sizes, with the pads that the guard then requires.
  const std::vector<rules::Rule> all = ruledb_rules();
  for (const char* name : {"tensat-q00", "tensat-q01"}) {
    SCOPED_TRACE(name);
    const rules::Rule& r = rule_named(all, name);
    const InstanceSearch s = find_instances(r);
    ASSERT_FALSE(s.instances.empty()) << s.note;
    EXPECT_TRUE(std::any_of(s.instances.begin(), s.instances.end(), [](const Instance& i) {
      const Shape &b = i.shapes.at("?b"), &c = i.shapes.at("?c");
      return b[2] * b[3] < c[2] * c[3];
    }));
    for (const Instance& i : s.instances) EXPECT_TRUE(guard_holds(r, i)) << i.str();
  }
}

// ---------------------------------------------------------------- the float32 tester

TEST(RuleTest, EveryRuledbRulePasses) {
  const std::vector<rules::Rule> all = ruledb_rules();
  const auto start = std::chrono::steady_clock::now();
  size_t tested = 0;
  for (const rules::Rule& r : all) {
    const InstanceSearch s = find_instances(r);
    if (s.instances.empty()) continue;
    const RuleTestResult t = test_rule(r, s);
    ++tested;
    EXPECT_TRUE(t.passed) << r.name << ": error " << t.max_rel_error << " at " << t.worst << " " << t.note;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("float32 test of %zu directed rules in %.2f s\n", tested, seconds);
}

RuleTestResult test_text(const std::string& text, InstanceSearch* search = nullptr) {
  const rules::Rule r = parse_one(text);
  InstanceSearch s = find_instances(r);
  RuleTestResult t = test_rule(r, s);
  if (search) *search = s;
  return t;
}

TEST(RuleTest, CatchesWrongRules) {
  // A wrong permutation: the sides agree in type only where the dims are equal, and differ there.
  RuleTestResult t =
      test_text("rule bad-perm: (Transpose{perm=[1, 2, 0]} (Relu ?x)) => (Relu (Transpose{perm=[2, 0, 1]} ?x))");
  EXPECT_FALSE(t.passed) << t.worst;
  EXPECT_GT(t.runs, 0u);
  // Relu does not distribute over Sub.
  t = test_text("rule bad-relu: (Relu (Sub ?a ?b)) => (Sub (Relu ?a) (Relu ?b))");
  EXPECT_FALSE(t.passed);
  EXPECT_GT(t.runs, 0u);
  EXPECT_GT(t.max_rel_error, 1.0);
  EXPECT_FALSE(t.worst.empty());
  // Operands swapped between the blocks of a Concat.
  t = test_text(
      "rule bad-concat: (Concat{axis=?x} (Sub ?a ?b) (Sub ?c ?d)) "
      "=> (Sub (Concat{axis=?x} ?a ?d) (Concat{axis=?x} ?b ?c))");
  EXPECT_FALSE(t.passed);
  EXPECT_GT(t.runs, 0u);
  // Concat axis off by one: the sides never have one type, so there is nothing to run.
  InstanceSearch s;
  t = test_text("rule bad-axis: (Concat{axis=0} (Relu ?a) (Relu ?b)) => (Relu (Concat{axis=1} ?a ?b))", &s);
  EXPECT_FALSE(t.passed);
  EXPECT_EQ(t.runs, 0u);
  EXPECT_GT(s.rhs_mismatch, 0u);
  // A conv-add fold that drops the bias.
  t = test_text(
      "rule bad-fold: (Add (Conv{*=?conv} ?x ?w ?b) ?d) => (Conv{*=?conv} ?x ?w (Reshape ?d #c([-1]))) "
      "if rank(?w) == 4 && weight(?b) && weight(?d) && shape(?d) == [dim(?w, 0), 1, 1]");
  EXPECT_FALSE(t.passed);
  EXPECT_GT(t.runs, 0u);
  // ... and the right fold passes.
  t = test_text(
      "rule good-fold: (Add (Conv{*=?conv} ?x ?w ?b) ?d) => (Conv{*=?conv} ?x ?w (Add ?b (Reshape ?d #c([-1])))) "
      "if rank(?w) == 4 && weight(?b) && weight(?d) && shape(?d) == [dim(?w, 0), 1, 1]");
  EXPECT_TRUE(t.passed) << t.worst << t.note;
}

TEST(RuleTest, NaNOnBothSidesIsEqual) {
  // Log of negative inputs is NaN on both sides at the same elements.
  const RuleTestResult t = test_text("rule nan: (Log (Neg (Neg ?x))) => (Log ?x)");
  EXPECT_TRUE(t.passed) << t.worst;
  const RuleTestResult u = test_text("rule nan-one-side: (Log ?x) => (Log (Abs ?x))");
  EXPECT_FALSE(u.passed);
}

}  // namespace
}  // namespace eqopt::verify

