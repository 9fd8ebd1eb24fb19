#include "egraph/runner.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace eqopt::eg {

std::string_view stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Saturated: return "Saturated";
    case StopReason::IterationLimit: return "IterationLimit";
    case StopReason::NodeLimit: return "NodeLimit";
    case StopReason::TimeLimit: return "TimeLimit";
    case StopReason::MemoryLimit: return "MemoryLimit";
    case StopReason::Hook: return "Hook";
  }
  return "?";
}

size_t resident_memory_bytes() {
  // statm's second field is the resident page count; reading it costs a few microseconds.
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? size_t(resident) * size_t(sysconf(_SC_PAGESIZE)) : 0;
}

size_t peak_resident_memory_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return size_t(std::stoull(line.substr(6))) * 1024;
  return 0;
}

size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : size_t(8) << 30;
}

}  // namespace eqopt::eg
