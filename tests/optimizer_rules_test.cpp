// Rules from text applied to the tensor e-graph: they fire, keep the meaning, and are refused when
// they would change a shape.
#include <gtest/gtest.h>

#include <filesystem>

#include "egraph/runner.h"
#include "interp/conformance.h"
#include "onnx_io/onnx_io.h"
#include "interp/interpreter.h"
#include "optimizer/pipeline.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

Node make(const std::string& op, std::vector<std::string> in, const std::string& out, std::vector<Attribute> attrs = {}) {
  return make_node(op, std::move(in), {out}, std::move(attrs));
}

Model model_of(std::vector<Node> nodes, const Shape& x_shape) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.name = "g";
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, x_shape)});
  m.graph.outputs.push_back({"y", TensorType{DType::Float, std::nullopt}});
  m.graph.nodes = std::move(nodes);
  return m;
}

// Saturates with the given rule text and extracts.
Model optimize(const Model& m, const std::string& rule_text) {
  opt::TensorProgram program(m);
  const auto parsed = rules::parse_rules(rule_text, "test.rules");
  const opt::CompiledRules compiled = opt::compile_rules(program, parsed);
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {10, 10000, 5, 0});
  runner.run(compiled.rewrites);
  return program.extract();
}

int count(const Graph& g, const std::string& op) {
  return int(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

void expect_same_outputs(const Model& a, const Model& b, const Shape& x_shape) {
  Tensor x(DType::Float, x_shape);
  float* p = x.mutable_data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = float(i % 11) * 0.5f - 2;
  const auto ra = Interpreter(a).run({{"x", x}}), rb = Interpreter(b).run({{"x", x}});
  ASSERT_EQ(ra.size(), rb.size());
  EXPECT_TRUE(ra[0].bit_equal(rb[0]));
}

}  // namespace

TEST(OptimizerRules, CleanupRulesFire) {
  const Model m = model_of({make("Identity", {"x"}, "a"),
                            make("Transpose", {"a"}, "b", {Attribute::make_ints("perm", {0, 2, 1})}),
                            make("Transpose", {"b"}, "c", {Attribute::make_ints("perm", {1, 0, 2})}),
                            make("Relu", {"c"}, "y")},
                           {2, 3, 4});
  const Model out = optimize(m, R"(
    rule identity: (Identity ?x) => ?x
    rule transpose-transpose:
      (Transpose{perm=?p} (Transpose{perm=?q} ?x)) => (Transpose{perm=compose(?q, ?p)} ?x)
  )");
  EXPECT_EQ(count(out.graph, "Identity"), 0);
  EXPECT_EQ(count(out.graph, "Transpose"), 1);
  expect_same_outputs(m, out, {2, 3, 4});
}

TEST(OptimizerRules, TransposePairThatCancelsDisappears) {
  const Model m = model_of({make("Transpose", {"x"}, "b", {Attribute::make_ints("perm", {0, 2, 1})}),
                            make("Transpose", {"b"}, "c", {Attribute::make_ints("perm", {0, 2, 1})}),
                            make("Relu", {"c"}, "y")},
                           {2, 3, 4});
  const Model out = optimize(m, R"(
    rule transpose-transpose:
      (Transpose{perm=?p} (Transpose{perm=?q} ?x)) => (Transpose{perm=compose(?q, ?p)} ?x)
    rule transpose-identity: (Transpose{perm=?p} ?x) => ?x if is_identity_perm(?p)
  )");
  EXPECT_EQ(count(out.graph, "Transpose"), 0);
  expect_same_outputs(m, out, {2, 3, 4});
}

TEST(OptimizerRules, ARuleThatWouldChangeTheShapeIsRefused) {
  // "Transpose does nothing" is wrong; the shape check keeps it from applying.
  const Model m = model_of({make("Transpose", {"x"}, "b", {Attribute::make_ints("perm", {0, 2, 1})}),
                            make("Relu", {"b"}, "y")},
                           {2, 3, 4});
  const Model out = optimize(m, "rule wrong: (Transpose ?x) => ?x");
  EXPECT_EQ(count(out.graph, "Transpose"), 1);
  expect_same_outputs(m, out, {2, 3, 4});
}

TEST(OptimizerRules, GuardsSeeShapesAndConstants) {
  Model m = model_of({make("Mul", {"x", "one"}, "a"), make("Add", {"a", "zero"}, "y")}, {2, 3});
  m.graph.initializers.push_back({"one", floats({3}, {1, 1, 1}), ""});
  m.graph.initializers.push_back({"zero", floats({2, 3}, {0, 0, 0, 0, 0, 1}), ""});  // not all zero
  const Model out = optimize(m, R"(
    rule mul-one: (Mul ?x ?o) => ?x if const(?o) && all_eq(value(?o), 1) && shape(?x) == shape(?root)
    rule add-zero: (Add ?x ?z) => ?x if const(?z) && all_eq(value(?z), 0)
  )");
  EXPECT_EQ(count(out.graph, "Mul"), 0);
  EXPECT_EQ(count(out.graph, "Add"), 1);
  expect_same_outputs(m, out, {2, 3});
}

TEST(OptimizerRules, UnknownGuardFunctionIsALocatedError) {
  const Model m = model_of({make("Relu", {"x"}, "y")}, {2});
  opt::TensorProgram program(m);
  const auto parsed = rules::parse_rules("rule r:\n  (Relu ?x) => ?x\n  if frobnicate(?x)\n", "bad.rules");
  try {
    opt::compile_rules(program, parsed);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.rules:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("frobnicate"), std::string::npos) << e.what();
  }
}

TEST(OptimizerRules, RuleDatabaseLoadsAndCompiles) {
  const auto parsed = rules::load_rule_dir(source_dir() + "/ruledb");
  EXPECT_GE(parsed.size(), 15u);
  const Model m = model_of({make("Relu", {"x"}, "y")}, {2});
  opt::TensorProgram program(m);
  EXPECT_NO_THROW(opt::compile_rules(program, parsed));
}

TEST(OptimizerRules, ConvBatchNormFoldsOnTheResidualBlock) {
  const std::string example = source_dir() + "/examples/resnet_block.onnx";
  const Model m = load_model(example);
  const opt::OptimizeResult r = opt::optimize_model(m, rules::load_rule_dir(source_dir() + "/ruledb"));
  const Model& out = r.model;
  EXPECT_EQ(count(r.extracted.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count(r.extracted.graph, "Conv") + count(r.extracted.graph, "FusedConv"), 2);
  EXPECT_EQ(count(out.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count(out.graph, "Conv"), 2);
  // Folding reorders float arithmetic, so outputs agree within round-off, not bit for bit.
  const std::string dir = temp_dir("cbn");
  save_model(out, dir + "/m.onnx");
  CheckOptions opt;
  opt.tol.atol = 1e-5;
  opt.data_dir = source_dir() + "/examples/resnet_block.testdata";
  const CheckSummary s = run_check(dir + "/m.onnx", opt);
  ASSERT_EQ(s.outcomes.size(), 1u);
  EXPECT_EQ(s.outcomes[0].status, CheckOutcome::Status::Pass) << s.outcomes[0].detail;
  std::filesystem::remove_all(dir);
}
