#pragma once
#include <string>
#include <vector>

namespace eqopt::cli {

// Each returns the process exit code; errors are thrown as eqopt::Error.
int cmd_info(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_check(const std::vector<std::string>& args);
int cmd_ops(const std::vector<std::string>& args);
int cmd_bench_egraph(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_plan(const std::vector<std::string>& args);
int cmd_optimize(const std::vector<std::string>& args);
int cmd_compile(const std::vector<std::string>& args);
int cmd_targets(const std::vector<std::string>& args);
int cmd_verify(const std::vector<std::string>& args);
int cmd_calibrate(const std::vector<std::string>& args);
int cmd_extract(const std::vector<std::string>& args);
// `eqopt rules SUBCOMMAND`: dispatches to the five below (cli/cmd_rules*.cpp).
int cmd_rules(const std::vector<std::string>& args);
int cmd_rules_verify(const std::vector<std::string>& args);
int cmd_rules_test(const std::vector<std::string>& args);
int cmd_rules_lint(const std::vector<std::string>& args);
int cmd_rules_prove(const std::vector<std::string>& args);
int cmd_rules_list(const std::vector<std::string>& args);

}  // namespace eqopt::cli
