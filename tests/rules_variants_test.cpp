// The rule language's shorthands (rules/variants.h, docs/rule-language.md "Predicates", "Variants",
// "Families"): predicates substituted into guards and right sides, a rule's two forms (`?b?`,
// `?b+`, `Op+`, `(if ?b A B)`), operand orders (`Op*`), `for $op in ...` blocks, the generated
// names and order, and every misuse as a one-line FILE:LINE:COLUMN error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules/parser.h"
#include "support/error.h"
#include "tests/test_util.h"

namespace eqopt::rules {
namespace {

std::string error_of(const std::string& text) { return test::rule_parse_error(text); }

// Each text, parsed as "t.rules", fails with exactly that one-line error.
struct BadText {
  std::string text, error;
};
void expect_errors(const std::vector<BadText>& cases) {
  for (const BadText& c : cases) EXPECT_EQ(error_of(c.text), c.error) << c.text;
}

std::vector<std::string> names(const std::vector<Rule>& rules) {
  std::vector<std::string> out;
  for (const Rule& r : rules) out.push_back(r.name);
  return out;
}

// Every rule prints back to text that parses to the same rule.
void expect_round_trip(const std::vector<Rule>& rules) {
  for (const Rule& r : rules) {
    const auto again = parse_rules(r.str(), "again.rules");
    ASSERT_EQ(again.size(), 1u) << r.str();
    EXPECT_EQ(again[0].str(), r.str());
  }
}

TEST(RulePredicates, SubstituteArgumentsIntoGuards) {
  const auto rules = parse_rules(
      "predicate per_channel(?s, ?m): numel(?s) == 1 || shape(?s) == [?m, 1, 1]\n"
      "rule f: (Mul (Conv ?x ?w) ?s) => ?x\n"
      "  if rank(?w) == 4 && per_channel(?s, dim(?w, 0))\n",
      "p.rules");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].guard->str(), "rank(?w) == 4 && (numel(?s) == 1 || shape(?s) == [dim(?w, 0), 1, 1])");
  // The argument keeps its position in the rule; the body its position in the predicate.
  const Expr& disj = rules[0].guard->args[1];
  EXPECT_EQ(disj.args[1].args[1].args[0].str(), "dim(?w, 0)");
  EXPECT_EQ(disj.args[1].args[1].args[0].line, 3);
  EXPECT_EQ(disj.args[0].line, 1);
  expect_round_trip(rules);
}

TEST(RulePredicates, ConjunctionsJoinTheChain) {
  // `a && p(?y)` with p = `b && c` is the chain a && b && c, exactly as if written out.
  const auto rules = parse_rules(
      "predicate scalar_const(?a): const(?a) && numel(?a) == 1\n"
      "rule r: (F ?x ?y) => ?x if weight(?x) && scalar_const(?y)\n"
      "rule s: (F ?x ?y) => ?x if weight(?x) && const(?y) && numel(?y) == 1\n",
      "p.rules");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].guard->str(), "weight(?x) && const(?y) && numel(?y) == 1");
  EXPECT_EQ(rules[0].guard->args[0].str(), rules[1].guard->args[0].str());
  EXPECT_EQ(rules[0].guard->args[1].str(), rules[1].guard->args[1].str());
  // An explicitly parenthesised conjunction written by hand is left as it is.
  const auto hand = parse_rules("rule h: (F ?x ?y) => ?x if weight(?x) && (const(?y) && numel(?y) == 1)", "p.rules");
  EXPECT_EQ(hand[0].guard->str(), "weight(?x) && (const(?y) && numel(?y) == 1)");
}

TEST(RulePredicates, UseBeforeDefinitionNestingRootAndRightSides) {
  const auto rules = parse_rules(
      "rule r: (Softmax{axis=?ax} ?x) => (Softmax{axis=last(?x)} ?x) if last_axis(?ax)\n"
      "predicate last_axis(?a): ?a == -1 || ?a == last(?root)\n"
      "predicate last(?t): rank(?t) - 1\n"
      "predicate pads(?k): attr(?k, \"pads\", [0, 0, 0, 0])\n"
      "rule q: (Conv{*=?k} ?x ?w) => (Pad ?x #c([pads(?k)[0], 0])) if pads(?k)[1] >= 0\n",
      "p.rules");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].guard->str(), "?ax == -1 || ?ax == rank(?root) - 1");
  EXPECT_EQ(rules[0].rhs[0].attr("axis")->value.str(), "rank(?x) - 1");
  EXPECT_EQ(rules[1].rhs[0].children[1].str(), "#c([attr(?k, \"pads\", [0, 0, 0, 0])[0], 0])");
  EXPECT_EQ(rules[1].guard->str(), "attr(?k, \"pads\", [0, 0, 0, 0])[1] >= 0");
  // A predicate is the file's own: another file does not see it (there it is an unknown function,
  // which the linter and the compiler report).
  EXPECT_EQ(parse_rules("rule z: (F ?x) => ?x if last_axis(?x)", "other.rules")[0].guard->str(), "last_axis(?x)");
}

TEST(RulePredicates, Errors) {
  expect_errors({
      {"predicate p(?a): const(?a)\nrule r: (F ?x) => ?x if p(?x, ?x)", "t.rules:2:25: predicate 'p' takes 1 argument, given 2"},
      {"predicate p(?a, ?b): ?a == ?b\nrule r: (F ?x) => ?x if p(?x)", "t.rules:2:25: predicate 'p' takes 2 arguments, given 1"},
      {"predicate p(?a): p(?a)\nrule r: (F ?x) => ?x if p(?x)",
       "t.rules:1:18: predicate 'p' calls itself (p -> p); predicates cannot be recursive"},
      {"predicate p(?a): q(?a)\npredicate q(?a): const(?a) && p(?a)\nrule r: (F ?x) => ?x if p(?x)",
       "t.rules:2:31: predicate 'p' calls itself (p -> q -> p); predicates cannot be recursive"},
      {"predicate p(?a): const(?a)\npredicate p(?b): weight(?b)",
       "t.rules:2:11: predicate 'p' is defined twice (first at line 1)"},
      {"predicate rank(?a): const(?a)", "t.rules:1:11: predicate 'rank' would hide the guard function of that name"},
      {"predicate p(?a): const(?b)", "t.rules:1:24: variable ?b in predicate 'p' is not one of its parameters"},
      {"predicate p(?a, ?a): const(?a)", "t.rules:1:17: parameter ?a is given twice"},
      {"predicate p(?root): const(?root)", "t.rules:1:13: ?root is the matched value; it cannot be a parameter"},
      {"predicate p(x): const(x)", "t.rules:1:13: expected a parameter (a variable such as ?x), found 'x'"},
      {"predicate p(?a) const(?a)", "t.rules:1:17: expected ':' after the parameters of predicate 'p', found 'const'"},
      {"predicate p(?a): const(?a) (F ?a)",
       "t.rules:1:28: expected 'rule', 'category', 'predicate', 'for' or end of file after predicate 'p', found '('"},
  });
}

TEST(RuleVariants, OptionalOperandGivesTwoForms) {
  const auto rules = parse_rules(
      "rule conv-relu-fused / conv-nobias-relu-fused [cpu]:\n"
      "  (Relu (Conv{*=?k} ?x ?w ?b?)) => (FusedConv{*=?k} ?x ?w ?b)\n"
      "  if rank(?w) == 4 && weight(?b) && weight(?w)\n",
      "f.rules");
  ASSERT_EQ(names(rules), (std::vector<std::string>{"conv-relu-fused", "conv-nobias-relu-fused"}));
  EXPECT_EQ(rules[0].patterns_str(), "(Relu (Conv{*=?k} ?x ?w ?b)) => (FusedConv{*=?k} ?x ?w ?b)");
  EXPECT_EQ(rules[0].guard->str(), "rank(?w) == 4 && weight(?b) && weight(?w)");
  EXPECT_EQ(rules[1].patterns_str(), "(Relu (Conv{*=?k} ?x ?w)) => (FusedConv{*=?k} ?x ?w)");
  // The second form's guard drops the conditions on the bias alone, and stays a left chain.
  EXPECT_EQ(rules[1].guard->str(), "rank(?w) == 4 && weight(?w)");
  EXPECT_EQ(rules[1].guard->args[0].str(), "rank(?w) == 4");
  for (const Rule& r : rules) {
    EXPECT_EQ(r.line, 1);
    EXPECT_EQ(r.tags, (std::vector<std::string>{"cpu"}));
    EXPECT_EQ(r.text, r.patterns_str());
  }
  expect_round_trip(rules);
  // A guard only about the bias disappears.
  const auto only = parse_rules("rule a / b: (F ?x ?b?) => (G ?x ?b) if weight(?b)", "f.rules");
  EXPECT_FALSE(only[1].guard.has_value());
}

TEST(RuleVariants, ChoicesOnTheRightSide) {
  const auto rules = parse_rules(
      "rule add-fold / nobias-add-fold:\n"
      "  (Add (Conv ?x ?w ?b?) ?d)\n"
      "  => (Conv ?x ?w (if ?b (Add ?b ?d) (Expand ?d #c([dim(?w, 0)]))))\n"
      "rule mul-fold / nobias-mul-fold:\n"
      "  (Mul (Conv ?x ?w ?b?) ?s) => (Conv ?x (Mul ?w ?s) (if ?b (Mul ?b ?s)))\n"
      "rule residual / nobias-residual:\n"
      "  (Add (Conv ?x ?w ?b?) ?z) => (FusedConv ?x ?w (if ?b ?b #c(0.0)) ?z)\n",
      "f.rules");
  ASSERT_EQ(rules.size(), 6u);
  EXPECT_EQ(rules[0].rhs[0].str(), "(Conv ?x ?w (Add ?b ?d))");
  EXPECT_EQ(rules[1].rhs[0].str(), "(Conv ?x ?w (Expand ?d #c([dim(?w, 0)])))");
  EXPECT_EQ(rules[2].rhs[0].str(), "(Conv ?x (Mul ?w ?s) (Mul ?b ?s))");
  EXPECT_EQ(rules[3].rhs[0].str(), "(Conv ?x (Mul ?w ?s))");  // `(if ?b A)`: no operand without ?b
  EXPECT_EQ(rules[5].rhs[0].str(), "(FusedConv ?x ?w #c(0.0) ?z)");
  expect_round_trip(rules);
}

TEST(RuleVariants, PartsOfTheSecondFormAndWrappers) {
  // `+` marks what only the second form has: an operand, or an operator around one operand.
  const auto rules = parse_rules(
      "rule merge / merge-bias [multi]:\n"
      "  (Conv ?x ?w1 ?b1+), (Conv ?x ?w2 ?b2+)\n"
      "  => (Slice (Conv ?x (Concat ?w1 ?w2) (if ?b1 (Concat ?b1 ?b2)))), (Slice (Conv ?x (Concat ?w1 ?w2) (if ?b1 (Concat ?b1 "
      "?b2))))\n"
      "  if ?w1 != ?w2 && weight(?b1) && weight(?b2)\n"
      "rule s031 / s032 [tensat]:\n"
      "  (Concat (Relu+ (Conv ?a ?b)) (Relu+ (Conv ?c ?b))) => (Relu+ (Conv (Concat ?a ?c) ?b))\n",
      "f.rules");
  ASSERT_EQ(names(rules), (std::vector<std::string>{"merge", "merge-bias", "s031", "s032"}));
  EXPECT_EQ(rules[0].patterns_str(),
            "(Conv ?x ?w1), (Conv ?x ?w2) => (Slice (Conv ?x (Concat ?w1 ?w2))), (Slice (Conv ?x (Concat ?w1 ?w2)))");
  EXPECT_EQ(rules[0].guard->str(), "?w1 != ?w2");
  EXPECT_EQ(rules[1].lhs[1].str(), "(Conv ?x ?w2 ?b2)");
  EXPECT_EQ(rules[1].guard->str(), "?w1 != ?w2 && weight(?b1) && weight(?b2)");
  EXPECT_EQ(rules[2].patterns_str(), "(Concat (Conv ?a ?b) (Conv ?c ?b)) => (Conv (Concat ?a ?c) ?b)");
  EXPECT_EQ(rules[3].patterns_str(), "(Concat (Relu (Conv ?a ?b)) (Relu (Conv ?c ?b))) => (Relu (Conv (Concat ?a ?c) ?b))");
  expect_round_trip(rules);
}

TEST(RuleVariants, OperandOrders) {
  const auto rules = parse_rules(
      "rule mish: (Mul* ?x (Tanh (Softplus ?x))) => (Mish ?x)\n"
      "rule residual / nobias-residual: (Add* (Conv ?x ?w ?b?) ?z) => (FusedConv ?x ?w (if ?b ?b #c(0.0)) ?z)\n"
      "rule two: (Add* (Mul* ?a ?b) ?c) => (F ?a ?b ?c)\n",
      "f.rules");
  ASSERT_EQ(names(rules),
            (std::vector<std::string>{"mish", "mish-swapped", "residual", "residual-swapped", "nobias-residual",
                                      "nobias-residual-swapped", "two", "two-swapped-1", "two-swapped-2", "two-swapped-1-2"}));
  EXPECT_EQ(rules[0].lhs[0].str(), "(Mul ?x (Tanh (Softplus ?x)))");
  EXPECT_EQ(rules[1].lhs[0].str(), "(Mul (Tanh (Softplus ?x)) ?x)");
  EXPECT_EQ(rules[1].rhs[0].str(), "(Mish ?x)");
  EXPECT_EQ(rules[5].lhs[0].str(), "(Add ?z (Conv ?x ?w))");
  EXPECT_EQ(rules[5].rhs[0].str(), "(FusedConv ?x ?w #c(0.0) ?z)");
  EXPECT_EQ(rules[7].lhs[0].str(), "(Add ?c (Mul ?a ?b))");
  EXPECT_EQ(rules[8].lhs[0].str(), "(Add (Mul ?b ?a) ?c)");
  EXPECT_EQ(rules[9].lhs[0].str(), "(Add ?c (Mul ?b ?a))");
  expect_round_trip(rules);
}

TEST(RuleVariants, BidirectionalForms) {
  const auto rules = expand_bidirectional(parse_rules(
      "rule conv-nhwc / conv-nobias-nhwc:\n"
      "  (Conv{*=?k} (Transpose{perm=[0, 3, 1, 2]} ?y) ?w ?b?) <=> (Transpose{perm=[0, 3, 1, 2]} (ConvNHWC{*=?k} ?y ?w ?b))\n",
      "l.rules"));
  ASSERT_EQ(names(rules), (std::vector<std::string>{"conv-nhwc", "conv-nhwc-rev", "conv-nobias-nhwc", "conv-nobias-nhwc-rev"}));
  EXPECT_EQ(rules[3].patterns_str(),
            "(Transpose{perm=[0, 3, 1, 2]} (ConvNHWC{*=?k} ?y ?w)) => (Conv{*=?k} (Transpose{perm=[0, 3, 1, 2]} ?y) ?w)");
}

TEST(RuleVariants, ForBlocks) {
  const auto rules = parse_rules(
      "for $op in Relu, LeakyRelu, eqopt.Swish {\n"
      "  rule conv-$op-fused / conv-nobias-$op-fused:\n"
      "    ($op (Conv ?x ?w ?b?)) => (FusedConv{activation=$op} ?x ?w ?b)\n"
      "  rule $op-twice: ($op ($op ?x)) => ($op ?x)\n"
      "}\n"
      "rule after: (F ?x) => ?x\n",
      "f.rules");
  ASSERT_EQ(names(rules),
            (std::vector<std::string>{"conv-relu-fused", "conv-nobias-relu-fused", "relu-twice", "conv-leakyrelu-fused",
                                      "conv-nobias-leakyrelu-fused", "leakyrelu-twice", "conv-eqopt.swish-fused",
                                      "conv-nobias-eqopt.swish-fused", "eqopt.swish-twice", "after"}));
  EXPECT_EQ(rules[3].patterns_str(), "(LeakyRelu (Conv ?x ?w ?b)) => (FusedConv{activation=\"LeakyRelu\"} ?x ?w ?b)");
  EXPECT_EQ(rules[8].patterns_str(), "(eqopt.Swish (eqopt.Swish ?x)) => (eqopt.Swish ?x)");
  EXPECT_EQ(rules[5].text, rules[5].patterns_str());
  EXPECT_EQ(rules[5].line, 4);
  EXPECT_EQ(rules[9].text, "(F ?x) => ?x");
  expect_round_trip(rules);
}

TEST(RuleVariants, ForBlockErrors) {
  expect_errors({
      {"rule $op-x: (F ?x) => ?x", "t.rules:1:6: $op is only defined inside a 'for' block"},
      {"for $op in A, B {\n  rule $p-x: (F ?x) => ?x\n}", "t.rules:2:8: unknown $p (the enclosing 'for' block defines $op)"},
      {"for $op in A, B {\n  rule x: ($op ?x) => ?x\n}",
       "t.rules:2:8: rule 'x' is in a 'for' block: its name must use $op (one rule per value)"},
      {"for $op in A, B {\n  for $q in C { }\n}", "t.rules:2:3: expected 'rule' or '}' in a 'for' block, found 'for'"},
      {"for $op in A {\n}", "t.rules:1:1: empty 'for' block"},
      {"for $op in A {\n  rule $op-x: (F ?x) => ?x\n", "t.rules:1:1: unclosed 'for' block (expected '}')"},
      {"for $op in A, B, A { rule $op-x: ($op ?x) => ?x }", "t.rules:1:18: 'A' is listed twice"},
      {"for op in A { }", "t.rules:1:5: expected a variable such as $op after 'for', found 'op'"},
      {"for $op A { }", "t.rules:1:9: expected 'in' after 'for $op', found 'A'"},
      {"for $op in A {\n  predicate p(?x): const(?x)\n}",
       "t.rules:2:3: expected 'rule' or '}' in a 'for' block, found 'predicate'"},
      // A block whose values give one name twice.
      {"for $op in Ab, AB { rule $op-x: ($op ?x) => ?x }", "t.rules:1:26: duplicate rule name 'ab-x' (first defined at line 1)"},
  });
}

TEST(RuleVariants, Errors) {
  expect_errors({
      // Names of the two forms.
      {"rule a: (F ?x ?b?) => (G ?x ?b)",
       "t.rules:1:1: rule 'a' has parts marked ? or +, so it has two forms: name both, `rule a / NAME2`"},
      {"rule a / b: (F ?x ?b) => (G ?x ?b)", "t.rules:1:10: rule 'a' names a second form 'b' but marks no part with ? or +"},
      {"rule a / : (F ?x ?b?) => ?x", "t.rules:1:10: expected the name of the rule's second form after '/', found ':'"},
      {"rule a / a: (F ?x ?b?) => ?x", "t.rules:1:10: duplicate rule name 'a' (first defined at line 1)"},
      // Where marks may stand.
      {"rule a / b: (F ?x ?b? ?c) => (G ?x ?c)",
       "t.rules:1:23: operands marked ? or + come last: ?c follows one that the other form drops"},
      {"rule a / b: ?x? => ?x", "t.rules:1:13: only an operand can be marked ?: ?x? is a whole side"},
      {"rule a / b: (F (G ?b?) ?b?) => ?b", "t.rules:1:24: variable ?b is marked twice"},
      {"rule a / b: (F ?b? (G ?c)) => ?c",
       "t.rules:1:20: operands marked ? or + come last: (G ?c) follows one that the other form drops"},
      {"rule a / b: (F (G ?b) ?b?) => ?b",
       "t.rules:1:19: variable ?b is a marked operand; it cannot appear elsewhere on the left-hand side"},
      {"rule a / b: (F ?x ?b?) => (G ?x ?b?)",
       "t.rules:1:33: mark operands on the left-hand side only; the right-hand side drops every operand that uses them"},
      {"rule a / b: (F+ ?x ?y) => ?x",
       "t.rules:1:13: 'F+' is dropped in one form and its operand kept: it needs one operand, not 2"},
      {"rule a / b: (F+{k=?k} ?x) => ?x", "t.rules:1:17: 'F+' is in one form only: its attributes cannot bind variables"},
      {"rule a: (F* ?x) => ?x", "t.rules:1:9: 'F*' marks the order of two operands; it has 1"},
      {"rule a: (F* ?x ?x) => ?x", "t.rules:1:9: 'F*': its operands are the same, so swapping them gives the same rule"},
      {"rule a: (F* ?x ?y) <=> (F ?y ?x)", "t.rules:1:9: operand orders ('*') are for rules written with '=>', not '<=>'"},
      {"rule a: (F ?x ?y) => (G* ?x ?y)", "t.rules:1:22: '*' marks operand orders on the left-hand side only"},
      {"rule a / b: (F ?x (if ?b ?x)) => ?x",
       "t.rules:1:19: (if ?b ...) chooses what to build: it belongs on the right-hand side"},
      {"rule a / b: (F ?x ?b?) => (G (if ?c ?x ?b))", "t.rules:1:30: (if ?c ...) needs ?c marked on the left (?c? or ?c+)"},
      {"rule a / b: (F ?x ?b?) => (G ?x (if ?b ?b (H ?b)))",
       "t.rules:1:43: (if ?b A B) builds B where ?b is absent: B cannot use it"},
      {"rule a / b: (F ?x ?b?) <=> (G ?x (if ?b ?b))",
       "t.rules:1:34: (if ?b ...) cannot be matched: not in a rule written with '<=>'"},
      // A right side that cannot do without the absent variable.
      {"rule a / b: (F ?x ?b?) => (G (Mul ?b ?x))",
       "t.rules:1:38: the form without ?b leaves out an operand of Mul before this one; only trailing operands can be left out"},
      {"rule a / b: (F ?x ?b?) => (G ?x (Neg ?b))", "t.rules:1:33: the form without ?b leaves Neg no operand"},
      {"rule a / b: (F ?x ?b?) => (G{n=dim(?b, 0)} ?x)",
       "t.rules:1:30: attribute 'n' uses ?b, which form 'b' lacks: choose what to build with (if ?v A B), or (if ?v A) for an "
       "operand left out without ?v"},
      {"rule a / b: (F ?x ?b?) => ?b", "t.rules:1:27: the right-hand side is ?b, which form 'b' lacks"},
      {"rule a / b: (F ?x ?b?) => (if ?b ?b)", "t.rules:1:27: form 'b' leaves out the whole right-hand side"},
      // A guard condition that mixes the absent variable with others.
      {"rule a / b: (F ?x ?b?) => (G ?x ?b) if rank(?x) == 2 && dim(?b, 0) == dim(?x, 1)",
       "t.rules:1:57: the guard's condition `dim(?b, 0) == dim(?x, 1)` uses ?b, which form 'b' lacks, and ?x: a condition that "
       "the form drops may use only the variables it lacks"},
  });
}

}  // namespace
}  // namespace eqopt::rules
