// Explanations: why two e-nodes are equal, as a chain of rewrites over whole terms.
//
// The idea follows egg's explain.rs (Flatt, Coward, Willsey, Tatlock, Panchekha, "Small Proofs from
// Congruence Closure", FMCAD 2022; egg's "flat explanations"): the e-graph records a proof forest
// over e-node ids (EGraph::proof_parent / proof_justification). The path between two nodes of one
// class in that forest is a proof: a Rule edge is one rewrite at the root of the two terms, a
// Congruence edge is proven by explaining each pair of children and lifting those steps into the
// parent's context. This file is an independent implementation for eqopt's e-graph (no egg code).
//
// Terms: term(n) = op{payload}(term(original_children(n))...), printed as S-expressions
// (`x`, `c{3}`, `(+ x (* y 1))`); payload bytes are printed verbatim between braces.
//
// Direction of a Rule edge: the proof forest keeps the rule index but not which end was the left
// side (re-rooting reverses edges). The direction is recovered by matching the rule's patterns on
// the two nodes: apply_match instantiates the left and right sides with the same variable classes,
// so with explanations on, the two instances share the exact node ids of their variables, and the
// match is exact at the node level. Rules with a dynamic applier (no right pattern) cannot be
// matched; their steps are reported with `backward = false` and `checked = false`.
#pragma once
#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "egraph/rewrite.h"
#include "support/error.h"

namespace eqopt::eg {

// One term of a flat explanation. Step 0 holds the first term with an empty rule; step i > 0 holds
// the term obtained from step i-1 by rewriting one subterm with `rule`, left-to-right
// (backward = false) or right-to-left (backward = true). `rule` is "<merge>" for a union made
// without a justification (EGraph::merge with no Justification, or an analysis).
struct ExplanationStep {
  std::string term;
  std::string rule;
  bool backward = false;
  bool checked = true;  // false when the direction could not be recovered (dynamic applier, <merge>)
};

namespace detail {

template <class G>
class Explainer {
 public:
  // `rules` may be null: then rule names come from `names` and directions are not recovered
  // (every Rule step is reported forward with checked = false).
  Explainer(const G& g, const std::vector<Rewrite<G>>* rules, const std::vector<std::string>* names)
      : g_(g), rules_(rules), names_(names) {}

  std::vector<ExplanationStep> explain(Id a, Id b) {
    if (!g_.explanations_enabled()) fail("explain: explanations are off (call set_explanations(true) before adding)");
    if (a >= g_.total_node_ids() || b >= g_.total_node_ids()) fail("explain: node id out of range");
    if (g_.find(a) != g_.find(b))
      fail("explain: the terms ", term(a), " and ", term(b), " are not proven equal");
    std::vector<ExplanationStep> out;
    out.push_back({term(a), "", false, true});
    explain_into(a, b, out);
    return out;
  }

  const std::string& term(Id n) {
    auto it = terms_.find(n);
    if (it != terms_.end()) return it->second;
    std::vector<std::string> kids;
    for (Id c : g_.original_children(n)) kids.push_back(term(c));
    return terms_.emplace(n, assemble(n, kids)).first->second;
  }

 private:
  std::string head(Id n) const {
    std::string s = g_.op_name(g_.node_op(n));
    const PayloadId p = g_.node_payload(n);
    if (p != kNoPayload) s += "{" + g_.payload_bytes(p) + "}";
    return s;
  }
  std::string assemble(Id n, const std::vector<std::string>& kids) const {
    if (kids.empty()) return head(n);
    std::string s = "(" + head(n);
    for (const std::string& k : kids) s += " " + k;
    return s + ")";
  }

  // Appends the steps from term(a) (the last term already in `out`) to term(b).
  void explain_into(Id a, Id b, std::vector<ExplanationStep>& out) {
    if (a == b) return;
    // Path a -> lca -> b in the proof forest.
    std::vector<Id> up_a{a}, up_b{b};
    for (Id x = a; g_.proof_parent(x) != kNoId;) up_a.push_back(x = g_.proof_parent(x));
    for (Id x = b; g_.proof_parent(x) != kNoId;) up_b.push_back(x = g_.proof_parent(x));
    if (up_a.back() != up_b.back()) fail("explain: nodes ", a, " and ", b, " are not connected in the proof forest");
    // Drop the shared tail (ancestors common to both), keeping the lowest common ancestor.
    while (up_a.size() > 1 && up_b.size() > 1 && up_a[up_a.size() - 2] == up_b[up_b.size() - 2]) {
      up_a.pop_back();
      up_b.pop_back();
    }
    // Edges going up from a: (x, parent(x)), justification stored on x.
    for (size_t i = 0; i + 1 < up_a.size(); ++i) edge(up_a[i], up_a[i + 1], up_a[i], out);
    // Edges going down to b: (parent(x), x), justification stored on x.
    for (size_t i = up_b.size() - 1; i > 0; --i) edge(up_b[i], up_b[i - 1], up_b[i - 1], out);
  }

  // One proof-forest edge from x to y, whose justification is stored on node `owner`.
  void edge(Id x, Id y, Id owner, std::vector<ExplanationStep>& out) {
    const Justification j = g_.proof_justification(owner);
    switch (j.kind) {
      case Justification::Kind::Rule: {
        std::string name;
        bool backward = false, checked = false;
        if (rules_) {
          if (j.rule >= rules_->size()) fail("explain: rule index ", j.rule, " beyond the ", rules_->size(), " rules given");
          const Rewrite<G>& r = (*rules_)[j.rule];
          name = r.name;
          if (!r.applier) {
            if (rule_edge(r, x, y)) {
              checked = true;
            } else if (rule_edge(r, y, x)) {
              checked = true;
              backward = true;
            } else {
              fail("explain: edge ", x, " -> ", y, " is not an instance of rule '", r.name, "' in either direction");
            }
          }
        } else {
          if (!names_ || j.rule >= names_->size()) fail("explain: no name for rule index ", j.rule);
          name = (*names_)[j.rule];
        }
        out.push_back({term(y), name, backward, checked});
        return;
      }
      case Justification::Kind::None:
        out.push_back({term(y), "<merge>", false, false});
        return;
      case Justification::Kind::Congruence: {
        const auto kx = g_.original_children(x), ky = g_.original_children(y);
        if (kx.size() != ky.size() || g_.node_op(x) != g_.node_op(y) || g_.node_payload(x) != g_.node_payload(y))
          fail("explain: congruence edge ", x, " - ", y, " joins different operators");
        std::vector<std::string> cur;
        for (Id c : kx) cur.push_back(term(c));
        for (size_t i = 0; i < kx.size(); ++i) {
          if (g_.find(kx[i]) != g_.find(ky[i])) fail("explain: congruence edge with unequal children");
          std::vector<ExplanationStep> sub;
          sub.push_back({cur[i], "", false, true});
          explain_into(kx[i], ky[i], sub);
          for (size_t s = 1; s < sub.size(); ++s) {
            cur[i] = sub[s].term;
            out.push_back({assemble(x, cur), sub[s].rule, sub[s].backward, sub[s].checked});
          }
        }
        return;
      }
    }
  }

  // Does node x instantiate some left pattern of r, and y the matching right pattern, with the same
  // variable bindings (at the node-id level)?
  bool rule_edge(const Rewrite<G>& r, Id x, Id y) const {
    for (size_t i = 0; i < r.lhs.size() && i < r.rhs.size(); ++i) {
      std::vector<Id> vars(r.vars.vars.size(), kNoId);
      std::vector<PayloadId> pvars(r.vars.payload_vars.size(), kNoId);
      if (match(r.lhs[i], r.lhs[i].root(), x, vars, pvars) && match(r.rhs[i], r.rhs[i].root(), y, vars, pvars))
        return true;
    }
    return false;
  }
  bool match(const Pattern& p, uint32_t pi, Id n, std::vector<Id>& vars, std::vector<PayloadId>& pvars) const {
    const Pattern::Node& pn = p.nodes[pi];
    if (pn.is_var) {
      Id& v = vars[pn.var];
      if (v == kNoId) v = n;
      return v == n;
    }
    if (g_.node_op(n) != pn.op) return false;
    const PayloadId pl = g_.node_payload(n);
    if (pn.payload_var >= 0) {
      PayloadId& v = pvars[size_t(pn.payload_var)];
      if (v == kNoId) v = pl;
      if (v != pl) return false;
    } else if (pl != pn.payload) {
      return false;
    }
    const auto kids = g_.original_children(n);
    if (kids.size() != pn.kids.size()) return false;
    for (size_t k = 0; k < kids.size(); ++k)
      if (!match(p, pn.kids[k], kids[k], vars, pvars)) return false;
    return true;
  }

  const G& g_;
  const std::vector<Rewrite<G>>* rules_;
  const std::vector<std::string>* names_;
  std::unordered_map<Id, std::string> terms_;
};

}  // namespace detail

// term(n) as an S-expression (explanations must be on: it follows original_children).
template <class G>
std::string explained_term(const G& g, Id n) {
  detail::Explainer<G> e(g, nullptr, nullptr);
  return e.term(n);
}

// The chain of rewrites proving term(a) = term(b); the rules are those the runner was given (their
// index is the Justification's rule index). Throws eqopt::Error when find(a) != find(b) (the pair is
// not proven equal) or when explanations are off.
template <class G>
std::vector<ExplanationStep> explain_equivalence(const G& g, Id a, Id b, const std::vector<Rewrite<G>>& rules) {
  return detail::Explainer<G>(g, &rules, nullptr).explain(a, b);
}

// The same with rule names only: directions cannot be recovered, so every rule step is reported
// with backward = false and checked = false.
template <class G>
std::vector<ExplanationStep> explain_equivalence(const G& g, Id a, Id b, const std::vector<std::string>& rule_names) {
  return detail::Explainer<G>(g, nullptr, &rule_names).explain(a, b);
}

// Adds two terms given as S-expressions (each keeps its own nodes, as explanations require) and
// explains why they are equal. Throws eqopt::Error when they are not proven equal.
template <class G>
std::vector<ExplanationStep> explain_terms(G& g, std::string_view a, std::string_view b,
                                           const std::vector<Rewrite<G>>& rules, const LeafParser& leaf = nullptr) {
  if (!g.explanations_enabled()) fail("explain: explanations are off (call set_explanations(true) before adding)");
  const Id ia = add_term(g, a, leaf);
  const Id ib = add_term(g, b, leaf);
  g.rebuild();
  return explain_equivalence(g, ia, ib, rules);
}

// The explanation as text, one term per line: "term" then "  => term   [rule]" or "[rule, backward]".
inline std::string explanation_text(const std::vector<ExplanationStep>& steps) {
  std::string s;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i == 0) {
      s += steps[i].term + "\n";
      continue;
    }
    s += "  = " + steps[i].term + "   [" + steps[i].rule + (steps[i].backward ? ", backward" : "") + "]\n";
  }
  return s;
}

}  // namespace eqopt::eg
