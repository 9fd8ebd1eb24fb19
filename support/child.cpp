#include "support/child.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>

namespace eqopt {

namespace {

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += size_t(w);
  }
  return true;
}

}  // namespace

ChildResult run_in_child(const std::function<std::string()>& work,
                         std::optional<std::chrono::steady_clock::time_point> deadline) {
  ChildResult res;
  int fds[2];
  if (::pipe(fds) != 0) {
    res.error = "cannot create a pipe";
    return res;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    res.error = "cannot fork";
    return res;
  }
  if (pid == 0) {
    ::close(fds[0]);
    int code = 0;
    try {
      code = write_all(fds[1], work()) ? 0 : 3;
    } catch (...) {
      code = 4;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  ::close(fds[1]);
  for (;;) {
    if (deadline) {
      const double left = std::chrono::duration<double>(*deadline - std::chrono::steady_clock::now()).count();
      pollfd p{fds[0], POLLIN, 0};
      const int ready = left > 0 ? ::poll(&p, 1, std::max(1, int(left * 1000))) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        ::kill(pid, SIGKILL);
        res.timed_out = true;
        break;
      }
    }
    char buf[65536];
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    res.bytes.append(buf, size_t(r));
  }
  ::close(fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (res.timed_out) {
    res.error = "time limit";
  } else if (WIFSIGNALED(wstatus)) {
    res.error = "signal " + std::to_string(WTERMSIG(wstatus));
  } else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    res.error = "exit code " + std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
  } else {
    res.ok = true;
  }
  return res;
}

}  // namespace eqopt
