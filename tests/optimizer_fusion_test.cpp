// ruledb/fusion.rules on small graphs: each fusion fires where its pattern is, the optimized model
// (exported to standard ONNX) computes the same outputs on the reference interpreter, and guards
// keep fusions away from graphs they do not fit.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <map>

#include "egraph/runner.h"
#include "interp/interpreter.h"
#include "optimizer/export.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

// Uniform values in [lo, hi) from a fixed seed (xorshift), so failures reproduce.
Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -3, float hi = 3) {
  Tensor t(DType::Float, shape);
  float* p = t.mutable_data<float>();
  uint32_t s = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    p[i] = lo + (hi - lo) * float(s % 100000) / 100000.0f;
  }
  return t;
}

Tensor scalar_f(float v) { return Tensor::scalar<float>(v); }

// A small graph under construction: random graph inputs, weights, nodes and one output "y".
struct Net {
  Model m;
  std::map<std::string, Tensor> feeds;
  uint32_t seed = 1;

  explicit Net(int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_imports = {{"", opset}};
    m.graph.name = "g";
    m.graph.outputs.push_back({"y", TensorType{DType::Float, std::nullopt}});
  }
  Net& in(const std::string& name, const Shape& shape) {
    m.graph.inputs.push_back({name, TensorType::of(DType::Float, shape)});
    feeds[name] = random_tensor(shape, seed++);
    return *this;
  }
  Net& in_bool(const std::string& name, const Shape& shape, const std::vector<bool>& v) {
    Tensor t(DType::Bool, shape);
    bool* p = t.mutable_data<bool>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = v[i];
    m.graph.inputs.push_back({name, TensorType::of(DType::Bool, shape)});
    feeds[name] = t;
    return *this;
  }
  Net& w(const std::string& name, Tensor t) {
    m.graph.initializers.push_back({name, std::move(t), ""});
    return *this;
  }
  Net& rw(const std::string& name, const Shape& shape, float lo = -1, float hi = 1) {
    return w(name, random_tensor(shape, seed++, lo, hi));
  }
  Net& op(const std::string& op, std::vector<std::string> ins, const std::string& out,
          std::vector<Attribute> attrs = {}) {
    m.graph.nodes.push_back(make_node(op, std::move(ins), {out}, std::move(attrs)));
    return *this;
  }
};

struct Optimized {
  Model extracted;  // as extracted (eqopt's own ops in domain "eqopt")
  Model exported;   // standard ONNX
  std::map<std::string, size_t> unions;  // rule -> unions it made

  size_t fired(const std::string& rule) const {
    auto it = unions.find(rule);
    return it == unions.end() ? 0 : it->second;
  }
};

const std::vector<rules::Rule>& fusion_rules() {
  static const std::vector<rules::Rule> rules = rules::load_rule_file(source_dir() + "/ruledb/fusion.rules");
  return rules;
}

// Saturates with fusion.rules (without the rules that build eqopt's own ops when `standard_only`),
// extracts, and exports to standard ONNX.
Optimized optimize(const Model& m, bool standard_only = false) {
  opt::TensorProgram program(m);
  // The gpu target runs every own fused op as one kernel (the cpu target has no fused Attention).
  program.set_cost_model(tgt::make_cost_model("gpu"));
  std::vector<rules::Rule> rules;
  for (const rules::Rule& r : fusion_rules())
    if (!standard_only || r.text.find("eqopt.") == std::string::npos) rules.push_back(r);
  const opt::CompiledRules compiled = opt::compile_rules(program, rules);
  eg::RunnerLimits limits{10, 20000, 5, 0};
  limits.group_nodes.assign(opt::kMultiGroup + 1, 20000);
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), limits, eg::SchedulerKind::Backoff);
  runner.run(compiled.rewrites);
  Optimized r;
  for (const auto& it : runner.iterations())
    for (size_t k = 0; k < it.rules.size(); ++k) r.unions[compiled.rewrites[k].name] += it.rules[k].unions;
  r.extracted = program.extract();
  r.exported = opt::to_standard_onnx(r.extracted);
  return r;
}

int count(const Model& m, const std::string& op) {
  int n = 0;
  for (const Node& node : m.graph.nodes) n += node.op_type == op;
  return n;
}

// Outputs agree within float round-off (folding reorders arithmetic; fused ops' kernels differ from
// their decompositions in the last bits).
void expect_same_outputs(const Net& net, const Model& b) {
  const auto ra = Interpreter(net.m).run(net.feeds), rb = Interpreter(b).run(net.feeds);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t k = 0; k < ra.size(); ++k) {
    ASSERT_EQ(ra[k].shape(), rb[k].shape());
    const std::vector<float> x = values_f(ra[k]), y = values_f(rb[k]);
    double scale = 0;
    for (float v : x) scale = std::max(scale, double(std::fabs(v)));
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(x[i], y[i], 1e-5 * std::fabs(x[i]) + 1e-5 * (1 + scale)) << "output " << k << " element " << i;
  }
}

// The rule fired, `op` is in the extracted model (when given), and the exported model computes the
// same outputs as the original.
Optimized expect_fusion(const Net& net, const std::string& rule, const std::string& op = "",
                        bool standard_only = false) {
  Optimized r = optimize(net.m, standard_only);
  EXPECT_GT(r.fired(rule), 0u) << rule << " did not fire";
  if (!op.empty()) {
    EXPECT_GE(count(r.extracted, op), 1) << op << " not extracted";
  }
  expect_same_outputs(net, r.exported);
  return r;
}

// The rule did not fire (a guard refused the graph), and the result still computes the same.
void expect_no_fusion(const Net& net, const std::string& rule) {
  // A misspelled name would never fire: the rule must exist.
  const auto& all = fusion_rules();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const rules::Rule& r) { return r.name == rule; }))
      << rule << " is not a rule of ruledb/fusion.rules";
  const Optimized r = optimize(net.m);
  EXPECT_EQ(r.fired(rule), 0u) << rule << " fired";
  expect_same_outputs(net, r.exported);
}

Attribute a_ints(const std::string& name, std::vector<int64_t> v) { return Attribute::make_ints(name, std::move(v)); }
Attribute a_float(const std::string& name, float v) { return Attribute::make_float(name, v); }
Attribute a_int(const std::string& name, int64_t v) { return Attribute::make_int(name, v); }

// x [1, 3, 6, 6] and a 3x3 convolution to 4 channels with padding 1 (and bias b when asked).
Net conv_net(bool bias, int64_t opset = 13) {
  Net n(opset);
  n.in("x", {1, 3, 6, 6}).rw("w", {4, 3, 3, 3});
  std::vector<std::string> ins = {"x", "w"};
  if (bias) {
    n.rw("b", {4});
    ins.push_back("b");
  }
  n.op("Conv", ins, "c", {a_ints("kernel_shape", {3, 3}), a_ints("pads", {1, 1, 1, 1})});
  return n;
}

}  // namespace

// ==================================================================== folding into convolutions

TEST(OptimizerFusion, ConvBatchNormFolds) {
  for (bool bias : {true, false}) {
    Net n = conv_net(bias);
    n.rw("s", {4}).rw("beta", {4}).rw("mean", {4}).rw("var", {4}, 0.5f, 2.0f);
    n.op("BatchNormalization", {"c", "s", "beta", "mean", "var"}, "y", {a_float("epsilon", 1e-5f)});
    const Optimized r = expect_fusion(n, bias ? "conv-bn-fold" : "conv-nobias-bn-fold");
    EXPECT_EQ(count(r.extracted, "BatchNormalization"), 0);
  }
}

TEST(OptimizerFusion, ConvMulFoldsPerChannelAndScalar) {
  Net n = conv_net(true);
  n.rw("s", {4, 1, 1}).op("Mul", {"c", "s"}, "y");
  Optimized r = expect_fusion(n, "conv-mul-fold");
  EXPECT_EQ(count(r.extracted, "Mul"), 0);
  // A [1] scale written first: moved to the right, then folded.
  Net m = conv_net(false);
  m.rw("s", {1}).op("Mul", {"s", "c"}, "y");
  r = expect_fusion(m, "conv-nobias-mul-fold");
  EXPECT_GT(r.fired("mul-weight-right"), 0u);
  EXPECT_EQ(count(r.extracted, "Mul"), 0);
}

TEST(OptimizerFusion, ConvMulDoesNotFoldASpatialScale) {
  // Output [1, 4, 2, 2]; s [1, 1, 2, 2] varies over space, not channels, though it has 4 elements.
  Net n;
  n.in("x", {1, 3, 4, 4}).rw("w", {4, 3, 3, 3}).rw("s", {1, 1, 2, 2});
  n.op("Conv", {"x", "w"}, "c", {a_ints("kernel_shape", {3, 3})}).op("Mul", {"c", "s"}, "y");
  expect_no_fusion(n, "conv-nobias-mul-fold");
}

TEST(OptimizerFusion, ConvAddFoldsIntoTheBias) {
  Net n = conv_net(true);
  n.rw("d", {1, 4, 1, 1}).op("Add", {"d", "c"}, "y");
  Optimized r = expect_fusion(n, "conv-add-fold");
  EXPECT_EQ(count(r.extracted, "Add"), 0);
  Net m = conv_net(false);
  m.w("d", scalar_f(0.25f)).op("Add", {"c", "d"}, "y");
  r = expect_fusion(m, "conv-nobias-add-fold");
  EXPECT_EQ(count(r.extracted, "Add"), 0);
}

Net conv_transpose_net(bool bias) {
  Net n;
  n.in("x", {1, 2, 3, 3}).rw("w", {2, 3, 2, 2});
  std::vector<std::string> ins = {"x", "w"};
  if (bias) {
    n.rw("b", {3});
    ins.push_back("b");
  }
  n.op("ConvTranspose", ins, "c", {a_ints("kernel_shape", {2, 2}), a_ints("strides", {2, 2})});
  return n;
}

TEST(OptimizerFusion, ConvTransposeAddAndBatchNormFold) {
  for (bool bias : {true, false}) {
    Net n = conv_transpose_net(bias);
    n.rw("d", {1, 3, 1, 1}).op("Add", {"c", "d"}, "y");
    const Optimized r = expect_fusion(n, bias ? "convtranspose-add-fold" : "convtranspose-nobias-add-fold");
    EXPECT_EQ(count(r.extracted, "Add"), 0);
  }
  for (bool bias : {true, false}) {
    Net n = conv_transpose_net(bias);
    n.rw("s", {3}).rw("beta", {3}).rw("mean", {3}).rw("var", {3}, 0.5f, 2.0f);
    n.op("BatchNormalization", {"c", "s", "beta", "mean", "var"}, "y", {a_float("epsilon", 1e-5f)});
    const Optimized r = expect_fusion(n, bias ? "convtranspose-bn-fold" : "convtranspose-nobias-bn-fold");
    EXPECT_EQ(count(r.extracted, "BatchNormalization"), 0);
  }
}

TEST(OptimizerFusion, GroupedConvTransposeKeepsItsBatchNorm) {
  // With group 2 the filters' dim 1 is M / group, so the per-channel scale would not line up.
  Net n;
  n.in("x", {1, 2, 3, 3}).rw("w", {2, 2, 2, 2});
  n.op("ConvTranspose", {"x", "w"}, "c", {a_ints("kernel_shape", {2, 2}), a_int("group", 2)});
  n.rw("s", {4}).rw("beta", {4}).rw("mean", {4}).rw("var", {4}, 0.5f, 2.0f);
  n.op("BatchNormalization", {"c", "s", "beta", "mean", "var"}, "y", {a_float("epsilon", 1e-5f)});
  expect_no_fusion(n, "convtranspose-nobias-bn-fold");
}

// ==================================================================== activations

TEST(OptimizerFusion, HardSwishFromHardSigmoid) {
  for (bool swapped : {false, true}) {
    Net n;
    n.in("x", {2, 8}).op("HardSigmoid", {"x"}, "h", {a_float("alpha", 1.0f / 6.0f)});
    n.op("Mul", swapped ? std::vector<std::string>{"h", "x"} : std::vector<std::string>{"x", "h"}, "y");
    const Optimized r =
        expect_fusion(n, swapped ? "hardswish-from-hardsigmoid-swapped" : "hardswish-from-hardsigmoid", "HardSwish");
    EXPECT_EQ(count(r.extracted, "HardSigmoid"), 0);
  }
}

TEST(OptimizerFusion, HardSigmoidWithOtherConstantsIsNotHardSwish) {
  Net n;  // alpha absent: the default 0.2 (Paddle's hardsigmoid), not 1/6
  n.in("x", {2, 8}).op("HardSigmoid", {"x"}, "h").op("Mul", {"x", "h"}, "y");
  expect_no_fusion(n, "hardswish-from-hardsigmoid");
}

// x * Clip(x + 3, 0, 6) / 6 as Paddle2ONNX writes it; `attr` uses Clip's attributes (opset 9).
Net clip_hardswish_net(bool attr, bool swapped, float hi = 6) {
  Net n(attr ? 9 : 13);
  n.in("x", {2, 3, 4}).w("three", scalar_f(3)).w("six", scalar_f(6));
  n.op("Add", {"x", "three"}, "a");
  if (attr) {
    n.op("Clip", {"a"}, "c", {a_float("min", 0), a_float("max", hi)});
  } else {
    n.w("lo", scalar_f(0)).w("hi", scalar_f(hi)).op("Clip", {"a", "lo", "hi"}, "c");
  }
  n.op("Mul", swapped ? std::vector<std::string>{"c", "x"} : std::vector<std::string>{"x", "c"}, "m");
  n.op("Div", {"m", "six"}, "y");
  return n;
}

TEST(OptimizerFusion, HardSwishFromClip) {
  for (bool attr : {false, true})
    for (bool swapped : {false, true}) {
      const std::string rule = std::string("hardswish-from-clip") + (attr ? "-attr" : "") + (swapped ? "-swapped" : "");
      const Optimized r = expect_fusion(clip_hardswish_net(attr, swapped), rule, "HardSwish");
      EXPECT_EQ(count(r.extracted, "Clip"), 0) << rule;
    }
}

TEST(OptimizerFusion, ClipToFiveIsNotHardSwish) {
  expect_no_fusion(clip_hardswish_net(false, false, 5), "hardswish-from-clip");
  expect_no_fusion(clip_hardswish_net(true, false, 5), "hardswish-from-clip-attr");
}

TEST(OptimizerFusion, HardSigmoidFromClip) {
  Net n;
  n.in("x", {2, 8}).w("a", scalar_f(0.3f)).w("b", scalar_f(0.4f)).w("zero", scalar_f(0)).w("one", scalar_f(1));
  n.op("Mul", {"x", "a"}, "m").op("Add", {"m", "b"}, "s").op("Clip", {"s", "zero", "one"}, "y");
  expect_fusion(n, "hardsigmoid-from-clip-affine", "HardSigmoid");

  for (bool attr : {false, true}) {
    Net k(attr ? 9 : 13);
    k.in("x", {2, 8}).w("three", scalar_f(3)).w("six", scalar_f(6)).op("Add", {"x", "three"}, "a");
    if (attr)
      k.op("Clip", {"a"}, "c", {a_float("min", 0), a_float("max", 6)});
    else
      k.w("lo", scalar_f(0)).w("hi", scalar_f(6)).op("Clip", {"a", "lo", "hi"}, "c");
    k.op("Div", {"c", "six"}, "y");
    expect_fusion(k, attr ? "hardsigmoid-from-clip-attr-div" : "hardsigmoid-from-clip-div", "HardSigmoid");
  }
}

// Gelu's erf form in the three operand orders, with x / sqrt(2) (as PyTorch writes the constant,
// 1.41421354) or x * 0.70710677.
TEST(OptimizerFusion, GeluErfForms) {
  struct Form {
    const char* rule;
    bool mul_inner;
    int order;  // 0: (x * e) * 0.5, 1: (x * 0.5) * e, 2: x * (e * 0.5)
  };
  for (const Form& form : {Form{"gelu-erf", false, 0}, Form{"gelu-erf-half-first", false, 1},
                           Form{"gelu-erf-half-inner", false, 2}, Form{"gelu-erf-mul", true, 0}}) {
    Net n;
    n.in("x", {2, 16}).w("r", scalar_f(form.mul_inner ? 0.70710677f : 1.41421354f));
    n.w("one", scalar_f(1)).w("half", scalar_f(0.5f));
    n.op(form.mul_inner ? "Mul" : "Div", {"x", "r"}, "d").op("Erf", {"d"}, "e").op("Add", {"e", "one"}, "p");
    if (form.order == 0) n.op("Mul", {"x", "p"}, "m").op("Mul", {"m", "half"}, "y");
    if (form.order == 1) n.op("Mul", {"x", "half"}, "m").op("Mul", {"m", "p"}, "y");
    if (form.order == 2) n.op("Mul", {"p", "half"}, "m").op("Mul", {"x", "m"}, "y");
    const Optimized r = expect_fusion(n, form.rule, "Gelu");
    EXPECT_EQ(count(r.extracted, "Erf"), 0) << form.rule;
  }
}

TEST(OptimizerFusion, ErfOfAnotherScaleIsNotGelu) {
  Net n;
  n.in("x", {2, 16}).w("r", scalar_f(1.5f)).w("one", scalar_f(1)).w("half", scalar_f(0.5f));
  n.op("Div", {"x", "r"}, "d").op("Erf", {"d"}, "e").op("Add", {"e", "one"}, "p");
  n.op("Mul", {"x", "p"}, "m").op("Mul", {"m", "half"}, "y");
  expect_no_fusion(n, "gelu-erf");
}

TEST(OptimizerFusion, GeluTanhForms) {
  for (int form = 0; form < 3; ++form) {
    Net n;
    n.in("x", {2, 16}).w("three", scalar_f(3)).w("k", scalar_f(0.044715f)).w("c", scalar_f(0.7978846f));
    n.w("one", scalar_f(1)).w("half", scalar_f(0.5f));
    if (form == 2)
      n.op("Mul", {"x", "x"}, "x2").op("Mul", {"x2", "x"}, "x3");
    else
      n.op("Pow", {"x", "three"}, "x3");
    n.op("Mul", {"x3", "k"}, "kx3").op("Add", {"x", "kx3"}, "in").op("Mul", {"in", "c"}, "t0");
    n.op("Tanh", {"t0"}, "t").op("Add", {"t", "one"}, "p");
    if (form == 1)
      n.op("Mul", {"x", "p"}, "m").op("Mul", {"m", "half"}, "y");
    else
      n.op("Mul", {"x", "half"}, "m").op("Mul", {"m", "p"}, "y");
    const char* rule = form == 0 ? "gelu-tanh" : form == 1 ? "gelu-tanh-half-last" : "gelu-tanh-cube-mul";
    const Optimized r = expect_fusion(n, rule, "Gelu");
    EXPECT_EQ(count(r.extracted, "Tanh"), 0) << rule;
  }
}

TEST(OptimizerFusion, MishForms) {
  for (int form = 0; form < 3; ++form) {
    Net n;
    n.in("x", {2, 16});
    if (form == 2)
      n.w("one", scalar_f(1)).op("Exp", {"x"}, "e").op("Add", {"e", "one"}, "a").op("Log", {"a"}, "sp");
    else
      n.op("Softplus", {"x"}, "sp");
    n.op("Tanh", {"sp"}, "t");
    n.op("Mul", form == 1 ? std::vector<std::string>{"t", "x"} : std::vector<std::string>{"x", "t"}, "y");
    const char* rule = form == 0 ? "mish" : form == 1 ? "mish-swapped" : "mish-log-exp";
    expect_fusion(n, rule, "Mish");
  }
}

// ==================================================================== LayerNormalization

// PyTorch's decomposition over `axes`; `axes_input` writes ReduceMean's axes as an input (opset 18).
Net layernorm_net(bool bias, bool axes_input, std::vector<int64_t> axes = {-1}) {
  Net n(axes_input ? 18 : 13);
  n.in("x", {2, 3, 8}).w("two", scalar_f(2)).w("eps", scalar_f(1e-5f)).rw("s", {8}).rw("b", {8});
  auto mean = [&](const std::string& in, const std::string& out) {
    if (axes_input) {
      n.w("axes_" + out, ints({int64_t(axes.size())}, axes)).op("ReduceMean", {in, "axes_" + out}, out);
    } else {
      n.op("ReduceMean", {in}, out, {Attribute::make_ints("axes", axes)});
    }
  };
  mean("x", "mu");
  n.op("Sub", {"x", "mu"}, "d").op("Pow", {"d", "two"}, "d2");
  mean("d2", "var");
  n.op("Add", {"var", "eps"}, "ve").op("Sqrt", {"ve"}, "sd").op("Div", {"d", "sd"}, "nrm");
  n.op("Mul", {"nrm", "s"}, bias ? "sc" : "y");
  if (bias) n.op("Add", {"sc", "b"}, "y");
  return n;
}

TEST(OptimizerFusion, LayerNormFromItsDecomposition) {
  Optimized r = expect_fusion(layernorm_net(true, false), "layernorm", "LayerNormalization");
  EXPECT_EQ(count(r.extracted, "ReduceMean"), 0);
  r = expect_fusion(layernorm_net(false, false), "layernorm-nobias", "LayerNormalization");
  EXPECT_EQ(count(r.extracted, "ReduceMean"), 0);
  r = expect_fusion(layernorm_net(true, true), "layernorm-axes-input", "LayerNormalization");
  EXPECT_EQ(count(r.extracted, "ReduceMean"), 0);
}

TEST(OptimizerFusion, NormalizingAnotherAxisIsNotLayerNorm) {
  // Statistics over axis 1 of [2, 3, 8] with a scale of the last dim: not LayerNormalization(-1).
  expect_no_fusion(layernorm_net(true, false, {1}), "layernorm");
}

// ==================================================================== matrix products

TEST(OptimizerFusion, MatMulAddIsGemm) {
  for (bool swapped : {false, true}) {
    Net n;
    n.in("a", {3, 5}).rw("b", {5, 4}).rw("c", {4}).op("MatMul", {"a", "b"}, "m");
    n.op("Add", swapped ? std::vector<std::string>{"c", "m"} : std::vector<std::string>{"m", "c"}, "y");
    // With eqopt's own ops FusedMatMul competes with Gemm; the standard-op rules alone give Gemm.
    expect_fusion(n, swapped ? "matmul-add-gemm-swapped" : "matmul-add-gemm", "Gemm", true);
  }
}

TEST(OptimizerFusion, MatMulAddWithLeadingUnitDimIsGemmBetweenReshapes) {
  Net n;
  n.in("a", {1, 6, 5}).rw("b", {5, 4}).rw("c", {4}).op("MatMul", {"a", "b"}, "m").op("Add", {"m", "c"}, "y");
  const Optimized r = optimize(n.m);
  EXPECT_GT(r.fired("matmul-add-gemm-3d"), 0u);
  EXPECT_EQ(r.fired("matmul-add-gemm"), 0u);  // A is 3-D
  expect_same_outputs(n, r.exported);
}

TEST(OptimizerFusion, GemmNeedsA2DConstantB) {
  Net n;  // B is 3-D
  n.in("a", {3, 5}).rw("b", {2, 5, 4}).rw("c", {4}).op("MatMul", {"a", "b"}, "m").op("Add", {"m", "c"}, "y");
  expect_no_fusion(n, "matmul-add-gemm");
  Net k;  // B is an input, not a weight
  k.in("a", {3, 5}).in("b", {5, 4}).rw("c", {4}).op("MatMul", {"a", "b"}, "m").op("Add", {"m", "c"}, "y");
  expect_no_fusion(k, "matmul-add-gemm");
  Net j;  // C [3, 1, 4] would broadcast the product to 3-D
  j.in("a", {3, 5}).rw("b", {5, 4}).rw("c", {3, 1, 4}).op("MatMul", {"a", "b"}, "m").op("Add", {"m", "c"}, "y");
  expect_no_fusion(j, "matmul-add-gemm");
}

// ==================================================================== parallel merges

TEST(OptimizerFusion, ParallelMatMulsMerge) {
  Net n;
  n.in("x", {2, 3, 5}).rw("w1", {5, 4}).rw("w2", {5, 6});
  n.op("MatMul", {"x", "w1"}, "p").op("MatMul", {"x", "w2"}, "q");
  n.op("ReduceMean", {"p"}, "ps", {a_ints("axes", {2})}).op("ReduceMean", {"q"}, "qs", {a_ints("axes", {2})});
  n.op("Add", {"ps", "qs"}, "y");
  const Optimized r = optimize(n.m);
  EXPECT_GT(r.fired("merge-parallel-matmul"), 0u);
  expect_same_outputs(n, r.exported);
}

TEST(OptimizerFusion, ParallelConvsMerge) {
  for (bool bias : {false, true}) {
    Net n;
    n.in("x", {1, 3, 5, 5}).rw("w1", {2, 3, 3, 3}).rw("w2", {4, 3, 3, 3}).rw("b1", {2}).rw("b2", {4});
    const std::vector<Attribute> attrs = {a_ints("kernel_shape", {3, 3}), a_ints("pads", {1, 1, 1, 1})};
    n.op("Conv", bias ? std::vector<std::string>{"x", "w1", "b1"} : std::vector<std::string>{"x", "w1"}, "p", attrs);
    n.op("Conv", bias ? std::vector<std::string>{"x", "w2", "b2"} : std::vector<std::string>{"x", "w2"}, "q", attrs);
    n.op("Concat", {"q", "p"}, "y", {a_int("axis", 1)});
    const Optimized r = optimize(n.m);
    EXPECT_GT(r.fired(bias ? "merge-parallel-conv-bias" : "merge-parallel-conv"), 0u);
    expect_same_outputs(n, r.exported);
  }
}

TEST(OptimizerFusion, ConvsWithDifferentAttributesOrGroupsDoNotMerge) {
  Net n;
  n.in("x", {1, 4, 5, 5}).rw("w1", {4, 4, 3, 3}).rw("w2", {4, 4, 3, 3}).rw("w3", {4, 2, 3, 3}).rw("w4", {4, 2, 3, 3});
  n.op("Conv", {"x", "w1"}, "p", {a_ints("kernel_shape", {3, 3}), a_ints("pads", {1, 1, 1, 1})});
  n.op("Conv", {"x", "w2"}, "q", {a_ints("kernel_shape", {3, 3}), a_ints("pads", {0, 0, 0, 0})});
  n.op("Conv", {"x", "w3"}, "r", {a_ints("kernel_shape", {3, 3}), a_int("group", 2)});
  n.op("Conv", {"x", "w4"}, "s", {a_ints("kernel_shape", {3, 3}), a_int("group", 2)});
  n.op("ReduceMean", {"p"}, "ps", {a_ints("axes", {1, 2, 3})}).op("ReduceMean", {"q"}, "qs", {a_ints("axes", {1, 2, 3})});
  n.op("ReduceMean", {"r"}, "rs", {a_ints("axes", {1, 2, 3})}).op("ReduceMean", {"s"}, "ss", {a_ints("axes", {1, 2, 3})});
  n.op("Sum", {"ps", "qs", "rs", "ss"}, "y");
  expect_no_fusion(n, "merge-parallel-conv");
}

TEST(OptimizerFusion, MergedWeightsDoNotMergeAgain) {
  // Three MatMuls of one input: pairs of the model's weights merge; merged weights (computed
  // constants, not initializers) do not, so the e-graph stays small.
  Net n;
  n.in("x", {2, 5}).rw("w1", {5, 3}).rw("w2", {5, 3}).rw("w3", {5, 3});
  n.op("MatMul", {"x", "w1"}, "p").op("MatMul", {"x", "w2"}, "q").op("MatMul", {"x", "w3"}, "r");
  n.op("Sum", {"p", "q", "r"}, "y");
  const Optimized r = optimize(n.m);
  EXPECT_GT(r.fired("merge-parallel-matmul"), 0u);
  // 3 weights give 6 ordered pairs, each matched once with each of its two patterns at most.
  EXPECT_LE(r.fired("merge-parallel-matmul"), 12u);
  expect_same_outputs(n, r.exported);
}

// ==================================================================== eqopt's own ops

TEST(OptimizerFusion, ConvActivationsBecomeFusedConv) {
  struct Act {
    const char* op;
    const char* rule;
    std::vector<Attribute> attrs;
  };
  const std::vector<Act> acts = {{"Relu", "relu", {}},
                                 {"Sigmoid", "sigmoid", {}},
                                 {"Tanh", "tanh", {}},
                                 {"HardSwish", "hardswish", {}},
                                 {"LeakyRelu", "leakyrelu", {a_float("alpha", 0.1f)}},
                                 {"LeakyRelu", "leakyrelu", {}},
                                 {"HardSigmoid", "hardsigmoid", {a_float("alpha", 0.25f), a_float("beta", 0.4f)}},
                                 {"HardSigmoid", "hardsigmoid", {}}};
  for (const Act& a : acts)
    for (bool bias : {true, false}) {
      Net n = conv_net(bias, a.op == std::string("HardSwish") ? 14 : 13);
      n.op(a.op, {"c"}, "y", a.attrs);
      const std::string rule = std::string("conv-") + (bias ? "" : "nobias-") + a.rule + "-fused";
      const Optimized r = expect_fusion(n, rule, "FusedConv");
      EXPECT_EQ(count(r.extracted, a.op), 0) << rule;
    }
}

TEST(OptimizerFusion, ConvClipBecomesFusedConv) {
  for (bool attr : {false, true})
    for (bool bias : {true, false}) {
      Net n = conv_net(bias, attr ? 9 : 13);
      if (attr)
        n.op("Clip", {"c"}, "y", {a_float("min", 0), a_float("max", 6)});
      else
        n.w("lo", scalar_f(0)).w("hi", scalar_f(6)).op("Clip", {"c", "lo", "hi"}, "y");
      const std::string rule = std::string("conv-") + (bias ? "" : "nobias-") + "clip" + (attr ? "-attr" : "") + "-fused";
      expect_fusion(n, rule, "FusedConv");
    }
}

TEST(OptimizerFusion, ConvWithoutConstantClipBoundsStaysAConv) {
  Net n = conv_net(true);
  n.in("lo", {}).w("hi", scalar_f(6)).op("Clip", {"c", "lo", "hi"}, "y");
  expect_no_fusion(n, "conv-clip-fused");
}

TEST(OptimizerFusion, ConvResidualAndReluBecomeFusedConv) {
  for (bool bias : {true, false})
    for (bool swapped : {false, true}) {
      Net n = conv_net(bias);
      n.in("z", {1, 4, 6, 6});
      n.op("Add", swapped ? std::vector<std::string>{"z", "c"} : std::vector<std::string>{"c", "z"}, "s");
      n.op("Relu", {"s"}, "y");
      const std::string rule =
          std::string("conv-") + (bias ? "" : "nobias-") + "residual-fused" + (swapped ? "-swapped" : "");
      const Optimized r = expect_fusion(n, rule, "FusedConv");
      EXPECT_GT(r.fired("conv-residual-relu-fused"), 0u) << rule;
      EXPECT_EQ(count(r.extracted, "Relu"), 0) << rule;
      EXPECT_EQ(count(r.extracted, "Add"), 0) << rule;
    }
}

TEST(OptimizerFusion, MatMulBiasAndActivationsBecomeFusedMatMul) {
  for (bool swapped : {false, true}) {
    Net n;
    n.in("a", {2, 3, 5}).in("b", {5, 4}).rw("c", {4}).op("MatMul", {"a", "b"}, "m");
    n.op("Add", swapped ? std::vector<std::string>{"c", "m"} : std::vector<std::string>{"m", "c"}, "y");
    expect_fusion(n, swapped ? "matmul-add-fused-swapped" : "matmul-add-fused", "FusedMatMul");
  }
  struct Act {
    const char* op;
    const char* rule;
    std::vector<Attribute> attrs;
  };
  for (const Act& a : {Act{"Relu", "fused-matmul-relu", {}}, Act{"Sigmoid", "fused-matmul-sigmoid", {}},
                       Act{"Tanh", "fused-matmul-tanh", {}}, Act{"HardSwish", "fused-matmul-hardswish", {}},
                       Act{"LeakyRelu", "fused-matmul-leakyrelu", {a_float("alpha", 0.2f)}},
                       Act{"Clip", "fused-matmul-clip", {}}}) {
    Net n(14);
    n.in("a", {3, 5}).in("b", {5, 4}).rw("c", {3, 4}).op("MatMul", {"a", "b"}, "m").op("Add", {"m", "c"}, "s");
    if (a.op == std::string("Clip"))
      n.w("lo", scalar_f(-0.5f)).w("hi", scalar_f(0.5f)).op("Clip", {"s", "lo", "hi"}, "y");
    else
      n.op(a.op, {"s"}, "y", a.attrs);
    const Optimized r = expect_fusion(n, a.rule, "FusedMatMul");
    EXPECT_EQ(count(r.extracted, a.op), 0) << a.rule;
  }
  Net n;
  n.in("a", {3, 5}).in("b", {5, 4}).op("MatMul", {"a", "b"}, "m").op("Relu", {"m"}, "y");
  expect_fusion(n, "matmul-relu-fused", "FusedMatMul");
}

TEST(OptimizerFusion, SwishForms) {
  for (int form = 0; form < 3; ++form) {
    Net n;
    n.in("x", {2, 16});
    if (form == 2) n.w("a", scalar_f(1.702f)).op("Mul", {"x", "a"}, "ax").op("Sigmoid", {"ax"}, "s");
    else n.op("Sigmoid", {"x"}, "s");
    n.op("Mul", form == 1 ? std::vector<std::string>{"s", "x"} : std::vector<std::string>{"x", "s"}, "y");
    const char* rule = form == 0 ? "swish" : form == 1 ? "swish-swapped" : "swish-alpha";
    const Optimized r = expect_fusion(n, rule, "Swish");
    EXPECT_EQ(count(r.extracted, "Sigmoid"), 0) << rule;
  }
}

TEST(OptimizerFusion, SigmoidOfAnotherValueIsNotSwish) {
  Net n;
  n.in("x", {2, 16}).in("z", {2, 16}).op("Sigmoid", {"z"}, "s").op("Mul", {"x", "s"}, "y");
  expect_no_fusion(n, "swish");
}

// Softmax(scale(Q.K) [+ mask]) . V over [1, 2, 4, 8] heads, K given as [.., 8, 4].
enum class Scale { Mul, Div, None };
enum class Mask { None, Add, Where };
Net attention_net(Scale scale, Mask mask, float fill = -INFINITY, int64_t axis = -1) {
  Net n;
  n.in("q", {1, 2, 4, 8}).in("k", {1, 2, 8, 4}).in("v", {1, 2, 4, 8}).op("MatMul", {"q", "k"}, "qk");
  std::string s = "qk";
  if (scale == Scale::Mul) n.w("c", scalar_f(0.35355339f)).op("Mul", {"qk", "c"}, s = "sc");
  if (scale == Scale::Div) n.w("c", scalar_f(2.828427f)).op("Div", {"qk", "c"}, s = "sc");
  if (mask == Mask::Add) n.rw("m", {1, 1, 4, 4}).op("Add", {s, "m"}, "msk");
  if (mask == Mask::Where)
    n.in_bool("cond", {1, 1, 4, 4}, {false, true, true, true, false, false, true, true, false, false, false, true,
                                     false, false, false, false})
        .w("fill", scalar_f(fill))
        .op("Where", {"cond", "fill", s}, "msk");
  n.op("Softmax", {mask == Mask::None ? s : "msk"}, "p", {a_int("axis", axis)}).op("MatMul", {"p", "v"}, "y");
  return n;
}

TEST(OptimizerFusion, SoftmaxAttentionForms) {
  struct Form {
    const char* rule;
    Scale scale;
    Mask mask;
  };
  for (const Form& form : {Form{"attention", Scale::Mul, Mask::None}, Form{"attention-div", Scale::Div, Mask::None},
                           Form{"attention-unscaled", Scale::None, Mask::None},
                           Form{"attention-mask", Scale::Mul, Mask::Add}, Form{"attention-div-mask", Scale::Div, Mask::Add},
                           Form{"attention-where-mask", Scale::Mul, Mask::Where},
                           Form{"attention-div-where-mask", Scale::Div, Mask::Where}}) {
    const Optimized r = expect_fusion(attention_net(form.scale, form.mask), form.rule, "Attention");
    EXPECT_EQ(count(r.extracted, "Softmax"), 0) << form.rule;
  }
  // Softmax's axis written as the last index rather than -1.
  expect_fusion(attention_net(Scale::Mul, Mask::None, -INFINITY, 3), "attention", "Attention");
}

TEST(OptimizerFusion, AttentionGuards) {
  // A finite fill is not an additive mask; a softmax over another axis is not attention.
  expect_no_fusion(attention_net(Scale::Mul, Mask::Where, -100.0f), "attention-where-mask");
  expect_no_fusion(attention_net(Scale::Mul, Mask::None, -INFINITY, 2), "attention");
}

// ==================================================================== guard functions

TEST(OptimizerFusion, ApproxSqrtAndInitializerGuards) {
  Net n;
  n.in("x", {2, 3}).w("c", scalar_f(0.70710677f)).op("Mul", {"x", "c"}, "m").op("Relu", {"m"}, "y");
  auto fired = [&](const std::string& guard) {
    opt::TensorProgram program(n.m);
    const auto parsed = rules::parse_rules("rule r: (Mul ?x ?c) => (Mul ?c ?x) if " + guard, "t.rules");
    const opt::CompiledRules compiled = opt::compile_rules(program, parsed);
    eg::Runner<opt::TensorEGraph> runner(program.egraph(), {4, 1000, 5, 0});
    runner.run(compiled.rewrites);
    size_t unions = 0;
    for (const auto& it : runner.iterations()) unions += it.rules[0].unions;
    return unions > 0;
  };
  EXPECT_TRUE(fired("approx(scalar(?c), 1.0 / sqrt(2.0))"));
  EXPECT_TRUE(fired("approx(scalar(?c), 0.707, 1e-3)"));
  EXPECT_FALSE(fired("approx(scalar(?c), 0.707)"));  // relative difference 1.5e-4 > 1e-5
  EXPECT_FALSE(fired("approx(scalar(?c), 0.75)"));
  EXPECT_TRUE(fired("sqrt(4.0) == 2.0"));
  EXPECT_FALSE(fired("sqrt(-1.0) < 0.0"));  // unknown, so false
  EXPECT_TRUE(fired("initializer(?c)"));
  EXPECT_FALSE(fired("initializer(?x)"));
}
