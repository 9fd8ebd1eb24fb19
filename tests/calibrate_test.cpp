// CPU calibration (lowering/calibrate.h): Spearman's rank correlation, the kernel table's ONNX side,
// the fit on synthetic times, a quick real calibration, and `eqopt calibrate` end to end. Nothing
// asserts on measured times: the machine is shared and noisy.
#include <gtest/gtest.h>

#include <cctype>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ir/op_registry.h"
#include "lowering/calibrate.h"
#include "support/error.h"
#include "targets/cost_model.h"
#include "targets/target.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {

bool close_rel(double a, double b, double rel) { return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b)); }

}  // namespace

TEST(Calibrate, AverageRanksShareTies) {
  EXPECT_EQ(lower::average_ranks({10, 20, 20, 30, 20}), (std::vector<double>{1, 3, 3, 5, 3}));
  EXPECT_EQ(lower::average_ranks({3, 1, 2}), (std::vector<double>{3, 1, 2}));
  EXPECT_EQ(lower::average_ranks({}), (std::vector<double>{}));
}

TEST(Calibrate, SpearmanOnKnownSeries) {
  EXPECT_DOUBLE_EQ(lower::spearman({1, 2, 3, 4}, {10, 20, 30, 400}), 1.0);  // monotone, not linear
  EXPECT_DOUBLE_EQ(lower::spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // The textbook example (IQ against hours of television a week): rho = 1 - 6*194/(10*99) = -29/165.
  const std::vector<double> iq = {106, 100, 86, 101, 99, 103, 97, 113, 112, 110};
  const std::vector<double> tv = {7, 27, 2, 50, 28, 29, 20, 12, 6, 17};
  EXPECT_NEAR(lower::spearman(iq, tv), -29.0 / 165.0, 1e-12);
  // Ties: ranks {1, 2.5, 2.5, 4} against {1, 2, 3, 4}: 4.5 / sqrt(4.5 * 5).
  EXPECT_NEAR(lower::spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(22.5), 1e-12);
  EXPECT_NEAR(lower::spearman({5, 5, 1, 1}, {2, 2, 1, 1}), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(lower::spearman({1, 1, 1}, {1, 2, 3})));  // a constant series
  EXPECT_TRUE(std::isnan(lower::spearman({1}, {2})));
  EXPECT_THROW(lower::spearman({1, 2}, {1, 2, 3}), Error);
}

// Every kernel's ONNX node is what the shape inference of eqopt's op table accepts, with the outputs
// the kernel declares: the cost model estimates the computation oneDNN runs.
TEST(Calibrate, KernelNodesInferToTheirDeclaredOutputs) {
  const std::vector<lower::KernelSpec> all = lower::calibration_kernels();
  ASSERT_GE(all.size(), 20u);
  std::set<std::string> names, classes;
  size_t tiny = 0;
  for (const lower::KernelSpec& k : all) {
    SCOPED_TRACE(k.name);
    EXPECT_TRUE(names.insert(k.name).second) << "duplicate kernel name";
    classes.insert(tgt::CostModel::op_class(k.node));
    tiny += k.tiny;
    ASSERT_EQ(k.inputs.size(), k.node.inputs.size());
    std::vector<TensorType> types;
    for (const tgt::TensorArg& a : k.inputs) types.push_back(a.type);
    InferContext ctx(k.node, k.opset, types, std::vector<const Tensor*>(types.size(), nullptr));
    const OpSchema* schema = OpRegistry::global().find(k.node.domain, k.node.op_type);
    ASSERT_NE(schema, nullptr);
    ASSERT_NO_THROW(infer_node(schema, ctx));
    EXPECT_EQ(ctx.output_types(), k.outputs);
  }
  EXPECT_GE(tiny, 3u);
  for (const char* c : {"conv", "matmul", "activation", "elementwise", "pooling", "softmax", "normalization", "data",
                        "reduction"})
    EXPECT_TRUE(classes.count(c)) << c;
  const std::vector<lower::KernelSpec> quick = lower::calibration_kernels(true);
  EXPECT_LT(quick.size(), all.size());
  size_t quick_tiny = 0;
  for (const lower::KernelSpec& k : quick) quick_tiny += k.tiny;
  EXPECT_EQ(quick_tiny, tiny);
}

// Times made from a known description (roofline / efficiency + overhead) are fitted back to it.
TEST(Calibrate, FitRecoversSyntheticEfficiencies) {
  tgt::TargetDescription base = tgt::load_builtin_target("cpu");
  // Start from class factors only (the shipped description also has fitted op-type keys).
  for (auto it = base.efficiency.begin(); it != base.efficiency.end();)
    it = std::isupper(static_cast<unsigned char>(it->first[0])) ? base.efficiency.erase(it) : std::next(it);
  const std::map<std::string, double> truth = {{"conv", 0.7},          {"matmul", 0.8},  {"activation", 0.3},
                                               {"elementwise", 0.45},  {"pooling", 0.2}, {"softmax", 0.15},
                                               {"normalization", 0.25}, {"data", 0.35},  {"reduction", 0.4}};
  const double overhead = 3e-6;
  tgt::TargetDescription unit = base;
  for (auto& [k, e] : unit.efficiency) e = 1;
  unit.kernel_overhead = 0;
  const tgt::CostModel roofline(unit);
  const std::vector<lower::KernelSpec> specs = lower::calibration_kernels();
  auto times = [&](const std::string& slow_type, double slow_factor) {
    std::vector<double> t;
    for (const lower::KernelSpec& k : specs) {
      double e = truth.at(tgt::CostModel::op_class(k.node));
      if (k.node.op_type == slow_type) e /= slow_factor;
      t.push_back(roofline.cost(k.node, k.inputs, k.outputs).total_s / e + overhead);
    }
    return t;
  };

  const lower::Calibration cal = lower::fit_timings(base, specs, times("", 1));
  // The tiny kernels' rooflines are a few nanoseconds: the overhead comes back within 1%.
  EXPECT_TRUE(close_rel(cal.fitted.kernel_overhead, overhead, 0.01)) << cal.fitted.kernel_overhead;
  for (const auto& [cls, e] : truth) EXPECT_TRUE(close_rel(cal.fitted.efficiency.at(cls), e, 0.02)) << cls;
  if (base.efficiency.count("other")) {
    EXPECT_EQ(cal.fitted.efficiency.at("other"), base.efficiency.at("other"));  // no kernels: kept
  }
  // Op types as fast as their class get no keys of their own.
  for (const auto& [key, e] : cal.fitted.efficiency)
    EXPECT_TRUE(key == "default" || truth.count(key) || base.efficiency.count(key)) << key;
  EXPECT_GT(cal.spearman_after, 0.99);
  EXPECT_LT(cal.log_error_after, 0.02);
  EXPECT_LT(cal.log_error_after, cal.log_error_before);
  ASSERT_EQ(cal.kernels.size(), specs.size());
  for (const lower::KernelTiming& k : cal.kernels) {
    EXPECT_GT(k.bytes, 0) << k.name;
    EXPECT_GT(k.roofline_s, 0) << k.name;
  }

  // An op type four times slower than its class gets a factor of its own (unless disabled).
  const lower::Calibration slow = lower::fit_timings(base, specs, times("Gelu", 4));
  ASSERT_TRUE(slow.fitted.efficiency.count("Gelu"));
  EXPECT_TRUE(close_rel(slow.fitted.efficiency.at("Gelu"), 0.3 / 4, 0.02));
  lower::CalibrateOptions classes_only;
  classes_only.per_op_type = false;
  EXPECT_FALSE(lower::fit_timings(base, specs, times("Gelu", 4), classes_only).fitted.efficiency.count("Gelu"));
  // An op-type key the description already has is refitted.
  base.efficiency["MatMul"] = 0.05;
  EXPECT_TRUE(close_rel(lower::fit_timings(base, specs, times("", 1)).fitted.efficiency.at("MatMul"), 0.8, 0.02));

  EXPECT_THROW(lower::fit_timings(base, specs, {1.0}), Error);
}

TEST(Calibrate, QuickCalibrationFitsTheCpuDescription) {
  lower::set_cpu_threads(1);
  lower::CalibrateOptions options;
  options.quick = true;
  const tgt::TargetDescription base = tgt::load_builtin_target("cpu");
  const lower::Calibration cal = lower::calibrate_cpu(base, options);
  EXPECT_EQ(cal.threads, 1);
  EXPECT_NE(cal.runtime.find("oneDNN"), std::string::npos);
  EXPECT_EQ(cal.kernels.size(), lower::calibration_kernels(true).size());
  for (const lower::KernelTiming& k : cal.kernels) {
    EXPECT_GT(k.measured_s, 0) << k.name;
    EXPECT_GE(k.runs, 1) << k.name;
    EXPECT_TRUE(std::isfinite(k.estimate_after_s) && k.estimate_after_s > 0) << k.name;
  }
  ASSERT_FALSE(cal.fitted.efficiency.empty());
  for (const auto& [key, e] : cal.fitted.efficiency) {
    EXPECT_TRUE(std::isfinite(e)) << key;
    EXPECT_GE(e, 0.01) << key;
    EXPECT_LE(e, 4.0) << key;
  }
  EXPECT_TRUE(std::isfinite(cal.fitted.kernel_overhead));
  EXPECT_GE(cal.fitted.kernel_overhead, 0);
  EXPECT_TRUE(std::isfinite(cal.spearman_before));
  EXPECT_TRUE(std::isfinite(cal.spearman_after));
  // The fitted description round-trips through the file format.
  const std::string text = tgt::write_target(cal.fitted);
  const tgt::TargetDescription back = tgt::parse_target(text, "fitted.target");
  EXPECT_EQ(tgt::write_target(back), text);
  EXPECT_EQ(back.efficiency.size(), cal.fitted.efficiency.size());
  for (const auto& [key, e] : cal.fitted.efficiency) EXPECT_TRUE(close_rel(back.efficiency.at(key), e, 1e-5)) << key;
  EXPECT_TRUE(close_rel(back.kernel_overhead, cal.fitted.kernel_overhead, 1e-5));
}

TEST(Calibrate, CliRefusesTargetsWithoutLocalHardware) {
  for (const char* t : {"gpu", "npu"}) {
    const CommandResult r = run_command(eqopt_exe() + " calibrate --target " + t + " --quick");
    EXPECT_EQ(r.exit_code, 2) << t;
    EXPECT_NE(r.err.find("only cpu can be calibrated here"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_command(eqopt_exe() + " calibrate --quick").exit_code, 2);  // no target
  EXPECT_EQ(run_command(eqopt_exe() + " calibrate --target cpu --reps 0").exit_code, 2);
  EXPECT_EQ(run_command(eqopt_exe() + " calibrate --help").exit_code, 0);
}

TEST(Calibrate, CliQuickWritesALoadableDescription) {
  const std::string dir = temp_dir("calibrate");
  const std::string out = dir + "/cpu_fitted.target";
  const CommandResult r =
      run_command("OMP_NUM_THREADS=1 " + eqopt_exe() + " calibrate --target cpu --quick --json -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["target"], "cpu");
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["kernels"].size(), lower::calibration_kernels(true).size());
  for (const auto& k : j["kernels"]) EXPECT_GT(k["measured_s"].get<double>(), 0) << k["name"];
  EXPECT_EQ(j["output"], out);
  const tgt::TargetDescription t = tgt::load_target_file(out);
  EXPECT_EQ(t.name, "cpu");
  EXPECT_FALSE(t.efficiency.empty());
  std::ifstream f(out);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_EQ(text.str().rfind("# Fitted by `eqopt calibrate`", 0), 0u) << text.str();
  // The plain-text report names the statistics.
  const CommandResult txt = run_command("OMP_NUM_THREADS=1 " + eqopt_exe() + " calibrate --target cpu --quick --reps 2");
  ASSERT_EQ(txt.exit_code, 0) << txt.err;
  EXPECT_NE(txt.out.find("Spearman"), std::string::npos);
  EXPECT_NE(txt.out.find("[efficiency]"), std::string::npos);
  fs::remove_all(dir);
}
