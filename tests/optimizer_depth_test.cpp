// Depth: no pass from import to export recurses on a model's depth. A chain of Relu/Neg nodes
// deeper than the call stack allows for recursion (10,000 nodes crashed the export once) goes
// through the whole pipeline, in memory and through the CLI, and comes out the same chain.
#include <gtest/gtest.h>

#include <filesystem>

#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"
#include "optimizer/pipeline.h"
#include "rules/parser.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {

// 100,000 nodes in release builds (about 3 s); sanitizer and debug builds, several times slower,
// take 20,000, still beyond the depth that crashed.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr size_t kDepth = 20000;
#else
constexpr size_t kDepth = 100000;
#endif

const char* op_at(size_t i) { return i % 2 == 0 ? "Relu" : "Neg"; }

// x -> Relu -> Neg -> Relu -> ... -> y, `depth` nodes.
Model chain(size_t depth) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 17}};
  m.graph.name = "chain";
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, Shape{2, 3})});
  m.graph.outputs.push_back({"y", TensorType::of(DType::Float, Shape{2, 3})});
  std::string prev = "x";
  for (size_t i = 0; i < depth; ++i) {
    const std::string next = i + 1 == depth ? "y" : "v" + std::to_string(i);
    m.graph.nodes.push_back(make_node(op_at(i), {prev}, {next}));
    prev = next;
  }
  return m;
}

// The graph is one chain from x to y with the ops of chain(depth), in order.
void expect_chain(const Graph& g, size_t depth) {
  ASSERT_EQ(g.nodes.size(), depth);
  ASSERT_EQ(g.outputs.size(), 1u);
  std::string prev = "x";
  for (size_t i = 0; i < depth; ++i) {
    const Node& n = g.nodes[i];
    ASSERT_EQ(n.op_type, op_at(i)) << "node " << i;
    ASSERT_EQ(n.inputs, std::vector<std::string>{prev}) << "node " << i;
    ASSERT_EQ(n.outputs.size(), 1u) << "node " << i;
    prev = n.outputs[0];
  }
  EXPECT_EQ(prev, "y");
  EXPECT_EQ(g.outputs[0].name, "y");
}

std::map<std::string, Tensor> feeds() { return {{"x", floats({2, 3}, {1, -2, 3, -4, 5, 0.5f})}}; }

}  // namespace

TEST(OptimizerDepth, DeepChainOptimizesWithTheDefaultPipeline) {
  const Model m = chain(kDepth);
  const opt::OptimizeResult r = opt::optimize_model(m, rules::load_rule_dir(source_dir() + "/ruledb"));
  // Within the limits: the e-node limit (100,000) may stop saturation; the best program found is
  // returned either way.
  EXPECT_GE(r.enodes, kDepth);
  EXPECT_LE(r.cost_after, r.cost_before * (1 + 1e-9));
  expect_chain(r.extracted.graph, kDepth);
  expect_chain(r.model.graph, kDepth);
  const auto want = Interpreter(m).run(feeds()), got = Interpreter(r.model).run(feeds());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].bit_equal(want[0]));
  // Saved, passed by ONNX's checker, loaded back.
  const std::string dir = temp_dir("depth");
  const std::string path = dir + "/chain.opt.onnx";
  save_model(r.model, path);
  EXPECT_EQ(onnx_checker_message(path), "");
  expect_chain(load_model(path).graph, kDepth);
  fs::remove_all(dir);
}

// Every target's pipeline (own ops allowed) through the CLI; `eqopt verify` agrees.
TEST(OptimizerDepth, DeepChainThroughTheCli) {
  const std::string dir = temp_dir("depthcli");
  save_model(chain(kDepth), dir + "/chain.onnx");
  const CommandResult o = run_command(eqopt_exe() + " " + dir + "/chain.onnx --target npu -o " + dir + "/npu");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  expect_chain(load_model(dir + "/npu/program.onnx").graph, kDepth);
  const CommandResult v = run_command(eqopt_exe() + " verify " + dir + "/chain.onnx " + dir + "/npu/model.onnx");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  fs::remove_all(dir);
}
