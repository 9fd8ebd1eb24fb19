// LSTM, GRU and RNN: shape inference and kernels against scalar formulas written out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "interp/interpreter.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Attribute strings_attr(const std::string& name, std::vector<std::string> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Strings;
  a.strings = std::move(v);
  return a;
}

Tensor lens(std::vector<int32_t> v) { return Tensor::from_vector<int32_t>({int64_t(v.size())}, v); }

Tensor ramp(const Shape& s, float scale, float offset = 0) {
  Tensor t(DType::Float, s);
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::sin(float(i) * 1.7f + offset) * scale;
  return t;
}

// out[perm...] for rank-3/4 tensors: swaps axes a and b.
Tensor swap_axes(const Tensor& t, int a, int b) {
  Shape s = t.shape();
  std::swap(s[size_t(a)], s[size_t(b)]);
  Tensor out(t.dtype(), s);
  const int64_t rank = t.rank();
  std::vector<int64_t> idx(size_t(rank), 0);
  const float* in = t.data<float>();
  float* o = out.mutable_data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t rem = i;
    for (int64_t d = rank - 1; d >= 0; --d) {
      idx[size_t(d)] = rem % t.shape()[size_t(d)];
      rem /= t.shape()[size_t(d)];
    }
    std::swap(idx[size_t(a)], idx[size_t(b)]);
    int64_t j = 0;
    for (int64_t d = 0; d < rank; ++d) j = j * s[size_t(d)] + idx[size_t(d)];
    o[j] = in[i];
  }
  return out;
}

void expect_near(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

}  // namespace

// ---------------------------------------------------------------- inference

TEST(RnnInfer, LstmShapesForBothLayouts) {
  const TensorType w{DType::Float, Dims{Dim::of(2), Dim::of(20), Dim::of(3)}};
  const TensorType r{DType::Float, Dims{Dim::of(2), Dim::of(20), Dim::of(5)}};
  auto t = infer_op("LSTM", {TensorType{DType::Float, Dims{Dim::symbol("T"), Dim::symbol("N"), Dim::of(3)}}, w, r},
                    {Attribute::make_int("hidden_size", 5), Attribute::make_string("direction", "bidirectional")},
                    14, 3);
  EXPECT_EQ(t[0].str(), "float32[T,2,N,5]");
  EXPECT_EQ(t[1].str(), "float32[2,N,5]");
  EXPECT_EQ(t[2].str(), "float32[2,N,5]");
  t = infer_op("LSTM", {TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::symbol("T"), Dim::of(3)}}, w, r},
               {Attribute::make_string("direction", "bidirectional"), Attribute::make_int("layout", 1)}, 14, 3);
  EXPECT_EQ(t[0].str(), "float32[N,T,2,5]");  // hidden_size taken from R
  EXPECT_EQ(t[1].str(), "float32[N,2,5]");
}

TEST(RnnInfer, GruAndRnnOutputs) {
  auto t = infer_op("GRU", {TensorType{DType::Float, Dims{Dim::of(4), Dim::of(2), Dim::of(3)}},
                            TensorType{DType::Float, Dims{Dim::of(1), Dim::of(18), Dim::of(3)}},
                            TensorType{DType::Float, Dims{Dim::of(1), Dim::of(18), Dim::of(6)}}},
                    {Attribute::make_int("hidden_size", 6)}, 14, 2);
  EXPECT_EQ(t[0].str(), "float32[4,1,2,6]");
  EXPECT_EQ(t[1].str(), "float32[1,2,6]");
  t = infer_op("RNN", {TensorType{DType::Double, Dims{Dim::of(4), Dim::of(2), Dim::of(3)}},
                       TensorType{DType::Double, std::nullopt}, TensorType{DType::Double, std::nullopt}},
               {Attribute::make_int("hidden_size", 7), Attribute::make_string("direction", "reverse")}, 14, 2);
  EXPECT_EQ(t[0].str(), "float64[4,1,2,7]");
}

TEST(RnnInfer, RejectsInconsistentInputs) {
  const TensorType x{DType::Float, Dims{Dim::of(4), Dim::of(2), Dim::of(3)}};
  const TensorType w{DType::Float, Dims{Dim::of(1), Dim::of(20), Dim::of(3)}};
  const TensorType r{DType::Float, Dims{Dim::of(1), Dim::of(20), Dim::of(5)}};
  // hidden_size disagrees with W
  EXPECT_THROW(infer_op("LSTM", {x, w, r}, {Attribute::make_int("hidden_size", 4)}, 14, 3), Error);
  // W's input size disagrees with X
  EXPECT_THROW(infer_op("LSTM", {TensorType{DType::Float, Dims{Dim::of(4), Dim::of(2), Dim::of(7)}}, w, r}, {}, 14, 3),
               Error);
  // two directions in W, forward direction
  EXPECT_THROW(infer_op("GRU", {x, TensorType{DType::Float, Dims{Dim::of(2), Dim::of(15), Dim::of(3)}},
                                TensorType{DType::Float, Dims{Dim::of(2), Dim::of(15), Dim::of(5)}}},
                        {}, 14, 2),
               Error);
  EXPECT_THROW(infer_op("LSTM", {x, w, r}, {Attribute::make_string("direction", "sideways")}, 14, 3), Error);
  EXPECT_THROW(infer_op("LSTM", {x, w, r}, {strings_attr("activations", {"Sigmoid", "Tanh", "Swish"})}, 14, 3),
               Error);
  EXPECT_THROW(infer_op("LSTM", {x, w, r}, {strings_attr("activations", {"Sigmoid", "Tanh"})}, 14, 3), Error);
  // sequence_lens must be int32
  EXPECT_THROW(infer_op("LSTM", {x, w, r, TensorType{}, TensorType{DType::Int64, Dims{Dim::of(2)}}}, {}, 14, 3),
               Error);
}

// ---------------------------------------------------------------- LSTM

TEST(RnnLstm, MatchesTheEquationsWithPeepholesAndInitialState) {
  // hidden 1, input 1, two steps: every gate is a scalar formula.
  const double wi = 0.5, wo = -0.3, wf = 0.8, wc = 0.2;
  const double ri = 0.1, ro = 0.4, rf = -0.6, rc = 0.7;
  const double wbi = 0.05, wbo = -0.1, wbf = 0.2, wbc = 0.3, rbi = 0.01, rbo = 0.02, rbf = -0.03, rbc = 0.04;
  const double pi = 0.3, po = -0.2, pf = 0.5;
  const double xs[2] = {0.9, -0.4};
  double h = 0.25, c = -0.5;
  std::vector<double> y;
  for (double x : xs) {
    const double i = sigmoid(wi * x + ri * h + wbi + rbi + pi * c);
    const double f = sigmoid(wf * x + rf * h + wbf + rbf + pf * c);
    const double cc = std::tanh(wc * x + rc * h + wbc + rbc);
    c = f * c + i * cc;
    const double o = sigmoid(wo * x + ro * h + wbo + rbo + po * c);
    h = o * std::tanh(c);
    y.push_back(h);
  }
  const auto out = run_op(
      "LSTM",
      {floats({2, 1, 1}, {float(xs[0]), float(xs[1])}),
       floats({1, 4, 1}, {float(wi), float(wo), float(wf), float(wc)}),
       floats({1, 4, 1}, {float(ri), float(ro), float(rf), float(rc)}),
       floats({1, 8}, {float(wbi), float(wbo), float(wbf), float(wbc), float(rbi), float(rbo), float(rbf), float(rbc)}),
       Tensor(), floats({1, 1, 1}, {0.25f}), floats({1, 1, 1}, {-0.5f}),
       floats({1, 3}, {float(pi), float(po), float(pf)})},
      {Attribute::make_int("hidden_size", 1)}, 14, 3);
  EXPECT_EQ(out[0].shape(), (Shape{2, 1, 1, 1}));
  expect_near(values_f(out[0]), y);
  expect_near(values_f(out[1]), {h});
  expect_near(values_f(out[2]), {c});
}

TEST(RnnLstm, InputForgetCouplesTheGates) {
  // input_forget = 1: f = 1 - i, whatever W_f says.
  const double x = 0.7, wi = 0.4, wc = -0.9, c0 = 0.6;
  const double i = sigmoid(wi * x);
  const double c = (1 - i) * c0 + i * std::tanh(wc * x);
  const double h = sigmoid(0) * std::tanh(c);
  const auto out = run_op("LSTM",
                          {floats({1, 1, 1}, {float(x)}), floats({1, 4, 1}, {float(wi), 0, 5.0f, float(wc)}),
                           floats({1, 4, 1}, {0, 0, 0, 0}), Tensor(), Tensor(), Tensor(), floats({1, 1, 1}, {float(c0)})},
                          {Attribute::make_int("hidden_size", 1), Attribute::make_int("input_forget", 1)}, 14, 3);
  expect_near(values_f(out[1]), {h});
  expect_near(values_f(out[2]), {c});
}

TEST(RnnLstm, BatchFirstLayoutIsATransposeOfTheDefault) {
  const int64_t T = 4, N = 3, I = 2, H = 3;
  const Tensor x = ramp({T, N, I}, 1.0f), w = ramp({2, 4 * H, I}, 0.6f, 1), r = ramp({2, 4 * H, H}, 0.6f, 2);
  const Tensor b = ramp({2, 8 * H}, 0.3f, 3), p = ramp({2, 3 * H}, 0.4f, 4);
  const Tensor h0 = ramp({2, N, H}, 0.5f, 5), c0 = ramp({2, N, H}, 0.5f, 6);
  const Tensor sl = lens({4, 1, 3});
  const std::vector<Attribute> attrs = {Attribute::make_int("hidden_size", H),
                                        Attribute::make_string("direction", "bidirectional")};
  const auto ref = run_op("LSTM", {x, w, r, b, sl, h0, c0, p}, attrs, 14, 3);
  std::vector<Attribute> attrs1 = attrs;
  attrs1.push_back(Attribute::make_int("layout", 1));
  const auto got = run_op("LSTM", {swap_axes(x, 0, 1), w, r, b, sl, swap_axes(h0, 0, 1), swap_axes(c0, 0, 1), p},
                          attrs1, 14, 3);
  // Y [T,D,N,H] -> [N,T,D,H]: swap T and N, then D and T... via two swaps.
  EXPECT_EQ(got[0].shape(), (Shape{N, T, 2, H}));
  EXPECT_EQ(values_f(got[0]), values_f(swap_axes(swap_axes(ref[0], 0, 2), 1, 2)));
  EXPECT_EQ(values_f(got[1]), values_f(swap_axes(ref[1], 0, 1)));
  EXPECT_EQ(values_f(got[2]), values_f(swap_axes(ref[2], 0, 1)));
}

TEST(RnnLstm, OnlyTheRequestedOutputsAreProduced) {
  const Tensor x = ramp({3, 2, 2}, 1.0f), w = ramp({1, 8, 2}, 0.5f, 1), r = ramp({1, 8, 2}, 0.5f, 2);
  const auto all = run_op("LSTM", {x, w, r}, {}, 14, 3);
  // Y omitted, Y_h requested, Y_c not.
  Node n;
  n.op_type = "LSTM";
  n.inputs = {"x", "w", "r"};
  n.outputs = {"", "y_h"};
  const auto yh = evaluate_node(n, 14, {&x, &w, &r});
  EXPECT_FALSE(yh[0].defined());
  EXPECT_EQ(values_f(yh[1]), values_f(all[1]));
  // Y_h is Y's last step.
  const std::vector<float> y = values_f(all[0]);
  EXPECT_EQ(std::vector<float>(y.end() - 4, y.end()), values_f(all[1]));
}

// ---------------------------------------------------------------- GRU

TEST(RnnGru, LinearBeforeResetMovesTheResetGate) {
  const double x = 0.8, h0 = -0.4;
  const double wz = 0.3, wr = -0.5, wh = 0.9, rz = 0.2, rr = 0.6, rh = -0.7;
  const double wbz = 0.1, wbr = 0.2, wbh = -0.3, rbz = 0.05, rbr = -0.1, rbh = 0.4;
  const double z = sigmoid(wz * x + rz * h0 + wbz + rbz);
  const double r = sigmoid(wr * x + rr * h0 + wbr + rbr);
  const double hh0 = std::tanh(wh * x + rh * (r * h0) + rbh + wbh);
  const double hh1 = std::tanh(wh * x + r * (rh * h0 + rbh) + wbh);
  const std::vector<Tensor> in = {
      floats({1, 1, 1}, {float(x)}), floats({1, 3, 1}, {float(wz), float(wr), float(wh)}),
      floats({1, 3, 1}, {float(rz), float(rr), float(rh)}),
      floats({1, 6}, {float(wbz), float(wbr), float(wbh), float(rbz), float(rbr), float(rbh)}), Tensor(),
      floats({1, 1, 1}, {float(h0)})};
  const auto a = run_op("GRU", in, {Attribute::make_int("hidden_size", 1)}, 14, 2);
  expect_near(values_f(a[1]), {(1 - z) * hh0 + z * h0});
  const auto b = run_op("GRU", in, {Attribute::make_int("hidden_size", 1), Attribute::make_int("linear_before_reset", 1)},
                        14, 2);
  expect_near(values_f(b[1]), {(1 - z) * hh1 + z * h0});
}

// ---------------------------------------------------------------- RNN

TEST(RnnSimple, SequenceLengthsZeroThePaddingAndPickTheLastValidStep) {
  // hidden 1, W = 1, R = 0, f = Affine(1, 0): H_t = x_t, so every position is visible.
  const Tensor x = floats({3, 2, 1}, {1, 10, 2, 20, 3, 30});  // [T=3, N=2, 1]
  const std::vector<Attribute> base = {Attribute::make_int("hidden_size", 1), strings_attr("activations", {"Affine"}),
                                       Attribute::make_floats("activation_alpha", {1}),
                                       Attribute::make_floats("activation_beta", {0})};
  const std::vector<Tensor> in = {x, floats({1, 1, 1}, {1}), floats({1, 1, 1}, {0}), Tensor(), lens({3, 1})};
  auto out = run_op("RNN", in, base, 14, 2);
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{1, 10, 2, 0, 3, 0}));
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{3, 10}));
  std::vector<Attribute> rev = base;
  rev.push_back(Attribute::make_string("direction", "reverse"));
  out = run_op("RNN", in, rev, 14, 2);
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{1, 10, 2, 0, 3, 0}));
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{1, 10}));  // the reverse pass ends at t = 0
}

TEST(RnnSimple, ActivationsTakeAlphaAndBetaInOrder) {
  // Bidirectional, W = 1, R = 0: forward Affine(2, 0.5), reverse HardSigmoid with defaults (0.2, 0.5).
  const auto out = run_op("RNN", {floats({2, 1, 1}, {1, -4}), floats({2, 1, 1}, {1, 1}), floats({2, 1, 1}, {0, 0})},
                          {Attribute::make_int("hidden_size", 1), Attribute::make_string("direction", "bidirectional"),
                           strings_attr("activations", {"Affine", "HardSigmoid"}),
                           Attribute::make_floats("activation_alpha", {2}),
                           Attribute::make_floats("activation_beta", {0.5f})},
                          14, 2);
  // Y [T=2, D=2, N=1, H=1]
  expect_near(values_f(out[0]), {2.5, 0.7, -7.5, 0.0});
}

TEST(RnnSimple, ClipBoundsTheActivationInput) {
  const auto out = run_op("RNN", {floats({1, 3, 1}, {-2, 0.25f, 3}), floats({1, 1, 1}, {1}), floats({1, 1, 1}, {0})},
                          {Attribute::make_int("hidden_size", 1), strings_attr("activations", {"Affine"}),
                           Attribute::make_floats("activation_alpha", {1}), Attribute::make_float("clip", 0.5f)},
                          14, 2);
  expect_near(values_f(out[0]), {-0.5, 0.25, 0.5});
}

TEST(RnnSimple, OneDirectionsActivationsServeBoth) {
  const auto out = run_op("RNN", {floats({1, 1, 2}, {1, -1}), floats({2, 1, 2}, {1, 0, 0, 1}), floats({2, 1, 1}, {0, 0})},
                          {Attribute::make_string("direction", "bidirectional"), strings_attr("activations", {"Relu"})},
                          14, 2);
  expect_near(values_f(out[1]), {1, 0});
}

TEST(RnnSimple, DefaultsAreTanhAndZeroState) {
  const auto out = run_op("RNN", {floats({2, 1, 1}, {0.5f, -1}), floats({1, 1, 1}, {0.8f}), floats({1, 1, 1}, {0.3f})},
                          {}, 7, 2);
  const double h1 = std::tanh(0.8 * 0.5);
  const double h2 = std::tanh(0.8 * -1 + 0.3 * h1);
  expect_near(values_f(out[0]), {h1, h2});
}

TEST(RnnSimple, RejectsBadSequenceLengths) {
  EXPECT_THROW(run_op("RNN", {floats({2, 1, 1}, {1, 2}), floats({1, 1, 1}, {1}), floats({1, 1, 1}, {0}), Tensor(),
                              lens({3})},
                      {}, 14, 2),
               Error);
}

TEST(RnnSimple, ComputesInDoubleForDoubleInputs) {
  const Tensor x = Tensor::from_vector<double>({1, 1, 1}, {0.5});
  const Tensor w = Tensor::from_vector<double>({1, 1, 1}, {2});
  const Tensor r = Tensor::from_vector<double>({1, 1, 1}, {0});
  const auto out = run_op("RNN", {x, w, r}, {}, 14, 2);
  ASSERT_EQ(out[1].dtype(), DType::Double);
  EXPECT_DOUBLE_EQ(out[1].data<double>()[0], std::tanh(1.0));
}
