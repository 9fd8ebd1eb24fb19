#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/egg_workloads.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt bench-egraph WORKLOAD [--scheduler simple|backoff] [--reps N] [--json]

Runs an e-graph workload of ../shared/bench/egg-workloads.md exactly as specified and prints a row
per iteration (matches, unions, e-nodes, e-classes, search/apply/rebuild ms) and a summary line:
wall ms of the runner (median of the reps), iterations, stop reason, e-nodes, e-classes, hash-cons
size and peak resident memory.

WORKLOAD: W1a, W1b (all four start terms) or W1a/NAME, W1b/NAME with NAME one of simplify_add,
simplify_const, simplify_root, simplify_factor; W2; W3; W3:N (W3 with iteration limit N).

  --scheduler S   simple (default) or backoff (egg's BackoffScheduler: match limit 1000, ban 5)
  --reps N        repetitions; wall time, rows and phase times are those of the median rep (default 1)
  --json          machine-readable output
)";

}  // namespace

int cmd_bench_egraph(const std::vector<std::string>& argv) {
  Args args("bench-egraph", argv, {{"help"}, {"scheduler", true}, {"reps", true}, {"json"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "WORKLOAD");
  const std::string sched = args.value("scheduler").value_or("simple");
  if (sched != "simple" && sched != "backoff") fail("eqopt bench-egraph: --scheduler must be simple or backoff, got '", sched, "'");
  const eg::SchedulerKind kind = sched == "simple" ? eg::SchedulerKind::Simple : eg::SchedulerKind::Backoff;
  const int64_t reps = std::max<int64_t>(1, args.integer("reps", 1));
  const std::string workload = args.positional()[0];
  if (!bench::is_workload(workload)) bench::run_workload(workload, kind);  // reports the names

  // Every rep's results; rows and phase times are reported from the rep with the median wall time.
  std::vector<std::vector<bench::WorkloadResult>> runs;  // [rep][workload]
  for (int64_t r = 0; r < reps; ++r) runs.push_back(bench::run_workload(workload, kind));
  std::vector<bench::WorkloadResult> first;
  std::vector<std::vector<double>> times(runs[0].size());
  for (size_t i = 0; i < runs[0].size(); ++i) {
    std::vector<std::pair<double, size_t>> by_time;
    for (size_t r = 0; r < runs.size(); ++r) {
      times[i].push_back(runs[r][i].total_ms);
      by_time.emplace_back(runs[r][i].total_ms, r);
    }
    std::sort(by_time.begin(), by_time.end());
    first.push_back(runs[by_time[by_time.size() / 2].second][i]);
  }
  const double peak_mib = double(eg::peak_resident_memory_bytes()) / (1 << 20);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (size_t w = 0; w < first.size(); ++w) {
    const bench::WorkloadResult& res = first[w];
    std::vector<double> t = times[w];
    std::sort(t.begin(), t.end());
    const double median = t[t.size() / 2];
    double search = 0, apply = 0, rebuild = 0;
    for (const auto& it : res.iterations) {
      search += it.search_ms;
      apply += it.apply_ms;
      rebuild += it.rebuild_ms;
    }
    if (args.flag("json")) {
      nlohmann::ordered_json j;
      j["workload"] = res.name;
      j["scheduler"] = sched;
      j["reps"] = reps;
      j["wall_ms_median"] = median;
      j["wall_ms"] = times[w];
      j["search_ms"] = search;
      j["apply_ms"] = apply;
      j["rebuild_ms"] = rebuild;
      j["iterations"] = res.iterations.size();
      j["stop"] = std::string(eg::stop_reason_name(res.stop));
      j["enodes"] = res.nodes;
      j["eclasses"] = res.classes;
      j["hashcons"] = res.hashcons;
      j["peak_rss_mib"] = peak_mib;
      nlohmann::ordered_json iters = nlohmann::ordered_json::array();
      for (const auto& it : res.iterations) {
        nlohmann::ordered_json rules = nlohmann::ordered_json::object();
        for (size_t r = 0; r < it.rules.size(); ++r)
          if (it.rules[r].matches || it.rules[r].banned)
            rules[res.rules[r]] = {{"matches", it.rules[r].matches}, {"unions", it.rules[r].unions},
                                   {"banned", it.rules[r].banned}, {"search_ms", it.rules[r].search_ms},
                                   {"apply_ms", it.rules[r].apply_ms}};
        iters.push_back({{"iteration", it.index}, {"matches", it.matches}, {"unions", it.unions},
                         {"rebuild_unions", it.rebuild_unions}, {"enodes", it.nodes}, {"eclasses", it.classes},
                         {"hashcons", it.hashcons}, {"search_ms", it.search_ms}, {"apply_ms", it.apply_ms},
                         {"rebuild_ms", it.rebuild_ms}, {"rules", rules}});
      }
      j["per_iteration"] = iters;
      all.push_back(j);
      continue;
    }
    std::printf("%s (%s scheduler)\n", res.name.c_str(), sched.c_str());
    std::printf("%5s %12s %10s %11s %11s %10s %10s %10s\n", "iter", "matches", "unions", "e-nodes", "e-classes",
                "search ms", "apply ms", "rebuild ms");
    for (const auto& it : res.iterations)
      std::printf("%5zu %12zu %10zu %11zu %11zu %10.2f %10.2f %10.2f\n", it.index, it.matches, it.unions, it.nodes,
                  it.classes, it.search_ms, it.apply_ms, it.rebuild_ms);
    std::printf(
        "summary: %s wall %.2f ms (median of %lld), search/apply/rebuild %.1f/%.1f/%.1f ms, %zu iterations, stop %s, "
        "%zu e-nodes, %zu e-classes, hash-cons %zu, peak RSS %.0f MiB\n",
        res.name.c_str(), median, static_cast<long long>(reps), search, apply, rebuild, res.iterations.size(),
        std::string(eg::stop_reason_name(res.stop)).c_str(), res.nodes, res.classes, res.hashcons, peak_mib);
  }
  if (args.flag("json")) std::cout << all.dump(2) << "\n";
  return 0;
}

}  // namespace eqopt::cli
