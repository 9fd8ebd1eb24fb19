#include "bench/egg_workloads.h"

#include <cmath>
#include <cstring>
#include <optional>

#include "support/error.h"

namespace eqopt::bench {

using namespace eqopt::eg;

namespace {

// ------------------------------------------------------------------ W1b's language and analysis

// Numbers are leaves of operator "num" whose payload is the double's bytes, so equal values share
// one e-node whatever their spelling.
std::string number_payload(double v) {
  if (v == 0) v = 0;  // -0 and 0 are one constant
  std::string b(sizeof v, '\0');
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}
double payload_number(const std::string& b) {
  double v = 0;
  std::memcpy(&v, b.data(), sizeof v);
  return v;
}
std::optional<double> parse_number(const std::string& t) {
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return v;
}
const LeafParser kMathLeaves = [](const std::string& t) -> std::pair<std::string, std::string> {
  if (auto v = parse_number(t)) return {"num", number_payload(*v)};
  return {t, ""};
};

// egg's ConstantFold analysis from tests/math.rs.
struct ConstFold {
  using Data = std::optional<double>;
  static constexpr bool enabled = true;
  OpId num = 0, add = 0, sub = 0, mul = 0, div = 0;

  template <class G>
  Data make(G& g, Id n) {
    const OpId op = g.node_op(n);
    if (op == num) return payload_number(g.payload_bytes(g.node_payload(n)));
    const auto kids = g.node_children(n);
    if (kids.size() != 2) return std::nullopt;
    const Data a = g.data(kids[0]), b = g.data(kids[1]);
    if (!a || !b) return std::nullopt;
    if (op == add) return *a + *b;
    if (op == sub) return *a - *b;
    if (op == mul) return *a * *b;
    if (op == div && *b != 0) return *a / *b;
    return std::nullopt;
  }
  std::pair<bool, bool> merge(Data& into, Data from) {
    if (!into && from) {
      into = from;
      return {true, false};
    }
    if (into && !from) return {false, true};
    return {false, false};  // both known (equal) or both unknown
  }
  template <class G>
  void modify(G& g, Id c) {
    const Data d = g.data(c);
    if (!d) return;
    const Id leaf = g.add(num, g.intern_payload(number_payload(*d)), std::span<const Id>());
    g.merge(c, leaf);
    // Prune: keep only leaves in the class's node list.
    const auto& list = g.eclass(c).nodes;
    const std::vector<Id> nodes(list.begin(), list.end());
    for (Id n : nodes)
      if (!g.node_children(n).empty()) g.hide_node(n);
  }
};

using SymbolGraph = EGraph<NoAnalysis>;
using MathGraph = EGraph<ConstFold>;

struct RuleText {
  const char* name;
  const char* lhs;
  const char* rhs;
};

// The 26 unconditional rules of egg's math test, in order (W1a).
const RuleText kW1aRules[] = {
    {"comm-add", "(+ ?a ?b)", "(+ ?b ?a)"},
    {"comm-mul", "(* ?a ?b)", "(* ?b ?a)"},
    {"assoc-add", "(+ ?a (+ ?b ?c))", "(+ (+ ?a ?b) ?c)"},
    {"assoc-mul", "(* ?a (* ?b ?c))", "(* (* ?a ?b) ?c)"},
    {"sub-canon", "(- ?a ?b)", "(+ ?a (* -1 ?b))"},
    {"zero-add", "(+ ?a 0)", "?a"},
    {"zero-mul", "(* ?a 0)", "0"},
    {"one-mul", "(* ?a 1)", "?a"},
    {"add-zero", "?a", "(+ ?a 0)"},
    {"mul-one", "?a", "(* ?a 1)"},
    {"cancel-sub", "(- ?a ?a)", "0"},
    {"distribute", "(* ?a (+ ?b ?c))", "(+ (* ?a ?b) (* ?a ?c))"},
    {"factor", "(+ (* ?a ?b) (* ?a ?c))", "(* ?a (+ ?b ?c))"},
    {"pow-mul", "(* (pow ?a ?b) (pow ?a ?c))", "(pow ?a (+ ?b ?c))"},
    {"pow1", "(pow ?x 1)", "?x"},
    {"pow2", "(pow ?x 2)", "(* ?x ?x)"},
    {"d-add", "(d ?x (+ ?a ?b))", "(+ (d ?x ?a) (d ?x ?b))"},
    {"d-mul", "(d ?x (* ?a ?b))", "(+ (* ?a (d ?x ?b)) (* ?b (d ?x ?a)))"},
    {"d-sin", "(d ?x (sin ?x))", "(cos ?x)"},
    {"d-cos", "(d ?x (cos ?x))", "(* -1 (sin ?x))"},
    {"i-one", "(i 1 ?x)", "?x"},
    {"i-cos", "(i (cos ?x) ?x)", "(sin ?x)"},
    {"i-sin", "(i (sin ?x) ?x)", "(* -1 (cos ?x))"},
    {"i-sum", "(i (+ ?f ?g) ?x)", "(+ (i ?f ?x) (i ?g ?x))"},
    {"i-dif", "(i (- ?f ?g) ?x)", "(- (i ?f ?x) (i ?g ?x))"},
    {"i-parts", "(i (* ?a ?b) ?x)", "(- (* ?a (i ?b ?x)) (i (* (d ?x ?a) (i ?b ?x)) ?x))"},
};

const char* const kStartNames[] = {"simplify_add", "simplify_const", "simplify_root", "simplify_factor"};
const char* const kStartTerms[] = {
    "(+ x (+ x (+ x x)))",
    "(+ 1 (- a (* (- 2 1) a)))",
    "(/ 1 (- (/ (+ 1 (sqrt five)) 2) (/ (- 1 (sqrt five)) 2)))",
    "(* (+ x 3) (+ x 1))",
};

template <class G>
WorkloadResult run_rules(G& g, std::vector<Rewrite<G>>& rules, const std::string& name, RunnerLimits limits,
                         SchedulerKind scheduler, std::optional<size_t> max_iterations) {
  if (max_iterations) limits.iterations = std::min(limits.iterations, *max_iterations);
  WorkloadResult res;
  res.name = name;
  for (const auto& r : rules) res.rules.push_back(r.name);
  g.rebuild();
  res.start_nodes = g.num_nodes();
  limits.seconds = 3600;  // the workloads run with the time limit effectively off
  Runner<G> runner(g, limits, scheduler);
  res.stop = runner.run(rules);
  res.iterations = runner.iterations();
  res.total_ms = runner.total_ms();
  res.nodes = g.num_nodes();
  res.classes = g.num_classes();
  res.hashcons = g.hashcons_size();
  return res;
}

WorkloadResult run_w1a(int term, SchedulerKind scheduler, std::optional<size_t> max_it) {
  SymbolGraph g;
  std::vector<Rewrite<SymbolGraph>> rules;
  for (const RuleText& r : kW1aRules) rules.push_back(make_rewrite(g, r.name, r.lhs, r.rhs));
  add_term(g, kStartTerms[term]);
  return run_rules(g, rules, std::string("W1a/") + kStartNames[term], {30, 100000, 3600, 0}, scheduler, max_it);
}

WorkloadResult run_w1b(int term, SchedulerKind scheduler, std::optional<size_t> max_it) {
  MathGraph g;
  ConstFold& cf = g.analysis();
  cf.num = g.intern_op("num");
  cf.add = g.intern_op("+");
  cf.sub = g.intern_op("-");
  cf.mul = g.intern_op("*");
  cf.div = g.intern_op("/");
  using Guard = std::function<bool(MathGraph&, const MatchView&)>;
  auto nonzero = [](uint32_t v) -> Guard {
    return [v](MathGraph& g, const MatchView& m) {
      const auto& d = g.data(m.var(v));
      return !d || *d != 0;
    };
  };
  auto has_symbol = [](MathGraph& g, Id c) {
    const OpId num = g.analysis().num;
    for (Id n : g.eclass(c).nodes)
      if (g.node_children(n).empty() && g.node_op(n) != num) return true;
    return false;
  };
  std::vector<Rewrite<MathGraph>> rules;
  auto add = [&](const char* name, const char* lhs, const char* rhs, Guard guard = nullptr) {
    rules.push_back(make_rewrite(g, name, lhs, rhs, std::move(guard), kMathLeaves));
  };
  auto w1a = [&](const char* name) {
    for (const RuleText& r : kW1aRules)
      if (std::string(r.name) == name) return add(r.name, r.lhs, r.rhs);
    fail("no W1a rule ", name);
  };
  // Variable indices follow first appearance in the left-hand side.
  for (const char* n : {"comm-add", "comm-mul", "assoc-add", "assoc-mul", "sub-canon"}) w1a(n);
  add("div-canon", "(/ ?a ?b)", "(* ?a (pow ?b -1))", nonzero(1));
  for (const char* n : {"zero-add", "zero-mul", "one-mul", "add-zero", "mul-one", "cancel-sub"}) w1a(n);
  add("cancel-div", "(/ ?a ?a)", "1", nonzero(0));
  for (const char* n : {"distribute", "factor", "pow-mul"}) w1a(n);
  add("pow0", "(pow ?x 0)", "1", nonzero(0));
  for (const char* n : {"pow1", "pow2"}) w1a(n);
  add("pow-recip", "(pow ?x -1)", "(/ 1 ?x)", nonzero(0));
  add("recip-mul-div", "(* ?x (/ 1 ?x))", "1", nonzero(0));
  add("d-variable", "(d ?x ?x)", "1", [has_symbol](MathGraph& g, const MatchView& m) { return has_symbol(g, m.var(0)); });
  add("d-constant", "(d ?x ?c)", "0", [has_symbol](MathGraph& g, const MatchView& m) {
    const Id x = m.var(0), c = m.var(1);
    return has_symbol(g, x) && g.find(c) != g.find(x) && (g.data(c).has_value() || has_symbol(g, c));
  });
  for (const char* n : {"d-add", "d-mul", "d-sin", "d-cos"}) w1a(n);
  add("d-ln", "(d ?x (ln ?x))", "(/ 1 ?x)", nonzero(0));
  add("d-power", "(d ?x (pow ?f ?g))", "(* (pow ?f ?g) (+ (* (d ?x ?f) (/ ?g ?f)) (* (d ?x ?g) (ln ?f))))",
      [](MathGraph& g, const MatchView& m) {
        const auto &f = g.data(m.var(1)), &gg = g.data(m.var(2));
        return (!f || *f != 0) && (!gg || *gg != 0);
      });
  w1a("i-one");
  add("i-power-const", "(i (pow ?x ?c) ?x)", "(/ (pow ?x (+ ?c 1)) (+ ?c 1))",
      [](MathGraph& g, const MatchView& m) { return g.data(m.var(1)).has_value(); });
  for (const char* n : {"i-cos", "i-sin", "i-sum", "i-dif", "i-parts"}) w1a(n);
  add_term(g, kStartTerms[term], kMathLeaves);
  return run_rules(g, rules, std::string("W1b/") + kStartNames[term], {30, 100000, 3600, 0}, scheduler, max_it);
}

WorkloadResult run_w2(SchedulerKind scheduler, std::optional<size_t> max_it) {
  SymbolGraph g;
  std::vector<Rewrite<SymbolGraph>> rules;
  rules.push_back(make_rewrite(g, "matmul-assoc-l", "(matmul ?a (matmul ?b ?c))", "(matmul (matmul ?a ?b) ?c)"));
  rules.push_back(make_rewrite(g, "matmul-assoc-r", "(matmul (matmul ?a ?b) ?c)", "(matmul ?a (matmul ?b ?c))"));
  const OpId mm = g.intern_op("matmul");
  Id acc = g.add(g.intern_op("x64"), std::span<const Id>());
  for (int i = 63; i >= 0; --i) acc = g.add(mm, {g.add(g.intern_op("x" + std::to_string(i)), std::span<const Id>()), acc});
  return run_rules(g, rules, "W2", {20, 500000, 3600, 0}, scheduler, max_it);
}

WorkloadResult run_w3(size_t iter_limit, SchedulerKind scheduler, std::optional<size_t> max_it) {
  SymbolGraph g;
  std::vector<Rewrite<SymbolGraph>> rules;
  rules.push_back(make_rewrite(g, "comm-add", "(+ ?a ?b)", "(+ ?b ?a)"));
  rules.push_back(make_rewrite(g, "assoc-add", "(+ ?a (+ ?b ?c))", "(+ (+ ?a ?b) ?c)"));
  const OpId plus = g.intern_op("+");
  Id acc = g.add(g.intern_op("x199"), std::span<const Id>());
  for (int i = 198; i >= 0; --i) acc = g.add(plus, {g.add(g.intern_op("x" + std::to_string(i)), std::span<const Id>()), acc});
  return run_rules(g, rules, iter_limit == 10 ? "W3" : "W3:" + std::to_string(iter_limit),
                   {iter_limit, 1000000, 3600, 0}, scheduler, max_it);
}

}  // namespace

std::vector<std::string> workload_names() {
  std::vector<std::string> n;
  for (const char* w : {"W1a", "W1b"})
    for (const char* t : kStartNames) n.push_back(std::string(w) + "/" + t);
  for (const char* w : {"W2", "W3", "W3:4"}) n.push_back(w);
  return n;
}

bool is_workload(const std::string& name) {
  if (name == "W1a" || name == "W1b" || name == "W2" || name == "W3") return true;
  if (name.rfind("W3:", 0) == 0) return name.size() > 3 && name.find_first_not_of("0123456789", 3) == std::string::npos;
  for (const std::string& n : workload_names())
    if (n == name) return true;
  return false;
}

std::vector<WorkloadResult> run_workload(const std::string& name, SchedulerKind scheduler,
                                         std::optional<size_t> max_iterations) {
  if (!is_workload(name)) {
    std::string all;
    for (const std::string& n : workload_names()) all += (all.empty() ? "" : ", ") + n;
    fail("unknown workload '", name, "' (known: W1a, W1b, ", all, ", W3:N)");
  }
  std::vector<WorkloadResult> out;
  for (int w = 0; w < 2; ++w) {
    const std::string prefix = w == 0 ? "W1a" : "W1b";
    if (name.rfind(prefix, 0) != 0) continue;
    for (int t = 0; t < 4; ++t)
      if (name == prefix || name == prefix + "/" + kStartNames[t])
        out.push_back(w == 0 ? run_w1a(t, scheduler, max_iterations) : run_w1b(t, scheduler, max_iterations));
    return out;
  }
  if (name == "W2") out.push_back(run_w2(scheduler, max_iterations));
  if (name == "W3") out.push_back(run_w3(10, scheduler, max_iterations));
  if (name.rfind("W3:", 0) == 0) out.push_back(run_w3(size_t(std::stoul(name.substr(3))), scheduler, max_iterations));
  return out;
}

}  // namespace eqopt::bench
