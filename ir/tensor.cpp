#include "ir/tensor.h"

#include <cstring>
#include <limits>
#include <new>

namespace eqopt {

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension ", d, " in shape ", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail("shape ", shape_str(shape), " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_str(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {

// Buffers larger than this are refused up front instead of failing deep inside an allocator.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 36;  // 64 GiB

std::shared_ptr<uint8_t[]> allocate_zeroed(size_t nbytes) {
  const size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = ::operator new[](rounded == 0 ? 64 : rounded, std::align_val_t(64));
  std::memset(p, 0, rounded == 0 ? 64 : rounded);
  return std::shared_ptr<uint8_t[]>(static_cast<uint8_t*>(p), [](uint8_t* q) {
    ::operator delete[](q, std::align_val_t(64));
  });
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype == DType::Undefined) fail("cannot create a tensor of undefined element type");
  numel_ = shape_numel(shape_);
  if (dtype == DType::String) {
    strings_ = std::make_shared<std::vector<std::string>>(size_t(numel_));
    return;
  }
  const size_t esize = dtype_size(dtype);
  if (numel_ > kMaxTensorBytes / int64_t(esize ? esize : 1))
    fail("tensor ", dtype_short_name(dtype), shape_str(shape_), " is too large to allocate");
  bytes_ = allocate_zeroed(size_t(numel_) * esize);
}

Tensor Tensor::from_bytes(DType dtype, Shape shape, const void* data, size_t nbytes) {
  Tensor t(dtype, std::move(shape));
  if (nbytes != t.nbytes())
    fail("tensor ", t.type_str(), " needs ", t.nbytes(), " bytes of data, got ", nbytes);
  if (nbytes) std::memcpy(t.bytes_.get(), data, nbytes);
  return t;
}

Tensor Tensor::from_strings(Shape shape, std::vector<std::string> values) {
  Tensor t(DType::String, std::move(shape));
  if (size_t(t.numel()) != values.size())
    fail("string tensor of shape ", shape_str(t.shape()), " needs ", t.numel(), " values, got ",
         values.size());
  *t.strings_ = std::move(values);
  return t;
}

const std::vector<std::string>& Tensor::strings() const {
  check_type(DType::String);
  return *strings_;
}

std::vector<std::string>& Tensor::mutable_strings() {
  check_type(DType::String);
  return *strings_;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel_)
    fail("cannot reshape ", type_str(), " to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::String)
    *t.strings_ = *strings_;
  else if (nbytes())
    std::memcpy(t.bytes_.get(), bytes_.get(), nbytes());
  return t;
}

double Tensor::as_double(int64_t i) const {
  const uint8_t* p = bytes_.get();
  switch (dtype_) {
    case DType::Float: return reinterpret_cast<const float*>(p)[i];
    case DType::Double: return reinterpret_cast<const double*>(p)[i];
    case DType::Float16: return half_to_float(reinterpret_cast<const Half*>(p)[i]);
    case DType::BFloat16: return bfloat16_to_float(reinterpret_cast<const BFloat16*>(p)[i]);
    case DType::UInt8: return reinterpret_cast<const uint8_t*>(p)[i];
    case DType::Int8: return reinterpret_cast<const int8_t*>(p)[i];
    case DType::UInt16: return reinterpret_cast<const uint16_t*>(p)[i];
    case DType::Int16: return reinterpret_cast<const int16_t*>(p)[i];
    case DType::Int32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::Int64: return double(reinterpret_cast<const int64_t*>(p)[i]);
    case DType::UInt32: return reinterpret_cast<const uint32_t*>(p)[i];
    case DType::UInt64: return double(reinterpret_cast<const uint64_t*>(p)[i]);
    case DType::Bool: return reinterpret_cast<const bool*>(p)[i] ? 1.0 : 0.0;
    default: fail("cannot read a ", dtype_short_name(dtype_), " element as a number");
  }
}

int64_t Tensor::as_int64(int64_t i) const {
  const uint8_t* p = bytes_.get();
  switch (dtype_) {
    case DType::UInt8: return reinterpret_cast<const uint8_t*>(p)[i];
    case DType::Int8: return reinterpret_cast<const int8_t*>(p)[i];
    case DType::UInt16: return reinterpret_cast<const uint16_t*>(p)[i];
    case DType::Int16: return reinterpret_cast<const int16_t*>(p)[i];
    case DType::Int32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::Int64: return reinterpret_cast<const int64_t*>(p)[i];
    case DType::UInt32: return reinterpret_cast<const uint32_t*>(p)[i];
    case DType::UInt64: return int64_t(reinterpret_cast<const uint64_t*>(p)[i]);
    case DType::Bool: return reinterpret_cast<const bool*>(p)[i] ? 1 : 0;
    default: {
      const double d = as_double(i);
      if (!(d >= -9.2e18 && d <= 9.2e18)) fail("value ", d, " does not fit in int64");
      return int64_t(d);
    }
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[size_t(i)] = as_int64(i);
  return v;
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<float> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[size_t(i)] = float(as_double(i));
  return v;
}

bool Tensor::bit_equal(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  if (dtype_ == DType::String) return *strings_ == *other.strings_;
  return nbytes() == 0 || std::memcmp(bytes_.get(), other.bytes_.get(), nbytes()) == 0;
}

std::string Tensor::type_str() const {
  return std::string(dtype_short_name(dtype_)) + shape_str(shape_);
}

void Tensor::check_type(DType want) const {
  if (want != dtype_)
    fail("tensor holds ", dtype_short_name(dtype_), " elements, accessed as ",
         dtype_short_name(want));
}

}  // namespace eqopt
