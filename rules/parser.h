// Parser of eqopt's rule language (docs/rule-language.md). Every problem is an eqopt::Error of one
// line, "FILE:LINE:COLUMN: message".
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule.h"

namespace eqopt::rules {

// Parses the text of one rule file; file_name names it in errors and gives the default category
// (its stem: "ruledb/fusion.rules" -> "fusion"). Rules come back in file order; bidirectional rules
// stay one Rule (see expand_bidirectional).
std::vector<Rule> parse_rules(std::string_view text, const std::string& file_name);

// Reads and parses one file.
std::vector<Rule> load_rule_file(const std::string& path);

// Every *.rules file directly in dir, in sorted file-name order, concatenated. Rule names must be
// unique across the directory too.
std::vector<Rule> load_rule_dir(const std::string& dir);

// Each bidirectional rule becomes two directed rules: NAME (left => right) and NAME-rev
// (right => left), both with the same guard, tags and position; directed rules are copied.
std::vector<Rule> expand_bidirectional(const std::vector<Rule>& rules);

}  // namespace eqopt::rules
