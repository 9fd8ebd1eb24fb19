// The rule language's shorthands (docs/rule-language.md, "Predicates" and "Variants"), expanded
// for the parser: named predicates substituted into expressions, and rules written with marked
// parts (`?b?`, `?b+`, `Op?`, `Op+`, `Op*`, `(if ?b A B)`) turned into the plain rules they stand
// for. Whatever reads parse_rules' output sees ordinary rules and guards. Every error is an
// eqopt::Error of one line, "FILE:LINE:COLUMN: message".
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rules/rule.h"

namespace eqopt::rules {

// `predicate NAME(?a, ?b): EXPR`, a named expression that any expression of the same file may call.
struct Predicate {
  std::string name;
  std::vector<std::string> params;  // the parameters, with their '?'
  Expr body;
  int line = 0, column = 0;  // of the name
};

// The predicates of one file.
class Predicates {
 public:
  explicit Predicates(std::string file) : file_(std::move(file)) {}
  const Predicate* find(const std::string& name) const;
  // The parser checks the name, the parameters and the body's variables before.
  void define(Predicate p);
  bool empty() const { return table_.empty(); }
  // e with every call of a predicate replaced by its body, the parameters replaced by the call's
  // arguments. A predicate called as the right operand of `&&` (or `||`) whose body is a chain of
  // the same operator joins the chain on the left, so `a && p(?x)` with p = `b && c` reads as
  // `a && b && c` (the same value, evaluated in the same order). Throws for a wrong argument count
  // and for a predicate that calls itself, directly or through others.
  Expr expand(const Expr& e) const;
  // The guard, and the computed expressions (attribute values, `#c(...)`) of the right sides.
  void expand(Rule& r) const;

 private:
  Expr expand(const Expr& e, std::vector<std::string>& calling) const;
  PatternAst expand(const PatternAst& p) const;

  std::string file_;
  std::map<std::string, Predicate> table_;
};

// Where the header `rule NAME / SECOND` names a rule's second form (empty name: not named).
struct SecondName {
  std::string name;
  int line = 0, column = 0;
};

// The rules that r, written with marked parts, stands for, in this order: its first form (r.name;
// without the parts marked `+`), then its operand-order variants (NAME-swapped, one per operator
// marked `*`, or NAME-swapped-1, -2, -1-2, ... for several), then likewise its second form
// (second.name; without the parts marked `?`). A rule without marks comes back as it is.
std::vector<Rule> expand_variants(const Rule& r, const SecondName& second);

}  // namespace eqopt::rules
