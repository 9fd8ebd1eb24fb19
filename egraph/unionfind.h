// Union-find over e-class ids with path halving. Unions are decided by the caller (the e-graph
// picks the root by size), so `link` takes the root explicitly.
#pragma once
#include <vector>

#include "egraph/ids.h"

namespace eqopt::eg {

class UnionFind {
 public:
  Id make_set() {
    parent_.push_back(Id(parent_.size()));
    return parent_.back();
  }
  Id find(Id x) const {
    while (parent_[x] != x) x = parent_[x];
    return x;
  }
  // Path halving: every other node on the path points to its grandparent.
  Id find_mut(Id x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  bool is_root(Id x) const { return parent_[x] == x; }
  // Makes `root` the parent of `child`; both must be roots.
  void link(Id child, Id root) { parent_[child] = root; }
  size_t size() const { return parent_.size(); }
  void reserve(size_t n) { parent_.reserve(n); }

 private:
  std::vector<Id> parent_;
};

}  // namespace eqopt::eg
