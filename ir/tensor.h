// A dense tensor: element type, shape, and a shared, 64-byte aligned buffer.
//
// Copies share the buffer (cheap); writers use a freshly created tensor or clone() first.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "support/error.h"

namespace eqopt {

using Shape = std::vector<int64_t>;

// Number of elements of a concrete shape; throws Error on negative dims or overflow.
int64_t shape_numel(std::span<const int64_t> shape);
std::string shape_str(std::span<const int64_t> shape);  // "[1,3,224,224]"

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled (empty strings for String).
  Tensor(DType dtype, Shape shape);

  static Tensor from_bytes(DType dtype, Shape shape, const void* data, size_t nbytes);
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t(dtype_of<T>, std::move(shape));
    if (size_t(t.numel()) != values.size())
      fail("tensor of shape ", shape_str(t.shape()), " needs ", t.numel(), " values, got ",
           values.size());
    T* out = t.mutable_data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return t;
  }
  template <class T>
  static Tensor scalar(T v) {
    return from_vector<T>({}, {v});
  }
  static Tensor from_strings(Shape shape, std::vector<std::string> values);

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return int64_t(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(size_t(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }

  template <class T>
  const T* data() const {
    check_type(dtype_of<T>);
    return reinterpret_cast<const T*>(bytes_.get());
  }
  template <class T>
  T* mutable_data() {
    check_type(dtype_of<T>);
    return reinterpret_cast<T*>(bytes_.get());
  }
  template <class T>
  std::span<const T> values() const {
    return {data<T>(), size_t(numel_)};
  }
  const void* raw_data() const { return bytes_.get(); }
  void* raw_mutable_data() { return bytes_.get(); }
  const std::vector<std::string>& strings() const;
  std::vector<std::string>& mutable_strings();

  // Same buffer, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // Deep copy.
  Tensor clone() const;

  // Element i converted to double / int64 (for code that does not care about the exact type).
  double as_double(int64_t i) const;
  int64_t as_int64(int64_t i) const;
  // All elements as int64 (integer and bool tensors; floats are truncated).
  std::vector<int64_t> to_int64_vector() const;
  std::vector<float> to_float_vector() const;

  // Same dtype, shape and bytes.
  bool bit_equal(const Tensor& other) const;
  // "float32[2,3]"
  std::string type_str() const;

 private:
  void check_type(DType want) const;

  DType dtype_ = DType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<uint8_t[]> bytes_;
  std::shared_ptr<std::vector<std::string>> strings_;
};

}  // namespace eqopt
