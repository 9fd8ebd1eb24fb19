#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <numbers>

#include "interp/conformance.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
using ::testing::HasSubstr;

namespace {

template <class T>
Tensor tensor(const Shape& shape, const std::vector<T>& v) {
  return Tensor::from_vector<T>(shape, v);
}

Tensor bools(const Shape& shape, const std::vector<bool>& v) {
  Tensor t(DType::Bool, shape);
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<bool>()[i] = v[i];
  return t;
}

Tensor halfs(const Shape& shape, const std::vector<float>& v) {
  Tensor t(DType::Float16, shape);
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<Half>()[i] = float_to_half(v[i]);
  return t;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  const auto s = t.values<T>();
  return std::vector<T>(s.begin(), s.end());
}

std::vector<bool> values_b(const Tensor& t) {
  std::vector<bool> r;
  for (bool b : t.values<bool>()) r.push_back(b);
  return r;
}

// Message of the Error that running the op throws ("" when it does not throw).
std::string run_error(const std::string& op, const std::vector<Tensor>& inputs,
                      const std::vector<Attribute>& attrs = {}, int64_t opset = 17,
                      size_t num_outputs = 1) {
  try {
    run_op(op, inputs, attrs, opset, num_outputs);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Tensor run1(const std::string& op, const std::vector<Tensor>& inputs,
            const std::vector<Attribute>& attrs = {}, int64_t opset = 17) {
  return run_op(op, inputs, attrs, opset)[0];
}

void expect_near_all(const std::vector<float>& actual, const std::vector<float>& expected,
                     float tol = 1e-6f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << "element " << i;
      continue;
    }
    EXPECT_NEAR(actual[i], expected[i], tol * std::max(1.0f, std::fabs(expected[i]))) << "element " << i;
  }
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

// ---------------------------------------------------------------- binary arithmetic

TEST(Elementwise, AddBroadcasts) {
  auto out = run_op("Add", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({3}, {10, 20, 30})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(Elementwise, AddRejectsIncompatibleShapes) {
  EXPECT_THROW(run_op("Add", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({2}, {1, 2})}), Error);
}

TEST(Elementwise, AddInfersSymbolicBroadcast) {
  auto t = infer_op("Add", {TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::of(3)}},
                            TensorType{DType::Float, Dims{Dim::of(1), Dim::of(3)}}});
  EXPECT_EQ(t[0].str(), "float32[N,3]");
}

TEST(Elementwise, ArithmeticRejectsMixedTypes) {
  EXPECT_THAT(run_error("Mul", {floats({1}, {1}), ints({1}, {1})}), HasSubstr("different element types"));
  EXPECT_THAT(run_error("Add", {bools({1}, {true}), bools({1}, {true})}), HasSubstr("element type bool"));
}

TEST(Elementwise, IntegerArithmeticWraps) {
  const int32_t mx = std::numeric_limits<int32_t>::max(), mn = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values<int32_t>(run1("Add", {tensor<int32_t>({1}, {mx}), tensor<int32_t>({1}, {1})})),
            std::vector<int32_t>{mn});
  EXPECT_EQ(values<int32_t>(run1("Sub", {tensor<int32_t>({1}, {mn}), tensor<int32_t>({1}, {1})})),
            std::vector<int32_t>{mx});
  // uint16 * uint16 would overflow int after promotion; it must wrap modulo 2^16 instead.
  EXPECT_EQ(values<uint16_t>(run1("Mul", {tensor<uint16_t>({1}, {65535}), tensor<uint16_t>({1}, {65535})})),
            std::vector<uint16_t>{1});
  EXPECT_EQ(values<int8_t>(run1("Neg", {tensor<int8_t>({2}, {-128, 5})})), (std::vector<int8_t>{-128, -5}));
  EXPECT_EQ(values<int8_t>(run1("Abs", {tensor<int8_t>({3}, {-128, -3, 4})})),
            (std::vector<int8_t>{-128, 3, 4}));
}

TEST(Elementwise, IntegerDivisionTruncatesAndIsSafe) {
  EXPECT_EQ(values<int64_t>(run1("Div", {ints({4}, {7, -7, 7, -7}), ints({4}, {2, 2, -2, -2})})),
            (std::vector<int64_t>{3, -3, -3, 3}));
  const int64_t mn = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(values<int64_t>(run1("Div", {ints({1}, {mn}), ints({1}, {-1})})), std::vector<int64_t>{mn});
  const int32_t mn32 = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values<int32_t>(run1("Div", {tensor<int32_t>({1}, {mn32}), tensor<int32_t>({1}, {-1})})),
            std::vector<int32_t>{mn32});
  EXPECT_THAT(run_error("Div", {ints({2}, {1, 2}), ints({2}, {1, 0})}), HasSubstr("division by zero"));
  EXPECT_EQ(values<uint8_t>(run1("Div", {tensor<uint8_t>({1}, {255}), tensor<uint8_t>({1}, {2})})),
            std::vector<uint8_t>{127});
}

TEST(Elementwise, FloatDivisionByZeroGivesInfinity) {
  const auto v = values_f(run1("Div", {floats({3}, {1, -1, 0}), floats({3}, {0, 0, 0})}));
  EXPECT_EQ(v[0], kInf);
  EXPECT_EQ(v[1], -kInf);
  EXPECT_TRUE(std::isnan(v[2]));
}

TEST(Elementwise, ModFollowsDivisorSignUnlessFmod) {
  const Tensor x = ints({6}, {-4, 7, 5, 4, -7, 8}), y = ints({6}, {2, -3, 8, -2, 3, 5});
  EXPECT_EQ(values<int64_t>(run1("Mod", {x, y})), (std::vector<int64_t>{0, -2, 5, 0, 2, 3}));
  EXPECT_EQ(values<int64_t>(run1("Mod", {x, y}, {Attribute::make_int("fmod", 1)})),
            (std::vector<int64_t>{0, 1, 5, 0, -1, 3}));
  const int32_t mn = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values<int32_t>(run1("Mod", {tensor<int32_t>({1}, {mn}), tensor<int32_t>({1}, {-1})})),
            std::vector<int32_t>{0});
  EXPECT_THAT(run_error("Mod", {ints({1}, {1}), ints({1}, {0})}), HasSubstr("modulo by zero"));
}

TEST(Elementwise, FloatModNeedsFmod) {
  expect_near_all(values_f(run1("Mod", {floats({3}, {-4.5f, 7, 5.5f}), floats({3}, {2, -3, 2})},
                                {Attribute::make_int("fmod", 1)})),
                  {-0.5f, 1, 1.5f});
  EXPECT_THAT(run_error("Mod", {floats({1}, {1}), floats({1}, {2})}), HasSubstr("requires fmod=1"));
  // float16 too, computed in float.
  EXPECT_EQ(values_f(run1("Mod", {halfs({2}, {-4.5f, 7}), halfs({2}, {2, -3})}, {Attribute::make_int("fmod", 1)})),
            (std::vector<float>{-0.5f, 1}));
}

TEST(Elementwise, PowMixesBaseAndExponentTypes) {
  // float base, int64 exponent: output float.
  Tensor out = run1("Pow", {floats({3}, {2, 3, -2}), ints({3}, {3, 2, 3})});
  EXPECT_EQ(out.dtype(), DType::Float);
  EXPECT_EQ(values_f(out), (std::vector<float>{8, 9, -8}));
  // int64 base, float exponent: output int64, truncated.
  out = run1("Pow", {ints({3}, {1, 2, 3}), floats({3}, {4, 5, 0.5f})});
  EXPECT_EQ(out.dtype(), DType::Int64);
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{1, 32, 1}));
  // Integer powers are exact (not via double) and wrap.
  out = run1("Pow", {ints({2}, {3, 2}), ints({2}, {39, 64})});
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{4052555153018976267LL, 0}));
  out = run1("Pow", {tensor<int32_t>({4}, {2, 1, -1, -1}), tensor<int32_t>({4}, {-1, -5, -3, -2})});
  EXPECT_EQ(values<int32_t>(out), (std::vector<int32_t>{0, 1, -1, 1}));
  EXPECT_THAT(run_error("Pow", {ints({1}, {0}), ints({1}, {-1})}), HasSubstr("negative power"));
  // Before opset 12 both inputs have one type.
  EXPECT_THAT(run_error("Pow", {floats({1}, {2}), ints({1}, {3})}, {}, 7), HasSubstr("different element types"));
}

TEST(Elementwise, BitShift) {
  const Tensor x = tensor<uint8_t>({4}, {16, 4, 1, 255}), s = tensor<uint8_t>({4}, {1, 2, 7, 8});
  EXPECT_EQ(values<uint8_t>(run1("BitShift", {x, s}, {Attribute::make_string("direction", "RIGHT")})),
            (std::vector<uint8_t>{8, 1, 0, 0}));
  EXPECT_EQ(values<uint8_t>(run1("BitShift", {x, s}, {Attribute::make_string("direction", "LEFT")})),
            (std::vector<uint8_t>{32, 16, 128, 0}));
  EXPECT_EQ(values<uint16_t>(run1("BitShift", {tensor<uint16_t>({1}, {65535}), tensor<uint16_t>({1}, {15})},
                                  {Attribute::make_string("direction", "LEFT")})),
            std::vector<uint16_t>{32768});
  EXPECT_THAT(run_error("BitShift", {x, s}, {Attribute::make_string("direction", "UP")}),
              HasSubstr("direction"));
  EXPECT_THAT(run_error("BitShift", {ints({1}, {1}), ints({1}, {1})}, {Attribute::make_string("direction", "LEFT")}),
              HasSubstr("int64"));
}

TEST(Elementwise, LegacyBroadcastWithAxis) {
  // Opset 6: B of shape [3] aligned with axis 1 of A [2,3,2].
  const Tensor a = floats({2, 3, 2}, {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1});
  const Tensor b = floats({3}, {10, 20, 30});
  const std::vector<Attribute> attrs = {Attribute::make_int("broadcast", 1), Attribute::make_int("axis", 1)};
  const Tensor out = run1("Add", {a, b}, attrs, 6);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values_f(out), (std::vector<float>{10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31}));
  const auto t = infer_op("Mul", {TensorType::of(DType::Float, Shape{2, 3, 2}), TensorType::of(DType::Float, Shape{3})},
                          attrs, 6);
  EXPECT_EQ(t[0].str(), "float32[2,3,2]");
}

// ---------------------------------------------------------------- unary math

TEST(Elementwise, UnaryMath) {
  const Tensor x = floats({3}, {0.25f, 0.5f, 0.75f});
  struct Case {
    const char* op;
    double (*f)(double);
  };
  const Case cases[] = {{"Exp", std::exp},   {"Log", std::log},     {"Sqrt", std::sqrt}, {"Sin", std::sin},
                        {"Cos", std::cos},   {"Tan", std::tan},     {"Asin", std::asin}, {"Acos", std::acos},
                        {"Atan", std::atan}, {"Sinh", std::sinh},   {"Cosh", std::cosh}, {"Asinh", std::asinh},
                        {"Atanh", std::atanh}, {"Tanh", std::tanh}, {"Erf", std::erf}};
  for (const Case& c : cases) {
    std::vector<float> want;
    for (float v : values_f(x)) want.push_back(float(c.f(v)));
    SCOPED_TRACE(c.op);
    expect_near_all(values_f(run1(c.op, {x})), want);
  }
  expect_near_all(values_f(run1("Acosh", {floats({2}, {1, 2})})), {0, float(std::acosh(2.0))});
  expect_near_all(values_f(run1("Reciprocal", {floats({2}, {4, -0.5f})})), {0.25f, -2});
  expect_near_all(values_f(run1("Sigmoid", {floats({3}, {0, -100, 100})})), {0.5f, float(1 / (1 + std::exp(100.0))), 1});
  EXPECT_EQ(values_f(run1("Ceil", {floats({3}, {-1.5f, 1.2f, 2})})), (std::vector<float>{-1, 2, 2}));
  EXPECT_EQ(values_f(run1("Floor", {floats({3}, {-1.5f, 1.2f, 2})})), (std::vector<float>{-2, 1, 2}));
  EXPECT_THAT(run_error("Exp", {ints({1}, {1})}), HasSubstr("int64"));
}

TEST(Elementwise, RoundHalfToEven) {
  const auto v = values_f(run1("Round", {floats({10}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f, 2.6f, -0.4f, kNaN})}));
  expect_near_all(v, {0, 2, 2, -0.0f, -2, -2, 2, 3, -0.0f, kNaN});
  EXPECT_TRUE(std::signbit(v[8]));  // -0.4 rounds to -0
}

TEST(Elementwise, SignAndAbsOnAllTypes) {
  EXPECT_EQ(values_f(run1("Sign", {floats({4}, {-2, 0, 3, -0.0f})})), (std::vector<float>{-1, 0, 1, 0}));
  EXPECT_TRUE(std::isnan(values_f(run1("Sign", {floats({1}, {kNaN})}))[0]));
  EXPECT_EQ(values<int32_t>(run1("Sign", {tensor<int32_t>({3}, {-7, 0, 9})})), (std::vector<int32_t>{-1, 0, 1}));
  EXPECT_EQ(values<uint8_t>(run1("Sign", {tensor<uint8_t>({2}, {0, 200})})), (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(values<uint8_t>(run1("Abs", {tensor<uint8_t>({1}, {200})})), std::vector<uint8_t>{200});
  EXPECT_THAT(run_error("Neg", {tensor<uint8_t>({1}, {1})}), HasSubstr("uint8"));
}

TEST(Elementwise, IsNaNIsInf) {
  const Tensor x = floats({4}, {1, kNaN, kInf, -kInf});
  Tensor out = run1("IsNaN", {x});
  EXPECT_EQ(out.dtype(), DType::Bool);
  EXPECT_EQ(values_b(out), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(values_b(run1("IsInf", {x})), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(values_b(run1("IsInf", {x}, {Attribute::make_int("detect_negative", 0)})),
            (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(values_b(run1("IsInf", {x}, {Attribute::make_int("detect_positive", 0)})),
            (std::vector<bool>{false, false, false, true}));
}

TEST(Elementwise, Float16ComputesInFloatAndRoundsBack) {
  Tensor out = run1("Exp", {halfs({2}, {0, 1})});
  EXPECT_EQ(out.dtype(), DType::Float16);
  EXPECT_EQ(out.values<Half>()[0].bits, float_to_half(1).bits);
  EXPECT_EQ(out.values<Half>()[1].bits, float_to_half(std::exp(1.0f)).bits);
  out = run1("Relu", {halfs({2}, {-1, 2})});
  EXPECT_EQ(values_f(out), (std::vector<float>{0, 2}));
  out = run1("Add", {halfs({1}, {1}), halfs({1}, {0.0004f})});  // 1 + 0.0004 rounds to 1 in float16
  EXPECT_EQ(values_f(out), std::vector<float>{1});
}

// ---------------------------------------------------------------- variadic

TEST(Elementwise, VariadicBroadcastsAllInputs) {
  const Tensor a = floats({3, 1}, {1, 2, 3}), b = floats({2}, {10, 20}), c = floats({}, {100});
  Tensor out = run1("Sum", {a, b, c});
  EXPECT_EQ(out.shape(), (Shape{3, 2}));
  EXPECT_EQ(values_f(out), (std::vector<float>{111, 121, 112, 122, 113, 123}));
  out = run1("Mean", {a, b});
  EXPECT_EQ(values_f(out), (std::vector<float>{5.5f, 10.5f, 6, 11, 6.5f, 11.5f}));
  out = run1("Max", {a, floats({2}, {2, 0})});
  EXPECT_EQ(values_f(out), (std::vector<float>{2, 1, 2, 2, 3, 3}));
  out = run1("Min", {a});
  EXPECT_EQ(values_f(out), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(values<int32_t>(run1("Max", {tensor<int32_t>({2}, {-5, 7}), tensor<int32_t>({2}, {3, 1})})),
            (std::vector<int32_t>{3, 7}));
  EXPECT_THAT(run_error("Sum", {ints({1}, {1})}), HasSubstr("int64"));
  EXPECT_THAT(run_error("Sum", {}), HasSubstr("at least 1"));
}

TEST(Elementwise, MaxMinPropagateNaN) {
  EXPECT_TRUE(std::isnan(values_f(run1("Max", {floats({1}, {kNaN}), floats({1}, {1})}))[0]));
  EXPECT_TRUE(std::isnan(values_f(run1("Min", {floats({1}, {1}), floats({1}, {kNaN})}))[0]));
}

// ---------------------------------------------------------------- comparisons, logic, Where

TEST(Elementwise, ComparisonsGiveBool) {
  const Tensor a = floats({3}, {1, 2, 3}), b = floats({1}, {2});
  struct Case {
    const char* op;
    std::vector<bool> want;
  };
  for (const Case& c : {Case{"Equal", {false, true, false}}, Case{"Greater", {false, false, true}},
                        Case{"Less", {true, false, false}}, Case{"GreaterOrEqual", {false, true, true}},
                        Case{"LessOrEqual", {true, true, false}}}) {
    SCOPED_TRACE(c.op);
    const Tensor out = run1(c.op, {a, b});
    EXPECT_EQ(out.dtype(), DType::Bool);
    EXPECT_EQ(values_b(out), c.want);
  }
  EXPECT_EQ(values_b(run1("Equal", {bools({2}, {true, false}), bools({2}, {true, true})})),
            (std::vector<bool>{true, false}));
  EXPECT_EQ(values_b(run1("Equal", {tensor<int32_t>({2}, {4, 5}), tensor<int32_t>({}, {5})})),
            (std::vector<bool>{false, true}));
  EXPECT_EQ(values_b(run1("Equal", {Tensor::from_strings({2}, {"a", "b"}), Tensor::from_strings({}, {"b"})})),
            (std::vector<bool>{false, true}));
  EXPECT_THAT(run_error("Greater", {bools({1}, {true}), bools({1}, {true})}), HasSubstr("bool"));
}

TEST(Elementwise, Logic) {
  const Tensor a = bools({2, 2}, {false, false, true, true}), b = bools({2}, {false, true});
  EXPECT_EQ(values_b(run1("And", {a, b})), (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(values_b(run1("Or", {a, b})), (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(values_b(run1("Xor", {a, b})), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(values_b(run1("Not", {b})), (std::vector<bool>{true, false}));
  EXPECT_THAT(run_error("And", {floats({1}, {1}), floats({1}, {1})}), HasSubstr("float32"));
}

TEST(Elementwise, WhereBroadcastsThreeWays) {
  const Tensor cond = bools({2, 1}, {true, false});
  const Tensor x = ints({3}, {1, 2, 3}), y = ints({}, {-1});
  const Tensor out = run1("Where", {cond, x, y});
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{1, 2, 3, -1, -1, -1}));
  EXPECT_THAT(run_error("Where", {floats({1}, {1}), x, y}), HasSubstr("bool"));
  EXPECT_THAT(run_error("Where", {cond, x, floats({1}, {1})}), HasSubstr("different element types"));
  const auto t = infer_op("Where", {TensorType{DType::Bool, Dims{Dim::symbol("B"), Dim::of(1)}},
                                    TensorType::of(DType::Float, Shape{4}), TensorType::of(DType::Float, Shape{1, 1})});
  EXPECT_EQ(t[0].str(), "float32[B,4]");
}

// ---------------------------------------------------------------- Clip

TEST(Elementwise, ClipWithInputs) {
  const Tensor x = floats({5}, {-3, -1, 0, 1, 3});
  EXPECT_EQ(values_f(run1("Clip", {x, floats({}, {-1}), floats({}, {2})})), (std::vector<float>{-1, -1, 0, 1, 2}));
  EXPECT_EQ(values_f(run1("Clip", {x, Tensor(), floats({}, {0})})), (std::vector<float>{-3, -1, 0, 0, 0}));
  EXPECT_EQ(values_f(run1("Clip", {x})), values_f(x));
  // min > max: everything becomes max.
  EXPECT_EQ(values_f(run1("Clip", {x, floats({}, {2}), floats({}, {1})})), (std::vector<float>{1, 1, 1, 1, 1}));
  // Infinities survive an absent bound; NaN stays NaN.
  const auto v = values_f(run1("Clip", {floats({3}, {kInf, -kInf, kNaN}), floats({}, {0})}));
  EXPECT_EQ(v[0], kInf);
  EXPECT_EQ(v[1], 0);
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_THAT(run_error("Clip", {x, floats({2}, {0, 1})}), HasSubstr("must be a scalar"));
}

TEST(Elementwise, ClipOnIntegers) {
  const Tensor x = tensor<int8_t>({4}, {-128, -5, 5, 127});
  EXPECT_EQ(values<int8_t>(run1("Clip", {x, tensor<int8_t>({}, {-10}), tensor<int8_t>({}, {10})})),
            (std::vector<int8_t>{-10, -5, 5, 10}));
  EXPECT_EQ(values<int8_t>(run1("Clip", {x, tensor<int8_t>({}, {0})})), (std::vector<int8_t>{0, 0, 5, 127}));
  EXPECT_EQ(values<int8_t>(run1("Clip", {x})), values<int8_t>(x));
}

TEST(Elementwise, ClipBeforeOpset11UsesAttributes) {
  const Tensor x = floats({3}, {-3, 0, 3});
  EXPECT_EQ(values_f(run1("Clip", {x}, {Attribute::make_float("min", -1), Attribute::make_float("max", 1)}, 6)),
            (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(values_f(run1("Clip", {x}, {Attribute::make_float("max", 1)}, 6)), (std::vector<float>{-3, 0, 1}));
}

// ---------------------------------------------------------------- Cast

TEST(Elementwise, CastFloatToIntTruncatesAndSaturates) {
  const Tensor x = floats({7}, {2.7f, -2.7f, 1e10f, -1e10f, kNaN, 300, -1});
  const auto to = [](DType t) { return std::vector<Attribute>{Attribute::make_int("to", int64_t(t))}; };
  EXPECT_EQ(values<int32_t>(run1("Cast", {x}, to(DType::Int32))),
            (std::vector<int32_t>{2, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0,
                                  300, -1}));
  EXPECT_EQ(values<uint8_t>(run1("Cast", {x}, to(DType::UInt8))), (std::vector<uint8_t>{2, 0, 255, 0, 0, 255, 0}));
  EXPECT_EQ(values<int64_t>(run1("Cast", {x}, to(DType::Int64)))[0], 2);
  EXPECT_EQ(values_b(run1("Cast", {x}, to(DType::Bool))), (std::vector<bool>{true, true, true, true, true, true, true}));
  EXPECT_EQ(values_b(run1("Cast", {floats({2}, {0, -0.0f})}, to(DType::Bool))), (std::vector<bool>{false, false}));
}

TEST(Elementwise, CastBetweenIntegersWraps) {
  const auto to = [](DType t) { return std::vector<Attribute>{Attribute::make_int("to", int64_t(t))}; };
  EXPECT_EQ(values<int8_t>(run1("Cast", {ints({3}, {300, -129, 5})}, to(DType::Int8))), (std::vector<int8_t>{44, 127, 5}));
  EXPECT_EQ(values<uint32_t>(run1("Cast", {ints({1}, {-1})}, to(DType::UInt32))), std::vector<uint32_t>{4294967295u});
  EXPECT_EQ(values_f(run1("Cast", {bools({2}, {true, false})}, to(DType::Float))), (std::vector<float>{1, 0}));
  EXPECT_EQ(values<int64_t>(run1("Cast", {bools({2}, {true, false})}, to(DType::Int64))), (std::vector<int64_t>{1, 0}));
}

TEST(Elementwise, CastTo16BitFloatsRoundsCorrectly) {
  const auto to = [](DType t) { return std::vector<Attribute>{Attribute::make_int("to", int64_t(t))}; };
  // 1 + 2^-11 is halfway between the float16 values 1 and 1 + 2^-10; a hair above it must round
  // up, which double -> float -> float16 would get wrong (the first step lands exactly on the tie).
  const double above_tie = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  Tensor out = run1("Cast", {tensor<double>({2}, {above_tie, 1.0 + std::ldexp(1.0, -11)})}, to(DType::Float16));
  EXPECT_EQ(out.values<Half>()[0].bits, 0x3c01);
  EXPECT_EQ(out.values<Half>()[1].bits, 0x3c00);  // exact tie: to even
  out = run1("Cast", {floats({3}, {65520, 1e-8f, -2})}, to(DType::Float16));
  EXPECT_EQ(values_f(out)[0], kInf);
  EXPECT_EQ(values_f(out)[1], 0);
  EXPECT_EQ(values_f(out)[2], -2);
  out = run1("Cast", {halfs({2}, {0.5f, -3})}, to(DType::Double));
  EXPECT_EQ(values<double>(out), (std::vector<double>{0.5, -3}));
  out = run1("Cast", {halfs({2}, {2.5f, -3.5f})}, to(DType::Int32));
  EXPECT_EQ(values<int32_t>(out), (std::vector<int32_t>{2, -3}));
  out = run1("Cast", {floats({1}, {1.00390625f})}, to(DType::BFloat16));  // tie between 1 and 1+2^-7: to even
  EXPECT_EQ(out.values<BFloat16>()[0].bits, 0x3f80);
}

TEST(Elementwise, CastStrings) {
  const auto to = [](DType t) { return std::vector<Attribute>{Attribute::make_int("to", int64_t(t))}; };
  Tensor out = run1("Cast", {floats({4}, {0.1f, -2, kInf, kNaN})}, to(DType::String));
  EXPECT_EQ(out.strings(), (std::vector<std::string>{"0.1", "-2", "INF", "NaN"}));
  out = run1("Cast", {Tensor::from_strings({5}, {"1.5", "+INF", "-inf", "NaN", "1e3"})}, to(DType::Float));
  const auto v = values_f(out);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], kInf);
  EXPECT_EQ(v[2], -kInf);
  EXPECT_TRUE(std::isnan(v[3]));
  EXPECT_EQ(v[4], 1000);
  out = run1("Cast", {Tensor::from_strings({2}, {"9007199254740993", "2.7"})}, to(DType::Int64));
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{9007199254740993LL, 2}));
  EXPECT_THAT(run_error("Cast", {Tensor::from_strings({1}, {"hello"})}, to(DType::Float)), HasSubstr("\"hello\""));
}

TEST(Elementwise, CastAttributeForms) {
  // Opset 1 spelled the target type as a string.
  Tensor out = run1("Cast", {ints({1}, {3})}, {Attribute::make_string("to", "FLOAT")}, 1);
  EXPECT_EQ(out.dtype(), DType::Float);
  EXPECT_THAT(run_error("Cast", {floats({1}, {1})}, {Attribute::make_int("to", 17)}, 19), HasSubstr("float8"));
  EXPECT_THAT(run_error("Cast", {floats({1}, {1})}), HasSubstr("'to' is required"));
  const auto t = infer_op("Cast", {TensorType{DType::Float, Dims{Dim::symbol("N")}}},
                          {Attribute::make_int("to", int64_t(DType::Int64))});
  EXPECT_EQ(t[0].str(), "int64[N]");
}

TEST(Elementwise, CastLikeTakesTheSecondInputsType) {
  Tensor out = run1("CastLike", {floats({2}, {1.9f, -1.9f}), tensor<int32_t>({}, {0})});
  EXPECT_EQ(out.dtype(), DType::Int32);
  EXPECT_EQ(out.shape(), (Shape{2}));
  EXPECT_EQ(values<int32_t>(out), (std::vector<int32_t>{1, -1}));
}

// ---------------------------------------------------------------- activations

TEST(Elementwise, Activations) {
  const Tensor x = floats({4}, {-2, -0.5f, 0.5f, 2});
  const auto ex = [](double v) { return float(std::exp(v)); };
  expect_near_all(values_f(run1("LeakyRelu", {x})), {-0.02f, -0.005f, 0.5f, 2});
  expect_near_all(values_f(run1("LeakyRelu", {x}, {Attribute::make_float("alpha", 0.5f)})), {-1, -0.25f, 0.5f, 2});
  expect_near_all(values_f(run1("Elu", {x})), {ex(-2) - 1, ex(-0.5) - 1, 0.5f, 2});
  const float a = 1.67326319217681884765625f, g = 1.05070102214813232421875f;
  expect_near_all(values_f(run1("Selu", {x})), {g * a * (ex(-2) - 1), g * a * (ex(-0.5) - 1), g * 0.5f, g * 2});
  expect_near_all(values_f(run1("Celu", {x}, {Attribute::make_float("alpha", 2)})),
                  {2 * (ex(-1) - 1), 2 * (ex(-0.25) - 1), 0.5f, 2});
  expect_near_all(values_f(run1("HardSigmoid", {x})), {0.1f, 0.4f, 0.6f, 0.9f});
  expect_near_all(values_f(run1("HardSwish", {floats({4}, {-4, -1, 1, 4})})), {0, -1.0f / 3, 2.0f / 3, 4});
  expect_near_all(values_f(run1("Softplus", {floats({3}, {-1, 0, 100})})), {float(std::log1p(std::exp(-1.0))), float(std::log(2.0)), 100});
  expect_near_all(values_f(run1("Softsign", {x})), {-2.0f / 3, -0.5f / 1.5f, 0.5f / 1.5f, 2.0f / 3});
  expect_near_all(values_f(run1("Mish", {floats({2}, {-1, 1})}, {}, 18)),
                  {float(-std::tanh(std::log1p(std::exp(-1.0)))), float(std::tanh(std::log1p(std::exp(1.0))))});
  expect_near_all(values_f(run1("ThresholdedRelu", {x}, {Attribute::make_float("alpha", 0.5f)})), {0, 0, 0, 2});
  expect_near_all(values_f(run1("Shrink", {x}, {Attribute::make_float("lambd", 1), Attribute::make_float("bias", 0.5f)})),
                  {-1.5f, 0, 0, 1.5f});
  EXPECT_EQ(values<int32_t>(run1("Shrink", {tensor<int32_t>({3}, {-5, 0, 5})}, {Attribute::make_float("bias", 1)})),
            (std::vector<int32_t>{-4, 0, 4}));
  EXPECT_EQ(values<int32_t>(run1("Relu", {tensor<int32_t>({2}, {-5, 5})})), (std::vector<int32_t>{0, 5}));
}

TEST(Elementwise, Gelu) {
  const Tensor x = floats({3}, {-1, 0, 1});
  const double c = std::erf(1 / std::sqrt(2.0));
  expect_near_all(values_f(run1("Gelu", {x}, {}, 20)), {float(-0.5 * (1 - c)), 0, float(0.5 * (1 + c))});
  const double k = std::sqrt(2 / std::numbers::pi) * (1 + 0.044715);
  expect_near_all(values_f(run1("Gelu", {x}, {Attribute::make_string("approximate", "tanh")}, 20)),
                  {float(-0.5 * (1 - std::tanh(k))), 0, float(0.5 * (1 + std::tanh(k)))});
  EXPECT_THAT(run_error("Gelu", {x}, {Attribute::make_string("approximate", "fast")}, 20), HasSubstr("approximate"));
}

TEST(Elementwise, PReluSlopeBroadcastsToX) {
  const Tensor x = floats({2, 2}, {-1, 2, -3, 4});
  EXPECT_EQ(values_f(run1("PRelu", {x, floats({2}, {0.1f, 0.2f})})), (std::vector<float>{-0.1f, 2, -0.3f, 4}));
  EXPECT_EQ(values_f(run1("PRelu", {x, floats({2, 1}, {0.5f, 2})})), (std::vector<float>{-0.5f, 2, -6, 4}));
  // The output keeps X's shape: a slope that would enlarge it is rejected.
  EXPECT_THAT(run_error("PRelu", {floats({2}, {-1, 1}), floats({3, 1}, {1, 2, 3})}), HasSubstr("does not broadcast"));
}

// ---------------------------------------------------------------- Dropout, Identity

TEST(Elementwise, DropoutIsIdentityInInference) {
  const Tensor x = floats({2, 2}, {1, 2, 3, 4});
  auto out = run_op("Dropout", {x}, {}, 13, 2);
  EXPECT_EQ(values_f(out[0]), values_f(x));
  EXPECT_EQ(out[1].dtype(), DType::Bool);
  EXPECT_EQ(values_b(out[1]), (std::vector<bool>{true, true, true, true}));
  // training_mode false, or true with ratio 0, is deterministic.
  out = run_op("Dropout", {x, floats({}, {0.5f}), bools({}, {false})}, {}, 13, 2);
  EXPECT_EQ(values_f(out[0]), values_f(x));
  out = run_op("Dropout", {x, floats({}, {0}), bools({}, {true})}, {}, 13, 2);
  EXPECT_EQ(values_f(out[0]), values_f(x));
  EXPECT_THAT(run_error("Dropout", {x, floats({}, {0.5f}), bools({}, {true})}, {}, 13),
              HasSubstr("training-mode Dropout is not supported"));
  EXPECT_THAT(run_error("Dropout", {x, Tensor(), bools({}, {true})}, {}, 13),
              HasSubstr("training-mode Dropout is not supported"));
}

TEST(Elementwise, OldDropoutMaskHasTheDataType) {
  const Tensor x = floats({2}, {1, 2});
  auto out = run_op("Dropout", {x}, {Attribute::make_int("is_test", 1)}, 6, 2);
  EXPECT_EQ(values_f(out[0]), values_f(x));
  EXPECT_EQ(out[1].dtype(), DType::Float);
  EXPECT_EQ(values_f(out[1]), (std::vector<float>{1, 1}));
  out = run_op("Dropout", {x}, {Attribute::make_float("ratio", 0.3f)}, 7, 2);
  EXPECT_EQ(out[1].dtype(), DType::Float);
  out = run_op("Dropout", {x}, {}, 10, 2);
  EXPECT_EQ(out[1].dtype(), DType::Bool);
  // Opsets 1-6 default to is_test=0, which the interpreter, like ONNX Runtime, runs as inference.
  EXPECT_EQ(values_f(run_op("Dropout", {x}, {}, 6, 1)[0]), values_f(x));
}

TEST(Elementwise, IdentityPassesAnyType) {
  const Tensor s = Tensor::from_strings({2}, {"a", "b"});
  EXPECT_EQ(run1("Identity", {s}).strings(), s.strings());
  EXPECT_EQ(values<int64_t>(run1("Identity", {ints({2}, {1, 2})})), (std::vector<int64_t>{1, 2}));
}

// ---------------------------------------------------------------- conformance

namespace {

// Node tests whose every op belongs to this family; from the shared ONNX 1.16 set.
const char* const kNodeTests[] = {
    "test_abs", "test_add", "test_add_bcast", "test_cast_DOUBLE_to_FLOAT", "test_cast_FLOAT16_to_FLOAT",
    "test_cast_FLOAT_to_DOUBLE", "test_cast_FLOAT_to_FLOAT16", "test_clip", "test_clip_default_inbounds",
    "test_clip_default_inbounds_expanded", "test_clip_default_max", "test_clip_default_min", "test_clip_example",
    "test_clip_inbounds", "test_clip_outbounds", "test_clip_splitbounds", "test_div", "test_div_bcast",
    "test_div_example", "test_dropout_default", "test_dropout_default_mask", "test_dropout_default_mask_ratio",
    "test_dropout_default_old", "test_dropout_default_ratio", "test_dropout_random_old", "test_equal",
    "test_equal_bcast", "test_erf", "test_exp", "test_exp_example", "test_gelu_default_1", "test_gelu_default_2",
    "test_gelu_tanh_1", "test_gelu_tanh_2", "test_hardsigmoid", "test_hardsigmoid_default",
    "test_hardsigmoid_example", "test_hardswish", "test_hardswish_expanded", "test_identity", "test_leakyrelu",
    "test_leakyrelu_default", "test_leakyrelu_example", "test_log", "test_log_example", "test_max_example",
    "test_max_float32", "test_max_one_input", "test_max_two_inputs", "test_mean_example", "test_mean_one_input",
    "test_mean_two_inputs", "test_min_example", "test_min_float32", "test_min_one_input", "test_min_two_inputs",
    "test_mul", "test_mul_bcast", "test_mul_example", "test_neg", "test_neg_example", "test_pow",
    "test_pow_bcast_array", "test_pow_bcast_scalar", "test_pow_example", "test_reciprocal",
    "test_reciprocal_example", "test_relu", "test_sigmoid", "test_sigmoid_example", "test_sqrt",
    "test_sqrt_example", "test_sub", "test_sub_bcast", "test_sub_example", "test_sum_example",
    "test_sum_one_input", "test_sum_two_inputs", "test_tanh", "test_tanh_example", "test_where_example",
};

void expect_passes(const std::string& dir) {
  const CheckSummary s = run_check(dir, CheckOptions{});
  for (const CheckOutcome& o : s.outcomes)
    EXPECT_EQ(o.status, CheckOutcome::Status::Pass) << o.name << ": " << o.detail;
}

}  // namespace

TEST(ElementwiseConformance, SharedNodeTests) {
  const std::string shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared is not present";
  for (const char* name : kNodeTests) {
    SCOPED_TRACE(name);
    expect_passes(shared + "/onnx-node-tests/" + name);
  }
}

// Debian's libonnx-testdata (ONNX 1.12), when installed: the tests of this family's ops that the
// shared set lacks. Excluded: the bfloat16 casts (that release stores bfloat16 data as uint16 and
// truncates instead of rounding) and training-mode Dropout (random outputs).
TEST(ElementwiseConformance, DebianNodeTests) {
  const std::filesystem::path root = "/usr/share/libonnx-testdata/data/node";
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) GTEST_SKIP() << root << " is not present (apt-get install libonnx-testdata)";
  const char* const prefixes[] = {
      "test_acos", "test_asin", "test_atan", "test_cos",
      "test_sin", "test_tan", "test_ceil", "test_floor", "test_round", "test_sign", "test_isnan",
      "test_isinf", "test_and", "test_or", "test_xor", "test_not", "test_greater", "test_less", "test_mod",
      "test_bitshift", "test_celu", "test_elu", "test_selu", "test_softplus", "test_softsign", "test_shrink",
      "test_thresholdedrelu", "test_prelu", "test_max_", "test_min_", "test_pow_types", "test_where_long",
      "test_clip_default_int8", "test_cast_", "test_castlike_", "test_training_dropout_zero_ratio",
      "test_add_uint8", "test_sub_uint8", "test_mul_uint8", "test_div_uint8"};
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    bool wanted = false;
    for (const char* p : prefixes) wanted |= name.rfind(p, 0) == 0;
    if (!wanted || name.find("BFLOAT16") != std::string::npos) continue;
    SCOPED_TRACE(name);
    expect_passes(e.path().string());
    ++checked;
  }
  EXPECT_GT(checked, 100);
}
