// Explanations (egraph/explain.h), checked step by step by an independent term-level checker.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "egraph/explain.h"
#include "egraph/runner.h"
#include "egraph/sexpr.h"

using namespace eqopt;
using namespace eqopt::eg;

namespace {

using G = EGraph<>;

// ---- An independent checker over parsed S-expressions (does not use the e-graph).

bool same_term(const SExpr& a, const SExpr& b) {
  if (a.head != b.head || a.has_payload != b.has_payload || a.payload != b.payload) return false;
  if (a.children.size() != b.children.size()) return false;  // `x` and `(x)` are the same term
  for (size_t i = 0; i < a.children.size(); ++i)
    if (!same_term(a.children[i], b.children[i])) return false;
  return true;
}

struct Binding {
  std::vector<std::pair<std::string, SExpr>> vars;
  const SExpr* get(const std::string& v) const {
    for (const auto& [n, t] : vars)
      if (n == v) return &t;
    return nullptr;
  }
};

bool match(const SExpr& pat, const SExpr& t, Binding& b) {
  if (pat.is_var()) {
    if (const SExpr* bound = b.get(pat.head)) return same_term(*bound, t);
    b.vars.push_back({pat.head, t});
    return true;
  }
  if (pat.head != t.head || pat.has_payload != t.has_payload || pat.payload != t.payload) return false;
  if (pat.children.size() != t.children.size()) return false;
  for (size_t i = 0; i < pat.children.size(); ++i)
    if (!match(pat.children[i], t.children[i], b)) return false;
  return true;
}

SExpr instantiate_pattern(const SExpr& pat, const Binding& b) {
  if (pat.is_var()) {
    const SExpr* t = b.get(pat.head);
    EXPECT_NE(t, nullptr) << "unbound " << pat.head;
    return t ? *t : SExpr{};
  }
  SExpr r = pat;
  for (SExpr& c : r.children) c = instantiate_pattern(c, b);
  return r;
}

// Is `to` obtained from `from` by rewriting exactly one subterm with l -> r?
bool one_rewrite(const SExpr& from, const SExpr& to, const SExpr& l, const SExpr& r) {
  Binding b;
  if (match(l, from, b) && same_term(instantiate_pattern(r, b), to)) return true;
  if (from.head != to.head || from.payload != to.payload || from.has_payload != to.has_payload ||
      from.children.size() != to.children.size())
    return false;
  int differing = -1;
  for (size_t i = 0; i < from.children.size(); ++i) {
    if (same_term(from.children[i], to.children[i])) continue;
    if (differing >= 0) return false;  // two subterms changed
    differing = int(i);
  }
  return differing >= 0 && one_rewrite(from.children[size_t(differing)], to.children[size_t(differing)], l, r);
}

struct TextRule {
  std::string name, lhs, rhs;
};

const std::vector<TextRule> kRules = {
    {"comm-add", "(+ ?a ?b)", "(+ ?b ?a)"},
    {"assoc-add", "(+ ?a (+ ?b ?c))", "(+ (+ ?a ?b) ?c)"},
    {"mul-one", "(* ?a 1)", "?a"},
    {"add-zero", "(+ ?a 0)", "?a"},
};

void check_explanation(const std::vector<ExplanationStep>& steps, const std::string& a, const std::string& b) {
  ASSERT_FALSE(steps.empty());
  EXPECT_TRUE(same_term(parse_sexpr(steps.front().term), parse_sexpr(a))) << steps.front().term << " vs " << a;
  EXPECT_TRUE(same_term(parse_sexpr(steps.back().term), parse_sexpr(b))) << steps.back().term << " vs " << b;
  EXPECT_EQ(steps.front().rule, "");
  for (size_t i = 1; i < steps.size(); ++i) {
    const TextRule* rule = nullptr;
    for (const TextRule& r : kRules)
      if (r.name == steps[i].rule) rule = &r;
    ASSERT_NE(rule, nullptr) << "unknown rule '" << steps[i].rule << "' at step " << i;
    EXPECT_TRUE(steps[i].checked);
    const SExpr l = parse_sexpr(steps[i].backward ? rule->rhs : rule->lhs);
    const SExpr r = parse_sexpr(steps[i].backward ? rule->lhs : rule->rhs);
    EXPECT_TRUE(one_rewrite(parse_sexpr(steps[i - 1].term), parse_sexpr(steps[i].term), l, r))
        << "step " << i << ": " << steps[i - 1].term << " -> " << steps[i].term << " by " << rule->name
        << (steps[i].backward ? " (backward)" : "") << "\n"
        << explanation_text(steps);
  }
}

std::vector<Rewrite<G>> make_rules(G& g) {
  std::vector<Rewrite<G>> rules;
  for (const TextRule& r : kRules) rules.push_back(make_rewrite(g, r.name, r.lhs, r.rhs));
  return rules;
}

}  // namespace

TEST(EGraphExplain, CheckerSelfTest) {
  const SExpr l = parse_sexpr("(+ ?a 0)"), r = parse_sexpr("?a");
  EXPECT_TRUE(one_rewrite(parse_sexpr("(* (+ x 0) y)"), parse_sexpr("(* x y)"), l, r));
  EXPECT_FALSE(one_rewrite(parse_sexpr("(* (+ x 0) (+ y 0))"), parse_sexpr("(* x y)"), l, r));
  EXPECT_FALSE(one_rewrite(parse_sexpr("(* x y)"), parse_sexpr("(* x y)"), l, r));
}

TEST(EGraphExplain, RunnerPairsAreExplainedStepByStep) {
  G g;
  g.set_explanations(true);
  auto rules = make_rules(g);
  const std::string start = "(+ (* x 1) (+ y (+ 0 z)))";
  const Id root = add_term(g, start);
  Runner<G> runner(g, RunnerLimits{8, 20000, 10.0, 0});
  runner.run(rules);
  ASSERT_TRUE(g.clean());

  for (const std::string target : {"(+ x (+ y z))", "(+ z (+ y x))", "(+ (+ z y) (* x 1))", "(+ (+ (* x 1) y) z)"}) {
    SCOPED_TRACE(target);
    const auto steps = explain_terms(g, start, target, rules);
    check_explanation(steps, start, target);
    EXPECT_GT(steps.size(), 1u);
  }
  // Every node of the root's class against the root: a broad sample of proofs.
  size_t checked = 0;
  for (Id n = 0; n < g.total_node_ids() && checked < 150; ++n) {
    if (n == root || g.find(n) != g.find(root)) continue;
    const auto steps = explain_equivalence(g, root, n, rules);
    check_explanation(steps, start, explained_term(g, n));
    // And the reverse direction.
    const auto back = explain_equivalence(g, n, root, rules);
    check_explanation(back, explained_term(g, n), start);
    ++checked;
  }
  EXPECT_GT(checked, 20u);
  // A subterm class too.
  check_explanation(explain_terms(g, "(+ 0 z)", "z", rules), "(+ 0 z)", "z");
}

TEST(EGraphExplain, NamesOnlyAndText) {
  G g;
  g.set_explanations(true);
  auto rules = make_rules(g);
  const Id a = add_term(g, "(* (+ a 0) 1)");
  Runner<G> runner(g, RunnerLimits{5, 10000, 5.0, 0});
  runner.run(rules);
  const Id b = add_term(g, "a");
  g.rebuild();
  const auto with_rules = explain_equivalence(g, a, b, rules);
  check_explanation(with_rules, "(* (+ a 0) 1)", "a");
  std::vector<std::string> names;
  for (const auto& r : rules) names.push_back(r.name);
  const auto named = explain_equivalence(g, a, b, names);
  ASSERT_EQ(named.size(), with_rules.size());
  for (size_t i = 0; i < named.size(); ++i) {
    EXPECT_EQ(named[i].term, with_rules[i].term);
    EXPECT_EQ(named[i].rule, with_rules[i].rule);
  }
  const std::string text = explanation_text(with_rules);
  EXPECT_NE(text.find("mul-one"), std::string::npos) << text;
  EXPECT_NE(text.find("add-zero"), std::string::npos) << text;
}

TEST(EGraphExplain, PayloadsArePrinted) {
  G g;
  g.set_explanations(true);
  std::vector<Rewrite<G>> rules;
  rules.push_back(make_rewrite(g, "cast-id", "(cast{?t} (cast{?t} ?x))", "(cast{?t} ?x)"));
  const std::string start = "(f (cast{f32} (cast{f32} c{3})))";
  add_term(g, start);
  Runner<G> runner(g, RunnerLimits{3, 1000, 5.0, 0});
  runner.run(rules);
  const auto steps = explain_terms(g, start, "(f (cast{f32} c{3}))", rules);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].term, start);
  EXPECT_EQ(steps[1].term, "(f (cast{f32} c{3}))");
  EXPECT_EQ(steps[1].rule, "cast-id");
  EXPECT_FALSE(steps[1].backward);
  // Explained in the other order, the same rule runs backward.
  const auto back = explain_terms(g, "(f (cast{f32} c{3}))", start, rules);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(back[1].backward);
}

TEST(EGraphExplain, UnprovenPairsAndOffAreErrors) {
  G g;
  g.set_explanations(true);
  auto rules = make_rules(g);
  add_term(g, "(+ x 0)");
  Runner<G> runner(g, RunnerLimits{5, 1000, 5.0, 0});
  runner.run(rules);
  EXPECT_NO_THROW(explain_terms(g, "(+ x 0)", "x", rules));
  EXPECT_THROW(explain_terms(g, "(+ x 0)", "y", rules), Error);
  EXPECT_THROW(explain_terms(g, "(* x 1)", "x", rules), Error);  // never rewritten

  G off;
  auto rules_off = make_rules(off);
  const Id x = add_term(off, "x");
  EXPECT_THROW(explain_equivalence(off, x, x, rules_off), Error);
  EXPECT_THROW(explain_terms(off, "x", "x", rules_off), Error);
}
