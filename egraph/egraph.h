// A language-generic e-graph (after egg: Willsey et al., "egg: Fast and Extensible Equality
// Saturation", POPL 2021): hash-consed e-nodes, union-find over e-classes, deferred rebuilding that
// restores congruence, and e-class analyses.
//
// E-nodes are (operator, interned payload, children); every new e-node starts as its own e-class
// with the node's id. After rebuild(), every live e-node's children are canonical, no two live
// e-nodes have the same content, and each e-class lists its live e-nodes sorted by
// (operator, payload) for e-matching.
#pragma once
#include <algorithm>
#include <cassert>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "egraph/hashcons.h"
#include "egraph/idvec.h"
#include "egraph/ids.h"
#include "egraph/symbols.h"
#include "egraph/unionfind.h"

namespace eqopt::eg {

// The analysis interface (egg's Analysis trait), as a policy class:
//   struct A {
//     using Data = ...;
//     static constexpr bool enabled = true;
//     template <class G> Data make(G& g, Id node);                 // data of a new e-node
//     std::pair<bool, bool> merge(Data& into, Data from);          // did `into` / `from` change
//     template <class G> void modify(G& g, Id eclass);             // may add nodes and union
//   };
struct NoAnalysis {
  struct Data {};
  static constexpr bool enabled = false;
  template <class G>
  Data make(G&, Id) {
    return {};
  }
  std::pair<bool, bool> merge(Data&, Data) { return {false, false}; }
  template <class G>
  void modify(G&, Id) {}
};

// Why two e-nodes were made equal; recorded only when explanations are on.
struct Justification {
  enum class Kind : uint8_t { None, Rule, Congruence };
  Kind kind = Kind::None;
  uint32_t rule = 0;  // rule index when kind == Rule
};

template <class Analysis = NoAnalysis>
class EGraph {
 public:
  using Data = typename Analysis::Data;

  struct EClass {
    IdVec nodes;    // live, visible e-nodes; sorted by (op, payload) after rebuild
    IdVec parents;  // e-nodes that have this class as a child (may hold stale ids until rebuild)
    [[no_unique_address]] Data data{};
  };

  explicit EGraph(Analysis analysis = Analysis()) : analysis_(std::move(analysis)) {}

  // ---------------------------------------------------------------- symbols
  OpId intern_op(std::string_view name) { return ops_.intern(name); }
  PayloadId intern_payload(std::string_view bytes) { return bytes.empty() ? kNoPayload : payloads_.intern(bytes); }
  OpId find_op(std::string_view name) const { return ops_.lookup(name); }
  const std::string& op_name(OpId op) const { return ops_.name(op); }
  const std::string& payload_bytes(PayloadId p) const { return payloads_.name(p); }

  // ---------------------------------------------------------------- nodes
  OpId node_op(Id n) const { return nodes_[n].op; }
  PayloadId node_payload(Id n) const { return nodes_[n].payload; }
  std::span<const Id> node_children(Id n) const {
    const NodeRec& r = nodes_[n];
    return r.arity <= kInline ? std::span<const Id>(r.kids, r.arity) : std::span<const Id>(&big_kids_[r.kids[0]], r.arity);
  }
  // The class a node belongs to (canonical).
  Id node_class(Id n) const { return uf_.find(n); }
  bool node_live(Id n) const { return state_[n] != kDead; }
  size_t total_node_ids() const { return nodes_.size(); }

  // ---------------------------------------------------------------- building
  // Adds an e-node (children need not be canonical) and returns its e-class: the canonical id, or
  // with explanations on, the id of the node for exactly this term (a valid, non-canonical class id).
  Id add(OpId op, PayloadId payload, std::span<const Id> children) {
    std::vector<Id>& kids = scratch_kids_;
    kids.resize(children.size());
    for (size_t i = 0; i < children.size(); ++i) kids[i] = uf_.find_mut(children[i]);
    const uint32_t h = node_hash(op, payload, kids.data(), uint32_t(kids.size()));
    const Id existing = memo_.find(h, [&](Id m) { return same_content(m, op, payload, kids.data(), uint32_t(kids.size())); });
    if (existing != kNoId) {
      if (!explain_) return uf_.find_mut(existing);
      // Explanations keep every added term as its own node, joined to its twin by congruence.
      const Id n = new_node(op, payload, kids, children, /*in_memo=*/false, h);
      merge_impl(n, existing, Justification{Justification::Kind::Congruence, 0});
      return n;
    }
    return new_node(op, payload, kids, children, /*in_memo=*/true, h);
  }
  Id add(OpId op, std::span<const Id> children) { return add(op, kNoPayload, children); }
  Id add(OpId op, std::initializer_list<Id> children) { return add(op, kNoPayload, std::span<const Id>(children.begin(), children.size())); }

  // The class of an e-node with this content, or kNoId (children are canonicalized).
  Id lookup(OpId op, PayloadId payload, std::span<const Id> children) const {
    Id small[8];
    std::vector<Id> heap;
    Id* kids = small;
    if (children.size() > 8) {
      heap.resize(children.size());
      kids = heap.data();
    }
    for (size_t i = 0; i < children.size(); ++i) kids[i] = uf_.find(children[i]);
    const uint32_t arity = uint32_t(children.size());
    const uint32_t h = node_hash(op, payload, kids, arity);
    const Id m = memo_.find(h, [&](Id x) { return same_content(x, op, payload, kids, arity); });
    return m == kNoId ? kNoId : uf_.find(m);
  }

  Id find(Id c) const { return uf_.find(c); }
  Id find_mut(Id c) { return uf_.find_mut(c); }

  // Unions two e-classes; returns true when they were different. Congruence is restored by rebuild().
  bool merge(Id a, Id b, Justification why = {}) { return merge_impl(a, b, why); }

  // Restores the invariants (see the file comment). Returns the number of unions it performed.
  size_t rebuild();
  bool clean() const { return pending_.empty() && analysis_pending_.empty() && dirty_.empty(); }

  // ---------------------------------------------------------------- classes
  const EClass& eclass(Id c) const { return classes_[uf_.find(c)]; }
  EClass& eclass_mut(Id c) { return classes_[uf_.find_mut(c)]; }
  const Data& data(Id c) const { return classes_[uf_.find(c)].data; }
  Data& data_mut(Id c) { return classes_[uf_.find_mut(c)].data; }
  bool is_root(Id c) const { return uf_.is_root(c); }
  template <class F>
  void for_each_class(F&& f) const {
    for (Id c = 0; c < Id(classes_.size()); ++c)
      if (uf_.is_root(c)) f(c);
  }
  // Removes a node from its class's node list (it stays in the hash-cons, so adding it again
  // finds the class). Analyses use this for pruning.
  void hide_node(Id n) {
    if (state_[n] != kLive) return;
    state_[n] = kHidden;
    --visible_nodes_;
    IdVec& list = classes_[uf_.find_mut(n)].nodes;
    list.truncate_at(std::remove(list.begin(), list.end(), n));
  }

  size_t num_classes() const { return num_classes_; }
  // Live, visible e-nodes (egg's total_number_of_nodes after a rebuild).
  size_t num_nodes() const { return visible_nodes_; }
  size_t hashcons_size() const { return memo_.size(); }
  size_t memory_bytes() const;

  Analysis& analysis() { return analysis_; }
  const Analysis& analysis() const { return analysis_; }

  // ---------------------------------------------------------------- explanations
  // Must be chosen before the first add. Off by default; when off nothing is recorded.
  void set_explanations(bool on) {
    if (!nodes_.empty()) throw std::logic_error("explanations must be enabled before adding nodes");
    explain_ = on;
  }
  bool explanations_enabled() const { return explain_; }
  // The children a node was added with (before canonicalization) — its term structure.
  std::span<const Id> original_children(Id n) const {
    return {&orig_kids_[orig_begin_[n]], nodes_[n].arity};
  }
  // Proof forest: each node's parent and the justification of that edge (kNoId for a root).
  Id proof_parent(Id n) const { return proof_parent_[n]; }
  Justification proof_justification(Id n) const { return proof_just_[n]; }

 private:
  static constexpr uint32_t kInline = 3;
  static constexpr uint8_t kLive = 0, kHidden = 1, kDead = 2;

  struct NodeRec {
    OpId op;
    PayloadId payload;
    uint32_t arity;
    Id kids[kInline];  // children inline when arity <= kInline; else kids[0] indexes big_kids_
  };

  Id* kids_mut(Id n) {
    NodeRec& r = nodes_[n];
    return r.arity <= kInline ? r.kids : &big_kids_[r.kids[0]];
  }
  bool same_content(Id m, OpId op, PayloadId payload, const Id* kids, uint32_t arity) const {
    const NodeRec& r = nodes_[m];
    if (r.op != op || r.payload != payload || r.arity != arity) return false;
    const Id* k = r.arity <= kInline ? r.kids : &big_kids_[r.kids[0]];
    for (uint32_t i = 0; i < r.arity; ++i)
      if (k[i] != kids[i]) return false;
    return true;
  }
  uint32_t hash_of(Id n) const {
    const NodeRec& r = nodes_[n];
    const Id* k = r.arity <= kInline ? r.kids : &big_kids_[r.kids[0]];
    return node_hash(r.op, r.payload, k, r.arity);
  }

  Id new_node(OpId op, PayloadId payload, const std::vector<Id>& kids, std::span<const Id> original,
              bool in_memo, uint32_t h) {
    const Id n = Id(nodes_.size());
    NodeRec r{op, payload, uint32_t(kids.size()), {0, 0, 0}};
    if (kids.size() <= kInline) {
      std::copy(kids.begin(), kids.end(), r.kids);
    } else {
      r.kids[0] = Id(big_kids_.size());
      big_kids_.insert(big_kids_.end(), kids.begin(), kids.end());
    }
    nodes_.push_back(r);
    state_.push_back(in_memo ? kLive : kDead);
    uf_.make_set();
    classes_.emplace_back();
    ++num_classes_;
    if (explain_) {
      orig_begin_.push_back(Id(orig_kids_.size()));
      orig_kids_.insert(orig_kids_.end(), original.begin(), original.end());
      proof_parent_.push_back(kNoId);
      proof_just_.push_back(Justification{});
    }
    if (in_memo) {
      classes_[n].nodes.push_back(n);
      ++visible_nodes_;
      for (size_t i = 0; i < kids.size(); ++i) {
        bool seen = false;
        for (size_t j = 0; j < i; ++j) seen |= kids[j] == kids[i];
        if (!seen) classes_[kids[i]].parents.push_back(n);
      }
      memo_.insert(h, n);
    }
    if constexpr (Analysis::enabled) {
      Data d = analysis_.make(*this, n);
      classes_[n].data = std::move(d);
      analysis_.modify(*this, n);
    }
    return n;
  }

  bool merge_impl(Id a, Id b, Justification why) {
    if (explain_) record_proof_edge(a, b, why);
    a = uf_.find_mut(a);
    b = uf_.find_mut(b);
    if (a == b) return false;
    // The class with more parents stays root, so fewer parents move (egg's choice).
    if (classes_[a].parents.size() < classes_[b].parents.size()) std::swap(a, b);
    uf_.link(b, a);
    --num_classes_;
    EClass& A = classes_[a];
    EClass& B = classes_[b];
    pending_.insert(pending_.end(), B.parents.begin(), B.parents.end());
    if constexpr (Analysis::enabled) {
      auto [changed_a, changed_b] = analysis_.merge(A.data, std::move(B.data));
      if (changed_a) analysis_pending_.insert(analysis_pending_.end(), A.parents.begin(), A.parents.end());
      if (changed_b) analysis_pending_.insert(analysis_pending_.end(), B.parents.begin(), B.parents.end());
    }
    A.nodes.append(B.nodes);
    A.parents.append(B.parents);
    B.nodes.release();
    B.parents.release();
    dirty_.push_back(a);
    if constexpr (Analysis::enabled) analysis_.modify(*this, a);
    return true;
  }

  // Proof forest (egg's explanation forest): re-root a's tree at a, then hang it under b.
  void record_proof_edge(Id a, Id b, Justification why) {
    if (a == b) return;
    // Reverse the path from a to its root so that a becomes the root of its tree.
    Id prev = kNoId;
    Justification prev_just{};
    Id cur = a;
    while (cur != kNoId) {
      const Id next = proof_parent_[cur];
      const Justification next_just = proof_just_[cur];
      proof_parent_[cur] = prev;
      proof_just_[cur] = prev_just;
      prev = cur;
      prev_just = next_just;
      cur = next;
    }
    // Only link when a and b are in different trees (else the edge would close a cycle).
    Id ra = a, rb = b;
    while (proof_parent_[rb] != kNoId) rb = proof_parent_[rb];
    if (ra == rb) return;
    proof_parent_[a] = b;
    proof_just_[a] = why;
  }

  void normalize_class(Id c);

  Analysis analysis_;
  Interner ops_{false};
  Interner payloads_{true};
  std::vector<NodeRec> nodes_;
  std::vector<Id> big_kids_;
  std::vector<uint8_t> state_;
  UnionFind uf_;
  std::vector<EClass> classes_;
  HashCons memo_;
  std::vector<Id> pending_;           // nodes whose children may have become non-canonical
  std::vector<Id> analysis_pending_;  // nodes whose class data must be recomputed
  std::vector<Id> dirty_;             // classes whose node/parent lists need cleaning
  std::vector<uint8_t> cleaned_mark_;  // scratch for rebuild: classes already cleaned
  std::vector<Id> scratch_kids_;
  size_t num_classes_ = 0;
  size_t visible_nodes_ = 0;
  // Explanations (empty when off).
  bool explain_ = false;
  std::vector<Id> orig_begin_, orig_kids_;
  std::vector<Id> proof_parent_;
  std::vector<Justification> proof_just_;
};

// ------------------------------------------------------------------ rebuild

template <class A>
size_t EGraph<A>::rebuild() {
  size_t unions = 0;
  while (!pending_.empty() || !analysis_pending_.empty()) {
    while (!pending_.empty()) {
      const Id n = pending_.back();
      pending_.pop_back();
      if (state_[n] == kDead) continue;
      Id* k = kids_mut(n);
      const uint32_t arity = nodes_[n].arity;
      bool changed = false;
      for (uint32_t i = 0; i < arity; ++i) changed |= uf_.find(k[i]) != k[i];
      // A node whose children are already canonical keeps its key; if another node becomes equal
      // to it, that other node is the one being re-canonicalized and will find this one.
      if (!changed) continue;
      memo_.erase(hash_of(n), n);
      for (uint32_t i = 0; i < arity; ++i) k[i] = uf_.find_mut(k[i]);
      const uint32_t h = hash_of(n);
      const NodeRec& r = nodes_[n];
      const Id twin = memo_.find(h, [&](Id m) {
        const NodeRec& q = nodes_[m];
        if (q.op != r.op || q.payload != r.payload || q.arity != r.arity) return false;
        const Id* qk = q.arity <= kInline ? q.kids : &big_kids_[q.kids[0]];
        for (uint32_t i = 0; i < arity; ++i)
          if (qk[i] != k[i]) return false;
        return true;
      });
      if (twin == kNoId) {
        memo_.insert(h, n);
        continue;
      }
      // Congruent to an existing node: the two classes are equal, and this node is a duplicate.
      if (state_[n] == kLive) --visible_nodes_;
      state_[n] = kDead;
      for (uint32_t i = 0; i < arity; ++i) dirty_.push_back(k[i]);  // their parent lists hold n
      dirty_.push_back(n);  // its class's node list holds n, even when no merge happens below
      unions += merge_impl(n, twin, Justification{Justification::Kind::Congruence, 0});
    }
    if constexpr (A::enabled) {
      while (!analysis_pending_.empty()) {
        const Id n = analysis_pending_.back();
        analysis_pending_.pop_back();
        if (state_[n] == kDead) continue;
        const Id c = uf_.find_mut(n);
        Data d = analysis_.make(*this, n);
        if (analysis_.merge(classes_[c].data, std::move(d)).first) {
          const auto& parents = classes_[c].parents;
          analysis_pending_.insert(analysis_pending_.end(), parents.begin(), parents.end());
          analysis_.modify(*this, c);
        }
      }
    }
  }
  // Clean the node and parent lists of every class touched.
  // A mark per class replaces sorting the (long, repetitive) dirty list.
  std::vector<Id> dirty;
  dirty.swap(dirty_);
  if (cleaned_mark_.size() < classes_.size()) cleaned_mark_.resize(classes_.size(), 0);
  for (Id& c : dirty) {
    c = uf_.find_mut(c);
    if (cleaned_mark_[c]) continue;
    cleaned_mark_[c] = 1;
    normalize_class(c);
  }
  for (Id c : dirty) cleaned_mark_[c] = 0;
  return unions;
}

template <class A>
void EGraph<A>::normalize_class(Id c) {
  EClass& cl = classes_[c];
  auto gone = [&](Id n) { return state_[n] != kLive; };
  cl.nodes.truncate_at(std::remove_if(cl.nodes.begin(), cl.nodes.end(), gone));
  std::sort(cl.nodes.begin(), cl.nodes.end(), [&](Id x, Id y) {
    const NodeRec &a = nodes_[x], &b = nodes_[y];
    if (a.op != b.op) return a.op < b.op;
    if (a.payload != b.payload) return a.payload < b.payload;
    return x < y;
  });
  auto dead = [&](Id n) { return state_[n] == kDead; };
  cl.parents.truncate_at(std::remove_if(cl.parents.begin(), cl.parents.end(), dead));
  std::sort(cl.parents.begin(), cl.parents.end());
  cl.parents.truncate_at(std::unique(cl.parents.begin(), cl.parents.end()));
}

template <class A>
size_t EGraph<A>::memory_bytes() const {
  size_t b = nodes_.capacity() * sizeof(NodeRec) + big_kids_.capacity() * sizeof(Id) + state_.capacity() +
             uf_.size() * sizeof(Id) + classes_.capacity() * sizeof(EClass) + memo_.memory_bytes();
  for (Id c = 0; c < Id(classes_.size()); ++c) {
    const EClass& cl = classes_[c];
    if (cl.nodes.capacity() > IdVec::kInline) b += cl.nodes.capacity() * sizeof(Id);
    if (cl.parents.capacity() > IdVec::kInline) b += cl.parents.capacity() * sizeof(Id);
  }
  return b;
}

}  // namespace eqopt::eg
