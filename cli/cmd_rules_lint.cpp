// eqopt rules lint: checks rule files for problems the parser does not refuse (verify/lint.h).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "verify/lint.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt rules lint [FILE|DIR]... [--json] [--werror] [--no-instances]

Checks rule files (default: the rule database, ruledb/) and prints one line per problem,
"FILE:LINE:COL: error|warning: [RULE] message", then "N errors, N warnings in N rules". Each file
is parsed on its own, so a syntax error in one file does not hide the others' messages.

Errors: parse errors; guards and attribute expressions calling a function the rule compiler does
not know, or with a wrong number of arguments; operators the op registry does not know (eqopt's
own ops are written eqopt.Name); attribute names no ONNX opset of the operator has; input counts
outside the operator's arity; a rule name defined in two files; a rule whose right side never
infers to the left side's dtype and shape on any instance the search finds.
Warnings: rules with no instance at all (the guard never holds within ranks <= 4 and dims <= 3);
duplicates up to renaming of variables; separately written rules that undo each other (write one
`<=>` rule instead); a left side that is a bare variable; identical sides.

  --json           print {"messages": [...], "errors", "warnings", "rules", "files"} as JSON
  --werror         exit 1 on warnings too
  --no-instances   skip the instance search (the slowest check)

Exit code 0 when there is no error (and, with --werror, no warning), 1 otherwise, 2 for bad usage.
)";

}  // namespace

int cmd_rules_lint(const std::vector<std::string>& argv) {
  Args args("rules lint", argv, {{"help"}, {"json"}, {"werror"}, {"no-instances"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  std::vector<std::string> paths = args.positional();
  if (paths.empty()) paths.push_back(EQOPT_RULEDB_DIR);
  verify::LintOptions options;
  options.instances = !args.flag("no-instances");
  const verify::LintReport report = verify::lint_rules(paths, options);

  if (args.flag("json")) {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    for (const verify::LintMessage& m : report.messages)
      messages.push_back({{"severity", m.severity == verify::LintMessage::Severity::Error ? "error" : "warning"},
                          {"file", m.file},
                          {"line", m.line},
                          {"column", m.column},
                          {"rule", m.rule},
                          {"message", m.message}});
    nlohmann::ordered_json j;
    j["messages"] = std::move(messages);
    j["errors"] = report.errors();
    j["warnings"] = report.warnings();
    j["rules"] = report.rules;
    j["files"] = report.files;
    std::cout << j.dump(2) << "\n";
  } else {
    for (const verify::LintMessage& m : report.messages) std::cout << m.str() << "\n";
    std::cout << report.errors() << " errors, " << report.warnings() << " warnings in " << report.rules << " rules\n";
  }
  return report.errors() > 0 || (args.flag("werror") && report.warnings() > 0) ? 1 : 0;
}

}  // namespace eqopt::cli
