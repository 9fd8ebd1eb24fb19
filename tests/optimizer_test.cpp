// The tensor e-graph: import, analyses, extraction and export keep models' meaning, merge repeated
// work and fold constants.
#include <gtest/gtest.h>

#include <filesystem>

#include "interp/conformance.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"
#include "egraph/runner.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {

int count(const Graph& g, const std::string& op) {
  return int(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

}  // namespace

TEST(Optimizer, RepeatedWorkIsMergedAndConstantsFold) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.name = "g";
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, Shape{2, 3, 4})});
  m.graph.outputs.push_back({"y", TensorType{DType::Float, std::nullopt}});
  m.graph.initializers.push_back({"zero", Tensor::scalar<int64_t>(0), ""});
  m.graph.initializers.push_back({"axes", ints({1}, {0}), ""});
  m.graph.initializers.push_back({"minus1", ints({1}, {-1}), ""});
  // Two identical Relu branches, and a reshape target computed from Shape.
  m.graph.nodes = {make_node("Relu", {"x"}, {"r1"}), make_node("Relu", {"x"}, {"r2"}), make_node("Add", {"r1", "r2"}, {"s"}),
                   make_node("Shape", {"s"}, {"shape"}),
                   make_node("Gather", {"shape", "zero"}, {"n"}, {Attribute::make_int("axis", 0)}),
                   make_node("Unsqueeze", {"n", "axes"}, {"n1"}),
                   make_node("Concat", {"n1", "minus1"}, {"target"}, {Attribute::make_int("axis", 0)}),
                   make_node("Reshape", {"s", "target"}, {"y"})};
  opt::TensorProgram program(m);
  const Model out = program.extract();
  EXPECT_EQ(count(out.graph, "Relu"), 1);
  for (const char* gone : {"Shape", "Gather", "Unsqueeze", "Concat"}) EXPECT_EQ(count(out.graph, gone), 0) << gone;
  EXPECT_EQ(count(out.graph, "Reshape"), 1);
  // Same outputs on the interpreter.
  std::map<std::string, Tensor> feeds = {{"x", Tensor(DType::Float, {2, 3, 4})}};
  float* p = feeds["x"].mutable_data<float>();
  for (int i = 0; i < 24; ++i) p[i] = float(i % 7) - 3;
  const auto a = Interpreter(m).run(feeds), b = Interpreter(out).run(feeds);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a[0].bit_equal(b[0]));
  // Class data holds shapes and folded values.
  const opt::TensorData& d = program.egraph().data(program.output_classes()[0]);
  EXPECT_EQ(d.types[0].str(), "float32[2,12]");
}

// Every shared model: import, saturate with the rule database, extract, save; the result passes
// ONNX's checker and reproduces the reference outputs.
TEST(Optimizer, SharedModelsKeepTheirOutputs) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const std::string dir = temp_dir("opt");
  for (const auto& e : fs::directory_iterator(shared_dir() + "/models")) {
    if (e.path().extension() != ".onnx") continue;
    SCOPED_TRACE(e.path().filename().string());
    const Model m = load_model(e.path().string());
    opt::TensorProgram program(m);
    const opt::CompiledRules rules = opt::compile_rules(program, rules::load_rule_dir(source_dir() + "/ruledb"));
    eg::Runner<opt::TensorEGraph> runner(program.egraph(), {20, 100000, 30, 0}, eg::SchedulerKind::Backoff);
    runner.run(rules.rewrites);
    const Model out = program.extract();
    const std::string path = dir + "/" + e.path().filename().string();
    save_model(out, path);
    EXPECT_EQ(onnx_checker_message(path), "");
    CheckOptions opt;
    opt.tol.atol = 1e-4;
    opt.data_dir = fs::path(e.path()).replace_extension(".testdata").string();
    const CheckSummary s = run_check(path, opt);
    ASSERT_EQ(s.outcomes.size(), 1u);
    EXPECT_EQ(s.outcomes[0].status, CheckOutcome::Status::Pass) << s.outcomes[0].detail;
    EXPECT_LE(out.graph.nodes.size(), m.graph.nodes.size());
  }
  fs::remove_all(dir);
}
