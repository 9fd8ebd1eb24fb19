// Symbolic evaluation (verify/sym_eval.h): every supported op on small models, each output element
// evaluated in double on random inputs and compared with the reference interpreter's float32
// result; plus approx-target canonicalisation, definedness conditions, own ops through their
// definitions, and what is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "interp/interpreter.h"
#include "verify/sym_eval.h"

using namespace eqopt;
using namespace eqopt::verify;

namespace {

// A model under construction: graph inputs get random feeds, constants are initializers.
class Builder {
 public:
  explicit Builder(int64_t opset = 17, uint32_t seed = 1) : rng_(seed) {
    model.opset_imports = {{"", opset}, {"eqopt", 1}};
  }

  std::string input(const std::string& name, const Shape& shape, float lo = -2, float hi = 2) {
    model.graph.inputs.push_back({name, TensorType::of(DType::Float, shape)});
    std::uniform_real_distribution<float> u(lo, hi);
    Tensor t(DType::Float, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = u(rng_);
    feeds[name] = t;
    return name;
  }
  // A graph input of any dtype, fed with the given value.
  std::string typed_input(const std::string& name, Tensor value) {
    model.graph.inputs.push_back({name, TensorType::of(value.dtype(), value.shape())});
    feeds[name] = std::move(value);
    return name;
  }
  std::string init(const std::string& name, Tensor value) {
    model.graph.initializers.push_back({name, std::move(value), ""});
    return name;
  }
  std::string ints(const std::string& name, const std::vector<int64_t>& v) {
    return init(name, Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  }
  // Adds a node; returns its outputs (named "<op><n>_<k>").
  std::vector<std::string> node(const std::string& op, const std::vector<std::string>& inputs,
                                const std::vector<Attribute>& attrs = {}, size_t outputs = 1,
                                const std::string& domain = "") {
    Node n;
    n.op_type = op;
    n.domain = domain;
    n.name = op + std::to_string(model.graph.nodes.size());
    n.inputs = inputs;
    for (size_t k = 0; k < outputs; ++k) n.outputs.push_back(n.name + "_" + std::to_string(k));
    n.attributes = attrs;
    model.graph.nodes.push_back(n);
    return n.outputs;
  }
  std::string op(const std::string& op, const std::vector<std::string>& inputs, const std::vector<Attribute>& attrs = {}) {
    return node(op, inputs, attrs).at(0);
  }
  void output(const std::string& name) { model.graph.outputs.push_back({name, TensorType{DType::Undefined, std::nullopt}}); }

  Model model;
  std::map<std::string, Tensor> feeds;

 private:
  std::mt19937 rng_;
};

// Evaluates the model symbolically and on the interpreter and compares every output element.
SymResult check(const Builder& b, SymCtx& ctx, const SymEvalOptions& options = {}, double rtol = 1e-4) {
  const SymResult r = sym_eval(ctx, b.model, options);
  const std::vector<Tensor> ref = Interpreter(b.model).run(b.feeds);
  EXPECT_EQ(r.outputs.size(), ref.size());
  EXPECT_EQ(r.conditions.size(), ref.size());
  const auto vars = [&](const std::string& name, int64_t i) { return b.feeds.at(name).as_double(i); };
  for (size_t k = 0; k < ref.size() && k < r.outputs.size(); ++k) {
    const SymTensor& s = r.outputs[k];
    EXPECT_EQ(s.shape, ref[k].shape()) << "output " << k;
    EXPECT_EQ(s.dtype, ref[k].dtype()) << "output " << k;
    if (s.shape != ref[k].shape() || int64_t(s.elems.size()) != ref[k].numel()) continue;
    for (int64_t i = 0; i < ref[k].numel(); ++i) {
      const double got = ctx.evaluate(s.elems[size_t(i)], vars), want = ref[k].as_double(i);
      EXPECT_NEAR(got, want, rtol * (1 + std::abs(want)))
          << "output " << k << " element " << i << ": " << ctx.str(s.elems[size_t(i)], 200);
    }
  }
  return r;
}

SymResult check(const Builder& b, const SymEvalOptions& options = {}, double rtol = 1e-4) {
  SymCtx ctx;
  return check(b, ctx, options, rtol);
}

Attribute f(const char* n, float v) { return Attribute::make_float(n, v); }
Attribute i(const char* n, int64_t v) { return Attribute::make_int(n, v); }
Attribute is(const char* n, std::vector<int64_t> v) { return Attribute::make_ints(n, std::move(v)); }
Attribute s(const char* n, const char* v) { return Attribute::make_string(n, v); }

struct UnaryCase {
  std::string op;
  std::vector<Attribute> attrs;
  float lo = -3, hi = 3;
};

TEST(SymEval, UnaryOps) {
  const std::vector<UnaryCase> cases = {
      {"Neg", {}},
      {"Abs", {}},
      {"Relu", {}},
      {"LeakyRelu", {}},
      {"LeakyRelu", {f("alpha", 0.3f)}},
      {"Sigmoid", {}},
      {"HardSigmoid", {}},
      {"HardSigmoid", {f("alpha", 0.3f), f("beta", 0.4f)}},
      {"HardSwish", {}, -5, 5},
      {"Tanh", {}},
      {"Erf", {}},
      {"Exp", {}},
      {"Log", {}, 0.1f, 4},
      {"Sqrt", {}, 0.1f, 4},
      {"Reciprocal", {}, 0.2f, 3},
      {"Softplus", {}},
      {"Softsign", {}},
      {"Mish", {}},
      {"Elu", {}},
      {"Elu", {f("alpha", 0.7f)}},
      {"Selu", {}},
      {"Celu", {f("alpha", 1.5f)}},
      {"Gelu", {}},
      {"Gelu", {s("approximate", "tanh")}},
      {"ThresholdedRelu", {f("alpha", 0.5f)}},
      {"Sign", {}},
      {"Identity", {}},
      {"Dropout", {}},
      {"Clip", {f("min", -0.5f), f("max", 1.2f)}},
  };
  for (const UnaryCase& c : cases) {
    SCOPED_TRACE(c.op);
    Builder b(c.op == "Clip" ? 10 : 20, 7);
    b.output(b.op(c.op, {b.input("x", {2, 3, 4}, c.lo, c.hi)}, c.attrs));
    check(b);
  }
}

TEST(SymEval, BinaryOpsBroadcast) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}}, {{2, 3, 4}, {}}, {{1, 4}, {3, 1}}, {{3}, {2, 1, 3}}};
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu", "Mean", "Sum"})
    for (const auto& [sa, sb] : shapes) {
      SCOPED_TRACE(std::string(op) + " " + shape_str(sa) + " " + shape_str(sb));
      if (std::string(op) == "PRelu" && (sb.size() > sa.size() || sa == Shape{1, 4})) continue;  // slope to X only
      Builder b(17, 3);
      const bool positive = std::string(op) == "Pow" || std::string(op) == "Div";
      const std::string a = b.input("a", sa, positive ? 0.3f : -2.f, 2.f);
      const std::string c = b.input("b", sb, positive ? 0.3f : -2.f, 2.f);
      b.output(b.op(op, {a, c}));
      check(b);
    }
  Builder b(17, 4);
  b.output(b.op("Max", {b.input("a", {2, 3}), b.input("b", {3}), b.input("c", {2, 1})}));
  b.output(b.op("Sum", {"a", "b", "c"}));
  b.output(b.op("Pow", {"a", b.init("three", Tensor::scalar<float>(3))}));
  check(b);
}

TEST(SymEval, ClipInputsComparisonsWhere) {
  Builder b(17, 5);
  const std::string x = b.input("x", {3, 4}), y = b.input("y", {4});
  b.output(b.op("Clip", {x, b.init("lo", Tensor::scalar<float>(-0.5f)), b.init("hi", Tensor::scalar<float>(0.8f))}));
  b.output(b.op("Clip", {x, "", "hi"}));
  b.output(b.op("Clip", {x, b.input("lo2", {}, -1, 0)}));
  for (const char* cmp : {"Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal"}) b.output(b.op(cmp, {x, y}));
  const std::string g = b.op("Greater", {x, y});
  b.output(b.op("Where", {g, x, y}));
  b.output(b.op("Where", {b.op("Not", {g}), x, b.init("fill", Tensor::scalar<float>(-7))}));
  b.output(b.op("Where", {b.op("And", {g, b.op("Less", {x, b.init("z", Tensor::scalar<float>(1))})}), x, y}));
  b.output(b.op("Where", {b.init("mask", Tensor::from_vector<bool>({4}, {true, false, false, true})), x, y}));
  b.output(b.op("Cast", {g}, {i("to", 1)}));
  check(b);
}

TEST(SymEval, MatMulAndGemm) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 5}}, {{4}, {4, 5}}, {{2, 3, 4}, {4}}, {{2, 1, 3, 4}, {3, 4, 2}}, {{4}, {4}}};
  for (const auto& [sa, sb] : shapes) {
    SCOPED_TRACE(shape_str(sa) + " x " + shape_str(sb));
    Builder b(17, 11);
    b.output(b.op("MatMul", {b.input("a", sa), b.input("b", sb)}));
    check(b);
  }
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Builder b(17, 12 + uint32_t(ta * 2 + tb));
      const std::string a = b.input("a", ta ? Shape{4, 3} : Shape{3, 4}), w = b.input("w", tb ? Shape{5, 4} : Shape{4, 5});
      b.output(b.op("Gemm", {a, w, b.input("c", {5})}, {i("transA", ta), i("transB", tb), f("alpha", 0.5f), f("beta", 2.0f)}));
      b.output(b.op("Gemm", {a, w}, {i("transA", ta), i("transB", tb)}));
      check(b);
    }
}

TEST(SymEval, ConvAttributes) {
  std::mt19937 rng(21);
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const char* pads_modes[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
  for (int trial = 0; trial < 24; ++trial) {
    const size_t r = size_t(pick(1, 2));
    const int64_t group = pick(1, 2), cg = pick(1, 2), mg = pick(1, 2), n = pick(1, 2);
    std::vector<int64_t> kernel, strides, dil, pads_b, pads_e;
    Shape xs = {n, cg * group}, ws = {mg * group, cg};
    for (size_t d = 0; d < r; ++d) {
      kernel.push_back(pick(1, 3));
      strides.push_back(pick(1, 2));
      dil.push_back(pick(1, 2));
      pads_b.push_back(pick(0, 1));
      pads_e.push_back(pick(0, 1));
      xs.push_back((kernel.back() - 1) * dil.back() + 1 + pick(0, 3));
      ws.push_back(kernel.back());
    }
    const std::string mode = pads_modes[trial % 4];
    std::vector<Attribute> attrs = {i("group", group), is("strides", strides), is("dilations", dil)};
    if (mode == "NOTSET") {
      std::vector<int64_t> pads = pads_b;
      pads.insert(pads.end(), pads_e.begin(), pads_e.end());
      attrs.push_back(is("pads", pads));
    } else {
      attrs.push_back(s("auto_pad", mode.c_str()));
    }
    SCOPED_TRACE("trial " + std::to_string(trial) + " x " + shape_str(xs) + " w " + shape_str(ws) + " " + mode);
    Builder b(17, uint32_t(100 + trial));
    std::vector<std::string> in = {b.input("x", xs), b.input("w", ws)};
    if (trial % 3 != 0) in.push_back(b.input("bias", {mg * group}));
    b.output(b.op("Conv", in, attrs));
    check(b);
  }
}

TEST(SymEval, ConvTransposeAttributes) {
  std::mt19937 rng(22);
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t group = pick(1, 2), cg = pick(1, 2), mg = pick(1, 2);
    std::vector<int64_t> strides, pads, out_pad;
    Shape xs = {1, cg * group}, ws = {cg * group, mg};
    for (int d = 0; d < 2; ++d) {
      const int64_t k = pick(1, 3), st = pick(1, 2);
      strides.push_back(st);
      xs.push_back(pick(1, 3));
      ws.push_back(k);
      out_pad.push_back(st > 1 ? pick(0, 1) : 0);
    }
    for (int d = 0; d < 4; ++d) pads.push_back(std::min<int64_t>(pick(0, 1), ws[2 + size_t(d % 2)] - 1));
    SCOPED_TRACE("trial " + std::to_string(trial) + " x " + shape_str(xs) + " w " + shape_str(ws));
    Builder b(17, uint32_t(200 + trial));
    std::vector<std::string> in = {b.input("x", xs), b.input("w", ws)};
    if (trial % 2) in.push_back(b.input("bias", {mg * group}));
    b.output(b.op("ConvTranspose", in,
                  {i("group", group), is("strides", strides), is("pads", pads), is("output_padding", out_pad)}));
    check(b);
  }
}

TEST(SymEval, Pooling) {
  Builder b(17, 31);
  const std::string x = b.input("x", {2, 2, 5, 4});
  b.output(b.op("MaxPool", {x}, {is("kernel_shape", {2, 2})}));
  b.output(b.op("MaxPool", {x}, {is("kernel_shape", {3, 2}), is("strides", {2, 1}), is("pads", {1, 0, 1, 1})}));
  b.output(b.op("AveragePool", {x}, {is("kernel_shape", {3, 3}), is("pads", {1, 1, 1, 1})}));
  b.output(b.op("AveragePool", {x}, {is("kernel_shape", {3, 3}), is("pads", {1, 1, 1, 1}), i("count_include_pad", 1)}));
  b.output(b.op("AveragePool", {x}, {is("kernel_shape", {2, 2}), is("strides", {2, 2}), i("ceil_mode", 1)}));
  b.output(b.op("GlobalAveragePool", {x}));
  b.output(b.op("GlobalMaxPool", {x}));
  check(b);
}

TEST(SymEval, LpPooling) {
  Builder b(18, 33);
  const std::string x = b.input("x", {2, 2, 5, 4});
  b.output(b.op("LpPool", {x}, {is("kernel_shape", {2, 2})}));
  b.output(b.op("LpPool", {x}, {is("kernel_shape", {3, 2}), is("pads", {1, 0, 1, 1}), i("p", 1)}));
  b.output(b.op("GlobalLpPool", {x}));
  b.output(b.op("GlobalLpPool", {x}, {i("p", 1)}));
  check(b);
  Builder p3(18);
  p3.output(p3.op("LpPool", {p3.input("x", {1, 1, 2})}, {is("kernel_shape", {2}), i("p", 3)}));
  SymCtx ctx;
  EXPECT_THROW(sym_eval(ctx, p3.model), verify::UnsupportedOp);
}

// Integer tensors are symbolic too: wrap-around arithmetic, truncating division, Mod's two sign
// conventions, shifts, comparisons, ArgMax/ArgMin and casts, each as the interpreter computes them.
TEST(SymEval, IntegerOps) {
  Builder b(17, 35);
  const std::string a = b.typed_input("a", Tensor::from_vector<int64_t>({2, 3}, {7, -7, 5, -5, 3, -8}));
  const std::string d = b.typed_input("d", Tensor::from_vector<int64_t>({3}, {2, -3, 4}));
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Greater", "Less", "GreaterOrEqual"})
    b.output(b.op(op, {a, d}));
  b.output(b.op("Mod", {a, d}));
  b.output(b.op("Mod", {a, d}, {i("fmod", 1)}));
  for (const char* op : {"Neg", "Abs", "Relu", "Sign"}) b.output(b.op(op, {a}));
  b.output(b.op("ArgMax", {a}, {i("axis", 1)}));
  b.output(b.op("ArgMin", {a}, {i("axis", 0), i("keepdims", 0)}));
  const std::string t = b.typed_input("t", Tensor::from_vector<int64_t>({4}, {3, 1, 3, 0}));
  b.output(b.op("ArgMax", {t}, {i("select_last_index", 1)}));
  b.output(b.op("ReduceSum", {a, b.ints("axes", {1})}));
  b.output(b.op("MatMul", {a, b.typed_input("m", Tensor::from_vector<int64_t>({3, 2}, {1, -2, 3, 0, -1, 2}))}));
  b.output(b.op("Where", {b.op("Less", {a, d}), a, d}));
  for (DType to : {DType::Float, DType::Float16, DType::Int32, DType::Bool, DType::UInt8})
    b.output(b.op("Cast", {a}, {i("to", int64_t(to))}));
  const std::string u = b.typed_input("u", Tensor::from_vector<uint64_t>({3}, {1, 6, 255}));
  const std::string sh = b.typed_input("sh", Tensor::from_vector<uint64_t>({3}, {3, 0, 70}));
  b.output(b.op("BitShift", {u, sh}, {s("direction", "LEFT")}));
  b.output(b.op("BitShift", {u, sh}, {s("direction", "RIGHT")}));
  check(b);
}

TEST(SymEval, IntegerArithmeticWrapsAround) {
  Builder b;
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  const std::string a = b.typed_input("a", Tensor::from_vector<int64_t>({2}, {big, small}));
  b.output(b.op("Add", {a, b.typed_input("one", Tensor::from_vector<int64_t>({2}, {1, -1}))}));
  b.output(b.op("Neg", {a}));
  b.output(b.op("Div", {a, b.typed_input("m1", Tensor::from_vector<int64_t>({2}, {-1, -1}))}));
  SymCtx ctx;
  const SymResult r = sym_eval(ctx, b.model);
  const std::vector<Tensor> ref = Interpreter(b.model).run(b.feeds);
  const auto vars = [&](const SymNode& v) { return SymScalar::of_int(b.feeds.at(v.name).as_int64(v.index)); };
  for (size_t k = 0; k < ref.size(); ++k)
    for (int64_t e = 0; e < 2; ++e)
      EXPECT_EQ(ctx.evaluate_scalar(r.outputs[k].elems[size_t(e)], vars).bits, ref[k].as_int64(e)) << k << " " << e;
}

// Bools are symbolic truth values; float16 values are their unknowns rounded to half precision, and
// a Cast to float16 rounds.
TEST(SymEval, BoolAndFloat16) {
  Builder b(17, 37);
  const std::string p = b.typed_input("p", Tensor::from_vector<bool>({4}, {true, true, false, false}));
  const std::string q = b.typed_input("q", Tensor::from_vector<bool>({4}, {true, false, true, false}));
  for (const char* op : {"And", "Or", "Xor", "Equal"}) b.output(b.op(op, {p, q}));
  b.output(b.op("Not", {p}));
  b.output(b.op("Where", {p, q, b.op("Not", {q})}));
  b.output(b.op("Cast", {p}, {i("to", int64_t(DType::Int64))}));
  const std::string x = b.input("x", {4});
  b.output(b.op("Cast", {x}, {i("to", int64_t(DType::Float16))}));
  b.output(b.op("Cast", {x}, {i("to", int64_t(DType::Int64))}));
  b.output(b.op("Cast", {x}, {i("to", int64_t(DType::Bool))}));
  std::vector<Half> h;
  for (float v : {0.1f, -1.5f, 3.3f, 1000.7f}) h.push_back(float_to_half(v));
  const std::string xh = b.typed_input("xh", Tensor::from_vector<Half>({4}, h));
  b.output(b.op("Cast", {xh}, {i("to", int64_t(DType::Float))}));
  b.output(b.op("Relu", {xh}));
  check(b);
}

TEST(SymEval, Normalizations) {
  Builder b(17, 41);
  const std::string x = b.input("x", {2, 3, 2, 2});
  b.output(b.op("BatchNormalization", {x, b.input("scale", {3}), b.input("bias", {3}), b.input("mean", {3}),
                                       b.input("var", {3}, 0.1f, 2)},
                {f("epsilon", 1e-3f)}));
  b.output(b.op("InstanceNormalization", {x, "scale", "bias"}));
  b.output(b.op("LayerNormalization", {x, b.input("g", {2}), b.input("beta", {2})}));
  b.output(b.op("LayerNormalization", {x, b.input("g2", {3, 1, 2})}, {i("axis", 1), f("epsilon", 1e-2f)}));
  const auto ln = b.node("LayerNormalization", {x, "g"}, {i("axis", -2)}, 3);
  for (const auto& o : ln) b.output(o);
  check(b);
}

TEST(SymEval, SoftmaxAxes) {
  for (int64_t opset : {11, 13}) {
    Builder b(opset, 51);
    const std::string x = b.input("x", {2, 3, 4});
    for (int64_t axis : {0, 1, -1}) {
      b.output(b.op("Softmax", {x}, {i("axis", axis)}));
      b.output(b.op("LogSoftmax", {x}, {i("axis", axis)}));
    }
    b.output(b.op("Softmax", {x}));
    check(b);
  }
}

TEST(SymEval, Reductions) {
  const char* ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                       "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp"};
  for (int64_t opset : {13, 18})
    for (const char* op : ops) {
      SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset));
      Builder b(opset, 61);
      const std::string x = b.input("x", {2, 3, 4}, 0.2f, 1.5f);
      const bool axes_input = opset >= 18 || std::string(op) == "ReduceSum";
      for (const std::vector<int64_t>& axes : {std::vector<int64_t>{1}, {0, -1}, {}})
        for (int64_t keep : {0, 1}) {
          std::vector<Attribute> attrs = {i("keepdims", keep)};
          if (axes_input) {
            b.output(b.op(op, axes.empty() ? std::vector<std::string>{x}
                                           : std::vector<std::string>{x, b.ints("axes" + std::to_string(b.model.graph.nodes.size()), axes)},
                          attrs));
          } else {
            if (!axes.empty()) attrs.push_back(is("axes", axes));
            b.output(b.op(op, {x}, attrs));
          }
        }
      if (axes_input) b.output(b.op(op, {x}, {i("noop_with_empty_axes", 1)}));
      check(b);
    }
}

TEST(SymEval, DataMovement) {
  Builder b(18, 71);
  const std::string x = b.input("x", {2, 3, 4});
  b.output(b.op("Transpose", {x}, {is("perm", {2, 0, 1})}));
  b.output(b.op("Transpose", {x}));
  b.output(b.op("Reshape", {x, b.ints("s1", {0, -1, 2})}));
  b.output(b.op("Flatten", {x}, {i("axis", 2)}));
  const std::string u = b.op("Unsqueeze", {x, b.ints("ax1", {0, -1})});
  b.output(u);
  b.output(b.op("Squeeze", {u, b.ints("ax2", {0})}));
  b.output(b.op("Expand", {b.input("e", {3, 1}), b.ints("es", {2, 3, 4})}));
  b.output(b.op("Concat", {x, b.input("c", {2, 1, 4}), x}, {i("axis", 1)}));
  b.output(b.op("Concat", {x, x}, {i("axis", -1)}));
  b.output(b.op("Slice", {x, b.ints("st", {-1, 1}), b.ints("en", {-100, 100}), b.ints("sa", {2, 1}), b.ints("ss", {-2, 1})}));
  b.output(b.op("Slice", {x, b.ints("st2", {0}), b.ints("en2", {-1}), b.ints("sa2", {-1})}));
  b.output(b.op("Pad", {x, b.ints("p1", {0, 1, 2, 1, 0, -1}), b.input("pv", {})}));
  b.output(b.op("Pad", {x, b.ints("p2", {0, 2, 1, 0, 1, 3})}, {s("mode", "reflect")}));
  b.output(b.op("Pad", {x, b.ints("p3", {1, 0, 2, 0, 2, 1})}, {s("mode", "edge")}));
  for (const auto& o : b.node("Split", {x, b.ints("sp", {1, 3})}, {i("axis", 2)}, 2)) b.output(o);
  b.output(b.op("Gather", {x, b.init("gi", Tensor::from_vector<int64_t>({2, 2}, {0, -1, 2, 1}))}, {i("axis", 1)}));
  b.output(b.op("Tile", {x, b.ints("rep", {1, 2, 1})}));
  // Shape arithmetic on the interpreter: Shape -> Gather -> Concat -> Reshape.
  const std::string sh = b.op("Shape", {x});
  const std::string d0 = b.op("Gather", {sh, b.ints("g0", {0})});
  b.output(b.op("Reshape", {x, b.op("Concat", {d0, b.ints("m1", {-1})}, {i("axis", 0)})}));
  b.output(b.op("Add", {b.op("ConstantOfShape", {sh}, {Attribute::make_tensor("value", Tensor::from_vector<float>({1}, {1.5f}))}), x}));
  b.output(b.op("Mul", {b.op("Cast", {b.op("Size", {x})}, {i("to", 1)}), x}));
  check(b);
}

TEST(SymEval, OldOpsetAttributes) {
  Builder b(9, 72);
  const std::string x = b.input("x", {2, 3, 4});
  b.output(b.op("Slice", {x}, {is("starts", {1, -3}), is("ends", {3, 100}), is("axes", {1, 2})}));
  b.output(b.op("Pad", {x}, {is("pads", {0, 1, 0, 0, 0, 2}), f("value", 0.25f)}));
  b.output(b.op("Unsqueeze", {x}, {is("axes", {1})}));
  for (const auto& o : b.node("Split", {x}, {i("axis", 1), is("split", {2, 1})}, 2)) b.output(o);
  check(b);
}

TEST(SymEval, OwnOpsThroughTheirDefinitions) {
  for (const char* act : {"", "Relu", "LeakyRelu", "HardSwish", "Clip"}) {
    SCOPED_TRACE(act);
    Builder b(17, 81);
    std::vector<Attribute> attrs = {is("pads", {1, 1, 1, 1}), i("group", 1)};
    if (*act) attrs.push_back(s("activation", act));
    if (std::string(act) == "Clip") {
      attrs.push_back(f("alpha", -0.5f));
      attrs.push_back(f("beta", 0.5f));
    }
    b.output(b.node("FusedConv", {b.input("x", {1, 2, 3, 3}), b.input("w", {3, 2, 3, 3}), b.input("b", {3}),
                                  b.input("z", {1, 3, 3, 3})},
                    attrs, 1, "eqopt")
                 .at(0));
    check(b);
  }
  Builder b(17, 82);
  const std::string x = b.input("x", {2, 5});
  b.output(b.node("Swish", {x}, {}, 1, "eqopt").at(0));
  b.output(b.node("Swish", {x}, {f("alpha", 1.702f)}, 1, "eqopt").at(0));
  b.output(b.node("Attention", {b.input("q", {2, 3, 4}), b.input("k", {2, 5, 4}), b.input("v", {2, 5, 3})}, {}, 1, "eqopt").at(0));
  const SymResult r = check(b);
  EXPECT_EQ(r.outputs[0].shape, (Shape{2, 5}));
}

TEST(SymEval, ApproxTargetsCanonicaliseConstants) {
  // x / 1.4142135 and x * 0.70710677 (float32 roundings) meet once sqrt(2) is a target.
  auto build = [](Builder& b) {
    const std::string x = b.input("x", {3});
    b.output(b.op("Div", {x, b.init("r", Tensor::scalar<float>(1.4142135f))}));
    b.output(b.op("Mul", {x, b.init("c", Tensor::scalar<float>(0.70710677f))}));
  };
  {
    Builder b;
    build(b);
    SymCtx ctx;
    SymEvalOptions opt;
    opt.approx_targets = {std::sqrt(2.0)};
    const SymResult r = check(b, ctx, opt);
    for (size_t e = 0; e < 3; ++e) EXPECT_EQ(r.outputs[0].elems[e], r.outputs[1].elems[e]);
    EXPECT_EQ(r.outputs[0].elems[0], ctx.mul(ctx.var("x", 0), ctx.inv(ctx.constant(std::sqrt(2.0)))));
  }
  {
    Builder b;
    build(b);
    SymCtx ctx;
    const SymResult r = check(b, ctx);
    EXPECT_NE(r.outputs[0].elems[0], r.outputs[1].elems[0]);  // no target: the constants stay as written
    EXPECT_EQ(r.outputs[1].elems[0], ctx.mul(ctx.var("x", 0), ctx.constant(double(0.70710677f))));
  }
  {
    // Gelu's 1/sqrt(2) meets the decomposition x * 0.5 * (1 + erf(x / r)).
    Builder b;
    const std::string x = b.input("x", {4});
    b.output(b.op("Gelu", {x}));
    const std::string erf = b.op("Erf", {b.op("Div", {x, b.init("r", Tensor::scalar<float>(1.4142135f))})});
    b.output(b.op("Mul", {b.op("Mul", {x, b.init("h", Tensor::scalar<float>(0.5f))}),
                          b.op("Add", {b.init("one", Tensor::scalar<float>(1)), erf})}));
    b.model.opset_imports[0].version = 20;
    SymCtx ctx;
    SymEvalOptions opt;
    opt.approx_targets = {std::sqrt(2.0)};
    const SymResult r = check(b, ctx, opt);
    EXPECT_EQ(r.outputs[0].elems, r.outputs[1].elems);
  }
  {
    // HardSwish's 1/6 is exact without targets, so it meets Clip(x + 3, 0, 6) / 6 up to arithmetic.
    Builder b;
    b.output(b.op("HardSwish", {b.input("x", {2})}));
    SymCtx ctx;
    const SymResult r = check(b, ctx);
    const SymId x0 = ctx.var("x", 0);
    const SymId hs = ctx.max(ctx.constant(0), ctx.min(ctx.constant(1), ctx.add(ctx.mul(ctx.inv(ctx.constant(6)), x0), ctx.constant(0.5))));
    EXPECT_EQ(r.outputs[0].elems[0], ctx.mul(x0, hs));
  }
}

TEST(SymEval, ConditionsFollowTheirOutputs) {
  Builder b(17, 91);
  const std::string a = b.input("a", {2}), d = b.input("d", {2}, 0.5f, 2), c = b.input("c", {2});
  const std::string q = b.op("Div", {a, d});
  b.output(q);                              // needs d != 0
  b.output(b.op("Add", {a, c}));            // needs nothing
  b.output(b.op("Sqrt", {b.op("Relu", {q})}));  // needs d != 0 and relu(q) >= 0
  SymCtx ctx;
  const SymResult r = check(b, ctx);
  ASSERT_EQ(r.conditions.size(), 3u);
  EXPECT_EQ(r.conditions[0].size(), 2u);
  for (int64_t k = 0; k < 2; ++k) {
    const SymId nz = ctx.not_(ctx.eq(ctx.var("d", k), ctx.constant(0)));
    EXPECT_NE(std::find(r.conditions[0].begin(), r.conditions[0].end(), nz), r.conditions[0].end());
    EXPECT_NE(std::find(r.conditions[2].begin(), r.conditions[2].end(), nz), r.conditions[2].end());
  }
  EXPECT_TRUE(r.conditions[1].empty());
  EXPECT_EQ(r.conditions[2].size(), 4u);
  // Each condition holds on the (positive) random inputs.
  const auto vars = [&](const std::string& name, int64_t i) { return b.feeds.at(name).as_double(i); };
  for (SymId cnd : r.conditions[2]) EXPECT_EQ(ctx.evaluate(cnd, vars), 1.0) << ctx.str(cnd);
}

TEST(SymEval, RefusesWhatItCannotRead) {
  {
    Builder b;
    b.output(b.op("NoSuchOp", {b.input("x", {2})}));
    SymCtx ctx;
    EXPECT_THROW(sym_eval(ctx, b.model), verify::UnsupportedOp);
  }
  {
    Builder b;
    b.output(b.op("Floor", {b.input("x", {2})}));  // runs on known values only
    SymCtx ctx;
    try {
      sym_eval(ctx, b.model);
      FAIL() << "expected UnsupportedOp";
    } catch (const verify::UnsupportedOp& e) {
      EXPECT_NE(std::string(e.what()).find("op Floor"), std::string::npos) << e.what();
    }
  }
  {
    Builder b;
    b.output(b.op("Floor", {b.init("k", Tensor::from_vector<float>({2}, {1.5f, -0.5f}))}));
    SymCtx ctx;
    const SymResult r = sym_eval(ctx, b.model);
    EXPECT_EQ(r.outputs[0].elems[0], ctx.constant(1));
    EXPECT_EQ(r.outputs[0].elems[1], ctx.constant(-1));
  }
  {
    Builder b;
    b.model.graph.inputs.push_back({"shape", TensorType::of(DType::Int64, Shape{2})});
    b.output(b.op("Reshape", {b.input("x", {2, 3}), "shape"}));
    SymCtx ctx;
    EXPECT_THROW(sym_eval(ctx, b.model), verify::UnsupportedOp);
  }
  {
    Builder b;
    b.output(b.op("Cast", {b.input("x", {2})}, {i("to", 8)}));  // to string
    SymCtx ctx;
    EXPECT_THROW(sym_eval(ctx, b.model), verify::UnsupportedOp);
  }
}

TEST(SymEval, SupportedOpsList) {
  const std::vector<std::string> ops = sym_supported_ops();
  for (const char* op : {"Add", "Conv", "ConvTranspose", "MatMul", "Softmax", "LayerNormalization", "Slice",
                         "Shape", "eqopt.FusedConv", "eqopt.Swish", "eqopt.Attention"})
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
}

TEST(SymEval, LargeConvStaysSmall) {
  // A 3x3 convolution over 8 channels: the expressions grow linearly with the terms.
  Builder b(17, 99);
  b.output(b.op("Conv", {b.input("x", {1, 8, 6, 6}), b.input("w", {8, 8, 3, 3})}, {is("pads", {1, 1, 1, 1})}));
  SymCtx ctx;
  check(b, ctx, {}, 1e-3);
  EXPECT_LT(ctx.size(), 60000u);
}

}  // namespace
