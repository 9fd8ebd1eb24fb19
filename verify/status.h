// The last verification status of each rule, kept between runs so `eqopt rules list` can show it.
// A tab-separated file (one rule per line: name, hash of the rule's text, status, detail, time),
// by default $XDG_CACHE_HOME/eqopt/rule-status.tsv (~/.cache/eqopt/...); EQOPT_STATUS_FILE
// overrides. A rule whose text changed since it was verified shows as "stale".
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rules/rule.h"

namespace eqopt::verify {

struct RuleStatus {
  std::string rule;    // directed rule name (NAME or NAME-rev)
  std::string hash;    // rule_hash() when it was verified
  std::string status;  // "proved", "refuted", "unknown"
  std::string detail;  // scope of the proof, or the reason
  std::string when;    // UTC, ISO 8601
};

std::string default_status_path();
// Hash of what the rule says (patterns, guard, tags), not where it is written.
std::string rule_hash(const rules::Rule& rule);
// Missing or unreadable file: empty map.
std::map<std::string, RuleStatus> load_status(const std::string& path);
// Merges `updates` into the file (written to a temporary file, then renamed). Returns false when
// the file cannot be written (the caller may warn; verification results are not lost).
bool save_status(const std::string& path, const std::vector<RuleStatus>& updates);
// "proved", "refuted", "unknown", "stale" (verified, since edited) or "unverified".
std::string status_of(const std::map<std::string, RuleStatus>& table, const rules::Rule& directed_rule);

}  // namespace eqopt::verify
