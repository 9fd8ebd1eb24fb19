// Exact extraction as a 0-1 integer program, solved with CBC through its C interface.
//
// The formulation follows TENSAT (Yang et al., "Equality Saturation for Tensor Graph
// Superoptimization", MLSys 2021) and the ILP extractors of extraction-gym
// (github.com/egraphs-good/extraction-gym); the code is eqopt's own.
//
//   x_n in {0,1}  per extractable node of a needed class: n is chosen
//   root class r:            sum_{n in r} x_n  = 1
//   any other class c:       sum_{n in c} x_n <= 1
//   class p, child class c:  sum_{n in p, c child of n} x_n <= sum_{m in c} x_m
//   minimize                 sum_n cost_n x_n
//
// The child constraint is aggregated per (class, child class) rather than written per node: since a
// class chooses at most one node, the left side is 0 or 1 and the row implies every per-node row
// x_n <= sum_m x_m, with fewer rows and a tighter relaxation.
//
// Acyclicity, by default (IlpOptions::lazy_cycles): solve without it; when the solution's needed part
// holds a cycle, add a row forbidding its k nodes together (sum x_n <= k - 1) and solve again, until
// the solution is acyclic (then it is optimal for the whole problem: the rows remove only cyclic
// choices, or choices with an unneeded cycle that costs something to keep) or time runs out. This is
// the lazy cycle elimination of extraction-gym's ILP extractors; its relaxation is much tighter than
// the big-M order rows below, which remain as an option.
//
// Acyclicity with order variables: the class graph (class -> child class through a kept node) is
// split into strongly connected components (Tarjan); only an edge inside a component of size S > 1
// can close a cycle.
// Each class c of such a component gets an order variable t_c in [0, S-1] (continuous) and each
// edge p -> c inside it the row
//   t_p - t_c >= 1 - S * (1 - sum_{n in p, c child of n} x_n)
// which forces t_p >= t_c + 1 when the chosen node of p uses c and is slack otherwise. A node whose
// child is its own class is not extractable (Problem::extractable), so there are no self-loops.
//
// Before building the program the problem is reduced (each step keeps an optimal solution):
//  - a node is kept only if it is extractable and every child class has an acyclic program (the
//    classes greedy_tree gives a choice: the least fixpoint of "some node has all its children
//    buildable", which is exactly the set of classes with a finite acyclic term);
//  - with IlpOptions::reduce, a node m is dropped when a node n of the same class costs no more and
//    has a subset of m's child classes (ties broken by node index so one of equal nodes stays):
//    putting n in place of m in any valid choice keeps it valid (n's edges are a subset of m's, so
//    no new cycle and no new needed class) and costs no more;
//  - only classes reachable from the roots through kept nodes get variables.
// Costs are scaled so that the largest is 1000 before they reach CBC (costs in seconds can be
// 1e-6, below CBC's tolerances); results are recomputed in the problem's unit from the decoded
// choice. The solution is decoded as x > 0.5, pruned to the needed classes and checked with
// acyclic_and_complete; if it is not valid (or worse than the warm start) the warm start is kept.
#include <cstdlib>
#include <cstring>
#include <functional>

#include <Cbc_C_Interface.h>  // CBC 2.10 C interface (pkg-config cbc: -I/usr/include/coin)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "extract/detail.h"
#include "extract/extract.h"
#include "support/child.h"
#include "support/error.h"

namespace eqopt::ex {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSolverInf = std::numeric_limits<double>::max();  // COIN_DBL_MAX
constexpr size_t kDominanceMaxClassSize = 256;  // pairwise dominance checks only in smaller classes
constexpr double kScaledMaxCost = 1000;

}  // namespace

// Strongly connected components of a graph given as adjacency lists (iterative Tarjan).
std::vector<uint32_t> detail::strongly_connected(const std::vector<std::vector<uint32_t>>& adj, uint32_t& count) {
  const size_t n = adj.size();
  constexpr uint32_t kUnvisited = UINT32_MAX;
  std::vector<uint32_t> index(n, kUnvisited), low(n, 0), comp(n, kUnvisited), stack;
  std::vector<std::pair<uint32_t, size_t>> call;  // (vertex, next edge)
  uint32_t next_index = 0;
  count = 0;
  for (uint32_t s = 0; s < n; ++s) {
    if (index[s] != kUnvisited) continue;
    call.emplace_back(s, 0);
    index[s] = low[s] = next_index++;
    stack.push_back(s);
    while (!call.empty()) {
      auto& [v, e] = call.back();
      if (e < adj[v].size()) {
        const uint32_t w = adj[v][e++];
        if (index[w] == kUnvisited) {
          index[w] = low[w] = next_index++;
          stack.push_back(w);
          call.emplace_back(w, 0);
        } else if (comp[w] == kUnvisited) {
          low[v] = std::min(low[v], index[w]);  // w is on the stack
        }
        continue;
      }
      const uint32_t done = v;
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
      if (low[done] == index[done]) {
        for (;;) {
          const uint32_t w = stack.back();
          stack.pop_back();
          comp[w] = count;
          if (w == done) break;
        }
        ++count;
      }
    }
  }
  return comp;
}

std::vector<int32_t> detail::free_nodes(const Problem& p, const std::vector<char>& keep) {
  std::vector<int32_t> free(p.num_classes(), -1);
  for (uint32_t n = 0; n < p.num_nodes(); ++n)
    if (keep[n] && p.node_children[n].empty() && p.node_cost[n] == 0 && free[p.node_class[n]] < 0)
      free[p.node_class[n]] = int32_t(n);
  return free;
}

std::vector<char> detail::kept_nodes(const Problem& p, const Choice& buildable, bool drop_dominated,
                                     std::vector<int32_t>& dominator) {
  const size_t C = p.num_classes(), N = p.num_nodes();
  std::vector<char> keep(N, 0);
  for (uint32_t n = 0; n < N; ++n) {
    if (!p.extractable(n)) continue;
    const auto& kids = p.node_children[n];
    keep[n] = std::all_of(kids.begin(), kids.end(), [&](uint32_t k) { return buildable[k] >= 0; });
  }
  dominator.assign(N, -1);
  if (!drop_dominated) return keep;
  // Free classes are left out of the child sets compared below.
  const std::vector<int32_t> free = free_nodes(p, keep);
  std::vector<std::vector<uint32_t>> kid_set(N);
  std::vector<uint32_t> nodes;
  for (uint32_t cls = 0; cls < C; ++cls) {
    nodes.clear();
    for (uint32_t n : p.class_nodes[cls])
      if (keep[n]) nodes.push_back(n);
    if (nodes.size() < 2 || nodes.size() > kDominanceMaxClassSize) continue;
    for (uint32_t n : nodes) {
      kid_set[n].clear();
      for (uint32_t k : p.node_children[n])
        if (free[k] < 0) kid_set[n].push_back(k);
      std::sort(kid_set[n].begin(), kid_set[n].end());
      kid_set[n].erase(std::unique(kid_set[n].begin(), kid_set[n].end()), kid_set[n].end());
    }
    // n dominates m: no costlier, children a subset, and strictly better in something or the
    // lower index. This is a strict partial order, so every dropped node has a kept dominator.
    auto dominates = [&](uint32_t n, uint32_t m) {
      if (n == m || p.node_cost[n] > p.node_cost[m]) return false;
      if (!std::includes(kid_set[m].begin(), kid_set[m].end(), kid_set[n].begin(), kid_set[n].end())) return false;
      return p.node_cost[n] < p.node_cost[m] || kid_set[n].size() < kid_set[m].size() || n < m;
    };
    for (uint32_t m : nodes)
      for (uint32_t n : nodes)
        if (dominates(n, m)) {
          dominator[m] = int32_t(n);
          break;
        }
    for (uint32_t m : nodes)
      if (dominator[m] >= 0) keep[m] = 0;
  }
  return keep;
}

namespace {

// One row of the program before it is turned into CBC's column-major matrix.
struct Row {
  std::vector<std::pair<int, double>> terms;  // (column, coefficient)
  double lo, hi;
};

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

namespace {

// What one CBC run in the child process reports back.
struct SolveOutcome {
  bool threw = false, optimal = false, infeasible = false, seconds_limit = false, abandoned = false;
  int status = 0, secondary = 0;
  double bound = 0;
  std::vector<double> best, col;  // empty when CBC has none
  std::string crash;              // set when the child died (signal, exit code, short report)
};

template <class T>
void append_bytes(std::string& out, const T* data, size_t n) {
  if (n) out.append(reinterpret_cast<const char*>(data), n * sizeof(T));
}

// Runs `solve` in a forked child and returns what it filled in; a child that dies is reported in
// `crash`, never propagated.
SolveOutcome solve_isolated(const std::function<void(SolveOutcome&)>& solve,
                            std::optional<std::chrono::steady_clock::time_point> kill_at) {
  const ChildResult child = run_in_child([&] {
    SolveOutcome c;
    solve(c);
    const int32_t head[7] = {c.threw, c.optimal, c.infeasible, c.seconds_limit, c.abandoned, c.status, c.secondary};
    const uint64_t sizes[2] = {c.best.size(), c.col.size()};
    std::string out;
    append_bytes(out, head, 7);
    append_bytes(out, &c.bound, 1);
    append_bytes(out, sizes, 2);
    append_bytes(out, c.best.data(), c.best.size());
    append_bytes(out, c.col.data(), c.col.size());
    return out;
  }, kill_at);
  SolveOutcome o;
  if (!child.ok) {
    o.crash = child.error;
    return o;
  }
  const std::string& bytes = child.bytes;
  int32_t head[7];
  uint64_t sizes[2];
  const size_t fixed = sizeof head + sizeof o.bound + sizeof sizes;
  if (bytes.size() < fixed) {
    o.crash = "short report";
    return o;
  }
  std::memcpy(head, bytes.data(), sizeof head);
  std::memcpy(&o.bound, bytes.data() + sizeof head, sizeof o.bound);
  std::memcpy(sizes, bytes.data() + sizeof head + sizeof o.bound, sizeof sizes);
  if (bytes.size() != fixed + (sizes[0] + sizes[1]) * sizeof(double)) {
    o.crash = "short report";
    return o;
  }
  o.threw = head[0];
  o.optimal = head[1];
  o.infeasible = head[2];
  o.seconds_limit = head[3];
  o.abandoned = head[4];
  o.status = head[5];
  o.secondary = head[6];
  o.best.resize(sizes[0]);
  o.col.resize(sizes[1]);
  if (sizes[0]) std::memcpy(o.best.data(), bytes.data() + fixed, sizes[0] * sizeof(double));
  if (sizes[1]) std::memcpy(o.col.data(), bytes.data() + fixed + sizes[0] * sizeof(double), sizes[1] * sizeof(double));
  return o;
}

}  // namespace

IlpResult extract_ilp(const Problem& p, const IlpOptions& options) {
  detail::require_finished(p, "extract_ilp");
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const size_t C = p.num_classes(), N = p.num_nodes();
  IlpResult res;
  res.choice.assign(C, -1);
  const std::vector<uint32_t> roots = detail::distinct_roots(p);
  if (roots.empty()) {
    res.feasible = res.optimal = true;
    res.status = "optimal (no roots)";
    res.seconds = elapsed();
    return res;
  }

  // The warm start, if it is a valid choice.
  const Choice* warm = nullptr;
  std::string notes;
  double warm_cost = kInf;
  if (options.warm_start) {
    if (options.warm_start->size() == C && acyclic_and_complete(p, *options.warm_start)) {
      warm = options.warm_start;
      warm_cost = dag_cost(p, *warm);
    } else {
      notes += "; warm start ignored (not acyclic and complete)";
    }
  }

  // Buildable classes (see the file comment); a root without one makes the problem infeasible.
  const Choice buildable = greedy_tree(p);
  for (uint32_t r : roots)
    if (buildable[r] < 0) {
      res.status = str_cat("infeasible: ", detail::class_name(p, r), ", a root, has no acyclic program");
      res.bound = kInf;
      res.seconds = elapsed();
      return res;
    }
  std::vector<int32_t> dominator;
  std::vector<char> keep = detail::kept_nodes(p, buildable, options.reduce, dominator);
  auto surviving = [&](uint32_t n) {
    while (dominator[n] >= 0) n = uint32_t(dominator[n]);
    return n;
  };

  // Classes reachable from the roots through kept nodes get local indices; kept nodes of those
  // classes get the x columns.
  std::vector<int32_t> local(C, -1);
  std::vector<uint32_t> classes;
  for (uint32_t r : roots) {
    local[r] = int32_t(classes.size());
    classes.push_back(r);
  }
  for (size_t i = 0; i < classes.size(); ++i)
    for (uint32_t n : p.class_nodes[classes[i]]) {
      if (!keep[n]) continue;
      for (uint32_t k : p.node_children[n])
        if (local[k] < 0) {
          local[k] = int32_t(classes.size());
          classes.push_back(k);
        }
    }
  const size_t L = classes.size();
  std::vector<int> col_of(N, -1);
  std::vector<uint32_t> node_of_col;
  std::vector<std::vector<uint32_t>> nodes_of(L);
  double max_cost = 0;
  for (size_t i = 0; i < L; ++i)
    for (uint32_t n : p.class_nodes[classes[i]])
      if (keep[n]) {
        col_of[n] = int(node_of_col.size());
        node_of_col.push_back(n);
        nodes_of[i].push_back(n);
        max_cost = std::max(max_cost, p.node_cost[n]);
      }
  const double scale = max_cost > 0 ? kScaledMaxCost / max_cost : 1.0;
  std::vector<double> col_lo(node_of_col.size(), 0), col_hi(node_of_col.size(), 1), obj(node_of_col.size());
  for (size_t j = 0; j < node_of_col.size(); ++j) obj[j] = p.node_cost[node_of_col[j]] * scale;
  const size_t x_cols = node_of_col.size();

  // Per local class: (child local class, node) for each distinct child class of each kept node,
  // sorted by child; the class graph for the components.
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> edges(L);
  std::vector<std::vector<uint32_t>> adj(L);
  for (size_t i = 0; i < L; ++i) {
    for (uint32_t n : nodes_of[i]) {
      std::vector<uint32_t> kids = p.node_children[n];
      std::sort(kids.begin(), kids.end());
      kids.erase(std::unique(kids.begin(), kids.end()), kids.end());
      for (uint32_t k : kids) edges[i].emplace_back(uint32_t(local[k]), n);
    }
    std::sort(edges[i].begin(), edges[i].end());
    for (const auto& [c, n] : edges[i])
      if (adj[i].empty() || adj[i].back() != c) adj[i].push_back(c);
  }
  uint32_t n_comp = 0;
  const std::vector<uint32_t> comp = detail::strongly_connected(adj, n_comp);
  std::vector<uint32_t> comp_size(n_comp, 0);
  for (uint32_t c : comp) ++comp_size[c];
  // Order variables for classes in non-trivial components.
  std::vector<int> t_col(L, -1);
  bool has_cycles = false;
  for (size_t i = 0; i < L; ++i) has_cycles = has_cycles || comp_size[comp[i]] > 1;
  const bool lazy = options.lazy_cycles && has_cycles;
  for (size_t i = 0; i < L && !lazy; ++i)
    if (comp_size[comp[i]] > 1) {
      t_col[i] = int(col_lo.size());
      col_lo.push_back(0);
      col_hi.push_back(double(comp_size[comp[i]] - 1));
      obj.push_back(0);
    }

  std::vector<Row> rows;
  for (size_t i = 0; i < L; ++i) {
    const bool is_root = i < roots.size();
    if (is_root || nodes_of[i].size() > 1) {
      Row r{{}, is_root ? 1.0 : 0.0, 1.0};
      for (uint32_t n : nodes_of[i]) r.terms.emplace_back(col_of[n], 1.0);
      rows.push_back(std::move(r));
    }
    for (size_t a = 0; a < edges[i].size();) {
      const uint32_t c = edges[i][a].first;
      size_t b = a;
      while (b < edges[i].size() && edges[i][b].first == c) ++b;
      Row need{{}, -kSolverInf, 0.0};
      for (size_t e = a; e < b; ++e) need.terms.emplace_back(col_of[edges[i][e].second], 1.0);
      for (uint32_t m : nodes_of[c]) need.terms.emplace_back(col_of[m], -1.0);
      rows.push_back(std::move(need));
      if (!lazy && comp[i] == comp[c] && comp_size[comp[i]] > 1) {
        const double S = double(comp_size[comp[i]]);
        Row order{{{t_col[i], 1.0}, {t_col[c], -1.0}}, 1.0 - S, kSolverInf};
        for (size_t e = a; e < b; ++e) order.terms.emplace_back(col_of[edges[i][e].second], -S);
        rows.push_back(std::move(order));
      }
      a = b;
    }
  }
  res.rows = rows.size();
  res.cols = col_lo.size();

  // Column-major matrix.
  const size_t ncols = col_lo.size();
  std::vector<CoinBigIndex> start(ncols + 1, 0);
  for (const Row& r : rows)
    for (const auto& [j, v] : r.terms) ++start[size_t(j) + 1];
  for (size_t j = 0; j < ncols; ++j) start[j + 1] += start[j];
  std::vector<int> index(static_cast<size_t>(start[ncols]));
  std::vector<double> value(index.size()), row_lo(rows.size()), row_hi(rows.size());
  {
    std::vector<CoinBigIndex> fill(start.begin(), start.end() - 1);
    for (size_t i = 0; i < rows.size(); ++i) {
      row_lo[i] = rows[i].lo;
      row_hi[i] = rows[i].hi;
      for (const auto& [j, v] : rows[i].terms) {
        index[size_t(fill[size_t(j)])] = int(i);
        value[size_t(fill[size_t(j)]++)] = v;
      }
    }
  }
  rows.clear();

  // The warm start in the reduced program: dominated nodes replaced by their kept dominators.
  std::vector<int> start_cols;
  if (warm) {
    Choice mapped = *warm;
    for (uint32_t cls : needed_classes(p, *warm)) mapped[cls] = int32_t(surviving(uint32_t((*warm)[cls])));
    bool ok = true;
    // A dominator may use a free class that the warm start left out.
    const std::vector<int32_t> free = detail::free_nodes(p, keep);
    for (uint32_t cls = 0; cls < C; ++cls)
      if (mapped[cls] < 0) mapped[cls] = free[cls];
    for (uint32_t cls : needed_classes(p, mapped)) {
      const int j = mapped[cls] < 0 ? -1 : col_of[size_t(mapped[cls])];
      if (j < 0) ok = false;
      start_cols.push_back(j);
    }
    if (!ok) {
      start_cols.clear();
      notes += "; warm start not expressible in the reduced program";
    }
  }

  // CBC runs in a child process: Debian's CLP is built with assertions, and an assertion inside the
  // solver (seen on one of the shared models' programs) would otherwise abort eqopt. A crashed or
  // killed solver leaves the heuristic's choice in place, and the status says what happened.
  // (CBC's driver also keeps static state; the child keeps it out of this process.)
  // With lazy cycle cuts, a solution whose needed part holds a cycle gets a row forbidding that
  // cycle's nodes together (sum x_n <= k - 1 over its k nodes), and the program is solved again.
  // The rows only remove cyclic choices (or choices with an unneeded cycle, for which dropping the
  // cycle is no costlier), so a proven optimum that is acyclic is the optimum of the problem.
  std::vector<std::vector<int>> cuts;
  // The cycles among the classes the roots need through the nodes that x chooses (each found by a
  // back edge of a depth-first search), as lists of x columns; empty when there is none.
  auto find_cycles = [&](const double* x) {
    std::vector<std::vector<int>> found;
    std::vector<int32_t> pick(L, -1);
    for (size_t i = 0; i < L; ++i)
      for (uint32_t n : nodes_of[i])
        if (x[col_of[n]] > 0.5) pick[i] = int32_t(n);
    std::vector<char> state(L, 0);  // 0 new, 1 on the stack, 2 done
    std::vector<std::pair<uint32_t, size_t>> stack;
    for (size_t r = 0; r < roots.size(); ++r) {
      if (state[r] || pick[r] < 0) continue;
      state[r] = 1;
      stack.emplace_back(uint32_t(r), 0);
      while (!stack.empty()) {
        auto& [i, e] = stack.back();
        const auto& kids = p.node_children[size_t(pick[i])];
        if (e < kids.size()) {
          const uint32_t k = uint32_t(local[kids[e++]]);
          if (state[k] == 1) {
            std::vector<int> cycle;
            for (size_t d = stack.size(); d-- > 0;) {
              cycle.push_back(col_of[size_t(pick[stack[d].first])]);
              if (stack[d].first == k) break;
            }
            found.push_back(std::move(cycle));
          } else if (state[k] == 0 && pick[k] >= 0) {
            state[k] = 1;
            stack.emplace_back(k, 0);
          }
          continue;
        }
        state[i] = 2;
        stack.pop_back();
      }
    }
    return found;
  };
  // Cycles of two classes (x = Slice(Concat(x, y)) and its kin, which the merge rules make) are the
  // common ones: their rows are there from the start.
  if (lazy)
    for (size_t i = 0; i < L; ++i)
      for (const auto& [c, n] : edges[i])
        if (c > i && comp[c] == comp[i])
          for (auto it = std::lower_bound(edges[c].begin(), edges[c].end(), std::make_pair(uint32_t(i), 0u));
               it != edges[c].end() && it->first == i; ++it)
            cuts.push_back({col_of[n], col_of[it->second]});
  const auto solve_start = std::chrono::steady_clock::now();
  auto solve = [&](SolveOutcome& o) {
    for (;;) {
      Cbc_Model* model = Cbc_newModel();
      Cbc_loadProblem(model, int(ncols), int(row_lo.size()), start.data(), index.data(), value.data(), col_lo.data(),
                      col_hi.data(), obj.data(), row_lo.data(), row_hi.data());
      for (const std::vector<int>& cut : cuts) {
        const std::vector<double> ones(cut.size(), 1.0);
        Cbc_addRow(model, "", int(cut.size()), cut.data(), ones.data(), 'L', double(cut.size()) - 1);
      }
      for (size_t j = 0; j < x_cols; ++j) Cbc_setInteger(model, int(j));
      const std::string log = std::to_string(std::max(0, options.log_level));
      Cbc_setLogLevel(model, std::max(0, options.log_level));
      Cbc_setParameter(model, "log", log.c_str());
      Cbc_setParameter(model, "slog", options.log_level > 1 ? "1" : "0");
      Cbc_setParameter(model, "threads", "0");  // no parallel branch and bound: one thread
      if (!options.preprocess) Cbc_setParameter(model, "preprocess", "off");
      Cbc_setParameter(model, "timeMode", "elapsed");  // the limit is wall-clock time, not CPU time
      const double left = options.time_limit_s -
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - solve_start).count();
      Cbc_setParameter(model, "sec", format_double(std::max(left, 1e-3)).c_str());
      // Exactness in scaled units (largest cost 1000): no relative gap, tiny absolute ones.
      Cbc_setParameter(model, "ratio", "0");
      Cbc_setParameter(model, "allow", "1e-7");
      Cbc_setParameter(model, "inc", "1e-7");
      // CBC's primal heuristics and probing off: the warm start is the heuristics' answer already,
      // and on the shared models' regions with own ops this proves optimality about 1.4x sooner
      // (ResNet-18's three integer programs 2.1 s -> 1.5 s, MobileNetV2's 1.1 s -> 0.7 s, measured
      // with `eqopt extract --log 1` on a 2-core machine).
      Cbc_setParameter(model, "heur", "off");
      Cbc_setParameter(model, "probing", "off");
      if (!start_cols.empty()) {
        const std::vector<double> ones(start_cols.size(), 1.0);
        Cbc_setMIPStartI(model, int(start_cols.size()), start_cols.data(), ones.data());
      }
      try {
        Cbc_solve(model);
      } catch (...) {
        o.threw = true;
        return;
      }
      o.optimal = Cbc_isProvenOptimal(model);
      o.infeasible = Cbc_isProvenInfeasible(model);
      o.seconds_limit = Cbc_isSecondsLimitReached(model);
      o.abandoned = Cbc_isAbandoned(model);
      o.status = Cbc_status(model);
      o.secondary = Cbc_secondaryStatus(model);
      o.bound = Cbc_getBestPossibleObjValue(model);
      o.best.clear();
      o.col.clear();
      if (size_t(Cbc_getNumCols(model)) == ncols) {
        if (const double* x = Cbc_bestSolution(model)) o.best.assign(x, x + ncols);
        if (const double* x = Cbc_getColSolution(model)) o.col.assign(x, x + ncols);
      }
      Cbc_deleteModel(model);
      if (!lazy || o.best.empty()) return;
      std::vector<std::vector<int>> cycles = find_cycles(o.best.data());
      if (cycles.empty()) return;
      o.optimal = false;  // that optimum was cyclic: not an answer
      if (o.seconds_limit || left <= 0) return;
      for (auto& c : cycles) cuts.push_back(std::move(c));
    }
  };
  SolveOutcome out;
  if (options.isolate) {
    // CBC may overrun its time limit (it checks between phases): the child is killed a little after.
    const auto kill_at = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(1.2 * std::max(options.time_limit_s, 0.0) + options.kill_grace_s));
    out = solve_isolated(solve, kill_at);
  } else {
    solve(out);
  }
  const bool solver_threw = out.threw || !out.crash.empty();

  // Decode: per needed class the node with x > 0.5, pruned to what the roots need, then checked.
  auto decode = [&](const double* x) -> std::optional<Choice> {
    if (!x) return std::nullopt;
    Choice c(C, -1);
    for (size_t i = 0; i < L; ++i) {
      double best = 0.5;
      for (uint32_t n : nodes_of[i])
        if (x[col_of[n]] > best) {
          best = x[col_of[n]];
          c[classes[i]] = int32_t(n);
        }
    }
    if (!acyclic_and_complete(p, c)) return std::nullopt;
    Choice pruned(C, -1);
    for (uint32_t cls : needed_classes(p, c)) pruned[cls] = c[cls];
    return pruned;
  };
  std::optional<Choice> found;
  bool invalid_solution = false;
  const bool proven_optimal = !solver_threw && out.optimal;
  const bool proven_infeasible = !solver_threw && out.infeasible;
  if (!solver_threw) {
    const double* best = out.best.empty() ? nullptr : out.best.data();
    found = decode(best);
    if (!found && best) invalid_solution = true;
    if (!found && proven_optimal && !out.col.empty()) found = decode(out.col.data());
  }
  double found_cost = found ? dag_cost(p, *found) : kInf;

  if (!out.crash.empty())
    res.status = "solver crashed (" + out.crash + ")";
  else if (solver_threw)
    res.status = "solver error";
  else if (proven_optimal)
    res.status = "optimal";
  else if (proven_infeasible)
    res.status = "infeasible";
  else if (out.seconds_limit)
    res.status = found ? "time limit, feasible" : "time limit, no solution";
  else if (out.abandoned)
    res.status = "abandoned (numerical difficulties)";
  else
    res.status = str_cat("stopped (CBC status ", out.status, ", secondary ", out.secondary, ")");
  if (invalid_solution) res.status += "; solver's solution is not a valid extraction";

  if (found && !(warm && warm_cost < found_cost)) {
    res.choice = std::move(*found);
    res.cost = found_cost;
    res.feasible = true;
    res.optimal = proven_optimal;
  } else if (warm) {
    res.choice.assign(C, -1);
    for (uint32_t cls : needed_classes(p, *warm)) res.choice[cls] = (*warm)[cls];
    res.cost = warm_cost;
    res.feasible = true;
    // CBC's optimum (when proven) is no better than the warm start: then it is optimal too.
    res.optimal = proven_optimal && found && warm_cost <= found_cost;
    res.status += found ? "; the warm start is better, kept" : "; kept the warm start";
  }
  if (res.feasible) {
    double bound = proven_optimal ? res.cost : (solver_threw ? 0.0 : out.bound / scale);
    if (!std::isfinite(bound) || bound < 0) bound = 0;
    res.bound = std::min(bound, res.cost);
  } else {
    res.bound = proven_infeasible ? kInf : 0;
  }
  res.status += notes;
  res.seconds = elapsed();
  return res;
}

}  // namespace eqopt::ex
