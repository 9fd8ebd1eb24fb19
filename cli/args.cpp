#include "cli/args.h"

#include <cerrno>
#include <cstdlib>

#include "support/error.h"

namespace eqopt::cli {

Args::Args(const std::string& command, const std::vector<std::string>& argv,
           const std::vector<OptionSpec>& specs)
    : command_(command) {
  std::map<std::string, const OptionSpec*> by_name;
  for (const OptionSpec& s : specs) by_name[s.name] = &s;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "h") name = "help";
    if (name == "o") name = "output";
    auto it = by_name.find(name);
    if (it == by_name.end()) fail("eqopt ", command_, ": unknown option '", a, "' (see eqopt ", command_, " --help)");
    const OptionSpec& spec = *it->second;
    std::string v;
    if (spec.takes_value) {
      if (inline_value) {
        v = *inline_value;
      } else {
        if (i + 1 >= argv.size()) fail("eqopt ", command_, ": option --", name, " needs a value");
        v = argv[++i];
      }
    } else if (inline_value) {
      fail("eqopt ", command_, ": option --", name, " takes no value");
    }
    auto& slot = values_[name];
    if (!spec.repeatable && !slot.empty()) fail("eqopt ", command_, ": option --", name, " given twice");
    slot.push_back(v);
  }
}

std::optional<std::string> Args::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

double Args::number(const std::string& name, double fallback) const {
  auto v = value(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno != 0 || !(d >= 0))
    fail("eqopt ", command_, ": --", name, " needs a non-negative number, got '", *v, "'");
  return d;
}

int64_t Args::integer(const std::string& name, int64_t fallback) const {
  auto v = value(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0 || n < 0)
    fail("eqopt ", command_, ": --", name, " needs a non-negative integer, got '", *v, "'");
  return n;
}

void Args::expect_positional(size_t n, const std::string& what) const {
  if (positional_.size() < n) fail("eqopt ", command_, ": missing ", what, " (see eqopt ", command_, " --help)");
  if (positional_.size() > n)
    fail("eqopt ", command_, ": unexpected argument '", positional_[n], "' (see eqopt ", command_, " --help)");
}

std::pair<std::string, std::string> split_assignment(const std::string& text, const std::string& option) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    fail("--", option, " expects NAME=VALUE, got '", text, "'");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace eqopt::cli
