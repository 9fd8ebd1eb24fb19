// The rule linter (verify/lint.h) and `eqopt rules lint`.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "rules/parser.h"
#include "support/error.h"
#include "tests/test_util.h"
#include "verify/lint.h"

namespace eqopt {
namespace {

using verify::LintMessage;
using verify::LintOptions;
using verify::LintReport;

LintOptions no_instances() {
  LintOptions o;
  o.instances = false;
  return o;
}

// The messages whose text contains `needle`.
std::vector<LintMessage> with(const LintReport& r, const std::string& needle) {
  std::vector<LintMessage> out;
  for (const LintMessage& m : r.messages)
    if (m.message.find(needle) != std::string::npos) out.push_back(m);
  return out;
}

std::string all_text(const LintReport& r) {
  std::string s;
  for (const LintMessage& m : r.messages) s += m.str() + "\n";
  return s;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

TEST(RuleLint, UnknownGuardFunctionIsAnErrorAtTheCall) {
  const LintReport r = verify::lint_text("rule r1:\n  (Relu ?x) => ?x\n  if rnak(?x) == 2\n", "t.rules", no_instances());
  const auto m = with(r, "unknown guard function 'rnak'");
  ASSERT_EQ(m.size(), 1u) << all_text(r);
  EXPECT_EQ(m[0].severity, LintMessage::Severity::Error);
  EXPECT_EQ(m[0].line, 3);
  EXPECT_EQ(m[0].column, 6);
  EXPECT_EQ(m[0].str(), "t.rules:3:6: error: [r1] unknown guard function 'rnak'");
  EXPECT_EQ(r.errors(), 1u);
}

TEST(RuleLint, WrongArgumentCountIsAnError) {
  const LintReport r = verify::lint_text(
      "rule r1:\n  (Relu ?x) => ?x\n  if dim(?x) == 2 && approx(1.0, 2.0, 0.1, 4)\n", "t.rules", no_instances());
  EXPECT_EQ(with(r, "dim takes 2 arguments, given 1").size(), 1u) << all_text(r);
  EXPECT_EQ(with(r, "approx takes 2 or 3 arguments, given 4").size(), 1u) << all_text(r);
  EXPECT_EQ(r.errors(), 2u);
}

TEST(RuleLint, UnknownOperatorsAndAttributes) {
  const LintReport r = verify::lint_text(
      "rule a:\n  (Reluu ?x) => ?x\n"
      "rule b:\n  (eqopt.NoSuchOp ?x) => ?x\n"
      "rule c:\n  (Transpose{prem=[1, 0]} ?x) => ?x\n"
      "rule d:\n  (Relu ?x) => (Add ?x)\n",
      "t.rules", no_instances());
  const auto op = with(r, "unknown operator 'Reluu'");
  ASSERT_EQ(op.size(), 1u) << all_text(r);
  EXPECT_EQ(op[0].line, 2);
  EXPECT_EQ(op[0].column, 3);
  EXPECT_EQ(op[0].rule, "a");
  EXPECT_EQ(with(r, "unknown operator 'eqopt.NoSuchOp'").size(), 1u) << all_text(r);
  const auto attr = with(r, "Transpose has no attribute 'prem'");
  ASSERT_EQ(attr.size(), 1u) << all_text(r);
  EXPECT_EQ(attr[0].line, 6);
  EXPECT_EQ(with(r, "Add takes 2 inputs, given 1").size(), 1u) << all_text(r);
  // Attributes of older opsets count (Slice's `starts` was an attribute before opset 10).
  const LintReport old = verify::lint_text(
      "rule s:\n  (Slice{starts=[0], ends=[1], axes=[0]} ?x) => (Slice{starts=[0], ends=[1], axes=[0]} ?x)\n", "t.rules",
      no_instances());
  EXPECT_TRUE(with(old, "has no attribute").empty()) << all_text(old);
}

TEST(RuleLint, DuplicateUpToRenaming) {
  const LintReport r = verify::lint_text(
      "rule first:\n  (Neg (Neg ?x)) => ?x\n"
      "rule second:\n  (Neg (Neg ?y)) => ?y\n"
      "rule third:\n  (Neg (Abs ?y)) => ?y\n",
      "t.rules", no_instances());
  const auto m = with(r, "duplicate of rule 'first' (t.rules:1)");
  ASSERT_EQ(m.size(), 1u) << all_text(r);
  EXPECT_EQ(m[0].rule, "second");
  EXPECT_EQ(m[0].line, 3);
  EXPECT_EQ(m[0].severity, LintMessage::Severity::Warning);
  EXPECT_EQ(r.errors(), 0u);
  EXPECT_EQ(r.warnings(), 1u) << all_text(r);
}

TEST(RuleLint, RulesThatUndoEachOther) {
  const LintReport r = verify::lint_text(
      "rule to-add:\n  (Sub ?a ?b) => (Add ?a (Neg ?b))\n"
      "rule to-sub:\n  (Add ?x (Neg ?y)) => (Sub ?x ?y)\n"
      // The two halves of one `<=>` rule, and a rule that is its own reverse, are meant that way.
      "rule both:\n  (Mul ?a ?b) <=> (Mul ?b (Identity ?a))\n"
      "rule comm:\n  (Max ?a ?b) => (Max ?b ?a)\n",
      "t.rules", no_instances());
  const auto m = with(r, "undo each other");
  ASSERT_EQ(m.size(), 1u) << all_text(r);
  EXPECT_EQ(m[0].rule, "to-sub");
  EXPECT_EQ(m[0].line, 3);
  EXPECT_NE(m[0].message.find("'to-add' (t.rules:1) and 'to-sub' undo each other; write one bidirectional rule `<=>`"),
            std::string::npos);
}

TEST(RuleLint, BareVariableAndIdenticalSides) {
  const LintReport r = verify::lint_text(
      "rule grow:\n  ?x => (Relu ?x)\n  if 1 == 0\n"
      "rule same:\n  (Relu ?x) => (Relu ?x)\n",
      "t.rules", no_instances());
  const auto bare = with(r, "bare variable ?x");
  ASSERT_EQ(bare.size(), 1u) << all_text(r);
  EXPECT_EQ(bare[0].line, 2);
  EXPECT_EQ(with(r, "both sides are identical").size(), 1u) << all_text(r);
  EXPECT_EQ(r.errors(), 0u);
}

TEST(RuleLint, ParseErrorInOneFileDoesNotHideAnother) {
  const std::string dir = test::temp_dir("lint_files");
  write(dir + "/a.rules", "rule broken:\n  (Relu ?x => ?x\n");
  write(dir + "/b.rules", "rule fine-but-unknown:\n  (Frobnicate ?x) => ?x\n");
  const LintReport r = verify::lint_rules({dir}, no_instances());
  EXPECT_EQ(r.files, 2u);
  ASSERT_EQ(r.errors(), 2u) << all_text(r);
  EXPECT_EQ(r.messages[0].file, dir + "/a.rules");
  EXPECT_EQ(r.messages[0].line, 2);
  EXPECT_TRUE(r.messages[0].rule.empty());
  EXPECT_EQ(r.messages[0].str().rfind(dir + "/a.rules:2:", 0), 0u) << r.messages[0].str();
  EXPECT_EQ(r.messages[1].file, dir + "/b.rules");
  EXPECT_NE(r.messages[1].message.find("unknown operator 'Frobnicate'"), std::string::npos);
  EXPECT_EQ(r.rules, 1u);  // the rule of the file that parsed
}

TEST(RuleLint, RuleNameDefinedInTwoFiles) {
  const std::string dir = test::temp_dir("lint_names");
  write(dir + "/a.rules", "rule same-name:\n  (Neg (Neg ?x)) => ?x\n");
  write(dir + "/b.rules", "rule same-name:\n  (Relu (Relu ?x)) => (Relu ?x)\n");
  const LintReport r = verify::lint_rules({dir}, no_instances());
  const auto m = with(r, "rule name 'same-name' is also defined at " + dir + "/a.rules:1");
  ASSERT_EQ(m.size(), 1u) << all_text(r);
  EXPECT_EQ(m[0].file, dir + "/b.rules");
}

TEST(RuleLint, MissingPathIsAnError) {
  EXPECT_THROW(verify::lint_rules({"/nonexistent/eqopt-rules"}), Error);
}

TEST(RuleLint, InstanceSearchFindsIllTypedAndDeadRules) {
  LintOptions o;
  const LintReport r = verify::lint_text(
      // A comparison's bool result never has the type of Relu's (numeric) one, in any dtype.
      "rule to-bool:\n  (Relu ?x) => (Equal ?x ?x)\n"
      "rule never:\n  (Relu ?x) => ?x\n  if rank(?x) == 7\n"
      "rule fine:\n  (Relu (Relu ?x)) => (Relu ?x)\n",
      "t.rules", o);
  const auto typed = with(r, "the right side never keeps the left side's dtype and shape");
  ASSERT_EQ(typed.size(), 1u) << all_text(r);
  EXPECT_EQ(typed[0].rule, "to-bool");
  EXPECT_EQ(typed[0].severity, LintMessage::Severity::Error);
  EXPECT_EQ(typed[0].line, 2);
  const auto dead = with(r, "no instance found");
  ASSERT_EQ(dead.size(), 1u) << all_text(r);
  EXPECT_EQ(dead[0].rule, "never");
  EXPECT_EQ(dead[0].severity, LintMessage::Severity::Warning);
  EXPECT_EQ(r.errors(), 1u) << all_text(r);
}

TEST(RuleLint, RuleDatabaseHasNoErrors) {
  const LintReport r = verify::lint_rules({test::source_dir() + "/ruledb"});
  EXPECT_EQ(r.files, 4u);
  EXPECT_EQ(r.rules, rules::expand_bidirectional(rules::load_rule_dir(test::source_dir() + "/ruledb")).size());
  std::string errors;
  for (const LintMessage& m : r.messages)
    if (m.severity == LintMessage::Severity::Error) errors += m.str() + "\n";
  EXPECT_EQ(r.errors(), 0u) << errors;
  std::printf("ruledb: %zu errors, %zu warnings in %zu rules\n", r.errors(), r.warnings(), r.rules);
}

TEST(RuleLint, CommandPrintsMessagesCountAndExitCode) {
  const std::string dir = test::temp_dir("lint_cli");
  write(dir + "/x.rules", "rule a:\n  (Neg (Neg ?x)) => ?x\nrule b:\n  (Neg (Neg ?y)) => ?y\n");
  testing::internal::CaptureStdout();
  const int ok = cli::cmd_rules_lint({dir, "--no-instances"});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(ok, 0) << out;
  EXPECT_NE(out.find(dir + "/x.rules:3:1: warning: [b] duplicate of rule 'a'"), std::string::npos) << out;
  EXPECT_NE(out.find("0 errors, 1 warnings in 2 rules"), std::string::npos) << out;
  testing::internal::CaptureStdout();
  const int strict = cli::cmd_rules_lint({dir, "--no-instances", "--werror", "--json"});
  const std::string json = testing::internal::GetCapturedStdout();
  EXPECT_EQ(strict, 1);
  const auto j = nlohmann::json::parse(json);
  ASSERT_EQ(j["messages"].size(), 1u) << json;
  EXPECT_EQ(j["messages"][0]["severity"], "warning");
  EXPECT_EQ(j["messages"][0]["rule"], "b");
  EXPECT_EQ(j["messages"][0]["line"], 3);
  EXPECT_EQ(j["warnings"], 1);
  EXPECT_EQ(j["rules"], 2);
}

}  // namespace
}  // namespace eqopt
