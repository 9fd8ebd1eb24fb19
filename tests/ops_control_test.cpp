// If, Loop and Scan: small graphs with subgraphs, built in C++ and run through the Interpreter.
#include <gtest/gtest.h>

#include "interp/interpreter.h"
#include "ir/shape_inference.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

ValueInfo vi(const std::string& name, DType dt, Dims dims) {
  ValueInfo v;
  v.name = name;
  v.type = TensorType::of(dt, std::move(dims));
  return v;
}
ValueInfo vi_float(const std::string& name, const Shape& s) { return vi(name, DType::Float, dims_of(s)); }
ValueInfo vi_untyped(const std::string& name) {
  ValueInfo v;
  v.name = name;
  v.has_type = false;
  return v;
}

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = op + "_" + out.front();
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

Node constant(const std::string& out, Tensor value) {
  return node("Constant", {}, {out}, {Attribute::make_tensor("value", std::move(value))});
}

Model model_of(Graph g, int64_t opset = 17) {
  Model m;
  m.opset_imports = {{"", opset}};
  g.name = "main";
  m.graph = std::move(g);
  return m;
}

Tensor boolean(bool b) { return Tensor::scalar<bool>(b); }

// then: out = x + 1 ; else: out = x - 1 (x from the outer graph)
Model if_model() {
  Graph then_g, else_g, g;
  then_g.name = "then";
  then_g.nodes = {constant("one_t", floats({1}, {1})), node("Add", {"x", "one_t"}, {"then_out"})};
  then_g.outputs = {vi_float("then_out", {3})};
  else_g.name = "else";
  else_g.nodes = {constant("one_e", floats({1}, {1})), node("Sub", {"x", "one_e"}, {"else_out"})};
  else_g.outputs = {vi_float("else_out", {3})};
  g.inputs = {vi("c", DType::Bool, {}), vi_float("x", {3})};
  g.nodes = {node("If", {"c"}, {"y"},
                  {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)})};
  g.outputs = {vi_float("y", {3})};
  return model_of(std::move(g));
}

}  // namespace

TEST(ControlIf, RunsTheChosenBranch) {
  const Model m = if_model();
  Interpreter interp(m);
  const Tensor x = floats({3}, {1, 2, 3});
  EXPECT_EQ(values_f(interp.run({{"c", boolean(true)}, {"x", x}})[0]), (std::vector<float>{2, 3, 4}));
  EXPECT_EQ(values_f(interp.run({{"c", boolean(false)}, {"x", x}})[0]), (std::vector<float>{0, 1, 2}));
}

TEST(ControlIf, AcceptsOneElementConditionOfRankOne) {
  Model m = if_model();
  m.graph.inputs[0] = vi("c", DType::Bool, {Dim::of(1)});
  Interpreter interp(m);
  const Tensor c = Tensor::from_vector<bool>({1}, {false});
  EXPECT_EQ(values_f(interp.run({{"c", c}, {"x", floats({3}, {1, 2, 3})}})[0]), (std::vector<float>{0, 1, 2}));
}

TEST(ControlIf, RejectsConditionsThatAreNotOneBool) {
  Model m = if_model();
  m.graph.inputs[0] = vi("c", DType::Bool, {Dim::of(2)});
  EXPECT_THROW(infer_model(m), Error);
  m.graph.inputs[0] = vi("c", DType::Float, {});
  EXPECT_THROW(infer_model(m), Error);
}

// A value of the main graph read two subgraph levels down, next to a value of the middle level;
// the main graph also uses it directly before the If, so it must outlive that use.
TEST(ControlIf, NestedSubgraphReadsOuterScopes) {
  Graph inner_then, inner_else, outer_then, outer_else, g;
  inner_then.name = "inner_then";
  inner_then.nodes = {node("Mul", {"x", "mid"}, {"inner_out"})};  // x: main graph, mid: outer_then
  inner_then.outputs = {vi_float("inner_out", {2})};
  inner_else.name = "inner_else";
  inner_else.nodes = {node("Identity", {"mid"}, {"inner_else_out"})};
  inner_else.outputs = {vi_float("inner_else_out", {2})};
  outer_then.name = "outer_then";
  outer_then.nodes = {node("Add", {"x", "x2"}, {"mid"}),  // mid = x + 2x
                      node("If", {"c2"}, {"outer_out"},
                           {Attribute::make_graph("then_branch", inner_then),
                            Attribute::make_graph("else_branch", inner_else)})};
  outer_then.outputs = {vi_float("outer_out", {2})};
  outer_else.name = "outer_else";
  outer_else.nodes = {node("Identity", {"x"}, {"outer_else_out"})};
  outer_else.outputs = {vi_float("outer_else_out", {2})};
  g.inputs = {vi("c", DType::Bool, {}), vi("c2", DType::Bool, {}), vi_float("x", {2})};
  g.nodes = {node("Add", {"x", "x"}, {"x2"}),
             node("If", {"c"}, {"y"},
                  {Attribute::make_graph("then_branch", outer_then),
                   Attribute::make_graph("else_branch", outer_else)})};
  g.outputs = {vi_float("y", {2})};
  const Model m = model_of(std::move(g));
  Interpreter interp(m);
  const Tensor x = floats({2}, {1, 2});
  // x * (x + 2x) = 3x^2
  EXPECT_EQ(values_f(interp.run({{"c", boolean(true)}, {"c2", boolean(true)}, {"x", x}})[0]),
            (std::vector<float>{3, 12}));
  EXPECT_EQ(values_f(interp.run({{"c", boolean(true)}, {"c2", boolean(false)}, {"x", x}})[0]),
            (std::vector<float>{3, 6}));
  EXPECT_EQ(values_f(interp.run({{"c", boolean(false)}, {"c2", boolean(true)}, {"x", x}})[0]),
            (std::vector<float>{1, 2}));
}

namespace {

// then: (Reshape(x, [2,3]), Reshape(x, [6])); else: (Reshape(x, [3,2]), Reshape(x, [1,6])).
Model reshape_if_model() {
  Graph then_g, else_g, g;
  then_g.name = "then";
  then_g.nodes = {constant("s_t", ints({2}, {2, 3})), node("Reshape", {"x", "s_t"}, {"a_t"}),
                  constant("s_t2", ints({1}, {6})), node("Reshape", {"x", "s_t2"}, {"b_t"})};
  then_g.outputs = {vi_untyped("a_t"), vi_untyped("b_t")};
  else_g.name = "else";
  else_g.nodes = {constant("s_e", ints({2}, {3, 2})), node("Reshape", {"x", "s_e"}, {"a_e"}),
                  constant("s_e2", ints({2}, {1, 6})), node("Reshape", {"x", "s_e2"}, {"b_e"})};
  else_g.outputs = {vi_untyped("a_e"), vi_untyped("b_e")};
  g.inputs = {vi("c", DType::Bool, {}), vi_float("x", {2, 3})};
  g.nodes = {node("If", {"c"}, {"a", "b"},
                  {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)})};
  g.outputs = {vi_untyped("a"), vi_untyped("b")};
  return model_of(std::move(g));
}

}  // namespace

TEST(ControlIf, InferenceMergesTheBranches) {
  // Same rank: dims that differ become unknown; different ranks: the rank is unknown.
  const Model m = reshape_if_model();
  const InferenceResult r = infer_model(m);
  EXPECT_EQ(r.type_of("a")->str(), "float32[?,?]");
  EXPECT_EQ(r.type_of("b")->str(), "float32[*]");
  // The branch outputs have no declared types: the interpreter still runs it.
  Interpreter interp(m);
  const auto out = interp.run({{"c", boolean(false)}, {"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(out[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(out[1].shape(), (Shape{1, 6}));
}

TEST(ControlIf, KnownConditionInfersOnlyTheTakenBranch) {
  Model m = reshape_if_model();
  m.graph.inputs.erase(m.graph.inputs.begin());
  m.graph.nodes.insert(m.graph.nodes.begin(), constant("c", boolean(false)));
  const InferenceResult r = infer_model(m);
  EXPECT_EQ(r.type_of("a")->str(), "float32[3,2]");
  EXPECT_EQ(r.type_of("b")->str(), "float32[1,6]");
}

TEST(ControlIf, ABranchThatCannotTypeCheckLeavesTheOther) {
  // x is [2,3]: Reshape to [4] fails in the else branch, so with c unknown only then counts.
  Graph then_g, else_g, g;
  then_g.name = "then";
  then_g.nodes = {constant("s_t", ints({1}, {6})), node("Reshape", {"x", "s_t"}, {"a_t"})};
  then_g.outputs = {vi_untyped("a_t")};
  else_g.name = "else";
  else_g.nodes = {constant("s_e", ints({1}, {4})), node("Reshape", {"x", "s_e"}, {"a_e"})};
  else_g.outputs = {vi_untyped("a_e")};
  g.inputs = {vi("c", DType::Bool, {}), vi_float("x", {2, 3})};
  g.nodes = {node("If", {"c"}, {"a"},
                  {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)})};
  g.outputs = {vi_untyped("a")};
  Model m = model_of(g);
  EXPECT_EQ(infer_model(m).type_of("a")->str(), "float32[6]");
  Interpreter interp(m);
  EXPECT_EQ(interp.run({{"c", boolean(true)}, {"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}})[0].shape(), (Shape{6}));
  EXPECT_THROW(interp.run({{"c", boolean(false)}, {"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}}), Error);
  // Both failing is an error.
  m.graph.nodes[0].attributes[0].g->nodes[0] = constant("s_t", ints({1}, {5}));
  EXPECT_THROW(infer_model(m), Error);
}

TEST(ControlIf, BranchesMustAgreeOnElementTypes) {
  Graph then_g, else_g, g;
  then_g.name = "then";
  then_g.nodes = {constant("t", floats({1}, {1}))};
  then_g.outputs = {vi_untyped("t")};
  else_g.name = "else";
  else_g.nodes = {constant("e", ints({1}, {1}))};
  else_g.outputs = {vi_untyped("e")};
  g.inputs = {vi("c", DType::Bool, {})};
  g.nodes = {node("If", {"c"}, {"y"},
                  {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)})};
  g.outputs = {vi_untyped("y")};
  EXPECT_THROW(infer_model(model_of(std::move(g))), Error);
}

namespace {

// Loop with carried int64 s (s += i) and float v (v += step, step from the outer graph); scan
// outputs: s each iteration, and v each iteration.
Model loop_model(bool with_m, bool with_cond) {
  Graph body, g;
  body.name = "body";
  body.inputs = {vi("i", DType::Int64, {}), vi("cond_in", DType::Bool, {}), vi("s_in", DType::Int64, {}),
                 vi_float("v_in", {2})};
  body.nodes = {node("Identity", {"cond_in"}, {"cond_out"}), node("Add", {"s_in", "i"}, {"s_out"}),
                node("Add", {"v_in", "step"}, {"v_out"}), node("Identity", {"s_out"}, {"s_scan"}),
                node("Identity", {"v_out"}, {"v_scan"})};
  body.outputs = {vi("cond_out", DType::Bool, {}), vi("s_out", DType::Int64, {}), vi_float("v_out", {2}),
                  vi("s_scan", DType::Int64, {}), vi_float("v_scan", {2})};
  g.inputs = {vi("M", DType::Int64, {}), vi("cond", DType::Bool, {}), vi("s0", DType::Int64, {}),
              vi_float("v0", {2}), vi_float("step", {2})};
  g.nodes = {node("Loop", {with_m ? "M" : "", with_cond ? "cond" : "", "s0", "v0"},
                  {"s_final", "v_final", "s_all", "v_all"}, {Attribute::make_graph("body", body)})};
  g.outputs = {vi_untyped("s_final"), vi_untyped("v_final"), vi_untyped("s_all"), vi_untyped("v_all")};
  return model_of(std::move(g));
}

std::map<std::string, Tensor> loop_feeds(int64_t m, bool cond) {
  return {{"M", Tensor::scalar<int64_t>(m)},
          {"cond", boolean(cond)},
          {"s0", Tensor::scalar<int64_t>(0)},
          {"v0", floats({2}, {0, 10})},
          {"step", floats({2}, {1, -1})}};
}

}  // namespace

TEST(ControlLoop, CarriesValuesAndStacksScanOutputs) {
  const Model m = loop_model(true, true);
  Interpreter interp(m);
  const auto out = interp.run(loop_feeds(5, true));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{10}));  // 0+1+2+3+4
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{5, 5}));
  EXPECT_EQ(out[2].shape(), (Shape{5}));
  EXPECT_EQ(out[2].to_int64_vector(), (std::vector<int64_t>{0, 1, 3, 6, 10}));
  EXPECT_EQ(out[3].shape(), (Shape{5, 2}));
  EXPECT_EQ(values_f(out[3]), (std::vector<float>{1, 9, 2, 8, 3, 7, 4, 6, 5, 5}));
}

TEST(ControlLoop, FalseConditionOrZeroTripsRunsNothing) {
  const Model m = loop_model(true, true);
  Interpreter interp(m);
  for (const auto& feeds : {loop_feeds(5, false), loop_feeds(0, true), loop_feeds(-3, true)}) {
    const auto out = interp.run(feeds);
    EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0}));
    EXPECT_EQ(values_f(out[1]), (std::vector<float>{0, 10}));
    EXPECT_EQ(out[2].shape(), (Shape{0}));
    EXPECT_EQ(out[3].shape(), (Shape{0, 2}));  // per-iteration shape from the body's declaration
  }
}

TEST(ControlLoop, ForLoopIgnoresTheConditionOutput) {
  // No cond input: the body's cond_out (here the incoming true) is not consulted; M decides.
  const Model m = loop_model(true, false);
  Interpreter interp(m);
  const auto out = interp.run(loop_feeds(3, false));  // cond is fed but not wired to the Loop
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{3}));
  EXPECT_EQ(out[2].shape(), (Shape{3}));
}

TEST(ControlLoop, WithoutTripCountOrConditionIsAnError) {
  Model m = loop_model(false, false);
  Interpreter interp(m);
  try {
    interp.run(loop_feeds(3, true));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("never stop"), std::string::npos) << e.what();
  }
}

TEST(ControlLoop, InfersCarriedAndScanTypes) {
  const Model m = loop_model(true, true);
  const InferenceResult r = infer_model(m);
  EXPECT_EQ(r.type_of("s_final")->str(), "int64[]");
  EXPECT_EQ(r.type_of("v_final")->str(), "float32[2]");
  EXPECT_EQ(r.type_of("s_all")->str(), "int64[?]");
  EXPECT_EQ(r.type_of("v_all")->str(), "float32[?,2]");
}

TEST(ControlLoop, ConstantTripCountWithoutConditionSizesScanOutputs) {
  Model m = loop_model(true, false);
  m.graph.inputs.erase(m.graph.inputs.begin());  // M becomes a constant 4
  m.graph.nodes.insert(m.graph.nodes.begin(), constant("M", Tensor::scalar<int64_t>(4)));
  const InferenceResult r = infer_model(m);
  EXPECT_EQ(r.type_of("v_all")->str(), "float32[4,2]");
}

TEST(ControlLoop, CarriedShapeThatChangesIsWidened) {
  // v_out = Reshape(v_in, [1, -1]): [2] then [1,2]; the carried type must cover both.
  Graph body, g;
  body.name = "body";
  body.inputs = {vi("i", DType::Int64, {}), vi("cond_in", DType::Bool, {}), vi_untyped("v_in")};
  body.nodes = {node("Identity", {"cond_in"}, {"cond_out"}), constant("shape", ints({2}, {1, -1})),
                node("Reshape", {"v_in", "shape"}, {"v_out"})};
  body.outputs = {vi_untyped("cond_out"), vi_untyped("v_out")};
  g.inputs = {vi("M", DType::Int64, {}), vi_float("v0", {2})};
  g.nodes = {node("Loop", {"M", "", "v0"}, {"v_final"}, {Attribute::make_graph("body", body)})};
  g.outputs = {vi_untyped("v_final")};
  const Model m = model_of(std::move(g));
  EXPECT_EQ(infer_model(m).type_of("v_final")->str(), "float32[*]");
  Interpreter interp(m);
  EXPECT_EQ(interp.run({{"M", Tensor::scalar<int64_t>(2)}, {"v0", floats({2}, {1, 2})}})[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(interp.run({{"M", Tensor::scalar<int64_t>(0)}, {"v0", floats({2}, {1, 2})}})[0].shape(), (Shape{2}));
}

TEST(ControlLoop, IfInsideLoopBodyReadsLoopAndMainScopes) {
  // body: acc_out = If(flag) then acc_in + bias (bias: main graph) else acc_in
  Graph then_g, else_g, body, g;
  then_g.name = "then";
  then_g.nodes = {node("Add", {"acc_in", "bias"}, {"t_out"})};
  then_g.outputs = {vi_float("t_out", {1})};
  else_g.name = "else";
  else_g.nodes = {node("Identity", {"acc_in"}, {"e_out"})};
  else_g.outputs = {vi_float("e_out", {1})};
  body.name = "body";
  body.inputs = {vi("i", DType::Int64, {}), vi("cond_in", DType::Bool, {}), vi_float("acc_in", {1})};
  body.nodes = {node("Identity", {"cond_in"}, {"cond_out"}),
                node("If", {"flag"}, {"acc_out"},
                     {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)})};
  body.outputs = {vi("cond_out", DType::Bool, {}), vi_float("acc_out", {1})};
  g.inputs = {vi("M", DType::Int64, {}), vi("flag", DType::Bool, {}), vi_float("bias", {1}), vi_float("acc0", {1})};
  g.nodes = {node("Loop", {"M", "", "acc0"}, {"acc"}, {Attribute::make_graph("body", body)})};
  g.outputs = {vi_float("acc", {1})};
  const Model m = model_of(std::move(g));
  Interpreter interp(m);
  const auto run = [&](bool flag) {
    return values_f(interp.run({{"M", Tensor::scalar<int64_t>(4)}, {"flag", boolean(flag)},
                                {"bias", floats({1}, {0.5f})}, {"acc0", floats({1}, {1})}})[0]);
  };
  EXPECT_EQ(run(true), (std::vector<float>{3}));
  EXPECT_EQ(run(false), (std::vector<float>{1}));
}

namespace {

// Scan (opset 9+): running sum over the scan axis; a second scan output holds the input itself.
Model scan_model(int64_t in_axis, int64_t in_dir, int64_t out_axis, int64_t out_dir, const Shape& x_shape,
                 int64_t opset = 11) {
  Graph body, g;
  body.name = "body";
  body.inputs = {vi_float("sum_in", {2}), vi_float("x_t", {2})};
  body.nodes = {node("Add", {"sum_in", "x_t"}, {"sum_out"}), node("Identity", {"sum_out"}, {"scan_out"})};
  body.outputs = {vi_float("sum_out", {2}), vi_float("scan_out", {2})};
  g.inputs = {vi_float("init", {2}), vi_float("x", x_shape)};
  g.nodes = {node("Scan", {"init", "x"}, {"sum", "all"},
                  {Attribute::make_graph("body", body), Attribute::make_int("num_scan_inputs", 1),
                   Attribute::make_ints("scan_input_axes", {in_axis}),
                   Attribute::make_ints("scan_input_directions", {in_dir}),
                   Attribute::make_ints("scan_output_axes", {out_axis}),
                   Attribute::make_ints("scan_output_directions", {out_dir})})};
  g.outputs = {vi_untyped("sum"), vi_untyped("all")};
  return model_of(std::move(g), opset);
}

}  // namespace

TEST(ControlScan, RunningSumForward) {
  const Model m = scan_model(0, 0, 0, 0, {3, 2});
  EXPECT_EQ(infer_model(m).type_of("all")->str(), "float32[3,2]");
  Interpreter interp(m);
  const auto out = interp.run({{"init", floats({2}, {0, 0})}, {"x", floats({3, 2}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{9, 12}));
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{1, 2, 4, 6, 9, 12}));
}

TEST(ControlScan, ReverseInputAxisOneAndReverseOutputAxisOne) {
  // x [2,3] scanned along axis 1 from the end: steps see columns 2, 1, 0.
  const Model m = scan_model(1, 1, -1, 1, {2, 3});
  EXPECT_EQ(infer_model(m).type_of("all")->str(), "float32[2,3]");
  Interpreter interp(m);
  const auto out = interp.run({{"init", floats({2}, {0, 0})}, {"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{6, 15}));
  // Iterations give [3,6], [5,11], [6,15]; reversed output order, stacked on the last axis.
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{6, 5, 3, 15, 11, 6}));
}

TEST(ControlScan, Opset8ScansEachBatchRowForItsOwnLength) {
  Graph body, g;
  body.name = "body";
  body.inputs = {vi_float("sum_in", {2}), vi_float("x_t", {2})};
  body.nodes = {node("Add", {"sum_in", "x_t"}, {"sum_out"}), node("Identity", {"sum_out"}, {"scan_out"})};
  body.outputs = {vi_float("sum_out", {2}), vi_float("scan_out", {2})};
  g.inputs = {vi("lens", DType::Int64, {Dim::of(2)}), vi_float("init", {2, 2}), vi_float("x", {2, 3, 2})};
  g.nodes = {node("Scan", {"lens", "init", "x"}, {"sum", "all"},
                  {Attribute::make_graph("body", body), Attribute::make_int("num_scan_inputs", 1),
                   Attribute::make_ints("directions", {1})})};
  g.outputs = {vi_untyped("sum"), vi_untyped("all")};
  const Model m = model_of(std::move(g), 8);
  const InferenceResult r = infer_model(m);
  EXPECT_EQ(r.type_of("sum")->str(), "float32[2,2]");
  EXPECT_EQ(r.type_of("all")->str(), "float32[2,3,2]");
  Interpreter interp(m);
  const auto out = interp.run({{"lens", ints({2}, {3, 1})},
                               {"init", floats({2, 2}, {0, 0, 100, 100})},
                               {"x", floats({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})}});
  // Row 0 runs backwards over 3 steps; row 1 over its first step only, the rest padded with 0.
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{9, 12, 107, 108}));
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{5, 6, 8, 10, 9, 12, 107, 108, 0, 0, 0, 0}));
}
