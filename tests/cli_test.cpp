// The CLI end to end: info, run, check and --help on the example models.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {
std::string example(const std::string& name) { return source_dir() + "/examples/" + name; }
}  // namespace

TEST(Cli, HelpListsCommands) {
  const CommandResult r = run_command(eqopt_exe() + " --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* c : {"info", "run", "check"}) EXPECT_NE(r.out.find(c), std::string::npos);
  for (const char* c : {"info", "run", "check"})
    EXPECT_EQ(run_command(eqopt_exe() + " " + c + " --help").exit_code, 0) << c;
  EXPECT_EQ(run_command(eqopt_exe() + " frobnicate").exit_code, 2);
  EXPECT_EQ(run_command(eqopt_exe()).exit_code, 2);
}

TEST(Cli, InfoJsonDescribesTheResidualBlock) {
  const CommandResult r = run_command(eqopt_exe() + " info --json " + example("resnet_block.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["inputs"][0]["name"], "x");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse("[1,16,32,32]"));
  EXPECT_EQ(j["ops"]["Conv"], 2);
  EXPECT_EQ(j["ops"]["BatchNormalization"], 2);
  // 2 convs (16*16*9 + 16) + 2 BNs (4*16)
  EXPECT_EQ(j["parameters"], 2 * (16 * 16 * 9 + 16) + 2 * 4 * 16);
  // Conv: 2*16*9 MACs*2 per output + bias, over 16*32*32 outputs, twice; plus elementwise ops.
  const int64_t out = 16 * 32 * 32;
  const int64_t conv = 2 * out * (16 * 9) + out;
  EXPECT_EQ(j["flops"], 2 * conv + 2 * (2 * out) + 3 * out);
  EXPECT_EQ(j["flops_unknown_nodes"], 0);
}

TEST(Cli, InfoFixesDynamicDimsFromTheCommandLine) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const std::string m = shared_dir() + "/models/ch_ppocr_mobile_v2.0_cls_infer.onnx";
  const CommandResult r = run_command(eqopt_exe() + " info --json " + m + " --input-shape x=1x3x48x192");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse("[1,3,48,192]"));
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json::parse("[1,2]"));
  EXPECT_EQ(j["flops_unknown_nodes"], 0);
  EXPECT_GT(j["flops"].get<int64_t>(), 0);
}

TEST(Cli, RunWritesNpyOutputsAndIsSeeded) {
  const std::string dir = temp_dir("run");
  const std::string cmd = eqopt_exe() + " run " + example("transformer_block.onnx") + " --seed 3 --out " + dir;
  ASSERT_EQ(run_command(cmd).exit_code, 0);
  const NamedTensor a = load_tensor_file(dir + "/y.npy");
  EXPECT_EQ(a.value.shape(), (Shape{1, 16, 64}));
  ASSERT_EQ(run_command(cmd).exit_code, 0);
  EXPECT_TRUE(load_tensor_file(dir + "/y.npy").value.bit_equal(a.value));
  // Feeding the stored reference input reproduces the stored output.
  const std::string data = example("transformer_block.testdata/test_data_set_0");
  ASSERT_EQ(run_command(eqopt_exe() + " run " + example("transformer_block.onnx") + " --input x=" + data +
                        "/input_0.pb --out " + dir).exit_code, 0);
  EXPECT_TRUE(load_tensor_file(dir + "/y.npy").value.bit_equal(load_tensor_file(data + "/output_0.pb").value));
  fs::remove_all(dir);
}

TEST(Cli, CheckExamplesAndSummaryLine) {
  for (const char* m : {"resnet_block.onnx", "transformer_block.onnx"}) {
    const CommandResult r = run_command(eqopt_exe() + " check " + example(m));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("1 passed, 0 failed, 0 skipped"), std::string::npos) << r.out;
  }
}

TEST(Cli, CheckFailsWithTheLargestError) {
  // Perturb the expected output: check must fail, name the test and report the error.
  const std::string dir = temp_dir("perturb");
  fs::copy(example("resnet_block.onnx"), dir + "/m.onnx");
  fs::create_directories(dir + "/m.testdata/test_data_set_0");
  const std::string src = example("resnet_block.testdata/test_data_set_0");
  fs::copy(src + "/input_0.pb", dir + "/m.testdata/test_data_set_0/input_0.pb");
  NamedTensor out = load_tensor_file(src + "/output_0.pb");
  Tensor changed = out.value.clone();
  changed.mutable_data<float>()[7] += 0.5f;
  save_tensor_pb({out.name, changed}, dir + "/m.testdata/test_data_set_0/output_0.pb");
  const CommandResult r = run_command(eqopt_exe() + " check " + dir + "/m.onnx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL m.onnx"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max abs err 0.5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 1 failed, 0 skipped"), std::string::npos) << r.out;
  // Loosening the tolerance makes it pass.
  EXPECT_EQ(run_command(eqopt_exe() + " check " + dir + "/m.onnx --atol 0.6").exit_code, 0);
  fs::remove_all(dir);
}

TEST(Examples, CommittedModelsMatchTheGenerator) {
  const std::string dir = temp_dir("gen");
  ASSERT_EQ(run_command(binary_dir() + "/bin/eqopt_make_examples " + dir).exit_code, 0);
  for (const char* m : {"resnet_block.onnx", "transformer_block.onnx", "mobile_block.onnx"})
    EXPECT_TRUE(read_file(dir + "/" + m) == read_file(example(m))) << m << " differs from the generator's output";
  fs::remove_all(dir);
}

TEST(Cli, OptimizeThenVerify) {
  const std::string dir = temp_dir("optverify");
  const CommandResult o = run_command(eqopt_exe() + " optimize " + example("resnet_block.onnx") + " -o " + dir +
                                      "/m.onnx --json " + dir + "/report.json");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto report = nlohmann::json::parse(read_file(dir + "/report.json"));
  EXPECT_EQ(report["ops_before"]["BatchNormalization"], 2);
  EXPECT_FALSE(report["ops_after"].contains("BatchNormalization"));
  EXPECT_EQ(report["rules_fired"]["conv-bn-fold"], 2);
  // The report's estimated cost falls with the folded BatchNormalizations; every phase is timed.
  EXPECT_LT(report["estimated_cost_ms"]["after"].get<double>(), report["estimated_cost_ms"]["before"].get<double>());
  for (const char* phase : {"load", "import", "saturate", "extract", "export"})
    EXPECT_TRUE(report["time_ms"].contains(phase)) << phase;
  const CommandResult v = run_command(eqopt_exe() + " verify " + example("resnet_block.onnx") + " " + dir + "/m.onnx --seed 5");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("ok   y"), std::string::npos) << v.out;
  // Different models: the outputs disagree (exit 1); incompatible outputs are an error (exit 2).
  EXPECT_EQ(run_command(eqopt_exe() + " verify " + example("resnet_block.onnx") + " " + dir + "/m.onnx --atol 0 --rtol 0").exit_code, 1);
  EXPECT_EQ(run_command(eqopt_exe() + " verify " + example("resnet_block.onnx") + " " + example("transformer_block.onnx")).exit_code, 2);
  // A bad rule file is a located error and writes nothing.
  fs::create_directories(dir + "/badrules");
  std::ofstream(dir + "/badrules/x.rules") << "rule broken:\n  (Relu ?x) => ?y\n";
  const CommandResult bad = run_command(eqopt_exe() + " optimize " + example("resnet_block.onnx") + " -o " + dir +
                                        "/never.onnx --rules " + dir + "/badrules");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("x.rules:2:"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir + "/never.onnx"));
  fs::remove_all(dir);
}
