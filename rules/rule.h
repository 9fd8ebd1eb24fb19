// Rule objects of eqopt's rule language (docs/rule-language.md): guard expressions, patterns with
// attributes, and rules, each printable back to text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace eqopt::rules {

// An expression of the guard language; also the value of an attribute in a pattern.
struct Expr {
  enum class Kind {
    Int,     // value: int_value; text: the literal as written ("-1", "0x10" is not accepted)
    Float,   // value: float_value; text: the literal as written ("1.0", "-2.5e-3")
    String,  // text: the decoded string (printed back quoted and escaped)
    List,    // args: the elements, `[a, b, c]`
    Var,     // text: the name with its '?', `?x`
    Call,    // text: the function name; args: the arguments, `f(a, b)`
    Index,   // args: {base, index}, `e[i]`
    Unary,   // text: "!" or "-"; args: {operand}
    Binary,  // text: the operator ("*", "/", "%", "+", "-", "==", "!=", "<", "<=", ">", ">=", "&&", "||"); args: {lhs, rhs}
  };
  Kind kind = Kind::Int;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  std::vector<Expr> args;
  int line = 0, column = 0;  // where it starts in its file (1-based)

  bool is_var() const { return kind == Kind::Var; }
  // A literal, or a list whose elements are all literals (a value known without a match).
  bool is_literal() const;
  // The expression as text with the fewest parentheses that keep its meaning.
  std::string str() const;
  // Binding strength of a Binary operator: 1 `||`, 2 `&&`, 3 comparisons, 4 `+ -`, 5 `* / %`.
  static int precedence(const std::string& binary_op);
};

// Every variable an expression mentions, in order of first appearance.
void collect_vars(const Expr& e, std::vector<std::string>& out);

struct Attr {
  std::string name;
  Expr value;
  int line = 0, column = 0;
};

// A pattern: an operator applied to children, a variable, or a scalar constant `#c(1.0)`.
struct PatternAst {
  enum class Kind {
    Op,      // name: the operator; attrs; children. `(Op{a=1} x y)`, or bare `Op` / `Op{...}` (no children)
    Var,     // name: the variable with its '?'
    Const,   // constant: the literal (Int or Float); written `#c(VALUE)`
    Choice,  // name: a marked operand variable; children: {with it[, without it]}. `(if ?b A B)`, `(if ?b A)`
  };
  // Which of a rule's two forms (`rule NAME / NAME2`) a marked part belongs to: an operand `?b?` or
  // a one-operand operator `Op?` is only in the first, `?b+` / `Op+` only in the second.
  enum class Form { Both, First, Second };
  Kind kind = Kind::Op;
  std::string name;
  std::vector<Attr> attrs;  // as written, in order
  std::vector<PatternAst> children;
  bool parenthesized = false;  // Op written in parentheses (`(Op)` vs bare `Op`)
  Expr constant;               // Const only
  // Variant markers (docs/rule-language.md, "Variants"). The parser expands them: no rule that
  // parse_rules returns holds one.
  Form form = Form::Both;
  bool swap = false;  // `Op*`: the rule also stands with the two operands of this operator swapped
  int line = 0, column = 0;

  bool is_var() const { return kind == Kind::Var; }
  const Attr* attr(const std::string& n) const;
  std::string str() const;
};

struct Rule {
  std::string name, category;
  std::vector<std::string> tags;
  std::vector<PatternAst> lhs, rhs;  // same count; more than one: a multi-pattern rule
  std::optional<Expr> guard;
  bool bidirectional = false;
  std::string file;
  int line = 0, column = 0;  // of the `rule` keyword
  std::string text;          // `lhs => rhs` as written, comments dropped and whitespace runs made one space

  bool is_multi() const { return lhs.size() > 1; }
  bool has_tag(const std::string& t) const;
  // The rule in the file syntax: `rule NAME [tags]:` then the patterns and guard, indented.
  std::string str() const;
  // The patterns alone, `lhs => rhs` (`<=>` for a bidirectional rule), as str() prints them.
  std::string patterns_str() const;
};

}  // namespace eqopt::rules
