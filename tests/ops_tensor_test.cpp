// Shape and data-movement ops: inference on partial information, kernels on every element type,
// and the ONNX node tests of these ops (skipped when the test data is absent).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <regex>

#include "interp/conformance.h"
#include "interp/interpreter.h"
#include "ir/shape_inference.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Attribute int_attr(const std::string& name, int64_t v) { return Attribute::make_int(name, v); }
Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  return Attribute::make_ints(name, std::move(v));
}
Attribute str_attr(const std::string& name, const std::string& v) {
  return Attribute::make_string(name, v);
}

std::vector<int64_t> values_i(const Tensor& t) { return t.to_int64_vector(); }

TensorType ttype(DType t, std::initializer_list<Dim> dims) { return TensorType{t, Dims(dims)}; }
TensorType ftype(std::initializer_list<Dim> dims) { return ttype(DType::Float, dims); }
Dim d(int64_t v) { return Dim::of(v); }
Dim sym(const std::string& s) { return Dim::symbol(s); }
const Dim kUnknown = Dim::unknown();

// 0..n-1 as floats in the given shape.
Tensor iota_f(const Shape& shape) {
  std::vector<float> v(size_t(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  return floats(shape, v);
}

}  // namespace

// ---------------------------------------------------------------- Reshape, Flatten, Squeeze

TEST(Reshape, MinusOneAndZero) {
  auto y = run_op("Reshape", {iota_f({2, 3, 4}), ints({3}, {0, -1, 2})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 6, 2}));
  EXPECT_EQ(values_f(y[0]), values_f(iota_f({24})));
}

TEST(Reshape, AllowZeroKeepsZeroDims) {
  auto y = run_op("Reshape", {floats({0, 3}, {}), ints({2}, {3, 0})}, {int_attr("allowzero", 1)}, 14);
  EXPECT_EQ(y[0].shape(), (Shape{3, 0}));
}

TEST(Reshape, RejectsWrongElementCount) {
  EXPECT_THROW(run_op("Reshape", {iota_f({2, 3}), ints({1}, {5})}), Error);
}

TEST(Reshape, OldOpsetTakesShapeAttribute) {
  auto y = run_op("Reshape", {iota_f({2, 3})}, {ints_attr("shape", {3, 2})}, 4);
  EXPECT_EQ(y[0].shape(), (Shape{3, 2}));
}

TEST(Reshape, UnknownShapeOfKnownLengthGivesRank) {
  auto t = infer_op("Reshape", {ftype({d(2), d(3)}), ttype(DType::Int64, {d(3)})});
  EXPECT_EQ(t[0].str(), "float32[?,?,?]");
  auto u = infer_op("Reshape", {ftype({d(2), d(3)}), ttype(DType::Int64, {kUnknown})});
  EXPECT_FALSE(u[0].has_rank());
}

TEST(Reshape, MinusOneSolvedAroundSymbols) {
  const Tensor target = ints({4}, {0, 0, 12, -1});
  auto t = infer_op("Reshape", {ftype({sym("B"), sym("S"), d(768)}), ttype(DType::Int64, {d(4)})}, {},
                    17, 1, {nullptr, &target});
  EXPECT_EQ(t[0].str(), "float32[B,S,12,64]");
  const Tensor flat = ints({2}, {0, -1});
  auto f = infer_op("Reshape", {ftype({sym("N"), d(3), d(4)}), ttype(DType::Int64, {d(2)})}, {}, 17, 1,
                    {nullptr, &flat});
  EXPECT_EQ(f[0].str(), "float32[N,12]");
  // Two unknowns left on the input side: the -1 cannot be named.
  auto g = infer_op("Reshape", {ftype({sym("N"), sym("C"), d(4)}), ttype(DType::Int64, {d(2)})}, {}, 17,
                    1, {nullptr, &flat});
  EXPECT_EQ(g[0].str(), "float32[N,?]");
}

TEST(Flatten, AxesAndSymbols) {
  auto y = run_op("Flatten", {iota_f({2, 3, 4})}, {int_attr("axis", 2)});
  EXPECT_EQ(y[0].shape(), (Shape{6, 4}));
  auto z = run_op("Flatten", {iota_f({2, 3, 4})}, {int_attr("axis", 0)});
  EXPECT_EQ(z[0].shape(), (Shape{1, 24}));
  auto t = infer_op("Flatten", {ftype({sym("N"), d(3), d(4)})});
  EXPECT_EQ(t[0].str(), "float32[N,12]");
  auto u = infer_op("Flatten", {ftype({sym("N"), d(3), d(4)})}, {int_attr("axis", -1)});
  EXPECT_EQ(u[0].str(), "float32[?,4]");
}

TEST(Squeeze, AxesInputAndAttribute) {
  auto a = run_op("Squeeze", {iota_f({1, 3, 1, 2}), ints({1}, {-2})}, {}, 13);
  EXPECT_EQ(a[0].shape(), (Shape{1, 3, 2}));
  auto b = run_op("Squeeze", {iota_f({1, 3, 1, 2})}, {ints_attr("axes", {0})}, 11);
  EXPECT_EQ(b[0].shape(), (Shape{3, 1, 2}));
  auto c = run_op("Squeeze", {iota_f({1, 3, 1, 2})}, {}, 13);
  EXPECT_EQ(c[0].shape(), (Shape{3, 2}));
  auto e = run_op("Squeeze", {iota_f({1, 3, 1}), ints({0}, {})}, {}, 13);  // empty axes: all 1s
  EXPECT_EQ(e[0].shape(), (Shape{3}));
  EXPECT_THROW(run_op("Squeeze", {iota_f({1, 3}), ints({1}, {1})}, {}, 13), Error);
}

TEST(Squeeze, InferenceWithUnknowns) {
  // Without axes an unknown dim might be 1: the rank is not known.
  auto t = infer_op("Squeeze", {ftype({d(1), sym("N")})}, {}, 13);
  EXPECT_FALSE(t[0].has_rank());
  auto u = infer_op("Squeeze", {ftype({d(1), sym("N"), d(1)}), ttype(DType::Int64, {d(2)})}, {}, 13);
  EXPECT_EQ(u[0].str(), "float32[?]");
}

TEST(Unsqueeze, AxesInOutputRank) {
  auto a = run_op("Unsqueeze", {iota_f({3, 2}), ints({2}, {-1, 0})}, {}, 13);
  EXPECT_EQ(a[0].shape(), (Shape{1, 3, 2, 1}));
  auto b = run_op("Unsqueeze", {Tensor::scalar<float>(5)}, {ints_attr("axes", {0})}, 11);
  EXPECT_EQ(b[0].shape(), (Shape{1}));
  EXPECT_THROW(run_op("Unsqueeze", {iota_f({3}), ints({2}, {0, 0})}, {}, 13), Error);
  auto t = infer_op("Unsqueeze", {ftype({sym("N")}), ttype(DType::Int64, {d(2)})}, {}, 13);
  EXPECT_EQ(t[0].str(), "float32[?,?,?]");
}

// ---------------------------------------------------------------- Transpose

TEST(Transpose, DefaultReversesAndPermWorks) {
  auto y = run_op("Transpose", {iota_f({2, 3})});
  EXPECT_EQ(y[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  auto z = run_op("Transpose", {iota_f({2, 3, 4})}, {ints_attr("perm", {1, 2, 0})});
  EXPECT_EQ(z[0].shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(z[0].as_double(1), 12);  // z[0,0,1] = x[1,0,0]
  EXPECT_THROW(run_op("Transpose", {iota_f({2, 3})}, {ints_attr("perm", {0, 0})}), Error);
}

TEST(Transpose, MovesStringsAndHalfs) {
  auto s = run_op("Transpose", {Tensor::from_strings({2, 2}, {"a", "b", "c", "d"})});
  EXPECT_EQ(s[0].strings(), (std::vector<std::string>{"a", "c", "b", "d"}));
  Tensor h(DType::Float16, {2, 2});
  for (int i = 0; i < 4; ++i) h.mutable_data<Half>()[i] = float_to_half(float(i));
  auto t = run_op("Transpose", {h});
  EXPECT_EQ(values_f(t[0]), (std::vector<float>{0, 2, 1, 3}));
}

TEST(DataMovement, StringsAndEveryWidth) {
  const Tensor s = Tensor::from_strings({4}, {"a", "b", "c", "d"});
  EXPECT_EQ(run_op("Gather", {s, ints({2}, {3, 0})})[0].strings(), (std::vector<std::string>{"d", "a"}));
  EXPECT_EQ(run_op("Slice", {s, ints({1}, {-1}), ints({1}, {kMin}), ints({1}, {0}), ints({1}, {-2})}, {}, 13)[0]
                .strings(),
            (std::vector<std::string>{"d", "b"}));
  EXPECT_EQ(run_op("Pad", {s, ints({2}, {1, 0})}, {}, 13)[0].strings(),
            (std::vector<std::string>{"", "a", "b", "c", "d"}));
  for (DType t : {DType::Bool, DType::UInt8, DType::Int16, DType::Float16, DType::BFloat16, DType::Int32,
                  DType::Double, DType::UInt64}) {
    const Tensor x(t, {2, 3});
    auto y = run_op("Tile", {x, ints({2}, {1, 2})});
    EXPECT_EQ(y[0].dtype(), t);
    EXPECT_EQ(y[0].shape(), (Shape{2, 6}));
  }
  Tensor b(DType::Bool, {3});
  b.mutable_data<bool>()[1] = true;
  auto g = run_op("Concat", {b, b}, {int_attr("axis", 0)});
  EXPECT_EQ(values_i(g[0]), (std::vector<int64_t>{0, 1, 0, 0, 1, 0}));
}

// ---------------------------------------------------------------- Concat, Split

TEST(Concat, AxisAndEmptyInputs) {
  auto y = run_op("Concat", {iota_f({2, 1}), floats({2, 0}, {}), floats({2, 2}, {5, 6, 7, 8})},
                  {int_attr("axis", -1)});
  EXPECT_EQ(y[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{0, 5, 6, 1, 7, 8}));
  EXPECT_THROW(run_op("Concat", {iota_f({2, 1}), iota_f({3, 1})}, {int_attr("axis", 1)}), Error);
}

TEST(Concat, SymbolicDims) {
  auto t = infer_op("Concat", {ftype({sym("N"), d(3)}), ftype({d(2), d(3)})}, {int_attr("axis", 1)});
  EXPECT_EQ(t[0].str(), "float32[2,6]");
  auto u = infer_op("Concat", {ftype({sym("N"), d(3)}), ftype({d(2), d(3)})}, {int_attr("axis", 0)});
  EXPECT_EQ(u[0].str(), "float32[?,3]");
  auto v = infer_op("Concat", {ftype({d(1), d(3)}), TensorType{DType::Float, std::nullopt}},
                    {int_attr("axis", 0)});
  EXPECT_EQ(v[0].str(), "float32[?,3]");
}

TEST(Concat, Strings) {
  auto y = run_op("Concat", {Tensor::from_strings({1}, {"x"}), Tensor::from_strings({2}, {"y", "z"})},
                  {int_attr("axis", 0)});
  EXPECT_EQ(y[0].strings(), (std::vector<std::string>{"x", "y", "z"}));
}

TEST(Split, EveryOpsetsWayOfGivingSizes) {
  const Tensor x = iota_f({7});
  auto a = run_op("Split", {x}, {ints_attr("split", {2, 5})}, 11, 2);
  EXPECT_EQ(a[1].shape(), (Shape{5}));
  auto b = run_op("Split", {x, ints({2}, {3, 4})}, {}, 13, 2);
  EXPECT_EQ(values_f(b[1]), (std::vector<float>{3, 4, 5, 6}));
  auto c = run_op("Split", {x}, {int_attr("num_outputs", 3)}, 18, 3);
  EXPECT_EQ(c[0].shape(), (Shape{3}));
  EXPECT_EQ(c[2].shape(), (Shape{1}));
  EXPECT_EQ(values_f(c[2]), (std::vector<float>{6}));
  EXPECT_THROW(run_op("Split", {x}, {}, 13, 2), Error);  // 7 does not split evenly in two
  auto z = run_op("Split", {floats({0}, {}), ints({3}, {0, 0, 0})}, {}, 18, 3);
  EXPECT_EQ(z[2].shape(), (Shape{0}));
}

TEST(Split, TwoDimensional) {
  auto y = run_op("Split", {iota_f({2, 4})}, {int_attr("axis", 1)}, 13, 2);
  EXPECT_EQ(values_f(y[1]), (std::vector<float>{2, 3, 6, 7}));
  auto t = infer_op("Split", {ftype({sym("N"), d(4)}), ttype(DType::Int64, {d(2)})},
                    {int_attr("axis", 1)}, 13, 2);
  EXPECT_EQ(t[0].str(), "float32[N,?]");
}

// ---------------------------------------------------------------- Slice

TEST(Slice, StepsAndClamping) {
  const Tensor x = iota_f({10});
  auto a = run_op("Slice", {x, ints({1}, {1}), ints({1}, {kMax}), ints({1}, {0}), ints({1}, {3})}, {}, 13);
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{1, 4, 7}));
  auto b = run_op("Slice", {x, ints({1}, {-1}), ints({1}, {kMin}), ints({1}, {0}), ints({1}, {-1})}, {}, 13);
  EXPECT_EQ(values_f(b[0]), (std::vector<float>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  auto c = run_op("Slice", {x, ints({1}, {20}), ints({1}, {-5}), Tensor(), ints({1}, {-2})}, {}, 13);
  EXPECT_EQ(values_f(c[0]), (std::vector<float>{9, 7}));
  // A negative step clamps the start into [0, dim-1] (not to -1 as numpy would).
  auto f = run_op("Slice", {x, ints({1}, {-100}), ints({1}, {kMin}), Tensor(), ints({1}, {-1})}, {}, 13);
  EXPECT_EQ(values_f(f[0]), (std::vector<float>{0}));
  auto e = run_op("Slice", {x, ints({1}, {5}), ints({1}, {2})}, {}, 13);
  EXPECT_EQ(e[0].shape(), (Shape{0}));
  EXPECT_THROW(run_op("Slice", {x, ints({1}, {0}), ints({1}, {2}), ints({1}, {0}), ints({1}, {0})}, {}, 13),
               Error);
}

TEST(Slice, TwoDAndAttributesBeforeOpset10) {
  auto a = run_op("Slice", {iota_f({3, 4}), ints({2}, {1, -1}), ints({2}, {3, 0}), ints({2}, {0, 1}),
                            ints({2}, {1, -1})},
                  {}, 13);
  EXPECT_EQ(a[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{7, 6, 5, 11, 10, 9}));
  auto b = run_op("Slice", {iota_f({3, 4})},
                  {ints_attr("starts", {1}), ints_attr("ends", {1000}), ints_attr("axes", {1})}, 9);
  EXPECT_EQ(b[0].shape(), (Shape{3, 3}));
}

TEST(Slice, InferenceWithUnknownBounds) {
  const TensorType i1 = ttype(DType::Int64, {d(1)});
  const Tensor axes = ints({1}, {1});
  auto t = infer_op("Slice", {ftype({sym("N"), d(8), d(3)}), i1, i1, i1}, {}, 13, 1,
                    {nullptr, nullptr, nullptr, &axes});
  EXPECT_EQ(t[0].str(), "float32[N,?,3]");
  auto u = infer_op("Slice", {ftype({sym("N"), d(8)}), i1, i1, i1}, {}, 13);
  EXPECT_EQ(u[0].str(), "float32[?,?]");
  const Tensor s = ints({1}, {0}), e = ints({1}, {kMax}), ax0 = ints({1}, {0});
  auto v = infer_op("Slice", {ftype({sym("N"), d(8)}), i1, i1, i1}, {}, 13, 1, {nullptr, &s, &e, &ax0});
  EXPECT_EQ(v[0].str(), "float32[N,8]");
}

// ---------------------------------------------------------------- Gather family

TEST(Gather, AxisAndNegativeIndices) {
  auto y = run_op("Gather", {iota_f({3, 2}), ints({2}, {-1, 0})});
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{4, 5, 0, 1}));
  auto z = run_op("Gather", {iota_f({2, 3}), Tensor::from_vector<int32_t>({2, 2}, {2, 1, 0, 0})},
                  {int_attr("axis", 1)});
  EXPECT_EQ(z[0].shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(values_f(z[0]), (std::vector<float>{2, 1, 0, 0, 5, 4, 3, 3}));
  auto s = run_op("Gather", {iota_f({3}), Tensor::scalar<int64_t>(1)});
  EXPECT_EQ(s[0].shape(), (Shape{}));
  EXPECT_THROW(run_op("Gather", {iota_f({3}), ints({1}, {3})}), Error);
  EXPECT_THROW(run_op("Gather", {iota_f({3}), ints({1}, {-4})}), Error);
}

TEST(Gather, ShapeComputation) {
  auto t = infer_op("Gather", {ttype(DType::Int64, {d(4)}), ttype(DType::Int64, {})});
  EXPECT_EQ(t[0].str(), "int64[]");
}

TEST(GatherElements, Basic) {
  auto y = run_op("GatherElements", {iota_f({2, 2}), ints({2, 2}, {0, 0, 1, 0})}, {int_attr("axis", 1)});
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{0, 0, 3, 2}));
  auto z = run_op("GatherElements", {iota_f({3, 3}), ints({2, 3}, {1, 2, 0, 2, 0, -1})});
  EXPECT_EQ(values_f(z[0]), (std::vector<float>{3, 7, 2, 6, 1, 8}));
}

TEST(GatherND, BatchDims) {
  auto a = run_op("GatherND", {iota_f({2, 2}), ints({2, 2}, {0, 0, 1, 1})});
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{0, 3}));
  auto b = run_op("GatherND", {iota_f({2, 2}), ints({2, 1}, {1, 0})});
  EXPECT_EQ(values_f(b[0]), (std::vector<float>{2, 3, 0, 1}));
  auto c = run_op("GatherND", {iota_f({2, 2, 2}), ints({2, 1}, {1, 0})}, {int_attr("batch_dims", 1)});
  EXPECT_EQ(c[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_f(c[0]), (std::vector<float>{2, 3, 4, 5}));
}

TEST(ScatterND, Reductions) {
  const Tensor data = floats({4}, {1, 2, 3, 4});
  const Tensor idx = ints({3, 1}, {1, 3, 1});
  const Tensor up = floats({3}, {10, 20, 30});
  EXPECT_EQ(values_f(run_op("ScatterND", {data, ints({2, 1}, {1, 3}), floats({2}, {10, 20})}, {}, 16)[0]),
            (std::vector<float>{1, 10, 3, 20}));
  EXPECT_EQ(values_f(run_op("ScatterND", {data, idx, up}, {str_attr("reduction", "add")}, 16)[0]),
            (std::vector<float>{1, 42, 3, 24}));
  EXPECT_EQ(values_f(run_op("ScatterND", {data, idx, up}, {str_attr("reduction", "mul")}, 16)[0]),
            (std::vector<float>{1, 600, 3, 80}));
  EXPECT_EQ(values_f(run_op("ScatterND", {data, idx, up}, {str_attr("reduction", "max")}, 18)[0]),
            (std::vector<float>{1, 30, 3, 20}));
  EXPECT_EQ(values_f(run_op("ScatterND", {data, idx, up}, {str_attr("reduction", "min")}, 18)[0]),
            (std::vector<float>{1, 2, 3, 4}));
  // Whole rows.
  auto rows = run_op("ScatterND", {iota_f({2, 2}), ints({1, 1}, {1}), floats({1, 2}, {9, 9})});
  EXPECT_EQ(values_f(rows[0]), (std::vector<float>{0, 1, 9, 9}));
}

TEST(ScatterElements, AxisAndReduction) {
  auto a = run_op("ScatterElements", {floats({1, 5}, {1, 2, 3, 4, 5}), ints({1, 2}, {1, -2}),
                                      floats({1, 2}, {1.5f, 2.5f})},
                  {int_attr("axis", 1)});
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{1, 1.5f, 3, 2.5f, 5}));
  auto b = run_op("ScatterElements", {floats({1, 3}, {1, 2, 3}), ints({1, 2}, {1, 1}), floats({1, 2}, {5, 6})},
                  {int_attr("axis", 1), str_attr("reduction", "add")}, 16);
  EXPECT_EQ(values_f(b[0]), (std::vector<float>{1, 13, 3}));
  EXPECT_THROW(run_op("ScatterElements", {floats({3}, {1, 2, 3}), ints({1}, {3}), floats({1}, {0})}),
               Error);
}

// ---------------------------------------------------------------- Expand, Tile, Pad

TEST(Expand, Bidirectional) {
  auto y = run_op("Expand", {iota_f({3, 1}), ints({3}, {2, 1, 2})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}));
  EXPECT_THROW(run_op("Expand", {iota_f({3}), ints({1}, {2})}), Error);
  auto t = infer_op("Expand", {ftype({d(3), d(1)}), ttype(DType::Int64, {d(3)})});
  EXPECT_EQ(t[0].str(), "float32[?,3,?]");
}

TEST(Tile, Repeats) {
  auto y = run_op("Tile", {iota_f({2, 2}), ints({2}, {2, 1})});
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{0, 1, 2, 3, 0, 1, 2, 3}));
  auto z = run_op("Tile", {iota_f({2}), ints({1}, {3})});
  EXPECT_EQ(values_f(z[0]), (std::vector<float>{0, 1, 0, 1, 0, 1}));
  auto e = run_op("Tile", {iota_f({2}), ints({1}, {0})});
  EXPECT_EQ(e[0].shape(), (Shape{0}));
}

TEST(Pad, Modes) {
  const Tensor x = floats({1, 3}, {1, 2, 3});
  const Tensor pads = ints({4}, {0, 2, 0, 1});
  auto c = run_op("Pad", {x, pads, Tensor::scalar<float>(9)}, {}, 13);
  EXPECT_EQ(values_f(c[0]), (std::vector<float>{9, 9, 1, 2, 3, 9}));
  auto r = run_op("Pad", {x, pads}, {str_attr("mode", "reflect")}, 13);
  EXPECT_EQ(values_f(r[0]), (std::vector<float>{3, 2, 1, 2, 3, 2}));
  auto e = run_op("Pad", {x, pads}, {str_attr("mode", "edge")}, 13);
  EXPECT_EQ(values_f(e[0]), (std::vector<float>{1, 1, 1, 2, 3, 3}));
  auto w = run_op("Pad", {x, pads}, {str_attr("mode", "wrap")}, 19);
  EXPECT_EQ(values_f(w[0]), (std::vector<float>{2, 3, 1, 2, 3, 1}));
  EXPECT_THROW(run_op("Pad", {x, pads}, {str_attr("mode", "wrap")}, 18), Error);
}

TEST(Pad, NegativePadsCropAndAxes) {
  const Tensor x = iota_f({2, 4});
  auto a = run_op("Pad", {x, ints({4}, {0, -1, 1, 1})}, {}, 13);
  EXPECT_EQ(a[0].shape(), (Shape{3, 4}));
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{1, 2, 3, 0, 5, 6, 7, 0, 0, 0, 0, 0}));
  auto b = run_op("Pad", {x, ints({2}, {1, -2}), Tensor(), ints({1}, {-1})}, {str_attr("mode", "edge")}, 18);
  EXPECT_EQ(values_f(b[0]), (std::vector<float>{0, 0, 1, 4, 4, 5}));
  auto old = run_op("Pad", {x}, {ints_attr("pads", {1, 0, 0, 0}), Attribute::make_float("value", 7)}, 2);
  EXPECT_EQ(values_f(old[0]), (std::vector<float>{7, 7, 7, 7, 0, 1, 2, 3, 4, 5, 6, 7}));
  auto t = infer_op("Pad", {ftype({sym("N"), d(4)}), ttype(DType::Int64, {d(4)})}, {}, 13);
  EXPECT_EQ(t[0].str(), "float32[?,?]");
}

TEST(Pad, IntegersAndReflectBeyondTheAxis) {
  auto y = run_op("Pad", {Tensor::from_vector<int32_t>({3}, {1, 2, 3}), ints({2}, {4, 0})},
                  {str_attr("mode", "reflect")}, 13);
  EXPECT_EQ(values_i(y[0]), (std::vector<int64_t>{1, 2, 3, 2, 1, 2, 3}));
}

// ---------------------------------------------------------------- generators

TEST(Size, ComputedByInference) {
  auto y = run_op("Size", {iota_f({2, 3})});
  EXPECT_EQ(y[0].dtype(), DType::Int64);
  EXPECT_EQ(y[0].shape(), (Shape{}));
  EXPECT_EQ(values_i(y[0]), (std::vector<int64_t>{6}));
  auto t = infer_op("Size", {ftype({sym("N"), d(3)})});
  EXPECT_EQ(t[0].str(), "int64[]");
}

TEST(ConstantOfShape, ValueAndDefault) {
  auto a = run_op("ConstantOfShape", {ints({2}, {2, 3})});
  EXPECT_EQ(a[0].dtype(), DType::Float);
  EXPECT_EQ(values_f(a[0]), std::vector<float>(6, 0));
  auto b = run_op("ConstantOfShape", {ints({1}, {3})},
                  {Attribute::make_tensor("value", Tensor::from_vector<int32_t>({1}, {7}))});
  EXPECT_EQ(b[0].dtype(), DType::Int32);
  EXPECT_EQ(values_i(b[0]), (std::vector<int64_t>{7, 7, 7}));
  auto c = run_op("ConstantOfShape", {ints({0}, {})});
  EXPECT_EQ(c[0].shape(), (Shape{}));
  auto t = infer_op("ConstantOfShape", {ttype(DType::Int64, {d(3)})});
  EXPECT_EQ(t[0].str(), "float32[?,?,?]");
}

TEST(Range, FloatAndInt) {
  auto a = run_op("Range", {Tensor::scalar<float>(1), Tensor::scalar<float>(5), Tensor::scalar<float>(1.5f)});
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{1, 2.5f, 4}));
  auto b = run_op("Range", {Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(4), Tensor::scalar<int32_t>(-3)});
  EXPECT_EQ(values_i(b[0]), (std::vector<int64_t>{10, 7}));
  auto e = run_op("Range", {Tensor::scalar<int64_t>(3), Tensor::scalar<int64_t>(1), Tensor::scalar<int64_t>(1)});
  EXPECT_EQ(e[0].shape(), (Shape{0}));
}

TEST(EyeLike, DiagonalAndDtype) {
  auto a = run_op("EyeLike", {floats({2, 3}, {5, 5, 5, 5, 5, 5})}, {int_attr("k", 1)});
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{0, 1, 0, 0, 0, 1}));
  auto b = run_op("EyeLike", {floats({2, 2}, {0, 0, 0, 0})}, {int_attr("dtype", int64_t(DType::Int32))});
  EXPECT_EQ(b[0].dtype(), DType::Int32);
  EXPECT_EQ(values_i(b[0]), (std::vector<int64_t>{1, 0, 0, 1}));
}

TEST(OneHot, AxisAndNegativeIndices) {
  auto a = run_op("OneHot", {ints({3}, {0, -1, 5}), Tensor::scalar<int64_t>(3), floats({2}, {0, 1})}, {}, 11);
  EXPECT_EQ(a[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0}));
  auto b = run_op("OneHot", {ints({2}, {1, 0}), Tensor::scalar<float>(2), ints({2}, {-1, 7})},
                  {int_attr("axis", 0)}, 11);
  EXPECT_EQ(b[0].dtype(), DType::Int64);
  EXPECT_EQ(values_i(b[0]), (std::vector<int64_t>{-1, 7, 7, -1}));
}

// ---------------------------------------------------------------- per-element ops

TEST(Trilu, UpperLowerAndK) {
  const Tensor x = floats({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(values_f(run_op("Trilu", {x}, {}, 14)[0]), (std::vector<float>{1, 2, 3, 0, 5, 6, 0, 0, 9}));
  EXPECT_EQ(values_f(run_op("Trilu", {x, Tensor::scalar<int64_t>(-1)}, {int_attr("upper", 0)}, 14)[0]),
            (std::vector<float>{0, 0, 0, 4, 0, 0, 7, 8, 0}));
  EXPECT_EQ(values_f(run_op("Trilu", {x, Tensor::scalar<int64_t>(1)}, {}, 14)[0]),
            (std::vector<float>{0, 2, 3, 0, 0, 6, 0, 0, 0}));
}

TEST(CumSum, ExclusiveReverse) {
  const Tensor x = floats({4}, {1, 2, 3, 4});
  const Tensor axis = Tensor::scalar<int32_t>(0);
  EXPECT_EQ(values_f(run_op("CumSum", {x, axis})[0]), (std::vector<float>{1, 3, 6, 10}));
  EXPECT_EQ(values_f(run_op("CumSum", {x, axis}, {int_attr("exclusive", 1)})[0]),
            (std::vector<float>{0, 1, 3, 6}));
  EXPECT_EQ(values_f(run_op("CumSum", {x, axis}, {int_attr("reverse", 1)})[0]),
            (std::vector<float>{10, 9, 7, 4}));
  EXPECT_EQ(values_f(run_op("CumSum", {x, axis}, {int_attr("reverse", 1), int_attr("exclusive", 1)})[0]),
            (std::vector<float>{9, 7, 4, 0}));
  auto m = run_op("CumSum", {ints({2, 2}, {1, 2, 3, 4}), ints({}, {-1})});
  EXPECT_EQ(values_i(m[0]), (std::vector<int64_t>{1, 3, 3, 7}));
}

TEST(TopK, LargestSmallestAndTies) {
  const Tensor x = floats({2, 4}, {1, 3, 3, 2, 0, -1, 5, 5});
  auto a = run_op("TopK", {x, ints({1}, {2})}, {}, 11, 2);
  EXPECT_EQ(values_f(a[0]), (std::vector<float>{3, 3, 5, 5}));
  EXPECT_EQ(values_i(a[1]), (std::vector<int64_t>{1, 2, 2, 3}));
  EXPECT_EQ(a[1].dtype(), DType::Int64);
  auto b = run_op("TopK", {x, ints({1}, {1})}, {int_attr("largest", 0), int_attr("axis", 0)}, 11, 2);
  EXPECT_EQ(values_f(b[0]), (std::vector<float>{0, -1, 3, 2}));
  EXPECT_EQ(values_i(b[1]), (std::vector<int64_t>{1, 1, 0, 0}));
  auto c = run_op("TopK", {x}, {int_attr("k", 1)}, 1, 2);
  EXPECT_EQ(values_f(c[0]), (std::vector<float>{3, 5}));
  EXPECT_THROW(run_op("TopK", {x, ints({1}, {5})}, {}, 11, 2), Error);
}

TEST(DepthToSpace, ModesRoundTrip) {
  const Tensor x = iota_f({1, 8, 2, 3});
  for (const char* mode : {"DCR", "CRD"}) {
    auto y = run_op("DepthToSpace", {x}, {int_attr("blocksize", 2), str_attr("mode", mode)}, 13);
    EXPECT_EQ(y[0].shape(), (Shape{1, 2, 4, 6}));
  }
  // DCR: output (0, 1) of channel 0 comes from input channel 2 (blocks outermost), CRD from 1.
  auto dcr = run_op("DepthToSpace", {x}, {int_attr("blocksize", 2)}, 13);
  EXPECT_EQ(dcr[0].as_double(1), 12);
  auto crd = run_op("DepthToSpace", {x}, {int_attr("blocksize", 2), str_attr("mode", "CRD")}, 13);
  EXPECT_EQ(crd[0].as_double(1), 6);
  EXPECT_EQ(crd[0].as_double(6 * 4), 24);  // channel 1 starts with input channel 4
  // SpaceToDepth undoes DCR DepthToSpace.
  auto back = run_op("SpaceToDepth", dcr, {int_attr("blocksize", 2)});
  EXPECT_TRUE(back[0].bit_equal(x));
}

TEST(NonZero, DataDependentShape) {
  auto y = run_op("NonZero", {floats({2, 2}, {1, 0, 0, 3})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_i(y[0]), (std::vector<int64_t>{0, 1, 0, 1}));
  auto t = infer_op("NonZero", {ftype({d(2), d(2)})});
  EXPECT_EQ(t[0].str(), "int64[2,?]");
}

// ---------------------------------------------------------------- whole graphs

namespace {

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = out[0];
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

// x -> Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape(x): the usual flatten.
Model shape_chain_model(Dims x_dims) {
  Model m;
  m.opset_imports = {{"", 17}};
  Graph& g = m.graph;
  g.inputs.push_back(ValueInfo{"x", TensorType{DType::Float, std::move(x_dims)}});
  g.initializers.push_back({"zero", Tensor::scalar<int64_t>(0)});
  g.initializers.push_back({"axes", ints({1}, {0})});
  g.initializers.push_back({"minus_one", ints({1}, {-1})});
  g.nodes.push_back(node("Shape", {"x"}, {"s"}));
  g.nodes.push_back(node("Gather", {"s", "zero"}, {"n"}));
  g.nodes.push_back(node("Unsqueeze", {"n", "axes"}, {"n1"}));
  g.nodes.push_back(node("Concat", {"n1", "minus_one"}, {"shape"}, {int_attr("axis", 0)}));
  g.nodes.push_back(node("Reshape", {"x", "shape"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", TensorType{DType::Float, std::nullopt}});
  return m;
}

}  // namespace

TEST(ShapeChain, FoldsWithStaticInput) {
  const Model m = shape_chain_model({d(2), d(3), d(4)});
  InterpreterFolder folder;
  InferOptions opt;
  opt.folder = &folder;
  const InferenceResult r = infer_model(m, opt);
  EXPECT_EQ(r.type_of("y")->str(), "float32[2,12]");
  const Interpreter interp(m);
  auto out = interp.run({{"x", iota_f({2, 3, 4})}});
  EXPECT_EQ(out[0].shape(), (Shape{2, 12}));
}

TEST(ShapeChain, KeepsRankWithSymbolicInput) {
  const Model m = shape_chain_model({sym("N"), d(3), d(4)});
  InterpreterFolder folder;
  InferOptions opt;
  opt.folder = &folder;
  const InferenceResult r = infer_model(m, opt);
  EXPECT_EQ(r.type_of("shape")->str(), "int64[2]");
  EXPECT_EQ(r.type_of("y")->str(), "float32[?,?]");
}

// ---------------------------------------------------------------- ONNX node tests

namespace {

namespace fs = std::filesystem;

// Runs the node tests under `dir` whose names match `pattern`. Function-expanded variants
// (*_expanded, e.g. Range as a Loop) exercise other op families and are left to their tests.
void check_node_tests(const std::string& dir, const std::regex& pattern) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) GTEST_SKIP() << "no node tests at '" << dir << "'";
  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const bool expanded = name.find("_expanded") != std::string::npos;
    if (std::regex_match(name, pattern) && (!expanded || name.find("center_crop_pad") != std::string::npos))
      tests.push_back(e.path());
  }
  std::sort(tests.begin(), tests.end());
  int checked = 0;
  for (const fs::path& t : tests) {
    const CheckSummary s = run_check(t.string(), CheckOptions{});
    for (const CheckOutcome& o : s.outcomes)
      EXPECT_EQ(o.status, CheckOutcome::Status::Pass) << o.name << ": " << o.detail;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

const std::regex kTensorTests(
    "test_(concat|constant|constantofshape|expand|flatten|gather|gathernd|reshape|shape|slice|split|squeeze|"
    "tile|transpose|unsqueeze|constant_pad|edge_pad|reflect_pad|wrap_pad|size|scatter|scatternd|range|trilu|"
    "tril|triu|top_k|cumsum|depthtospace|spacetodepth|nonzero|onehot|eyelike)(_.*)?");

// Composite tests that also need other op families.
const std::regex kCompositeTests("test_center_crop_pad_.*");

}  // namespace

TEST(TensorNodeTests, Shared) {
  const std::string shared = shared_dir();
  check_node_tests(shared.empty() ? "" : shared + "/onnx-node-tests", kTensorTests);
}

TEST(TensorNodeTests, SharedCenterCropPad) {
  const std::string shared = shared_dir();
  check_node_tests(shared.empty() ? "" : shared + "/onnx-node-tests", kCompositeTests);
}

TEST(TensorNodeTests, LibOnnxTestData) {
  check_node_tests("/usr/share/libonnx-testdata/data/node", kTensorTests);
}
