// `eqopt bench MODEL|DIR|PLAN`: latency of the CPU runtime, with a per-kernel profile and an
// optional Chrome trace (chrome://tracing and Perfetto open it), as ONNX Runtime's profiler writes.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/cpu_backend.h"
#include "interp/feeds.h"
#include "onnx_io/onnx_io.h"
#include "runtime/cpu/dnnl_util.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt bench MODEL|DIR|PLAN [--threads N] [--runs N] [--warmup N] [--input-shape NAME=DIMS]...
                   [--profile FILE.json] [--top N] [--json]

Times the CPU runtime on seeded random inputs: a compiled folder (eqopt MODEL --target cpu -o DIR)
or plan file as it is (a folder compiled for dynamic dims: with --input-shape, its plan for them),
a model compiled here first (no e-graph optimization: compile with
`eqopt MODEL --target cpu` for that). Prints the median and 90th percentile latency of the runs and a
profile per kernel (median over the runs): op, layout of its output, time, GFLOP/s and share.

  --threads N          OpenMP threads (default 0: all cores)
  --runs N             timed runs (default 20)
  --warmup N           untimed runs first (default 3)
  --input-shape N=D    dims of a dynamic input of MODEL
  --profile FILE.json  write a Chrome trace of the timed runs (one event per kernel)
  --top N              kernels listed in the profile (default 15; 0: all)
  --json               print the figures as JSON
  --data DIR           inputs from DIR/input_i.pb (ONNX backend-test layout) instead of random ones
  --serve              for benchmark drivers: after warm-up, read a count k per line on stdin, run k
                       times, print the mean milliseconds per run on one line; at end of input print
                       "peak_rss_kb N" (the process's peak resident memory) and stop
)";

// The process's peak resident set size.
long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * double(v.size() - 1);
  const size_t lo = size_t(std::floor(idx)), hi = size_t(std::ceil(idx));
  return v[lo] + (v[hi] - v[lo]) * (idx - double(lo));
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args args("bench", argv,
            {{"help"}, {"threads", true}, {"runs", true}, {"warmup", true}, {"input-shape", true, true},
             {"profile", true}, {"top", true}, {"json"}, {"data", true}, {"serve"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL|DIR|PLAN");
  const std::string path = args.positional()[0];
  const int threads = threads_option(args.value("threads").value_or("0"));
  const int64_t runs = args.integer("runs", 20), warmup = args.integer("warmup", 3), top = args.integer("top", 15);
  if (runs < 1 || warmup < 0 || top < 0) fail("--runs must be at least 1, --warmup and --top not negative");
  lower::CpuCompileReport report;
  auto session = open_cpu_session(path, parse_input_shapes(args.values("input-shape")), {},
                                  rt::SessionOptions{threads, !args.flag("serve")}, &report);
  const rt::Plan& plan = session->plan();
  FeedOptions fo;
  std::map<std::string, Tensor> given;
  if (auto data = args.value("data")) {
    // input_0.pb, input_1.pb, ...: bound by name, else by position.
    const Model io = stand_in_model(plan);
    for (size_t i = 0;; ++i) {
      const std::filesystem::path f = std::filesystem::path(*data) / ("input_" + std::to_string(i) + ".pb");
      if (!std::filesystem::exists(f)) break;
      NamedTensor t = load_tensor_file(f.string());
      std::string bind = t.name;
      if (!io.graph.find_input(bind)) {
        if (i >= io.graph.inputs.size()) fail(f.string(), ": the plan has only ", io.graph.inputs.size(), " inputs");
        bind = io.graph.inputs[i].name;
      }
      given[bind] = std::move(t.value);
    }
  }
  const auto feeds = make_feeds(stand_in_model(plan), given, fo);

  for (int64_t i = 0; i < warmup; ++i) session->run(feeds);
  using Clock = std::chrono::steady_clock;
  if (args.flag("serve")) {
    std::string line;
    while (std::getline(std::cin, line)) {
      const long k = std::strtol(line.c_str(), nullptr, 10);
      if (k <= 0) fail("--serve reads a positive run count per line, got '", line, "'");
      const auto t0 = Clock::now();
      for (long i = 0; i < k; ++i) session->run(feeds);
      std::printf("%.6f\n", std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(k));
      std::fflush(stdout);
    }
    std::printf("peak_rss_kb %ld\n", peak_rss_kb());
    return 0;
  }
  std::vector<double> total;
  std::vector<std::vector<double>> per_kernel(plan.kernels.size());
  nlohmann::json trace = nlohmann::json::array();
  double trace_at = 0;
  for (int64_t i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    session->run(feeds);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    total.push_back(s);
    for (size_t k = 0; k < plan.kernels.size(); ++k) {
      per_kernel[k].push_back(session->kernel_seconds()[k]);
      if (args.value("profile")) {
        const rt::PlanKernel& pk = plan.kernels[k];
        const std::string layout = pk.outputs.empty() ? "" : plan.values[size_t(pk.outputs[0])].layout;
        trace.push_back({{"name", pk.node.name.empty() ? pk.node.op_type : pk.node.name},
                         {"cat", pk.impl},
                         {"ph", "X"},
                         {"pid", 1},
                         {"tid", 1},
                         {"ts", (trace_at + session->kernel_starts()[k]) * 1e6},
                         {"dur", session->kernel_seconds()[k] * 1e6},
                         {"args", {{"op", OpId::of(pk.node).str()}, {"layout", layout.empty() ? "row-major" : layout},
                                   {"run", i}}}});
      }
    }
    trace_at += s + 1e-4;
  }
  if (auto file = args.value("profile")) write_file_atomic(*file, trace.dump() + "\n");

  // Per-kernel medians, grouped by kernel position; listed by time.
  struct Row {
    size_t k;
    double ms;
  };
  std::vector<Row> rows;
  double sum_ms = 0;
  for (size_t k = 0; k < plan.kernels.size(); ++k) {
    rows.push_back({k, percentile(per_kernel[k], 0.5) * 1e3});
    sum_ms += rows.back().ms;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ms > b.ms; });
  const double median_ms = percentile(total, 0.5) * 1e3, p90_ms = percentile(total, 0.9) * 1e3;
  const int used_threads = threads > 0 ? threads : rt::cpu_threads();
  if (args.flag("json")) {
    nlohmann::json j = {{"path", path},         {"threads", used_threads}, {"runs", runs}, {"peak_rss_kb", peak_rss_kb()},
                        {"median_ms", median_ms}, {"p90_ms", p90_ms},     {"machine", rt::cpu_machine_key()},
                        {"kernels", nlohmann::json::array()}};
    for (const Row& r : rows) {
      const rt::PlanKernel& pk = plan.kernels[r.k];
      j["kernels"].push_back({{"name", pk.node.name}, {"op", OpId::of(pk.node).str()}, {"impl", pk.impl},
                              {"ms", r.ms}, {"flops", pk.flops}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (report.kernels > 0) std::cout << compile_report_text(report);
  std::printf("%s: %zu kernels, %d thread%s, %lld runs: median %.3f ms, p90 %.3f ms, peak RSS %.1f MiB (%s)\n",
              path.c_str(), plan.kernels.size(), used_threads, used_threads == 1 ? "" : "s", (long long)runs, median_ms,
              p90_ms, double(peak_rss_kb()) / 1024.0, rt::cpu_machine_key().c_str());
  // By op.
  std::map<std::string, std::pair<double, double>> by_op;  // ms, flops
  for (const Row& r : rows) {
    const rt::PlanKernel& pk = plan.kernels[r.k];
    auto& e = by_op[OpId::of(pk.node).str() + (pk.impl == "interp" ? " (interpreter)" : "")];
    e.first += r.ms;
    e.second += pk.flops;
  }
  std::printf("\nby op:%31s %9s %9s %7s\n", "", "ms", "GFLOP/s", "share");
  std::vector<std::pair<std::string, std::pair<double, double>>> ops(by_op.begin(), by_op.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  for (const auto& [op, e] : ops)
    std::printf("  %-35s %9.3f %9.1f %6.1f%%\n", op.c_str(), e.first, e.first > 0 ? e.second / (e.first * 1e6) : 0.0,
                sum_ms > 0 ? 100 * e.first / sum_ms : 0.0);
  std::printf("\nkernels:%29s %-14s %9s %9s %7s\n", "", "layout", "ms", "GFLOP/s", "share");
  size_t shown = 0;
  for (const Row& r : rows) {
    if (top > 0 && shown++ >= size_t(top)) break;
    const rt::PlanKernel& pk = plan.kernels[r.k];
    const std::string layout = pk.outputs.empty() ? "" : plan.values[size_t(pk.outputs[0])].layout;
    std::string name = pk.node.name.empty() ? pk.node.op_type : pk.node.name;
    if (name.size() > 22) name = name.substr(0, 21) + "~";
    std::string label = OpId::of(pk.node).str() + " " + name;
    std::printf("  %-35s %-14s %9.3f %9.1f %6.1f%%\n", label.c_str(), layout.empty() ? "row-major" : layout.c_str(),
                r.ms, r.ms > 0 ? pk.flops / (r.ms * 1e6) : 0.0, sum_ms > 0 ? 100 * r.ms / sum_ms : 0.0);
  }
  return 0;
}

}  // namespace eqopt::cli
