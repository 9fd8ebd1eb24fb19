// Per-rule scheduling in the runner: a rule's own match budget (the backoff scheduler bans it
// sooner), an iteration window, and e-node budgets shared by a group of rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "egraph/runner.h"
#include "egraph/sexpr.h"

using namespace eqopt;
using namespace eqopt::eg;

namespace {

using G = EGraph<>;

// A sum of n distinct leaves: commutativity and associativity have many matches on it.
std::string sum_of(int n) {
  std::string t = "x0";
  for (int i = 1; i < n; ++i) t = "(+ " + t + " x" + std::to_string(i) + ")";
  return t;
}

std::vector<Rewrite<G>> ac_rules(G& g) {
  std::vector<Rewrite<G>> rules;
  rules.push_back(make_rewrite(g, "comm", "(+ ?a ?b)", "(+ ?b ?a)"));
  rules.push_back(make_rewrite(g, "assoc", "(+ (+ ?a ?b) ?c)", "(+ ?a (+ ?b ?c))"));
  return rules;
}

}  // namespace

TEST(RunnerSchedule, ARuleMatchLimitBansItSooner) {
  size_t banned_default = 0, banned_low = 0;
  for (size_t limit : {size_t(0), size_t(3)}) {
    G g;
    add_term(g, sum_of(4));
    auto rules = ac_rules(g);
    rules[1].match_limit = limit;  // 0: the scheduler's default (1000)
    Runner<G> runner(g, RunnerLimits{6, 100000, 10.0, 0}, SchedulerKind::Backoff);
    runner.run(rules);
    size_t banned = 0;
    for (const auto& it : runner.iterations()) banned += it.rules[1].banned;
    (limit ? banned_low : banned_default) = banned;
  }
  EXPECT_EQ(banned_default, 0u);
  EXPECT_GT(banned_low, 0u);
}

TEST(RunnerSchedule, IterationLimitStopsARuleAfterItsWindow) {
  G g;
  add_term(g, sum_of(5));
  auto rules = ac_rules(g);
  rules[0].iteration_limit = 1;
  Runner<G> runner(g, RunnerLimits{4, 100000, 10.0, 0});
  runner.run(rules);
  ASSERT_GE(runner.iterations().size(), 2u);
  EXPECT_GT(runner.iterations()[0].rules[0].matches, 0u);
  for (size_t i = 1; i < runner.iterations().size(); ++i) EXPECT_EQ(runner.iterations()[i].rules[0].matches, 0u);
}

TEST(RunnerSchedule, GroupBudgetCapsTheNodesItsRulesAdd) {
  auto grown = [](size_t budget) {
    G g;
    add_term(g, sum_of(7));
    auto rules = ac_rules(g);
    for (auto& r : rules) r.budget_group = 0;
    RunnerLimits limits{5, 1000000, 10.0, 0};
    limits.group_nodes = {budget};
    Runner<G> runner(g, limits);
    const size_t before = g.num_nodes();
    runner.run(rules);
    return g.num_nodes() - before;
  };
  const size_t unlimited = grown(size_t(1) << 40), capped = grown(50);
  EXPECT_GT(unlimited, 200u);
  // A budget is checked between applications, so one application may overshoot it by a few nodes.
  EXPECT_LT(capped, 60u);
  EXPECT_LT(capped * 4, unlimited);
}
