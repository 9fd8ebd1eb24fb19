// The e-graph engine against the golden per-iteration counts of ../shared/bench/egg-workloads.md
// section 6 (egg v0.9.5, simple scheduler): matches found by each iteration's search, and e-nodes
// and e-classes after each complete iteration's rebuild. The numbers are copied into this file so
// the check runs without ../shared.
#include <gtest/gtest.h>

#include "bench/egg_workloads.h"

using namespace eqopt;
using namespace eqopt::bench;

namespace {

struct Row {
  size_t matches, nodes, classes;
};

void expect_rows(const WorkloadResult& r, const std::vector<Row>& golden) {
  ASSERT_GE(r.iterations.size(), golden.size()) << r.name;
  for (size_t i = 0; i < golden.size(); ++i) {
    SCOPED_TRACE(r.name + " iteration " + std::to_string(i));
    EXPECT_EQ(r.iterations[i].matches, golden[i].matches);
    EXPECT_EQ(r.iterations[i].nodes, golden[i].nodes);
    EXPECT_EQ(r.iterations[i].classes, golden[i].classes);
  }
}

WorkloadResult run_one(const std::string& name, std::optional<size_t> max_iterations = std::nullopt) {
  auto r = run_workload(name, eg::SchedulerKind::Simple, max_iterations);
  EXPECT_EQ(r.size(), 1u);
  return r.at(0);
}

}  // namespace

TEST(EGraphGolden, W2MatmulChainSaturatesWithEggsCounts) {
  const WorkloadResult r = run_one("W2");
  expect_rows(r, {{63, 255, 192},
                  {311, 625, 377},
                  {1989, 1865, 905},
                  {14580, 6065, 2481},
                  {114768, 19105, 6817},
                  {736576, 45825, 13057},
                  {1174096, 45825, 2145},
                  {1441440, 45825, 2145}});
  EXPECT_EQ(r.iterations.size(), 8u);
  EXPECT_EQ(r.stop, eg::StopReason::Saturated);
  // Per rule, as in the golden table (matmul-assoc-l, matmul-assoc-r).
  const size_t per_rule[8][2] = {{63, 0},          {248, 63},        {1618, 371},      {12200, 2380},
                                 {98976, 15792},   {637568, 99008},  {720720, 453376}, {720720, 720720}};
  for (size_t i = 0; i < 8; ++i)
    for (size_t k = 0; k < 2; ++k) EXPECT_EQ(r.iterations[i].rules[k].matches, per_rule[i][k]) << i << "," << k;
}

TEST(EGraphGolden, W3FirstFourIterations) {
  const WorkloadResult r = run_one("W3:4");
  expect_rows(r, {{397, 994, 597}, {1977, 3360, 1582}, {16633, 21118, 8985}, {299684, 288177, 122095}});
  const size_t per_rule[4][2] = {{199, 198}, {794, 1183}, {3160, 13473}, {20918, 278766}};
  for (size_t i = 0; i < 4; ++i)
    for (size_t k = 0; k < 2; ++k) EXPECT_EQ(r.iterations[i].rules[k].matches, per_rule[i][k]);
  EXPECT_EQ(r.stop, eg::StopReason::IterationLimit);
}

// The complete iterations of each W1a start term (the last one is cut by the node limit).
TEST(EGraphGolden, W1aCompleteIterations) {
  expect_rows(run_one("W1a/simplify_add", 7), {{13, 17, 6},
                                                {46, 32, 7},
                                                {143, 56, 15},
                                                {326, 70, 10},
                                                {597, 217, 81},
                                                {7575, 2835, 1241},
                                                {1356141, 57354, 27097}});
  expect_rows(run_one("W1a/simplify_const", 5),
              {{18, 29, 11}, {89, 79, 23}, {391, 129, 29}, {1116, 444, 164}, {22592, 12309, 5776}});
  expect_rows(run_one("W1a/simplify_root", 5),
              {{23, 37, 14}, {102, 91, 25}, {395, 106, 18}, {1058, 622, 273}, {65328, 31501, 15273}});
  // simplify_factor's last iteration is cheap enough to search in a test: its match count is golden too.
  const WorkloadResult f = run_one("W1a/simplify_factor");
  expect_rows(f, {{16, 24, 8}, {78, 64, 18}, {325, 104, 24}, {794, 276, 91}, {7840, 3842, 1711}});
  ASSERT_EQ(f.iterations.size(), 6u);
  EXPECT_EQ(f.iterations[5].matches, 2221430u);
  EXPECT_EQ(f.stop, eg::StopReason::NodeLimit);
}

// W1b's pruning makes its counts order-sensitive (egg-workloads.md section 2), so only the states
// it ends in are compared; they agree with egg's.
TEST(EGraphGolden, W1bEndStates) {
  const std::vector<WorkloadResult> all = run_workload("W1b", eg::SchedulerKind::Simple);
  ASSERT_EQ(all.size(), 4u);
  const struct {
    eg::StopReason stop;
    size_t nodes, classes;
  } expected[4] = {{eg::StopReason::Saturated, 36, 9},
                   {eg::StopReason::Saturated, 21, 7},
                   {eg::StopReason::NodeLimit, 269809, 103492},
                   {eg::StopReason::Saturated, 142, 20}};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(all[i].name);
    EXPECT_EQ(all[i].stop, expected[i].stop);
    EXPECT_EQ(all[i].nodes, expected[i].nodes);
    EXPECT_EQ(all[i].classes, expected[i].classes);
  }
  // simplify_root's match counts agree with egg's in every iteration but iteration 2.
  const std::vector<size_t> root_matches = {26, 86, 208, 307, 472, 604, 847, 1198, 4502, 35376, 595106};
  ASSERT_EQ(all[2].iterations.size(), root_matches.size());
  for (size_t i = 0; i < root_matches.size(); ++i) EXPECT_EQ(all[2].iterations[i].matches, root_matches[i]);
}

TEST(EGraphGolden, BackoffSchedulerBansExplosiveRules) {
  // W2 under egg's BackoffScheduler runs all 20 iterations and ends where egg does.
  const auto r = run_workload("W2", eg::SchedulerKind::Backoff).at(0);
  EXPECT_EQ(r.stop, eg::StopReason::IterationLimit);
  EXPECT_EQ(r.iterations.size(), 20u);
  EXPECT_EQ(r.nodes, 19105u);
  EXPECT_EQ(r.classes, 6817u);
}

// The whole W3 run: 16.4 M matches in its last iteration, 10.9 M e-nodes and 2 GB at the end, so
// it runs in release builds only (about 10 s); sanitizer and debug builds check iterations 0-3.
TEST(EGraphGolden, W3FullRunReleaseOnly) {
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  GTEST_SKIP() << "the full W3 run is checked in release builds only";
#else
  const WorkloadResult r = run_one("W3");
  expect_rows(r, {{397, 994, 597},
                  {1977, 3360, 1582},
                  {16633, 21118, 8985},
                  {299684, 288177, 122095},
                  {16412132, 10878060, 4796799}});
  EXPECT_EQ(r.iterations.size(), 5u);
  EXPECT_EQ(r.stop, eg::StopReason::NodeLimit);
  EXPECT_EQ(r.iterations[4].rules[0].matches, 287977u);
  EXPECT_EQ(r.iterations[4].rules[1].matches, 16124155u);
#endif
}
