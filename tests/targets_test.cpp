// Target descriptions, cost models, and per-target extraction (targets/, optimizer/pipeline.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ir/expand.h"
#include "onnx_io/onnx_io.h"
#include "optimizer/pipeline.h"
#include "rules/parser.h"
#include "targets/cost_model.h"
#include "targets/target.h"
#include "tests/test_util.h"

namespace eqopt {
namespace {

using namespace eqopt::test;
namespace fs = std::filesystem;

TensorType f32(Shape s) { return TensorType::of(DType::Float, s); }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Targets, BuiltinDescriptionsParseAndRoundTrip) {
  for (const std::string& name : tgt::builtin_target_names()) {
    const tgt::TargetDescription t = tgt::load_builtin_target(name);
    EXPECT_EQ(t.name, name);
    EXPECT_FALSE(t.matrix_peak.empty());
    const tgt::TargetDescription again = tgt::parse_target(tgt::write_target(t), "round-trip");
    EXPECT_EQ(tgt::write_target(again), tgt::write_target(t)) << name;
  }
  const tgt::TargetDescription npu = tgt::load_builtin_target("npu");
  EXPECT_EQ(npu.conv_layout, "NHWC");
  EXPECT_EQ(npu.host, "cpu");
  EXPECT_TRUE(npu.is_unsupported(OpId::parse("Erf")));
  EXPECT_DOUBLE_EQ(npu.onchip_size, 2.0 * 1024 * 1024);  // "2Mi"
  EXPECT_DOUBLE_EQ(npu.matrix_peak.at("float16"), 2.048e12);  // "2.048T"
}

// Own ops run as one kernel unless a target lists them under ops.not_fused: the cpu runs every one
// but Attention fused, the gpu all of them, the npu all it can run (Attention falls back to the host).
TEST(Targets, OwnOpsFuseUnlessListedAsNotFused) {
  const std::vector<std::string> own = {"FusedConv", "FusedMatMul", "Swish", "ConvNHWC", "Attention"};
  for (const std::string& name : tgt::builtin_target_names()) {
    const tgt::TargetDescription t = tgt::load_builtin_target(name);
    for (const std::string& op : own) {
      const OpId id("eqopt", op);
      EXPECT_EQ(t.fuses(id), !(name == "cpu" && op == "Attention")) << name << " " << op;
    }
  }
  EXPECT_TRUE(tgt::load_builtin_target("npu").is_unsupported(OpId("eqopt", "Attention")));
  // A description that lists ops.fused names the only ones that fuse.
  const tgt::TargetDescription only = tgt::parse_target(
      "name = t\n[compute]\nmatrix.float32 = 1G\nvector = 1G\n[memory]\ndram.bandwidth = 1G\n"
      "onchip.bandwidth = 2G\nonchip.size = 1Mi\n[overhead]\nkernel = 1e-6\n[ops]\nfused = eqopt.Swish\n",
      "t.target");
  EXPECT_TRUE(only.fuses(OpId("eqopt", "Swish")));
  EXPECT_FALSE(only.fuses(OpId("eqopt", "FusedConv")));
}

TEST(Targets, BadDescriptionsAreLocatedErrors) {
  const std::string good = "name = t\n[compute]\nmatrix.float32 = 1G\nvector = 1G\n[memory]\ndram.bandwidth = 1G\n"
                           "onchip.bandwidth = 2G\nonchip.size = 1Mi\n[overhead]\nkernel = 1e-6\n";
  EXPECT_NO_THROW(tgt::parse_target(good, "t.target"));
  auto error_of = [](const std::string& text) {
    try {
      tgt::parse_target(text, "t.target");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(good + "bogus = 1\n").find("t.target:11: unknown key 'overhead.bogus'"), std::string::npos)
      << error_of(good + "bogus = 1\n");
  EXPECT_NE(error_of(good + "kernel = 2\n").find("t.target:11: 'overhead.kernel' is given twice"), std::string::npos);
  EXPECT_NE(error_of("name = t\n[compute]\nvector = fast\n").find("t.target:3: 'compute.vector' needs a number"),
            std::string::npos);
  EXPECT_NE(error_of("name = t\n[compute\n").find("t.target:2:"), std::string::npos);
  EXPECT_NE(error_of("name = t\n").find("missing 'compute.matrix.<dtype>'"), std::string::npos);
  EXPECT_NE(error_of(good + "[ops]\nunsupported = Erf\n").find("needs a host.target"), std::string::npos);
  EXPECT_NE(error_of(good + "[ops]\nconv_layout = CHWN\n").find("NCHW or NHWC"), std::string::npos);
  EXPECT_NE(error_of(good + "[efficiency]\nconvs = 0.5\n").find("unknown op class 'convs'"), std::string::npos);
  EXPECT_NE(error_of(good + "[ops]\nfused = Conv\n").find("not an own op"), std::string::npos);
  EXPECT_NE(error_of(good + "[ops]\nnot_fused = eqopt.Nothing\n").find("names no own op"), std::string::npos);
  EXPECT_NE(error_of(good + "[ops]\nfused = eqopt.Swish\nnot_fused = eqopt.Attention\n").find("not both"),
            std::string::npos);
  EXPECT_THROW(tgt::load_builtin_target("tpu"), Error);
  EXPECT_THROW(tgt::load_target_file("/nonexistent/x.target"), Error);
}

// A hand-made description with round figures, so estimates can be checked by hand.
tgt::TargetDescription round_target() {
  return tgt::parse_target(
      "name = round\n[compute]\nmatrix.float32 = 1T\nvector = 1G\n[memory]\ndram.bandwidth = 1G\n"
      "onchip.bandwidth = 100G\nonchip.size = 1Mi\n[overhead]\nkernel = 1e-6\nview = 1e-8\n[ops]\n"
      "fused = eqopt.FusedConv, eqopt.ConvNHWC\nactivations = Relu\nconv_layout = NHWC\n[efficiency]\nmatmul = 0.5\ndefault = 1\n",
      "round.target");
}

TEST(CostModel, RooflineLevelsViewsAndLayouts) {
  const tgt::CostModel m(round_target());
  // A large MatMul is compute bound: 2*512^3 FLOP at 1 TFLOP/s and efficiency 0.5, plus 1 us.
  Node mm = make_node("MatMul", {"a", "b"}, {"c"});
  const tgt::OpCost c = m.cost(mm, {{f32({512, 512})}, {f32({512, 512})}}, {f32({512, 512})});
  EXPECT_EQ(c.op_class, "matmul");
  EXPECT_NEAR(c.total_s, 2.0 * 512 * 512 * 512 / 1e12 / 0.5 + 1e-6, 1e-9);
  // A small Relu: memory on chip (4 KiB in + out at 100 GB/s) and the kernel overhead; the same
  // tensor read from DRAM (a graph input) costs the DRAM bandwidth.
  Node relu = make_node("Relu", {"x"}, {"y"});
  const double on = m.cost(relu, {{f32({1024}), false}}, {f32({1024})}).total_s;
  const double off = m.cost(relu, {{f32({1024}), true}}, {f32({1024})}).total_s;
  EXPECT_NEAR(on, std::max(1024.0 / 1e9, 8192 / 100e9) + 1e-6, 1e-12);
  EXPECT_NEAR(off, std::max(1024.0 / 1e9, 4096 / 1e9 + 4096 / 100e9) + 1e-6, 1e-12);
  // A tensor beyond the on-chip size lives in DRAM.
  const double big = m.cost(relu, {{f32({1 << 20}), false}}, {f32({1 << 20})}).memory_s;
  EXPECT_NEAR(big, 2.0 * 4 * (1 << 20) / 1e9, 1e-9);
  // Reshape only relabels a buffer.
  Node reshape = make_node("Reshape", {"x", "s"}, {"y"});
  EXPECT_DOUBLE_EQ(m.cost(reshape, {{f32({64, 64})}, {TensorType::of(DType::Int64, Shape{2})}}, {f32({4096})}).total_s, 1e-8);
  // An NCHW convolution on an NHWC target pays a layout conversion; the NHWC one does not.
  Node conv = make_node("Conv", {"x", "w"}, {"y"}, {Attribute::make_ints("pads", {1, 1, 1, 1})});
  Node nhwc = conv;
  nhwc.domain = std::string(kEqoptDomain);
  nhwc.op_type = "ConvNHWC";
  const tgt::OpCost nchw_cost = m.cost(conv, {{f32({1, 16, 32, 32})}, {f32({16, 16, 3, 3}), true}}, {f32({1, 16, 32, 32})});
  const tgt::OpCost nhwc_cost = m.cost(nhwc, {{f32({1, 32, 32, 16})}, {f32({16, 16, 3, 3}), true}}, {f32({1, 32, 32, 16})});
  EXPECT_GT(nchw_cost.layout_s, 0);
  EXPECT_EQ(nhwc_cost.layout_s, 0);
  EXPECT_NEAR(nchw_cost.total_s - nchw_cost.layout_s, nhwc_cost.total_s, 1e-12);
}

TEST(CostModel, FusionsTheTargetLacksCostTheirDefinition) {
  const tgt::CostModel m(round_target());
  const std::vector<tgt::TensorArg> in = {{f32({1, 8, 16, 16})}, {f32({8, 8, 1, 1}), true}, {f32({8}), true}};
  const std::vector<TensorType> out = {f32({1, 8, 16, 16})};
  auto fused = [&](const std::string& act) {
    Node n = make_node("FusedConv", {"x", "w", "b"}, {"y"}, {Attribute::make_string("activation", act)});
    n.domain = std::string(kEqoptDomain);
    return n;
  };
  const tgt::OpCost relu = m.cost(fused("Relu"), in, out);
  EXPECT_FALSE(relu.expanded);
  // Sigmoid is not among the target's fused activations: Conv, then Sigmoid, two kernels.
  const tgt::OpCost sigmoid = m.cost(fused("Sigmoid"), in, out);
  EXPECT_TRUE(sigmoid.expanded);
  const tgt::OpCost conv = m.cost(make_node("Conv", {"x", "w", "b"}, {"y"}), in, out);
  const tgt::OpCost sig = m.cost(make_node("Sigmoid", {"y"}, {"z"}), {{out[0]}}, out);
  EXPECT_NEAR(sigmoid.total_s, conv.total_s + sig.total_s, 1e-12);
  EXPECT_LT(relu.total_s, sigmoid.total_s);
}

TEST(CostModel, UnsupportedOpsFallBackToTheHostWithTheTransfer) {
  const tgt::CostModel npu(tgt::load_builtin_target("npu"));
  const tgt::CostModel cpu(tgt::load_builtin_target("cpu"));
  Node erf = make_node("Erf", {"x"}, {"y"});
  const std::vector<tgt::TensorArg> in = {{f32({1, 128, 768})}};
  const std::vector<TensorType> out = {f32({1, 128, 768})};
  const tgt::OpCost on_npu = npu.cost(erf, in, out);
  EXPECT_TRUE(on_npu.host);
  // fp16 storage on the NPU: 2 bytes per element each way over the 8 GB/s link, plus 20 us.
  EXPECT_NEAR(on_npu.transfer_s, 2.0 * 2 * 128 * 768 / 8e9 + 20e-6, 1e-12);
  std::vector<tgt::TensorArg> host_in = in;
  host_in[0].offchip = true;
  EXPECT_NEAR(on_npu.total_s, cpu.cost(erf, host_in, out).total_s + on_npu.transfer_s, 1e-12);
  EXPECT_FALSE(npu.cost(make_node("Tanh", {"x"}, {"y"}), in, out).host);
}

// x (NHWC) -> Transpose to NCHW -> Conv -> Relu -> Conv -> Relu -> Transpose back to NHWC.
Model nhwc_conv_chain() {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.name = "chain";
  m.graph.inputs.push_back({"x", f32({1, 28, 28, 32})});
  m.graph.outputs.push_back({"y", f32({1, 28, 28, 32})});
  std::vector<float> w(32 * 32 * 3 * 3), b(32);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float((i * 7919) % 13) * 0.01f - 0.06f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.01f * float(i);
  m.graph.initializers.push_back({"w1", floats({32, 32, 3, 3}, w), ""});
  m.graph.initializers.push_back({"b1", floats({32}, b), ""});
  m.graph.initializers.push_back({"w2", floats({32, 32, 3, 3}, w), ""});
  m.graph.initializers.push_back({"b2", floats({32}, b), ""});
  const Attribute pads = Attribute::make_ints("pads", {1, 1, 1, 1});
  m.graph.nodes = {make_node("Transpose", {"x"}, {"t0"}, {Attribute::make_ints("perm", {0, 3, 1, 2})}),
                   make_node("Conv", {"t0", "w1", "b1"}, {"c1"}, {pads}),
                   make_node("Relu", {"c1"}, {"r1"}),
                   make_node("Conv", {"r1", "w2", "b2"}, {"c2"}, {pads}),
                   make_node("Relu", {"c2"}, {"r2"}),
                   make_node("Transpose", {"r2"}, {"y"}, {Attribute::make_ints("perm", {0, 2, 3, 1})})};
  return m;
}

int count_op(const Model& m, const std::string& op) {
  int n = 0;
  for (const Node& node : m.graph.nodes) n += node.op_type == op;
  return n;
}

TEST(TargetExtraction, EachTargetGetsItsOwnBestProgram) {
  const Model model = nhwc_conv_chain();
  const auto rules = rules::load_rule_dir(source_dir() + "/ruledb");
  std::vector<std::shared_ptr<const tgt::CostModel>> targets;
  for (const std::string& t : tgt::builtin_target_names()) targets.push_back(tgt::make_cost_model(t));
  opt::OptimizeOptions options;
  options.own_ops = true;
  options.extract_time_limit_s = 2;
  const opt::TargetMatrix m = opt::compare_targets(model, rules, targets, options);
  ASSERT_EQ(m.targets.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_LT(m.cost[t][t], m.original[t]) << m.targets[t];
    for (size_t u = 0; u < 3; ++u) EXPECT_LE(m.cost[t][t], m.cost[t][u] * (1 + 1e-9)) << m.targets[t] << " vs " << m.targets[u];
  }
  // Optimizing for one target runs the rules meant for it: the NPU (NHWC convolutions) keeps the
  // data channels-last; the CPU (NCHW convolutions, no conv-nhwc rule) fuses bias and Relu instead.
  opt::OptimizeOptions npu = options, cpu = options;
  npu.cost_model = targets[2];
  cpu.cost_model = targets[0];
  const opt::OptimizeResult on_npu = opt::optimize_model(model, rules, npu);
  const opt::OptimizeResult on_cpu = opt::optimize_model(model, rules, cpu);
  EXPECT_EQ(count_op(on_npu.extracted, "Transpose"), 0);
  EXPECT_EQ(count_op(on_npu.extracted, "ConvNHWC"), 2);
  EXPECT_EQ(count_op(on_cpu.extracted, "ConvNHWC"), 0);
  EXPECT_EQ(count_op(on_cpu.extracted, "FusedConv"), 2);
  // The report's per-class estimates add up to the totals.
  double sum = 0;
  for (const auto& [k, v] : on_npu.class_cost_after) sum += v;
  EXPECT_NEAR(sum, on_npu.cost_after, 1e-12);
}

TEST(TargetExtraction, RulesTaggedForOtherTargetsDoNotRun) {
  const auto rules = rules::load_rule_dir(source_dir() + "/ruledb");
  const auto cpu = opt::rules_for_target(rules, "cpu"), npu = opt::rules_for_target(rules, "npu");
  auto has = [](const std::vector<rules::Rule>& rs, const std::string& name) {
    return std::any_of(rs.begin(), rs.end(), [&](const rules::Rule& r) { return r.name == name; });
  };
  EXPECT_FALSE(has(cpu, "conv-nhwc"));
  EXPECT_TRUE(has(npu, "conv-nhwc"));
  EXPECT_TRUE(has(cpu, "conv-bn-fold"));
  EXPECT_EQ(opt::rules_for_target(rules, "my-accelerator").size(), rules.size());
}

TEST(TargetCli, HeadlineWritesTheOutputFolder) {
  const std::string dir = temp_dir("headline");
  const std::string model = dir + "/chain.onnx";
  save_model(nhwc_conv_chain(), model);
  const CommandResult r = run_command(eqopt_exe() + " " + model + " --target npu -o " + dir + "/out");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"model.onnx", "program.onnx", "report.txt", "report.json"})
    EXPECT_TRUE(fs::exists(dir + "/out/" + f)) << f;
  const auto report = nlohmann::json::parse(read_file(dir + "/out/report.json"));
  EXPECT_EQ(report["target"], "npu");
  EXPECT_LT(report["estimated_cost_ms"]["after"].get<double>(), report["estimated_cost_ms"]["before"].get<double>());
  EXPECT_TRUE(report["estimated_cost_by_class_ms"].contains("conv"));
  EXPECT_EQ(report["ops_target_program"]["eqopt.ConvNHWC"], 2);
  EXPECT_NE(r.out.find("estimated time per op class"), std::string::npos) << r.out;
  // Both written models compute what the original does.
  for (const char* f : {"model.onnx", "program.onnx"}) {
    const CommandResult v = run_command(eqopt_exe() + " verify " + model + " " + dir + "/out/" + f + " --seed 3");
    EXPECT_EQ(v.exit_code, 0) << f << ": " << v.out << v.err;
  }
  // `eqopt optimize --target` with explicit paths, and `eqopt info --target`.
  const CommandResult o = run_command(eqopt_exe() + " optimize " + model + " --target gpu -o " + dir + "/g.onnx --program " +
                                      dir + "/g.program.onnx --json " + dir + "/g.json");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/g.json"))["target"], "gpu");
  const CommandResult info = run_command(eqopt_exe() + " info " + model + " --target npu --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_GT(nlohmann::json::parse(info.out)["estimated_time_ms"].get<double>(), 0);
  // Bad targets: one-line errors, exit 2, nothing written.
  const CommandResult bad = run_command(eqopt_exe() + " " + model + " --target tpu -o " + dir + "/never");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown target 'tpu'"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir + "/never"));
  std::ofstream(dir + "/bad.target") << "name = x\n[compute]\nmatrix.float32 = lots\n";
  const CommandResult badfile = run_command(eqopt_exe() + " " + model + " --target-file " + dir + "/bad.target -o " + dir + "/never");
  EXPECT_EQ(badfile.exit_code, 2);
  EXPECT_NE(badfile.err.find("bad.target:3:"), std::string::npos) << badfile.err;
  EXPECT_FALSE(fs::exists(dir + "/never"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace eqopt
