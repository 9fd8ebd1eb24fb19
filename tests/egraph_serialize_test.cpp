// JSON serialization of e-graphs (egraph/serialize.h): round trips and malformed inputs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "egraph/runner.h"
#include "egraph/serialize.h"

using namespace eqopt;
using namespace eqopt::eg;

namespace {

using G = EGraph<>;

std::string chain(const std::vector<std::string>& xs) {  // left-nested matmul chain
  std::string t = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) t = "(mm " + t + " " + xs[i] + ")";
  return t;
}

// All bracketings of xs[i..j).
std::vector<std::string> bracketings(const std::vector<std::string>& xs, size_t i, size_t j) {
  if (j - i == 1) return {xs[i]};
  std::vector<std::string> out;
  for (size_t k = i + 1; k < j; ++k)
    for (const auto& l : bracketings(xs, i, k))
      for (const auto& r : bracketings(xs, k, j)) out.push_back("(mm " + l + " " + r + ")");
  return out;
}

}  // namespace

TEST(EGraphSerialize, MatmulChainRoundTrip) {
  G g;
  const std::vector<std::string> xs = {"a", "b", "c", "d", "e", "f"};
  const Id root = add_term(g, "(relu{slope=0.5} " + chain(xs) + ")");
  std::vector<Rewrite<G>> rules;
  rules.push_back(make_rewrite(g, "mm-assoc", "(mm (mm ?a ?b) ?c)", "(mm ?a (mm ?b ?c))"));
  rules.push_back(make_rewrite(g, "mm-assoc-rev", "(mm ?a (mm ?b ?c))", "(mm (mm ?a ?b) ?c)"));
  Runner<G> runner(g, RunnerLimits{12, 100000, 10.0, 0});
  runner.run(rules);
  ASSERT_TRUE(g.clean());

  const std::string json = write_egraph_json(g, {root}, NodeCostFn<G>([](const G& gg, Id n) {
                                               return gg.op_name(gg.node_op(n)) == "mm" ? 10.0 : 1.0;
                                             }));
  EXPECT_NE(json.find("\"relu{slope=0.5}\""), std::string::npos);
  EXPECT_NE(json.find("\"class_data\":{}"), std::string::npos);
  EXPECT_NE(json.find("\"cost\":10.0"), std::string::npos);

  G h;
  const DeserializeResult res = read_egraph_json(h, json);
  EXPECT_EQ(h.num_nodes(), g.num_nodes());
  EXPECT_EQ(h.num_classes(), g.num_classes());
  ASSERT_EQ(res.roots.size(), 1u);

  // The same terms exist and are equal (or not) in both e-graphs; adding them adds nothing.
  const size_t nodes_g = g.num_nodes(), nodes_h = h.num_nodes();
  std::vector<std::string> terms = bracketings(xs, 0, 6);
  const auto sub = bracketings(xs, 1, 5);
  terms.insert(terms.end(), sub.begin(), sub.end());
  terms.push_back(chain({"a", "b", "c"}));
  std::vector<Id> in_g, in_h;
  for (const auto& t : terms) {
    in_g.push_back(add_term(g, t));
    in_h.push_back(add_term(h, t));
  }
  EXPECT_EQ(h.find(add_term(h, "(relu{slope=0.5} " + chain(xs) + ")")), h.find(res.roots[0]));
  g.rebuild();
  h.rebuild();
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t j = 0; j < terms.size(); ++j)
      EXPECT_EQ(g.find(in_g[i]) == g.find(in_g[j]), h.find(in_h[i]) == h.find(in_h[j])) << terms[i] << " / " << terms[j];
  // Where runner reached saturation for a part, the bracketings are all equal in both.
  EXPECT_EQ(h.find(add_term(h, "(mm (mm a b) c)")), h.find(add_term(h, "(mm a (mm b c))")));
  EXPECT_EQ(g.num_nodes(), nodes_g) << "terms in g should all have existed";
  h.rebuild();
  EXPECT_EQ(h.num_nodes(), nodes_h) << "terms in h should all have existed";

  // Writing the read graph again gives the same counts.
  G k;
  read_egraph_json(k, write_egraph_json(h));
  EXPECT_EQ(k.num_nodes(), h.num_nodes());
  EXPECT_EQ(k.num_classes(), h.num_classes());
}

TEST(EGraphSerialize, BinaryPayloadsAreHexEscaped) {
  G g;
  const std::string raw("\x01{\xff", 3);
  const Id x = g.add(g.intern_op("k"), g.intern_payload(raw), {});
  const Id y = g.add(g.intern_op("k"), g.intern_payload("#xnot-hex"), {});
  const Id f = g.add(g.intern_op("f"), {x, y});
  g.rebuild();
  const std::string json = write_egraph_json(g, {f});
  EXPECT_NE(json.find("k{#x017bff}"), std::string::npos) << json;
  G h;
  read_egraph_json(h, json);
  EXPECT_NE(h.lookup(h.intern_op("k"), h.intern_payload(raw), {}), kNoId);
  EXPECT_NE(h.lookup(h.intern_op("k"), h.intern_payload("#xnot-hex"), {}), kNoId);
  EXPECT_EQ(h.num_nodes(), 3u);
}

TEST(EGraphSerialize, CyclicClassesAreRead) {
  // Class c holds x and f(c): a cycle in the class graph, legal in an e-graph.
  const std::string json = R"({"nodes": {"1": {"op": "f", "children": ["2"], "eclass": "c"},
                                         "2": {"op": "x", "children": [], "eclass": "c"},
                                         "3": {"op": "g", "children": ["1", "2"], "eclass": "d"}},
                               "root_eclasses": ["d"]})";
  G h;
  const auto res = read_egraph_json(h, json);
  EXPECT_EQ(h.num_classes(), 2u);
  EXPECT_EQ(h.num_nodes(), 3u);
  const Id x = h.lookup(h.intern_op("x"), kNoPayload, {});
  ASSERT_NE(x, kNoId);
  EXPECT_EQ(h.lookup(h.intern_op("f"), kNoPayload, std::vector<Id>{x}), h.find(x));
  EXPECT_EQ(res.roots.at(0), h.find(res.classes.at("d")));
}

TEST(EGraphSerialize, MalformedInputsAreErrors) {
  const std::vector<std::string> bad = {
      "not json",
      "[1, 2]",
      "{}",
      R"({"nodes": 3})",
      R"({"nodes": {"1": {"children": [], "eclass": "a"}}})",                   // no op
      R"({"nodes": {"1": {"op": "x", "children": []}}})",                        // no eclass
      R"({"nodes": {"1": {"op": "x", "children": 5, "eclass": "a"}}})",          // children not a list
      R"({"nodes": {"1": {"op": "f", "children": ["9"], "eclass": "a"}}})",      // unknown child
      R"({"nodes": {"1": {"op": "x", "eclass": "a"}}, "root_eclasses": ["b"]})", // unknown root
      R"({"nodes": {"1": {"op": "x", "eclass": "a", "cost": "high"}}})",         // bad cost
      R"({"nodes": {"1": {"op": "f", "children": ["1"], "eclass": "a"}}})",      // class never buildable
      R"({"nodes": {"1": {"op": "k{#xzz}", "eclass": "a"}}})",                   // bad hex payload
      R"({"nodes": {"1": {"op": "k{3", "eclass": "a"}}})",                       // unclosed payload
  };
  for (const std::string& text : bad) {
    G h;
    EXPECT_THROW(read_egraph_json(h, text), Error) << text;
  }
  G h;
  try {
    read_egraph_json(h, R"({"nodes": {"1": {"op": "f", "children": ["9"], "eclass": "a"}}})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'9'"), std::string::npos) << e.what();
  }
}
