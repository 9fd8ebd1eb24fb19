// NN ops: Conv and ConvTranspose against a naive definition over many geometries, and the corner
// cases of pooling, normalisation and Resize that the ONNX node tests do not reach.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

Tensor random_floats(const Shape& shape, uint32_t seed) {
  std::vector<float> v(size_t(shape_numel(shape)));
  uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = float(s >> 8) / float(1 << 24) * 2.0f - 1.0f;
  }
  return floats(shape, v);
}

void expect_close(const Tensor& a, const Tensor& b, double tol = 1e-4) {
  ASSERT_EQ(a.shape(), b.shape());
  const auto va = values_f(a), vb = values_f(b);
  for (size_t i = 0; i < va.size(); ++i) ASSERT_NEAR(va[i], vb[i], tol) << "element " << i;
}

// Calls f(index) for every multi-index of `shape`, row-major.
void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& f) {
  if (shape_numel(shape) == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  for (;;) {
    f(idx);
    size_t d = shape.size();
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

int64_t flat(const Shape& shape, const std::vector<int64_t>& idx) {
  int64_t o = 0;
  for (size_t d = 0; d < shape.size(); ++d) o = o * shape[d] + idx[d];
  return o;
}

struct ConvCase {
  Shape x, w;  // X [N, C, spatial...], W [M, C/group, k...]
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  bool bias = true;
};

std::vector<Attribute> conv_attrs(const ConvCase& c) {
  std::vector<Attribute> a = {Attribute::make_int("group", c.group)};
  if (!c.strides.empty()) a.push_back(Attribute::make_ints("strides", c.strides));
  if (!c.dilations.empty()) a.push_back(Attribute::make_ints("dilations", c.dilations));
  if (!c.pads.empty()) a.push_back(Attribute::make_ints("pads", c.pads));
  return a;
}

// Conv straight from its definition: y[n,m,o] = b[m] + sum_{c,k} x[n, g*Cg+c, o*s + k*d - p] w[m,c,k].
Tensor naive_conv(const ConvCase& c, const Tensor& X, const Tensor& W, const Tensor& B) {
  const size_t n = c.x.size() - 2;
  auto s = c.strides.empty() ? std::vector<int64_t>(n, 1) : c.strides;
  auto d = c.dilations.empty() ? std::vector<int64_t>(n, 1) : c.dilations;
  auto p = c.pads.empty() ? std::vector<int64_t>(2 * n, 0) : c.pads;
  Shape out = {c.x[0], c.w[0]};
  for (size_t i = 0; i < n; ++i)
    out.push_back((c.x[i + 2] + p[i] + p[n + i] - ((c.w[i + 2] - 1) * d[i] + 1)) / s[i] + 1);
  const int64_t Cg = c.w[1], Mg = c.w[0] / c.group;
  std::vector<float> y(size_t(shape_numel(out)));
  const auto x = values_f(X), w = values_f(W), b = values_f(B);
  const Shape kernel(c.w.begin() + 2, c.w.end());
  for_each_index(out, [&](const std::vector<int64_t>& o) {
    double acc = c.bias ? b[size_t(o[1])] : 0.0;
    const int64_t g = o[1] / Mg;
    for (int64_t ci = 0; ci < Cg; ++ci)
      for_each_index(kernel, [&](const std::vector<int64_t>& k) {
        std::vector<int64_t> xi = {o[0], g * Cg + ci};
        for (size_t i = 0; i < n; ++i) {
          const int64_t pos = o[i + 2] * s[i] + k[i] * d[i] - p[i];
          if (pos < 0 || pos >= c.x[i + 2]) return;
          xi.push_back(pos);
        }
        std::vector<int64_t> wi = {o[1], ci};
        wi.insert(wi.end(), k.begin(), k.end());
        acc += double(x[size_t(flat(c.x, xi))]) * w[size_t(flat(c.w, wi))];
      });
    y[size_t(flat(out, o))] = float(acc);
  });
  return floats(out, y);
}

}  // namespace

// ---------------------------------------------------------------- Conv

TEST(NnConv, MatchesDefinitionAcrossGeometries) {
  const std::vector<ConvCase> cases = {
      {{1, 2, 7}, {3, 2, 3}},                                                   // 1-D
      {{2, 3, 5}, {4, 3, 2}, 1, {2}, {2}, {1, 2}},                              // 1-D strided, dilated, padded
      {{1, 3, 6, 5}, {4, 3, 3, 3}, 1, {}, {}, {1, 1, 1, 1}},                    // 2-D same-size
      {{2, 4, 7, 6}, {6, 2, 3, 2}, 2, {2, 1}, {1, 2}, {1, 0, 2, 1}},            // grouped, asymmetric
      {{1, 4, 6, 6}, {4, 1, 3, 3}, 4, {1, 1}, {1, 1}, {1, 1, 1, 1}},            // depthwise
      {{1, 3, 9, 8}, {6, 1, 3, 3}, 3, {2, 2}, {2, 1}, {2, 1, 0, 2}, false},     // depthwise x2, strided
      {{1, 8, 5, 5}, {16, 8, 1, 1}},                                            // pointwise (no im2col)
      {{1, 8, 6, 6}, {5, 8, 1, 1}, 1, {2, 2}},                                  // 1x1 strided
      {{1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}},  // 3-D
      {{1, 6, 24, 30}, {20, 6, 5, 5}, 1, {1, 1}, {1, 1}, {2, 2, 2, 2}},         // several GEMM blocks in j and k
      {{1, 2, 3, 3}, {2, 2, 5, 5}, 1, {}, {}, {2, 2, 2, 2}},                    // kernel larger than input
  };
  uint32_t seed = 1;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE("X " + shape_str(c.x) + " W " + shape_str(c.w));
    const Tensor X = random_floats(c.x, seed++), W = random_floats(c.w, seed++);
    const Tensor B = random_floats({c.w[0]}, seed++);
    const auto got = run_op("Conv", c.bias ? std::vector<Tensor>{X, W, B} : std::vector<Tensor>{X, W},
                            conv_attrs(c), 11);
    expect_close(got[0], naive_conv(c, X, W, B));
  }
}

TEST(NnConv, AutoPadSplitsOddPaddingBySide) {
  // in 6, k 3, s 2: output 3, total padding 1, at the end (SAME_UPPER) or the start (SAME_LOWER).
  const Tensor X = random_floats({1, 1, 6}, 7), W = random_floats({1, 1, 3}, 8);
  auto run = [&](std::vector<Attribute> a) {
    a.push_back(Attribute::make_ints("strides", {2}));
    return run_op("Conv", {X, W}, a, 11)[0];
  };
  expect_close(run({Attribute::make_string("auto_pad", "SAME_UPPER")}), run({Attribute::make_ints("pads", {0, 1})}));
  expect_close(run({Attribute::make_string("auto_pad", "SAME_LOWER")}), run({Attribute::make_ints("pads", {1, 0})}));
  EXPECT_EQ(run({Attribute::make_string("auto_pad", "VALID")}).shape(), (Shape{1, 1, 2}));
}

TEST(NnConv, InfersShapesWithSymbolicBatch) {
  auto t = infer_op("Conv",
                    {TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::of(3), Dim::of(224), Dim::of(224)}},
                     TensorType::of(DType::Float, Shape{64, 3, 7, 7})},
                    {Attribute::make_ints("strides", {2, 2}), Attribute::make_ints("pads", {3, 3, 3, 3})});
  EXPECT_EQ(t[0].str(), "float32[N,64,112,112]");
}

TEST(NnConv, RejectsChannelMismatch) {
  EXPECT_THROW(run_op("Conv", {random_floats({1, 3, 5, 5}, 1), random_floats({2, 2, 3, 3}, 2)}), Error);
  EXPECT_THROW(run_op("Conv", {random_floats({1, 4, 5, 5}, 1), random_floats({3, 2, 3, 3}, 2)},
                      {Attribute::make_int("group", 2)}),
               Error);  // 3 output channels do not split into 2 groups
  EXPECT_THROW(run_op("Conv", {random_floats({1, 2, 5, 5}, 1), random_floats({2, 2, 3, 3}, 2)},
                      {Attribute::make_ints("kernel_shape", {2, 2})}),
               Error);
}

// ---------------------------------------------------------------- ConvTranspose

namespace {

// ConvTranspose from its definition: x[n, c, i] scatters into y[n, g*Mg+m, i*s + k*d - pad_begin].
Tensor naive_conv_transpose(const Tensor& X, const Tensor& W, int64_t group, const std::vector<int64_t>& s,
                            const std::vector<int64_t>& d, const std::vector<int64_t>& pad_begin,
                            const Shape& out_spatial) {
  const Shape& xs = X.shape();
  const Shape& ws = W.shape();
  const size_t n = xs.size() - 2;
  const int64_t Cg = xs[1] / group, Mg = ws[1];
  Shape out = {xs[0], Mg * group};
  out.insert(out.end(), out_spatial.begin(), out_spatial.end());
  std::vector<float> y(size_t(shape_numel(out)), 0.0f);
  const auto x = values_f(X), w = values_f(W);
  const Shape kernel(ws.begin() + 2, ws.end());
  for_each_index(xs, [&](const std::vector<int64_t>& xi) {
    const int64_t g = xi[1] / Cg;
    for (int64_t m = 0; m < Mg; ++m)
      for_each_index(kernel, [&](const std::vector<int64_t>& k) {
        std::vector<int64_t> yi = {xi[0], g * Mg + m};
        for (size_t i = 0; i < n; ++i) {
          const int64_t pos = xi[i + 2] * s[i] + k[i] * d[i] - pad_begin[i];
          if (pos < 0 || pos >= out_spatial[i]) return;
          yi.push_back(pos);
        }
        std::vector<int64_t> wi = {xi[1], m};
        wi.insert(wi.end(), k.begin(), k.end());
        y[size_t(flat(out, yi))] += x[size_t(flat(xs, xi))] * w[size_t(flat(ws, wi))];
      });
  });
  return floats(out, y);
}

}  // namespace

TEST(NnConvTranspose, MatchesDefinition) {
  {  // 2-D, grouped, strided, dilated, padded
    const Tensor X = random_floats({2, 4, 3, 4}, 3), W = random_floats({4, 3, 3, 2}, 4);
    const auto got = run_op("ConvTranspose", {X, W},
                            {Attribute::make_int("group", 2), Attribute::make_ints("strides", {2, 3}),
                             Attribute::make_ints("dilations", {1, 2}), Attribute::make_ints("pads", {1, 0, 0, 2})},
                            11);
    // out = s*(in-1) + (k-1)*d + 1 - pads: 2*2+3-1 = 6 and 3*3+3-2 = 10
    expect_close(got[0], naive_conv_transpose(X, W, 2, {2, 3}, {1, 2}, {1, 0}, {6, 10}));
  }
  {  // 1-D with output_padding
    const Tensor X = random_floats({1, 2, 5}, 5), W = random_floats({2, 3, 3}, 6);
    const auto got = run_op("ConvTranspose", {X, W},
                            {Attribute::make_ints("strides", {2}), Attribute::make_ints("output_padding", {1})}, 11);
    expect_close(got[0], naive_conv_transpose(X, W, 1, {2}, {1}, {0}, {12}));
  }
  {  // 3-D
    const Tensor X = random_floats({1, 2, 2, 3, 2}, 7), W = random_floats({2, 2, 2, 2, 3}, 8);
    const auto got = run_op("ConvTranspose", {X, W}, {Attribute::make_ints("strides", {1, 2, 2})}, 11);
    expect_close(got[0], naive_conv_transpose(X, W, 1, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, {3, 6, 5}));
  }
}

TEST(NnConvTranspose, OutputShapeAndSamePadding) {
  const Tensor X = random_floats({1, 1, 3}, 9), W = random_floats({1, 1, 3}, 10);
  // output_shape 8 from a full size of 2*2+3 = 7: the extra element goes at the end.
  auto big = run_op("ConvTranspose", {X, W}, {Attribute::make_ints("strides", {2}), Attribute::make_ints("output_shape", {8})}, 11);
  expect_close(big[0], naive_conv_transpose(X, W, 1, {2}, {1}, {0}, {8}));
  // SAME_UPPER: output in*s = 6, total padding 1 at the end; SAME_LOWER at the start.
  auto upper = run_op("ConvTranspose", {X, W}, {Attribute::make_ints("strides", {2}), Attribute::make_string("auto_pad", "SAME_UPPER")}, 11);
  expect_close(upper[0], naive_conv_transpose(X, W, 1, {2}, {1}, {0}, {6}));
  auto lower = run_op("ConvTranspose", {X, W}, {Attribute::make_ints("strides", {2}), Attribute::make_string("auto_pad", "SAME_LOWER")}, 11);
  expect_close(lower[0], naive_conv_transpose(X, W, 1, {2}, {1}, {1}, {6}));
}

// ---------------------------------------------------------------- pooling

TEST(NnPool, MaxPoolIndicesInBothStorageOrders) {
  // One 3x2x2 input in two planes; a 2x2x2 window with stride 1 over depth sees planes 0-1 and 1-2.
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float((i * 7) % 24);
  const Tensor X = floats({1, 2, 3, 2, 2}, v);
  for (int64_t order : {0, 1}) {
    auto out = run_op("MaxPool", {X}, {Attribute::make_ints("kernel_shape", {2, 2, 2}), Attribute::make_int("storage_order", order)}, 12, 2);
    ASSERT_EQ(out[1].shape(), (Shape{1, 2, 2, 1, 1}));
    const auto y = values_f(out[0]);
    const auto idx = out[1].to_int64_vector();
    for (size_t k = 0; k < idx.size(); ++k) {
      // Decode the index back to the (row-major) element and check it holds the maximum.
      const int64_t plane = idx[k] / 12, within = idx[k] % 12;
      int64_t d, h, w;
      if (order == 0) {
        d = within / 4, h = (within / 2) % 2, w = within % 2;
      } else {  // column-major: first spatial axis fastest
        d = within % 3, h = (within / 3) % 2, w = within / 6;
      }
      EXPECT_EQ(plane, int64_t(k) / 2);
      EXPECT_EQ(v[size_t(plane * 12 + d * 4 + h * 2 + w)], y[k]);
    }
  }
}

TEST(NnPool, AveragePoolCountsPaddingOnlyWhenAsked) {
  const Tensor X = floats({1, 1, 3}, {1, 2, 3});
  auto attrs = [](int64_t include) {
    return std::vector<Attribute>{Attribute::make_ints("kernel_shape", {2}), Attribute::make_ints("pads", {1, 1}),
                                  Attribute::make_ints("strides", {2}), Attribute::make_int("count_include_pad", include)};
  };
  EXPECT_EQ(values_f(run_op("AveragePool", {X}, attrs(0))[0]), (std::vector<float>{1, 2.5f}));
  EXPECT_EQ(values_f(run_op("AveragePool", {X}, attrs(1))[0]), (std::vector<float>{0.5f, 2.5f}));
}

TEST(NnPool, CeilModeDropsWindowsStartingInThePadding) {
  // in 4, k 2, s 2, pad end 1: ceil((4+1-2)/2)+1 = 3, but the third window would start at 4.
  auto t = infer_op("MaxPool", {TensorType::of(DType::Float, Shape{1, 1, 4})},
                    {Attribute::make_ints("kernel_shape", {2}), Attribute::make_ints("strides", {2}),
                     Attribute::make_ints("pads", {0, 1}), Attribute::make_int("ceil_mode", 1)});
  EXPECT_EQ(t[0].str(), "float32[1,1,2]");
}

TEST(NnPool, LpPoolAndGlobalLpPool) {
  const Tensor X = floats({1, 1, 4}, {3, 4, -6, 8});
  auto lp = run_op("LpPool", {X}, {Attribute::make_ints("kernel_shape", {2}), Attribute::make_ints("strides", {2})}, 11);
  EXPECT_EQ(values_f(lp[0]), (std::vector<float>{5, 10}));
  auto p1 = run_op("GlobalLpPool", {X}, {Attribute::make_int("p", 1)}, 2);
  EXPECT_EQ(p1[0].shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(values_f(p1[0]), (std::vector<float>{21}));
}

TEST(NnPool, GlobalPoolsKeepSpatialRank) {
  const Tensor X = floats({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4});
  EXPECT_EQ(values_f(run_op("GlobalAveragePool", {X})[0]), (std::vector<float>{2.5f, -2.5f}));
  auto mx = run_op("GlobalMaxPool", {X})[0];
  EXPECT_EQ(mx.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(values_f(mx), (std::vector<float>{4, -1}));
}

// ---------------------------------------------------------------- normalisations

namespace {
std::vector<Tensor> bn_inputs() {
  return {floats({1, 2, 2}, {1, 2, 3, 4}), floats({2}, {2, 1}), floats({2}, {0.5f, 0}),
          floats({2}, {1.5f, 3}), floats({2}, {0.25f, 4})};
}
}  // namespace

TEST(NnBatchNorm, NormalisesPerChannel) {
  auto y = run_op("BatchNormalization", bn_inputs(), {Attribute::make_float("epsilon", 0)}, 15);
  // channel 0: 2*(x-1.5)/0.5 + 0.5; channel 1: (x-3)/2
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{-1.5f, 2.5f, 0, 0.5f}));
}

TEST(NnBatchNorm, PerActivationParametersWhenSpatialIsZero) {
  // Opset 7 spatial=0: parameters of shape [C, L].
  auto in = std::vector<Tensor>{floats({1, 2, 2}, {1, 2, 3, 4}), floats({2, 2}, {1, 1, 1, 2}), floats({2, 2}, {0, 0, 0, 1}),
                                floats({2, 2}, {1, 2, 3, 4}), floats({2, 2}, {1, 1, 1, 1})};
  auto y = run_op("BatchNormalization", in, {Attribute::make_int("spatial", 0), Attribute::make_float("epsilon", 0)}, 7);
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{0, 0, 0, 1}));
}

TEST(NnBatchNorm, RefusesTraining) {
  EXPECT_THROW(run_op("BatchNormalization", bn_inputs(), {Attribute::make_int("training_mode", 1)}, 15, 3), Error);
  EXPECT_THROW(run_op("BatchNormalization", bn_inputs(), {}, 9, 3), Error);  // statistics outputs
  // Inference mode at opset 14+: the running statistics pass through.
  auto out = run_op("BatchNormalization", bn_inputs(), {}, 15, 3);
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{1.5f, 3}));
  EXPECT_EQ(values_f(out[2]), (std::vector<float>{0.25f, 4}));
}

TEST(NnNorm, InstanceNormalization) {
  auto y = run_op("InstanceNormalization", {floats({1, 2, 2}, {1, 3, 5, 7}), floats({2}, {1, 2}), floats({2}, {0, 1})},
                  {Attribute::make_float("epsilon", 0)}, 6);
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{-1, 1, -1, 3}));
}

TEST(NnNorm, LayerNormalizationStatistics) {
  const Tensor X = floats({2, 2}, {1, 3, 0, 4});
  // Scale [2] and B [1] broadcast over the normalised axis.
  auto out = run_op("LayerNormalization", {X, floats({2}, {1, 2}), floats({1}, {0.5f})},
                    {Attribute::make_float("epsilon", 0)}, 17, 3);
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{-0.5f, 2.5f, -0.5f, 2.5f}));
  EXPECT_EQ(out[1].shape(), (Shape{2, 1}));
  EXPECT_EQ(out[1].dtype(), DType::Float);
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{2, 2}));
  EXPECT_EQ(values_f(out[2]), (std::vector<float>{1, 0.5f}));
  // axis 0 normalises everything: statistics of shape [1, 1].
  auto all = run_op("LayerNormalization", {X, floats({2, 2}, {1, 1, 1, 1})}, {Attribute::make_int("axis", 0)}, 17, 2);
  EXPECT_EQ(all[1].shape(), (Shape{1, 1}));
}

TEST(NnNorm, GroupNormalizationScalesPerGroupAt18AndPerChannelAt21) {
  const Tensor X = floats({1, 4, 1}, {1, 3, 5, 9});  // groups {1,3} and {5,9}
  auto at18 = run_op("GroupNormalization", {X, floats({2}, {1, 2}), floats({2}, {0, 1})},
                     {Attribute::make_int("num_groups", 2), Attribute::make_float("epsilon", 0)}, 18);
  EXPECT_EQ(values_f(at18[0]), (std::vector<float>{-1, 1, -1, 3}));
  auto at21 = run_op("GroupNormalization", {X, floats({4}, {1, 2, 3, 4}), floats({4}, {0, 0, 0, 1})},
                     {Attribute::make_int("num_groups", 2), Attribute::make_float("epsilon", 0)}, 21);
  EXPECT_EQ(values_f(at21[0]), (std::vector<float>{-1, 2, -3, 5}));
  EXPECT_THROW(run_op("GroupNormalization", {X, floats({4}, {1, 2, 3, 4}), floats({4}, {0, 0, 0, 1})},
                      {Attribute::make_int("num_groups", 2)}, 18),
               Error);
}

TEST(NnNorm, LrnSumsNeighbouringChannels) {
  const Tensor X = floats({1, 3, 1}, {1, 2, 3});
  auto y = run_op("LRN", {X}, {Attribute::make_int("size", 2), Attribute::make_float("alpha", 2),
                               Attribute::make_float("beta", 1), Attribute::make_float("bias", 1)}, 13);
  // size 2: channel c sums c and c+1; y = x / (1 + (2/2) * sum)
  expect_close(y[0], floats({1, 3, 1}, {1.0f / 6, 2.0f / 14, 3.0f / 10}), 1e-7);
}

// ---------------------------------------------------------------- Resize / Upsample

TEST(NnResize, Opset10NearestTruncatesWhenEnlarging) {
  const Tensor X = floats({1, 1, 1, 2}, {1, 2});
  auto y = run_op("Resize", {X, floats({4}, {1, 1, 1, 3})}, {}, 10);
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{1, 1, 1, 2, 2, 2}));
}

TEST(NnResize, AxesAndKeepAspectRatio) {
  const Tensor X = random_floats({1, 1, 4, 6}, 11);
  // not_larger: scale min(2/4, 6/6) = 0.5 on both listed axes -> 2 x 3.
  auto y = run_op("Resize", {X, Tensor(), Tensor(), ints({2}, {2, 6})},
                  {Attribute::make_ints("axes", {2, 3}), Attribute::make_string("keep_aspect_ratio_policy", "not_larger")}, 18);
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 2, 3}));
  auto z = run_op("Resize", {X, Tensor(), floats({1}, {2})}, {Attribute::make_ints("axes", {-1})}, 18);
  EXPECT_EQ(z[0].shape(), (Shape{1, 1, 4, 12}));
}

TEST(NnResize, LinearHalfPixelSymmetricAndAlignCorners) {
  const Tensor X = floats({1, 4}, {0, 1, 2, 3});
  auto ac = run_op("Resize", {X, Tensor(), floats({2}, {1, 1.75f})},
                   {Attribute::make_string("mode", "linear"), Attribute::make_string("coordinate_transformation_mode", "align_corners")}, 13);
  // 7 outputs; align_corners uses the real output length 4*1.75 = 7: step 3/6.
  EXPECT_EQ(values_f(ac[0]), (std::vector<float>{0, 0.5f, 1, 1.5f, 2, 2.5f, 3}));
  // half_pixel_symmetric at scale 0.6: 2 outputs for a real length of 2.4, centred by an offset
  // of 2 * (1 - 2 / 2.4) = 1/3: x = 1/3 + (o + 0.5) / 0.6 - 0.5.
  auto sym = run_op("Resize", {X, Tensor(), floats({2}, {1, 0.6f})},
                    {Attribute::make_string("mode", "linear"), Attribute::make_string("coordinate_transformation_mode", "half_pixel_symmetric")}, 19);
  expect_close(sym[0], floats({1, 2}, {2.0f / 3, 7.0f / 3}), 1e-5);
}

TEST(NnResize, TfCropAndResizeExtrapolates) {
  const Tensor X = floats({1, 3}, {0, 10, 20});
  auto y = run_op("Resize", {X, floats({4}, {0, -0.5f, 1, 1}), Tensor(), ints({2}, {1, 4})},
                  {Attribute::make_string("mode", "linear"), Attribute::make_string("coordinate_transformation_mode", "tf_crop_and_resize"),
                   Attribute::make_float("extrapolation_value", -1)}, 13);
  // x = -1 + o * 1.5 * 2 / 3 = -1, 0, 1, 2 (in input coordinates)
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{-1, 0, 10, 20}));
}

TEST(NnResize, RefusesAntialiasWhenShrinking) {
  const Tensor X = random_floats({1, 1, 4, 4}, 12);
  EXPECT_THROW(run_op("Resize", {X, Tensor(), floats({4}, {1, 1, 0.5f, 0.5f})},
                      {Attribute::make_string("mode", "linear"), Attribute::make_int("antialias", 1)}, 18),
               Error);
}

TEST(NnResize, InfersUnknownDimsWithoutValues) {
  auto t = infer_op("Resize", {TensorType::of(DType::Float, Shape{1, 3, 8, 8}), TensorType{}, TensorType::of(DType::Float, Shape{4})},
                    {}, 13);
  EXPECT_EQ(t[0].str(), "float32[?,?,?,?]");
  const Tensor scales = floats({4}, {1, 1, 2, 0.5f});
  auto k = infer_op("Resize", {TensorType::of(DType::Float, Shape{1, 3, 8, 8}), TensorType{}, TensorType::of(DType::Float, Shape{4})},
                    {}, 13, 1, {nullptr, nullptr, &scales});
  EXPECT_EQ(k[0].str(), "float32[1,3,16,4]");
}

TEST(NnUpsample, ScalesFromAttributeOrInput) {
  const Tensor X = floats({1, 1, 2, 2}, {1, 2, 3, 4});
  auto a = run_op("Upsample", {X}, {Attribute::make_floats("scales", {1, 1, 1, 2})}, 7);
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4}));
  auto b = run_op("Upsample", {X, floats({4}, {1, 1, 1, 4})}, {Attribute::make_string("mode", "linear")}, 9);
  // asymmetric: x/4 -> 0, .25, .5, .75, 1, then clamped to the last element
  EXPECT_EQ(values_f(b[0]), (std::vector<float>{1, 1.25f, 1.5f, 1.75f, 2, 2, 2, 2, 3, 3.25f, 3.5f, 3.75f, 4, 4, 4, 4}));
}
