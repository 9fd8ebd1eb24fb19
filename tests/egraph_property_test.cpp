// Property tests for the e-graph engine (egraph/egraph.h, pattern.h, rewrite.h), checked against
// naive references written here:
//   * congruence closure: random terms over {a, b, c, d, k{1}, k{2}, f/1, g/2}, random merges
//     (interleaved with adds and rebuilds); the e-graph's partition of the added terms must equal a
//     fixpoint congruence closure over term indices, and the post-rebuild invariants must hold;
//   * e-matching: Program::search (with and without an op index) against a brute-force recursive
//     matcher over every class's nodes, compared as multisets of [class, vars..., payload vars...];
//   * multi-patterns: search_rule against a brute-force join of per-pattern brute-force matches.
// All randomness is seeded deterministically; a failure prints the seed and the construction
// history of the e-graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "egraph/egraph.h"
#include "egraph/pattern.h"
#include "egraph/rewrite.h"
#include "egraph/sexpr.h"

namespace {

using namespace eqopt::eg;
using G = EGraph<>;

// The signature: name, payload, arity.
struct Kind {
  const char* name;
  const char* payload;
  int arity;
};
constexpr Kind kKinds[] = {{"a", "", 0},  {"b", "", 0},  {"c", "", 0}, {"d", "", 0},
                           {"k", "1", 0}, {"k", "2", 0}, {"f", "", 1}, {"g", "", 2}};
constexpr int kNumKinds = int(sizeof(kKinds) / sizeof(kKinds[0]));

struct Term {
  int kind;
  std::vector<int> kids;  // term indices
};

struct Dsu {
  std::vector<int> p;
  explicit Dsu(size_t n) : p(n) { std::iota(p.begin(), p.end(), 0); }
  int find(int x) {
    while (p[x] != x) x = p[x] = p[p[x]];
    return x;
  }
  bool unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a == b) return false;
    p[a] = b;
    return true;
  }
};

// A random e-graph together with the terms it was built from.
struct Built {
  G g;
  std::vector<OpId> op_of_kind;
  std::vector<PayloadId> payload_of_kind;
  std::vector<Term> terms;
  std::vector<Id> cls;                     // class id add() returned for each term
  std::vector<std::pair<int, int>> merges;  // term indices
  std::ostringstream history;

  std::string term_str(int t) const {
    const Term& x = terms[size_t(t)];
    const Kind& k = kKinds[x.kind];
    std::string s = k.name;
    if (*k.payload) s += std::string("{") + k.payload + "}";
    if (x.kids.empty()) return s;
    s = "(" + s;
    for (int c : x.kids) s += " t" + std::to_string(c);
    return s + ")";
  }
};

struct GenOptions {
  int rounds = 2;      // each round: adds and merges interleaved, then rebuild
  int min_terms = 6;   // terms added per round
  int max_terms = 18;
  int max_merges = 5;  // merges per round
};

// One round of random adds and merges (no rebuild).
void random_round(Built& b, std::mt19937& rng, const GenOptions& o) {
  auto pick = [&](int n) { return int(std::uniform_int_distribution<int>(0, n - 1)(rng)); };
  const int n_terms = o.min_terms + pick(o.max_terms - o.min_terms + 1);
  const int n_merges = pick(o.max_merges + 1);
  // Merge slots spread among the adds.
  std::vector<int> when;
  for (int i = 0; i < n_merges; ++i) when.push_back(pick(n_terms + 1));
  std::sort(when.begin(), when.end());
  size_t next_merge = 0;
  for (int i = 0; i <= n_terms; ++i) {
    while (next_merge < when.size() && when[next_merge] == i) {
      ++next_merge;
      if (b.terms.size() < 2) continue;
      const int x = pick(int(b.terms.size()));
      int y = pick(int(b.terms.size()));
      if (pick(3) == 0) {
        // Merge with a term of the same operator, so that later merges of children make two nodes
        // of one class identical.
        std::vector<int> same;
        for (size_t t = 0; t < b.terms.size(); ++t)
          if (b.terms[t].kind == b.terms[size_t(x)].kind) same.push_back(int(t));
        y = same[size_t(pick(int(same.size())))];
      }
      b.merges.push_back({x, y});
      b.history << "merge t" << x << " t" << y << "\n";
      b.g.merge(b.cls[size_t(x)], b.cls[size_t(y)]);
    }
    if (i == n_terms) break;
    int kind;
    const int r = pick(10);
    if (b.terms.empty() || r < 3)
      kind = pick(6);  // a leaf
    else
      kind = r < 6 ? 6 : 7;
    Term t{kind, {}};
    std::vector<Id> kids;
    for (int a = 0; a < kKinds[kind].arity; ++a) {
      // Prefer recent terms a little, so terms nest.
      const int n = int(b.terms.size());
      const int c = pick(3) == 0 ? std::max(0, n - 1 - pick(std::min(n, 4))) : pick(n);
      t.kids.push_back(c);
      kids.push_back(b.cls[size_t(c)]);
    }
    b.terms.push_back(t);
    const Id id = b.g.add(b.op_of_kind[size_t(kind)], b.payload_of_kind[size_t(kind)], kids);
    b.cls.push_back(id);
    b.history << "t" << (b.terms.size() - 1) << " = " << b.term_str(int(b.terms.size() - 1)) << "\n";
  }
}

void init_symbols(Built& b, std::mt19937& rng) {
  // Intern the operators in a random order, so that the (op, payload) sort order varies.
  std::vector<std::string> names{"a", "b", "c", "d", "k", "f", "g"};
  std::shuffle(names.begin(), names.end(), rng);
  for (const auto& n : names) b.g.intern_op(n);
  for (const Kind& k : kKinds) {
    b.op_of_kind.push_back(b.g.find_op(k.name));
    b.payload_of_kind.push_back(b.g.intern_payload(k.payload));
  }
}

// Naive congruence closure over the recorded terms.
Dsu naive_closure(const Built& b) {
  Dsu d(b.terms.size());
  for (auto [x, y] : b.merges) d.unite(x, y);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < b.terms.size(); ++i)
      for (size_t j = 0; j < i; ++j) {
        const Term &s = b.terms[i], &t = b.terms[j];
        if (s.kind != t.kind || d.find(int(i)) == d.find(int(j))) continue;
        bool eq = true;
        for (size_t k = 0; k < s.kids.size(); ++k) eq &= d.find(s.kids[k]) == d.find(t.kids[k]);
        if (eq) changed |= d.unite(int(i), int(j));
      }
  }
  return d;
}

// Checks the e-graph against the naive closure and the post-rebuild invariants.
void check_graph(Built& b) {
  G& g = b.g;
  ASSERT_TRUE(g.clean());
  Dsu d = naive_closure(b);
  const size_t n = b.terms.size();
  // Same partition of the recorded terms.
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < i; ++j) {
      const bool in_graph = g.find(b.cls[i]) == g.find(b.cls[j]);
      const bool in_ref = d.find(int(i)) == d.find(int(j));
      ASSERT_EQ(in_graph, in_ref) << "t" << i << " and t" << j << ": e-graph says "
                                  << (in_graph ? "equal" : "different") << ", congruence closure says "
                                  << (in_ref ? "equal" : "different");
    }
  // Every class holds a term, so the class count is the reference's.
  std::set<int> ref_classes;
  std::set<std::tuple<int, std::vector<int>>> ref_nodes;  // (kind, canonical kid classes)
  for (size_t i = 0; i < n; ++i) {
    ref_classes.insert(d.find(int(i)));
    std::vector<int> k;
    for (int c : b.terms[i].kids) k.push_back(d.find(c));
    ref_nodes.insert({b.terms[i].kind, k});
  }
  EXPECT_EQ(g.num_classes(), ref_classes.size());
  EXPECT_EQ(g.num_nodes(), ref_nodes.size()) << "live e-nodes vs distinct terms modulo the closure";
  // Each term is found by lookup in its own class.
  for (size_t i = 0; i < n; ++i) {
    std::vector<Id> kids;
    for (int c : b.terms[i].kids) kids.push_back(b.cls[size_t(c)]);
    const int kind = b.terms[i].kind;
    EXPECT_EQ(g.lookup(b.op_of_kind[size_t(kind)], b.payload_of_kind[size_t(kind)], kids), g.find(b.cls[i]))
        << "lookup of t" << i;
  }
  // Structural invariants.
  size_t classes = 0, total_nodes = 0;
  std::set<std::tuple<OpId, PayloadId, std::vector<Id>>> seen;
  g.for_each_class([&](Id c) {
    ++classes;
    const auto& nodes = g.eclass(c).nodes;
    EXPECT_FALSE(nodes.empty()) << "class " << c << " has no nodes";
    total_nodes += nodes.size();
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Id node = nodes[i];
      EXPECT_TRUE(g.node_live(node)) << "node " << node << " in class " << c;
      EXPECT_EQ(g.node_class(node), c) << "node " << node << " listed in class " << c;
      if (i > 0) {
        const Id prev = nodes[i - 1];
        EXPECT_LE(std::make_pair(g.node_op(prev), g.node_payload(prev)),
                  std::make_pair(g.node_op(node), g.node_payload(node)))
            << "class " << c << " node list not sorted at " << i;
      }
      std::vector<Id> kids(g.node_children(node).begin(), g.node_children(node).end());
      for (Id k : kids) {
        EXPECT_EQ(g.find(k), k) << "node " << node << " has non-canonical child " << k;
        const auto& parents = g.eclass(k).parents;
        EXPECT_NE(std::find(parents.begin(), parents.end(), node), parents.end())
            << "node " << node << " missing from the parent list of its child class " << k;
      }
      EXPECT_TRUE(seen.insert({g.node_op(node), g.node_payload(node), kids}).second)
          << "duplicate e-node content at node " << node;
    }
  });
  EXPECT_EQ(classes, g.num_classes());
  EXPECT_EQ(total_nodes, g.num_nodes());
}

TEST(EGraphProperty, CongruenceClosureMatchesNaiveReference) {
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    std::mt19937 rng(seed);
    Built b;
    init_symbols(b, rng);
    GenOptions o;
    o.rounds = 1 + int(seed % 3);
    o.max_terms = 12 + int(seed % 4) * 8;   // 12..36 terms per round
    o.max_merges = 2 + int(seed % 5) * 2;  // 2..10 merges per round
    for (int r = 0; r < o.rounds; ++r) {
      random_round(b, rng, o);
      b.g.rebuild();
      b.history << "rebuild\n";
      SCOPED_TRACE("seed " + std::to_string(seed) + ", after round " + std::to_string(r) + "; history:\n" +
                   b.history.str());
      check_graph(b);
      if (HasFailure()) return;  // one failing case is enough
    }
  }
}

// Directed case: two nodes already in one class become identical when their children merge
// (f(a) ~ f(b), rebuild, then a ~ b, rebuild): one of them dies and must leave the class's node
// list even though no union happens.
TEST(EGraphProperty, DuplicateWithinOneClassIsRemoved) {
  G g;
  const OpId a = g.intern_op("a"), bb = g.intern_op("b"), f = g.intern_op("f");
  const Id ia = g.add(a, {}), ib = g.add(bb, {});
  const Id fa = g.add(f, {ia}), fb = g.add(f, {ib});
  g.merge(fa, fb);
  g.rebuild();
  ASSERT_EQ(g.eclass(fa).nodes.size(), 2u);
  g.merge(ia, ib);
  g.rebuild();
  EXPECT_EQ(g.num_nodes(), 3u);  // a, b, f(a)
  EXPECT_EQ(g.num_classes(), 2u);
  const auto& nodes = g.eclass(fa).nodes;
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(g.node_live(nodes[0]));
}

// Rebuilding twice, or rebuilding a clean graph, changes nothing.
TEST(EGraphProperty, RebuildIsIdempotent) {
  for (uint32_t seed = 1000; seed < 1100; ++seed) {
    std::mt19937 rng(seed);
    Built b;
    init_symbols(b, rng);
    random_round(b, rng, GenOptions{});
    b.g.rebuild();
    const size_t nodes = b.g.num_nodes(), classes = b.g.num_classes();
    EXPECT_EQ(b.g.rebuild(), 0u) << "seed " << seed;
    EXPECT_EQ(b.g.num_nodes(), nodes) << "seed " << seed;
    EXPECT_EQ(b.g.num_classes(), classes) << "seed " << seed;
    if (HasFailure()) return;
  }
}

// ------------------------------------------------------------------ e-matching

using Subst = std::vector<Id>;  // class vars..., payload vars...; kNoId = unbound

// Brute-force matcher: every way pattern node `pi` matches class `c` extending `s`.
void bf_match(const G& g, const Pattern& p, uint32_t pi, Id c, const Subst& s, size_t nv, std::vector<Subst>& out) {
  const Pattern::Node& pn = p.nodes[pi];
  if (pn.is_var) {
    if (s[pn.var] == kNoId) {
      Subst t = s;
      t[pn.var] = c;
      out.push_back(std::move(t));
    } else if (s[pn.var] == c) {
      out.push_back(s);
    }
    return;
  }
  for (Id node : g.eclass(c).nodes) {
    if (g.node_op(node) != pn.op) continue;
    const auto kids = g.node_children(node);
    if (kids.size() != pn.kids.size()) continue;
    Subst s0 = s;
    const PayloadId pl = g.node_payload(node);
    if (pn.payload_var >= 0) {
      Id& slot = s0[nv + size_t(pn.payload_var)];
      if (slot == kNoId)
        slot = pl;
      else if (slot != pl)
        continue;
    } else if (pl != pn.payload) {
      continue;
    }
    std::vector<Subst> cur{s0};
    for (size_t k = 0; k < kids.size(); ++k) {
      std::vector<Subst> next;
      for (const Subst& x : cur) bf_match(g, p, pn.kids[k], g.find(kids[k]), x, nv, next);
      cur.swap(next);
    }
    out.insert(out.end(), cur.begin(), cur.end());
  }
}

// All matches of a pattern as entries [class, vars..., payload vars...].
std::vector<std::vector<Id>> bf_search(const G& g, const Pattern& p, const VarTable& vars) {
  std::vector<std::vector<Id>> r;
  const size_t nv = vars.vars.size(), width = nv + vars.payload_vars.size();
  g.for_each_class([&](Id c) {
    std::vector<Subst> found;
    bf_match(g, p, p.root(), c, Subst(width, kNoId), nv, found);
    for (const Subst& s : found) {
      std::vector<Id> e{c};
      e.insert(e.end(), s.begin(), s.end());
      r.push_back(std::move(e));
    }
  });
  return r;
}

std::vector<std::vector<Id>> entries(const Matches& m) {
  std::vector<std::vector<Id>> r;
  for (size_t i = 0; i < m.count(); ++i) r.emplace_back(m.at(i), m.at(i) + m.stride);
  return r;
}

std::string show(const std::vector<Id>& e) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < e.size(); ++i) {
    if (i) s << " ";
    if (e[i] == kNoId)
      s << "-";
    else
      s << e[i];
  }
  s << "]";
  return s.str();
}

// Compares two multisets of entries; on a difference, lists a few entries on each side only.
::testing::AssertionResult same_multiset(std::vector<std::vector<Id>> got, std::vector<std::vector<Id>> want) {
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  if (got == want) return ::testing::AssertionSuccess();
  std::vector<std::vector<Id>> extra, missing;
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
  auto r = ::testing::AssertionFailure();
  r << got.size() << " matches found, " << want.size() << " expected; unexpected:";
  for (size_t i = 0; i < extra.size() && i < 8; ++i) r << " " << show(extra[i]);
  r << "; missing:";
  for (size_t i = 0; i < missing.size() && i < 8; ++i) r << " " << show(missing[i]);
  return r;
}

void build_random_clean(Built& b, uint32_t seed) {
  std::mt19937 rng(seed);
  init_symbols(b, rng);
  GenOptions o;
  o.rounds = 1 + int(seed % 2);
  for (int r = 0; r < o.rounds; ++r) {
    random_round(b, rng, o);
    b.g.rebuild();
    b.history << "rebuild\n";
  }
}

const char* const kPatterns[] = {
    "?x",
    "(g ?x ?y)",
    "(g ?x ?x)",
    "(g (f ?x) ?y)",
    "(g ?x (g ?y ?z))",
    "(g (g ?x ?y) (g ?y ?x))",
    "(f (f ?x))",
    "(g a ?x)",
    "(g ?x (f ?x))",
    "(f (g ?x ?x))",
    "(g (f a) ?x)",
    "(g k{1} ?x)",
    "(g k{?p} ?x)",
    "(g k{?p} k{?p})",
    "(g (f k{?p}) (g ?x k{?p}))",
    "(g (f ?x) (f ?x))",
};

TEST(EGraphProperty, EMatchingMatchesBruteForce) {
  for (uint32_t seed = 2000; seed < 2300; ++seed) {
    Built b;
    build_random_clean(b, seed);
    const auto op_index = build_op_index(b.g);
    for (const char* text : kPatterns) {
      VarTable vars;
      const Pattern p = compile_pattern(b.g, parse_sexpr(text), vars, /*allow_new_vars=*/true);
      const Program prog = Program::compile(p, vars);
      const auto want = bf_search(b.g, p, vars);
      SCOPED_TRACE("seed " + std::to_string(seed) + ", pattern " + text + "; history:\n" + b.history.str());
      Matches with_index, without_index;
      prog.search(b.g, &op_index, with_index);
      prog.search(b.g, nullptr, without_index);
      EXPECT_EQ(with_index.stride, 1 + vars.vars.size() + vars.payload_vars.size());
      EXPECT_TRUE(same_multiset(entries(with_index), want)) << "with op index";
      EXPECT_TRUE(same_multiset(entries(without_index), want)) << "without op index";
      // A limit stops the search at exactly that many matches.
      if (want.size() >= 2) {
        const size_t limit = want.size() / 2;
        Matches limited;
        prog.search(b.g, &op_index, limited, limit);
        EXPECT_EQ(limited.count(), limit) << "limit " << limit;
      }
      if (HasFailure()) return;
    }
  }
}

// ------------------------------------------------------------------ multi-patterns

// Brute-force join of each pattern's brute-force matches: entries [class_0..class_{n-1}, vars...].
std::vector<std::vector<Id>> bf_multi(const G& g, const Rewrite<G>& r) {
  const size_t np = r.lhs.size(), width = r.vars.vars.size() + r.vars.payload_vars.size();
  std::vector<std::vector<std::vector<Id>>> each;
  for (const Pattern& p : r.lhs) each.push_back(bf_search(g, p, r.vars));
  std::vector<std::vector<Id>> acc{std::vector<Id>(width, kNoId)};  // [classes so far..., vars...]
  for (size_t i = 0; i < np; ++i) {
    std::vector<std::vector<Id>> next;
    for (const auto& a : acc)
      for (const auto& m : each[i]) {
        std::vector<Id> vars(a.end() - long(width), a.end());
        bool ok = true;
        for (size_t v = 0; v < width && ok; ++v) {
          const Id mv = m[1 + v];
          if (mv == kNoId) continue;
          if (vars[v] == kNoId)
            vars[v] = mv;
          else
            ok = vars[v] == mv;
        }
        if (!ok) continue;
        std::vector<Id> e(a.begin(), a.end() - long(width));
        e.push_back(m[0]);
        e.insert(e.end(), vars.begin(), vars.end());
        next.push_back(std::move(e));
      }
    acc.swap(next);
  }
  return acc;
}

TEST(EGraphProperty, MultiPatternMatchesBruteForceJoin) {
  const std::vector<std::vector<std::string>> rules = {
      {"(g ?x ?y)", "(f ?x)"},
      {"(f ?x)", "(g ?x ?y)"},
      {"(g ?x ?y)", "(f ?x)", "(f ?y)"},
      {"(f ?x)", "(f ?y)"},
      {"(g ?x ?y)", "(g ?y ?x)"},
      {"(f ?x)", "(g ?y ?z)", "(g ?x ?z)"},
      {"(g ?x k{?p})", "(f k{?p})"},
  };
  for (uint32_t seed = 3000; seed < 3300; ++seed) {
    Built b;
    build_random_clean(b, seed);
    const auto op_index = build_op_index(b.g);
    for (const auto& lhs : rules) {
      const Rewrite<G> r = make_multi_rewrite(b.g, "multi", lhs, lhs);
      std::string name;
      for (const auto& s : lhs) name += (name.empty() ? "" : ", ") + s;
      SCOPED_TRACE("seed " + std::to_string(seed) + ", patterns " + name + "; history:\n" + b.history.str());
      Matches got;
      search_rule(b.g, r, &op_index, got);
      EXPECT_EQ(got.stride, r.stride());
      EXPECT_TRUE(same_multiset(entries(got), bf_multi(b.g, r)));
      // A limit keeps exactly the first `limit` matches of the full join.
      if (got.count() >= 2) {
        const size_t limit = got.count() / 2;
        Matches limited;
        search_rule(b.g, r, &op_index, limited, limit);
        EXPECT_EQ(limited.count(), limit);
        EXPECT_TRUE(std::equal(limited.data.begin(), limited.data.end(), got.data.begin())) << "limit " << limit;
      }
      if (HasFailure()) return;
    }
  }
}

// Patterns that share no variable pair every match with every other; with a limit the join stops
// there instead of building all pairs (a chain of 100,000 f nodes: 10^10 of them).
TEST(EGraphProperty, MultiPatternJoinStopsAtTheLimit) {
  G g;
  const OpId a = g.intern_op("a"), f = g.intern_op("f");
  Id x = g.add(a, std::span<const Id>());
  for (int i = 0; i < 100000; ++i) x = g.add(f, {x});
  g.rebuild();
  const Rewrite<G> r = make_multi_rewrite(g, "pairs", {"(f ?x)", "(f ?y)"}, {"(f ?x)", "(f ?y)"});
  const auto op_index = build_op_index(g);
  Matches got;
  search_rule(g, r, &op_index, got, 1001);
  EXPECT_EQ(got.count(), 1001u);
}

}  // namespace
