#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/cpu_backend.h"
#include "interp/conformance.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt check PATH [--data DIR] [--backend interp|cpu] [--threads N] [--rtol R] [--atol A]
                   [--quiet] [--verbose]

Conformance of a backend against reference outputs, compared as ONNX's backend test
runner does: same element type and shape; bools and integers exactly; floats with
|actual - expected| <= atol + rtol * |expected| (NaN equals NaN, infinities must match).

PATH is one of
  - an ONNX node-test folder: model.onnx + test_data_set_*/{input,output}_i.pb
  - a folder of such folders
  - a MODEL.onnx file whose data is in --data DIR, by default MODEL.testdata/ beside it
  - a compiled folder (eqopt MODEL --target cpu -o DIR) or plan file, with --data DIR

  --backend B  what runs the models: interp, the reference interpreter (default), or cpu, each
               model compiled to a plan for the shapes of its first data set and run by the
               CPU runtime (a compiled folder or plan always runs on the CPU runtime)
  --threads N  threads of the CPU runtime (default 0: all cores)
  --interp-ops OPS  with --backend cpu: run these ops (comma-separated, "Conv,eqopt.FusedConv") on
               the reference interpreter inside the compiled plan, to find a kernel that is wrong

  --rtol R     relative tolerance (default 1e-3)
  --atol A     absolute tolerance (default 1e-7)
  --quiet      print only failures and the summary line
  --verbose    also print a line for each passing test

Prints one line per failing test with its largest error, one per skipped test with the reason,
and ends with 'N passed, N failed, N skipped'. Exit code 0 exactly when nothing failed.
)";

}  // namespace

int cmd_check(const std::vector<std::string>& argv) {
  Args args("check", argv,
            {{"help"}, {"data", true}, {"rtol", true}, {"atol", true}, {"quiet"}, {"verbose"}, {"backend", true},
             {"threads", true}, {"interp-ops", true}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "PATH");
  CheckOptions opt;
  opt.tol.rtol = args.number("rtol", 1e-3);
  opt.tol.atol = args.number("atol", 1e-7);
  opt.data_dir = args.value("data").value_or("");
  const std::string backend = args.value("backend").value_or("interp");
  if (backend != "interp" && backend != "cpu") fail("--backend is interp or cpu, got '", backend, "'");
  const int threads = threads_option(args.value("threads").value_or("0"));
  const std::string path = args.positional()[0];
  const bool quiet = args.flag("quiet"), verbose = args.flag("verbose");
  auto print = [&](const CheckOutcome& o) {
    switch (o.status) {
      case CheckOutcome::Status::Fail:
        std::cout << "FAIL " << o.name << ": " << o.detail << "\n";
        break;
      case CheckOutcome::Status::Skip:
        if (!quiet) std::cout << "SKIP " << o.name << ": " << o.detail << "\n";
        break;
      case CheckOutcome::Status::Pass:
        if (verbose) std::cout << "ok   " << o.name << " (max abs err " << o.max_abs << ")\n";
        break;
    }
    std::cout.flush();
  };
  if (is_compiled_folder(path) || !plan_path_of(path).empty()) {
    // A compiled folder or plan: the data must be given; the plan's inputs and outputs (or, for a
    // folder compiled without a plan, its program's) stand for the model. A folder without a plan
    // gets one for the shapes of the first data set.
    if (opt.data_dir.empty()) fail(path, ": a compiled plan needs its reference data with --data DIR");
    opt.make_runner = [path, threads](const Model& io, const std::map<std::string, Tensor>& feeds) -> ModelRunner {
      std::map<std::string, Dims> dims;
      if (plan_path_of(path).empty())
        for (const ValueInfo& in : io.graph.inputs)
          if (feeds.count(in.name) && !in.type.is_static()) dims[in.name] = dims_of(feeds.at(in.name).shape());
      std::shared_ptr<rt::Session> session = open_cpu_session(path, dims, {}, rt::SessionOptions{threads, false});
      return [session](const std::map<std::string, Tensor>& f) { return session->run(f); };
    };
    const CheckOutcome o = check_model(io_model(path), path, opt.data_dir, opt);
    print(o);
    const bool ok = o.status != CheckOutcome::Status::Fail;
    std::cout << (o.status == CheckOutcome::Status::Pass) << " passed, " << !ok << " failed, "
              << (o.status == CheckOutcome::Status::Skip) << " skipped\n";
    return ok ? 0 : 1;
  }
  if (backend == "cpu") opt.make_runner = cpu_check_runner(threads, interp_ops_option(args.value("interp-ops").value_or("")));
  const CheckSummary s = run_check(path, opt, print);
  std::cout << s.passed << " passed, " << s.failed << " failed, " << s.skipped << " skipped\n";
  return s.failed == 0 ? 0 : 1;
}

}  // namespace eqopt::cli
