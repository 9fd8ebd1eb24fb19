// ruledb/algebraic.rules: every rule compiles; every directed rule, instantiated with concrete
// shapes (tests/rule_graph.h), computes the same values on both sides and joins them when the
// e-graph is saturated with that rule alone; guards refuse the shapes where a rule would be
// wrong; the file holds TENSAT's whole rule set.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/rule_graph.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

std::string algebraic_path() { return source_dir() + "/ruledb/algebraic.rules"; }

// TENSAT rules whose fused (conv+relu) and unfused forms are one ONNX term: both sides are equal
// terms, so the import already has them in one class.
const std::set<std::string> kSameTermInOnnx = {"tensat-s062", "tensat-s063", "tensat-m01", "tensat-m02"};

std::vector<Attribute> conv_attrs(std::vector<int64_t> kernel, std::vector<int64_t> pads, std::vector<int64_t> strides,
                                  int64_t group = 0) {
  std::vector<Attribute> a = {Attribute::make_ints("kernel_shape", kernel), Attribute::make_ints("pads", pads),
                              Attribute::make_ints("strides", strides)};
  if (group) a.push_back(Attribute::make_int("group", group));
  return a;
}

void term_vars(const rules::PatternAst& p, std::set<std::string>& out) {
  if (p.kind == rules::PatternAst::Kind::Var) out.insert(p.name);
  for (const auto& c : p.children) term_vars(c, out);
}

bool mentions(const rules::Rule& r, const std::string& text) { return r.str().find(text) != std::string::npos; }

std::string base_name(const std::string& name) {
  return name.size() > 4 && name.ends_with("-rev") ? name.substr(0, name.size() - 4) : name;
}

// Shapes and values for a rule's variables that satisfy its guard.
RuleBindings bindings_for(const rules::Rule& r) {
  RuleBindings b;
  std::set<std::string> vars;
  for (const auto& p : r.lhs) term_vars(p, vars);
  const std::string name = base_name(r.name);
  Shape shape = {2, 3};
  if (mentions(r, "MatMul")) shape = {3, 3};
  if (mentions(r, "Conv") || mentions(r, "== 4")) shape = {2, 2, 3, 3};
  // A Conv whose input and weight are one concatenation of three blocks along the channels.
  for (const char* n : {"tensat-s085", "tensat-s086", "tensat-s098", "tensat-s099", "tensat-s100", "tensat-s101"})
    if (name == n) shape = {2, 1, 3, 3};
  for (const std::string& v : vars) b.shapes[v] = shape;
  b.attr_sets["?k"] = conv_attrs({3, 3}, {1, 1, 1, 1}, {1, 1});
  b.attrs["?x"] = Attribute::make_int("axis", 1);
  if (name == "concat-leakyrelu") b.attr_sets["?k"] = {Attribute::make_float("alpha", 0.2f)};
  if (name == "concat-clip") {
    b.values["?lo"] = Tensor::scalar<float>(-0.4f);
    b.values["?hi"] = Tensor::scalar<float>(0.6f);
    b.weights = {"?lo", "?hi"};
  }
  if (name.find("const") != std::string::npos) {
    for (const char* c : {"?c", "?c1", "?c2"})
      if (vars.count(c)) b.weights.insert(c);
  }
  if (name == "div-const-as-mul" || name == "mul-reciprocal-as-div" || name == "div-div-const" ||
      name == "matmul-div-left")
    b.lo = 0.5f, b.hi = 1.5f;
  if (name == "div-const-as-mul") b.weights.insert("?c");
  if (name.starts_with("matmul-scale") || name == "matmul-div-left") b.shapes["?s"] = {};
  if (name == "transpose-matmul") {
    b.attrs["?p"] = Attribute::make_ints("perm", {0, 2, 1});
    b.shapes["?a"] = {2, 3, 4};
    b.shapes["?b"] = {2, 4, 5};
  }
  if (name.size() == 9 && name.starts_with("tensat-p")) {
    // 4 groups of 2 channels (2 outputs each) merge into 2 groups of 4.
    b.shapes["?a"] = {1, 8, 6, 6};
    b.shapes["?b"] = {8, 2, 3, 3};
    b.weights = {"?b"};
    const int64_t s = name == "tensat-p2" || name == "tensat-p3" ? 2 : 1;
    b.attr_sets["?k"] = conv_attrs({3, 3}, {1, 1, 1, 1}, {s, s}, 4);
  }
  if (name == "tensat-q00" || name == "tensat-q01") {
    // A 1x1 and a 3x3 conv of one input, the 3x3 one with one pixel of padding around.
    b.shapes["?a"] = {1, 2, 5, 5};
    b.shapes["?b"] = {3, 2, 1, 1};
    b.shapes["?c"] = {4, 2, 3, 3};
    b.weights = {"?b", "?c"};
    b.attr_sets["?k1"] = conv_attrs({1, 1}, {0, 0, 0, 0}, {1, 1});
    b.attr_sets["?k2"] = conv_attrs({3, 3}, {1, 1, 1, 1}, {1, 1});
  }
  return b;
}

std::vector<std::string> directed_names(const std::string& path) {
  std::vector<std::string> names;
  try {
    for (const rules::Rule& r : directed_rules(path)) names.push_back(r.name);
  } catch (const std::exception&) {
    // Reported by the AllRulesCompile test.
  }
  return names;
}

const rules::Rule& find_rule(const std::vector<rules::Rule>& rules, const std::string& name) {
  for (const rules::Rule& r : rules)
    if (r.name == name) return r;
  throw std::runtime_error("no rule " + name);
}

const std::vector<rules::Rule>& algebraic_rules() {
  static const std::vector<rules::Rule> rules = directed_rules(algebraic_path());
  return rules;
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

}  // namespace

TEST(AlgebraicRules, AllRulesCompile) {
  std::vector<rules::Rule> all = rules::load_rule_file(algebraic_path());
  ASSERT_GE(all.size(), 170u);
  for (const rules::Rule& r : all) EXPECT_EQ(r.category, "algebraic") << r.name;
  Model m;
  m.opset_imports = {{"", 17}};
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, {2, 3})});
  m.graph.outputs.push_back({"y", TensorType::of(DType::Float, {2, 3})});
  m.graph.nodes.push_back(make_node("Relu", {"x"}, {"y"}));
  opt::TensorProgram program(m);
  const opt::CompiledRules compiled = opt::compile_rules(program, all);
  EXPECT_EQ(compiled.rewrites.size(), rules::expand_bidirectional(all).size());
}

TEST(AlgebraicRules, HoldsTensatsWholeRuleSet) {
  const std::vector<rules::Rule> all = rules::load_rule_file(algebraic_path());
  auto has = [&](const std::string& n) {
    for (const rules::Rule& r : all)
      if (r.name == n) return &r;
    return static_cast<const rules::Rule*>(nullptr);
  };
  char buf[32];
  int single = 0, multi = 0;
  for (int i = 0; i < 120; ++i) {
    std::snprintf(buf, sizeof buf, "tensat-s%03d", i);
    const rules::Rule* r = has(buf);
    ASSERT_NE(r, nullptr) << buf;
    EXPECT_TRUE(r->has_tag("tensat")) << buf;
    EXPECT_FALSE(r->is_multi() || r->bidirectional) << buf;
    ++single;
  }
  for (int i = 0; i < 4; ++i) {
    const rules::Rule* r = has("tensat-p" + std::to_string(i));
    ASSERT_NE(r, nullptr) << i;
    ++single;
  }
  for (int i = 0; i < 15; ++i) {
    std::snprintf(buf, sizeof buf, i < 13 ? "tensat-m%02d" : "tensat-q%02d", i < 13 ? i : i - 13);
    const rules::Rule* r = has(buf);
    ASSERT_NE(r, nullptr) << buf;
    EXPECT_TRUE(r->is_multi() && r->has_tag("multi") && r->has_tag("tensat")) << buf;
    EXPECT_EQ(r->lhs.size(), 2u) << buf;
    ++multi;
  }
  EXPECT_EQ(single, 124);
  EXPECT_EQ(multi, 15);
  const size_t tensat = size_t(std::count_if(all.begin(), all.end(), [](const rules::Rule& r) { return r.has_tag("tensat"); }));
  EXPECT_EQ(tensat, 139u);
}

class AlgebraicRule : public testing::TestWithParam<std::string> {};

// Both sides of the rule agree on random inputs, and saturating with the rule alone joins them.
TEST_P(AlgebraicRule, SidesAgreeAndTheRuleJoinsThem) {
  const rules::Rule& r = find_rule(algebraic_rules(), GetParam());
  const bool real = r.has_tag("real");
  const RuleCheck c = check_rule(r, bindings_for(r), real ? 1e-4 : 1e-5, real ? 1e-5 : 1e-6);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  if (kSameTermInOnnx.count(base_name(r.name))) {
    EXPECT_TRUE(c.joined_before);
  } else {
    EXPECT_FALSE(c.joined_before) << "the two sides are one term before the rule runs";
    EXPECT_TRUE(c.joined_after) << "the rule did not join its two sides";
  }
}

INSTANTIATE_TEST_SUITE_P(All, AlgebraicRule, testing::ValuesIn(directed_names(algebraic_path())), test_name);

// ---- guards: the cases they exclude would be wrong

TEST(AlgebraicRules, ConvOfABroadcastSumIsNotDistributed) {
  // conv(a + b) = conv(a) + conv(b) fails when b broadcasts: conv(b) sees b's own (1x1) zero
  // padding, not the broadcast values. The shapes still agree, so only the guard stops it.
  const rules::Rule& r = find_rule(algebraic_rules(), "tensat-s059");
  RuleBindings b = bindings_for(r);
  b.shapes["?b"] = {1, 2, 1, 1};
  const RuleCheck c = check_rule(r, b, 1e-4, 1e-5);
  EXPECT_GT(c.max_error, 1.0) << "the broadcast case should be a counterexample";
  EXPECT_FALSE(c.joined_after);
}

TEST(AlgebraicRules, GroupedConvsAreNotConcatenatedOnOutputChannels) {
  // With 2 groups, conv(a, [b; c]) assigns b's and c's channels to other groups.
  const rules::Rule& r = find_rule(algebraic_rules(), "tensat-s114");
  RuleBindings b = bindings_for(r);
  b.shapes["?a"] = {1, 4, 3, 3};
  b.shapes["?b"] = {2, 2, 3, 3};
  b.shapes["?c"] = {2, 2, 3, 3};
  b.attr_sets["?k"] = conv_attrs({3, 3}, {1, 1, 1, 1}, {1, 1}, 2);
  const RuleCheck c = check_rule(r, b, 1e-4, 1e-5);
  EXPECT_GT(c.max_error, 1.0);
  EXPECT_FALSE(c.joined_after);
}

TEST(AlgebraicRules, GroupMergeNeedsAnEvenGroupCount) {
  const rules::Rule& r = find_rule(algebraic_rules(), "tensat-p0");
  RuleBindings b = bindings_for(r);
  b.shapes["?a"] = {1, 6, 6, 6};
  b.shapes["?b"] = {6, 2, 3, 3};
  b.attr_sets["?k"] = conv_attrs({3, 3}, {1, 1, 1, 1}, {1, 1}, 3);
  std::map<std::string, Tensor> feeds;
  rules::Rule directed = r;
  const Model m = rule_model(directed, b, &feeds);
  opt::TensorProgram program(m);
  const auto compiled = opt::compile_rules(program, {directed});
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {3, 20000, 5, 0});
  runner.run(compiled.rewrites);
  size_t unions = 0;
  for (const auto& it : runner.iterations()) unions += it.unions;
  EXPECT_EQ(unions, 0u);
}

TEST(AlgebraicRules, EnlargedKernelNeedsNonNegativeBorders) {
  // Same output size (6x6), but the 1x1 conv reads one row and column above-left of where the
  // 3x3 window starts: enlarging would need a negative border.
  const rules::Rule& r = find_rule(algebraic_rules(), "tensat-q00");
  RuleBindings b = bindings_for(r);
  b.attr_sets["?k1"] = conv_attrs({1, 1}, {1, 1, 0, 0}, {1, 1});
  b.attr_sets["?k2"] = conv_attrs({3, 3}, {0, 0, 3, 3}, {1, 1});
  std::map<std::string, Tensor> feeds;
  const Model m = rule_model(r, b, &feeds);
  opt::TensorProgram program(m);
  const auto compiled = opt::compile_rules(program, {r});
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {3, 20000, 5, 0});
  runner.run(compiled.rewrites);
  const auto& cls = program.output_classes();
  EXPECT_NE(program.egraph().find(cls[0]), program.egraph().find(cls[2]));
  // A border on one side only is fine: the kernel sits in the corner of the enlarged one.
  b.attr_sets["?k1"] = conv_attrs({1, 1}, {0, 0, 0, 0}, {1, 1});
  b.attr_sets["?k2"] = conv_attrs({3, 3}, {0, 0, 2, 2}, {1, 1});
  const RuleCheck c = check_rule(r, b, 1e-4, 1e-5);
  EXPECT_LE(c.max_error, 1.0) << c.detail;
  EXPECT_TRUE(c.joined_after);
}

TEST(AlgebraicRules, TheHarnessCatchesAWrongRule) {
  // a - b = b - a is wrong: the values differ, and the rule (which nothing stops) joins them.
  const auto parsed = rules::parse_rules("rule wrong: (Sub ?a ?b) => (Sub ?b ?a)", "wrong.rules");
  RuleBindings b;
  b.shapes = {{"?a", {2, 3}}, {"?b", {2, 3}}};
  const RuleCheck c = check_rule(parsed[0], b, 1e-4, 1e-5);
  EXPECT_GT(c.max_error, 1.0);
  EXPECT_FALSE(c.joined_before);
  EXPECT_TRUE(c.joined_after);
}

TEST(AlgebraicRules, TransposeOfMatMulOnlySwapsTheLastTwoAxes) {
  const rules::Rule& r = find_rule(algebraic_rules(), "transpose-matmul");
  RuleBindings b = bindings_for(r);
  b.attrs["?p"] = Attribute::make_ints("perm", {1, 0, 2});
  b.shapes["?a"] = {3, 3, 3};
  b.shapes["?b"] = {3, 3, 3};
  std::map<std::string, Tensor> feeds;
  const Model m = rule_model(r, b, &feeds);
  opt::TensorProgram program(m);
  const auto compiled = opt::compile_rules(program, {r});
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {3, 20000, 5, 0});
  runner.run(compiled.rewrites);
  const auto& cls = program.output_classes();
  EXPECT_NE(program.egraph().find(cls[0]), program.egraph().find(cls[1]));
  const auto out = Interpreter(m).run(feeds);
  EXPECT_FALSE(out[0].bit_equal(out[1])) << "perm [1, 0, 2] would be a counterexample";
}

TEST(AlgebraicRules, ConcatOfMatMulsNeedsMatrices) {
  // With a batched left operand, axis 1 is the rows, not the columns.
  const rules::Rule& r = find_rule(algebraic_rules(), "tensat-m04");
  RuleBindings b = bindings_for(r);
  b.shapes["?a"] = {3, 3, 3};
  std::map<std::string, Tensor> feeds;
  const Model m = rule_model(r, b, &feeds);
  opt::TensorProgram program(m);
  const auto compiled = opt::compile_rules(program, {r});
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {3, 20000, 5, 0});
  runner.run(compiled.rewrites);
  const auto& cls = program.output_classes();
  EXPECT_NE(program.egraph().find(cls[0]), program.egraph().find(cls[2]));
}

TEST(AlgebraicRules, SubSelfNeedsFloat) {
  // x - x on int64 is 0 too, but ConstantOfShape's default is a float zero: the compiler would
  // refuse the dtype change anyway; the guard says so first.
  const rules::Rule& r = find_rule(algebraic_rules(), "sub-self");
  Model m;
  m.opset_imports = {{"", 17}};
  m.graph.inputs.push_back({"x", TensorType::of(DType::Int64, {2, 3})});
  m.graph.outputs.push_back({"y", TensorType::of(DType::Int64, {2, 3})});
  m.graph.nodes.push_back(make_node("Sub", {"x", "x"}, {"y"}));
  opt::TensorProgram program(m);
  const auto compiled = opt::compile_rules(program, {r});
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {3, 20000, 5, 0});
  runner.run(compiled.rewrites);
  EXPECT_EQ(runner.iterations().at(0).unions, 0u);
}
