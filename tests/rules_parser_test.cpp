// The rule language parser (rules/parser.h): every construct parses and prints back, guard
// precedence, errors with FILE:LINE:COLUMN, bidirectional expansion, multi-patterns, files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "rules/parser.h"
#include "support/error.h"
#include "tests/test_util.h"

namespace eqopt::rules {
namespace {

const char* kExample = R"(# the example of docs/rule-language.md
category fusion

rule fuse-matmul-add [cpu, gpu]:
  (Add (MatMul ?a ?b) ?c) => (Gemm ?a ?b ?c)
  if rank(?a) == 2 && rank(?b) == 2 && broadcastable(?c, [dim(?a,0), dim(?b,1)])

rule comm-add [ac]:
  (Add ?a ?b) <=> (Add ?b ?a)          # bidirectional

rule transpose-transpose:
  (Transpose{perm=?p} (Transpose{perm=?q} ?x)) => (Transpose{perm=compose(?q, ?p)} ?x)

rule merge-parallel-matmul [multi]:
  (MatMul ?x ?w1), (MatMul ?x ?w2)
  => (Slice{axis=1} (MatMul ?x (Concat{axis=1} ?w1 ?w2))),
     (Slice{axis=1, starts=[0], ends=[-1]} (MatMul ?x (Concat{axis=1} ?w1 ?w2)))
  if const(?w1) && const(?w2)

rule add-zero:
  (Add ?x #c(0)) => ?x
)";

// The message of the Error that parsing `text` as "t.rules" throws ("" when none).
std::string error_of(const std::string& text) { return test::rule_parse_error(text); }

Expr guard_of(const std::string& guard) {
  auto rules = parse_rules("rule g: (F ?x ?y ?z) => ?x if " + guard, "g.rules");
  EXPECT_EQ(rules.size(), 1u);
  return *rules.at(0).guard;
}

TEST(RuleParser, ExampleParses) {
  auto rules = parse_rules(kExample, "ruledb/x.rules");
  ASSERT_EQ(rules.size(), 5u);
  const Rule& r = rules[0];
  EXPECT_EQ(r.name, "fuse-matmul-add");
  EXPECT_EQ(r.category, "fusion");
  EXPECT_EQ(r.tags, (std::vector<std::string>{"cpu", "gpu"}));
  EXPECT_EQ(r.file, "ruledb/x.rules");
  EXPECT_EQ(r.line, 4);
  EXPECT_EQ(r.column, 1);
  EXPECT_FALSE(r.bidirectional);
  EXPECT_EQ(r.text, "(Add (MatMul ?a ?b) ?c) => (Gemm ?a ?b ?c)");
  ASSERT_EQ(r.lhs.size(), 1u);
  EXPECT_EQ(r.lhs[0].kind, PatternAst::Kind::Op);
  EXPECT_EQ(r.lhs[0].name, "Add");
  ASSERT_EQ(r.lhs[0].children.size(), 2u);
  EXPECT_EQ(r.lhs[0].children[0].name, "MatMul");
  EXPECT_EQ(r.lhs[0].children[1].kind, PatternAst::Kind::Var);
  EXPECT_EQ(r.lhs[0].children[1].name, "?c");
  EXPECT_EQ(r.lhs[0].children[1].line, 5);
  EXPECT_EQ(r.lhs[0].children[1].column, 23);
  ASSERT_TRUE(r.guard);
  EXPECT_EQ(r.guard->str(), "rank(?a) == 2 && rank(?b) == 2 && broadcastable(?c, [dim(?a, 0), dim(?b, 1)])");

  EXPECT_TRUE(rules[1].bidirectional);
  EXPECT_EQ(rules[1].text, "(Add ?a ?b) <=> (Add ?b ?a)");
  EXPECT_TRUE(rules[1].has_tag("ac"));

  const Rule& tt = rules[2];
  EXPECT_TRUE(tt.tags.empty());
  const Attr* perm = tt.rhs[0].attr("perm");
  ASSERT_NE(perm, nullptr);
  EXPECT_EQ(perm->value.kind, Expr::Kind::Call);
  EXPECT_EQ(perm->value.text, "compose");
  ASSERT_EQ(perm->value.args.size(), 2u);
  EXPECT_EQ(perm->value.args[0].text, "?q");
  EXPECT_EQ(tt.lhs[0].attr("perm")->value.kind, Expr::Kind::Var);

  const Rule& m = rules[3];
  EXPECT_TRUE(m.is_multi());
  ASSERT_EQ(m.lhs.size(), 2u);
  ASSERT_EQ(m.rhs.size(), 2u);
  const Attr* ends = m.rhs[1].attr("ends");
  ASSERT_NE(ends, nullptr);
  EXPECT_EQ(ends->value.kind, Expr::Kind::List);
  EXPECT_EQ(ends->value.args.at(0).kind, Expr::Kind::Int);
  EXPECT_EQ(ends->value.args.at(0).int_value, -1);

  const Rule& z = rules[4];
  ASSERT_EQ(z.lhs[0].children.size(), 2u);
  const PatternAst& c = z.lhs[0].children[1];
  EXPECT_EQ(c.kind, PatternAst::Kind::Const);
  EXPECT_EQ(c.constant.kind, Expr::Kind::Int);
  EXPECT_EQ(c.constant.int_value, 0);
  EXPECT_EQ(z.rhs[0].kind, PatternAst::Kind::Var);
}

TEST(RuleParser, PrintsBack) {
  auto rules = parse_rules(kExample, "x.rules");
  EXPECT_EQ(rules[0].str(),
            "rule fuse-matmul-add [cpu, gpu]:\n"
            "  (Add (MatMul ?a ?b) ?c) => (Gemm ?a ?b ?c)\n"
            "  if rank(?a) == 2 && rank(?b) == 2 && broadcastable(?c, [dim(?a, 0), dim(?b, 1)])\n");
  EXPECT_EQ(rules[1].str(), "rule comm-add [ac]:\n  (Add ?a ?b) <=> (Add ?b ?a)\n");
  EXPECT_EQ(rules[2].lhs[0].str(), "(Transpose{perm=?p} (Transpose{perm=?q} ?x))");
  EXPECT_EQ(rules[2].rhs[0].str(), "(Transpose{perm=compose(?q, ?p)} ?x)");
  EXPECT_EQ(rules[3].rhs[1].str(), "(Slice{axis=1, starts=[0], ends=[-1]} (MatMul ?x (Concat{axis=1} ?w1 ?w2)))");
  EXPECT_EQ(rules[4].str(), "rule add-zero:\n  (Add ?x #c(0)) => ?x\n");

  // Printing and parsing again is a fixed point, for every rule.
  std::string all;
  for (const Rule& r : rules) all += r.str() + "\n";
  auto again = parse_rules(all, "x.rules");
  ASSERT_EQ(again.size(), rules.size());
  for (size_t i = 0; i < rules.size(); ++i) EXPECT_EQ(again[i].str(), rules[i].str());
}

TEST(RuleParser, LiteralsAndAttributes) {
  auto rules = parse_rules(
      R"(rule lit: (Cast{to="float\"32", alpha=1.5e-3, beta=-2.0, axes=[1, 2, -1], n=7, e=[]} #c(-1.25) ?x Bare Op{k=1}) => ?x)",
      "lit.rules");
  ASSERT_EQ(rules.size(), 1u);
  const PatternAst& p = rules[0].lhs[0];
  EXPECT_EQ(p.attr("to")->value.kind, Expr::Kind::String);
  EXPECT_EQ(p.attr("to")->value.text, "float\"32");
  EXPECT_EQ(p.attr("alpha")->value.kind, Expr::Kind::Float);
  EXPECT_DOUBLE_EQ(p.attr("alpha")->value.float_value, 1.5e-3);
  EXPECT_DOUBLE_EQ(p.attr("beta")->value.float_value, -2.0);
  EXPECT_EQ(p.attr("n")->value.int_value, 7);
  EXPECT_TRUE(p.attr("e")->value.args.empty());
  EXPECT_EQ(p.attrs[0].name, "to");  // order as written
  EXPECT_EQ(p.attrs[5].name, "e");
  EXPECT_EQ(p.children[0].constant.kind, Expr::Kind::Float);
  EXPECT_DOUBLE_EQ(p.children[0].constant.float_value, -1.25);
  EXPECT_FALSE(p.children[2].parenthesized);
  EXPECT_TRUE(p.children[2].children.empty());
  EXPECT_EQ(p.str(), R"((Cast{to="float\"32", alpha=1.5e-3, beta=-2.0, axes=[1, 2, -1], n=7, e=[]} #c(-1.25) ?x Bare Op{k=1}))");
}

TEST(RuleParser, Precedence) {
  Expr e = guard_of("?x + ?y * 2 == 7 || !const(?x) && ?z < 1");
  ASSERT_EQ(e.kind, Expr::Kind::Binary);
  EXPECT_EQ(e.text, "||");
  EXPECT_EQ(e.args[0].text, "==");
  EXPECT_EQ(e.args[0].args[0].text, "+");
  EXPECT_EQ(e.args[0].args[0].args[1].text, "*");
  EXPECT_EQ(e.args[1].text, "&&");
  EXPECT_EQ(e.args[1].args[0].kind, Expr::Kind::Unary);
  EXPECT_EQ(e.args[1].args[1].text, "<");
  EXPECT_EQ(e.str(), "?x + ?y * 2 == 7 || !const(?x) && ?z < 1");

  // Left associativity, and parentheses kept only where they matter.
  EXPECT_EQ(guard_of("?x - ?y - ?z == 0").str(), "?x - ?y - ?z == 0");
  EXPECT_EQ(guard_of("?x - (?y - ?z) == 0").str(), "?x - (?y - ?z) == 0");
  EXPECT_EQ(guard_of("((?x * ?y)) % 2 == 0").str(), "?x * ?y % 2 == 0");
  EXPECT_EQ(guard_of("(?x + ?y) * 2 != 0").str(), "(?x + ?y) * 2 != 0");
  EXPECT_EQ(guard_of("(const(?x) || const(?y)) && const(?z)").str(), "(const(?x) || const(?y)) && const(?z)");
  EXPECT_EQ(guard_of("!(const(?x) && const(?y))").str(), "!(const(?x) && const(?y))");
  EXPECT_EQ(guard_of("-(?x + 1) >= -1").str(), "-(?x + 1) >= -1");
  EXPECT_EQ(guard_of("- ?x <= 3").str(), "-?x <= 3");
  EXPECT_EQ(guard_of("- 1 == - -2.5").str(), "-1 == -(-2.5)");
  EXPECT_EQ(guard_of("- 1 == - -2.5").args[0].kind, Expr::Kind::Int);

  // Indexing binds tighter than unary minus; `a - -1` keeps its literal.
  Expr idx = guard_of("-shape(?x)[rank(?x) - 1] > ?y - -1");
  EXPECT_EQ(idx.args[0].kind, Expr::Kind::Unary);
  EXPECT_EQ(idx.args[0].args[0].kind, Expr::Kind::Index);
  EXPECT_EQ(idx.args[1].args[1].kind, Expr::Kind::Int);
  EXPECT_EQ(idx.args[1].args[1].int_value, -1);
  EXPECT_EQ(idx.str(), "-shape(?x)[rank(?x) - 1] > ?y - -1");
  EXPECT_EQ(guard_of("numel(?x) / 4 * 4 == numel(?x) && dtype(?y) == \"float\"").str(),
            "numel(?x) / 4 * 4 == numel(?x) && dtype(?y) == \"float\"");
  EXPECT_EQ(guard_of("f() == [?x, [1, 2.5]][0]").str(), "f() == [?x, [1, 2.5]][0]");
}

TEST(RuleParser, CategoryAndHeaders) {
  auto rules = parse_rules("rule a: (X ?x) => ?x\ncategory layout\nrule b: (Y ?x) => ?x\n", "some/dir/cleanup.rules");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].category, "cleanup");  // the file's stem
  EXPECT_EQ(rules[1].category, "layout");
  EXPECT_TRUE(parse_rules("# only a comment\n\n", "e.rules").empty());
  // Rule names may hold letters, digits, '-', '_' and '.'.
  EXPECT_EQ(parse_rules("rule a.b_c-1: (X ?x) => ?x", "n.rules")[0].name, "a.b_c-1");
  // A rule spread over lines, with comments inside.
  auto multi_line = parse_rules("rule s [t]:\n  (Add ?a  # left\n     ?b)\n  =>\n  (Add ?b ?a)  # right\n  if\n  const(?a)\n", "m.rules");
  EXPECT_EQ(multi_line[0].text, "(Add ?a ?b) => (Add ?b ?a)");
  EXPECT_EQ(multi_line[0].guard->str(), "const(?a)");
}

TEST(RuleParser, Errors) {
  // Syntax errors.
  EXPECT_EQ(error_of("rule a (X ?x) => ?x"), "t.rules:1:8: expected ':' after the rule name, found '('");
  EXPECT_EQ(error_of("rule a:\n  (X ?x) -> ?x"), "t.rules:2:10: expected ',', '=>' or '<=>' after a left-hand pattern, found '-'");
  EXPECT_EQ(error_of("rule a:\n  (X ?x => ?x"), "t.rules:2:9: expected a pattern, found '='");
  EXPECT_EQ(error_of("rule a:\n  (X ?x) => (Y ?x"), "t.rules:2:13: unclosed '(' in a pattern");
  EXPECT_EQ(error_of("rule a: (?f ?x) => ?x"), "t.rules:1:10: expected an operator name; a variable cannot be an operator");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x if rank(?x) == "), "t.rules:1:37: expected an expression, found end of file");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x if rank(?x) +"), "t.rules:1:35: expected an expression, found end of file");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x\n  if 1 < rank(?x) < 3"), "t.rules:2:19: comparisons do not chain; join them with '&&'");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x if rank == 2"),
            "t.rules:1:25: expected '(' after function name 'rank' (bare names are not expressions)");
  EXPECT_EQ(error_of("rule a: (X{k=1 ?x) => ?x"), "t.rules:1:16: expected '}' or ',' after an attribute, found '?'");
  EXPECT_EQ(error_of("rule a: (X{k=1, k=2} ?x) => ?x"), "t.rules:1:17: attribute 'k' is given twice");
  EXPECT_EQ(error_of("rule a: (X #c(?y) ?x) => ?x"), "t.rules:1:15: a constant #c(...) on the left-hand side holds one number");
  EXPECT_EQ(error_of("rule a: (X{*=1} ?x) => ?x"),
            "t.rules:1:14: '*' on the left-hand side binds all attributes to a variable: write *=?name");
  EXPECT_EQ(error_of("rule a: (X ?x) => (Y ?x #c(?e))"), "t.rules:1:28: variable ?e on the right-hand side is not bound by the left-hand side");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x (Y ?x)"),
            "t.rules:1:22: expected ',', 'if', 'rule', 'category', 'predicate', 'for' or end of file after rule 'a', found '('");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x if f(\"abc)"), "t.rules:1:27: unterminated string");
  EXPECT_EQ(error_of("rule : (X ?x) => ?x"), "t.rules:1:6: expected a rule name after 'rule', found ':'");
  // Unknown header keywords.
  EXPECT_EQ(error_of("categroy fusion\nrule a: (X ?x) => ?x"), "t.rules:1:1: unknown keyword 'categroy' (expected 'rule', 'category', 'predicate' or 'for')");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x\n\n  import foo"),
            "t.rules:3:3: expected ',', 'if', 'rule', 'category', 'predicate', 'for' or end of file after rule 'a', found 'import'");
  EXPECT_EQ(error_of("(X ?x) => ?x"), "t.rules:1:1: expected 'rule', 'category', 'predicate' or 'for', found '('");
  // Unbound variables.
  EXPECT_EQ(error_of("rule a:\n  (X ?x) => (Y ?x ?z)"), "t.rules:2:19: variable ?z on the right-hand side is not bound by the left-hand side");
  EXPECT_EQ(error_of("rule a: (X ?x) => (Y{k=f(?x, ?q)} ?x)"),
            "t.rules:1:30: variable ?q on the right-hand side is not bound by the left-hand side");
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x\n  if rank(?x) == rank(?y)"),
            "t.rules:2:23: variable ?y in the guard is not bound by the left-hand side");
  EXPECT_EQ(error_of("rule a: (X{k=?p} ?x) => (Y ?p)"),
            "t.rules:1:28: variable ?p is bound to an attribute value and cannot stand for a term");
  EXPECT_EQ(error_of("rule a: (X{k=f(?p)} ?x) => ?x"),
            "t.rules:1:14: attribute 'k' on the left-hand side must be a literal or a variable (it is matched, not computed)");
  // Bidirectional rules must bind on the right every variable of the left.
  EXPECT_EQ(error_of("rule a: (Mul ?x #c(0)) <=> #c(0)"),
            "t.rules:1:14: bidirectional rule 'a': variable ?x is not bound by the right-hand side, so the reverse rule would leave it unbound");
  EXPECT_EQ(error_of("rule a: (T{perm=?p} ?x) <=> (T{perm=inverse(?p)} ?x)"),
            "t.rules:1:37: attribute 'perm' on the right-hand side of a bidirectional rule must be a literal or a variable (it is "
            "matched, not computed)");
  EXPECT_EQ(error_of("rule a: (A ?x), (B ?x) <=> ?x, ?x"),
            "t.rules:1:24: '<=>' is not allowed for a multi-pattern rule; write it with '=>'");
  // Mismatched counts, reported at the arrow.
  EXPECT_EQ(error_of("rule a:\n  (A ?x), (B ?x)\n  => ?x"), "t.rules:3:3: rule 'a' has 2 left-hand patterns but 1 right-hand pattern");
  EXPECT_EQ(error_of("rule a: (A ?x) => ?x, ?x"), "t.rules:1:16: rule 'a' has 1 left-hand pattern but 2 right-hand patterns");
  // Duplicate names, also against the reverse of a bidirectional rule.
  EXPECT_EQ(error_of("rule a: (X ?x) => ?x\nrule b: (Y ?x) => ?x\nrule a: (Z ?x) => ?x"),
            "t.rules:3:6: duplicate rule name 'a' (first defined at line 1)");
  EXPECT_EQ(error_of("rule c: (Add ?a ?b) <=> (Add ?b ?a)\nrule c-rev: (Y ?x) => ?x"),
            "t.rules:2:6: duplicate rule name 'c-rev' (the reverse of bidirectional rule 'c' at line 1)");
  EXPECT_EQ(error_of("rule c-rev: (Y ?x) => ?x\nrule c: (Add ?a ?b) <=> (Add ?b ?a)"),
            "t.rules:2:6: bidirectional rule 'c' needs the name 'c-rev' for its reverse (first defined at line 1)");
}

TEST(RuleParser, BidirectionalExpansion) {
  auto rules = parse_rules(kExample, "fusion.rules");
  auto directed = expand_bidirectional(rules);
  ASSERT_EQ(directed.size(), rules.size() + 1);
  const Rule& fwd = directed[1];
  const Rule& rev = directed[2];
  EXPECT_EQ(fwd.name, "comm-add");
  EXPECT_EQ(rev.name, "comm-add-rev");
  EXPECT_FALSE(fwd.bidirectional);
  EXPECT_FALSE(rev.bidirectional);
  EXPECT_EQ(fwd.text, "(Add ?a ?b) => (Add ?b ?a)");
  EXPECT_EQ(rev.text, "(Add ?b ?a) => (Add ?a ?b)");
  EXPECT_EQ(rev.tags, (std::vector<std::string>{"ac"}));
  EXPECT_EQ(rev.category, "fusion");
  EXPECT_EQ(rev.line, 8);
  EXPECT_EQ(directed[0].name, "fuse-matmul-add");
  EXPECT_EQ(directed[3].name, "transpose-transpose");

  // The guard goes with both directions; attribute variables bind on either side.
  auto g = expand_bidirectional(parse_rules("rule t: (T{perm=?p} ?x) <=> (U{order=?p} ?x) if numel(?x) > 1", "g.rules"));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1].str(), "rule t-rev:\n  (U{order=?p} ?x) => (T{perm=?p} ?x)\n  if numel(?x) > 1\n");
}

TEST(RuleParser, MultiPattern) {
  auto rules = parse_rules(
      "rule m [multi]:\n"
      "  (MatMul ?x ?w1), (MatMul ?x ?w2)\n"
      "  => (Slice{starts=[0]} (MatMul ?x (Concat{axis=1} ?w1 ?w2))), (Slice{starts=dim(?w1, 1)} (MatMul ?x (Concat{axis=1} ?w1 ?w2)))\n"
      "  if const(?w1) && const(?w2) && dim(?w1, 0) == dim(?w2, 0)\n",
      "f.rules");
  ASSERT_EQ(rules.size(), 1u);
  const Rule& m = rules[0];
  EXPECT_TRUE(m.is_multi());
  EXPECT_TRUE(m.has_tag("multi"));
  EXPECT_EQ(m.lhs[1].str(), "(MatMul ?x ?w2)");
  EXPECT_EQ(m.rhs[1].attr("starts")->value.str(), "dim(?w1, 1)");
  EXPECT_EQ(m.text.substr(0, 38), "(MatMul ?x ?w1), (MatMul ?x ?w2) => (S");
  // Variables are shared: the second right side may use what only the first left side binds.
  EXPECT_NO_THROW(parse_rules("rule m2: (A ?x), (B ?y) => (C ?y), (D ?x)", "f.rules"));
  EXPECT_EQ(error_of("rule m3: (A ?x), (B ?y) => (C ?y), (D ?z)"),
            "t.rules:1:39: variable ?z on the right-hand side is not bound by the left-hand side");
}

TEST(RuleParser, Files) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("eqopt_rules_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto write = [&](const char* name, const char* text) { std::ofstream(dir / name) << text; };
  write("b.rules", "rule b1: (X ?x) => ?x\n");
  write("a.rules", "category algebraic\nrule a1: (Y ?x) => ?x\nrule a2: (Add ?a ?b) <=> (Add ?b ?a)\n");
  write("notes.txt", "rule ignored: (Z ?x) => ?x\n");
  auto rules = load_rule_dir(dir.string());
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].name, "a1");
  EXPECT_EQ(rules[0].category, "algebraic");
  EXPECT_EQ(rules[2].name, "b1");
  EXPECT_EQ(rules[2].category, "b");
  EXPECT_EQ(rules[2].file, (dir / "b.rules").string());
  EXPECT_EQ(load_rule_file((dir / "b.rules").string()).size(), 1u);

  write("c.rules", "\n rule a2-rev: (Q ?x) => ?x\n");
  try {
    load_rule_dir(dir.string());
    ADD_FAILURE() << "expected a duplicate-name error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "c.rules").string() + ":2:2: duplicate rule name 'a2-rev' (first defined at " +
                                         (dir / "a.rules").string() + ":3)");
  }
  EXPECT_THROW(load_rule_file((dir / "missing.rules").string()), Error);
  EXPECT_THROW(load_rule_dir((dir / "missing").string()), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace eqopt::rules
