// The tensor e-graph: import, analyses, extraction and export keep models' meaning, merge repeated
// work and fold constants.
#include <gtest/gtest.h>

#include <filesystem>

#include "interp/conformance.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"
#include "egraph/runner.h"
#include "optimizer/pipeline.h"
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
    // The CLI's pipeline and limits (the time limit only shortens saturation under sanitizers).
    const opt::OptimizeResult r = opt::optimize_model(m, rules::load_rule_dir(source_dir() + "/ruledb"));
    const Model& out = r.model;
    for (const Node& n : out.graph.nodes) EXPECT_TRUE(n.is_default_domain()) << n.domain << "." << n.op_type;
    EXPECT_LE(r.cost_after, r.cost_before * (1 + 1e-9));
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

// Extraction counts a value used twice once: a class whose alternative reuses work another output
// needs anyway takes that alternative, although its tree cost is higher; the result stays acyclic.
TEST(Optimizer, DagExtractionPaysSharedWorkOnce) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.name = "g";
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, Shape{64})});
  m.graph.outputs.push_back({"y1", TensorType{DType::Float, std::nullopt}});
  m.graph.outputs.push_back({"y2", TensorType{DType::Float, std::nullopt}});
  m.graph.nodes = {make_node("Exp", {"x"}, {"e1"}), make_node("Exp", {"e1"}, {"e2"}), make_node("Exp", {"e2"}, {"y1"}),
                   make_node("Cos", {"x"}, {"c1"}), make_node("Cos", {"c1"}, {"y2"})};
  opt::TensorProgram program(m);
  auto& g = program.egraph();
  const eg::Id y1 = program.output_classes()[0], y2 = program.output_classes()[1];
  // Pretend a rule proved y2 == Abs(y1): one op on top of work already paid for.
  const eg::Id abs = g.add(g.intern_op("Abs"), program.op_payload({}, 1), std::vector<eg::Id>{y1});
  g.merge(y2, abs);
  g.rebuild();
  const auto p = program.extraction_problem();
  const auto tree = program.to_selection(p, ex::greedy_tree(p.problem));
  const auto dag = ex::greedy_dag(p.problem);
  ASSERT_TRUE(dag.has_value());
  // Per class, both greedy extractors see Cos(Cos(x)) as cheaper than Abs of a three-op chain.
  EXPECT_EQ(g.node_op(tree.at(g.find(y2))), g.intern_op("Cos"));
  EXPECT_EQ(g.node_op(program.to_selection(p, *dag).at(g.find(y2))), g.intern_op("Cos"));
  // The local search sees that y1's chain is paid anyway; so does the exact extractor.
  const auto best = program.choose();
  EXPECT_NE(best.method.find("local search"), std::string::npos) << best.method;
  EXPECT_EQ(g.node_op(best.selection.at(g.find(y2))), g.intern_op("Abs"));
  EXPECT_LT(best.cost, program.dag_cost(tree));
  ex::Options exact;
  exact.mode = ex::Mode::Exact;
  const auto optimum = program.choose(exact);
  EXPECT_TRUE(optimum.result.optimal);
  EXPECT_NEAR(optimum.cost, best.cost, 1e-12);
  const Model out = program.write(best.selection);
  EXPECT_EQ(count(out.graph, "Exp"), 3);
  EXPECT_EQ(count(out.graph, "Abs"), 1);
  EXPECT_EQ(count(out.graph, "Cos"), 0);
  // The model as imported is what the report calls "before".
  EXPECT_NEAR(program.initial_cost(), program.dag_cost(tree), 1e-12);
}

// An operator eqopt does not know (another domain) stays as it is, with its attributes and domain;
// the rules still apply around it.
TEST(Optimizer, UnknownOpsPassThroughUnchanged) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}, {"com.example", 1}};
  m.graph.name = "g";
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, Shape{2, 3})});
  m.graph.outputs.push_back({"y", TensorType{DType::Float, std::nullopt}});
  Node custom = make_node("Mystery", {"a"}, {"b"}, {Attribute::make_int("knob", 7), Attribute::make_string("mode", "fast")});
  custom.domain = "com.example";
  m.graph.nodes = {make_node("Identity", {"x"}, {"a"}), custom, make_node("Identity", {"b"}, {"c"}),
                   make_node("Relu", {"c"}, {"y"})};
  opt::TensorProgram program(m);
  const auto parsed = rules::load_rule_dir(source_dir() + "/ruledb");
  const opt::CompiledRules compiled = opt::compile_rules(program, parsed);
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {10, 10000, 5, 0});
  runner.run(compiled.rewrites);
  const Model out = program.extract();
  EXPECT_EQ(count(out.graph, "Identity"), 0);
  ASSERT_EQ(count(out.graph, "Mystery"), 1);
  const auto it = std::find_if(out.graph.nodes.begin(), out.graph.nodes.end(), [](const Node& n) { return n.op_type == "Mystery"; });
  EXPECT_EQ(it->domain, "com.example");
  ASSERT_EQ(it->inputs.size(), 1u);
  EXPECT_EQ(it->inputs[0], "x");
  ASSERT_EQ(it->attributes.size(), 2u);
  EXPECT_EQ(it->attributes[0].name == "knob" ? it->attributes[0].i : it->attributes[1].i, 7);
  EXPECT_EQ(out.opset("com.example"), 1);
  EXPECT_EQ(count(out.graph, "Relu"), 1);
  EXPECT_EQ(out.graph.outputs[0].name, "y");
}
