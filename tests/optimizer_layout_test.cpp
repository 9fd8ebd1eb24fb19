// ruledb/layout.rules: every rule compiles; every directed rule, instantiated with concrete shapes
// (tests/rule_graph.h), computes the same values on both sides and joins them when saturated
// alone; with cleanup.rules, Transposes moved through a chain of ops meet and cancel, and a chain
// of convolutions fed by NHWC data gets an NHWC form with one Transpose at the end.
#include <gtest/gtest.h>

#include <algorithm>

#include "ir/op_registry.h"
#include "tests/rule_graph.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

std::string layout_path() { return source_dir() + "/ruledb/layout.rules"; }

bool has_conv_nhwc() { return OpRegistry::global().find("eqopt", "ConvNHWC") != nullptr; }

std::string base_name(const std::string& name) {
  return name.size() > 4 && name.ends_with("-rev") ? name.substr(0, name.size() - 4) : name;
}

bool uses_conv_nhwc(const rules::Rule& r) { return r.str().find("eqopt.ConvNHWC") != std::string::npos; }

// Shapes and attributes for a layout rule's variables. The Transpose is NCHW -> NHWC ([0, 2, 3, 1])
// on a [1, 2, 3, 4] tensor; a rule whose left side starts below the Transpose sees [1, 3, 4, 2].
RuleBindings bindings_for(const rules::Rule& r) {
  RuleBindings b;
  const std::string name = base_name(r.name);
  const bool reverse = r.name.ends_with("-rev");
  for (const char* v : {"?x", "?a", "?b", "?c"}) b.shapes[v] = {1, 2, 3, 4};
  b.attrs["?p"] = Attribute::make_ints("perm", {0, 2, 3, 1});
  b.attr_sets["?k"] = {};
  if (name == "transpose-leakyrelu") b.attr_sets["?k"] = {Attribute::make_float("alpha", 0.1f)};
  if (name == "transpose-cast") b.attr_sets["?k"] = {Attribute::make_int("to", int64_t(DType::Float))};
  if (name == "transpose-gelu") b.opset = 20;
  if (name == "transpose-log" || name == "transpose-sqrt" || name == "transpose-reciprocal" ||
      name.find("div") != std::string::npos)
    b.lo = 0.5f, b.hi = 1.5f;
  if (name.starts_with("transpose-clip-min")) {
    b.values["?lo"] = Tensor::scalar<float>(-0.3f);
    b.values["?hi"] = Tensor::scalar<float>(0.5f);
    b.shapes["?lo"] = b.shapes["?hi"] = {};
    b.weights = {"?lo", "?hi"};
  }
  // A weight operand broadcast against the (transposed or not) other operand.
  const bool below = name.ends_with("-weight-transpose") || name.ends_with("-transpose-weight") || name == "prelu-transpose";
  if (name.find("weight") != std::string::npos || name.find("prelu") != std::string::npos) {
    b.shapes["?c"] = below ? Shape{4, 2} : Shape{3, 4};
    b.shapes["?s"] = below ? Shape{4, 2} : Shape{3, 4};
    b.weights.insert("?c");
    b.weights.insert("?s");
  }
  if (name.find("concat") != std::string::npos)
    b.attrs["?ax"] = Attribute::make_int("axis", name.starts_with("transpose-") ? 1 : -1);
  if (name.find("reduce") != std::string::npos) {
    const bool input_form = name.find("axes-input") != std::string::npos;
    const bool on_transposed = !name.starts_with("transpose-");
    const std::vector<int64_t> axes = on_transposed ? std::vector<int64_t>{3} : std::vector<int64_t>{1, -1};
    b.attr_sets["?k"] = {Attribute::make_int("keepdims", 1)};
    b.attrs["?ax"] = Attribute::make_ints("axes", axes);
    if (input_form) {
      b.values["?axes"] = Tensor::from_vector<int64_t>({int64_t(axes.size())}, axes);
      b.shapes["?axes"] = {int64_t(axes.size())};
      b.weights.insert("?axes");
      b.opset = name.find("reducesum") != std::string::npos ? 13 : 18;
    } else {
      b.opset = name.find("reducesum") != std::string::npos ? 11 : 17;
    }
  }
  if (uses_conv_nhwc(r)) {
    b.shapes["?y"] = {1, 5, 5, 2};
    b.shapes["?w"] = {3, 2, 3, 3};
    b.shapes["?b"] = {3};
    b.weights = {"?w", "?b"};
    b.attr_sets["?k"] = {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("pads", {1, 1, 1, 1}),
                         Attribute::make_ints("strides", {1, 1})};
  }
  (void)reverse;
  return b;
}

std::vector<std::string> directed_names() {
  std::vector<std::string> names;
  try {
    for (const rules::Rule& r : directed_rules(layout_path())) names.push_back(r.name);
  } catch (const std::exception&) {
    // Reported by the AllRulesCompile test.
  }
  return names;
}

const std::vector<rules::Rule>& layout_rules() {
  static const std::vector<rules::Rule> rules = directed_rules(layout_path());
  return rules;
}

const rules::Rule& find_rule(const std::string& name) {
  for (const rules::Rule& r : layout_rules())
    if (r.name == name) return r;
  throw std::runtime_error("no rule " + name);
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

}  // namespace

TEST(LayoutRules, AllRulesCompile) {
  ASSERT_TRUE(has_conv_nhwc()) << "eqopt.ConvNHWC must be a registered op (ir/ops/eqopt_ops.cpp)";
  const std::vector<rules::Rule> all = rules::load_rule_file(layout_path());
  ASSERT_GE(all.size(), 60u);
  for (const rules::Rule& r : all) {
    EXPECT_EQ(r.category, "layout") << r.name;
    EXPECT_TRUE(r.has_tag("gpu") && r.has_tag("npu")) << r.name;
    EXPECT_FALSE(r.has_tag("real")) << r.name << ": moving data is exact";
  }
  Model m;
  m.opset_imports = {{"", 17}};
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, {2, 3})});
  m.graph.outputs.push_back({"y", TensorType::of(DType::Float, {2, 3})});
  m.graph.nodes.push_back(make_node("Relu", {"x"}, {"y"}));
  opt::TensorProgram program(m);
  EXPECT_EQ(opt::compile_rules(program, all).rewrites.size(), rules::expand_bidirectional(all).size());
  // The whole database compiles together (names are unique across files).
  EXPECT_NO_THROW(opt::compile_rules(program, rules::load_rule_dir(source_dir() + "/ruledb")));
}

class LayoutRule : public testing::TestWithParam<std::string> {};

TEST_P(LayoutRule, SidesAgreeAndTheRuleJoinsThem) {
  const rules::Rule& r = find_rule(GetParam());
  if (uses_conv_nhwc(r)) {
    ASSERT_TRUE(has_conv_nhwc()) << "eqopt.ConvNHWC must be a registered op (ir/ops/eqopt_ops.cpp)";
  }
  const RuleCheck c = check_rule(r, bindings_for(r), 1e-5, 1e-6);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  EXPECT_FALSE(c.joined_before) << "the two sides are one term before the rule runs";
  EXPECT_TRUE(c.joined_after) << "the rule did not join its two sides";
}

INSTANTIATE_TEST_SUITE_P(All, LayoutRule, testing::ValuesIn(directed_names()), test_name);

namespace {

std::vector<rules::Rule> cleanup_and_layout() {
  std::vector<rules::Rule> r = rules::load_rule_file(source_dir() + "/ruledb/cleanup.rules");
  for (const rules::Rule& x : rules::load_rule_file(layout_path()))
    if (!uses_conv_nhwc(x) || has_conv_nhwc()) r.push_back(x);
  return r;
}

}  // namespace

TEST(LayoutRules, TransposesCancelAcrossAChain) {
  // NHWC view of x, elementwise work with a per-channel weight, back to NCHW: the rules prove the
  // chain equal to the same work on x with the weight reshaped, without any Transpose.
  const auto eq = rules::parse_rules(R"(
    rule chain:
      (Transpose{perm=[0, 3, 1, 2]} (Sigmoid (Add (Relu (Transpose{perm=[0, 2, 3, 1]} ?x)) ?c)))
      => (Sigmoid (Add (Relu ?x) (Reshape ?c #c([2, 1, 1]))))
  )", "chain.rules");
  RuleBindings b;
  b.shapes = {{"?x", {1, 2, 3, 4}}, {"?c", {2}}};
  b.weights = {"?c"};
  const RuleCheck c = check_rule(eq[0], b, 1e-6, 1e-7, cleanup_and_layout(), 8);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  EXPECT_FALSE(c.joined_before);
  EXPECT_TRUE(c.joined_after);
}

TEST(LayoutRules, ConcatAxisFollowsTheTranspose) {
  const auto eq = rules::parse_rules(R"(
    rule chain:
      (Transpose{perm=[0, 3, 1, 2]} (Concat{axis=-1} (Transpose{perm=[0, 2, 3, 1]} ?a) (Transpose{perm=[0, 2, 3, 1]} ?b)))
      => (Concat{axis=1} ?a ?b)
  )", "chain.rules");
  RuleBindings b;
  b.shapes = {{"?a", {1, 2, 3, 4}}, {"?b", {1, 5, 3, 4}}};
  const RuleCheck c = check_rule(eq[0], b, 1e-6, 1e-7, cleanup_and_layout(), 6);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  EXPECT_TRUE(c.joined_after);
}

TEST(LayoutRules, NhwcConvChainHasOneTransposeAtTheEnd) {
  // NHWC input (as TensorFlow exports give it), two NCHW convolutions with a Relu between: the
  // rules prove it equal to two NHWC convolutions and one Transpose at the end.
  ASSERT_TRUE(has_conv_nhwc()) << "eqopt.ConvNHWC must be a registered op (ir/ops/eqopt_ops.cpp)";
  const auto eq = rules::parse_rules(R"(
    rule chain:
      (Conv{*=?k} (Relu (Conv{*=?k} (Transpose{perm=[0, 3, 1, 2]} ?y) ?w1 ?b1)) ?w2 ?b2)
      => (Transpose{perm=[0, 3, 1, 2]} (eqopt.ConvNHWC{*=?k} (Relu (eqopt.ConvNHWC{*=?k} ?y ?w1 ?b1)) ?w2 ?b2))
  )", "chain.rules");
  RuleBindings b;
  b.shapes = {{"?y", {1, 5, 5, 2}}, {"?w1", {3, 2, 3, 3}}, {"?b1", {3}}, {"?w2", {4, 3, 3, 3}}, {"?b2", {4}}};
  b.weights = {"?w1", "?b1", "?w2", "?b2"};
  b.attr_sets["?k"] = {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("pads", {1, 1, 1, 1}),
                       Attribute::make_ints("strides", {1, 1})};
  const RuleCheck c = check_rule(eq[0], b, 1e-5, 1e-6, cleanup_and_layout(), 8);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  EXPECT_FALSE(c.joined_before);
  EXPECT_TRUE(c.joined_after);
}

TEST(LayoutRules, AnNchwModelGetsNoNhwcConv) {
  // Without NHWC data there is nothing to gain: the NHWC form is not introduced.
  ASSERT_TRUE(has_conv_nhwc()) << "eqopt.ConvNHWC must be a registered op (ir/ops/eqopt_ops.cpp)";
  const auto eq = rules::parse_rules(R"(
    rule chain:
      (Conv{*=?k} ?x ?w ?b) => (Transpose{perm=[0, 3, 1, 2]} (eqopt.ConvNHWC{*=?k} (Transpose{perm=[0, 2, 3, 1]} ?x) ?w ?b))
  )", "chain.rules");
  RuleBindings b;
  b.shapes = {{"?x", {1, 2, 5, 5}}, {"?w", {3, 2, 3, 3}}, {"?b", {3}}};
  b.weights = {"?w", "?b"};
  b.attr_sets["?k"] = {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("pads", {1, 1, 1, 1}),
                       Attribute::make_ints("strides", {1, 1})};
  // The identity holds (checked on the interpreter), but the rules do not state it for NCHW X.
  const RuleCheck c = check_rule(eq[0], b, 1e-5, 1e-6, rules::load_rule_file(layout_path()), 4);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  EXPECT_FALSE(c.joined_after);
}
