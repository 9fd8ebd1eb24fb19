// eqopt calibrate: times representative oneDNN kernels on this machine and fits the CPU target
// description's efficiency factors and kernel overhead (lowering/calibrate.h does the work).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "lowering/calibrate.h"
#include "lowering/calibration_cache.h"
#include "onnx_io/onnx_io.h"
#include "support/error.h"
#include "targets/target.h"

namespace eqopt::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kHelp = R"(usage: eqopt calibrate --target cpu [-o FILE] [--no-cache] [--reps N] [--json] [--quick]

Times representative kernels on this machine through oneDNN (the library the CPU lowering runs):
convolutions (dense, pointwise, depthwise), matrix products, activations, binary elementwise ops,
pooling, softmax, normalizations, transposes, concat, reductions, and tiny kernels that expose the
fixed cost of one kernel. Then fits the CPU description's efficiency factors (per op class, and per
op type where one strays from its class) and overhead.kernel, so that estimated costs rank programs
the way measured times do. Prints each kernel's FLOPs, bytes, measured time and estimates before
and after, Spearman's rank correlation of estimates and times, and the fitted description.

With --target cpu the fitted description also replaces this machine's cached one
($XDG_CACHE_HOME/eqopt or ~/.cache/eqopt, keyed by CPU model, ISA and threads), which `eqopt MODEL
--target cpu` and `eqopt optimize` use from then on (--no-cache, or EQOPT_CALIBRATION=off, leaves the
cache alone; on a machine without a cached description the first optimization runs a quick
calibration and caches it).

Only the CPU can be calibrated: the GPU and NPU targets describe hardware this machine lacks.
The CPU target models one core: when OMP_NUM_THREADS is unset, calibrate runs oneDNN on one thread
(as if OMP_NUM_THREADS=1); otherwise it honours the variable and warns if it is not 1. Other
processes running meanwhile disturb the times; the default settings take 5-10 s.

  --target cpu          the built-in description to start from (only cpu)
  --target-file FILE    start from this CPU description file instead
  -o, --output FILE     write the fitted description there (written atomically)
  --reps N              timed runs per kernel at most; the median counts (default 500; tiny
                        kernels 20 times as many)
  --budget S            seconds of timed runs after which a kernel stops early (default 0.5)
  --no-op-types         fit op classes only (no per-op-type efficiency keys)
  --quick               a subset of the kernels, a few runs each (under 2 s; for tests)
  --json                machine-readable output on stdout
)";

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string pad(const std::string& s, size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' '); }
std::string rpad(const std::string& s, size_t width) { return s.size() >= width ? " " + s : std::string(width - s.size(), ' ') + s; }


// Spearman or error figures that may be NaN (a constant series).
std::string stat(double x, int decimals) { return std::isfinite(x) ? fixed(x, decimals) : "n/a"; }

}  // namespace

int cmd_calibrate(const std::vector<std::string>& argv) {
  Args args("calibrate", argv,
            {{"help"}, {"target", true}, {"target-file", true}, {"output", true}, {"reps", true}, {"budget", true},
             {"no-op-types"}, {"quick"}, {"json"}, {"no-cache"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(0, "");
  const auto target = args.value("target");
  const auto target_file = args.value("target-file");
  if (target && target_file) fail("eqopt calibrate: give --target or --target-file, not both");
  if (!target && !target_file) fail("eqopt calibrate: missing --target cpu (see eqopt calibrate --help)");
  if (target && *target != "cpu") {
    const std::vector<std::string> builtin = tgt::builtin_target_names();
    if (std::find(builtin.begin(), builtin.end(), *target) == builtin.end())
      fail("eqopt calibrate: unknown target '", *target, "'; only cpu can be calibrated here");
    fail("eqopt calibrate: cannot calibrate target '", *target,
         "': calibration needs the hardware; only cpu can be calibrated here");
  }
  const tgt::TargetDescription base = target ? tgt::load_builtin_target(*target) : tgt::load_target_file(*target_file);
  if (!base.host.empty())
    fail("eqopt calibrate: ", base.source, " describes an accelerator (it has a host target): calibration needs the "
         "hardware; only cpu can be calibrated here");

  lower::CalibrateOptions options;
  options.quick = args.flag("quick");
  const int64_t reps = args.integer("reps", options.reps);
  if (reps < 1 || reps > 100000) fail("eqopt calibrate: --reps must be between 1 and 100000, got ", reps);
  options.reps = int(reps);
  options.kernel_budget_s = args.number("budget", options.kernel_budget_s);
  options.per_op_type = !args.flag("no-op-types");
  const bool json = args.flag("json");
  const auto out_path = args.value("output");
  if (out_path) {  // fail before the timing, not after
    const fs::path dir = fs::path(*out_path).parent_path();
    if (!dir.empty() && !fs::is_directory(dir)) fail("eqopt calibrate: cannot write '", *out_path, "': no folder ", dir.string());
  }
  if (!json && isatty(STDERR_FILENO))
    options.progress = [](size_t i, size_t n, const std::string& name) {
      std::fprintf(stderr, "\rcalibrate: [%zu/%zu] %-40s", i + 1, n, name.c_str());
      if (i + 1 == n) std::fprintf(stderr, "\r%60s\r", "");
      std::fflush(stderr);
    };

  // One thread unless the user asked otherwise. The OpenMP runtime has read the environment when
  // it loaded, so the thread count is set through it as well as in the environment (for children).
  if (const char* env = std::getenv("OMP_NUM_THREADS"); !env || !*env) {
    setenv("OMP_NUM_THREADS", "1", 1);
    lower::set_cpu_threads(1);
  }

  const lower::Calibration cal = lower::calibrate_cpu(base, options);

  std::ostringstream file;
  file << "# Fitted by `eqopt calibrate` on " << lower::utc_now() << " (" << cal.runtime << "), " << cal.kernels.size()
       << " kernels.\n# Spearman rank correlation of estimated and measured kernel times: "
       << stat(cal.spearman_before, 3) << " before, " << stat(cal.spearman_after, 3) << " after.\n"
       << tgt::write_target(cal.fitted);
  if (out_path) write_file_atomic(*out_path, file.str());
  std::string cached;
  const char* cal_env = std::getenv("EQOPT_CALIBRATION");
  if (target && !args.flag("no-cache") && !(cal_env && std::string(cal_env) == "off")) cached = lower::store_calibration(file.str());

  if (json) {
    nlohmann::ordered_json j;
    j["target"] = base.name;
    j["runtime"] = cal.runtime;
    j["threads"] = cal.threads;
    j["seconds"] = cal.seconds;
    j["quick"] = options.quick;
    j["reps"] = options.reps;
    nlohmann::ordered_json ks = nlohmann::ordered_json::array();
    for (const lower::KernelTiming& k : cal.kernels)
      ks.push_back({{"name", k.name},
                    {"op_type", k.op_type},
                    {"class", k.op_class},
                    {"layout", k.layout},
                    {"tiny", k.tiny},
                    {"flops", k.flops},
                    {"bytes", k.bytes},
                    {"roofline_s", k.roofline_s},
                    {"measured_s", k.measured_s},
                    {"runs", k.runs},
                    {"estimate_before_s", k.estimate_before_s},
                    {"estimate_after_s", k.estimate_after_s}});
    j["kernels"] = ks;
    j["kernel_overhead_s"] = {{"before", cal.overhead_before_s}, {"after", cal.overhead_after_s}};
    nlohmann::ordered_json fs = nlohmann::ordered_json::array();
    for (const lower::FittedFactor& f : cal.factors)
      fs.push_back({{"key", f.key}, {"kernels", f.kernels}, {"before", f.before}, {"after", f.after}, {"at_bound", f.at_bound}});
    j["efficiency"] = fs;
    j["spearman"] = {{"before", cal.spearman_before}, {"after", cal.spearman_after}};
    j["median_abs_log_error"] = {{"before", cal.log_error_before}, {"after", cal.log_error_after}};
    j["observed"] = {{"matrix_flops_per_s", cal.observed_matrix_flops_s}, {"bytes_per_s", cal.observed_bytes_s}};
    j["description"] = tgt::write_target(cal.fitted);
    if (out_path) j["output"] = *out_path;
    if (!cached.empty()) j["cache"] = cached;
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << "calibrated " << base.name << " on " << cal.runtime << ": " << cal.kernels.size() << " kernels in "
            << fixed(cal.seconds, 1) << " s\n";
  if (cal.threads != 1)
    std::cout << "warning: oneDNN ran on " << cal.threads
              << " threads but the cpu target models one core (set OMP_NUM_THREADS=1)\n";
  std::cout << "\n"
            << pad("kernel", 28) << pad("class", 14) << pad("layout", 8) << rpad("MFLOP", 8) << rpad("MB", 8)
            << rpad("GFLOP/s", 9) << rpad("GB/s", 7) << rpad("measured us", 13) << rpad("before us", 11)
            << rpad("after us", 11) << "\n";
  for (const lower::KernelTiming& k : cal.kernels)
    std::cout << pad(k.name, 28) << pad(k.op_class + (k.tiny ? "*" : ""), 14) << pad(k.layout, 8)
              << rpad(fixed(k.flops / 1e6, 2), 8) << rpad(fixed(k.bytes / 1e6, 3), 8)
              << rpad(fixed(k.flops / k.measured_s / 1e9, 1), 9) << rpad(fixed(k.bytes / k.measured_s / 1e9, 1), 7)
              << rpad(fixed(k.measured_s * 1e6, 1), 13) << rpad(fixed(k.estimate_before_s * 1e6, 1), 11)
              << rpad(fixed(k.estimate_after_s * 1e6, 1), 11) << "\n";
  std::cout << "(* tiny kernel: fits overhead.kernel; before/after: estimates with the base and the fitted "
               "description)\n\n";
  std::cout << "overhead.kernel: " << fixed(cal.overhead_before_s * 1e6, 2) << " us -> "
            << fixed(cal.overhead_after_s * 1e6, 2) << " us\n";
  std::cout << "efficiency (kernels it was fitted from; before -> after):\n";
  bool any_bound = false;
  for (const lower::FittedFactor& f : cal.factors) {
    const std::string from = f.kernels ? std::to_string(f.kernels) : f.key == "default" ? "geomean" : "kept";
    std::cout << "  " << pad(f.key, 20) << pad(from, 9) << (f.before > 0 ? fixed(f.before, 3) : std::string("    -")) << " -> "
              << fixed(f.after, 3) << (f.at_bound ? "  (at the bound)" : "") << "\n";
    any_bound |= f.at_bound;
  }
  if (any_bound)
    std::cout << "  factors at the bound (0.01 or 4): the kernels ran beyond what the description's peaks and\n"
                 "  bandwidths allow (or far below); compare the observed figures below with the description.\n";
  std::cout << "observed: matrix kernels up to " << fixed(cal.observed_matrix_flops_s / 1e9, 1)
            << " GFLOP/s (compute.matrix.float32 = "
            << fixed((base.matrix_peak.count("float32") ? base.matrix_peak.at("float32") : 0) / 1e9, 1)
            << " G); kernels moving more than onchip.size up to " << fixed(cal.observed_bytes_s / 1e9, 1)
            << " GB/s (memory.dram.bandwidth = " << fixed(base.dram_bandwidth / 1e9, 1) << " G)\n";
  std::cout << "Spearman rank correlation, estimate vs measured: " << stat(cal.spearman_before, 3) << " -> "
            << stat(cal.spearman_after, 3) << "\n";
  std::cout << "median |ln(estimate / measured)|: " << stat(cal.log_error_before, 3) << " (x"
            << stat(std::exp(cal.log_error_before), 2) << ") -> " << stat(cal.log_error_after, 3) << " (x"
            << stat(std::exp(cal.log_error_after), 2) << ")\n";
  std::cout << "\nfitted description:\n" << tgt::write_target(cal.fitted);
  if (out_path) std::cout << "\nwrote the fitted description to " << *out_path << "\n";
  if (!cached.empty()) std::cout << "cached for this machine (" << lower::calibration_machine_key() << ") in " << cached << "\n";
  return 0;
}

}  // namespace eqopt::cli
