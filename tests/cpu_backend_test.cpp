// The CPU backend: plans compiled from models (lowering/cpu_compile.h) and run by the runtime
// (runtime/session.h) give the reference interpreter's outputs; plan files round-trip and bad ones
// are refused with one line; the command line runs node tests, shared models and compiled folders.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "interp/interpreter.h"
#include "lowering/cpu_compile.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "test_util.h"

namespace eqopt {
namespace {

namespace fs = std::filesystem;
using test::make_node;

Tensor random_floats(const Shape& shape, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(DType::Float, shape);
  for (float& x : std::span<float>(t.mutable_data<float>(), size_t(t.numel()))) x = u(g);
  return t;
}

// A small model under construction: float inputs with random feeds, weights, nodes.
struct Net {
  Model m;
  std::map<std::string, Tensor> feeds;
  uint32_t seed = 7;
  explicit Net(int64_t opset = 17) {
    m.ir_version = 8;
    m.opset_imports = {{"", opset}, {"eqopt", 1}};
  }
  Net& in(const std::string& name, const Shape& shape) {
    m.graph.inputs.push_back({name, TensorType::of(DType::Float, shape)});
    feeds[name] = random_floats(shape, seed++);
    return *this;
  }
  Net& w(const std::string& name, const Shape& shape, float lo = -1, float hi = 1) {
    m.graph.initializers.push_back({name, random_floats(shape, seed++, lo, hi), ""});
    return *this;
  }
  Net& c(const std::string& name, Tensor t) {
    m.graph.initializers.push_back({name, std::move(t), ""});
    return *this;
  }
  Net& op(const std::string& type, std::vector<std::string> ins, const std::string& out, std::vector<Attribute> attrs = {},
          const std::string& domain = "") {
    Node n = make_node(type, std::move(ins), {out}, std::move(attrs));
    n.domain = domain;
    m.graph.nodes.push_back(n);
    return *this;
  }
  Net& out(const std::string& name) {
    m.graph.outputs.push_back({name, TensorType{DType::Float, std::nullopt}});
    return *this;
  }
};

Attribute ints(const std::string& n, std::vector<int64_t> v) { return Attribute::make_ints(n, std::move(v)); }

// Compiles and runs the net (blocked layouts on and off) and compares with the interpreter.
void expect_matches_interpreter(const Net& net, double tol = 1e-4) {
  const std::vector<Tensor> want = Interpreter(net.m).run(net.feeds);
  for (bool blocked : {true, false}) {
    lower::CpuCompileOptions o;
    o.blocked_layouts = blocked;
    lower::CpuCompileReport report;
    rt::Session s(lower::compile_cpu(net.m, o, &report), rt::SessionOptions{1, false});
    const std::vector<Tensor> got = s.run(net.feeds);
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k].shape(), want[k].shape()) << "output " << k;
      // Errors relative to the output's magnitude: sums of many products cancel.
      double scale = 1;
      for (int64_t i = 0; i < want[k].numel(); ++i) scale = std::max(scale, std::fabs(want[k].as_double(i)));
      for (int64_t i = 0; i < got[k].numel(); ++i)
        ASSERT_NEAR(got[k].as_double(i), want[k].as_double(i), tol * scale)
            << "output " << k << " element " << i << (blocked ? " (blocked layouts)" : " (row-major)");
    }
  }
}

TEST(CpuBackend, ConvChainWithPoolingAndResidual) {
  Net n;
  n.in("x", {1, 5, 11, 9}).w("w1", {24, 5, 3, 3}).w("b1", {24}).w("w2", {24, 24, 3, 3}).w("w3", {24, 3, 3, 3});
  n.op("Conv", {"x", "w1", "b1"}, "c1", {ints("pads", {1, 1, 1, 1})})
      .op("Relu", {"c1"}, "r1")
      .op("Conv", {"r1", "w2"}, "c2", {ints("pads", {1, 1, 1, 1})})
      .op("Add", {"c2", "r1"}, "s")
      .op("MaxPool", {"s"}, "p", {ints("kernel_shape", {3, 3}), ints("strides", {2, 2}), Attribute::make_int("ceil_mode", 1)})
      .op("Conv", {"p", "w3"}, "g", {ints("pads", {1, 0, 1, 2}), Attribute::make_int("group", 8)})
      .op("GlobalAveragePool", {"g"}, "y")
      .out("y")
      .out("s");
  expect_matches_interpreter(n);
}

TEST(CpuBackend, TransposedConvolutions) {
  Net n;
  n.in("x", {1, 4, 5, 6}).w("w", {4, 3, 3, 2}).w("b", {3}).w("wg", {4, 2, 3, 3});
  n.op("ConvTranspose", {"x", "w", "b"}, "y1", {ints("strides", {2, 3}), ints("pads", {1, 0, 0, 1})})
      .op("ConvTranspose", {"x", "wg"}, "y2", {Attribute::make_int("group", 2), ints("strides", {2, 2}), ints("dilations", {1, 2})})
      .op("ConvTranspose", {"x", "w"}, "y3", {ints("strides", {2, 3}), ints("output_padding", {1, 2})})
      .out("y1")
      .out("y2")
      .out("y3");
  lower::CpuCompileReport report;
  lower::compile_cpu(n.m, {}, &report);
  // Rows that output_padding adds past the last input contribution are beyond oneDNN's padding.
  EXPECT_EQ(report.interp, 1u);
  expect_matches_interpreter(n);
}

TEST(CpuBackend, FusedConvEpilogues) {
  Net n;
  n.in("x", {1, 16, 7, 7}).in("z", {1, 32, 7, 7}).w("w", {32, 16, 3, 3}).w("b", {32});
  for (const char* act : {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh"}) {
    const std::string y = std::string("y_") + act;
    std::vector<Attribute> attrs = {ints("pads", {1, 1, 1, 1}), Attribute::make_string("activation", act)};
    if (std::string(act) == "Clip") attrs.push_back(Attribute::make_float("beta", 0.5f));
    n.op("FusedConv", {"x", "w", "b", "z"}, y, attrs, "eqopt").out(y);
  }
  expect_matches_interpreter(n);
}

TEST(CpuBackend, MatMulGemmAndBroadcasting) {
  Net n;
  n.in("a", {2, 3, 5, 7}).in("v", {7}).in("r", {3, 1, 6}).w("wb", {7, 6}).w("gb", {4, 7}).w("gc", {4}).in("m", {5, 7});
  n.op("MatMul", {"a", "wb"}, "y1")
      .op("MatMul", {"a", "v"}, "y2")
      .op("Add", {"r", "y1"}, "y3")  // the first operand broadcasts
      .op("Sub", {"y1", "r"}, "y4")
      .op("Gemm", {"m", "gb", "gc"}, "y5", {Attribute::make_int("transB", 1), Attribute::make_float("beta", 0.5f),
                                          Attribute::make_float("alpha", 2.0f)})
      .out("y2")
      .out("y3")
      .out("y4")
      .out("y5");
  // FusedMatMul's C as a per-column bias, a residual of the product's shape (sum post-op) and a
  // per-row term (binary post-op).
  n.in("res", {2, 3, 5, 6}).w("col", {6}).w("row", {5, 1});
  n.op("FusedMatMul", {"a", "wb", "res"}, "f1", {Attribute::make_string("activation", "Relu")}, "eqopt")
      .op("FusedMatMul", {"a", "wb", "col"}, "f2", {}, "eqopt")
      .op("FusedMatMul", {"a", "wb", "row"}, "f3", {Attribute::make_string("activation", "Tanh")}, "eqopt")
      .out("f1")
      .out("f2")
      .out("f3");
  expect_matches_interpreter(n);
}

TEST(CpuBackend, NormalizationSoftmaxReductionsAndData) {
  Net n;
  n.in("x", {2, 4, 6}).w("s", {6}).w("b", {6}).in("i", {1, 8, 5, 5});
  n.w("bs", {8}).w("bb", {8}).w("bm", {8}).w("bv", {8}, 0.5f, 1.5f);
  n.op("LayerNormalization", {"x", "s", "b"}, "ln", {Attribute::make_int("axis", -1)})
      .op("Softmax", {"ln"}, "sm", {Attribute::make_int("axis", 1)})
      .op("ReduceMean", {"sm"}, "rm", {ints("axes", {2}), Attribute::make_int("keepdims", 0)})
      .op("Transpose", {"x"}, "t", {ints("perm", {2, 0, 1})})
      .op("BatchNormalization", {"i", "bs", "bb", "bm", "bv"}, "bn")
      .op("Concat", {"bn", "i"}, "cat", {Attribute::make_int("axis", 1)})
      .op("Reshape", {"cat", "shape"}, "flat")
      .c("shape", Tensor::from_vector<int64_t>({2}, {1, -1}))
      .op("Erf", {"flat"}, "erf")
      .out("rm")
      .out("t")
      .out("erf")
      .out("cat");
  expect_matches_interpreter(n);
}

TEST(CpuBackend, DataMovementAsTableGathers) {
  Net n(13);
  n.in("x", {1, 3, 5, 4});
  n.c("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 3}))
      .c("roi", Tensor(DType::Float, {0}))
      .c("starts", Tensor::from_vector<int64_t>({2}, {1, 3}))
      .c("ends", Tensor::from_vector<int64_t>({2}, {5, 0}))
      .c("axes", Tensor::from_vector<int64_t>({2}, {2, 3}))
      .c("steps", Tensor::from_vector<int64_t>({2}, {2, -1}))
      .c("idx", Tensor::from_vector<int64_t>({2, 2}, {2, 0, 1, 1}))
      .c("split", Tensor::from_vector<int64_t>({2}, {1, 2}));
  n.op("Resize", {"x", "roi", "scales"}, "r",
       {Attribute::make_string("mode", "nearest"), Attribute::make_string("coordinate_transformation_mode", "asymmetric"),
        Attribute::make_string("nearest_mode", "floor")})
      .op("Slice", {"r", "starts", "ends", "axes", "steps"}, "s")
      .op("Gather", {"x", "idx"}, "g", {Attribute::make_int("axis", 1)});
  Node split = make_node("Split", {"x", "split"}, {"p", "q"}, {Attribute::make_int("axis", 1)});
  n.m.graph.nodes.push_back(split);
  n.op("Resize", {"x", "roi", "scales"}, "lin", {Attribute::make_string("mode", "linear")});  // blends: not a gather
  n.out("r").out("s").out("g").out("p").out("q").out("lin");
  lower::CpuCompileReport report;
  lower::compile_cpu(n.m, {}, &report);
  EXPECT_EQ(report.table_gathers, 4u);
  EXPECT_EQ(report.interp_ops["Resize"], 1u);  // the linear one
  expect_matches_interpreter(n, 1e-6);
}

TEST(CpuBackend, InputsSpecialisedByValue) {
  Net n;
  n.in("x", {2, 6});
  n.m.graph.inputs.push_back({"shape", TensorType::of(DType::Int64, Shape{2})});
  n.op("Reshape", {"x", "shape"}, "y").out("y");
  lower::CpuCompileOptions o;
  o.input_values["shape"] = Tensor::from_vector<int64_t>({2}, {3, 4});
  rt::Session s(lower::compile_cpu(n.m, o), rt::SessionOptions{1, false});
  std::map<std::string, Tensor> feeds = n.feeds;
  feeds["shape"] = Tensor::from_vector<int64_t>({2}, {3, 4});
  EXPECT_EQ(s.run(feeds)[0].shape(), (Shape{3, 4}));
  feeds["shape"] = Tensor::from_vector<int64_t>({2}, {4, 3});
  try {
    s.run(feeds);
    FAIL() << "a plan specialised for shape [3, 4] ran with [4, 3]";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differs from the value the plan was compiled for"), std::string::npos) << e.what();
  }
  // Without the value the output shape depends on the data: refused by name.
  try {
    lower::compile_cpu(n.m);
    FAIL() << "compiled a shape that depends on an input's value";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("depends on the data"), std::string::npos) << e.what();
  }
}

TEST(CpuBackend, MemoryPlanReusesBuffers) {
  Net n;
  n.in("x", {1, 16, 32, 32}).w("w", {16, 16, 3, 3});
  std::string prev = "x";
  for (int i = 0; i < 8; ++i) {
    const std::string c = "c" + std::to_string(i), r = "r" + std::to_string(i);
    n.op("Conv", {prev, "w"}, c, {ints("pads", {1, 1, 1, 1})}).op("Relu", {c}, r);
    prev = r;
  }
  n.out(prev);
  lower::CpuCompileReport report;
  lower::compile_cpu(n.m, {}, &report);
  // 17 activations of 64 KiB live one or two at a time, and the Relus run in place.
  EXPECT_LE(report.arena_bytes, 3u * 65536u + 4096u) << report.arena_bytes;
  EXPECT_GE(report.activation_bytes, 16u * 65536u);
  EXPECT_GE(report.in_place, 8u);
  expect_matches_interpreter(n);
}

TEST(PlanFile, RoundTripAndRefusals) {
  Net n;
  n.in("x", {1, 3, 8, 8}).w("w", {16, 3, 3, 3});
  n.op("Conv", {"x", "w"}, "c").op("Relu", {"c"}, "y").out("y");
  const rt::Plan plan = lower::compile_cpu(n.m);
  const std::string dir = test::temp_dir("plan_file");
  const std::string path = dir + "/model.plan";
  rt::save_plan(plan, path);
  EXPECT_TRUE(rt::is_plan_file(path));
  rt::Session s(rt::load_plan(path), rt::SessionOptions{1, false});
  const Tensor want = Interpreter(n.m).run(n.feeds)[0];
  EXPECT_TRUE(s.run(n.feeds)[0].bit_equal(rt::Session(plan, rt::SessionOptions{1, false}).run(n.feeds)[0]));
  EXPECT_EQ(s.run(n.feeds)[0].shape(), want.shape());

  const std::string bytes = rt::plan_to_bytes(plan);
  auto refused = [&](const std::string& data, const std::string& why) {
    try {
      rt::plan_from_bytes(data, "f.plan");
      ADD_FAILURE() << "accepted a plan that should fail with: " << why;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(why), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_EQ(msg.rfind("f.plan", 0), 0u) << msg;
    }
  };
  refused(bytes.substr(0, bytes.size() / 2), "truncated");
  refused(bytes.substr(0, 20), "truncated");
  refused("ir_version: 8 and other ONNX text", "not an eqopt plan");
  std::string flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x5a;
  refused(flipped, "checksum");
  std::string newer = bytes;
  newer[8] = 99;
  refused(newer, "format version 99");
  // A well-formed body whose indices point outside the plan.
  rt::Plan broken = plan;
  broken.outputs = {int32_t(plan.values.size()) + 5};
  refused(rt::plan_to_bytes(broken), "out of range");
}

TEST(CpuBackendCli, NodeTestsAndSharedModelsThroughTheCompiledPath) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const std::string eqopt = test::eqopt_exe();
  const test::CommandResult nodes =
      test::run_command(eqopt + " check " + test::shared_dir() + "/onnx-node-tests --backend cpu --threads 1 --quiet");
  EXPECT_EQ(nodes.exit_code, 0) << nodes.out << nodes.err;
  EXPECT_NE(nodes.out.find(" passed, 0 failed, 0 skipped"), std::string::npos) << nodes.out;
  for (const auto& entry : fs::directory_iterator(test::shared_dir() + "/models")) {
    if (entry.path().extension() != ".onnx") continue;
    const test::CommandResult r = test::run_command(eqopt + " check " + entry.path().string() +
                                                    " --backend cpu --threads 1 --atol 1e-4 --quiet");
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.out << r.err;
  }
}

TEST(CpuBackendCli, CompiledFolderRunsChecksAndBenches) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const std::string eqopt = test::eqopt_exe();
  const std::string models = test::shared_dir() + "/models/";
  const std::string dir = test::temp_dir("cpu_folder") + "/r18";
  const test::CommandResult c = test::run_command(eqopt + " " + models + "resnet18.onnx --target cpu --quiet -o " + dir);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  ASSERT_TRUE(fs::is_regular_file(dir + "/model.plan"));
  const test::CommandResult k = test::run_command(eqopt + " check " + dir + " --data " + models +
                                                  "resnet18.testdata --threads 1 --atol 1e-4");
  EXPECT_EQ(k.exit_code, 0) << k.out << k.err;
  const std::string trace = dir + "/trace.json";
  const test::CommandResult b =
      test::run_command(eqopt + " bench " + dir + " --threads 1 --runs 2 --warmup 1 --profile " + trace);
  EXPECT_EQ(b.exit_code, 0) << b.out << b.err;
  EXPECT_NE(b.out.find("median"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("GFLOP/s"), std::string::npos) << b.out;
  std::ifstream t(trace);
  std::string first;
  std::getline(t, first);
  EXPECT_NE(first.find("\"ph\":\"X\""), std::string::npos);
  // A dynamic-dims model: no plan at compile time, one per shape at first use, cached.
  const std::string sil = test::temp_dir("cpu_folder") + "/silero";
  ASSERT_EQ(test::run_command(eqopt + " " + models + "silero_vad_v5.onnx --target cpu --quiet -o " + sil).exit_code, 0);
  EXPECT_FALSE(fs::exists(sil + "/model.plan"));
  const test::CommandResult s = test::run_command(eqopt + " check " + sil + " --data " + models +
                                                  "silero_vad_v5.testdata --threads 1 --atol 1e-4");
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err;
  EXPECT_TRUE(fs::is_directory(sil + "/plans"));
  // A truncated plan: one line, exit 2.
  const std::string bad = dir + "/bad.plan";
  {
    std::ifstream in(dir + "/model.plan", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(bad, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  const test::CommandResult r = test::run_command(eqopt + " run " + bad);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eqopt
