// Running a piece of work in a forked child process, for solvers that may abort (an assertion in
// Debian's CLP) or ignore their own time limits (Z3's nonlinear tactics): a crash or an overrun
// ends the child, never eqopt.
#pragma once
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace eqopt {

struct ChildResult {
  bool ok = false;         // the child ran `work` to the end and exited normally
  bool timed_out = false;  // killed at the deadline
  std::string bytes;       // what `work` returned (complete only when ok)
  std::string error;       // when not ok: "cannot fork", "signal 6", "exit code 3", "time limit", ...
};

// Runs `work` in a forked child and returns the bytes it produced. With a deadline, a child still
// running then is killed (SIGKILL). An exception out of `work` ends the child with exit code 4.
// Only the calling thread exists in the child: `work` must not wait on other threads' locks.
ChildResult run_in_child(const std::function<std::string()>& work,
                         std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

}  // namespace eqopt
