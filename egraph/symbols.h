// Interning of operator names and attribute payloads, so that e-nodes hold small integers.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "egraph/ids.h"

namespace eqopt::eg {

class Interner {
 public:
  // Id 0 is reserved for "none" when `reserve_zero` is set (payloads); op ids start at 0.
  explicit Interner(bool reserve_zero = false) {
    if (reserve_zero) intern("");
  }
  uint32_t intern(std::string_view s) {
    auto it = index_.find(std::string(s));
    if (it != index_.end()) return it->second;
    const uint32_t id = uint32_t(names_.size());
    names_.emplace_back(s);
    index_.emplace(names_.back(), id);
    return id;
  }
  // Returns kNoId-like max value when absent.
  uint32_t lookup(std::string_view s) const {
    auto it = index_.find(std::string(s));
    return it == index_.end() ? kNoId : it->second;
  }
  const std::string& name(uint32_t id) const { return names_.at(id); }
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> index_;
};

}  // namespace eqopt::eg
