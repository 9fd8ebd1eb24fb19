// Equality proofs with the rule database (verify/prove.h, `eqopt rules prove`) and `eqopt rules list`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "rules/parser.h"
#include "support/error.h"
#include "tests/test_util.h"
#include "verify/lint.h"
#include "verify/prove.h"
#include "verify/status.h"

namespace eqopt {
namespace {

const std::vector<rules::Rule>& ruledb() {
  static const std::vector<rules::Rule> rules = verify::load_rules({test::source_dir() + "/ruledb"});
  return rules;
}

std::set<std::string> directed_names(const std::vector<rules::Rule>& rules) {
  std::set<std::string> names;
  for (const rules::Rule& r : rules::expand_bidirectional(rules)) names.insert(r.name);
  return names;
}

// A proof starts at term A, ends at term B, and names a rule of the database at every step.
void expect_chain(const verify::ProveResult& r, const std::set<std::string>& names) {
  ASSERT_TRUE(r.proved) << r.stop;
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps.front().term, r.term_a);
  EXPECT_EQ(r.steps.back().term, r.term_b);
  EXPECT_TRUE(r.steps.front().rule.empty());
  for (size_t i = 1; i < r.steps.size(); ++i) {
    EXPECT_TRUE(names.count(r.steps[i].rule) || r.steps[i].rule == "<fold>") << r.steps[i].rule;
    EXPECT_NE(r.steps[i].term, r.steps[i - 1].term) << verify::proof_text(r);
  }
}

TEST(RuleProve, ReluReluIsOneStep) {
  const verify::ProveResult r = verify::prove_terms("(Relu (Relu ?x))", "(Relu ?x)", ruledb());
  expect_chain(r, directed_names(ruledb()));
  EXPECT_EQ(r.term_a, "(Relu (Relu ?x))");
  EXPECT_EQ(r.term_b, "(Relu ?x)");
  ASSERT_EQ(r.steps.size(), 2u) << verify::proof_text(r);
  EXPECT_EQ(r.steps[1].rule, "relu-relu");
  EXPECT_FALSE(r.steps[1].backward);
  EXPECT_EQ(r.inputs, "?x: float32[2,3]");
  EXPECT_EQ(r.stop, "equal");
  EXPECT_EQ(verify::proof_text(r), "  (Relu (Relu ?x))\n  = (Relu ?x)   [relu-relu]\n");
}

TEST(RuleProve, CommutingTwiceNeedsTwoSteps) {
  const verify::ProveResult r = verify::prove_terms("(Add ?a (Add ?b ?c))", "(Add (Add ?c ?b) ?a)", ruledb());
  expect_chain(r, directed_names(ruledb()));
  EXPECT_GE(r.steps.size(), 3u) << verify::proof_text(r);
  EXPECT_EQ(r.inputs, "?a: float32[2,3], ?b: float32[2,3], ?c: float32[2,3]");
}

TEST(RuleProve, BackwardStepsAreMarked) {
  // With only neg-neg, ?x = (Neg (Neg ?x)) rewrites the right side into the left.
  const std::vector<rules::Rule> rules = rules::parse_rules("rule neg-neg:\n  (Neg (Neg ?x)) => ?x\n", "t.rules");
  const verify::ProveResult r = verify::prove_terms("?x", "(Neg (Neg ?x))", rules);
  expect_chain(r, {"neg-neg"});
  ASSERT_EQ(r.steps.size(), 2u) << verify::proof_text(r);
  EXPECT_TRUE(r.steps[1].backward);
  EXPECT_EQ(verify::proof_text(r), "  ?x\n  = (Neg (Neg ?x))   [neg-neg, backward]\n");
}

TEST(RuleProve, StepsInsideATermKeepTheirContext) {
  const std::vector<rules::Rule> rules = rules::parse_rules("rule neg-neg:\n  (Neg (Neg ?x)) => ?x\n", "t.rules");
  const verify::ProveResult r =
      verify::prove_terms("(Transpose{perm=[1, 0]} (Neg (Neg ?x)))", "(Transpose{perm=[1, 0]} ?x)", rules);
  expect_chain(r, {"neg-neg"});
  ASSERT_EQ(r.steps.size(), 2u) << verify::proof_text(r);
  EXPECT_EQ(r.steps[0].term, "(Transpose{perm=[1, 0]} (Neg (Neg ?x)))");
  EXPECT_FALSE(r.steps[1].backward);
}

TEST(RuleProve, ShapesComeFromTheOptions) {
  verify::ProveOptions o;
  o.shapes["?x"] = {4};
  const verify::ProveResult r = verify::prove_terms("(Relu (Relu ?x))", "(Relu ?x)", ruledb(), o);
  EXPECT_TRUE(r.proved);
  EXPECT_EQ(r.inputs, "?x: float32[4]");
  o.shapes["?y"] = {2};
  EXPECT_THROW(verify::prove_terms("(Relu (Relu ?x))", "(Relu ?x)", ruledb(), o), Error);
}

TEST(RuleProve, UnequalTermsAreNotProved) {
  verify::ProveOptions o;
  o.max_iterations = 8;
  const verify::ProveResult r = verify::prove_terms("(Relu ?x)", "(Neg ?x)", ruledb(), o);
  EXPECT_FALSE(r.proved);
  EXPECT_TRUE(r.steps.empty());
  EXPECT_NE(r.stop, "equal");
  EXPECT_FALSE(r.stop.empty());
  // With one rule that cannot relate them, the e-graph saturates.
  const std::vector<rules::Rule> rules = rules::parse_rules("rule neg-neg:\n  (Neg (Neg ?x)) => ?x\n", "t.rules");
  const verify::ProveResult s = verify::prove_terms("(Relu ?x)", "(Neg ?x)", rules);
  EXPECT_FALSE(s.proved);
  EXPECT_EQ(s.stop, "saturated");
}

TEST(RuleProve, MalformedTermsAreErrorsPointingIntoTheTerm) {
  try {
    verify::prove_terms("(Relu ?x", "(Relu ?x)", ruledb());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("term A:1:9: the term ends too early", 0), 0u) << e.what();
  }
  try {
    verify::prove_terms("(Relu ?x)", "(Relu ?x))", ruledb());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("term B:1:10: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(verify::prove_terms("(Transpose{perm=?p} ?x)", "?x", ruledb()), Error);
  try {
    verify::prove_terms("?x", "(Relu (Frobnicate ?x))", ruledb());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "term B:1:7: unknown operator 'Frobnicate'");
  }
  // Well-formed but ill-typed for the shapes.
  EXPECT_THROW(verify::prove_terms("(MatMul ?x ?x)", "?x", ruledb()), Error);
}

TEST(RuleProve, CommandPrintsTheChain) {
  testing::internal::CaptureStdout();
  const int code = cli::cmd_rules_prove({"(Relu (Relu ?x))", "(Relu ?x)"});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("= (Relu ?x)   [relu-relu]"), std::string::npos) << out;
  testing::internal::CaptureStdout();
  const int no = cli::cmd_rules_prove({"(Relu ?x)", "(Neg ?x)", "--iterations", "3", "--json"});
  const std::string json = testing::internal::GetCapturedStdout();
  EXPECT_EQ(no, 1);
  const auto j = nlohmann::json::parse(json);
  EXPECT_FALSE(j["proved"].get<bool>());
  EXPECT_TRUE(j["steps"].empty());
}

// ------------------------------------------------------------------ rules list

nlohmann::json list_json(const std::vector<std::string>& args) {
  testing::internal::CaptureStdout();
  const int code = cli::cmd_rules_list(args);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0) << out;
  return nlohmann::json::parse(out);
}

TEST(RuleList, JsonHoldsEveryDirectedRule) {
  const std::string dir = test::temp_dir("list_none");
  const nlohmann::json j = list_json({"--json", "--status-file", dir + "/absent.tsv"});
  const std::vector<rules::Rule> directed = rules::expand_bidirectional(ruledb());
  ASSERT_EQ(j.size(), directed.size());
  for (size_t i = 0; i < directed.size(); ++i) {
    EXPECT_EQ(j[i]["name"], directed[i].name);
    EXPECT_EQ(j[i]["file"], directed[i].file);
    EXPECT_EQ(j[i]["line"], directed[i].line);
    EXPECT_GT(j[i]["line"].get<int>(), 0);
    EXPECT_EQ(j[i]["category"], directed[i].category);
    EXPECT_EQ(j[i]["status"], "unverified");
  }
  // Bidirectional rules appear as NAME and NAME-rev.
  bool rev = false;
  for (const auto& r : j) rev |= r["name"].get<std::string>() == "add-assoc-rev";
  EXPECT_TRUE(rev);
}

TEST(RuleList, ShowsTheStoredStatus) {
  const std::string dir = test::temp_dir("list_status");
  const std::string file = dir + "/status.tsv";
  const std::vector<rules::Rule> directed = rules::expand_bidirectional(ruledb());
  auto find = [&](const std::string& name) -> const rules::Rule& {
    for (const rules::Rule& r : directed)
      if (r.name == name) return r;
    throw Error("no rule " + name);
  };
  ASSERT_TRUE(verify::save_status(
      file, {{"relu-relu", verify::rule_hash(find("relu-relu")), "proved", "all shapes", "2024-01-01T00:00:00Z"},
             {"neg-neg", "0000000000000000", "refuted", "old text", "2024-01-01T00:00:00Z"}}));
  const nlohmann::json j = list_json({"--json", "--status-file", file});
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& r : j) by_name[r["name"].get<std::string>()] = r;
  EXPECT_EQ(by_name.at("relu-relu")["status"], "proved");
  EXPECT_EQ(by_name.at("relu-relu")["detail"], "all shapes");
  EXPECT_EQ(by_name.at("neg-neg")["status"], "stale");
  EXPECT_EQ(by_name.at("add-comm")["status"], "unverified");

  // EQOPT_STATUS_FILE names the default file; filters by category and tag.
  ::setenv("EQOPT_STATUS_FILE", file.c_str(), 1);
  const nlohmann::json k = list_json({"--json", "--category", "algebraic", "--tag", "ac"});
  ::unsetenv("EQOPT_STATUS_FILE");
  ASSERT_FALSE(k.empty());
  for (const auto& r : k) {
    EXPECT_EQ(r["category"], "algebraic");
    const auto tags = r["tags"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(tags.begin(), tags.end(), "ac"), tags.end());
  }

  testing::internal::CaptureStdout();
  EXPECT_EQ(cli::cmd_rules_list({"--status-file", file}), 0);
  const std::string table = testing::internal::GetCapturedStdout();
  EXPECT_EQ(table.rfind("RULE", 0), 0u) << table;
  EXPECT_NE(table.find("relu-relu"), std::string::npos);
  EXPECT_NE(table.find("proved"), std::string::npos);
  EXPECT_NE(table.find(std::to_string(directed.size()) + " rules"), std::string::npos) << table.substr(table.size() - 200);
}

}  // namespace
}  // namespace eqopt
