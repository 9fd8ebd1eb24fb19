// The equality-saturation runner (egg's Runner): iterations of search, apply and rebuild, with
// limits, schedulers, a report per iteration and hooks.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "egraph/rewrite.h"

namespace eqopt::eg {

enum class StopReason { Saturated, IterationLimit, NodeLimit, TimeLimit, MemoryLimit, Hook };
std::string_view stop_reason_name(StopReason r);

struct RunnerLimits {
  size_t iterations = 30;
  size_t nodes = 10000;          // live e-nodes
  double seconds = 5.0;
  size_t memory_bytes = 0;       // resident memory; 0 = three quarters of physical memory
  // E-node budgets of rule groups (Rewrite::budget_group): once the rules of a group have added this
  // many live e-nodes in total, they stop applying (their searches still report matches).
  std::vector<size_t> group_nodes;
};

enum class SchedulerKind { Simple, Backoff };

struct BackoffOptions {
  size_t match_limit = 1000;
  size_t ban_length = 5;
};

struct RuleStats {
  size_t matches = 0;  // (class, substitution) pairs found by search, before guards
  size_t unions = 0;   // applications that merged two classes
  double search_ms = 0, apply_ms = 0;
  bool banned = false;  // skipped this iteration (backoff)
};

struct IterationReport {
  size_t index = 0;
  std::vector<RuleStats> rules;
  size_t matches = 0, unions = 0, rebuild_unions = 0;
  double search_ms = 0, apply_ms = 0, rebuild_ms = 0;
  size_t nodes = 0, classes = 0, hashcons = 0;  // after the rebuild
};

// Resident set size of this process in bytes (from /proc; 0 when unavailable).
size_t resident_memory_bytes();
size_t peak_resident_memory_bytes();
size_t physical_memory_bytes();

template <class G>
class Runner {
 public:
  using Hook = std::function<bool(Runner&)>;  // return false to stop (StopReason::Hook)

  explicit Runner(G& g, RunnerLimits limits = {}, SchedulerKind scheduler = SchedulerKind::Simple,
                  BackoffOptions backoff = {})
      : g_(g), limits_(limits), scheduler_(scheduler), backoff_(backoff) {
    if (limits_.memory_bytes == 0) limits_.memory_bytes = physical_memory_bytes() / 4 * 3;
  }

  void before_iteration(Hook h) { before_ = std::move(h); }
  void after_iteration(Hook h) { after_ = std::move(h); }

  StopReason run(const std::vector<Rewrite<G>>& rules);

  G& egraph() { return g_; }
  const std::vector<IterationReport>& iterations() const { return reports_; }
  StopReason stop_reason() const { return stop_; }
  double total_ms() const { return total_ms_; }

 private:
  struct BanState {
    size_t times_banned = 0;
    size_t banned_until = 0;
  };
  using Clock = std::chrono::steady_clock;
  static double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  }
  bool over_nodes() const { return g_.num_nodes() > limits_.nodes; }
  bool over_memory() const { return resident_memory_bytes() > limits_.memory_bytes; }

  G& g_;
  RunnerLimits limits_;
  SchedulerKind scheduler_;
  BackoffOptions backoff_;
  Hook before_, after_;
  std::vector<IterationReport> reports_;
  StopReason stop_ = StopReason::Saturated;
  double total_ms_ = 0;
};

template <class G>
StopReason Runner<G>::run(const std::vector<Rewrite<G>>& rules) {
  const auto start = Clock::now();
  g_.rebuild();
  std::vector<BanState> bans(rules.size());
  std::vector<Matches> matches(rules.size());
  std::vector<size_t> group_added(limits_.group_nodes.size(), 0);
  // The e-node counter of a rule's budget group; nullptr when the rule has none.
  auto group_counter = [&](const Rewrite<G>& r) -> size_t* {
    return r.budget_group >= 0 && size_t(r.budget_group) < group_added.size() ? &group_added[size_t(r.budget_group)]
                                                                              : nullptr;
  };
  auto group_spent = [&](const Rewrite<G>& r) {
    const size_t* added = group_counter(r);
    return added && *added >= limits_.group_nodes[size_t(r.budget_group)];
  };
  auto match_limit = [&](size_t r) { return rules[r].match_limit ? rules[r].match_limit : backoff_.match_limit; };
  bool stopped = false;
  for (size_t iter = 0; !stopped; ++iter) {
    if (iter >= limits_.iterations) {
      stop_ = StopReason::IterationLimit;
      break;
    }
    if (over_nodes()) {
      stop_ = StopReason::NodeLimit;
      break;
    }
    if (ms_since(start) > limits_.seconds * 1000) {
      stop_ = StopReason::TimeLimit;
      break;
    }
    if (before_ && !before_(*this)) {
      stop_ = StopReason::Hook;
      break;
    }
    IterationReport rep;
    rep.index = iter;
    rep.rules.resize(rules.size());
    const size_t nodes_before = g_.num_nodes(), classes_before = g_.num_classes();

    // ---- search, on the clean e-graph
    const auto t_search = Clock::now();
    const std::vector<std::vector<Id>> op_index = build_op_index(g_);
    bool memory_stop = false;
    for (size_t r = 0; r < rules.size() && !memory_stop; ++r) {
      const auto t = Clock::now();
      matches[r].clear();
      RuleStats& st = rep.rules[r];
      size_t limit = size_t(-1);
      if ((rules[r].iteration_limit && iter >= rules[r].iteration_limit) || group_spent(rules[r])) continue;
      if (scheduler_ == SchedulerKind::Backoff) {
        if (iter < bans[r].banned_until) {
          st.banned = true;
          continue;
        }
        limit = (match_limit(r) << bans[r].times_banned) + 1;
      }
      // Keep the stored matches within the memory budget.
      const size_t rss = resident_memory_bytes();
      const size_t budget = rss < limits_.memory_bytes ? limits_.memory_bytes - rss : 0;
      const size_t cap = budget / (sizeof(Id) * rules[r].stride()) + 1;
      search_rule(g_, rules[r], &op_index, matches[r], std::min(limit, cap));
      st.matches = matches[r].count();
      if (st.matches >= cap && cap < limit) memory_stop = true;
      st.search_ms = ms_since(t);
    }
    rep.search_ms = ms_since(t_search);
    if (memory_stop) {
      for (const RuleStats& st : rep.rules) rep.matches += st.matches;
      rep.nodes = g_.num_nodes();
      rep.classes = g_.num_classes();
      rep.hashcons = g_.hashcons_size();
      reports_.push_back(std::move(rep));
      stop_ = StopReason::MemoryLimit;
      break;
    }

    // ---- apply, rule by rule, checking the node limit between rules (egg's granularity)
    const auto t_apply = Clock::now();
    bool node_stop = false;
    for (size_t r = 0; r < rules.size(); ++r) {
      RuleStats& st = rep.rules[r];
      rep.matches += st.matches;
      if (st.banned || node_stop) continue;
      if (scheduler_ == SchedulerKind::Backoff) {
        const size_t threshold = match_limit(r) << bans[r].times_banned;
        if (st.matches > threshold) {
          bans[r].banned_until = iter + (backoff_.ban_length << bans[r].times_banned);
          ++bans[r].times_banned;
          st.banned = true;
          continue;
        }
      }
      const auto t = Clock::now();
      const Matches& ms = matches[r];
      const Rewrite<G>& rule = rules[r];
      // Pass 1: guards, and matches whose right side already exists; pass 2: the rest.
      std::vector<uint8_t> todo(ms.count(), 0);
      for (size_t i = 0; i < ms.count(); ++i) {
        const MatchView m{ms.at(i), rule.num_patterns()};
        if (rule.guard && !rule.guard(g_, m)) continue;
        const int u = apply_existing(g_, rule, uint32_t(r), m);
        if (u < 0)
          todo[i] = 1;
        else
          st.unions += size_t(u);
      }
      for (size_t i = 0; i < ms.count(); ++i) {
        if (!todo[i]) continue;
        if (group_spent(rule)) break;
        const size_t before = g_.num_nodes();
        st.unions += apply_match(g_, rule, uint32_t(r), MatchView{ms.at(i), rule.num_patterns()});
        if (size_t* added = group_counter(rule)) *added += g_.num_nodes() > before ? g_.num_nodes() - before : 0;
      }
      st.apply_ms = ms_since(t);
      rep.unions += st.unions;
      if (over_nodes()) node_stop = true;
    }
    rep.apply_ms = ms_since(t_apply);
    for (Matches& m : matches) std::vector<Id>().swap(m.data);

    // ---- rebuild (always, even after a node-limit stop)
    const auto t_rebuild = Clock::now();
    rep.rebuild_unions = g_.rebuild();
    rep.rebuild_ms = ms_since(t_rebuild);
    rep.nodes = g_.num_nodes();
    rep.classes = g_.num_classes();
    rep.hashcons = g_.hashcons_size();
    const bool any_banned = std::any_of(bans.begin(), bans.end(), [&](const BanState& b) { return b.banned_until > iter + 1; });
    const bool saturated = rep.unions == 0 && rep.nodes == nodes_before && rep.classes == classes_before;
    reports_.push_back(std::move(rep));

    if (after_ && !after_(*this)) {
      stop_ = StopReason::Hook;
      break;
    }
    if (node_stop) {
      stop_ = StopReason::NodeLimit;
      break;
    }
    if (saturated) {
      if (scheduler_ == SchedulerKind::Backoff && any_banned) {
        // egg's fast-forward: move every ban closer by the shortest remaining one.
        size_t min_until = size_t(-1);
        for (const BanState& b : bans)
          if (b.banned_until > iter + 1) min_until = std::min(min_until, b.banned_until);
        const size_t delta = min_until - (iter + 1);
        for (BanState& b : bans)
          if (b.banned_until > iter + 1) b.banned_until -= delta;
      } else {
        stop_ = StopReason::Saturated;
        break;
      }
    }
    if (over_memory()) {
      stop_ = StopReason::MemoryLimit;
      break;
    }
  }
  total_ms_ = ms_since(start);
  return stop_;
}

}  // namespace eqopt::eg
