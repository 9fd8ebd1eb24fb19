// A small command-line parser: positional arguments, `--flag`, `--opt VALUE` / `--opt=VALUE`, and
// repeatable options. Unknown options are errors that name the option.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace eqopt::cli {

struct OptionSpec {
  std::string name;  // without "--"
  bool takes_value = false;
  bool repeatable = false;
};

class Args {
 public:
  Args(const std::string& command, const std::vector<std::string>& argv,
       const std::vector<OptionSpec>& specs);

  const std::vector<std::string>& positional() const { return positional_; }
  bool flag(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> value(const std::string& name) const;
  std::vector<std::string> values(const std::string& name) const;
  double number(const std::string& name, double fallback) const;
  int64_t integer(const std::string& name, int64_t fallback) const;
  // Fails unless exactly `n` positional arguments were given; `what` names them in the message.
  void expect_positional(size_t n, const std::string& what) const;

 private:
  std::string command_;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
};

// "NAME=VALUE" -> {NAME, VALUE}; fails naming the option otherwise.
std::pair<std::string, std::string> split_assignment(const std::string& text, const std::string& option);

}  // namespace eqopt::cli
