// A vector of ids with room for two inline: most e-classes hold one or two nodes and few parents,
// so their lists need no heap block (malloc/free was 13% of W3's instructions with std::vector).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "egraph/ids.h"

namespace eqopt::eg {

class IdVec {
 public:
  static constexpr uint32_t kInline = 2;

  IdVec() = default;
  IdVec(const IdVec& o) { append(o.begin(), o.size()); }
  IdVec(IdVec&& o) noexcept { steal(o); }
  IdVec& operator=(const IdVec& o) {
    if (this != &o) {
      clear();
      append(o.begin(), o.size());
    }
    return *this;
  }
  IdVec& operator=(IdVec&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  ~IdVec() { release(); }

  Id* begin() { return data(); }
  Id* end() { return data() + size_; }
  const Id* begin() const { return data(); }
  const Id* end() const { return data() + size_; }
  Id* data() { return cap_ > kInline ? heap_ : inline_; }
  const Id* data() const { return cap_ > kInline ? heap_ : inline_; }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  Id& operator[](size_t i) { return data()[i]; }
  Id operator[](size_t i) const { return data()[i]; }
  Id front() const { return data()[0]; }

  void push_back(Id v) {
    if (size_ == cap_) grow(size_ + 1);
    data()[size_++] = v;
  }
  void append(const Id* p, size_t n) {
    if (n == 0) return;
    if (size_ + n > cap_) grow(size_ + n);
    std::memcpy(data() + size_, p, n * sizeof(Id));
    size_ += uint32_t(n);
  }
  void append(const IdVec& o) { append(o.begin(), o.size()); }
  // Keeps the first n elements (for erase/remove idioms).
  void truncate(size_t n) { size_ = uint32_t(std::min<size_t>(n, size_)); }
  void truncate_at(const Id* new_end) { truncate(size_t(new_end - begin())); }
  void clear() { size_ = 0; }
  // Frees any heap block.
  void release() {
    if (cap_ > kInline) std::free(heap_);
    cap_ = kInline;
    size_ = 0;
  }

 private:
  void grow(size_t need) {
    size_t cap = std::max<size_t>(cap_ * 2, need);
    Id* p = static_cast<Id*>(std::malloc(cap * sizeof(Id)));
    if (!p) throw std::bad_alloc();
    std::memcpy(p, data(), size_ * sizeof(Id));
    if (cap_ > kInline) std::free(heap_);
    heap_ = p;
    cap_ = uint32_t(cap);
  }
  void steal(IdVec& o) {
    size_ = o.size_;
    cap_ = o.cap_;
    if (o.cap_ > kInline)
      heap_ = o.heap_;
    else
      std::memcpy(inline_, o.inline_, sizeof inline_);
    o.size_ = 0;
    o.cap_ = kInline;
  }

  uint32_t size_ = 0;
  uint32_t cap_ = kInline;
  union {
    Id inline_[kInline];
    Id* heap_;
  };
};

}  // namespace eqopt::eg
