#include "support/paths.h"

#include <filesystem>

namespace eqopt {

std::string installed_data_dir(const std::string& what) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path dir = exe.parent_path().parent_path() / "share" / "eqopt" / what;
  return std::filesystem::is_directory(dir, ec) ? dir.string() : "";
}

std::string data_dir(const std::string& what, const std::string& fallback) {
  const std::string d = installed_data_dir(what);
  return d.empty() ? fallback : d;
}

}  // namespace eqopt
