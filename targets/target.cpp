#include "targets/target.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "ir/expand.h"
#include "ir/op_registry.h"
#include "support/error.h"

#ifndef EQOPT_TARGETS_DIR
#define EQOPT_TARGETS_DIR "targets"
#endif

namespace eqopt::tgt {

double TargetDescription::efficiency_for(const std::string& op_type, const std::string& op_class) const {
  if (auto it = efficiency.find(op_type); it != efficiency.end()) return it->second;
  if (auto it = efficiency.find(op_class); it != efficiency.end()) return it->second;
  if (auto it = efficiency.find("default"); it != efficiency.end()) return it->second;
  return 1.0;
}

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

const std::set<std::string> kDtypes = {"float32", "float16", "bfloat16", "float64", "int8", "int32"};
const std::set<std::string> kClasses = {"default", "conv",  "matmul", "elementwise", "activation", "normalization",
                                        "pooling", "reduction", "softmax", "data", "other"};

struct Parser {
  std::string where;
  int line = 0;

  template <class... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    fail(where, ":", line, ": ", parts...);
  }

  double number(const std::string& key, const std::string& v) const {
    struct Suffix {
      const char* text;
      double scale;
    };
    static const Suffix suffixes[] = {{"Ki", 1024.0}, {"Mi", 1024.0 * 1024}, {"Gi", 1024.0 * 1024 * 1024},
                                      {"k", 1e3},     {"M", 1e6},            {"G", 1e9},
                                      {"T", 1e12}};
    std::string digits = v;
    double scale = 1;
    for (const Suffix& s : suffixes) {
      const std::string t = s.text;
      if (digits.size() > t.size() && digits.compare(digits.size() - t.size(), t.size(), t) == 0) {
        digits = trim(digits.substr(0, digits.size() - t.size()));
        scale = s.scale;
        break;
      }
    }
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(digits, &used);
    } catch (const std::exception&) {
      error("'", key, "' needs a number, found '", v, "'");
    }
    if (used != digits.size() || !std::isfinite(x)) error("'", key, "' needs a number, found '", v, "'");
    return x * scale;
  }

  double positive(const std::string& key, const std::string& v) const {
    const double x = number(key, v);
    if (!(x > 0)) error("'", key, "' must be greater than 0, found ", v);
    return x;
  }

  double non_negative(const std::string& key, const std::string& v) const {
    const double x = number(key, v);
    if (x < 0) error("'", key, "' must not be negative, found ", v);
    return x;
  }
};

std::set<std::string> split_list(const std::string& v) {
  std::set<std::string> out;
  std::string cur;
  for (char c : v + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty()) out.insert(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// A list of ops, each written as OpId::parse reads it ("Erf", "eqopt.Attention").
std::set<OpId> split_ops(const std::string& v) {
  std::set<OpId> out;
  for (const std::string& s : split_list(v)) out.insert(OpId::parse(s));
  return out;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::string join(const std::set<OpId>& s) {
  std::string out;
  for (const OpId& x : s) out += (out.empty() ? "" : ", ") + x.str();
  return out;
}

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

}  // namespace

TargetDescription parse_target(const std::string& text, const std::string& where) {
  TargetDescription t;
  t.source = where;
  Parser p{where};
  std::istringstream in(text);
  std::string raw, section;
  std::set<std::string> seen;
  bool any_matrix = false;
  while (std::getline(in, raw)) {
    ++p.line;
    std::string s = raw;
    if (const size_t hash = s.find('#'); hash != std::string::npos) s = s.substr(0, hash);
    s = trim(s);
    if (s.empty()) continue;
    if (s.front() == '[') {
      if (s.back() != ']') p.error("a section header must end with ']'");
      section = trim(s.substr(1, s.size() - 2));
      if (section.empty()) p.error("empty section name");
      continue;
    }
    const size_t eq = s.find('=');
    if (eq == std::string::npos) p.error("expected 'key = value', found '", s, "'");
    const std::string short_key = trim(s.substr(0, eq));
    const std::string v = trim(s.substr(eq + 1));
    if (short_key.empty()) p.error("a line has no key before '='");
    const std::string key = section.empty() ? short_key : section + "." + short_key;
    if (!seen.insert(key).second) p.error("'", key, "' is given twice");
    if (v.empty()) p.error("'", key, "' has no value");

    if (key == "name") {
      t.name = v;
    } else if (key == "description") {
      t.description = v;
    } else if (key.rfind("compute.matrix.", 0) == 0) {
      const std::string dt = key.substr(15);
      if (!kDtypes.count(dt)) p.error("unknown dtype '", dt, "' in '", key, "' (one of float32, float16, bfloat16, float64, int8, int32)");
      t.matrix_peak[dt] = p.positive(key, v);
      any_matrix = true;
    } else if (key == "compute.matrix_dtype" || key == "compute.storage_dtype") {
      if (!kDtypes.count(v)) p.error("unknown dtype '", v, "' for '", key, "'");
      (key == "compute.matrix_dtype" ? t.matrix_dtype : t.storage_dtype) = v;
    } else if (key == "compute.vector") {
      t.vector_peak = p.positive(key, v);
    } else if (key == "memory.dram.bandwidth") {
      t.dram_bandwidth = p.positive(key, v);
    } else if (key == "memory.onchip.bandwidth") {
      t.onchip_bandwidth = p.positive(key, v);
    } else if (key == "memory.onchip.size") {
      t.onchip_size = p.non_negative(key, v);
    } else if (key == "overhead.kernel") {
      t.kernel_overhead = p.non_negative(key, v);
    } else if (key == "overhead.view") {
      t.view_overhead = p.non_negative(key, v);
    } else if (key == "host.target") {
      t.host = v;
    } else if (key == "host.bandwidth") {
      t.host_bandwidth = p.positive(key, v);
    } else if (key == "host.transfer_overhead") {
      t.host_transfer_overhead = p.non_negative(key, v);
    } else if (key == "ops.unsupported") {
      t.unsupported = split_ops(v);
    } else if (key == "ops.fused" || key == "ops.not_fused") {
      const std::set<OpId> ops = split_ops(v);
      for (const OpId& f : ops) {
        if (f.domain != kEqoptDomain) p.error("'", f.str(), "' in ", key, " is not an own op (eqopt.NAME)");
        if (!OpRegistry::global().find(f)) p.error("'", f.str(), "' in ", key, " names no own op eqopt has");
      }
      if (key == "ops.fused") t.fused = ops;
      else t.not_fused = ops;
      if (t.fused && !t.not_fused.empty()) p.error("give ops.fused or ops.not_fused, not both");
    } else if (key == "ops.activations") {
      t.activations = split_list(v);
    } else if (key == "ops.conv_layout") {
      if (v != "NCHW" && v != "NHWC") p.error("ops.conv_layout must be NCHW or NHWC, found '", v, "'");
      t.conv_layout = v;
    } else if (key.rfind("efficiency.", 0) == 0) {
      const std::string what = key.substr(11);
      const bool op_type = !what.empty() && std::isupper(static_cast<unsigned char>(what[0]));
      if (!op_type && !kClasses.count(what))
        p.error("unknown op class '", what, "' in '", key,
                "' (an op type starts with a capital; classes: default, conv, matmul, elementwise, activation, "
                "normalization, pooling, reduction, softmax, data, other)");
      const double e = p.positive(key, v);
      if (e > 4) p.error("'", key, "' is a fraction of the roofline and cannot exceed 4, found ", v);
      t.efficiency[what] = e;
    } else {
      p.error("unknown key '", key, "' (see docs/targets.md)");
    }
  }
  p.line = 0;
  auto require = [&](bool ok, const char* key) {
    if (!ok) fail(where, ": missing '", key, "'");
  };
  require(!t.name.empty(), "name");
  require(any_matrix, "compute.matrix.<dtype>");
  require(t.vector_peak > 0, "compute.vector");
  require(t.dram_bandwidth > 0, "memory.dram.bandwidth");
  require(t.onchip_bandwidth > 0, "memory.onchip.bandwidth");
  require(seen.count("memory.onchip.size") > 0, "memory.onchip.size");
  require(seen.count("overhead.kernel") > 0, "overhead.kernel");
  if (!t.matrix_dtype.empty() && !t.matrix_peak.count(t.matrix_dtype))
    fail(where, ": compute.matrix_dtype is ", t.matrix_dtype, " but there is no compute.matrix.", t.matrix_dtype);
  if (!t.unsupported.empty()) {
    if (t.host.empty()) fail(where, ": ops.unsupported needs a host.target to run those ops");
    require(t.host_bandwidth > 0, "host.bandwidth");
  }
  if (t.host == t.name) fail(where, ": host.target cannot be the target itself");
  return t;
}

std::string write_target(const TargetDescription& t) {
  std::ostringstream o;
  o << "name = " << t.name << "\n";
  if (!t.description.empty()) o << "description = " << t.description << "\n";
  o << "\n[compute]\n";
  for (const auto& [dt, peak] : t.matrix_peak) o << "matrix." << dt << " = " << num(peak) << "\n";
  if (!t.matrix_dtype.empty()) o << "matrix_dtype = " << t.matrix_dtype << "\n";
  o << "vector = " << num(t.vector_peak) << "\n";
  if (!t.storage_dtype.empty()) o << "storage_dtype = " << t.storage_dtype << "\n";
  o << "\n[memory]\n";
  o << "dram.bandwidth = " << num(t.dram_bandwidth) << "\n";
  o << "onchip.bandwidth = " << num(t.onchip_bandwidth) << "\n";
  o << "onchip.size = " << num(t.onchip_size) << "\n";
  o << "\n[overhead]\n";
  o << "kernel = " << num(t.kernel_overhead) << "\n";
  o << "view = " << num(t.view_overhead) << "\n";
  if (!t.host.empty()) {
    o << "\n[host]\n";
    o << "target = " << t.host << "\n";
    if (t.host_bandwidth > 0) o << "bandwidth = " << num(t.host_bandwidth) << "\n";
    o << "transfer_overhead = " << num(t.host_transfer_overhead) << "\n";
  }
  o << "\n[ops]\n";
  if (!t.unsupported.empty()) o << "unsupported = " << join(t.unsupported) << "\n";
  if (t.fused) o << "fused = " << join(*t.fused) << "\n";
  if (!t.not_fused.empty()) o << "not_fused = " << join(t.not_fused) << "\n";
  if (!t.activations.empty()) o << "activations = " << join(t.activations) << "\n";
  o << "conv_layout = " << t.conv_layout << "\n";
  if (!t.efficiency.empty()) {
    o << "\n[efficiency]\n";
    for (const auto& [k, e] : t.efficiency) o << k << " = " << num(e) << "\n";
  }
  return o.str();
}

std::vector<std::string> builtin_target_names() { return {"cpu", "gpu", "npu"}; }

std::string targets_dir() {
  if (const char* env = std::getenv("EQOPT_TARGETS_DIR"); env && *env) return env;
  return EQOPT_TARGETS_DIR;
}

TargetDescription load_target_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open the target description");
  std::ostringstream text;
  text << f.rdbuf();
  return parse_target(text.str(), path);
}

TargetDescription load_builtin_target(const std::string& name) {
  const std::vector<std::string> names = builtin_target_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    fail("unknown target '", name, "' (built-in targets: cpu, gpu, npu; or give a file with --target-file)");
  return load_target_file(targets_dir() + "/" + name + ".target");
}

}  // namespace eqopt::tgt
