#include <cmath>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "interp/conformance.h"
#include "interp/feeds.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"

namespace eqopt::cli {

namespace {
constexpr const char* kHelp = R"(usage: eqopt verify A.onnx B.onnx [--seed N] [--rtol R] [--atol A] [--input NAME=FILE]... [--input-shape NAME=DIMS]...

Runs both models on the reference interpreter with the same inputs (given, or seeded random ones)
and reports, per output, the largest absolute and relative error of B against A. The models must
have the same input and output names. Exit code 0 when every output is within
|b - a| <= atol + rtol * |a| (defaults rtol 1e-3, atol 1e-5), 1 otherwise.
)";
}  // namespace

int cmd_verify(const std::vector<std::string>& argv) {
  Args args("verify", argv,
            {{"help"}, {"seed", true}, {"rtol", true}, {"atol", true}, {"input", true, true}, {"input-shape", true, true}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(2, "A.onnx and B.onnx");
  const Model a = load_model(args.positional()[0]);
  const Model b = load_model(args.positional()[1]);
  if (a.graph.outputs.size() != b.graph.outputs.size())
    fail("the models have different numbers of outputs (", a.graph.outputs.size(), " and ", b.graph.outputs.size(), ")");
  for (size_t k = 0; k < a.graph.outputs.size(); ++k)
    if (a.graph.outputs[k].name != b.graph.outputs[k].name)
      fail("output ", k, " is '", a.graph.outputs[k].name, "' in A but '", b.graph.outputs[k].name, "' in B");
  std::map<std::string, Tensor> given;
  for (const std::string& v : args.values("input")) {
    auto [name, file] = split_assignment(v, "input");
    given[name] = load_tensor_file(file).value;
  }
  FeedOptions fo;
  fo.seed = uint64_t(args.integer("seed", 0));
  fo.input_dims = parse_input_shapes(args.values("input-shape"));
  const auto feeds = make_feeds(a, given, fo);
  const std::vector<Tensor> ra = Interpreter(a).run(feeds);
  const std::vector<Tensor> rb = Interpreter(b).run(feeds);
  Tolerance tol;
  tol.rtol = args.number("rtol", 1e-3);
  tol.atol = args.number("atol", 1e-5);
  bool ok = true;
  for (size_t k = 0; k < ra.size(); ++k) {
    const TensorComparison c = compare_tensors(rb[k], ra[k], tol);
    std::cout << (c.ok ? "ok   " : "FAIL ") << a.graph.outputs[k].name << "  " << ra[k].type_str()
              << "  max abs err " << c.max_abs << "  max rel err " << c.max_rel;
    if (!c.ok) std::cout << "  (" << c.problem << ")";
    std::cout << "\n";
    ok &= c.ok;
  }
  return ok ? 0 : 1;
}

}  // namespace eqopt::cli
