#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "interp/conformance.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt check PATH [--data DIR] [--rtol R] [--atol A] [--quiet] [--verbose]

Conformance of the reference interpreter against reference outputs, compared as ONNX's backend test
runner does: same element type and shape; bools and integers exactly; floats with
|actual - expected| <= atol + rtol * |expected| (NaN equals NaN, infinities must match).

PATH is one of
  - an ONNX node-test folder: model.onnx + test_data_set_*/{input,output}_i.pb
  - a folder of such folders
  - a MODEL.onnx file whose data is in --data DIR, by default MODEL.testdata/ beside it

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
            {{"help"}, {"data", true}, {"rtol", true}, {"atol", true}, {"quiet"}, {"verbose"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "PATH");
  CheckOptions opt;
  opt.tol.rtol = args.number("rtol", 1e-3);
  opt.tol.atol = args.number("atol", 1e-7);
  opt.data_dir = args.value("data").value_or("");
  const bool quiet = args.flag("quiet"), verbose = args.flag("verbose");
  const CheckSummary s = run_check(args.positional()[0], opt, [&](const CheckOutcome& o) {
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
  });
  std::cout << s.passed << " passed, " << s.failed << " failed, " << s.skipped << " skipped\n";
  return s.failed == 0 ? 0 : 1;
}

}  // namespace eqopt::cli
