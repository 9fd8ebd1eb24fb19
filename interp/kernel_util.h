// Helpers shared by kernels: dtype dispatch and broadcast iteration.
#pragma once
#include <cstdint>
#include <type_traits>
#include <vector>

#include "interp/kernel.h"

namespace eqopt {

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) for the C++ type of a numeric dtype (floats and integers, no bool);
// fails for others.
template <class F>
decltype(auto) dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::Float: return f(TypeTag<float>{});
    case DType::Double: return f(TypeTag<double>{});
    case DType::Int32: return f(TypeTag<int32_t>{});
    case DType::Int64: return f(TypeTag<int64_t>{});
    case DType::Int8: return f(TypeTag<int8_t>{});
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::Int16: return f(TypeTag<int16_t>{});
    case DType::UInt16: return f(TypeTag<uint16_t>{});
    case DType::UInt32: return f(TypeTag<uint32_t>{});
    case DType::UInt64: return f(TypeTag<uint64_t>{});
    default: fail("element type ", dtype_short_name(t), " is not supported here");
  }
}

// Floats only.
template <class F>
decltype(auto) dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::Float: return f(TypeTag<float>{});
    case DType::Double: return f(TypeTag<double>{});
    default: fail("element type ", dtype_short_name(t), " is not supported here (float32/float64 only)");
  }
}

// Every fixed-size dtype, bool and the 16-bit floats included (for data movement).
template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(TypeTag<bool>{});
    case DType::Float16: return f(TypeTag<Half>{});
    case DType::BFloat16: return f(TypeTag<BFloat16>{});
    default: return dispatch_numeric(t, std::forward<F>(f));
  }
}

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& shape);

// Strides of `in` seen through broadcasting to `out` (0 on broadcast dims), length out.size().
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Numpy broadcast of concrete shapes; fails when incompatible.
Shape broadcast_shapes(const std::vector<Shape>& shapes);

// Calls f(out_index, offsets) for every element of `out`, where offsets[k] is the matching element
// of input k (given by its broadcast strides).
template <size_t N, class F>
void for_each_broadcast(const Shape& out, const std::vector<int64_t> (&strides)[N], F&& f) {
  const int64_t rank = int64_t(out.size());
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  std::vector<int64_t> idx(size_t(rank), 0);
  int64_t off[N] = {};
  // Innermost dimension handled as a tight loop.
  const int64_t inner = rank ? out[size_t(rank - 1)] : 1;
  int64_t inner_stride[N];
  for (size_t k = 0; k < N; ++k) inner_stride[k] = rank ? strides[k][size_t(rank - 1)] : 0;
  for (int64_t base = 0; base < total; base += inner) {
    int64_t o[N];
    for (size_t k = 0; k < N; ++k) o[k] = off[k];
    for (int64_t j = 0; j < inner; ++j) {
      f(base + j, o);
      for (size_t k = 0; k < N; ++k) o[k] += inner_stride[k];
    }
    // advance the outer index
    for (int64_t d = rank - 2; d >= 0; --d) {
      const size_t ud = size_t(d);
      ++idx[ud];
      for (size_t k = 0; k < N; ++k) off[k] += strides[k][ud];
      if (idx[ud] < out[ud]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= strides[k][ud] * out[ud];
      idx[ud] = 0;
    }
  }
}

// Reads element i of any numeric or bool tensor as T.
template <class T>
T element_as(const Tensor& t, int64_t i) {
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>)
    return T(t.as_double(i));
  else
    return T(t.as_int64(i));
}

// Axis normalisation for kernels; fails with the node named.
int64_t normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank);

}  // namespace eqopt
