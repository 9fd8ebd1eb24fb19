// The hash-cons (memo): canonical e-node content -> e-node id. Open addressing with linear probing
// and backward-shift deletion, so removed keys leave no tombstones and stale keys never accumulate
// (egg 0.9.5 keeps them; see docs/egraph.md).
//
// The table stores only (hash, node id); keys are compared through a callback that reads the node's
// current content, so a node must be erased with the content it was inserted with.
#pragma once
#include <cstdint>
#include <vector>

#include "egraph/ids.h"

namespace eqopt::eg {

class HashCons {
 public:
  struct Slot {
    uint32_t hash;
    Id node;  // kNoId = empty
  };

  HashCons() { slots_.assign(16, Slot{0, kNoId}); }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

  // Finds a node whose content `eq(node)` says equals the probe; kNoId when absent.
  template <class Eq>
  Id find(uint32_t hash, Eq&& eq) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.node == kNoId) return kNoId;
      if (s.hash == hash && eq(s.node)) return s.node;
    }
  }

  // Inserts a node known to be absent.
  void insert(uint32_t hash, Id node) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(hash, node);
    ++size_;
  }

  // Removes exactly this node id (stored under `hash`); returns whether it was present.
  bool erase(uint32_t hash, Id node) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      if (slots_[i].node == kNoId) return false;
      if (slots_[i].node == node) break;
    }
    // Backward-shift: move later entries of the probe run into the hole when that keeps them
    // reachable from their home slot.
    size_t hole = i;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
      if (slots_[j].node == kNoId) break;
      const size_t home = slots_[j].hash & mask;
      // Is `home` cyclically outside (hole, j]? Then the entry may move to the hole.
      const bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{0, kNoId};
    --size_;
    return true;
  }

  void reserve(size_t n) {
    size_t cap = slots_.size();
    while (n * 2 > cap) cap *= 2;
    if (cap != slots_.size()) rehash(cap);
  }

 private:
  void place(uint32_t hash, Id node) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].node != kNoId) i = (i + 1) & mask;
    slots_[i] = Slot{hash, node};
  }
  void grow() { rehash(slots_.size() * 2); }
  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{0, kNoId});
    for (const Slot& s : old)
      if (s.node != kNoId) place(s.hash, s.node);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// 32-bit hash of an e-node's content.
inline uint32_t node_hash(OpId op, PayloadId payload, const Id* kids, uint32_t arity) {
  uint64_t h = (uint64_t(op) << 32 | payload) * 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < arity; ++i) h = (h ^ kids[i]) * 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 32;
  return uint32_t(h);
}

}  // namespace eqopt::eg
