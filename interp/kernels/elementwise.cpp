// Elementwise kernels: unary math, binary arithmetic, comparisons, logic, Where, Clip, Cast and the
// activations.
//
// Conventions (the reference interpreter defines what C++ and sometimes ONNX leave open):
//   - float16 and bfloat16 are computed in float and rounded back (to nearest even) per element.
//   - Integer Add/Sub/Mul/Neg/Abs/Pow wrap around (two's complement), like numpy and ONNX Runtime.
//   - Integer Div and Mod by zero fail; INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0.
//   - Float -> integer Cast truncates toward zero and saturates at the target's range; NaN gives 0.
//     (ONNX leaves out-of-range conversions undefined.)
//   - Max, Min, Clip and the activations propagate NaN, as numpy (ONNX's reference) does.
#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>

#include "interp/kernel_util.h"

namespace eqopt {

namespace {

// ---------------------------------------------------------------- element types

template <class T>
inline constexpr bool is_16bit_float_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// The type arithmetic on T happens in: float for the 16-bit floats, T itself otherwise.
template <class T>
using calc_t = std::conditional_t<is_16bit_float_v<T>, float, T>;

template <class T>
calc_t<T> load(T v) {
  if constexpr (std::is_same_v<T, Half>)
    return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>)
    return bfloat16_to_float(v);
  else
    return v;
}

template <class T>
T store(calc_t<T> v) {
  if constexpr (std::is_same_v<T, Half>)
    return float_to_half(v);
  else if constexpr (std::is_same_v<T, BFloat16>)
    return float_to_bfloat16(v);
  else
    return v;
}

template <class C>
bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>)
    return std::isnan(v);
  else
    return false;
}

template <class C>
bool is_negative(C v) {
  if constexpr (std::is_signed_v<C>)
    return v < C(0);
  else
    return false;
}

// Unsigned type at least as wide as unsigned int, so that arithmetic on it never promotes to (signed)
// int; converting the result back to T wraps modulo 2^bits (well defined since C++20).
template <class T>
using wide_unsigned_t =
    std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <class C>
C wrapping_add(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = wide_unsigned_t<C>;
    return C(U(a) + U(b));
  } else {
    return a + b;
  }
}
template <class C>
C wrapping_sub(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = wide_unsigned_t<C>;
    return C(U(a) - U(b));
  } else {
    return a - b;
  }
}
template <class C>
C wrapping_mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = wide_unsigned_t<C>;
    return C(U(a) * U(b));
  } else {
    return a * b;
  }
}
template <class C>
C wrapping_neg(C a) {
  return wrapping_sub(C(0), a);
}

// double -> integer: truncation toward zero, saturating at the range, NaN -> 0.
template <class TO>
TO saturate_cast(double v) {
  if (std::isnan(v)) return TO(0);
  constexpr TO lo = std::numeric_limits<TO>::lowest(), hi = std::numeric_limits<TO>::max();
  if (v <= double(lo)) return lo;
  if (v >= double(hi)) return hi;  // double(hi) may round up to 2^bits, which is out of range too
  return TO(v);
}

// double -> float rounded to odd: the nearest float when exact, else whichever of the two floats
// around v has an odd last mantissa bit. Rounding that to a 16-bit float (to nearest even) gives the
// correctly rounded 16-bit result, which rounding double -> float -> 16-bit would not always do.
float to_float_round_odd(double v) {
  float f = float(v);
  if (!std::isfinite(f) || double(f) == v) return f;
  if ((std::bit_cast<uint32_t>(f) & 1u) == 0)
    f = std::nextafter(f, double(f) < v ? std::numeric_limits<float>::infinity()
                                        : -std::numeric_limits<float>::infinity());
  return f;
}

// ---------------------------------------------------------------- dispatch

// float32, float64, float16, bfloat16.
template <class F>
decltype(auto) dispatch_floating(DType t, F&& f) {
  switch (t) {
    case DType::Float16: return f(TypeTag<Half>{});
    case DType::BFloat16: return f(TypeTag<BFloat16>{});
    default: return dispatch_float(t, std::forward<F>(f));
  }
}

// Every numeric type, the 16-bit floats included (no bool).
template <class F>
decltype(auto) dispatch_arith(DType t, F&& f) {
  switch (t) {
    case DType::Float16: return f(TypeTag<Half>{});
    case DType::BFloat16: return f(TypeTag<BFloat16>{});
    default: return dispatch_numeric(t, std::forward<F>(f));
  }
}

template <class F>
decltype(auto) dispatch_unsigned(DType t, F&& f) {
  switch (t) {
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::UInt16: return f(TypeTag<uint16_t>{});
    case DType::UInt32: return f(TypeTag<uint32_t>{});
    case DType::UInt64: return f(TypeTag<uint64_t>{});
    default: fail("element type ", dtype_short_name(t), " is not supported here (unsigned integers only)");
  }
}

// ---------------------------------------------------------------- iteration

template <class TI, class TO, class F>
void map_unary(const Tensor& x, Tensor& out, F&& f) {
  const TI* px = x.data<TI>();
  TO* po = out.mutable_data<TO>();
  for (int64_t i = 0; i < x.numel(); ++i) po[i] = f(px[i]);
}

// out[i] = f(a[...], b[...]) with numpy broadcasting to out's shape.
template <class TA, class TB, class TO, class F>
void map_binary(const Tensor& a, const Tensor& b, Tensor& out, F&& f) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = out.mutable_data<TO>();
  const std::vector<int64_t> strides[2] = {broadcast_strides(a.shape(), out.shape()),
                                           broadcast_strides(b.shape(), out.shape())};
  for_each_broadcast(out.shape(), strides, [&](int64_t i, const int64_t* o) {
    po[i] = f(pa[o[0]], pb[o[1]]);
  });
}

// Input 1 of a binary op, reshaped for the legacy broadcasting of opsets 1-6 (broadcast=1 with an
// axis: B's dims line up with A's starting at axis), so that numpy broadcasting gives that result.
// Mirrors legacy_aligned_dims in ir/ops/elementwise.cpp.
Tensor second_operand(const KernelContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  const Node& n = ctx.node();
  if (ctx.opset() >= 7 || n.attr_int("broadcast", 0) == 0 || !n.has_attr("axis")) return b;
  const int64_t axis = normalize_axis(ctx, n.attr_int("axis", 0), a.rank());
  if (axis + b.rank() > a.rank())
    ctx.fail("legacy broadcast of ", shape_str(b.shape()), " at axis ", axis, " does not fit ",
             shape_str(a.shape()));
  Shape s = b.shape();
  s.resize(size_t(a.rank() - axis), 1);
  return b.reshaped(s);
}

// y = f(x) for the floating types; f sees float (16-bit types), float or double.
template <class F>
void unary_floating(KernelContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  Tensor& out = ctx.output(0);
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = calc_t<T>;
    map_unary<T, T>(x, out, [&](T v) { return store<T>(C(f(load(v)))); });
  });
}

// y = f(x) for every numeric type; f sees the integer type itself or the floating calc type.
template <class F>
void unary_arith(KernelContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  Tensor& out = ctx.output(0);
  dispatch_arith(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = calc_t<T>;
    map_unary<T, T>(x, out, [&](T v) { return store<T>(C(f(load(v)))); });
  });
}

// out = op(a, b) with broadcasting, both inputs of one numeric type.
template <class Op>
void binary_arith(KernelContext& ctx, Op op) {
  const Tensor& a = ctx.input(0);
  const Tensor b = second_operand(ctx);
  Tensor& out = ctx.output(0);
  dispatch_arith(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = calc_t<T>;
    map_binary<T, T, T>(a, b, out, [&](T x, T y) { return store<T>(C(op(load(x), load(y)))); });
  });
}

// ---------------------------------------------------------------- unary math

void k_abs(KernelContext& ctx) {
  unary_arith(ctx, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>)
      return std::fabs(x);
    else
      return is_negative(x) ? wrapping_neg(x) : x;
  });
}
void k_neg(KernelContext& ctx) {
  unary_arith(ctx, [](auto x) { return wrapping_neg(x); });
}
void k_sign(KernelContext& ctx) {
  unary_arith(ctx, [](auto x) {
    using C = decltype(x);
    if (is_nan(x)) return x;
    return C(x > C(0) ? 1 : is_negative(x) ? -1 : 0);
  });
}
void k_erf(KernelContext& ctx) {
  // Integer inputs (allowed by ONNX) compute in double and truncate toward zero.
  unary_arith(ctx, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>)
      return std::erf(x);
    else
      return saturate_cast<C>(std::erf(double(x)));
  });
}

// Round half to even, keeping the sign of zero (-0.4 -> -0), NaN and the infinities.
template <class C>
C round_half_even(C x) {
  C r = std::floor(x);
  const C frac = x - r;
  if (frac > C(0.5) || (frac == C(0.5) && std::fmod(r, C(2)) != 0)) r += C(1);
  return r == 0 ? std::copysign(r, x) : r;
}

void k_round(KernelContext& ctx) {
  unary_floating(ctx, [](auto x) { return round_half_even(x); });
}

// Logistic function, without overflow of exp for large |x|.
template <class C>
C sigmoid(C x) {
  if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
  const C e = std::exp(x);
  return e / (C(1) + e);
}

// log(1 + exp(x)) without overflow for large x.
template <class C>
C softplus(C x) {
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// max(0, min(1, v)), NaN staying NaN.
template <class C>
C clamp01(C v) {
  return v < C(0) ? C(0) : (v > C(1) ? C(1) : v);
}

#define EQOPT_UNARY_FLOAT(NAME, EXPR) \
  void NAME(KernelContext& ctx) {     \
    unary_floating(ctx, [](auto x) {  \
      using C = decltype(x);          \
      (void)sizeof(C);                \
      return EXPR;                    \
    });                               \
  }

EQOPT_UNARY_FLOAT(k_exp, std::exp(x))
EQOPT_UNARY_FLOAT(k_log, std::log(x))
EQOPT_UNARY_FLOAT(k_sqrt, std::sqrt(x))
EQOPT_UNARY_FLOAT(k_reciprocal, C(1) / x)
EQOPT_UNARY_FLOAT(k_ceil, std::ceil(x))
EQOPT_UNARY_FLOAT(k_floor, std::floor(x))
EQOPT_UNARY_FLOAT(k_sin, std::sin(x))
EQOPT_UNARY_FLOAT(k_cos, std::cos(x))
EQOPT_UNARY_FLOAT(k_tan, std::tan(x))
EQOPT_UNARY_FLOAT(k_asin, std::asin(x))
EQOPT_UNARY_FLOAT(k_acos, std::acos(x))
EQOPT_UNARY_FLOAT(k_atan, std::atan(x))
EQOPT_UNARY_FLOAT(k_sinh, std::sinh(x))
EQOPT_UNARY_FLOAT(k_cosh, std::cosh(x))
EQOPT_UNARY_FLOAT(k_asinh, std::asinh(x))
EQOPT_UNARY_FLOAT(k_acosh, std::acosh(x))
EQOPT_UNARY_FLOAT(k_atanh, std::atanh(x))
EQOPT_UNARY_FLOAT(k_tanh, std::tanh(x))
EQOPT_UNARY_FLOAT(k_sigmoid, sigmoid(x))
EQOPT_UNARY_FLOAT(k_softplus, softplus(x))
EQOPT_UNARY_FLOAT(k_softsign, x / (C(1) + std::fabs(x)))
EQOPT_UNARY_FLOAT(k_mish, x * std::tanh(softplus(x)))
EQOPT_UNARY_FLOAT(k_hardswish, x * clamp01(x / C(6) + C(0.5)))

#undef EQOPT_UNARY_FLOAT

void k_isnan(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    map_unary<T, bool>(x, ctx.output(0), [](T v) { return bool(std::isnan(load(v))); });
  });
}

void k_isinf(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool neg = ctx.node().attr_int("detect_negative", 1) != 0;
  const bool pos = ctx.node().attr_int("detect_positive", 1) != 0;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    map_unary<T, bool>(x, ctx.output(0), [&](T v) {
      const auto c = load(v);
      return std::isinf(c) && (c > 0 ? pos : neg);
    });
  });
}

// ---------------------------------------------------------------- activations

void k_relu(KernelContext& ctx) {
  unary_arith(ctx, [](auto x) {
    using C = decltype(x);
    return is_negative(x) ? C(0) : x;  // NaN stays NaN
  });
}

void k_leakyrelu(KernelContext& ctx) {
  const double alpha = ctx.node().attr_float("alpha", 0.01f);
  unary_floating(ctx, [alpha](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(alpha) * x : x;
  });
}

void k_elu(KernelContext& ctx) {
  const double alpha = ctx.node().attr_float("alpha", 1.0f);
  unary_floating(ctx, [alpha](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(alpha) * std::expm1(x) : x;
  });
}

void k_selu(KernelContext& ctx) {
  const double alpha = ctx.node().attr_float("alpha", 1.67326319217681884765625f);
  const double gamma = ctx.node().attr_float("gamma", 1.05070102214813232421875f);
  unary_floating(ctx, [alpha, gamma](auto x) {
    using C = decltype(x);
    return x <= C(0) ? C(gamma) * C(alpha) * std::expm1(x) : C(gamma) * x;
  });
}

void k_celu(KernelContext& ctx) {
  const double alpha = ctx.node().attr_float("alpha", 1.0f);
  if (alpha == 0) ctx.fail("attribute alpha must not be 0");
  unary_floating(ctx, [alpha](auto x) {
    using C = decltype(x);
    return x > C(0) ? x : C(alpha) * std::expm1(x / C(alpha));
  });
}

void k_hardsigmoid(KernelContext& ctx) {
  const double alpha = ctx.node().attr_float("alpha", 0.2f);
  const double beta = ctx.node().attr_float("beta", 0.5f);
  unary_floating(ctx, [alpha, beta](auto x) {
    using C = decltype(x);
    return clamp01(C(alpha) * x + C(beta));
  });
}

void k_gelu(KernelContext& ctx) {
  if (ctx.node().attr_string("approximate", "none") == "tanh") {
    unary_floating(ctx, [](auto x) {
      using C = decltype(x);
      const C k = C(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
      return C(0.5) * x * (C(1) + std::tanh(k * (x + C(0.044715) * x * x * x)));
    });
  } else {
    unary_floating(ctx, [](auto x) {
      using C = decltype(x);
      return C(0.5) * x * (C(1) + std::erf(x / C(std::numbers::sqrt2)));
    });
  }
}

void k_thresholdedrelu(KernelContext& ctx) {
  const double alpha = ctx.node().attr_float("alpha", 1.0f);
  unary_floating(ctx, [alpha](auto x) {
    using C = decltype(x);
    return x > C(alpha) ? x : C(0);
  });
}

void k_shrink(KernelContext& ctx) {
  const double lambd = ctx.node().attr_float("lambd", 0.5f);
  const double bias = ctx.node().attr_float("bias", 0.0f);
  unary_arith(ctx, [lambd, bias](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      return x < C(-lambd) ? x + C(bias) : (x > C(lambd) ? x - C(bias) : C(0));
    } else {
      const double v = double(x);
      return saturate_cast<C>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
    }
  });
}

// PRelu: slope broadcast (unidirectionally) to X's shape, which is the output's.
void k_prelu(KernelContext& ctx) {
  const Tensor &x = ctx.input(0), &slope = ctx.input(1);
  Tensor& out = ctx.output(0);
  dispatch_arith(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    map_binary<T, T, T>(x, slope, out, [](T v, T s) {
      const auto c = load(v);
      return is_negative(c) ? store<T>(wrapping_mul(load(s), c)) : v;
    });
  });
}

// ---------------------------------------------------------------- binary arithmetic

void k_add(KernelContext& ctx) {
  binary_arith(ctx, [](auto x, auto y) { return wrapping_add(x, y); });
}
void k_sub(KernelContext& ctx) {
  binary_arith(ctx, [](auto x, auto y) { return wrapping_sub(x, y); });
}
void k_mul(KernelContext& ctx) {
  binary_arith(ctx, [](auto x, auto y) { return wrapping_mul(x, y); });
}
void k_div(KernelContext& ctx) {
  binary_arith(ctx, [&ctx](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_integral_v<C>) {
      // Integer division truncates; division by zero is an error, not undefined behaviour.
      if (y == C(0)) ctx.fail("integer division by zero");
      if (is_negative(y) && y == C(-1)) return wrapping_neg(x);  // INT_MIN / -1 wraps
      return C(x / y);
    } else {
      return x / y;
    }
  });
}

// fmod=1: remainder with the dividend's sign (C fmod); fmod=0 (integers only): with the divisor's.
void k_mod(KernelContext& ctx) {
  const bool fmod = ctx.node().attr_int("fmod", 0) != 0;
  binary_arith(ctx, [&ctx, fmod](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_integral_v<C>) {
      if (y == C(0)) ctx.fail("integer modulo by zero");
      if (is_negative(y) && y == C(-1)) return C(0);  // INT_MIN % -1 would overflow
      C r = C(x % y);
      if (!fmod && r != C(0) && is_negative(r) != is_negative(y)) r = C(r + y);
      return r;
    } else {
      return std::fmod(x, y);
    }
  });
}

void k_bitshift(KernelContext& ctx) {
  const bool left = ctx.node().attr_string("direction", "") == "LEFT";
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  dispatch_unsigned(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using W = wide_unsigned_t<T>;
    map_binary<T, T, T>(a, b, ctx.output(0), [left](T x, T s) {
      if (s >= sizeof(T) * 8) return T(0);  // shifting out every bit (undefined in C++)
      return T(left ? W(W(x) << s) : W(W(x) >> s));
    });
  });
}

// Integer power by squaring, wrapping on overflow. A negative exponent gives the truncated
// quotient 1 / base^-e: 0 unless |base| is 1; 0 to a negative power fails like division by zero.
template <class TA, class TB>
TA integer_pow(const KernelContext& ctx, TA base, TB exp) {
  if (is_negative(exp)) {
    if (base == TA(0)) ctx.fail("integer 0 raised to a negative power");
    if (base == TA(1)) return TA(1);
    if (is_negative(base) && base == TA(-1)) return exp % 2 == 0 ? TA(1) : base;
    return TA(0);
  }
  using U = wide_unsigned_t<TA>;
  U result = 1, b = U(base);
  for (auto e = std::make_unsigned_t<TB>(exp); e != 0; e >>= 1) {
    if (e & 1u) result = U(result * b);
    b = U(b * b);
  }
  return TA(result);
}

template <class TA, class TB>
TA pow_element(const KernelContext& ctx, TA x, TB y) {
  if constexpr (std::is_integral_v<TA> && std::is_integral_v<TB>) {
    return integer_pow(ctx, x, y);
  } else {
    const double r = std::pow(double(load(x)), double(load(y)));
    if constexpr (std::is_integral_v<TA>)
      return saturate_cast<TA>(r);
    else
      return store<TA>(calc_t<TA>(r));
  }
}

// Pow: the output has the base's type; the exponent may have another (opset 12+).
void k_pow(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor b = second_operand(ctx);
  Tensor& out = ctx.output(0);
  dispatch_arith(a.dtype(), [&](auto ta) {
    using TA = typename decltype(ta)::type;
    dispatch_arith(b.dtype(), [&](auto tb) {
      using TB = typename decltype(tb)::type;
      map_binary<TA, TB, TA>(a, b, out, [&ctx](TA x, TB y) { return pow_element(ctx, x, y); });
    });
  });
}

// ---------------------------------------------------------------- variadic

// Sum, Mean, Max, Min of 1..N inputs broadcast together, folded left to right in the calc type.
template <class Combine>
void variadic(KernelContext& ctx, Combine combine, bool mean) {
  Tensor& out = ctx.output(0);
  dispatch_arith(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = calc_t<T>;
    std::vector<C> acc(size_t(out.numel()));
    int64_t count = 0;
    for (size_t k = 0; k < ctx.num_inputs(); ++k) {
      if (!ctx.has_input(k)) continue;
      const Tensor& in = ctx.input(k);
      const T* p = in.data<T>();
      const std::vector<int64_t> strides[1] = {broadcast_strides(in.shape(), out.shape())};
      const bool first = count++ == 0;
      for_each_broadcast(out.shape(), strides, [&](int64_t i, const int64_t* o) {
        const C v = load(p[o[0]]);
        acc[size_t(i)] = first ? v : C(combine(acc[size_t(i)], v));
      });
    }
    T* po = out.mutable_data<T>();
    for (int64_t i = 0; i < out.numel(); ++i)
      po[i] = store<T>(mean ? C(acc[size_t(i)] / C(count)) : acc[size_t(i)]);
  });
}

void k_sum(KernelContext& ctx) {
  variadic(ctx, [](auto x, auto y) { return wrapping_add(x, y); }, false);
}
void k_mean(KernelContext& ctx) {
  variadic(ctx, [](auto x, auto y) { return wrapping_add(x, y); }, true);
}
void k_max(KernelContext& ctx) {
  variadic(ctx, [](auto x, auto y) { return is_nan(x) ? x : (is_nan(y) || y > x) ? y : x; }, false);
}
void k_min(KernelContext& ctx) {
  variadic(ctx, [](auto x, auto y) { return is_nan(x) ? x : (is_nan(y) || y < x) ? y : x; }, false);
}

// ---------------------------------------------------------------- comparisons and logic

template <class Cmp>
void compare(KernelContext& ctx, Cmp cmp) {
  const Tensor& a = ctx.input(0);
  const Tensor b = second_operand(ctx);
  Tensor& out = ctx.output(0);
  if (a.dtype() == DType::String) {  // Equal only (inference allows strings nowhere else)
    const std::vector<std::string>&sa = a.strings(), &sb = b.strings();
    bool* po = out.mutable_data<bool>();
    const std::vector<int64_t> strides[2] = {broadcast_strides(a.shape(), out.shape()),
                                             broadcast_strides(b.shape(), out.shape())};
    for_each_broadcast(out.shape(), strides, [&](int64_t i, const int64_t* o) {
      po[i] = cmp(sa[size_t(o[0])], sb[size_t(o[1])]);
    });
    return;
  }
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    map_binary<T, T, bool>(a, b, out, [&](T x, T y) { return bool(cmp(load(x), load(y))); });
  });
}

void k_equal(KernelContext& ctx) {
  compare(ctx, [](const auto& x, const auto& y) { return x == y; });
}
void k_greater(KernelContext& ctx) {
  compare(ctx, [](const auto& x, const auto& y) { return x > y; });
}
void k_less(KernelContext& ctx) {
  compare(ctx, [](const auto& x, const auto& y) { return x < y; });
}
void k_greater_or_equal(KernelContext& ctx) {
  compare(ctx, [](const auto& x, const auto& y) { return x >= y; });
}
void k_less_or_equal(KernelContext& ctx) {
  compare(ctx, [](const auto& x, const auto& y) { return x <= y; });
}

template <class Op>
void logical(KernelContext& ctx, Op op) {
  const Tensor b = second_operand(ctx);
  map_binary<bool, bool, bool>(ctx.input(0), b, ctx.output(0), op);
}

void k_and(KernelContext& ctx) {
  logical(ctx, [](bool x, bool y) { return x && y; });
}
void k_or(KernelContext& ctx) {
  logical(ctx, [](bool x, bool y) { return x || y; });
}
void k_xor(KernelContext& ctx) {
  logical(ctx, [](bool x, bool y) { return x != y; });
}
void k_not(KernelContext& ctx) {
  map_unary<bool, bool>(ctx.input(0), ctx.output(0), [](bool x) { return !x; });
}

void k_where(KernelContext& ctx) {
  const Tensor &c = ctx.input(0), &x = ctx.input(1), &y = ctx.input(2);
  Tensor& out = ctx.output(0);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const bool* pc = c.data<bool>();
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    T* po = out.mutable_data<T>();
    const std::vector<int64_t> strides[3] = {broadcast_strides(c.shape(), out.shape()),
                                             broadcast_strides(x.shape(), out.shape()),
                                             broadcast_strides(y.shape(), out.shape())};
    for_each_broadcast(out.shape(), strides, [&](int64_t i, const int64_t* o) {
      po[i] = pc[o[0]] ? px[o[1]] : py[o[2]];
    });
  });
}

// ---------------------------------------------------------------- Clip

// min(max(x, lo), hi): when lo > hi every element becomes hi, as ONNX specifies. NaN stays NaN.
void k_clip(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& out = ctx.output(0);
  dispatch_arith(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = calc_t<T>;
    using Lim = std::numeric_limits<C>;
    C lo = Lim::has_infinity ? -Lim::infinity() : Lim::lowest();
    C hi = Lim::has_infinity ? Lim::infinity() : Lim::max();
    if (ctx.opset() < 11) {
      if (ctx.node().has_attr("min")) lo = C(ctx.node().attr_float("min", 0));
      if (ctx.node().has_attr("max")) hi = C(ctx.node().attr_float("max", 0));
    } else {
      if (ctx.has_input(1)) lo = load(ctx.input(1).data<T>()[0]);
      if (ctx.has_input(2)) hi = load(ctx.input(2).data<T>()[0]);
    }
    map_unary<T, T>(x, out, [lo, hi](T v) {
      C c = load(v);
      if (c < lo) c = lo;
      if (c > hi) c = hi;
      return store<T>(c);
    });
  });
}

// ---------------------------------------------------------------- Cast

// One element from TI to TO (no strings).
template <class TO, class TI>
TO convert(TI v) {
  if constexpr (std::is_same_v<TO, TI>) {
    return v;
  } else if constexpr (std::is_same_v<TO, bool>) {
    return load(v) != 0;  // NaN -> true, as in C and numpy
  } else if constexpr (is_16bit_float_v<TO>) {
    if constexpr (std::is_same_v<TI, float> || is_16bit_float_v<TI>)
      return store<TO>(load(v));
    else
      return store<TO>(to_float_round_odd(double(v)));
  } else if constexpr (std::is_floating_point_v<TO>) {
    return TO(load(v));
  } else if constexpr (std::is_integral_v<TI>) {
    return TO(v);  // integer -> integer wraps modulo 2^bits; bool gives 0/1
  } else {
    return saturate_cast<TO>(double(load(v)));
  }
}

// Numbers as text: the shortest string that reads back to the same value; the special values
// spelled as ONNX's Cast documents them.
template <class T>
std::string to_text(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "1" : "0";
  } else {
    const auto c = load(v);
    if constexpr (std::is_floating_point_v<decltype(c)>) {
      if (std::isnan(c)) return "NaN";
      if (std::isinf(c)) return c > 0 ? "INF" : "-INF";
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, c);
    return std::string(buf, r.ptr);
  }
}

// Text to a number of type TO: integers exactly when written as one, else via double ("1e3",
// "2.5" -> 2); "INF", "+INF", "-INF" and "NaN" in any case. Anything else fails.
template <class TO>
TO from_text(const KernelContext& ctx, const std::string& s) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(*begin))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(end[-1]))) --end;
  if (begin < end && *begin == '+') ++begin;  // from_chars takes no leading '+'
  if constexpr (std::is_integral_v<TO> && !std::is_same_v<TO, bool>) {
    TO i{};
    const auto r = std::from_chars(begin, end, i);
    if (r.ec == std::errc() && r.ptr == end) return i;
  }
  double d = 0;
  const auto r = std::from_chars(begin, end, d);
  if (r.ptr != end || begin == end || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
    ctx.fail("cannot cast the string \"", s, "\" to a number");
  if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(begin, end).c_str(), nullptr);
  return convert<TO>(d);
}

void cast_to(KernelContext& ctx, const Tensor& x, Tensor& out) {
  if (x.dtype() == DType::String && out.dtype() == DType::String) {
    ctx.set_output(0, x);
    return;
  }
  if (out.dtype() == DType::String) {
    std::vector<std::string>& strs = out.mutable_strings();
    dispatch_all(x.dtype(), [&](auto tag) {
      using TI = typename decltype(tag)::type;
      const TI* px = x.data<TI>();
      for (int64_t i = 0; i < x.numel(); ++i) strs[size_t(i)] = to_text(px[i]);
    });
    return;
  }
  if (x.dtype() == DType::String) {
    const std::vector<std::string>& strs = x.strings();
    dispatch_all(out.dtype(), [&](auto tag) {
      using TO = typename decltype(tag)::type;
      TO* po = out.mutable_data<TO>();
      for (int64_t i = 0; i < x.numel(); ++i) po[i] = from_text<TO>(ctx, strs[size_t(i)]);
    });
    return;
  }
  if (x.dtype() == out.dtype()) {
    ctx.set_output(0, x);
    return;
  }
  dispatch_all(x.dtype(), [&](auto ti) {
    using TI = typename decltype(ti)::type;
    dispatch_all(out.dtype(), [&](auto to) {
      using TO = typename decltype(to)::type;
      map_unary<TI, TO>(x, out, [](TI v) { return convert<TO>(v); });
    });
  });
}

void k_cast(KernelContext& ctx) { cast_to(ctx, ctx.input(0), ctx.output(0)); }
void k_castlike(KernelContext& ctx) { cast_to(ctx, ctx.input(0), ctx.output(0)); }

// ---------------------------------------------------------------- Dropout, Identity

// Inference only: output = data, mask all true (all ones of the data's type before opset 10).
// Training mode with a nonzero ratio would drop random elements, which a reference cannot check.
void k_dropout(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool training = false;
  double ratio = 0.5;
  if (ctx.opset() >= 12) {
    if (ctx.has_input(1)) {
      if (ctx.input(1).numel() != 1) ctx.fail("ratio must be a scalar");
      ratio = ctx.input(1).as_double(0);
    }
    if (ctx.has_input(2)) {
      if (ctx.input(2).numel() != 1) ctx.fail("training_mode must be a scalar");
      training = ctx.input(2).as_int64(0) != 0;
    }
  } else {
    // Before opset 7 the attribute is_test defaulted to 0 (training); exporters of that era often
    // left it out of inference graphs, so like ONNX Runtime the interpreter always runs these in
    // inference mode. Only the explicit training_mode input of opset 12+ asks for training.
    ratio = ctx.node().attr_float("ratio", 0.5f);
  }
  if (training && ratio > 0)
    ctx.fail("training-mode Dropout is not supported (ratio ", ratio,
             "): its outputs would be random; export the model in inference mode");
  if (ctx.has_output(1)) {
    Tensor& mask = ctx.output(1);
    dispatch_all(mask.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* p = mask.mutable_data<T>();
      std::fill(p, p + mask.numel(), convert<T>(true));
    });
  }
  ctx.set_output(0, x);
}

void k_identity(KernelContext& ctx) { ctx.set_output(0, ctx.input(0)); }

}  // namespace

void register_elementwise_kernels(InterpreterKernels& r) {
  struct Entry {
    const char* op;
    KernelFn fn;
  };
  const Entry entries[] = {
      {"Abs", k_abs},
      {"Neg", k_neg},
      {"Sign", k_sign},
      {"Erf", k_erf},
      {"Exp", k_exp},
      {"Log", k_log},
      {"Sqrt", k_sqrt},
      {"Reciprocal", k_reciprocal},
      {"Ceil", k_ceil},
      {"Floor", k_floor},
      {"Round", k_round},
      {"Sin", k_sin},
      {"Cos", k_cos},
      {"Tan", k_tan},
      {"Asin", k_asin},
      {"Acos", k_acos},
      {"Atan", k_atan},
      {"Sinh", k_sinh},
      {"Cosh", k_cosh},
      {"Asinh", k_asinh},
      {"Acosh", k_acosh},
      {"Atanh", k_atanh},
      {"Tanh", k_tanh},
      {"Sigmoid", k_sigmoid},
      {"IsNaN", k_isnan},
      {"IsInf", k_isinf},
      {"Add", k_add},
      {"Sub", k_sub},
      {"Mul", k_mul},
      {"Div", k_div},
      {"Pow", k_pow},
      {"Mod", k_mod},
      {"BitShift", k_bitshift},
      {"Sum", k_sum},
      {"Mean", k_mean},
      {"Max", k_max},
      {"Min", k_min},
      {"Equal", k_equal},
      {"Greater", k_greater},
      {"Less", k_less},
      {"GreaterOrEqual", k_greater_or_equal},
      {"LessOrEqual", k_less_or_equal},
      {"And", k_and},
      {"Or", k_or},
      {"Xor", k_xor},
      {"Not", k_not},
      {"Where", k_where},
      {"Clip", k_clip},
      {"Cast", k_cast},
      {"CastLike", k_castlike},
      {"Relu", k_relu},
      {"LeakyRelu", k_leakyrelu},
      {"Elu", k_elu},
      {"Selu", k_selu},
      {"Celu", k_celu},
      {"HardSigmoid", k_hardsigmoid},
      {"HardSwish", k_hardswish},
      {"Gelu", k_gelu},
      {"Softplus", k_softplus},
      {"Softsign", k_softsign},
      {"Mish", k_mish},
      {"ThresholdedRelu", k_thresholdedrelu},
      {"Shrink", k_shrink},
      {"PRelu", k_prelu},
      {"Dropout", k_dropout},
      {"Identity", k_identity},
  };
  for (const Entry& e : entries) r.add("", e.op, e.fn);
}

}  // namespace eqopt
