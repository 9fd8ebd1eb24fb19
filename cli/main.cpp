// eqopt: the command-line front end. A thin layer: parsing arguments and printing results; the work
// happens in the libraries.
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "support/error.h"

namespace {

constexpr const char* kUsage = R"(eqopt - an optimizer and compiler for ONNX models built on equality saturation

usage: eqopt MODEL.onnx [--target cpu|gpu|npu] [-o OUTDIR] [OPTIONS]
       eqopt COMMAND [ARGS] [--help]

  MODEL.onnx --target T [-o OUTDIR]
      Optimizes MODEL for target T (default cpu) and writes the optimized ONNX, the target
      program and the report into OUTDIR (see eqopt compile --help).

commands:
  info MODEL [--json] [--input-shape NAME=DIMS]...
      Inputs and outputs with their shapes, op histogram, parameter count and FLOPs.
  run MODEL|DIR [--backend interp|cpu] [--input NAME=FILE]... [--input-shape NAME=DIMS]... [--out DIR]
      Runs a model on the reference interpreter or the CPU runtime, or a compiled folder, with the
      given inputs (.npy or TensorProto .pb) or seeded random ones; writes outputs as .npy.
  check PATH [--data DIR] [--backend interp|cpu] [--rtol R] [--atol A] [--quiet]
      Conformance against reference outputs: an ONNX node-test folder, a folder of
      them, MODEL.onnx with data in --data DIR (default MODEL.testdata/), or a compiled folder.
  bench MODEL|DIR [--threads N] [--runs N] [--profile FILE.json]
      Latency of the CPU runtime (median, p90) with a per-kernel profile and a Chrome trace.
  plan DIR|FILE [--values]
      A compiled plan as text: kernels with their parameters, layouts and arena offsets.
  optimize MODEL -o OUT.onnx [--target T] [--json REPORT] [--input-shape NAME=DIMS]...
      Optimizes MODEL through the e-graph with the rules of ruledb/ and writes standard ONNX.
  compile MODEL [--target T] [-o OUTDIR]
      The same as 'eqopt MODEL.onnx ...'.
  targets list | show NAME | compare MODEL [--targets cpu,gpu,npu]
      The built-in targets, one description, and one model's best program per target, each
      costed on every target.
  verify A.onnx B.onnx [--seed N] [--rtol R] [--atol A]
      Runs both models on the same inputs and reports the largest error per output.
  calibrate --target cpu [-o FILE] [--reps N] [--json] [--quick]
      Times representative oneDNN kernels on this machine and fits the CPU description's
      efficiency factors and kernel overhead to them (OMP_NUM_THREADS=1 unless set).
  rules verify|test|lint|prove|list [ARGS]
      The rule database's tools: prove rules with Z3 or print a counterexample, test them in
      float32, lint them, show the rewrite chain that makes two terms equal, list them.
  ops [--json]
      The ops eqopt understands and whether the reference interpreter runs them.
  extract EGRAPH.json [--mode auto|exact|greedy] [--time-limit S] [--json] [-o CHOICE.json]
      Extracts the cheapest program from a serialized e-graph (egraph-serialize JSON) and
      compares the greedy, local-search and exact (ILP) extractors.
  bench-egraph WORKLOAD [--scheduler simple|backoff] [--reps N] [--json]
      Runs an e-graph benchmark workload (W1a, W1b, W2, W3, W3:N) and reports each iteration.

Run 'eqopt COMMAND --help' for a command's options.
Exit codes: 0 success, 1 a check failed, 2 bad input or usage.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("eqopt 0.1.0");
    return 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "info") return eqopt::cli::cmd_info(rest);
    if (command == "run") return eqopt::cli::cmd_run(rest);
    if (command == "check") return eqopt::cli::cmd_check(rest);
    if (command == "ops") return eqopt::cli::cmd_ops(rest);
    if (command == "bench-egraph") return eqopt::cli::cmd_bench_egraph(rest);
    if (command == "bench") return eqopt::cli::cmd_bench(rest);
    if (command == "plan") return eqopt::cli::cmd_plan(rest);
    if (command == "optimize") return eqopt::cli::cmd_optimize(rest);
    if (command == "compile") return eqopt::cli::cmd_compile(rest);
    if (command == "targets") return eqopt::cli::cmd_targets(rest);
    if (command == "rules") return eqopt::cli::cmd_rules(rest);
    // The headline form: eqopt MODEL.onnx --target T.
    if (command.size() > 5 && command.compare(command.size() - 5, 5, ".onnx") == 0) return eqopt::cli::cmd_compile(args);
    if (command == "verify") return eqopt::cli::cmd_verify(rest);
    if (command == "calibrate") return eqopt::cli::cmd_calibrate(rest);
    if (command == "extract") return eqopt::cli::cmd_extract(rest);
    std::cerr << "eqopt: unknown command '" << command << "' (see eqopt --help)\n";
    return 2;
  } catch (const eqopt::Error& e) {
    std::cerr << "eqopt: error: " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "eqopt: error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "eqopt: internal error: " << e.what() << "\n";
    return 3;
  }
}
