// Tensors from element values, shared by the instances (verify/instance.h) and symbolic evaluation
// (verify/sym_eval.h): both write numbers into tensors of any numeric dtype.
#pragma once
#include <cstdint>
#include <utility>

#include "ir/tensor.h"

namespace eqopt::verify {

// A tensor of the dtype and shape whose element i comes from at(i), a pair of the value as a double
// and, exactly, as an int64: integer elements take the int64 (wrapped to the type's width),
// floating ones the double (float16 and bfloat16 rounded from float), bools are true where the
// double is nonzero. An undefined Tensor for a dtype without numbers (strings).
template <class F>
Tensor tensor_from(DType dtype, const Shape& shape, F at) {
  Tensor t(dtype, shape);
  const size_t n = size_t(t.numel());
  auto ints = [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    for (size_t i = 0; i < n; ++i) p[i] = T(at(i).second);
  };
  auto reals = [&](auto* p, auto convert) {
    for (size_t i = 0; i < n; ++i) p[i] = convert(at(i).first);
  };
  switch (dtype) {
    case DType::Float: reals(t.mutable_data<float>(), [](double v) { return float(v); }); break;
    case DType::Double: reals(t.mutable_data<double>(), [](double v) { return v; }); break;
    case DType::Float16: reals(t.mutable_data<Half>(), [](double v) { return float_to_half(float(v)); }); break;
    case DType::BFloat16:
      reals(t.mutable_data<BFloat16>(), [](double v) { return float_to_bfloat16(float(v)); });
      break;
    case DType::Bool: reals(t.mutable_data<bool>(), [](double v) { return v != 0; }); break;
    case DType::Int64: ints(t.mutable_data<int64_t>()); break;
    case DType::Int32: ints(t.mutable_data<int32_t>()); break;
    case DType::Int16: ints(t.mutable_data<int16_t>()); break;
    case DType::Int8: ints(t.mutable_data<int8_t>()); break;
    case DType::UInt64: ints(t.mutable_data<uint64_t>()); break;
    case DType::UInt32: ints(t.mutable_data<uint32_t>()); break;
    case DType::UInt16: ints(t.mutable_data<uint16_t>()); break;
    case DType::UInt8: ints(t.mutable_data<uint8_t>()); break;
    default: return Tensor();
  }
  return t;
}

}  // namespace eqopt::verify
