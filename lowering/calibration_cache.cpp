#include "lowering/calibration_cache.h"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lowering/calibrate.h"
#include "onnx_io/onnx_io.h"
#include "runtime/cpu/dnnl_util.h"
#include "support/error.h"

namespace eqopt::lower {

namespace fs = std::filesystem;

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      std::string v = colon == std::string::npos ? "" : line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "unknown CPU";
}

std::string cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "eqopt").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "eqopt").string();
  return "";
}


}  // namespace

std::string utc_now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string calibration_machine_key() {
  const std::string isa = rt::cpu_machine_key();
  return cpu_model_name() + " | " + isa.substr(0, isa.find(',')) + " | " + std::to_string(cpu_threads()) + " threads";
}

std::string calibration_cache_path() {
  const std::string dir = cache_dir();
  if (dir.empty()) return "";
  std::string file = "cpu-";
  for (char c : calibration_machine_key()) file += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '_';
  return (fs::path(dir) / (file + ".target")).string();
}

std::string store_calibration(const std::string& text) {
  const std::string path = calibration_cache_path();
  if (path.empty()) fail("no cache folder for the calibration (neither XDG_CACHE_HOME nor HOME is set)");
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) fail(fs::path(path).parent_path().string(), ": cannot create the cache folder (", ec.message(), ")");
  write_file_atomic(path, text);
  return path;
}

MachineDescription cpu_description_for_this_machine() {
  const tgt::TargetDescription shipped = tgt::load_builtin_target("cpu");
  if (const char* off = std::getenv("EQOPT_CALIBRATION"); off && std::string(off) == "off")
    return {shipped, "shipped (" + shipped.source + "; EQOPT_CALIBRATION=off)"};
  const std::string path = calibration_cache_path();
  std::error_code ec;
  if (!path.empty() && fs::is_regular_file(path, ec)) {
    try {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string text = ss.str();
      std::string when;
      if (const size_t on = text.find(" on "); text.rfind("# Fitted", 0) == 0 && on != std::string::npos)
        when = ", fitted " + text.substr(on + 4, text.find(" (", on) - on - 4);
      tgt::TargetDescription d = tgt::parse_target(text, path);
      return {d, "calibrated on this machine (" + path + when + ")"};
    } catch (const Error&) {
      // A damaged cache is replaced below.
    }
  }
  CalibrateOptions o;
  o.quick = true;
  const Calibration cal = calibrate_cpu(shipped, o);
  const std::string text = "# Fitted by eqopt on " + utc_now() + " (" + cal.runtime + "), quick calibration on first use, " +
                           std::to_string(cal.kernels.size()) + " kernels; `eqopt calibrate --target cpu` refits it fully.\n" +
                           tgt::write_target(cal.fitted);
  try {
    const std::string stored = store_calibration(text);
    return {cal.fitted, "calibrated on this machine now (quick; written to " + stored + ")"};
  } catch (const Error&) {
    return {cal.fitted, "calibrated on this machine now (quick; the cache could not be written)"};
  }
}

}  // namespace eqopt::lower
