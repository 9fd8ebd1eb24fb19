#include "verify/status.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace eqopt::verify {

std::string default_status_path() {
  if (const char* p = std::getenv("EQOPT_STATUS_FILE"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/eqopt/rule-status.tsv";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/eqopt/rule-status.tsv";
  return ".eqopt-rule-status.tsv";
}

std::string rule_hash(const rules::Rule& rule) {
  std::string text;
  for (const auto& p : rule.lhs) text += p.str() + ";";
  text += "=>";
  for (const auto& p : rule.rhs) text += p.str() + ";";
  if (rule.guard) text += " if " + rule.guard->str();
  for (const auto& t : rule.tags) text += "," + t;
  // FNV-1a, 64 bits.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

static std::string clean(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::map<std::string, RuleStatus> load_status(const std::string& path) {
  std::map<std::string, RuleStatus> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, '\t')) f.push_back(x);
    if (f.size() < 5) continue;
    out[f[0]] = RuleStatus{f[0], f[1], f[2], f[3], f[4]};
  }
  return out;
}

bool save_status(const std::string& path, const std::vector<RuleStatus>& updates) {
  std::map<std::string, RuleStatus> table = load_status(path);
  std::string now;
  {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    now = buf;
  }
  for (RuleStatus s : updates) {
    if (s.when.empty()) s.when = now;
    table[s.rule] = s;
  }
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    for (const auto& [name, s] : table)
      out << clean(s.rule) << '\t' << clean(s.hash) << '\t' << clean(s.status) << '\t' << clean(s.detail) << '\t'
          << clean(s.when) << '\n';
    if (!out.good()) return false;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

std::string status_of(const std::map<std::string, RuleStatus>& table, const rules::Rule& r) {
  auto it = table.find(r.name);
  if (it == table.end()) return "unverified";
  if (it->second.hash != rule_hash(r)) return "stale";
  return it->second.status;
}

}  // namespace eqopt::verify
