// eqopt's own ops (domain "eqopt"): inference, the interpreter's results against references built
// from standard kernels, the definitions of newer standard ops against their kernels, export to
// standard ONNX with its opset policy, and a rule that introduces an own op.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "egraph/runner.h"
#include "interp/interpreter.h"
#include "ir/expand.h"
#include "onnx_io/onnx_io.h"
#include "optimizer/export.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -2, float hi = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(DType::Float, shape);
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

Node own_node(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attrs = {},
              const std::string& out = "y") {
  Node n = make_node(op, std::move(inputs), {out}, std::move(attrs));
  n.domain = "eqopt";
  return n;
}

// Runs one node as the interpreter does; names of `inputs` are the node's input names in order.
Tensor run_node(const Node& n, const std::vector<Tensor>& inputs, int64_t opset = 1) {
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : inputs) ptrs.push_back(t.defined() ? &t : nullptr);
  return evaluate_node(n, opset, ptrs).at(0);
}

// Output 0 of the node's definition, run at `opset`.
Tensor expand1(const Node& n, int64_t opset, const std::vector<const Tensor*>& inputs) {
  return evaluate_expansion(n, opset, inputs).at(0);
}

TensorType infer_node_type(const Node& n, const std::vector<TensorType>& types) {
  InferContext ctx(n, 1, types, {});
  infer_node(OpRegistry::global().find(n.domain, n.op_type), ctx);
  return ctx.output_types().at(0);
}

void expect_close(const Tensor& a, const Tensor& b, float tol = 1e-5f) {
  ASSERT_EQ(a.shape(), b.shape());
  const std::vector<float> x = a.to_float_vector(), y = b.to_float_vector();
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(x[i], y[i], tol * (1 + std::fabs(y[i]))) << "element " << i;
}

// Reference activations written out directly (independent of the definitions).
float activation(const std::string& act, float x, float alpha, float beta) {
  if (act == "Relu") return std::max(0.0f, x);
  if (act == "LeakyRelu") return x < 0 ? alpha * x : x;
  if (act == "Clip") return std::min(std::max(x, alpha), beta);
  if (act == "Sigmoid") return 1 / (1 + std::exp(-x));
  if (act == "Tanh") return std::tanh(x);
  if (act == "HardSigmoid") return std::max(0.0f, std::min(1.0f, alpha * x + beta));
  if (act == "HardSwish") return x * std::max(0.0f, std::min(1.0f, x / 6 + 0.5f));
  return x;
}

std::vector<Attribute> act_attrs(const std::string& act, float alpha, float beta) {
  if (act.empty()) return {};
  return {Attribute::make_string("activation", act), Attribute::make_float("alpha", alpha),
          Attribute::make_float("beta", beta)};
}

const std::vector<std::string> kActs = {"", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"};

Tensor apply_act(Tensor t, const std::string& act, float alpha, float beta) {
  t = t.clone();
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = activation(act, p[i], alpha, beta);
  return t;
}

// Elementwise a + b where b broadcasts to a (b has a's shape, or one value per channel of NCHW).
Tensor add_per_channel(const Tensor& a, const Tensor& b) {
  Tensor r = a.clone();
  float* p = r.mutable_data<float>();
  const float* q = b.data<float>();
  const int64_t c = a.dim(1), inner = a.numel() / a.dim(0) / c;
  for (int64_t i = 0; i < a.numel(); ++i) p[i] += b.numel() == a.numel() ? q[i] : b.numel() == 1 ? q[0] : q[(i / inner) % c];
  return r;
}

Model model_with(std::vector<Node> nodes, std::vector<ValueInfo> inputs, std::vector<std::string> outputs,
                 int64_t opset, bool import_eqopt = true) {
  Model m;
  m.ir_version = 7;
  m.opset_imports = {{"", opset}};
  if (import_eqopt) m.opset_imports.push_back({"eqopt", 1});
  m.graph.name = "g";
  m.graph.inputs = std::move(inputs);
  for (const std::string& o : outputs) m.graph.outputs.push_back({o, TensorType{DType::Float, std::nullopt}});
  m.graph.nodes = std::move(nodes);
  return m;
}

bool all_standard(const Model& m) {
  for (const Node& n : m.graph.nodes)
    if (!n.is_default_domain()) return false;
  for (const OpsetImport& o : m.opset_imports)
    if (o.domain == "eqopt") return false;
  return true;
}

int count_op(const Model& m, const std::string& op) {
  return int(std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

std::vector<Tensor> run_model(const Model& m, const std::map<std::string, Tensor>& feeds) {
  return Interpreter(m).run(feeds);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ------------------------------------------------------------------ inference

TEST(OwnOps, Inference) {
  const TensorType x = TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::of(3), Dim::of(8), Dim::of(8)}};
  const TensorType w = TensorType::of(DType::Float, Shape{4, 3, 3, 3});
  const TensorType b = TensorType::of(DType::Float, Shape{4});
  const TensorType z = TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::of(4), Dim::of(8), Dim::of(8)}};
  const Node fc = own_node("FusedConv", {"x", "w", "b", "z"},
                           {Attribute::make_ints("pads", {1, 1, 1, 1}), Attribute::make_string("activation", "Relu")});
  EXPECT_EQ(infer_node_type(fc, {x, w, b, z}), z);
  const Node fc_scalar = own_node("FusedConv", {"x", "w", "b"});
  EXPECT_EQ(infer_node_type(fc_scalar, {x, w, TensorType::of(DType::Float, Shape{})}).str(), "float32[N,4,6,6]");

  const Node fm = own_node("FusedMatMul", {"a", "b", "c"}, {Attribute::make_string("activation", "Tanh")});
  EXPECT_EQ(infer_node_type(fm, {TensorType::of(DType::Float, Shape{2, 3, 4}), TensorType::of(DType::Float, Shape{4, 5}),
                                 TensorType::of(DType::Float, Shape{5})})
                .str(),
            "float32[2,3,5]");

  EXPECT_EQ(infer_node_type(own_node("Swish", {"x"}), {x}), x);

  const Node att = own_node("Attention", {"q", "k", "v", "m"}, {Attribute::make_float("scale", 0.5f)});
  EXPECT_EQ(infer_node_type(att, {TensorType::of(DType::Float, Shape{2, 4, 6, 8}), TensorType::of(DType::Float, Shape{2, 4, 7, 8}),
                                  TensorType::of(DType::Float, Shape{2, 4, 7, 5}), TensorType::of(DType::Float, Shape{1, 1, 6, 7})})
                .str(),
            "float32[2,4,6,5]");
  const Node att_t = own_node("Attention", {"q", "k", "v"}, {Attribute::make_int("transpose_k", 0)});
  EXPECT_EQ(infer_node_type(att_t, {TensorType::of(DType::Float, Shape{6, 8}), TensorType::of(DType::Float, Shape{8, 7}),
                                    TensorType::of(DType::Float, Shape{7, 5})})
                .str(),
            "float32[6,5]");

  const Node nhwc = own_node("ConvNHWC", {"x", "w"}, {Attribute::make_ints("strides", {2, 2})});
  EXPECT_EQ(infer_node_type(nhwc, {TensorType::of(DType::Float, Shape{1, 9, 9, 3}), w}).str(), "float32[1,4,4,4]");
}

TEST(OwnOps, MalformedNodesGiveOneLineErrors) {
  const TensorType x = TensorType::of(DType::Float, Shape{1, 3, 8, 8}), w = TensorType::of(DType::Float, Shape{4, 3, 3, 3});
  const TensorType q = TensorType::of(DType::Float, Shape{2, 6, 8});
  struct Case {
    Node node;
    std::vector<TensorType> types;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {own_node("FusedConv", {"x", "w"}, {Attribute::make_string("activation", "Softmax")}, "bad_act"), {x, w}, "Softmax"},
      {own_node("FusedConv", {"x", "w", "b"}, {}, "bad_bias"), {x, w, TensorType::of(DType::Float, Shape{4, 1})}, "bias B"},
      {own_node("FusedConv", {"x", "w", "b"}, {}, "bias_len"), {x, w, TensorType::of(DType::Float, Shape{5})}, "bias"},
      {own_node("FusedConv", {"x", "w"}, {Attribute::make_int("axis", 1)}, "bad_attr"), {x, w}, "unknown attribute 'axis'"},
      {own_node("FusedConv", {"x", "w"}, {Attribute::make_string("alpha", "x")}, "alpha_kind"), {x, w}, "alpha"},
      {own_node("FusedMatMul", {"a", "b"}, {}, "mm_shapes"), {q, q}, "bad_mm"},
      {own_node("Attention", {"q", "k", "v"}, {Attribute::make_int("transpose_k", 2)}, "tk"), {q, q, q}, "transpose_k"},
      {own_node("Attention", {"q", "k"}, {}, "arity"), {q, q}, "inputs"},
      {own_node("Attention", {"q", "k", "v"}, {}, "rank1"), {q, TensorType::of(DType::Float, Shape{8}), q}, "rank >= 2"},
      {own_node("ConvNHWC", {"x", "w"}, {}, "nhwc_rank"), {TensorType::of(DType::Float, Shape{1, 8, 3}), w}, "NHWC"},
      {own_node("Swish", {"x"}, {}, "swish_int"), {TensorType::of(DType::Int64, Shape{3})}, "element type"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of([&] { infer_node_type(c.node, c.types); });
    ASSERT_FALSE(e.empty()) << c.node.name;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_NE(e.find("'" + c.node.outputs[0] + "'"), std::string::npos) << e;
    if (c.expect != "bad_mm") {
      EXPECT_NE(e.find(c.expect), std::string::npos) << e;
    }
  }
  // The same errors come from the interpreter and from expansion.
  const Node bad = own_node("FusedConv", {"x", "w"}, {Attribute::make_string("activation", "Gelu")}, "conv_gelu");
  const Tensor xt = random_tensor({1, 3, 8, 8}, 1), wt = random_tensor({4, 3, 3, 3}, 2);
  const std::string e = error_of([&] { run_node(bad, {xt, wt}); });
  EXPECT_NE(e.find("node 'conv_gelu' (eqopt.FusedConv)"), std::string::npos) << e;
  // A definition that needs an unknown rank says so.
  const Node att = own_node("Attention", {"q", "k", "v"}, {}, "att");
  const std::string e2 = error_of([&] {
    expand_node(att, 13, {TensorType{DType::Float, std::nullopt}, TensorType{DType::Float, std::nullopt}, TensorType{DType::Float, std::nullopt}},
                [](const std::string& b) { return b + "'"; });
  });
  EXPECT_NE(e2.find("rank"), std::string::npos) << e2;
}

// ------------------------------------------------------------------ values

TEST(OwnOps, FusedConvMatchesConvBiasResidualActivation) {
  const Tensor x = random_tensor({2, 4, 7, 7}, 11), w = random_tensor({6, 2, 3, 3}, 12, -1, 1);
  const Tensor b = random_tensor({6}, 13), z = random_tensor({2, 6, 4, 4}, 14), b0 = Tensor::scalar<float>(0.75f);
  const std::vector<Attribute> conv_attrs = {Attribute::make_ints("pads", {1, 1, 1, 1}), Attribute::make_ints("strides", {2, 2}),
                                             Attribute::make_int("group", 2)};
  const Tensor conv = run_op("Conv", {x, w}, conv_attrs, 13)[0];
  for (const std::string& act : kActs) {
    const float alpha = act == "Clip" ? -0.5f : act == "HardSigmoid" ? 0.3f : 0.1f, beta = act == "Clip" ? 1.5f : 0.4f;
    std::vector<Attribute> attrs = conv_attrs;
    for (const Attribute& a : act_attrs(act, alpha, beta)) attrs.push_back(a);
    // bias, residual, and a scalar bias with a residual (what a rule writes when there is no bias)
    const Tensor want_bz = apply_act(add_per_channel(add_per_channel(conv, b), z), act, alpha, beta);
    expect_close(run_node(own_node("FusedConv", {"x", "w", "b", "z"}, attrs), {x, w, b, z}), want_bz);
    const Tensor want_b = apply_act(add_per_channel(conv, b), act, alpha, beta);
    expect_close(run_node(own_node("FusedConv", {"x", "w", "b"}, attrs), {x, w, b}), want_b);
    const Tensor want_s = apply_act(add_per_channel(add_per_channel(conv, b0), z), act, alpha, beta);
    expect_close(run_node(own_node("FusedConv", {"x", "w", "b", "z"}, attrs), {x, w, b0, z}), want_s);
    // The definition at older opsets (Clip attributes before 11, HardSwish spelled out before 14).
    const Node n = own_node("FusedConv", {"x", "w", "b", "z"}, attrs);
    for (int64_t opset : {9, 11, 13, 17})
      expect_close(expand1(n, opset, {&x, &w, &b, &z}), want_bz);
  }
  // Without bias or residual: the plain Conv.
  expect_close(run_node(own_node("FusedConv", {"x", "w"}, conv_attrs), {x, w}), conv);
}

TEST(OwnOps, FusedMatMulMatchesMatMulAddActivation) {
  const Tensor a = random_tensor({2, 3, 5}, 21), b = random_tensor({5, 4}, 22), c = random_tensor({4}, 23);
  const Tensor mm = run_op("MatMul", {a, b}, {}, 13)[0];
  Tensor with_c = mm.clone();
  for (int64_t i = 0; i < with_c.numel(); ++i) with_c.mutable_data<float>()[i] += c.data<float>()[i % 4];
  for (const std::string& act : kActs) {
    const float alpha = act == "Clip" ? -1.0f : 0.2f, beta = act == "Clip" ? 1.0f : 0.5f;
    expect_close(run_node(own_node("FusedMatMul", {"a", "b", "c"}, act_attrs(act, alpha, beta)), {a, b, c}),
                 apply_act(with_c, act, alpha, beta));
    expect_close(run_node(own_node("FusedMatMul", {"a", "b"}, act_attrs(act, alpha, beta)), {a, b}), apply_act(mm, act, alpha, beta));
  }
}

TEST(OwnOps, SwishMatchesItsFormula) {
  const Tensor x = random_tensor({3, 17}, 31, -6, 6);
  for (float alpha : {1.0f, 1.702f}) {
    Tensor want = x.clone();
    for (int64_t i = 0; i < want.numel(); ++i) {
      const float v = x.data<float>()[i];
      want.mutable_data<float>()[i] = v / (1 + std::exp(-alpha * v));
    }
    expect_close(run_node(own_node("Swish", {"x"}, {Attribute::make_float("alpha", alpha)}), {x}), want);
  }
}

TEST(OwnOps, AttentionMatchesSoftmaxOfScaledScores) {
  // Reference computed by loops: out[b,i,:] = sum_j softmax_j(scale * q[b,i].k[b,j] + m[i,j]) v[b,j,:].
  const int64_t B = 3, Lq = 4, Lk = 5, D = 6, Dv = 2;
  const Tensor q = random_tensor({B, Lq, D}, 41), k = random_tensor({B, Lk, D}, 42), v = random_tensor({B, Lk, Dv}, 43);
  const Tensor m = random_tensor({Lq, Lk}, 44, -3, 0);
  auto reference = [&](float scale, bool with_mask) {
    Tensor out(DType::Float, {B, Lq, Dv});
    for (int64_t bb = 0; bb < B; ++bb)
      for (int64_t i = 0; i < Lq; ++i) {
        auto s = std::vector<double>(size_t(Lk));
        double mx = -1e30, sum = 0;
        for (int64_t j = 0; j < Lk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += double(q.data<float>()[(bb * Lq + i) * D + d]) * k.data<float>()[(bb * Lk + j) * D + d];
          s[size_t(j)] = scale * dot + (with_mask ? m.data<float>()[i * Lk + j] : 0);
          mx = std::max(mx, s[size_t(j)]);
        }
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int64_t c = 0; c < Dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < Lk; ++j) acc += s[size_t(j)] / sum * v.data<float>()[(bb * Lk + j) * Dv + c];
          out.mutable_data<float>()[(bb * Lq + i) * Dv + c] = float(acc);
        }
      }
    return out;
  };
  expect_close(run_node(own_node("Attention", {"q", "k", "v", "m"}, {Attribute::make_float("scale", 0.3f)}), {q, k, v, m}),
               reference(0.3f, true));
  // Default scale 1/sqrt(D); K given transposed.
  const Tensor kt = run_op("Transpose", {k}, {Attribute::make_ints("perm", {0, 2, 1})}, 13)[0];
  const Node n = own_node("Attention", {"q", "k", "v"}, {Attribute::make_int("transpose_k", 0)});
  expect_close(run_node(n, {q, kt, v}), reference(float(1 / std::sqrt(double(D))), false));
  for (int64_t opset : {9, 11, 13}) expect_close(expand1(n, opset, {&q, &kt, &v}), reference(float(1 / std::sqrt(double(D))), false));
}

TEST(OwnOps, ConvNHWCIsConvInChannelsLast) {
  const Tensor x = random_tensor({2, 6, 5, 3}, 51), w = random_tensor({4, 3, 3, 3}, 52), b = random_tensor({4}, 53);
  const Tensor xc = run_op("Transpose", {x}, {Attribute::make_ints("perm", {0, 3, 1, 2})}, 13)[0];
  const std::vector<Attribute> attrs = {Attribute::make_ints("pads", {1, 0, 1, 0})};
  const Tensor yc = run_op("Conv", {xc, w, b}, attrs, 13)[0];
  const Tensor want = run_op("Transpose", {yc}, {Attribute::make_ints("perm", {0, 2, 3, 1})}, 13)[0];
  const Tensor got = run_node(own_node("ConvNHWC", {"x", "w", "b"}, attrs), {x, w, b});
  EXPECT_EQ(got.shape(), (Shape{2, 6, 3, 4}));
  expect_close(got, want);
}

TEST(OwnOps, DefinitionsOfNewerStandardOpsMatchTheirKernels) {
  const Tensor x = random_tensor({2, 3, 10}, 61, -5, 5);
  auto node = [](const std::string& op, std::vector<std::string> in, std::vector<Attribute> attrs = {}) {
    return make_node(op, std::move(in), {"y"}, std::move(attrs));
  };
  for (int64_t opset : {9, 13}) {
    for (const char* op : {"HardSwish", "Mish"}) {
      const Node n = node(op, {"x"});
      expect_close(expand1(n, opset, {&x}), run_op(op, {x}, {}, 21)[0]);
    }
    for (const char* approx : {"none", "tanh"}) {
      const Node n = node("Gelu", {"x"}, {Attribute::make_string("approximate", approx)});
      expect_close(expand1(n, opset, {&x}), run_op("Gelu", {x}, n.attributes, 21)[0], 1e-4f);
    }
  }
  const Tensor scale = random_tensor({3, 10}, 62), bias = random_tensor({10}, 63);
  for (int64_t opset : {13, 17, 18}) {
    for (int64_t axis : {-1, 1}) {
      const std::vector<Attribute> attrs = {Attribute::make_int("axis", axis), Attribute::make_float("epsilon", 1e-3f)};
      const Tensor& sc = axis == 1 ? scale : bias;
      const Node n = node("LayerNormalization", {"x", "s", "b"}, attrs);
      expect_close(expand1(n, opset, {&x, &sc, &bias}), run_op("LayerNormalization", {x, sc, bias}, attrs, 17)[0], 1e-4f);
      const Node nb = node("LayerNormalization", {"x", "s"}, attrs);
      expect_close(expand1(nb, opset, {&x, &sc}), run_op("LayerNormalization", {x, sc}, attrs, 17)[0], 1e-4f);
    }
  }
  // Its statistics outputs cannot be expressed: refused by name.
  Node three = make_node("LayerNormalization", {"x", "s"}, {"y", "mean", ""});
  const std::string e = error_of([&] { evaluate_expansion(three, 13, {&x, &bias}); });
  EXPECT_NE(e.find("'mean'"), std::string::npos) << e;
  EXPECT_NE(e.find("computes only Y"), std::string::npos) << e;
}

// ------------------------------------------------------------------ export

TEST(OwnOps, ExportWritesOwnOpsAsStandardOps) {
  const Tensor w = random_tensor({4, 3, 3, 3}, 71, -1, 1), b = random_tensor({4}, 72);
  const Tensor wm = random_tensor({8, 8}, 73, -1, 1), bm = random_tensor({8}, 74);
  std::vector<Node> nodes = {
      own_node("FusedConv", {"x", "w", "b"}, {Attribute::make_ints("pads", {1, 1, 1, 1}), Attribute::make_string("activation", "HardSwish")}, "c1"),
      own_node("FusedConv", {"c1", "w2", "", "c1"}, {Attribute::make_ints("pads", {1, 1, 1, 1}), Attribute::make_string("activation", "Clip"),
                                                  Attribute::make_float("alpha", 0.0f), Attribute::make_float("beta", 6.0f)}, "c2"),
      own_node("ConvNHWC", {"nhwc", "w", "b"}, {}, "c3"),
      own_node("Swish", {"c2"}, {}, "s"),
      make_node("Reshape", {"s", "shape"}, {"r"}),
      own_node("FusedMatMul", {"r", "wm", "bm"}, {Attribute::make_string("activation", "LeakyRelu")}, "f"),
      own_node("Attention", {"f", "f", "f"}, {Attribute::make_float("scale", 0.125f)}, "y"),
  };
  for (int64_t opset : {11, 13}) {
    Model m = model_with(nodes, {{"x", TensorType::of(DType::Float, Shape{1, 3, 8, 8})}, {"nhwc", TensorType::of(DType::Float, Shape{1, 6, 6, 3})}},
                         {"y", "c3"}, opset);
    m.graph.initializers = {{"w", w, ""}, {"b", b, ""}, {"w2", random_tensor({4, 4, 3, 3}, 75, -1, 1), ""},
                            {"wm", wm, ""}, {"bm", bm, ""}, {"shape", ints({3}, {1, 32, 8}), ""}};
    m.graph.outputs[0].type = TensorType::of(DType::Float, Shape{1, 32, 8});  // the checker wants output shapes
    m.graph.outputs[1].type = TensorType::of(DType::Float, Shape{1, 4, 4, 4});
    opt::ExportReport report;
    const Model out = opt::to_standard_onnx(m, &report);
    EXPECT_TRUE(all_standard(out));
    EXPECT_EQ(out.opset(""), opset) << "no op needs a newer opset";
    EXPECT_EQ(report.expanded.size(), 5u);
    EXPECT_EQ(count_op(out, "HardSwish"), opset >= 14 ? 1 : 0);
    ASSERT_EQ(out.graph.outputs.size(), 2u);
    EXPECT_EQ(out.graph.outputs[0].name, "y");
    EXPECT_EQ(out.graph.initializers.size(), m.graph.initializers.size());
    const std::map<std::string, Tensor> feeds = {{"x", random_tensor({1, 3, 8, 8}, 76)}, {"nhwc", random_tensor({1, 6, 6, 3}, 77)}};
    const auto a = run_model(m, feeds), e = run_model(out, feeds);
    expect_close(e[0], a[0]);
    expect_close(e[1], a[1]);
    // ONNX's checker accepts it.
    const std::string dir = temp_dir("ownops_export");
    save_model(out, dir + "/m.onnx");
    bool checked = false;
    EXPECT_EQ(onnx_checker_message(dir + "/m.onnx", &checked), "");
    EXPECT_TRUE(checked);
    std::filesystem::remove_all(dir);
  }
}

TEST(OwnOps, ExportReachesOwnOpsInSubgraphs) {
  Graph then_g, else_g;
  then_g.name = "then";
  then_g.nodes = {own_node("FusedMatMul", {"x", "w"}, {Attribute::make_string("activation", "Sigmoid")}, "t")};
  then_g.outputs = {{"t", TensorType{DType::Float, std::nullopt}}};
  else_g.name = "else";
  else_g.nodes = {own_node("Swish", {"x"}, {}, "e")};
  else_g.outputs = {{"e", TensorType{DType::Float, std::nullopt}}};
  Model m = model_with({make_node("If", {"cond"}, {"y"}, {Attribute::make_graph("then_branch", then_g),
                                                         Attribute::make_graph("else_branch", else_g)})},
                       {{"cond", TensorType::of(DType::Bool, Shape{})}, {"x", TensorType::of(DType::Float, Shape{3, 3})}}, {"y"}, 13);
  m.graph.initializers = {{"w", random_tensor({3, 3}, 121), ""}};
  const Model out = opt::to_standard_onnx(m);
  int own = 0;
  for_each_graph(out.graph, [&](const Graph& g, int) {
    for (const Node& n : g.nodes) own += !n.is_default_domain();
  });
  EXPECT_EQ(own, 0);
  EXPECT_EQ(m.graph.nodes[0].attr("then_branch")->g->nodes[0].domain, "eqopt") << "the input model is not changed";
  const Tensor x = random_tensor({3, 3}, 122);
  for (bool c : {true, false}) {
    Tensor cond(DType::Bool, {});
    static_cast<bool*>(cond.raw_mutable_data())[0] = c;
    expect_close(run_model(out, {{"cond", cond}, {"x", x}})[0], run_model(m, {{"cond", cond}, {"x", x}})[0]);
  }
}

TEST(OwnOps, ExportRaisesTheOpsetWhenSafe) {
  // LayerNormalization in an opset-13 model: raised to 17 (nothing in it changes by then).
  const std::vector<Node> nodes = {make_node("Unsqueeze", {"x", "axes"}, {"u"}),
                                   make_node("LayerNormalization", {"u", "s", "b"}, {"y"}),
                                   make_node("Softmax", {"y"}, {"z"}, {Attribute::make_int("axis", -1)})};
  Model m = model_with(nodes, {{"x", TensorType::of(DType::Float, Shape{2, 6})}}, {"z"}, 13, false);
  m.graph.initializers = {{"axes", ints({1}, {0}), ""}, {"s", random_tensor({6}, 81), ""}, {"b", random_tensor({6}, 82), ""}};
  opt::ExportReport report;
  const Model out = opt::to_standard_onnx(m, &report);
  EXPECT_EQ(out.opset(""), 17);
  EXPECT_GE(out.ir_version, 8);
  EXPECT_EQ(count_op(out, "LayerNormalization"), 1);
  EXPECT_TRUE(report.expanded.empty());
  const std::map<std::string, Tensor> feeds = {{"x", random_tensor({2, 6}, 83)}};
  expect_close(run_model(out, feeds)[0], run_model(m, feeds)[0]);

  // HardSwish in an opset-11 model without blockers: raised to 14.
  Model h = model_with({make_node("HardSwish", {"x"}, {"y"})}, {{"x", TensorType::of(DType::Float, Shape{5})}}, {"y"}, 11, false);
  EXPECT_EQ(opt::opset_raise_blocker(h, 14), "");
  EXPECT_EQ(opt::to_standard_onnx(h).opset(""), 14);
}

TEST(OwnOps, ExportUsesDefinitionsWhenRaisingWouldChangeAnOp) {
  // Opset 11 with Unsqueeze's axes attribute: it changes in opset 13, so HardSwish is written out.
  const std::vector<Node> nodes = {make_node("Unsqueeze", {"x"}, {"u"}, {Attribute::make_ints("axes", {0})}),
                                   make_node("HardSwish", {"u"}, {"y"})};
  const Model m = model_with(nodes, {{"x", TensorType::of(DType::Float, Shape{7})}}, {"y"}, 11, false);
  const std::string why = opt::opset_raise_blocker(m, 14);
  EXPECT_NE(why.find("Unsqueeze"), std::string::npos) << why;
  opt::ExportReport report;
  const Model out = opt::to_standard_onnx(m, &report);
  EXPECT_EQ(out.opset(""), 11);
  EXPECT_EQ(count_op(out, "HardSwish"), 0);
  EXPECT_EQ(report.expanded, std::vector<std::string>{"HardSwish"});
  const std::map<std::string, Tensor> feeds = {{"x", random_tensor({7}, 91, -5, 5)}};
  expect_close(run_model(out, feeds)[0], run_model(m, feeds)[0]);

  // Opset 13 with a ReduceMean axes attribute (an input from 18): Gelu (20) and Mish (18) are written
  // out, LayerNormalization (17) still raises the opset to 17.
  const std::vector<Node> nodes2 = {make_node("ReduceMean", {"x"}, {"r"}, {Attribute::make_ints("axes", {1})}),
                                    make_node("Gelu", {"r"}, {"g"}), make_node("Mish", {"g"}, {"h"}),
                                    make_node("LayerNormalization", {"h", "s"}, {"y"})};
  Model m2 = model_with(nodes2, {{"x", TensorType::of(DType::Float, Shape{3, 4, 5})}}, {"y"}, 13, false);
  m2.graph.initializers = {{"s", random_tensor({5}, 92), ""}};
  const Model out2 = opt::to_standard_onnx(m2, &report);
  EXPECT_EQ(out2.opset(""), 17);
  EXPECT_EQ(count_op(out2, "Gelu") + count_op(out2, "Mish"), 0);
  EXPECT_EQ(count_op(out2, "LayerNormalization"), 1);
  EXPECT_EQ(report.expanded, (std::vector<std::string>{"Gelu", "Mish"}));
  const std::map<std::string, Tensor> feeds2 = {{"x", random_tensor({3, 4, 5}, 93)}};
  expect_close(run_model(out2, feeds2)[0], run_model(m2, feeds2)[0], 1e-4f);

  // Softmax over a middle axis changes meaning in 13: an opset-12 LayerNormalization is written out.
  const std::vector<Node> nodes3 = {make_node("Softmax", {"x"}, {"p"}, {Attribute::make_int("axis", 1)}),
                                    make_node("LayerNormalization", {"p", "s"}, {"y"})};
  Model m3 = model_with(nodes3, {{"x", TensorType::of(DType::Float, Shape{3, 4, 5})}}, {"y"}, 12, false);
  m3.graph.initializers = {{"s", random_tensor({5}, 94), ""}};
  const Model out3 = opt::to_standard_onnx(m3);
  EXPECT_EQ(out3.opset(""), 12);
  EXPECT_EQ(count_op(out3, "LayerNormalization"), 0);
  EXPECT_GE(count_op(out3, "ReduceMean"), 2);
  expect_close(run_model(out3, feeds2)[0], run_model(m3, feeds2)[0], 1e-4f);
  // ...and when its Mean output is used, that cannot be written out: one line naming it.
  Model m4 = m3;
  m4.graph.nodes[1].outputs = {"y", "mean"};
  m4.graph.outputs.push_back({"mean", TensorType{DType::Float, std::nullopt}});
  const std::string e = error_of([&] { opt::to_standard_onnx(m4); });
  EXPECT_NE(e.find("'mean'"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  // An op without a definition that needs a blocked opset: the error names both.
  const std::vector<Node> nodes5 = {make_node("Softmax", {"x"}, {"p"}, {Attribute::make_int("axis", 1)}),
                                    make_node("Trilu", {"p"}, {"y"})};
  const Model m5 = model_with(nodes5, {{"x", TensorType::of(DType::Float, Shape{3, 4, 5})}}, {"y"}, 12, false);
  const std::string e5 = error_of([&] { opt::to_standard_onnx(m5); });
  EXPECT_NE(e5.find("Trilu"), std::string::npos) << e5;
  EXPECT_NE(e5.find("Softmax"), std::string::npos) << e5;
}

TEST(OwnOps, RaisingBlockersFollowTheTable) {
  auto one = [](Node n, int64_t opset, const Shape& shape = {2, 3}) {
    Model m = model_with({std::move(n)}, {{"x", TensorType::of(DType::Float, shape)}}, {"y"}, opset, false);
    return m;
  };
  EXPECT_EQ(opt::opset_raise_blocker(one(make_node("Softmax", {"x"}, {"y"}), 11), 13), "") << "axis 1 of rank 2 is the last";
  EXPECT_NE(opt::opset_raise_blocker(one(make_node("Softmax", {"x"}, {"y"}), 11, {2, 3, 4}), 13), "");
  EXPECT_EQ(opt::opset_raise_blocker(one(make_node("Squeeze", {"x"}, {"y"}), 11), 13), "") << "no axes: same meaning";
  EXPECT_NE(opt::opset_raise_blocker(one(make_node("Clip", {"x"}, {"y"}, {Attribute::make_float("min", 0)}), 9), 11), "");
  EXPECT_NE(opt::opset_raise_blocker(one(make_node("ReduceMax", {"x"}, {"y"}, {Attribute::make_ints("axes", {1})}), 13), 18), "");
  EXPECT_EQ(opt::opset_raise_blocker(one(make_node("ReduceMax", {"x"}, {"y"}, {Attribute::make_ints("axes", {1})}), 13), 17), "");
  EXPECT_NE(opt::opset_raise_blocker(one(make_node("Relu", {"x"}, {"y"}), 13), 22), "") << "newer than eqopt knows";
  EXPECT_EQ(opt::op_since_version("Gelu"), 20);
  EXPECT_EQ(opt::op_since_version("Relu"), 1);
  EXPECT_EQ(opt::op_since_version("NoSuchOp"), 0);
}

// ------------------------------------------------------------------ rules and the CLI

TEST(OwnOps, RuleIntroducesFusedConvAndExportIsStandard) {
  Model m = model_with({make_node("Conv", {"x", "w", "b"}, {"c"}, {Attribute::make_ints("pads", {1, 1, 1, 1})}),
                        make_node("Relu", {"c"}, {"y"})},
                       {{"x", TensorType::of(DType::Float, Shape{1, 3, 6, 6})}}, {"y"}, 13, false);
  m.graph.initializers = {{"w", random_tensor({4, 3, 3, 3}, 101, -1, 1), ""}, {"b", random_tensor({4}, 102), ""}};
  opt::TensorProgram program(m);
  const auto parsed = rules::parse_rules(
      "rule fuse-conv-relu: (Relu (Conv{*=?c} ?x ?w ?b)) => (eqopt.FusedConv{*=?c, activation=\"Relu\"} ?x ?w ?b)", "t.rules");
  const opt::CompiledRules compiled = opt::compile_rules(program, parsed);
  eg::Runner<opt::TensorEGraph> runner(program.egraph(), {10, 10000, 5, 0});
  runner.run(compiled.rewrites);
  size_t unions = 0;
  for (const auto& it : runner.iterations())
    for (const auto& r : it.rules) unions += r.unions;
  EXPECT_EQ(unions, 1u);
  const Model extracted = program.extract();
  const bool has_fused = std::any_of(extracted.graph.nodes.begin(), extracted.graph.nodes.end(),
                                     [](const Node& n) { return n.domain == "eqopt" && n.op_type == "FusedConv"; });
  EXPECT_TRUE(has_fused) << "the fused op is the cheaper choice";
  if (has_fused) {
    EXPECT_EQ(extracted.opset("eqopt"), 1);
  }
  const Model out = opt::to_standard_onnx(extracted);
  EXPECT_TRUE(all_standard(out));
  EXPECT_EQ(out.opset(""), 13);
  const std::map<std::string, Tensor> feeds = {{"x", random_tensor({1, 3, 6, 6}, 103)}};
  EXPECT_TRUE(run_model(out, feeds)[0].bit_equal(run_model(m, feeds)[0]));
  if (has_fused) {
    EXPECT_TRUE(run_model(extracted, feeds)[0].bit_equal(run_model(m, feeds)[0]));
  }
}

TEST(OwnOps, CliRunsAndVerifiesModelsWithOwnOps) {
  Model m = model_with({own_node("FusedConv", {"x", "w", "b"}, {Attribute::make_string("activation", "Sigmoid")}, "y")},
                       {{"x", TensorType::of(DType::Float, Shape{1, 2, 5, 5})}}, {"y"}, 13);
  m.graph.initializers = {{"w", random_tensor({3, 2, 3, 3}, 111), ""}, {"b", random_tensor({3}, 112), ""}};
  const std::string dir = temp_dir("ownops_cli");
  save_model(m, dir + "/own.onnx");
  save_model(opt::to_standard_onnx(m), dir + "/std.onnx");
  const CommandResult run = run_command(eqopt_exe() + " run " + dir + "/own.onnx");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const CommandResult verify = run_command(eqopt_exe() + " verify " + dir + "/own.onnx " + dir + "/std.onnx");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  std::filesystem::remove_all(dir);
}

