// The rule linter (`eqopt rules lint`): problems a rule file can have beyond what the parser
// refuses. Each file is parsed on its own, so one file's syntax error does not hide the others'
// messages. Errors: parse errors, guard or attribute expressions calling a function the compiler
// does not know or with a wrong argument count, operators the op registry does not know, attribute
// names the operator's ONNX schema (any opset version) does not have, input counts outside the
// operator's arity, rule names defined twice, and rules whose right side never keeps the left
// side's dtype and shape on any instance the search finds. Warnings: rules with no instance at all,
// duplicates up to renaming of variables, separately written rules that undo each other, left
// sides that are a bare variable, and rules whose two sides are identical.
#pragma once
#include <string>
#include <vector>

#include "rules/rule.h"
#include "verify/instance.h"

namespace eqopt::verify {

struct LintMessage {
  enum class Severity { Error, Warning } severity = Severity::Error;
  std::string file;
  int line = 0, column = 0;
  std::string rule;  // the (directed) rule's name; empty for a file-level problem (a parse error)
  std::string message;
  // "FILE:LINE:COL: error: [RULE] message" ("[RULE] " left out when there is no rule).
  std::string str() const;
};

struct LintOptions {
  // Search instances of every rule (verify/instance.h) to find rules that cannot keep types
  // consistent; the slowest check (a fraction of a second per rule), so it can be turned off.
  bool instances = true;
  InstanceLimits limits{4, 3, 1, 4000, 0.5, false};  // existence is enough: one instance, a short search
};

struct LintReport {
  std::vector<LintMessage> messages;  // sorted by file, line, column
  size_t files = 0;
  size_t rules = 0;  // directed rules (a bidirectional rule counts twice) in the files that parsed
  size_t errors() const;
  size_t warnings() const;
};

// The *.rules files the paths name: a directory gives the *.rules files directly in it, sorted; a
// file is taken as it is. Throws Error for a path that does not exist or a directory without rules.
std::vector<std::string> rule_files(const std::vector<std::string>& paths);

// Every rule of those files, in order (load_rule_file each); rule names must be unique across them.
std::vector<rules::Rule> load_rules(const std::vector<std::string>& paths);

// Lints the files the paths name (see rule_files). Never throws for a problem in a rule file; those
// are messages.
LintReport lint_rules(const std::vector<std::string>& paths, const LintOptions& options = {});

// Lints rule text as if read from `file_name` (for tests and editors).
LintReport lint_text(const std::string& text, const std::string& file_name, const LintOptions& options = {});

}  // namespace eqopt::verify
