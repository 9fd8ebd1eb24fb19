// eqopt rules list: every directed rule with where it is written and its last verification status.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "rules/parser.h"
#include "verify/lint.h"
#include "verify/status.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt rules list [FILE|DIR]... [--category C] [--tag T] [--status-file F] [--json|--expanded]

Lists every rule of the rule files (default: the rule database, ruledb/) as the optimizer runs
them: a bidirectional rule as NAME and NAME-rev. Each with its category, tags, file:line and its
last verification status, as `eqopt rules verify` recorded it:
  proved, refuted, unknown   the last verdict
  stale                      verified, but the rule changed since
  unverified                 never verified
The status file is $EQOPT_STATUS_FILE, else $XDG_CACHE_HOME/eqopt/rule-status.tsv (by default
~/.cache/eqopt/rule-status.tsv).

  --category C      only rules of category C (repeatable)
  --tag T           only rules with tag T (repeatable: rules with every tag given)
  --status-file F   read the statuses from F
  --json            print a JSON array, one object per rule: name, category, tags, file, line,
                    status, detail (the verdict's scope or reason), verified (UTC time), text
  --expanded        print the rules themselves in the rule language, as the optimizer runs them:
                    directed, predicates and variants expanded, a `category` line where it
                    changes (no positions: two rule folders that state the same rules print the
                    same text)
)";

}  // namespace

int cmd_rules_list(const std::vector<std::string>& argv) {
  Args args("rules list", argv,
            {{"help"}, {"category", true, true}, {"tag", true, true}, {"status-file", true}, {"json"}, {"expanded"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  std::vector<std::string> paths = args.positional();
  if (paths.empty()) paths.push_back(EQOPT_RULEDB_DIR);
  const std::vector<rules::Rule> directed = rules::expand_bidirectional(verify::load_rules(paths));
  const std::string status_path = args.value("status-file").value_or(verify::default_status_path());
  const std::map<std::string, verify::RuleStatus> table = verify::load_status(status_path);
  const std::vector<std::string> categories = args.values("category"), tags = args.values("tag");

  std::vector<const rules::Rule*> shown;
  for (const rules::Rule& r : directed) {
    if (!categories.empty() && std::find(categories.begin(), categories.end(), r.category) == categories.end()) continue;
    if (!std::all_of(tags.begin(), tags.end(), [&](const std::string& t) { return r.has_tag(t); })) continue;
    shown.push_back(&r);
  }
  auto join = [](const std::vector<std::string>& xs) {
    std::string s;
    for (const std::string& x : xs) s += (s.empty() ? "" : ",") + x;
    return s;
  };

  if (args.flag("expanded")) {
    std::string category;
    for (const rules::Rule* r : shown) {
      if (r->category != category) std::cout << "category " << (category = r->category) << "\n";
      std::cout << r->str();
    }
    return 0;
  }
  if (args.flag("json")) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const rules::Rule* r : shown) {
      const std::string status = verify::status_of(table, *r);
      auto it = table.find(r->name);
      // The stored detail and time describe the rule as it was verified; they still tell a stale
      // rule's last verdict, so they are kept with it.
      const bool stored = it != table.end() && status != "unverified";
      out.push_back({{"name", r->name},
                     {"category", r->category},
                     {"tags", r->tags},
                     {"file", r->file},
                     {"line", r->line},
                     {"status", status},
                     {"detail", stored ? nlohmann::ordered_json(it->second.detail) : nlohmann::ordered_json()},
                     {"verified", stored ? nlohmann::ordered_json(it->second.when) : nlohmann::ordered_json()},
                     {"text", r->text}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  const std::vector<std::string> header{"RULE", "CATEGORY", "TAGS", "STATUS", "WHERE"};
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, size_t> counts;
  for (const rules::Rule* r : shown) {
    const std::string status = verify::status_of(table, *r);
    ++counts[status];
    rows.push_back({r->name, r->category, join(r->tags), status, r->file + ":" + std::to_string(r->line)});
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += c + 1 < row.size() ? row[c] + std::string(width[c] - row[c].size() + 2, ' ') : row[c];
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
  std::string summary;
  for (const auto& [status, n] : counts) summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + status;
  std::cout << shown.size() << (shown.size() == 1 ? " rule" : " rules") << (summary.empty() ? "" : ": " + summary)
            << " (status file " << status_path << ")\n";
  return 0;
}

}  // namespace eqopt::cli
