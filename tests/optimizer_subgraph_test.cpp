// If, Loop and Scan bodies are optimized as programs of their own: rules fire inside branches and
// loop bodies (nested ones too), outer-scope values keep their names, names stay unique across
// scopes, costs count the bodies, and the outputs stay those of the original model.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "interp/conformance.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"
#include "optimizer/pipeline.h"
#include "rules/parser.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {

const std::vector<rules::Rule>& ruledb() {
  static const std::vector<rules::Rule> rules = rules::load_rule_dir(source_dir() + "/ruledb");
  return rules;
}

Tensor ramp(const Shape& shape, float scale, float offset) {
  Tensor t(DType::Float, shape);
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = scale * float((i * 7) % 11) + offset;
  return t;
}

Tensor flag(bool v) {
  Tensor t(DType::Bool, {});
  t.mutable_data<bool>()[0] = v;
  return t;
}

// float32 of rank `rank` with unknown dims (ONNX's checker wants a shape on declared types).
TensorType floats_of_rank(size_t rank) { return TensorType{DType::Float, Dims(rank, Dim::unknown())}; }

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for_each_graph(g, [&](const Graph& sub, int) {
    for (const Node& node : sub.nodes) n += node.op_type == op;
  });
  return n;
}

const Graph& body_of(const Graph& g, const std::string& op, const std::string& attr) {
  for (const Node& n : g.nodes)
    if (n.op_type == op)
      if (const Attribute* a = n.attr(attr); a && a->g) return *a->g;
  throw Error("no " + op + " with a graph '" + attr + "'");
}

// No value or node name is defined by two graphs (ONNX forbids a body to redefine an enclosing
// scope's name; eqopt keeps every name unique).
std::string duplicate_name(const Model& m) {
  std::map<std::string, int> seen;
  std::string dup;
  for_each_graph(m.graph, [&](const Graph& g, int) {
    std::set<std::string> here;
    for (const ValueInfo& v : g.inputs) here.insert(v.name);
    for (const Initializer& i : g.initializers) here.insert(i.name);
    for (const Node& n : g.nodes)
      for (const std::string& o : n.outputs)
        if (!o.empty()) here.insert(o);
    for (const std::string& n : here)
      if (++seen[n] > 1) dup = n;
  });
  return dup;
}

void expect_same_outputs(const Model& original, const Model& optimized, const std::map<std::string, Tensor>& feeds) {
  const auto want = Interpreter(original).run(feeds);
  const auto got = Interpreter(optimized).run(feeds);
  ASSERT_EQ(want.size(), got.size());
  for (size_t k = 0; k < want.size(); ++k) {
    const TensorComparison c = compare_tensors(got[k], want[k], Tolerance{1e-4, 1e-5});
    EXPECT_TRUE(c.ok) << "output " << k << ": " << c.problem;
  }
}

// x -> If(c): then Conv -> BatchNormalization -> Relu -> Relu (weights in the branch),
//              else Relu(Relu(x)).
Model if_model() {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.name = "g";
  m.graph.inputs = {{"x", TensorType::of(DType::Float, Shape{1, 2, 5, 5})}, {"c", TensorType::of(DType::Bool, Shape{})}};
  m.graph.outputs = {{"y", floats_of_rank(4)}};
  Graph then_g;
  then_g.name = "then";
  then_g.initializers = {{"w", ramp({3, 2, 3, 3}, 0.1f, -0.5f), ""}, {"b", ramp({3}, 0.2f, 0), ""},
                         {"scale", ramp({3}, 0.3f, 0.5f), ""},   {"shift", ramp({3}, 0.1f, -0.2f), ""},
                         {"mean", ramp({3}, 0.05f, 0), ""},      {"var", ramp({3}, 0.2f, 0.3f), ""}};
  then_g.nodes = {make_node("Conv", {"x", "w", "b"}, {"cv"}, {Attribute::make_ints("pads", {1, 1, 1, 1})}),
                  make_node("BatchNormalization", {"cv", "scale", "shift", "mean", "var"}, {"bn"},
                            {Attribute::make_float("epsilon", 1e-5f)}),
                  make_node("Relu", {"bn"}, {"r1"}), make_node("Relu", {"r1"}, {"t_out"})};
  then_g.outputs = {{"t_out", floats_of_rank(4)}};
  Graph else_g;
  else_g.name = "else";
  else_g.nodes = {make_node("Relu", {"x"}, {"e1"}), make_node("Relu", {"e1"}, {"e_out"})};
  else_g.outputs = {{"e_out", floats_of_rank(4)}};
  m.graph.nodes = {make_node("If", {"c"}, {"y"},
                             {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)})};
  return m;
}

// v0 -> Loop(M times): v = If(flag){Relu(Relu(a))}{Neg(a)} with a = Relu(Relu(v)) + bias, where
// `bias` and `flag` are read from the outer graph and `a` from the loop body by the nested If.
Model loop_model(int64_t trips) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.name = "g";
  m.graph.inputs = {{"v0", TensorType::of(DType::Float, Shape{4})},
                    {"bias", TensorType::of(DType::Float, Shape{4})},
                    {"flag", TensorType::of(DType::Bool, Shape{})}};
  m.graph.outputs = {{"vout", floats_of_rank(1)}};
  m.graph.initializers = {{"M", Tensor::scalar<int64_t>(trips), ""}};
  Graph then_g;
  then_g.name = "then";
  then_g.nodes = {make_node("Relu", {"a"}, {"t1"}), make_node("Relu", {"t1"}, {"t2"})};
  then_g.outputs = {{"t2", floats_of_rank(1)}};
  Graph else_g;
  else_g.name = "else";
  else_g.nodes = {make_node("Neg", {"a"}, {"n1"})};
  else_g.outputs = {{"n1", floats_of_rank(1)}};
  Graph body;
  body.name = "body";
  body.inputs = {{"i", TensorType::of(DType::Int64, Shape{})}, {"cin", TensorType::of(DType::Bool, Shape{})},
                 {"v", TensorType::of(DType::Float, Shape{4})}};
  body.nodes = {make_node("Relu", {"v"}, {"r1"}), make_node("Relu", {"r1"}, {"r2"}), make_node("Add", {"r2", "bias"}, {"a"}),
                make_node("If", {"flag"}, {"vnext"},
                          {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)}),
                make_node("Identity", {"cin"}, {"cout"})};
  body.outputs = {{"cout", TensorType::of(DType::Bool, Shape{})}, {"vnext", floats_of_rank(1)}};
  m.graph.nodes = {make_node("Loop", {"M", "", "v0"}, {"vout"}, {Attribute::make_graph("body", body)})};
  return m;
}

size_t fired(const opt::OptimizeResult& r, const std::string& rule) {
  auto it = r.fired.find(rule);
  return it == r.fired.end() ? 0 : it->second;
}

}  // namespace

TEST(OptimizerSubgraphs, RulesFireInsideIfBranches) {
  const Model m = if_model();
  const opt::OptimizeResult r = opt::optimize_model(m, ruledb());
  EXPECT_EQ(r.bodies, 2u);
  EXPECT_GE(fired(r, "conv-bn-fold"), 1u);
  EXPECT_GE(fired(r, "relu-relu"), 2u);  // one in each branch
  EXPECT_EQ(count_ops(r.model.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(body_of(r.model.graph, "If", "then_branch"), "Relu"), 1);
  EXPECT_EQ(count_ops(body_of(r.model.graph, "If", "else_branch"), "Relu"), 1);
  // The bodies are priced: the costlier branch (then) before and after.
  EXPECT_GT(r.cost_before, r.cost_after);
  EXPECT_GT(r.class_cost_before.count("conv") ? r.class_cost_before.at("conv") : 0.0, 0.0);
  EXPECT_EQ(duplicate_name(r.model), "");
  for (bool c : {true, false}) {
    SCOPED_TRACE(c ? "then" : "else");
    expect_same_outputs(m, r.model, {{"x", ramp({1, 2, 5, 5}, 0.4f, -2)}, {"c", flag(c)}});
  }
  const std::string dir = temp_dir("subgraph-if");
  save_model(r.model, dir + "/if.onnx");
  EXPECT_EQ(onnx_checker_message(dir + "/if.onnx"), "");
  fs::remove_all(dir);
}

TEST(OptimizerSubgraphs, RulesFireInsideLoopBodiesAndNestedIf) {
  const Model m = loop_model(3);
  const opt::OptimizeResult r = opt::optimize_model(m, ruledb());
  EXPECT_EQ(r.bodies, 3u);  // the loop body and the two branches of the If inside it
  EXPECT_GE(fired(r, "relu-relu"), 2u);  // in the body and in the nested then-branch
  const Graph& body = body_of(r.model.graph, "Loop", "body");
  EXPECT_EQ(count_ops(body, "Relu"), 2);  // one in the body, one in the nested then-branch
  // Outer-scope values are still read by name: the body reads `bias` and `flag`, the nested
  // branches read the body's `a`.
  std::set<std::string> outer;
  for_each_outer_reference(body, [&](const std::string& n) { outer.insert(n); });
  EXPECT_EQ(outer, (std::set<std::string>{"bias", "flag"}));
  std::set<std::string> from_body;
  for_each_outer_reference(body_of(body, "If", "then_branch"), [&](const std::string& n) { from_body.insert(n); });
  EXPECT_EQ(from_body, std::set<std::string>{"a"});
  EXPECT_EQ(duplicate_name(r.model), "");
  for (bool f : {true, false}) {
    SCOPED_TRACE(f ? "then" : "else");
    expect_same_outputs(m, r.model, {{"v0", ramp({4}, 0.5f, -1)}, {"bias", ramp({4}, -0.3f, 0.2f)}, {"flag", flag(f)}});
  }
  const std::string dir = temp_dir("subgraph-loop");
  save_model(r.model, dir + "/loop.onnx");
  EXPECT_EQ(onnx_checker_message(dir + "/loop.onnx"), "");
  fs::remove_all(dir);

  // A Loop costs M times its body: doubling M adds the body's cost once more (before and after).
  const opt::OptimizeResult r6 = opt::optimize_model(loop_model(6), ruledb());
  const double body_before = (r6.cost_before - r.cost_before) / 3, body_after = (r6.cost_after - r.cost_after) / 3;
  EXPECT_GT(body_before, body_after);
  EXPECT_GT(body_after, 0);
  EXPECT_GT(r.cost_before - 3 * body_before, 0);  // the rest: the Loop's own kernel
  EXPECT_LT(r.cost_before - 3 * body_before, body_before);
}

// Bodies may also be left alone (the option), which gives the graph as it was.
TEST(OptimizerSubgraphs, BodiesCanBeLeftAsTheyAre) {
  opt::OptimizeOptions o;
  o.optimize_bodies = false;
  const opt::OptimizeResult r = opt::optimize_model(if_model(), ruledb(), o);
  EXPECT_EQ(r.bodies, 0u);
  EXPECT_EQ(count_ops(r.model.graph, "BatchNormalization"), 1);
}

// ONNX's control-flow node tests (Debian's libonnx-testdata) still pass after optimization.
TEST(OptimizerSubgraphs, ControlFlowNodeTestsKeepTheirOutputs) {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::is_directory(root)) GTEST_SKIP() << "libonnx-testdata is not installed";
  const std::string dir = temp_dir("subgraph-node");
  int tried = 0;
  for (const char* name : {"test_if", "test_loop11", "test_scan_sum", "test_scan9_sum", "test_if_seq", "test_if_opt",
                           "test_loop13_seq", "test_loop16_seq_none"}) {
    const fs::path folder = root / name;
    if (!fs::is_directory(folder)) continue;
    SCOPED_TRACE(name);
    const Model m = load_model((folder / "model.onnx").string());
    const opt::OptimizeResult r = opt::optimize_model(m, ruledb());
    const std::string path = dir + "/" + name + ".onnx";
    save_model(r.model, path);
    CheckOptions co;
    co.data_dir = folder.string();
    const CheckSummary s = run_check(path, co);
    EXPECT_EQ(s.failed, 0) << (s.outcomes.empty() ? "" : s.outcomes[0].detail);
    EXPECT_LE(r.cost_after, r.cost_before * (1 + 1e-9));
    ++tried;
  }
  EXPECT_GT(tried, 0);
  fs::remove_all(dir);
}

// silero VAD v5 keeps its whole network in If branches: the rules reach it, the estimate counts it,
// and the reference outputs are reproduced.
TEST(OptimizerSubgraphs, SileroVadIsOptimizedInsideItsBranches) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const std::string model = shared_dir() + "/models/silero_vad_v5.onnx";
  const Model m = load_model(model);
  const opt::OptimizeResult r = opt::optimize_model(m, ruledb());
  EXPECT_GE(r.bodies, 2u);
  EXPECT_FALSE(r.fired.empty());
  EXPECT_GT(r.cost_before, 1e-5);  // the branches' work, not just the If
  EXPECT_LE(r.cost_after, r.cost_before * (1 + 1e-9));
  EXPECT_EQ(duplicate_name(r.model), "");
  const std::string dir = temp_dir("subgraph-silero");
  const std::string path = dir + "/silero.onnx";
  save_model(r.model, path);
  EXPECT_EQ(onnx_checker_message(path), "");
  CheckOptions co;
  co.tol.atol = 1e-4;
  co.data_dir = shared_dir() + "/models/silero_vad_v5.testdata";
  const CheckSummary s = run_check(path, co);
  ASSERT_EQ(s.outcomes.size(), 1u);
  EXPECT_EQ(s.outcomes[0].status, CheckOutcome::Status::Pass) << s.outcomes[0].detail;
  fs::remove_all(dir);
}
