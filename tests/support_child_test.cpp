// run_in_child (support/child.h): bytes come back whole, a crash or an exception is reported, and a
// child past its deadline is killed instead of waited for.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/child.h"

namespace eqopt {
namespace {

using Clock = std::chrono::steady_clock;

TEST(RunInChild, ReturnsWhatTheWorkProduced) {
  // More than a pipe holds, so the parent must read while the child writes.
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = char('a' + (i / 4096) % 26);
  const ChildResult r = run_in_child([&] { return big; });
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.bytes, big);
}

TEST(RunInChild, ACrashIsReportedNotPropagated) {
  const ChildResult r = run_in_child([]() -> std::string {
    std::signal(SIGABRT, SIG_DFL);
    std::abort();
  });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "signal " + std::to_string(SIGABRT));
}

TEST(RunInChild, AnExceptionEndsTheChildWithExitCode4) {
  const ChildResult r = run_in_child([]() -> std::string { throw std::runtime_error("no"); });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "exit code 4");
}

TEST(RunInChild, AChildPastItsDeadlineIsKilled) {
  const auto start = Clock::now();
  const ChildResult r = run_in_child(
      [] {
        std::this_thread::sleep_for(std::chrono::seconds(60));
        return std::string("late");
      },
      start + std::chrono::milliseconds(200));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.error, "time limit");
  EXPECT_TRUE(r.bytes.empty());
  // Not waited for: far less than the child's minute (a loose bound for a loaded machine).
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 30.0);
}

TEST(RunInChild, AWorkThatEndsBeforeItsDeadlineIsNotKilled) {
  const ChildResult r = run_in_child([] { return std::string("done"); }, Clock::now() + std::chrono::seconds(60));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.bytes, "done");
}

}  // namespace
}  // namespace eqopt
