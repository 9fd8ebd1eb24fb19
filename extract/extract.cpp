// Extraction problem, validity and cost of a choice, the heuristic extractors (tree greedy, DAG
// greedy, local search), brute force for tests, and `extract`, which combines them with the ILP of
// ilp.cpp. See extract.h for what each promises.
#include "extract/extract.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <utility>

#include "extract/detail.h"
#include "support/error.h"

namespace eqopt::ex {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- Problem ----

uint32_t Problem::add_class() {
  if (n_classes == UINT32_MAX) fail("extract: too many classes");
  return n_classes++;
}

uint32_t Problem::add_node(uint32_t cls, std::vector<uint32_t> children, double cost, std::string label) {
  if (cls >= n_classes) fail("extract: add_node: class ", cls, " does not exist (", n_classes, " classes)");
  if (node_class.size() >= size_t(INT32_MAX)) fail("extract: too many nodes");
  const uint32_t id = uint32_t(node_class.size());
  if (!node_label.empty() || !label.empty()) {  // labels are kept once any node has one
    node_label.resize(id);
    node_label.push_back(std::move(label));
  }
  node_class.push_back(cls);
  node_children.push_back(std::move(children));
  node_cost.push_back(cost);
  return id;
}

void Problem::finish() {
  const size_t n = node_class.size();
  if (node_children.size() != n || node_cost.size() != n)
    fail("extract: problem has ", n, " node classes but ", node_children.size(), " child lists and ", node_cost.size(), " costs");
  if (!node_label.empty() && node_label.size() != n) fail("extract: problem has ", n, " nodes but ", node_label.size(), " node labels");
  if (!class_label.empty() && class_label.size() != n_classes)
    fail("extract: problem has ", n_classes, " classes but ", class_label.size(), " class labels");
  if (n > size_t(INT32_MAX)) fail("extract: too many nodes (", n, ")");
  class_nodes.assign(n_classes, {});
  for (size_t i = 0; i < n; ++i) {
    if (node_class[i] >= n_classes) fail("extract: node ", i, " is in class ", node_class[i], ", which does not exist (", n_classes, " classes)");
    for (uint32_t k : node_children[i])
      if (k >= n_classes) fail("extract: node ", i, " has child class ", k, ", which does not exist (", n_classes, " classes)");
    class_nodes[node_class[i]].push_back(uint32_t(i));
  }
  for (uint32_t r : roots)
    if (r >= n_classes) fail("extract: root class ", r, " does not exist (", n_classes, " classes)");
}

bool Problem::extractable(uint32_t node) const {
  const double c = node_cost[node];
  if (!std::isfinite(c) || c < 0) return false;
  for (uint32_t k : node_children[node])
    if (k == node_class[node]) return false;
  return true;
}

// ---- shared helpers ----

namespace detail {

void require_finished(const Problem& p, const char* who) {
  const size_t n = p.node_class.size();
  if (p.class_nodes.size() != p.n_classes || p.node_children.size() != n || p.node_cost.size() != n)
    fail("extract: ", who, ": the problem is not finished (call Problem::finish() after adding classes and nodes)");
  size_t listed = 0;
  for (const auto& nodes : p.class_nodes) listed += nodes.size();
  if (listed != n) fail("extract: ", who, ": the problem changed after Problem::finish()");
}

void require_choice_size(const Problem& p, const Choice& c, const char* who) {
  if (c.size() != p.num_classes()) fail("extract: ", who, ": choice has ", c.size(), " entries for ", p.num_classes(), " classes");
}

std::vector<uint32_t> reachable_classes(const Problem& p) {
  std::vector<char> seen(p.num_classes(), 0);
  std::vector<uint32_t> order;
  for (uint32_t r : p.roots)
    if (!seen[r]) {
      seen[r] = 1;
      order.push_back(r);
    }
  for (size_t i = 0; i < order.size(); ++i)
    for (uint32_t n : p.class_nodes[order[i]]) {
      if (!p.extractable(n)) continue;
      for (uint32_t k : p.node_children[n])
        if (!seen[k]) {
          seen[k] = 1;
          order.push_back(k);
        }
    }
  return order;
}

std::vector<uint32_t> distinct_roots(const Problem& p) {
  std::vector<uint32_t> out;
  std::vector<char> seen(p.num_classes(), 0);
  for (uint32_t r : p.roots)
    if (!seen[r]) {
      seen[r] = 1;
      out.push_back(r);
    }
  return out;
}

std::string class_name(const Problem& p, uint32_t cls) {
  if (cls < p.class_label.size() && !p.class_label[cls].empty()) return str_cat("class ", cls, " ('", p.class_label[cls], "')");
  return str_cat("class ", cls);
}

}  // namespace detail

using detail::require_choice_size;
using detail::require_finished;

namespace {

// Checks a choice and sums its DAG cost in one depth-first pass; marks are stamped with a
// generation so that repeated evaluations (local search, brute force) do not clear arrays.
class Evaluator {
 public:
  explicit Evaluator(const Problem& p) : p_(p), mark_(p.num_classes(), 0) {}

  // The DAG cost, or nullopt when a needed class has no valid choice or the choice is cyclic.
  std::optional<double> operator()(const Choice& c) {
    gen_ += 2;
    const uint64_t on_stack = gen_, done = gen_ + 1;
    double total = 0;
    stack_.clear();
    auto enter = [&](uint32_t cls) {
      const int32_t n = c[cls];
      if (n < 0 || size_t(n) >= p_.num_nodes() || p_.node_class[size_t(n)] != cls || !p_.extractable(uint32_t(n))) return false;
      mark_[cls] = on_stack;
      total += p_.node_cost[size_t(n)];
      stack_.emplace_back(cls, 0);
      return true;
    };
    for (uint32_t r : p_.roots) {
      if (mark_[r] == done) continue;
      if (!enter(r)) return std::nullopt;
      while (!stack_.empty()) {
        auto& [cls, next] = stack_.back();
        const auto& kids = p_.node_children[size_t(c[cls])];
        if (next < kids.size()) {
          const uint32_t k = kids[next++];
          if (mark_[k] == done) continue;
          if (mark_[k] == on_stack) return std::nullopt;  // a cycle
          if (!enter(k)) return std::nullopt;
        } else {
          mark_[cls] = done;
          stack_.pop_back();
        }
      }
    }
    return total;
  }

 private:
  const Problem& p_;
  std::vector<uint64_t> mark_;
  uint64_t gen_ = 0;
  std::vector<std::pair<uint32_t, size_t>> stack_;
};

// Throws unless the choice for `cls` is -1 or a node of that class.
void check_entry(const Problem& p, const Choice& c, uint32_t cls, const char* who) {
  const int32_t n = c[cls];
  if (n >= 0 && (size_t(n) >= p.num_nodes() || p.node_class[size_t(n)] != cls))
    fail("extract: ", who, ": the choice for ", detail::class_name(p, cls), " is ", n, ", which is not one of its nodes");
}

}  // namespace

// ---- validity and cost ----

bool acyclic_and_complete(const Problem& p, const Choice& c) {
  require_finished(p, "acyclic_and_complete");
  if (c.size() != p.num_classes()) return false;
  Evaluator eval(p);
  return eval(c).has_value();
}

std::vector<uint32_t> needed_classes(const Problem& p, const Choice& c) {
  require_finished(p, "needed_classes");
  require_choice_size(p, c, "needed_classes");
  std::vector<char> seen(p.num_classes(), 0);
  std::vector<uint32_t> order, stack(p.roots.rbegin(), p.roots.rend());
  while (!stack.empty()) {
    const uint32_t cls = stack.back();
    stack.pop_back();
    if (seen[cls]) continue;
    seen[cls] = 1;
    order.push_back(cls);
    check_entry(p, c, cls, "needed_classes");
    if (c[cls] < 0) continue;
    const auto& kids = p.node_children[size_t(c[cls])];
    for (auto it = kids.rbegin(); it != kids.rend(); ++it)
      if (!seen[*it]) stack.push_back(*it);
  }
  return order;
}

double dag_cost(const Problem& p, const Choice& c) {
  double total = 0;
  for (uint32_t cls : needed_classes(p, c)) {
    if (c[cls] < 0) return kInf;
    total += p.node_cost[size_t(c[cls])];
  }
  return total;
}

double tree_cost(const Problem& p, const Choice& c) {
  if (!acyclic_and_complete(p, c)) return kInf;
  // Post-order over the (acyclic) needed classes: a class's tree cost is its node's cost plus its
  // children's tree costs, each occurrence counted.
  std::vector<double> cost(p.num_classes(), -1);
  std::vector<std::pair<uint32_t, size_t>> stack;
  for (uint32_t r : p.roots) {
    if (cost[r] >= 0) continue;
    stack.emplace_back(r, 0);
    while (!stack.empty()) {
      auto& [cls, next] = stack.back();
      const auto& kids = p.node_children[size_t(c[cls])];
      if (next < kids.size()) {
        const uint32_t k = kids[next++];
        if (cost[k] < 0) stack.emplace_back(k, 0);
        continue;
      }
      double t = p.node_cost[size_t(c[cls])];
      for (uint32_t k : kids) t += cost[k];
      cost[cls] = t;
      stack.pop_back();
    }
  }
  double total = 0;
  for (uint32_t r : detail::distinct_roots(p)) total += cost[r];
  return total;
}

// ---- greedy extractors ----

Choice greedy_tree(const Problem& p) {
  require_finished(p, "greedy_tree");
  // Knuth's generalization of Dijkstra's algorithm to superior functions (Knuth 1977, "A
  // generalization of Dijkstra's algorithm"): a node's tree cost, own cost plus its children's, is
  // at least each child's, so the open class of least tentative cost is final. A node is priced
  // once all its child occurrences are final; its class's tentative cost falls if it is cheaper.
  // Each class is final once, so this is O((N + E) log C) instead of a fixpoint over all nodes.
  const size_t C = p.num_classes(), N = p.num_nodes();
  std::vector<double> best(C, kInf);
  Choice choice(C, -1);
  std::vector<char> final_(C, 0);
  std::vector<size_t> pending(N);
  std::vector<std::vector<uint32_t>> uses(C);  // per class: nodes with it as a child, per occurrence
  using Entry = std::pair<double, uint32_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> open;
  auto offer = [&](uint32_t n, double total) {
    const uint32_t cls = p.node_class[n];
    if (choice[cls] < 0 || total < best[cls]) {
      best[cls] = total;
      choice[cls] = int32_t(n);
      open.emplace(total, cls);
    }
  };
  for (uint32_t n = 0; n < N; ++n) {
    pending[n] = p.node_children[n].size();
    for (uint32_t k : p.node_children[n]) uses[k].push_back(n);
  }
  for (uint32_t n = 0; n < N; ++n)
    if (pending[n] == 0 && p.extractable(n)) offer(n, p.node_cost[n]);
  while (!open.empty()) {
    const uint32_t cls = open.top().second;
    open.pop();
    if (final_[cls]) continue;  // a stale, costlier entry
    final_[cls] = 1;
    for (uint32_t n : uses[cls]) {
      if (--pending[n] != 0 || final_[p.node_class[n]] || !p.extractable(n)) continue;
      double total = p.node_cost[n];
      for (uint32_t k : p.node_children[n]) total += best[k];
      offer(n, total);
    }
  }
  return choice;
}

std::optional<Choice> greedy_dag(const Problem& p) {
  require_finished(p, "greedy_dag");
  // Classes reachable from the roots get dense indices; a cost set is a bitset over them (the
  // classes a choice needs, itself included) and its cost the sum of those classes' current own
  // costs. A worklist revisits a class when a child's choice changed; children's sets are merged by
  // OR. The idea is extraction-gym's faster greedy DAG extractor (which keeps the sets as hash maps).
  const std::vector<uint32_t> classes = detail::reachable_classes(p);
  const size_t n = classes.size(), words = (n + 63) / 64;
  if (n * words > (size_t(1) << 25)) return std::nullopt;  // beyond 256 MB of sets
  std::vector<int32_t> index(p.num_classes(), -1);
  for (size_t i = 0; i < n; ++i) index[classes[i]] = int32_t(i);
  // Parent classes (local indices, each once) of every class, through extractable nodes.
  std::vector<std::vector<uint32_t>> parents(n);
  for (size_t i = 0; i < n; ++i)
    for (uint32_t node : p.class_nodes[classes[i]]) {
      if (!p.extractable(node)) continue;
      for (uint32_t k : p.node_children[node]) parents[size_t(index[k])].push_back(uint32_t(i));
    }
  for (auto& ps : parents) {
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  }
  std::vector<std::vector<uint64_t>> sets(n);
  std::vector<double> own(n, 0), total(n, 0);
  Choice chosen(p.num_classes(), -1);
  // Breadth-first order from the roots, popped from the back: the deepest classes first.
  std::vector<uint32_t> work(n);
  for (size_t i = 0; i < n; ++i) work[i] = uint32_t(i);
  std::vector<char> queued(n, 1);
  std::vector<uint64_t> s(words);
  std::vector<uint32_t> kid_index;
  constexpr uint64_t kWorkBudget = uint64_t(1) << 30;  // words touched
  uint64_t merge_work = 0;
  while (!work.empty()) {
    const uint32_t ci = work.back();
    work.pop_back();
    queued[ci] = 0;
    bool improved = false;
    for (uint32_t node : p.class_nodes[classes[ci]]) {
      if (!p.extractable(node)) continue;
      kid_index.clear();
      bool ready = true;
      for (uint32_t k : p.node_children[node]) {
        const uint32_t ki = uint32_t(index[k]);
        if (sets[ki].empty()) {
          ready = false;
          break;
        }
        kid_index.push_back(ki);
      }
      if (!ready) continue;
      // On long chains every set holds the chain below it, so the work is quadratic in the depth:
      // past a budget (about a second) the DAG greedy gives up as it does past its memory cap.
      merge_work += (kid_index.size() + 2) * words;
      if (merge_work > kWorkBudget) return std::nullopt;
      std::fill(s.begin(), s.end(), 0);
      for (uint32_t ki : kid_index)
        for (size_t w = 0; w < words; ++w) s[w] |= sets[ki][w];
      if (s[ci / 64] >> (ci % 64) & 1) continue;  // the choice would need this class itself: a cycle
      const double own_cost = p.node_cost[node];
      double t = own_cost;
      for (size_t w = 0; w < words; ++w)
        for (uint64_t bits = s[w]; bits; bits &= bits - 1) t += own[w * 64 + size_t(__builtin_ctzll(bits))];
      if (!sets[ci].empty() && !(t < total[ci] * (1 - 1e-12) - 1e-300)) continue;
      s[ci / 64] |= uint64_t(1) << (ci % 64);
      sets[ci] = s;
      total[ci] = t;
      own[ci] = own_cost;
      chosen[classes[ci]] = int32_t(node);
      improved = true;
    }
    if (!improved) continue;
    for (uint32_t pi : parents[ci])
      if (!queued[pi]) {
        queued[pi] = 1;
        work.push_back(pi);
      }
  }
  // Sets computed before a child's later change can let a choice close a cycle; such a result is
  // discarded (callers keep the tree extraction, which is always acyclic).
  if (!acyclic_and_complete(p, chosen)) return std::nullopt;
  return chosen;
}

Choice local_search(const Problem& p, Choice s, size_t budget) {
  require_finished(p, "local_search");
  require_choice_size(p, s, "local_search");
  Evaluator eval(p);
  const std::optional<double> start = eval(s);
  if (!start) fail("extract: local_search: the start choice is not acyclic and complete");
  // First improvement over single-class switches, judged by the exact DAG cost: switching a class
  // to a node whose inputs the program computes anyway is what a per-class greedy misses.
  double best = *start;
  size_t work = 0;
  for (bool changed = true; changed && work < budget;) {
    changed = false;
    const std::vector<uint32_t> needed = needed_classes(p, s);
    for (uint32_t cls : needed) {
      for (uint32_t n : p.class_nodes[cls]) {
        if (work >= budget) break;
        const int32_t old = s[cls];
        if (int32_t(n) == old || !p.extractable(n)) continue;
        const auto& kids = p.node_children[n];
        if (!std::all_of(kids.begin(), kids.end(), [&](uint32_t k) { return s[k] >= 0; })) continue;
        s[cls] = int32_t(n);
        work += 2 * needed.size();
        const std::optional<double> cost = eval(s);
        if (cost && *cost < best * (1 - 1e-9)) {
          best = *cost;
          changed = true;
        } else {
          s[cls] = old;
        }
      }
    }
  }
  return s;
}

// ---- brute force ----

std::optional<Choice> brute_force(const Problem& p, uint64_t max_combinations) {
  require_finished(p, "brute_force");
  // Odometer over the extractable nodes of every class reachable from the roots (a class without
  // one keeps -1); each combination is checked and costed by the evaluator.
  const std::vector<uint32_t> classes = detail::reachable_classes(p);
  std::vector<std::vector<int32_t>> options(classes.size());
  uint64_t combinations = 1;
  for (size_t i = 0; i < classes.size(); ++i) {
    for (uint32_t n : p.class_nodes[classes[i]])
      if (p.extractable(n)) options[i].push_back(int32_t(n));
    if (options[i].empty()) options[i].push_back(-1);
    if (combinations > max_combinations / options[i].size())
      fail("extract: brute_force: more than ", max_combinations, " combinations");
    combinations *= options[i].size();
  }
  Choice c(p.num_classes(), -1);
  std::vector<size_t> digit(classes.size(), 0);
  for (size_t i = 0; i < classes.size(); ++i) c[classes[i]] = options[i][0];
  Evaluator eval(p);
  std::optional<Choice> best;
  double best_cost = kInf;
  for (;;) {
    if (const auto cost = eval(c); cost && (!best || *cost < best_cost)) {
      best = c;
      best_cost = *cost;
    }
    size_t i = 0;
    for (; i < classes.size(); ++i) {
      if (++digit[i] < options[i].size()) {
        c[classes[i]] = options[i][digit[i]];
        break;
      }
      digit[i] = 0;
      c[classes[i]] = options[i][0];
    }
    if (i == classes.size()) break;
  }
  if (!best) return std::nullopt;
  // Only the classes the program needs keep a choice.
  Choice pruned(p.num_classes(), -1);
  for (uint32_t cls : needed_classes(p, *best)) pruned[cls] = (*best)[cls];
  return pruned;
}

// ---- serialized e-graphs ----

Problem from_serialized(const eg::SerializedEGraph& s) {
  Problem p;
  std::unordered_map<std::string, uint32_t> class_of_name, node_of_id;
  auto class_index = [&](const std::string& name) {
    auto [it, added] = class_of_name.emplace(name, 0);
    if (added) {
      it->second = p.add_class();
      p.class_label.push_back(name);
    }
    return it->second;
  };
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (!node_of_id.emplace(s.nodes[i].id, uint32_t(i)).second) fail("egraph json: duplicate node '", s.nodes[i].id, "'");
    class_index(s.nodes[i].eclass);
  }
  for (const eg::SerializedNode& sn : s.nodes) {
    std::vector<uint32_t> kids;
    kids.reserve(sn.children.size());
    for (const std::string& k : sn.children) {
      auto it = node_of_id.find(k);
      if (it == node_of_id.end()) fail("egraph json: node '", sn.id, "' has child '", k, "', which is not a node");
      kids.push_back(class_of_name.at(s.nodes[it->second].eclass));
    }
    p.add_node(class_of_name.at(sn.eclass), std::move(kids), sn.cost, sn.op);
  }
  for (const std::string& r : s.root_eclasses) {
    auto it = class_of_name.find(r);
    if (it == class_of_name.end()) fail("egraph json: root e-class '", r, "' has no node");
    p.roots.push_back(it->second);
  }
  p.finish();
  return p;
}

// ---- the combination ----

Mode parse_mode(const std::string& text) {
  if (text == "greedy") return Mode::Greedy;
  if (text == "exact") return Mode::Exact;
  if (text == "auto") return Mode::Auto;
  fail("extract: mode must be auto, exact or greedy, got '", text, "'");
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Greedy: return "greedy";
    case Mode::Exact: return "exact";
    case Mode::Auto: return "auto";
  }
  return "?";
}

Result extract(const Problem& p, const Options& options) {
  require_finished(p, "extract");
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  Result r;
  bool run_ilp = options.mode == Mode::Exact;
  if (options.mode == Mode::Auto) {
    size_t nodes = 0;
    for (uint32_t cls : detail::reachable_classes(p)) nodes += p.class_nodes[cls].size();
    run_ilp = nodes <= options.exact_max_nodes;
    if (!run_ilp) r.ilp_status = str_cat("not run (", nodes, " nodes > exact_max_nodes ", options.exact_max_nodes, ")");
  } else if (options.mode == Mode::Greedy) {
    r.ilp_status = "not run (greedy mode)";
  }
  Choice tree = greedy_tree(p);
  for (uint32_t root : p.roots)
    if (tree[root] < 0)
      fail("extract: ", detail::class_name(p, root), ", a root, has no acyclic program (each of its nodes needs a cycle or a class without one)");
  r.greedy_tree_cost = dag_cost(p, tree);
  r.greedy_tree_tree_cost = tree_cost(p, tree);
  r.choice = std::move(tree);
  r.cost = r.greedy_tree_cost;
  r.method = "tree-greedy";
  // The DAG greedy is the slow heuristic (its cost sets are revisited along every chain); when the
  // exact extraction runs, its sub-problems run it on their own small parts instead.
  std::optional<Choice> dag;
  if (!run_ilp) dag = greedy_dag(p);
  if (dag) {
    const double cost = dag_cost(p, *dag);
    r.greedy_dag_cost = cost;
    if (cost < r.cost) {
      r.choice = std::move(*dag);
      r.cost = cost;
      r.method = "dag-greedy";
    }
  }
  for (const Choice& start : options.starts) {
    if (start.size() != p.num_classes() || !acyclic_and_complete(p, start)) continue;
    if (const double cost = dag_cost(p, start); cost < r.cost) {
      r.choice = start;
      r.cost = cost;
      r.method = "input program";
    }
  }
  Choice improved = local_search(p, r.choice, options.local_search_budget);
  if (const double cost = dag_cost(p, improved); cost < r.cost) {
    r.choice = std::move(improved);
    r.cost = cost;
    r.method += " + local search";
  }
  r.heuristic_cost = r.cost;

  if (run_ilp) {
    ExactOptions eo;
    eo.time_limit_s = options.time_limit_s;
    eo.warm_start = &r.choice;
    eo.log_level = options.log_level;
    ExactResult exact = extract_exact(p, eo);
    r.ilp_seconds = exact.seconds;
    r.ilp_status = exact.status;
    if (exact.feasible && exact.cost < r.cost * (1 - 1e-12)) {
      r.choice = exact.choice;
      r.cost = exact.cost;
      r.method = exact.optimal ? "exact" : "exact (best found)";
      r.optimal = exact.optimal;
    } else if (exact.feasible) {
      // The heuristic is as good as what the exact extraction found; if that was proven optimal,
      // so is this.
      r.optimal = exact.optimal && r.cost <= exact.cost * (1 + 1e-9);
      if (r.optimal) r.method += " (proved optimal)";
    } else if (options.mode == Mode::Exact) {
      r.method += str_cat(" (exact extraction found no solution: ", exact.status, ")");
    }
    if (exact.feasible) r.bound = std::min(r.cost, exact.bound);
    r.exact = std::move(exact);
  }
  if (r.optimal) r.bound = r.cost;
  // Only the classes the program needs keep a choice.
  Choice pruned(p.num_classes(), -1);
  for (uint32_t cls : needed_classes(p, r.choice)) pruned[cls] = r.choice[cls];
  r.choice = std::move(pruned);
  r.seconds = seconds_since(t0);
  return r;
}

}  // namespace eqopt::ex
