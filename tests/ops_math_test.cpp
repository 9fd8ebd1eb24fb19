// MatMul, Gemm, Einsum, reductions, ArgMax/ArgMin and the softmax family: inference and kernels,
// plus the ONNX node tests of these ops (skipped when the test data is absent).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>

#include "interp/conformance.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

Tensor doubles(const Shape& shape, const std::vector<double>& v) { return Tensor::from_vector<double>(shape, v); }
Tensor int32s(const Shape& shape, const std::vector<int32_t>& v) { return Tensor::from_vector<int32_t>(shape, v); }

void expect_near(const Tensor& t, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(t.numel(), int64_t(want.size())) << t.type_str();
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isinf(want[i]) || std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(want[i]) ? std::isnan(t.as_double(int64_t(i))) : t.as_double(int64_t(i)) == want[i])
          << "element " << i << ": " << t.as_double(int64_t(i)) << " vs " << want[i];
    else
      EXPECT_NEAR(t.as_double(int64_t(i)), want[i], tol) << "element " << i;
  }
}

Attribute eq(const std::string& e) { return Attribute::make_string("equation", e); }
Attribute axes_attr(std::vector<int64_t> v) { return Attribute::make_ints("axes", std::move(v)); }
Attribute int_attr(const std::string& name, int64_t v) { return Attribute::make_int(name, v); }

TensorType type_of(DType t, std::initializer_list<Dim> dims) { return TensorType{t, Dims(dims)}; }

}  // namespace

// ---------------------------------------------------------------- MatMul

TEST(MatMul, TwoD) {
  auto y = run_op("MatMul", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({3, 2}, {7, 8, 9, 10, 11, 12})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{58, 64, 139, 154}));
}

TEST(MatMul, OneDOperandsArePromotedAndTheirDimDropped) {
  const Tensor m = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  auto mv = run_op("MatMul", {m, floats({3}, {1, 1, 1})});
  EXPECT_EQ(mv[0].shape(), (Shape{2}));
  EXPECT_EQ(values_f(mv[0]), (std::vector<float>{6, 15}));
  auto vm = run_op("MatMul", {floats({2}, {1, 1}), m});
  EXPECT_EQ(vm[0].shape(), (Shape{3}));
  EXPECT_EQ(values_f(vm[0]), (std::vector<float>{5, 7, 9}));
  auto vv = run_op("MatMul", {floats({3}, {1, 2, 3}), floats({3}, {4, 5, 6})});
  EXPECT_EQ(vv[0].shape(), (Shape{}));
  EXPECT_EQ(values_f(vv[0]), (std::vector<float>{32}));
  // A 1-D right operand against a batch: [2,2,3] @ [3] -> [2,2].
  auto bv = run_op("MatMul", {floats({2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}), floats({3}, {1, 1, 1})});
  EXPECT_EQ(bv[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_f(bv[0]), (std::vector<float>{6, 15, 1, 1}));
}

TEST(MatMul, BatchDimsBroadcast) {
  // a: [2,1,1,2], b: [3,2,1] -> [2,3,1,1]; a's batches are [1,2] and [3,4], b's are [1;0],[0;1],[1;1].
  auto y = run_op("MatMul", {floats({2, 1, 1, 2}, {1, 2, 3, 4}), floats({3, 2, 1}, {1, 0, 0, 1, 1, 1})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 3, 1, 1}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{1, 2, 3, 3, 4, 7}));
}

TEST(MatMul, IntegerTypesAndDouble) {
  auto i32 = run_op("MatMul", {int32s({1, 2}, {-3, 4}), int32s({2, 1}, {5, 6})});
  EXPECT_EQ(i32[0].dtype(), DType::Int32);
  EXPECT_EQ(i32[0].to_int64_vector(), (std::vector<int64_t>{9}));
  auto i64 = run_op("MatMul", {ints({2, 2}, {1, 2, 3, 4}), ints({2, 2}, {-1, 0, 0, -1})});
  EXPECT_EQ(i64[0].to_int64_vector(), (std::vector<int64_t>{-1, -2, -3, -4}));
  auto d = run_op("MatMul", {doubles({1, 2}, {0.5, 0.25}), doubles({2}, {2, 4})});
  EXPECT_EQ(d[0].dtype(), DType::Double);
  expect_near(d[0], {2.0});
}

TEST(MatMul, EmptyContractionGivesZeros) {
  auto y = run_op("MatMul", {floats({2, 0}, {}), floats({0, 3}, {})});
  EXPECT_EQ(y[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>(6, 0.0f)));
}

TEST(MatMul, RejectsMismatchedContraction) {
  EXPECT_THROW(run_op("MatMul", {floats({2, 3}, std::vector<float>(6)), floats({2, 3}, std::vector<float>(6))}), Error);
  EXPECT_THROW(run_op("MatMul", {floats({2, 3}, std::vector<float>(6)), ints({3, 1}, {1, 2, 3})}), Error);
}

TEST(MatMul, InfersSymbolicShapes) {
  auto t = infer_op("MatMul", {type_of(DType::Float, {Dim::symbol("B"), Dim::of(1), Dim::symbol("S"), Dim::of(64)}),
                               type_of(DType::Float, {Dim::of(4), Dim::of(64), Dim::symbol("S")})});
  EXPECT_EQ(t[0].str(), "float32[B,4,S,S]");
  auto v = infer_op("MatMul", {type_of(DType::Float, {Dim::of(64)}), type_of(DType::Float, {Dim::of(64), Dim::of(10)})});
  EXPECT_EQ(v[0].str(), "float32[10]");
  auto u = infer_op("MatMul", {TensorType{DType::Float, std::nullopt}, type_of(DType::Float, {Dim::of(3)})});
  EXPECT_FALSE(u[0].has_rank());
}

TEST(MatMulInteger, SubtractsZeroPoints) {
  const Tensor a = Tensor::from_vector<uint8_t>({2, 2}, {11, 12, 13, 14});
  const Tensor b = Tensor::from_vector<uint8_t>({2, 1}, {1, 2});
  auto y = run_op("MatMulInteger", {a, b, Tensor::scalar<uint8_t>(10), Tensor::scalar<uint8_t>(1)});
  EXPECT_EQ(y[0].dtype(), DType::Int32);
  EXPECT_EQ(y[0].to_int64_vector(), (std::vector<int64_t>{2, 4}));  // [1 2;3 4] @ [0;1]
  auto per_row = run_op("MatMulInteger", {a, b, Tensor::from_vector<uint8_t>({2}, {10, 12})});
  EXPECT_EQ(per_row[0].to_int64_vector(), (std::vector<int64_t>{5, 5}));  // [1 2;1 2] @ [1;2]
}

// ---------------------------------------------------------------- Gemm

TEST(Gemm, TransposesScalesAndAddsBroadcastBias) {
  const Tensor a = floats({3, 2}, {1, 4, 2, 5, 3, 6});  // A^T = [[1,2,3],[4,5,6]]
  const Tensor b = floats({2, 3}, {7, 9, 11, 8, 10, 12});  // B^T = [[7,8],[9,10],[11,12]]
  auto y = run_op("Gemm", {a, b, floats({2}, {1, 2})},
                  {int_attr("transA", 1), int_attr("transB", 1), Attribute::make_float("alpha", 0.5f),
                   Attribute::make_float("beta", 2.0f)});
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_f(y[0]), (std::vector<float>{29 + 2, 32 + 4, 69.5f + 2, 77 + 4}));
}

TEST(Gemm, BiasShapes) {
  const Tensor a = floats({2, 2}, {1, 0, 0, 1}), b = floats({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values_f(run_op("Gemm", {a, b})[0]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(values_f(run_op("Gemm", {a, b, Tensor::scalar<float>(1)})[0]), (std::vector<float>{2, 3, 4, 5}));
  EXPECT_EQ(values_f(run_op("Gemm", {a, b, floats({2, 1}, {10, 20})})[0]), (std::vector<float>{11, 12, 23, 24}));
  EXPECT_EQ(values_f(run_op("Gemm", {a, b, floats({2, 2}, {1, 1, 1, 1})})[0]), (std::vector<float>{2, 3, 4, 5}));
  EXPECT_THROW(run_op("Gemm", {a, b, floats({3}, {1, 2, 3})}), Error);
  // Before opset 7, C broadcasts only with broadcast=1.
  EXPECT_THROW(run_op("Gemm", {a, b, floats({2}, {1, 2})}, {}, 6), Error);
  EXPECT_EQ(values_f(run_op("Gemm", {a, b, floats({2}, {1, 2})}, {int_attr("broadcast", 1)}, 6)[0]),
            (std::vector<float>{2, 4, 4, 6}));
}

TEST(Gemm, InfersShape) {
  auto t = infer_op("Gemm", {type_of(DType::Float, {Dim::of(64), Dim::symbol("N")}),
                             type_of(DType::Float, {Dim::of(10), Dim::of(64)}), type_of(DType::Float, {Dim::of(10)})},
                    {int_attr("transA", 1), int_attr("transB", 1)});
  EXPECT_EQ(t[0].str(), "float32[N,10]");
}

// ---------------------------------------------------------------- Einsum

TEST(Einsum, ExplicitAndImplicitOutputs) {
  const Tensor a = doubles({2, 3}, {1, 2, 3, 4, 5, 6}), b = doubles({3, 2}, {1, 0, 0, 1, 1, 1});
  auto mm = run_op("Einsum", {a, b}, {eq("ij,jk->ik")});
  EXPECT_EQ(mm[0].shape(), (Shape{2, 2}));
  expect_near(mm[0], {4, 5, 10, 11});
  auto implicit = run_op("Einsum", {a, b}, {eq("ij,jk")});  // j appears twice: summed
  expect_near(implicit[0], {4, 5, 10, 11});
  auto transpose = run_op("Einsum", {a}, {eq("ji")});  // implicit output "ij": a transpose
  EXPECT_EQ(transpose[0].shape(), (Shape{3, 2}));
  expect_near(transpose[0], {1, 4, 2, 5, 3, 6});
  auto total = run_op("Einsum", {a}, {eq("ij->")});
  EXPECT_EQ(total[0].shape(), (Shape{}));
  expect_near(total[0], {21});
  auto outer = run_op("Einsum", {doubles({2}, {1, 2}), doubles({3}, {1, 10, 100})}, {eq("i, j -> ij")});
  expect_near(outer[0], {1, 10, 100, 2, 20, 200});
}

TEST(Einsum, RepeatedLettersTakeDiagonals) {
  const Tensor m = doubles({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_near(run_op("Einsum", {m}, {eq("ii->i")})[0], {1, 5, 9});
  auto trace = run_op("Einsum", {m}, {eq("ii")});
  EXPECT_EQ(trace[0].shape(), (Shape{}));
  expect_near(trace[0], {15});
}

TEST(Einsum, UpperCaseLettersSortFirstInImplicitOutput) {
  auto y = run_op("Einsum", {doubles({2, 3}, {1, 2, 3, 4, 5, 6})}, {eq("aB")});  // -> "Ba"
  EXPECT_EQ(y[0].shape(), (Shape{3, 2}));
  expect_near(y[0], {1, 4, 2, 5, 3, 6});
}

TEST(Einsum, EllipsisBroadcasts) {
  // Batch [2] against batch [1]: "...ij,...jk->...ik".
  const Tensor a = floats({2, 1, 2}, {1, 2, 3, 4}), b = floats({1, 2, 1}, {10, 1});
  auto y = run_op("Einsum", {a, b}, {eq("...ij,...jk->...ik")});
  EXPECT_EQ(y[0].shape(), (Shape{2, 1, 1}));
  expect_near(y[0], {12, 34});
  // Implicit output puts the ellipsis dims first: "...ij" with an empty ellipsis -> "ij".
  auto z = run_op("Einsum", {doubles({2, 2}, {1, 2, 3, 4})}, {eq("...ji")});
  expect_near(z[0], {1, 3, 2, 4});
  auto w = run_op("Einsum", {doubles({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})}, {eq("i...->...")});
  EXPECT_EQ(w[0].shape(), (Shape{2, 2}));
  expect_near(w[0], {6, 8, 10, 12});
}

TEST(Einsum, BatchDiagonalAndThreeOperands) {
  auto d = run_op("Einsum", {doubles({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})}, {eq("...ii->...i")});
  EXPECT_EQ(d[0].shape(), (Shape{2, 2}));
  expect_near(d[0], {1, 4, 5, 8});
  // x^T M y for x = [1,2], M = [[1,2],[3,4]], y = [1,1]: [1,2] . [3,7] = 17.
  auto q = run_op("Einsum", {doubles({2}, {1, 2}), doubles({2, 2}, {1, 2, 3, 4}), doubles({2}, {1, 1})},
                  {eq("i,ij,j->")});
  expect_near(q[0], {17});
}

TEST(Einsum, IntegersAndErrors) {
  auto y = run_op("Einsum", {ints({3}, {1, 2, 3}), ints({3}, {4, 5, 6})}, {eq("i,i")});
  EXPECT_EQ(y[0].to_int64_vector(), (std::vector<int64_t>{32}));
  EXPECT_THROW(run_op("Einsum", {doubles({2, 3}, std::vector<double>(6))}, {eq("ijk")}), Error);
  EXPECT_THROW(run_op("Einsum", {doubles({2, 3}, std::vector<double>(6))}, {eq("ij->k")}), Error);
  EXPECT_THROW(run_op("Einsum", {doubles({2}, {1, 2}), doubles({3}, {1, 2, 3})}, {eq("i,i->i")}), Error);
}

TEST(Einsum, InfersShape) {
  auto t = infer_op("Einsum", {type_of(DType::Float, {Dim::symbol("B"), Dim::of(2), Dim::of(3)}),
                               type_of(DType::Float, {Dim::of(3), Dim::of(4)})},
                    {eq("...ij,jk->...ki")});
  EXPECT_EQ(t[0].str(), "float32[B,4,2]");
}

// ---------------------------------------------------------------- reductions

namespace {
// [2,3]: rows {1,2,3}, {4,5,6}
const std::vector<float> kData = {1, 2, 3, 4, 5, 6};
std::vector<Tensor> reduce(const std::string& op, std::vector<int64_t> axes, int64_t keepdims = 1,
                           int64_t opset = 18, const Tensor& x = floats({2, 3}, kData)) {
  std::vector<Attribute> attrs = {int_attr("keepdims", keepdims)};
  if (opset >= (op == "ReduceSum" ? 13 : 18))
    return run_op(op, {x, ints({int64_t(axes.size())}, axes)}, attrs, opset);
  attrs.push_back(axes_attr(axes));
  return run_op(op, {x}, attrs, opset);
}
}  // namespace

TEST(Reduce, EachOpAlongAnAxis) {
  expect_near(reduce("ReduceSum", {1})[0], {6, 15});
  expect_near(reduce("ReduceMean", {1})[0], {2, 5});
  expect_near(reduce("ReduceMax", {0})[0], {4, 5, 6});
  expect_near(reduce("ReduceMin", {-1})[0], {1, 4});
  expect_near(reduce("ReduceProd", {1})[0], {6, 120});
  expect_near(reduce("ReduceL1", {1}, 1, 18, floats({2, 2}, {-1, 2, -3, -4}))[0], {3, 7});
  expect_near(reduce("ReduceL2", {1}, 1, 18, floats({2, 2}, {3, -4, 0, 0}))[0], {5, 0});
  expect_near(reduce("ReduceLogSum", {1})[0], {std::log(6.0), std::log(15.0)});
  expect_near(reduce("ReduceLogSumExp", {1})[0],
              {std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)),
               std::log(std::exp(4.0) + std::exp(5.0) + std::exp(6.0))});
  expect_near(reduce("ReduceSumSquare", {1})[0], {14, 77});
}

TEST(Reduce, KeepdimsAndDefaultAxes) {
  auto kept = reduce("ReduceSum", {0});
  EXPECT_EQ(kept[0].shape(), (Shape{1, 3}));
  auto dropped = reduce("ReduceSum", {0}, 0);
  EXPECT_EQ(dropped[0].shape(), (Shape{3}));
  auto all = reduce("ReduceMax", {}, 0);
  EXPECT_EQ(all[0].shape(), (Shape{}));
  expect_near(all[0], {6});
  auto all_kept = run_op("ReduceMean", {floats({2, 3}, kData)});
  EXPECT_EQ(all_kept[0].shape(), (Shape{1, 1}));
  expect_near(all_kept[0], {3.5});
  auto both = reduce("ReduceProd", {0, 1}, 0);
  expect_near(both[0], {720});
}

TEST(Reduce, AxesAttributeBeforeTheInput) {
  // ReduceSum took its axes as an input from opset 13, the others from opset 18.
  expect_near(reduce("ReduceSum", {1}, 1, 11)[0], {6, 15});
  expect_near(reduce("ReduceMean", {0}, 0, 17)[0], {2.5, 3.5, 4.5});
  auto t = infer_op("ReduceL2", {type_of(DType::Float, {Dim::symbol("N"), Dim::of(3), Dim::of(4)})},
                    {axes_attr({-1}), int_attr("keepdims", 0)}, 13);
  EXPECT_EQ(t[0].str(), "float32[N,3]");
}

TEST(Reduce, NoopWithEmptyAxes) {
  const Tensor x = floats({2, 3}, kData);
  auto noop = run_op("ReduceSum", {x, ints({0}, {})}, {int_attr("noop_with_empty_axes", 1)}, 13);
  EXPECT_EQ(noop[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_f(noop[0]), kData);
  auto no_axes = run_op("ReduceSum", {x}, {int_attr("noop_with_empty_axes", 1)}, 13);
  EXPECT_EQ(no_axes[0].shape(), (Shape{2, 3}));
  auto all = run_op("ReduceSum", {x, ints({0}, {})}, {}, 13);
  EXPECT_EQ(all[0].shape(), (Shape{1, 1}));
  expect_near(all[0], {21});
}

TEST(Reduce, EmptySetsGiveTheIdentity) {
  const Tensor empty = floats({2, 0, 3}, {});
  const double inf = std::numeric_limits<double>::infinity();
  auto check = [&](const std::string& op, double want) {
    auto y = reduce(op, {1}, 1, 18, empty);
    EXPECT_EQ(y[0].shape(), (Shape{2, 1, 3})) << op;
    expect_near(y[0], std::vector<double>(6, want));
  };
  check("ReduceSum", 0);
  check("ReduceSumSquare", 0);
  check("ReduceL1", 0);
  check("ReduceL2", 0);
  check("ReduceProd", 1);
  check("ReduceMax", -inf);
  check("ReduceMin", inf);
  check("ReduceLogSum", -inf);
  check("ReduceLogSumExp", -inf);
  // Reducing a non-empty axis of an empty tensor gives an empty result.
  auto y = reduce("ReduceSum", {2}, 1, 18, empty);
  EXPECT_EQ(y[0].shape(), (Shape{2, 0, 1}));
}

TEST(Reduce, LogSumExpOfLargeValuesDoesNotOverflow) {
  auto y = reduce("ReduceLogSumExp", {1}, 0, 18, floats({1, 2}, {1000, 1000}));
  expect_near(y[0], {1000 + std::log(2.0)}, 1e-3);
}

TEST(Reduce, IntegerTypes) {
  const Tensor x = int32s({2, 2}, {1, 2, 3, 6});
  auto mean = reduce("ReduceMean", {1}, 0, 18, x);
  EXPECT_EQ(mean[0].dtype(), DType::Int32);
  EXPECT_EQ(mean[0].to_int64_vector(), (std::vector<int64_t>{1, 4}));  // 1.5, 4.5 truncated
  EXPECT_EQ(reduce("ReduceSum", {0}, 0, 18, x)[0].to_int64_vector(), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(reduce("ReduceMax", {1}, 0, 18, ints({2, 2}, {-5, -7, 3, 2}))[0].to_int64_vector(),
            (std::vector<int64_t>{-5, 3}));
  EXPECT_EQ(reduce("ReduceL1", {1}, 0, 18, ints({1, 2}, {-5, 7}))[0].to_int64_vector(), (std::vector<int64_t>{12}));
}

TEST(Reduce, MaxPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto y = reduce("ReduceMax", {1}, 0, 18, floats({2, 2}, {1, nan, nan, 2}));
  EXPECT_TRUE(std::isnan(y[0].as_double(0)));
  EXPECT_TRUE(std::isnan(y[0].as_double(1)));
}

TEST(Reduce, InfersShapesWhenTheAxesAreUnknown) {
  const TensorType x = type_of(DType::Float, {Dim::symbol("N"), Dim::of(1), Dim::of(5)});
  const TensorType axes = type_of(DType::Int64, {Dim::of(1)});
  auto kept = infer_op("ReduceMean", {x, axes}, {}, 18);
  EXPECT_EQ(kept[0].str(), "float32[?,1,?]");
  auto dropped = infer_op("ReduceMean", {x, axes}, {int_attr("keepdims", 0)}, 18);
  EXPECT_FALSE(dropped[0].has_rank());
  const Tensor known = ints({1}, {-1});
  auto from_value = infer_op("ReduceMean", {x, axes}, {int_attr("keepdims", 0)}, 18, 1, {nullptr, &known});
  EXPECT_EQ(from_value[0].str(), "float32[N,1]");
}

TEST(Reduce, LogSumExpOfMinusInfinity) {
  const float inf = std::numeric_limits<float>::infinity();
  auto y = reduce("ReduceLogSumExp", {1}, 0, 18, floats({2, 2}, {-inf, -inf, -inf, 0}));
  expect_near(y[0], {-std::numeric_limits<double>::infinity(), 0});
}

TEST(Reduce, RejectsBadAxes) {
  EXPECT_THROW(reduce("ReduceSum", {2}), Error);
  EXPECT_THROW(reduce("ReduceSum", {1, -1}), Error);
}

// ---------------------------------------------------------------- ArgMax, ArgMin

TEST(ArgReduce, AxisKeepdimsAndLastIndex) {
  const Tensor x = floats({2, 3}, {1, 5, 5, 7, 0, 0});
  auto amax = run_op("ArgMax", {x}, {int_attr("axis", 1)});
  EXPECT_EQ(amax[0].dtype(), DType::Int64);
  EXPECT_EQ(amax[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(amax[0].to_int64_vector(), (std::vector<int64_t>{1, 0}));
  auto last = run_op("ArgMax", {x}, {int_attr("axis", -1), int_attr("keepdims", 0), int_attr("select_last_index", 1)});
  EXPECT_EQ(last[0].shape(), (Shape{2}));
  EXPECT_EQ(last[0].to_int64_vector(), (std::vector<int64_t>{2, 0}));
  auto amin = run_op("ArgMin", {x}, {int_attr("select_last_index", 1)});
  EXPECT_EQ(amin[0].shape(), (Shape{1, 3}));
  EXPECT_EQ(amin[0].to_int64_vector(), (std::vector<int64_t>{0, 1, 1}));
  auto amin_last = run_op("ArgMin", {x}, {int_attr("axis", 1), int_attr("keepdims", 0), int_attr("select_last_index", 1)});
  EXPECT_EQ(amin_last[0].to_int64_vector(), (std::vector<int64_t>{0, 2}));
  auto ints_arg = run_op("ArgMax", {ints({3}, {-1, 9, 9})}, {int_attr("keepdims", 0)});
  EXPECT_EQ(ints_arg[0].to_int64_vector(), (std::vector<int64_t>{1}));
}

// ---------------------------------------------------------------- Softmax family

TEST(Softmax, OneAxisFromOpset13) {
  const Tensor x = floats({2, 2}, {0, 0, 1, 3});
  auto y = run_op("Softmax", {x}, {int_attr("axis", 0)}, 13);
  const double e = 1 / (1 + std::exp(1.0)), f = 1 / (1 + std::exp(3.0));
  expect_near(y[0], {e, f, 1 - e, 1 - f});
  auto last = run_op("Softmax", {x}, {}, 13);  // default axis -1
  expect_near(last[0], {0.5, 0.5, 1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(-2.0))});
}

TEST(Softmax, BeforeOpset13TheInputIsCoercedTo2D) {
  // axis 1 (the default) of a [1,2,2]: all four elements form one row.
  const Tensor x = floats({1, 2, 2}, {0, 0, 0, 0});
  expect_near(run_op("Softmax", {x}, {}, 11)[0], {0.25, 0.25, 0.25, 0.25});
  expect_near(run_op("Softmax", {x}, {}, 13)[0], {0.5, 0.5, 0.5, 0.5});
  expect_near(run_op("LogSoftmax", {x}, {int_attr("axis", 2)}, 11)[0], std::vector<double>(4, std::log(0.5)));
  auto h = run_op("Hardmax", {floats({1, 2, 2}, {1, 3, 3, 2})}, {}, 11);
  EXPECT_EQ(values_f(h[0]), (std::vector<float>{0, 1, 0, 0}));
  auto h13 = run_op("Hardmax", {floats({1, 2, 2}, {1, 3, 3, 2})}, {int_attr("axis", 1)}, 13);
  EXPECT_EQ(values_f(h13[0]), (std::vector<float>{0, 1, 1, 0}));
}

TEST(Softmax, NegativeAxisBeforeOpset13) {
  // axis -1 of a [2,2]: rows of two.
  auto y = run_op("Softmax", {floats({2, 2}, {0, 0, 5, 5})}, {int_attr("axis", -1)}, 11);
  expect_near(y[0], {0.5, 0.5, 0.5, 0.5});
  auto z = run_op("Softmax", {floats({2, 2}, {0, 0, 5, 5})}, {int_attr("axis", 0)}, 11);
  const double s = 2 + 2 * std::exp(5.0);
  expect_near(z[0], {1 / s, 1 / s, std::exp(5.0) / s, std::exp(5.0) / s});
}

TEST(Softmax, LargeNumbersStayFinite) {
  const Tensor x = floats({1, 3}, {10000, 10001, 10002});
  auto y = run_op("Softmax", {x});
  const double s = 1 + std::exp(1.0) + std::exp(2.0);
  expect_near(y[0], {1 / s, std::exp(1.0) / s, std::exp(2.0) / s});
  auto l = run_op("LogSoftmax", {x});
  expect_near(l[0], {-std::log(s), 1 - std::log(s), 2 - std::log(s)}, 1e-4);
  auto d = run_op("LogSoftmax", {doubles({2}, {-1e300, 0})});
  expect_near(d[0], {-1e300, 0}, 1e-9);
}

TEST(Softmax, RejectsBadAxis) {
  EXPECT_THROW(run_op("Softmax", {floats({2, 2}, {0, 0, 0, 0})}, {int_attr("axis", 2)}, 13), Error);
  EXPECT_THROW(run_op("LogSoftmax", {ints({2}, {0, 0})}), Error);
}

// ---------------------------------------------------------------- ONNX node tests

namespace {

namespace fs = std::filesystem;

// Runs the node tests under `dir` whose names match `pattern`; composite (*_expanded) tests that
// use ops the interpreter cannot run yet are left out.
void check_node_tests(const std::string& dir, const std::regex& pattern) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) GTEST_SKIP() << "no node tests at '" << dir << "'";
  int checked = 0;
  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(dir))
    if (std::regex_match(e.path().filename().string(), pattern)) tests.push_back(e.path());
  std::sort(tests.begin(), tests.end());
  for (const fs::path& t : tests) {
    const std::string name = t.filename().string();
    if (name.find("_expanded") != std::string::npos) {
      const Model m = load_model((t / "model.onnx").string());
      if (!Interpreter(m).unsupported_ops().empty()) continue;
    }
    const CheckSummary s = run_check(t.string(), CheckOptions{});
    for (const CheckOutcome& o : s.outcomes)
      EXPECT_NE(o.status, CheckOutcome::Status::Fail) << o.name << ": " << o.detail;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

const std::regex kMathTests(
    "test_(matmul|gemm|einsum|reduce_|argmax|argmin|softmax|logsoftmax|hardmax).*");

}  // namespace

TEST(MathNodeTests, Onnx1_16) {
  const std::string shared = shared_dir();
  check_node_tests(shared.empty() ? "" : shared + "/onnx-node-tests", kMathTests);
}

TEST(MathNodeTests, DebianLibonnxTestdata) {
  check_node_tests("/usr/share/libonnx-testdata/data/node", kMathTests);
}
