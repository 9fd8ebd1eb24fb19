#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "interp/interpreter.h"
#include "ir/op_registry.h"

namespace eqopt::cli {

namespace {
constexpr const char* kHelp = R"(usage: eqopt ops [--json]

Lists the ops eqopt understands (default ONNX domain unless a domain is shown), with their input
and output counts and whether the reference interpreter can run them.
)";

std::string arity(int lo, int hi) {
  if (hi < 0) return std::to_string(lo) + "+";
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}
}  // namespace

int cmd_ops(const std::vector<std::string>& argv) {
  Args args("ops", argv, {{"help"}, {"json"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(0, "");
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  int runnable = 0;
  const auto ops = OpRegistry::global().all();
  for (const OpSchema* s : ops) {
    const bool runs = interpreter_kernels().contains(s->id()) || s->infer_computes_values || s->expand;
    runnable += runs;
    if (args.flag("json")) {
      list.push_back({{"domain", s->domain.empty() ? "ai.onnx" : s->domain},
                      {"op", s->name},
                      {"inputs", arity(s->min_inputs, s->max_inputs)},
                      {"outputs", arity(s->min_outputs, s->max_outputs)},
                      {"interpreter", runs}});
    } else {
      const std::string name = s->id().str();
      std::cout << name << std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') << "inputs "
                << arity(s->min_inputs, s->max_inputs) << ", outputs " << arity(s->min_outputs, s->max_outputs)
                << (runs ? "" : "  (inference only)") << "\n";
    }
  }
  if (args.flag("json"))
    std::cout << list.dump(2) << "\n";
  else
    std::cout << ops.size() << " ops, " << runnable << " runnable on the reference interpreter\n";
  return 0;
}

}  // namespace eqopt::cli
