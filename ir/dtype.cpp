#include "ir/dtype.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace eqopt {

float half_to_float(Half h) {
  const uint32_t sign = (uint32_t(h.bits) & 0x8000u) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1f;
  uint32_t mant = h.bits & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

Half float_to_half(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan
    const uint16_t nan_bit = absx > 0x7f800000u ? 0x200 : 0;
    return Half{uint16_t(sign | 0x7c00u | nan_bit | ((absx & 0x7fffffu) >> 13))};
  }
  if (absx >= 0x477ff000u) return Half{uint16_t(sign | 0x7c00u)};  // rounds to inf
  if (absx < 0x38800000u) {  // result is subnormal or zero
    const float a = std::bit_cast<float>(absx);
    // 2^-24 is the smallest subnormal; nearbyint uses round-half-even in the default mode.
    const uint32_t m = uint32_t(std::nearbyint(a * 16777216.0f));
    return Half{uint16_t(sign | m)};
  }
  uint32_t mant = absx & 0x7fffffu;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carries into exponent correctly
  return Half{uint16_t(sign | h)};
}

float bfloat16_to_float(BFloat16 h) { return std::bit_cast<float>(uint32_t(h.bits) << 16); }

BFloat16 float_to_bfloat16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return BFloat16{uint16_t((x >> 16) | 0x40)};
  const uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return BFloat16{uint16_t(x >> 16)};
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float: return 4;
    case DType::UInt8: return 1;
    case DType::Int8: return 1;
    case DType::UInt16: return 2;
    case DType::Int16: return 2;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
    case DType::Float16: return 2;
    case DType::Double: return 8;
    case DType::UInt32: return 4;
    case DType::UInt64: return 8;
    case DType::Complex64: return 8;
    case DType::Complex128: return 16;
    case DType::BFloat16: return 2;
    case DType::String:
    case DType::Undefined: return 0;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Undefined: return "UNDEFINED";
    case DType::Float: return "FLOAT";
    case DType::UInt8: return "UINT8";
    case DType::Int8: return "INT8";
    case DType::UInt16: return "UINT16";
    case DType::Int16: return "INT16";
    case DType::Int32: return "INT32";
    case DType::Int64: return "INT64";
    case DType::String: return "STRING";
    case DType::Bool: return "BOOL";
    case DType::Float16: return "FLOAT16";
    case DType::Double: return "DOUBLE";
    case DType::UInt32: return "UINT32";
    case DType::UInt64: return "UINT64";
    case DType::Complex64: return "COMPLEX64";
    case DType::Complex128: return "COMPLEX128";
    case DType::BFloat16: return "BFLOAT16";
  }
  return "UNKNOWN";
}

std::string_view dtype_short_name(DType t) {
  switch (t) {
    case DType::Undefined: return "undefined";
    case DType::Float: return "float32";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::UInt16: return "uint16";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::String: return "string";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::Double: return "float64";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Complex64: return "complex64";
    case DType::Complex128: return "complex128";
    case DType::BFloat16: return "bfloat16";
  }
  return "unknown";
}

std::optional<DType> dtype_from_code(int64_t code) {
  if (code < 0 || code > 16) return std::nullopt;
  return static_cast<DType>(code);
}

bool is_floating(DType t) {
  return t == DType::Float || t == DType::Double || t == DType::Float16 || t == DType::BFloat16;
}

bool is_signed_integer(DType t) {
  return t == DType::Int8 || t == DType::Int16 || t == DType::Int32 || t == DType::Int64;
}

bool is_integer(DType t) {
  return is_signed_integer(t) || t == DType::UInt8 || t == DType::UInt16 || t == DType::UInt32 ||
         t == DType::UInt64;
}

}  // namespace eqopt
