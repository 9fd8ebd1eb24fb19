// Exact extraction at model scale: the problem is reduced, cut into independent sub-problems, and
// each sub-problem is solved exactly (by inspection, by enumeration or by the integer program of
// ilp.cpp), bottom-up; the answers are stitched together. See README.md, "Exact extraction at
// model scale", for the argument that each step keeps an optimum.
//
// 1. Reduction: nodes that can never be part of an acyclic program and dominated nodes are dropped
//    (detail::kept_nodes). A class with a kept node of cost 0 and no children is "free": it takes
//    that node, and edges into it are ignored (it can neither cost nor close a cycle).
// 2. Mandatory classes: a root is needed by every valid choice, and so is every class that is a
//    child of all kept nodes of a needed class. A mandatory class outside every cycle of the class
//    graph is paid exactly once whatever else is chosen, so it becomes a root of its own and the
//    edges into it are dropped (a shared value such as an attention mask no longer ties every
//    layer of a model together).
// 3. Cuts: on the class graph (class -> child class through kept nodes) with a virtual root above
//    the roots, a class d is a cut when every class reachable from d is dominated by d (every path
//    from the roots to it passes through d). Then the classes below d are needed only through d and
//    are used by nothing else, so the best program for d is a sub-problem of its own, and in the
//    problem above d the class d becomes a single node whose cost is that sub-problem's optimum.
//    Dominators are computed with the iterative algorithm of Cooper, Harvey and Kennedy ("A Simple,
//    Fast Dominance Algorithm", 2001). A class d is a cut unless some edge u -> v leaves d's
//    dominator subtree; for each edge the classes that it leaves are the dominator-tree ancestors of u
//    below the first one that dominates v, and these are marked.
// 4. Each region (a cut with the classes it dominates, less those of cuts below it; the rest forms
//    the top region) is solved bottom-up: a region whose classes have one node each is solved by
//    inspection; otherwise the heuristics give a program and a lower bound (the cheapest node of
//    every mandatory class of the region); when they meet, it is optimal; a region with few
//    combinations is enumerated; the rest go to the integer program, warm-started, within the
//    remaining time.
// 5. Bounds compose: if region r was solved with its child regions priced at what was found for
//    them (F_e), the optimum of r is at least its bound B_r minus the child regions' gaps. The gap of
//    the whole is the sum over regions of F_r - B_r; the result is optimal when every region is.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "extract/detail.h"
#include "extract/extract.h"
#include "support/error.h"

namespace eqopt::ex {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint32_t kNone = UINT32_MAX;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// The classes that every valid choice needs: class k is mandatory when the roots have no acyclic
// program once k is banned (checked for each candidate by the bottom-up buildability fixpoint over
// the nodes with `usable` set). The roots are mandatory. When the checks would take more than
// `work_limit` steps, only the cheap part is done: the roots and, from each mandatory class, the
// children that all its usable nodes share.
std::vector<char> mandatory_classes(const Problem& p, const std::vector<char>& usable, const std::vector<uint32_t>& candidates,
                                    double work_limit = 2e8) {
  const size_t C = p.num_classes(), N = p.num_nodes();
  std::vector<char> must(C, 0);
  std::vector<uint32_t> roots = detail::distinct_roots(p);
  for (uint32_t r : roots) must[r] = 1;
  // Cheap part: children shared by every usable node of a mandatory class.
  {
    std::vector<uint32_t> work(roots), common, kids;
    while (!work.empty()) {
      const uint32_t c = work.back();
      work.pop_back();
      bool first = true;
      common.clear();
      for (uint32_t n : p.class_nodes[c]) {
        if (!usable[n]) continue;
        kids = p.node_children[n];
        std::sort(kids.begin(), kids.end());
        kids.erase(std::unique(kids.begin(), kids.end()), kids.end());
        if (first) {
          common = kids;
          first = false;
        } else {
          std::vector<uint32_t> both;
          std::set_intersection(common.begin(), common.end(), kids.begin(), kids.end(), std::back_inserter(both));
          common.swap(both);
        }
      }
      for (uint32_t k : common)
        if (!must[k]) {
          must[k] = 1;
          work.push_back(k);
        }
    }
  }
  size_t edges = 0;
  for (uint32_t n = 0; n < N; ++n)
    if (usable[n]) edges += p.node_children[n].size() + 1;
  if (double(candidates.size()) * double(edges + C) > work_limit) return must;
  // Full check: ban each candidate in turn.
  std::vector<std::vector<uint32_t>> uses(C);
  std::vector<uint32_t> leaves;
  for (uint32_t n = 0; n < N; ++n) {
    if (!usable[n]) continue;
    if (p.node_children[n].empty()) leaves.push_back(n);
    for (uint32_t k : p.node_children[n]) uses[k].push_back(n);
  }
  std::vector<uint32_t> pending(N);
  std::vector<char> built(C);
  std::vector<uint32_t> work;
  for (uint32_t banned : candidates) {
    if (must[banned]) continue;
    std::fill(built.begin(), built.end(), 0);
    for (uint32_t n = 0; n < N; ++n) pending[n] = uint32_t(p.node_children[n].size());
    work.clear();
    auto build = [&](uint32_t c) {
      if (c == banned || built[c]) return;
      built[c] = 1;
      work.push_back(c);
    };
    for (uint32_t n : leaves) build(p.node_class[n]);
    while (!work.empty()) {
      const uint32_t c = work.back();
      work.pop_back();
      for (uint32_t n : uses[c])
        if (--pending[n] == 0) build(p.node_class[n]);
    }
    // pending counts every occurrence of a child: a node with a repeated child is counted down once
    // per occurrence, since uses[] lists it once per occurrence too.
    if (!std::all_of(roots.begin(), roots.end(), [&](uint32_t r) { return built[r]; })) must[banned] = 1;
  }
  return must;
}

// The cheapest node cost summed over the mandatory classes: a lower bound on any valid choice.
double mandatory_bound(const Problem& p, const std::vector<char>& must) {
  double bound = 0;
  for (uint32_t c = 0; c < p.num_classes(); ++c) {
    if (!must[c]) continue;
    double cheapest = kInf;
    for (uint32_t n : p.class_nodes[c])
      if (p.extractable(n)) cheapest = std::min(cheapest, p.node_cost[n]);
    if (std::isfinite(cheapest)) bound += cheapest;
  }
  return bound;
}

// Per class, the least over its acyclic programs of the costliest path from the class down to a
// leaf (a node's cost plus the largest such value among its children), by Knuth's generalization of
// Dijkstra's algorithm, as greedy_tree does with sums. In a valid choice the classes on a path are
// distinct (it is acyclic) and each is paid once, so the DAG cost of any program for the class is at
// least this value: a lower bound that is exact for chains.
std::vector<double> path_bound(const Problem& p) {
  const size_t C = p.num_classes(), N = p.num_nodes();
  std::vector<double> best(C, kInf);
  std::vector<char> final_(C, 0);
  std::vector<size_t> pending(N);
  std::vector<std::vector<uint32_t>> uses(C);
  using Entry = std::pair<double, uint32_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> open;
  auto offer = [&](uint32_t cls, double v) {
    if (v < best[cls]) {
      best[cls] = v;
      open.emplace(v, cls);
    }
  };
  for (uint32_t n = 0; n < N; ++n) {
    pending[n] = p.node_children[n].size();
    for (uint32_t k : p.node_children[n]) uses[k].push_back(n);
    if (pending[n] == 0 && p.extractable(n)) offer(p.node_class[n], p.node_cost[n]);
  }
  while (!open.empty()) {
    const uint32_t cls = open.top().second;
    open.pop();
    if (final_[cls]) continue;
    final_[cls] = 1;
    for (uint32_t n : uses[cls]) {
      if (--pending[n] != 0 || final_[p.node_class[n]] || !p.extractable(n)) continue;
      double deepest = 0;
      for (uint32_t k : p.node_children[n]) deepest = std::max(deepest, best[k]);
      offer(p.node_class[n], p.node_cost[n] + deepest);
    }
  }
  return best;
}

// One region's local problem and the global identity of its classes and nodes.
struct Local {
  Problem p;
  std::vector<uint32_t> node_global;  // per local node: the global node, or kNone for a pseudo node
};

struct RegionAnswer {
  Choice choice;  // over the local problem, pruned to what its roots need
  double found = 0, bound = 0;
  bool optimal = false;
  enum Kind { Single, Heuristic, Enumerated, Ilp } kind = Single;
};

// Solves one region's problem: see the file comment, step 4.
RegionAnswer solve_region(const Local& l, const std::vector<char>& must, const Choice* warm, const ExactOptions& o,
                          Clock::time_point deadline, ExactResult& stats, std::string& notes) {
  const Problem& p = l.p;
  RegionAnswer a;
  // Combinations over the classes (capped) and whether every class has one node.
  double combos = 1;
  for (uint32_t c = 0; c < p.num_classes(); ++c) combos *= double(std::max<size_t>(1, p.class_nodes[c].size()));
  Choice tree = greedy_tree(p);
  if (combos <= 1) {
    a.choice = tree;
    a.found = a.bound = dag_cost(p, tree);
    a.optimal = true;
    a.kind = RegionAnswer::Single;
    return a;
  }
  Choice best = tree;
  double best_cost = dag_cost(p, tree);
  if (std::optional<Choice> dag = greedy_dag(p))
    if (const double c = dag_cost(p, *dag); c < best_cost) {
      best = std::move(*dag);
      best_cost = c;
    }
  if (warm && acyclic_and_complete(p, *warm))
    if (const double c = dag_cost(p, *warm); c < best_cost) {
      best = *warm;
      best_cost = c;
    }
  best = local_search(p, best, size_t(1) << 20);
  best_cost = dag_cost(p, best);
  double lower = must.empty() ? 0.0 : mandatory_bound(p, must);
  const std::vector<double> paths = path_bound(p);
  for (uint32_t r : p.roots)
    if (std::isfinite(paths[r])) lower = std::max(lower, paths[r]);
  a.choice = best;
  a.found = best_cost;
  a.bound = std::min(lower, best_cost);
  a.kind = RegionAnswer::Heuristic;
  if (best_cost <= lower * (1 + 1e-9)) {
    a.optimal = true;
    a.bound = best_cost;
    return a;
  }
  if (combos <= double(o.enumerate_max)) {
    if (std::optional<Choice> exact = brute_force(p, o.enumerate_max)) {
      a.choice = std::move(*exact);
      a.found = a.bound = dag_cost(p, a.choice);
      a.optimal = true;
      a.kind = RegionAnswer::Enumerated;
      return a;
    }
  }
  const double left = seconds_between(Clock::now(), deadline);
  if (left <= 0) return a;
  IlpOptions io;
  io.time_limit_s = left;
  io.warm_start = &best;
  io.log_level = o.log_level - 1;  // CBC's own log from level 2 on
  io.isolate = o.isolate;
  io.kill_grace_s = 0.2;
  IlpResult ilp = extract_ilp(p, io);
  // Debian's CBC 2.10 has been seen to crash in its preprocessing's post-processing (a segmentation
  // fault in CglPreProcess::postProcess): once more without preprocessing, in what time is left.
  if (!ilp.feasible && ilp.status.rfind("solver crashed", 0) == 0) {
    io.preprocess = false;
    io.time_limit_s = seconds_between(Clock::now(), deadline);
    if (io.time_limit_s > 0) {
      IlpResult again = extract_ilp(p, io);
      again.status += " (after a retry without preprocessing; first: " + ilp.status + ")";
      ilp = std::move(again);
    }
  }
  if (ilp.status.rfind("optimal", 0) != 0) notes += "; a sub-problem's integer program: " + ilp.status;
  ++stats.ilp_subproblems;
  stats.largest_ilp = std::max(stats.largest_ilp, ilp.cols);
  if (ilp.feasible && ilp.cost <= best_cost) {
    a.choice = ilp.choice;
    a.found = ilp.cost;
  }
  a.kind = RegionAnswer::Ilp;
  a.optimal = ilp.optimal;
  if (ilp.optimal) {
    ++stats.ilp_optimal;
    a.bound = a.found;
  } else {
    a.bound = std::min(a.found, std::max(lower, ilp.bound));
  }
  return a;
}

ExactResult solve_decomposed(const Problem& p, const ExactOptions& o, Clock::time_point deadline) {
  const size_t C = p.num_classes(), N = p.num_nodes();
  ExactResult res;
  res.choice.assign(C, -1);
  const std::vector<uint32_t> roots = detail::distinct_roots(p);
  if (roots.empty()) {
    res.feasible = res.optimal = true;
    res.status = "optimal (no roots)";
    return res;
  }
  const Choice buildable = greedy_tree(p);
  for (uint32_t r : roots)
    if (buildable[r] < 0) {
      res.status = str_cat("infeasible: ", detail::class_name(p, r), ", a root, has no acyclic program");
      res.bound = kInf;
      return res;
    }

  // 1. Reduction.
  std::vector<int32_t> dominator;
  const std::vector<char> keep = detail::kept_nodes(p, buildable, true, dominator);
  const std::vector<int32_t> free_node = detail::free_nodes(p, keep);

  // Active classes: reachable from the roots through kept nodes, not free. Dense indices.
  std::vector<int32_t> act(C, -1);
  std::vector<uint32_t> cls_of;  // active index -> class
  auto activate = [&](uint32_t c) {
    if (act[c] >= 0 || free_node[c] >= 0) return;
    act[c] = int32_t(cls_of.size());
    cls_of.push_back(c);
  };
  for (uint32_t r : roots) activate(r);
  for (size_t i = 0; i < cls_of.size(); ++i)
    for (uint32_t n : p.class_nodes[cls_of[i]])
      if (keep[n])
        for (uint32_t k : p.node_children[n]) activate(k);
  const size_t A = cls_of.size();
  for (uint32_t c : cls_of)
    for (uint32_t n : p.class_nodes[c]) {
      res.nodes += 1;
      if (keep[n]) res.kept_nodes += 1;
    }
  // Class graph over active classes (distinct edges).
  std::vector<std::vector<uint32_t>> succ(A);
  for (size_t i = 0; i < A; ++i) {
    for (uint32_t n : p.class_nodes[cls_of[i]])
      if (keep[n])
        for (uint32_t k : p.node_children[n])
          if (act[k] >= 0) succ[i].push_back(uint32_t(act[k]));
    std::sort(succ[i].begin(), succ[i].end());
    succ[i].erase(std::unique(succ[i].begin(), succ[i].end()), succ[i].end());
  }

  // 2. Mandatory classes outside cycles become roots.
  std::vector<char> must(A, 0);
  {
    const std::vector<char> all_must = mandatory_classes(p, keep, cls_of);
    for (size_t i = 0; i < A; ++i) must[i] = all_must[cls_of[i]];
  }
  uint32_t n_comp = 0;
  const std::vector<uint32_t> comp = detail::strongly_connected(succ, n_comp);
  std::vector<uint32_t> comp_size(n_comp, 0);
  for (uint32_t c : comp) ++comp_size[c];
  if (o.log_level > 0) {
    size_t in_cycles = 0, cycles = 0, largest = 0, n_must = 0;
    for (uint32_t c = 0; c < n_comp; ++c)
      if (comp_size[c] > 1) {
        ++cycles;
        in_cycles += comp_size[c];
        largest = std::max<size_t>(largest, comp_size[c]);
      }
    for (size_t i = 0; i < A; ++i) n_must += must[i];
    std::fprintf(stderr, "class graph: %zu classes, %zu mandatory, %zu in %zu cycles (largest %zu)\n", A, n_must,
                 in_cycles, cycles, largest);
  }
  std::vector<char> is_root(A, 0), extra_root(A, 0);
  for (uint32_t r : roots)
    if (act[r] >= 0) is_root[size_t(act[r])] = 1;
  for (size_t i = 0; i < A; ++i)
    if (must[i] && !is_root[i] && comp_size[comp[i]] == 1) extra_root[i] = 1;

  // 3. Dominators on the graph without the edges into extra roots; V = A is the virtual root.
  const uint32_t V = uint32_t(A);
  auto graph_succ = [&](uint32_t v, std::vector<uint32_t>& out) {
    out.clear();
    if (v == V) {
      for (size_t i = 0; i < A; ++i)
        if (is_root[i] || extra_root[i]) out.push_back(uint32_t(i));
      return;
    }
    for (uint32_t k : succ[v])
      if (!extra_root[k]) out.push_back(k);
  };
  std::vector<std::vector<uint32_t>> gsucc(A + 1);
  for (uint32_t v = 0; v <= V; ++v) graph_succ(v, gsucc[v]);
  std::vector<std::vector<uint32_t>> preds(A + 1);
  for (uint32_t v = 0; v <= V; ++v)
    for (uint32_t w : gsucc[v]) preds[w].push_back(v);
  // Reverse postorder from V (iterative depth-first search).
  std::vector<uint32_t> rpo_index(A + 1, kNone), order;
  {
    std::vector<char> seen(A + 1, 0);
    std::vector<std::pair<uint32_t, size_t>> stack{{V, 0}};
    seen[V] = 1;
    while (!stack.empty()) {
      auto& [v, e] = stack.back();
      if (e < gsucc[v].size()) {
        const uint32_t w = gsucc[v][e++];
        if (!seen[w]) {
          seen[w] = 1;
          stack.emplace_back(w, 0);
        }
        continue;
      }
      order.push_back(v);
      stack.pop_back();
    }
    std::reverse(order.begin(), order.end());
    for (size_t i = 0; i < order.size(); ++i) rpo_index[order[i]] = uint32_t(i);
  }
  if (order.size() != A + 1) fail("extract: internal error: a class of the reduced problem is unreachable");
  std::vector<uint32_t> idom(A + 1, kNone);
  idom[V] = V;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 1; i < order.size(); ++i) {
      const uint32_t b = order[i];
      uint32_t nd = kNone;
      for (uint32_t q : preds[b]) {
        if (idom[q] == kNone) continue;
        if (nd == kNone) {
          nd = q;
          continue;
        }
        uint32_t x = q, y = nd;
        while (x != y) {
          while (rpo_index[x] > rpo_index[y]) x = idom[x];
          while (rpo_index[y] > rpo_index[x]) y = idom[y];
        }
        nd = x;
      }
      if (nd != idom[b]) {
        idom[b] = nd;
        changed = true;
      }
    }
  }
  // Dominator tree: children lists, preorder and postorder numbers (iteratively).
  std::vector<std::vector<uint32_t>> dom_kids(A + 1);
  for (uint32_t v = 0; v < V; ++v) dom_kids[idom[v]].push_back(v);
  std::vector<uint32_t> pre(A + 1), post(A + 1), preorder;
  {
    uint32_t pre_n = 0, post_n = 0;
    std::vector<std::pair<uint32_t, size_t>> stack{{V, 0}};
    pre[V] = pre_n++;
    preorder.push_back(V);
    while (!stack.empty()) {
      auto& [v, e] = stack.back();
      if (e < dom_kids[v].size()) {
        const uint32_t w = dom_kids[v][e++];
        pre[w] = pre_n++;
        preorder.push_back(w);
        stack.emplace_back(w, 0);
        continue;
      }
      post[v] = post_n++;
      stack.pop_back();
    }
  }
  auto dominates = [&](uint32_t x, uint32_t v) { return pre[x] <= pre[v] && post[v] <= post[x]; };
  std::vector<char> cut(A + 1, 1);
  // Edges into extra roots are left out: such a child is dropped from every region but the top
  // one, which pays for it once.
  for (uint32_t u = 0; u < V; ++u)
    for (uint32_t v : gsucc[u])
      for (uint32_t x = u; x != V && !dominates(x, v); x = idom[x]) cut[x] = 0;

  // 4. Regions: each class belongs to its nearest cut dominator (itself included); V's region is the
  // top one.
  std::vector<uint32_t> region_of(A + 1, V);
  for (uint32_t v : preorder) {
    if (v == V) continue;
    region_of[v] = cut[v] ? v : region_of[idom[v]];
  }
  std::vector<std::vector<uint32_t>> members(A + 1);
  for (uint32_t v = 0; v < V; ++v) members[region_of[v]].push_back(v);
  std::vector<uint32_t> region_roots;  // bottom-up: increasing postorder, V last
  for (uint32_t v = 0; v < V; ++v)
    if (cut[v]) region_roots.push_back(v);
  std::sort(region_roots.begin(), region_roots.end(), [&](uint32_t x, uint32_t y) { return post[x] < post[y]; });
  region_roots.push_back(V);
  res.subproblems = region_roots.size();

  std::vector<double> found(A + 1, 0);
  std::vector<int32_t> local_of(A, -1);     // scratch: active class -> local class in the region
  std::vector<int32_t> node_local(N, -1);   // scratch: global node -> local node
  std::vector<uint32_t> chosen_kept;        // scratch
  double gap = 0;
  bool all_optimal = true;
  std::string notes;  // what went wrong in sub-problems' integer programs, for the status
  Choice stitched(C, -1);
  for (uint32_t rr : region_roots) {
    const std::vector<uint32_t>& mem = members[rr];
    if (mem.empty()) continue;  // V with everything in cuts below it
    Local l;
    std::vector<uint32_t> touched;
    for (uint32_t v : mem) {
      local_of[v] = int32_t(l.p.add_class());
      touched.push_back(v);
    }
    // A class outside the region: a cut below (a single pseudo node priced at its region's answer),
    // or an extra root (paid in the top region: dropped elsewhere).
    auto map_child = [&](uint32_t k) -> int32_t {
      if (local_of[k] >= 0) return local_of[k];
      if (extra_root[k] && rr != V) return -1;
      if (!cut[k]) fail("extract: internal error: an edge leaves a region of the decomposition");
      const uint32_t pc = l.p.add_class();
      local_of[k] = int32_t(pc);
      touched.push_back(k);
      l.p.add_node(pc, {}, found[k]);
      l.node_global.push_back(kNone);
      return int32_t(pc);
    };
    std::vector<uint32_t> kids;
    std::vector<uint32_t> node_list;
    for (uint32_t v : mem)
      for (uint32_t n : p.class_nodes[cls_of[v]]) {
        if (!keep[n]) continue;
        kids.clear();
        for (uint32_t k : p.node_children[n]) {
          if (act[k] < 0) continue;  // a free class
          const int32_t lk = map_child(uint32_t(act[k]));
          if (lk >= 0) kids.push_back(uint32_t(lk));
        }
        node_local[n] = int32_t(l.p.add_node(uint32_t(local_of[v]), kids, p.node_cost[n]));
        l.node_global.push_back(n);
        node_list.push_back(n);
      }
    if (rr != V) {
      l.p.roots.push_back(uint32_t(local_of[rr]));
    } else {
      for (size_t i = 0; i < A; ++i)
        if (is_root[i] || extra_root[i]) {
          const int32_t lr = map_child(uint32_t(i));
          if (lr >= 0) l.p.roots.push_back(uint32_t(lr));
        }
    }
    l.p.finish();
    // The region's mandatory classes become roots too (every valid choice needs them anyway): the
    // integer program then pays them in full, which tightens its relaxation.
    std::vector<char> local_must;
    if (l.p.num_nodes() > l.p.num_classes()) {
      std::vector<char> usable(l.p.num_nodes());
      for (uint32_t n = 0; n < l.p.num_nodes(); ++n) usable[n] = l.p.extractable(n);
      std::vector<uint32_t> all(l.p.num_classes());
      for (uint32_t c = 0; c < l.p.num_classes(); ++c) all[c] = c;
      local_must = mandatory_classes(l.p, usable, all, 2e7);
      for (uint32_t c = 0; c < l.p.num_classes(); ++c)
        if (local_must[c] && std::find(l.p.roots.begin(), l.p.roots.end(), c) == l.p.roots.end()) l.p.roots.push_back(c);
    }
    // The warm start restricted to the region (dominated nodes replaced by their kept dominators).
    Choice warm;
    const Choice* warm_ptr = nullptr;
    if (o.warm_start) {
      warm.assign(l.p.num_classes(), -1);
      for (uint32_t v : mem) {
        int32_t n = (*o.warm_start)[cls_of[v]];
        while (n >= 0 && dominator[size_t(n)] >= 0) n = dominator[size_t(n)];
        if (n >= 0 && node_local[size_t(n)] >= 0) warm[size_t(local_of[v])] = node_local[size_t(n)];
      }
      for (uint32_t lc = 0; lc < l.p.num_classes(); ++lc)
        if (warm[lc] < 0 && l.p.class_nodes[lc].size() == 1 && l.node_global[l.p.class_nodes[lc][0]] == kNone)
          warm[lc] = int32_t(l.p.class_nodes[lc][0]);
      warm_ptr = &warm;
    }
    if (o.log_level > 2 && l.p.num_nodes() > l.p.num_classes()) {
      for (uint32_t lc = 0; lc < l.p.num_classes(); ++lc) {
        std::fprintf(stderr, "  class %u:", lc);
        for (uint32_t ln : l.p.class_nodes[lc]) {
          const uint32_t g = l.node_global[ln];
          std::fprintf(stderr, " [%s %.3g ->", g == kNone ? "pseudo" : (p.node_label.empty() ? "?" : p.node_label[g].c_str()),
                       l.p.node_cost[ln]);
          for (uint32_t k : l.p.node_children[ln]) std::fprintf(stderr, " %u", k);
          std::fprintf(stderr, "]");
        }
        std::fprintf(stderr, "\n");
      }
    }
    const auto region_start = Clock::now();
    const RegionAnswer a = solve_region(l, local_must, warm_ptr, o, deadline, res, notes);
    if (o.log_level > 0 && l.p.num_nodes() > l.p.num_classes())
      std::fprintf(stderr, "region %s: %zu classes, %zu nodes, %s, found %.6g, bound %.6g, %.3f s\n",
                   rr == V ? "top" : detail::class_name(p, cls_of[rr]).c_str(), l.p.num_classes(), l.p.num_nodes(),
                   a.kind == RegionAnswer::Single       ? "single"
                   : a.kind == RegionAnswer::Heuristic  ? (a.optimal ? "heuristic = bound" : "heuristic")
                   : a.kind == RegionAnswer::Enumerated ? "enumerated"
                                                        : (a.optimal ? "ilp optimal" : "ilp not proved"),
                   a.found, a.bound, seconds_between(region_start, Clock::now()));
    if (a.kind == RegionAnswer::Enumerated) ++res.enumerated;
    if (l.p.num_nodes() > l.p.num_classes()) ++res.nontrivial;
    res.largest_subproblem = std::max(res.largest_subproblem, l.p.num_nodes());
    found[rr] = a.found;
    gap += std::max(0.0, a.found - a.bound);
    all_optimal = all_optimal && a.optimal;
    for (uint32_t v : mem) {
      const int32_t ln = a.choice[size_t(local_of[v])];
      if (ln >= 0) stitched[cls_of[v]] = int32_t(l.node_global[size_t(ln)]);
    }
    for (uint32_t v : touched) local_of[v] = -1;
    for (uint32_t n : node_list) node_local[n] = -1;
  }
  for (uint32_t c = 0; c < C; ++c)
    if (free_node[c] >= 0) stitched[c] = free_node[c];
  if (!acyclic_and_complete(p, stitched)) fail("extract: internal error: the stitched program is not valid");
  for (uint32_t c : needed_classes(p, stitched)) res.choice[c] = stitched[c];
  res.cost = dag_cost(p, res.choice);
  res.feasible = true;
  res.optimal = all_optimal;
  res.bound = all_optimal ? res.cost : std::max(0.0, res.cost - gap);
  res.status = (all_optimal ? "optimal" : str_cat("not proved (gap ", res.cost - res.bound, ")")) + notes;
  return res;
}

}  // namespace

ExactResult extract_exact(const Problem& p, const ExactOptions& options) {
  detail::require_finished(p, "extract_exact");
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::max(0.0, options.time_limit_s)));
  ExactResult res = solve_decomposed(p, options, deadline);
  res.seconds = seconds_between(t0, Clock::now());
  return res;
}

}  // namespace eqopt::ex
