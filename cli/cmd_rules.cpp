// eqopt rules: the rule database's tools. `verify` proves each rule with Z3 on concrete instances
// (or prints a counterexample), `test` runs both sides on the interpreter; `lint`, `prove` and
// `list` are in cmd_rules_lint.cpp, cmd_rules_prove.cpp and cmd_rules_list.cpp.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "rules/parser.h"
#include "support/error.h"
#include "support/paths.h"
#include "verify/lint.h"
#include "verify/prover.h"
#include "verify/rule_test.h"
#include "verify/status.h"

namespace eqopt::cli {

namespace {

constexpr const char* kRulesHelp = R"(usage: eqopt rules SUBCOMMAND [ARGS] [--help]

The rule database's tools (rules are read from ruledb/ unless files or folders are given):
  verify [FILE|DIR]... [--rule NAME] [--timeout S]
      Proves each rule with Z3 on concrete instances, or refutes it with a counterexample.
  test [FILE|DIR]... [--rule NAME] [--trials N]
      Runs both sides of each rule on the interpreter with random inputs; reports the largest error.
  lint [FILE|DIR]... [--werror]
      Parse errors, unknown guard functions and ops, duplicates, rules that undo each other.
  prove "TERM_A" "TERM_B" [--shape ?x=DIMS]...
      Saturates an e-graph with the rules and prints the rewrite chain that makes the terms equal.
  list [FILE|DIR]... [--category C] [--tag T] [--json]
      Every rule with its category, tags, file:line and last verification status.
)";

constexpr const char* kVerifyHelp = R"(usage: eqopt rules verify [FILE|DIR]... [--rule NAME]... [--timeout S] [--jobs N] [--json]

Proves every rule (bidirectional rules in both directions) sound, or refutes it with a concrete
counterexample. For each rule, instances are searched: shapes (ranks <= 4, dims <= 3 by default),
dtypes, attribute values and integer operands (drawn from the ops' schemas) for which the guard
holds and both sides type-check, with int64 and float16 instances where the rule allows them. Both
sides are evaluated symbolically on each instance, float elements as real-valued unknowns (float16
ones rounded where values become float16), integer ones as wrapping integers, bools as truth
values, and Z3 is asked for an input where the left side is defined and the right side differs or
is undefined. Verdicts:
  proved   with the scope of the proof (the instances, or "all shapes" for elementwise rules)
  refuted  with the instance, the input tensors and both sides' outputs
  unknown  with the reason (time limit, unsupported op, solver gave up, no instance)
docs/verification.md describes the method and what a proof covers.

  --rule NAME         only this rule (NAME matches NAME and NAME-rev); repeatable
  --timeout S         time limit per rule in seconds (default 10)
  --jobs N            rules verified in parallel (default: the number of cores, at most 2)
  --max-rank N        largest rank of an instance (default 4)
  --max-dim N         largest dimension of an instance (default 3)
  --instances N       instances per rule (default 6)
  --json              print the results as JSON
  --quiet             print only refuted and unknown rules and the summary
  --status-file F     where the last status of each rule is kept for `eqopt rules list`
                      (default $XDG_CACHE_HOME/eqopt/rule-status.tsv; EQOPT_STATUS_FILE)
  --no-status         do not record the results
  --min-proved PCT    also fail (exit 1) when fewer than PCT percent of the rules are proved
Exit status: 0 when no rule is refuted, 1 when one is, 2 for bad input.
)";

constexpr const char* kTestHelp = R"(usage: eqopt rules test [FILE|DIR]... [--rule NAME]... [--trials N] [--seed N] [--json]

Runs both sides of every rule (bidirectional rules in both directions) on the reference interpreter,
on the instances `eqopt rules verify` uses and in their dtypes, with random inputs (floats in
[-2, 2] and in [0.5, 2]; integers small, then anywhere in their range; bools at random), and
reports the largest error of each rule, measured as |left - right| / (atol + rtol * scale), scale
being the largest magnitude of that output (at least 1). A rule fails above 1: rtol 1e-4 (1e-3 for
rules tagged `real`, whose float results differ by rounding), atol 1e-5; float16 outputs rtol 4e-3,
atol 1e-3; integer and bool outputs must be equal. Instances in a dtype the interpreter does not
run are skipped, and the note says so.

  --rule NAME         only this rule (NAME matches NAME and NAME-rev); repeatable
  --trials N          random inputs per instance (default 3)
  --seed N            random seed (default 1)
  --json              print the results as JSON
  --quiet             print only failing rules and the summary
Exit status: 0 when every rule is within its tolerance, 1 otherwise, 2 for bad input.
)";

// Rules from files and folders (default: the ruledb/ eqopt was built from), bidirectional ones
// expanded, filtered by --rule.
std::vector<rules::Rule> load_directed(const Args& args) {
  std::vector<std::string> paths = args.positional();
  if (paths.empty()) paths.push_back(data_dir("ruledb", EQOPT_RULEDB_DIR));
  std::vector<rules::Rule> all = rules::expand_bidirectional(verify::load_rules(paths));
  const std::vector<std::string> only = args.values("rule");
  if (only.empty()) return all;
  std::vector<rules::Rule> kept;
  for (rules::Rule& r : all)
    for (const std::string& n : only)
      if (r.name == n || r.name == n + "-rev") {
        kept.push_back(std::move(r));
        break;
      }
  if (kept.empty()) throw Error("--rule: no rule named " + only.front() + " in the given rule files");
  return kept;
}

unsigned default_jobs() { return std::max(1u, std::min(2u, std::thread::hardware_concurrency())); }

std::string where(const rules::Rule& r) { return r.file + ":" + std::to_string(r.line); }

}  // namespace

int cmd_rules_verify(const std::vector<std::string>& argv) {
  Args args("rules verify", argv,
            {{"help"}, {"rule", true, true}, {"timeout", true}, {"jobs", true}, {"max-rank", true}, {"max-dim", true},
             {"instances", true}, {"json"}, {"quiet"}, {"status-file", true}, {"no-status"}, {"min-proved", true}});
  if (args.flag("help")) {
    std::cout << kVerifyHelp;
    return 0;
  }
  const std::vector<rules::Rule> directed = load_directed(args);
  verify::VerifyOptions options;
  options.timeout_s = args.number("timeout", options.timeout_s);
  if (!(options.timeout_s > 0)) throw Error("--timeout: must be a positive number of seconds");
  options.limits.max_rank = int(args.integer("max-rank", options.limits.max_rank));
  options.limits.max_dim = args.integer("max-dim", options.limits.max_dim);
  options.limits.max_instances = size_t(args.integer("instances", int64_t(options.limits.max_instances)));
  if (options.limits.max_rank < 0 || options.limits.max_dim < 1 || options.limits.max_instances < 1)
    throw Error("--max-rank, --max-dim and --instances must be positive");
  const int64_t jobs = args.integer("jobs", default_jobs());
  if (jobs < 1) throw Error("--jobs: must be at least 1");
  const bool json = args.flag("json"), quiet = args.flag("quiet");

  const auto start = std::chrono::steady_clock::now();
  auto print = [&](const verify::VerifyResult& r) {
    if (json || (quiet && r.verdict == verify::Verdict::Proved)) return;
    std::printf("%-8s %s: %s%s\n", verify::verdict_name(r.verdict), r.rule.c_str(), r.detail.c_str(),
                r.real_algebra && r.verdict == verify::Verdict::Proved ? " [real]" : "");
    if (!r.counterexample.empty()) std::fputs(r.counterexample.c_str(), stdout);
    std::fflush(stdout);
  };
  const std::vector<verify::VerifyResult> results = verify::verify_rules(directed, options, unsigned(jobs), print);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  size_t counts[3] = {0, 0, 0};
  for (const auto& r : results) ++counts[int(r.verdict)];
  if (!args.flag("no-status")) {
    std::vector<verify::RuleStatus> updates;
    for (size_t i = 0; i < results.size(); ++i)
      updates.push_back({results[i].rule, verify::rule_hash(directed[i]), verify::verdict_name(results[i].verdict),
                         results[i].detail, ""});
    const std::string path = args.value("status-file").value_or(verify::default_status_path());
    if (!verify::save_status(path, updates)) std::fprintf(stderr, "warning: could not write %s\n", path.c_str());
  }
  if (json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      nlohmann::ordered_json o;
      o["rule"] = r.rule;
      o["where"] = where(directed[i]);
      o["verdict"] = verify::verdict_name(r.verdict);
      o["detail"] = r.detail;
      if (!r.counterexample.empty()) o["counterexample"] = r.counterexample;
      o["real"] = r.real_algebra;
      o["instances"] = r.instances;
      o["solver_calls"] = r.solver_calls;
      o["seconds"] = r.seconds;
      j.push_back(std::move(o));
    }
    nlohmann::ordered_json top;
    top["rules"] = std::move(j);
    top["proved"] = counts[0];
    top["refuted"] = counts[1];
    top["unknown"] = counts[2];
    top["seconds"] = seconds;
    std::cout << top.dump(2) << "\n";
  } else {
    std::printf("%zu proved, %zu refuted, %zu unknown (%zu rules, %.1f%% proved, %.1f s)\n", counts[0], counts[1],
                counts[2], results.size(), results.empty() ? 0.0 : 100.0 * double(counts[0]) / double(results.size()),
                seconds);
  }
  const double min_proved = args.number("min-proved", 0);
  const double proved_pct = results.empty() ? 100.0 : 100.0 * double(counts[0]) / double(results.size());
  if (proved_pct < min_proved) {
    std::fprintf(stderr, "rules verify: %.1f%% proved, below --min-proved %g\n", proved_pct, min_proved);
    return 1;
  }
  return counts[1] ? 1 : 0;
}

int cmd_rules_test(const std::vector<std::string>& argv) {
  Args args("rules test", argv,
            {{"help"}, {"rule", true, true}, {"trials", true}, {"seed", true}, {"json"}, {"quiet"}});
  if (args.flag("help")) {
    std::cout << kTestHelp;
    return 0;
  }
  const std::vector<rules::Rule> directed = load_directed(args);
  verify::RuleTestOptions options;
  options.trials = size_t(args.integer("trials", int64_t(options.trials)));
  options.seed = unsigned(args.integer("seed", options.seed));
  if (options.trials < 1) throw Error("--trials: must be at least 1");
  const bool json = args.flag("json"), quiet = args.flag("quiet");
  const auto start = std::chrono::steady_clock::now();
  size_t passed = 0, failed = 0, untested = 0;
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const rules::Rule& r : directed) {
    verify::InstanceSearch search;
    std::string error;
    try {
      search = verify::find_instances(r);
    } catch (const std::exception& e) {
      error = e.what();
    }
    verify::RuleTestResult t;
    if (error.empty() && !search.instances.empty()) t = verify::test_rule(r, search, options);
    const bool tested = error.empty() && !search.instances.empty() && t.runs > 0;
    const char* verdict = !tested ? "untested" : t.passed ? "ok" : "FAIL";
    (!tested ? untested : t.passed ? passed : failed)++;
    const std::string note = !error.empty() ? error : search.instances.empty() ? search.note : t.note;
    if (json) {
      nlohmann::ordered_json o;
      o["rule"] = r.name;
      o["where"] = where(r);
      o["result"] = verdict;
      o["max_error"] = std::isfinite(t.max_rel_error) ? nlohmann::ordered_json(t.max_rel_error) : nlohmann::ordered_json();
      o["instances"] = t.instances;
      o["runs"] = t.runs;
      if (!t.worst.empty()) o["worst"] = t.worst;
      if (!note.empty()) o["note"] = note;
      j.push_back(std::move(o));
    } else if (!quiet || !tested || !t.passed) {
      std::printf("%-8s %s: max error %.3g (%zu instances, %zu runs)%s%s\n", verdict, r.name.c_str(), t.max_rel_error,
                  t.instances, t.runs, note.empty() ? "" : ": ", note.c_str());
      if (tested && !t.passed && !t.worst.empty()) std::printf("  worst: %s\n", t.worst.c_str());
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (json) {
    nlohmann::ordered_json top;
    top["rules"] = std::move(j);
    top["passed"] = passed;
    top["failed"] = failed;
    top["untested"] = untested;
    top["seconds"] = seconds;
    std::cout << top.dump(2) << "\n";
  } else {
    std::printf("%zu passed, %zu failed, %zu untested (%zu rules, %.1f s)\n", passed, failed, untested,
                directed.size(), seconds);
  }
  return failed ? 1 : 0;
}

int cmd_rules(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    std::fputs(kRulesHelp, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const std::string sub = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "verify") return cmd_rules_verify(rest);
  if (sub == "test") return cmd_rules_test(rest);
  if (sub == "lint") return cmd_rules_lint(rest);
  if (sub == "prove") return cmd_rules_prove(rest);
  if (sub == "list") return cmd_rules_list(rest);
  throw Error("rules: unknown subcommand '" + sub + "' (verify, test, lint, prove, list; see eqopt rules --help)");
}

}  // namespace eqopt::cli
