// Rewrite rules: a left-hand side (one pattern, or several sharing variables: a multi-pattern), an
// optional guard over the substitution and analysis data, and a right-hand side that is either a
// pattern per left pattern or a dynamic applier (C++ that builds the result or declines).
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "egraph/pattern.h"

namespace eqopt::eg {

// One match of a rule: entry = [class of each left pattern..., class vars..., payload vars...].
struct MatchView {
  const Id* entry;
  uint32_t num_patterns;
  Id eclass(size_t pattern = 0) const { return entry[pattern]; }
  Id var(uint32_t v) const { return entry[num_patterns + v]; }
  const Id* vars() const { return entry + num_patterns; }
};

template <class G>
struct Rewrite {
  std::string name;
  VarTable vars;
  std::vector<Pattern> lhs;
  std::vector<Program> programs;  // compiled lhs
  std::vector<Pattern> rhs;       // rhs[i] is unioned with the class lhs[i] matched
  std::function<bool(G&, const MatchView&)> guard;
  // Builds the right-hand side: returns one class per left pattern to union with, or an empty
  // vector to decline this match.
  std::function<std::vector<Id>(G&, const MatchView&)> applier;

  // Scheduling (see Runner): 0 means the runner's default.
  size_t match_limit = 0;      // backoff: this rule's match budget per iteration
  size_t iteration_limit = 0;  // the rule runs only in iterations [0, iteration_limit)
  int budget_group = -1;       // rules of one group share RunnerLimits::group_nodes[group] new e-nodes

  uint32_t num_patterns() const { return uint32_t(lhs.size()); }
  uint32_t stride() const { return num_patterns() + uint32_t(vars.vars.size() + vars.payload_vars.size()); }
  const PayloadId* payload_vars(const MatchView& m) const { return m.entry + num_patterns() + vars.vars.size(); }
};

namespace detail {
template <class G>
void compile_rule(G& g, Rewrite<G>& r, const std::vector<std::string>& lhs, const LeafParser& leaf) {
  if (lhs.empty()) fail("rule '", r.name, "' has no left-hand side");
  for (const std::string& text : lhs) r.lhs.push_back(compile_pattern(g, parse_sexpr(text), r.vars, true, leaf));
  for (const Pattern& p : r.lhs) r.programs.push_back(Program::compile(p, r.vars));
}
}  // namespace detail

// `name: lhs => rhs` with an optional guard.
template <class G>
Rewrite<G> make_rewrite(G& g, std::string name, const std::string& lhs, const std::string& rhs,
                        std::function<bool(G&, const MatchView&)> guard = nullptr, const LeafParser& leaf = nullptr) {
  Rewrite<G> r;
  r.name = std::move(name);
  detail::compile_rule(g, r, {lhs}, leaf);
  r.rhs.push_back(compile_pattern(g, parse_sexpr(rhs), r.vars, false, leaf));
  r.guard = std::move(guard);
  return r;
}

// Several left patterns matched jointly (shared variables agree); rhs[i] joins lhs[i]'s class.
template <class G>
Rewrite<G> make_multi_rewrite(G& g, std::string name, const std::vector<std::string>& lhs,
                              const std::vector<std::string>& rhs,
                              std::function<bool(G&, const MatchView&)> guard = nullptr, const LeafParser& leaf = nullptr) {
  if (lhs.size() != rhs.size()) fail("multi-pattern rule '", name, "' needs one right side per left side");
  Rewrite<G> r;
  r.name = std::move(name);
  detail::compile_rule(g, r, lhs, leaf);
  for (const std::string& text : rhs) r.rhs.push_back(compile_pattern(g, parse_sexpr(text), r.vars, false, leaf));
  r.guard = std::move(guard);
  return r;
}

template <class G>
Rewrite<G> make_dynamic_rewrite(G& g, std::string name, const std::vector<std::string>& lhs,
                                std::function<std::vector<Id>(G&, const MatchView&)> applier,
                                std::function<bool(G&, const MatchView&)> guard = nullptr, const LeafParser& leaf = nullptr) {
  Rewrite<G> r;
  r.name = std::move(name);
  detail::compile_rule(g, r, lhs, leaf);
  r.applier = std::move(applier);
  r.guard = std::move(guard);
  return r;
}

// Searches a rule on a clean e-graph. Appends entries (see MatchView) to out; stops after `limit`.
// Multi-patterns are joined on their shared variables (a hash join per extra pattern).
template <class G>
void search_rule(const G& g, const Rewrite<G>& r, const std::vector<std::vector<Id>>* op_index, Matches& out,
                 size_t limit = size_t(-1)) {
  const uint32_t n_pat = r.num_patterns();
  out.stride = r.stride();
  if (n_pat == 1) {
    r.programs[0].search(g, op_index, out, limit);
    return;
  }
  // Each pattern's own matches: [class, vars..., pvars...] with kNoId for variables it lacks.
  const uint32_t nv = uint32_t(r.vars.vars.size() + r.vars.payload_vars.size());
  std::vector<Matches> each(n_pat);
  for (uint32_t i = 0; i < n_pat; ++i) r.programs[i].search(g, op_index, each[i]);
  // Partial joins: [class_0..class_k, vars...].
  std::vector<Id> acc;
  uint32_t acc_stride = 1 + nv;
  for (size_t m = 0; m < each[0].count(); ++m) acc.insert(acc.end(), each[0].at(m), each[0].at(m) + 1 + nv);
  for (uint32_t i = 1; i < n_pat; ++i) {
    // Variables bound on both sides.
    std::vector<uint32_t> shared;
    if (each[i].count() > 0 && !acc.empty())
      for (uint32_t v = 0; v < nv; ++v)
        if (acc[i + v] != kNoId && each[i].at(0)[1 + v] != kNoId) shared.push_back(v);
    std::unordered_multimap<uint64_t, size_t> index;
    auto key_of = [&](const Id* vars) {
      uint64_t h = 0x12345;
      for (uint32_t v : shared) h = (h ^ vars[v]) * 0x100000001b3ull;
      return h;
    };
    for (size_t m = 0; m < each[i].count(); ++m) index.emplace(key_of(each[i].at(m) + 1), m);
    std::vector<Id> next;
    const uint32_t next_stride = acc_stride + 1;
    // The last join stops at the limit: only the first `limit` matches are kept anyway, and patterns
    // that share no variable (two Relus anywhere) would otherwise pair every match with every other,
    // quadratic in time and memory (a chain of 10,000 Relus: 25 million pairs).
    const size_t max_rows = i + 1 == n_pat ? (limit > out.count() ? limit - out.count() : 0) : size_t(-1);
    for (size_t a = 0; a + acc_stride <= acc.size() && next.size() / next_stride < max_rows; a += acc_stride) {
      const Id* av = &acc[a + i];  // vars of the partial match
      auto [lo, hi] = index.equal_range(key_of(av));
      for (auto it = lo; it != hi; ++it) {
        const Id* bv = each[i].at(it->second) + 1;
        bool ok = true;
        for (uint32_t v : shared) ok &= av[v] == bv[v];
        if (!ok) continue;
        next.insert(next.end(), acc.begin() + long(a), acc.begin() + long(a + i));  // classes so far
        next.push_back(each[i].at(it->second)[0]);
        for (uint32_t v = 0; v < nv; ++v) next.push_back(av[v] != kNoId ? av[v] : bv[v]);
        if (next.size() / next_stride >= max_rows) break;
      }
    }
    acc.swap(next);
    acc_stride = next_stride;
  }
  for (size_t a = 0; a + acc_stride <= acc.size() && out.count() < limit; a += acc_stride)
    out.data.insert(out.data.end(), acc.begin() + long(a), acc.begin() + long(a + acc_stride));
}

// Applies a match using only e-nodes that already exist: returns the number of unions (0 or 1), or
// -1 when part of the right side is missing (then apply_match must add it). Runners try this on
// every match first: unions done before any node is added make later lookups hit, which keeps the
// transient duplicates of an apply phase small (W2: 60 k instead of 1.1 M e-nodes at the peak).
template <class G>
int apply_existing(G& g, const Rewrite<G>& r, uint32_t rule_index, const MatchView& m) {
  if (r.applier || r.num_patterns() != 1 || g.explanations_enabled()) return -1;
  const Id rhs = lookup_instantiation(g, r.rhs[0], m.vars(), r.payload_vars(m));
  if (rhs == kNoId) return -1;
  return g.merge(m.eclass(0), rhs, Justification{Justification::Kind::Rule, rule_index}) ? 1 : 0;
}

// Applies one match (guard not checked); returns how many unions merged two classes.
template <class G>
size_t apply_match(G& g, const Rewrite<G>& r, uint32_t rule_index, const MatchView& m) {
  const Justification why{Justification::Kind::Rule, rule_index};
  size_t unions = 0;
  if (r.applier) {
    const std::vector<Id> ids = r.applier(g, m);
    for (size_t i = 0; i < ids.size() && i < r.num_patterns(); ++i) unions += g.merge(ids[i], m.eclass(i), why);
    return unions;
  }
  const PayloadId* pvars = r.payload_vars(m);
  for (uint32_t i = 0; i < r.num_patterns(); ++i) {
    const Id rhs = instantiate(g, r.rhs[i], m.vars(), pvars);
    // With explanations the rule's own left instance is joined, so each proof edge is one rewrite.
    const Id lhs = g.explanations_enabled() ? instantiate(g, r.lhs[i], m.vars(), pvars) : m.eclass(i);
    unions += g.merge(lhs, rhs, why);
  }
  return unions;
}

// For every operator, the classes holding at least one e-node with it (built once per iteration so
// that each rule visits only candidate classes).
template <class G>
std::vector<std::vector<Id>> build_op_index(const G& g) {
  std::vector<std::vector<Id>> index;
  g.for_each_class([&](Id c) {
    const auto& nodes = g.eclass(c).nodes;
    OpId last = kNoId;
    for (Id n : nodes) {
      const OpId op = g.node_op(n);
      if (op == last) continue;
      last = op;
      if (op >= index.size()) index.resize(op + 1);
      index[op].push_back(c);
    }
  });
  return index;
}

}  // namespace eqopt::eg
