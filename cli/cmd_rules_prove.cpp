// eqopt rules prove: shows why two terms are equal under the rule database (verify/prove.h).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "support/error.h"
#include "support/paths.h"
#include "verify/lint.h"
#include "verify/prove.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"help(usage: eqopt rules prove "TERM_A" "TERM_B" [--rules DIR|FILE]... [--shape ?x=2x3]... [--iterations N] [--nodes N] [--time S] [--json]

Builds both terms (the rule language's pattern syntax, e.g. "(Relu (Relu ?x))") as one model over
shared inputs, saturates an e-graph with the rules and, when the terms end up equal, prints the
chain of rewrites from TERM_A to TERM_B: every step is the whole term after one rewrite, with the
directed rule used (NAME, or NAME-rev for the reverse of a `<=>` rule) and "backward" when the
rule's right side was rewritten into its left side. "<fold>" marks a value the e-graph computed as
a constant.

Term variables are float32 inputs of shape [2, 3] unless --shape says otherwise, so rules guarded
on shapes apply as they would to that shape. #c(V) constants are float32 scalars. Attribute values
must be literals.

  --rules P        rule file or folder (repeatable; default: the rule database, ruledb/)
  --shape ?x=DIMS  the shape of a term variable: "2x3", "1,3,4,4", or "" for a scalar (repeatable)
  --iterations N   saturation iterations (default 30)
  --nodes N        e-node limit (default 50000)
  --time S         time limit in seconds (default 10)
  --json           print the result as JSON

Exit code 0 when the terms are proved equal, 1 when the rules did not make them equal within the
limits (the message says which limit stopped the search, or that the rules saturated), 2 for a
malformed term or bad usage.
)help";

Shape parse_static_shape(const std::string& text, const std::string& option) {
  Shape s;
  if (text.empty() || text == "scalar") return s;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of("x,", start);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(start, end - start);
    size_t used = 0;
    int64_t d = -1;
    try {
      d = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || d < 1) fail(option, ": '", text, "' is not a shape like 2x3");
    s.push_back(d);
    start = end + 1;
  }
  return s;
}

}  // namespace

int cmd_rules_prove(const std::vector<std::string>& argv) {
  Args args("rules prove", argv,
            {{"help"}, {"rules", true, true}, {"shape", true, true}, {"iterations", true}, {"nodes", true}, {"time", true},
             {"json"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(2, "TERM_A and TERM_B");
  verify::ProveOptions options;
  for (const std::string& v : args.values("shape")) {
    auto [name, dims] = split_assignment(v, "--shape");
    if (name.empty() || name[0] != '?') name = "?" + name;
    options.shapes[name] = parse_static_shape(dims, "--shape " + v);
  }
  const int64_t iterations = args.integer("iterations", int64_t(options.max_iterations));
  const int64_t nodes = args.integer("nodes", int64_t(options.max_nodes));
  if (iterations < 1 || nodes < 1) fail("--iterations and --nodes must be at least 1");
  options.max_iterations = size_t(iterations);
  options.max_nodes = size_t(nodes);
  options.seconds = args.number("time", options.seconds);
  std::vector<std::string> paths = args.values("rules");
  if (paths.empty()) paths.push_back(data_dir("ruledb", EQOPT_RULEDB_DIR));
  const std::vector<rules::Rule> rules = verify::load_rules(paths);
  const verify::ProveResult r = verify::prove_terms(args.positional()[0], args.positional()[1], rules, options);

  if (args.flag("json")) {
    nlohmann::ordered_json steps = nlohmann::ordered_json::array();
    for (const verify::ProofStep& s : r.steps)
      steps.push_back({{"term", s.term}, {"rule", s.rule.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.rule)},
                       {"backward", s.backward}});
    nlohmann::ordered_json j;
    j["proved"] = r.proved;
    j["term_a"] = r.term_a;
    j["term_b"] = r.term_b;
    j["inputs"] = r.inputs;
    j["stop"] = r.stop;
    j["steps"] = std::move(steps);
    j["rules"] = r.rules;
    j["iterations"] = r.iterations;
    j["enodes"] = r.enodes;
    j["eclasses"] = r.eclasses;
    j["seconds"] = r.seconds;
    std::cout << j.dump(2) << "\n";
    return r.proved ? 0 : 1;
  }
  const std::string stats = std::to_string(r.iterations) + (r.iterations == 1 ? " iteration, " : " iterations, ") +
                            std::to_string(r.enodes) + " e-nodes, " +
                            std::to_string(r.rules) + " rules, " + std::to_string(r.seconds).substr(0, 5) + " s";
  if (r.proved) {
    const size_t n = r.steps.empty() ? 0 : r.steps.size() - 1;
    std::cout << "proved: " << r.term_a << " = " << r.term_b << "   (" << r.inputs << ")\n"
              << verify::proof_text(r) << n << (n == 1 ? " step" : " steps") << "; " << stats << "\n";
    return 0;
  }
  std::cout << "not proved: " << r.term_a << " and " << r.term_b << " are not equal under these rules ";
  if (r.stop == "saturated")
    std::cout << "(the rules saturated: no rule applies any more, so they cannot make the terms equal)";
  else if (r.stop == "no rules")
    std::cout << "(no rules were given)";
  else
  {
    std::string limit;
    if (r.stop == "iteration limit") limit = " of " + std::to_string(options.max_iterations) + ", --iterations";
    if (r.stop == "node limit") limit = " of " + std::to_string(options.max_nodes) + " e-nodes, --nodes";
    if (r.stop == "time limit") limit = " of " + std::to_string(options.seconds).substr(0, 5) + " s, --time";
    std::cout << "within the limits (stopped by the " << r.stop << limit << ")";
  }
  std::cout << "\n" << stats << "\n";
  return 1;
}

}  // namespace eqopt::cli
