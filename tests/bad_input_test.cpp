// Bad input: one line naming the problem and the node or file, exit code 2, no crash, no partial
// output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("bad"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }

  // Runs eqopt with `args`; expects exit code 2 and exactly one stderr line containing each of
  // `needles`.
  void expect_error(const std::string& args, const std::vector<std::string>& needles) const {
    const CommandResult r = run_command(eqopt_exe() + " " + args);
    SCOPED_TRACE("eqopt " + args + "\nstderr: " + r.err);
    EXPECT_EQ(r.exit_code, 2);
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "error must be one line";
    EXPECT_EQ(r.err.rfind("eqopt: error: ", 0), 0u);
    for (const std::string& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "'";
  }

  static Model model_with_nodes(std::vector<Node> nodes, Shape x_shape = {2, 3}) {
    Model m;
    m.ir_version = 8;
    m.opset_imports = {{"", 17}};
    m.graph.name = "g";
    m.graph.inputs.push_back({"x", TensorType::of(DType::Float, x_shape)});
    m.graph.outputs.push_back({"y", TensorType{DType::Float, std::nullopt}});
    m.graph.nodes = std::move(nodes);
    return m;
  }
  static Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                   const std::string& name) {
    Node n;
    n.op_type = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
  }
  // Writes without validation (the saver does not validate, as a producer of broken files would not).
  void save_unchecked(const Model& m, const std::string& name) const { write(name, serialize_model(m)); }

  std::string dir_;
};

}  // namespace

TEST_F(BadInput, MissingFile) { expect_error("info " + path("nope.onnx"), {"nope.onnx"}); }

TEST_F(BadInput, TruncatedProtobuf) {
  const std::string good = read_file(source_dir() + "/examples/resnet_block.onnx");
  write("trunc.onnx", good.substr(0, good.size() / 2));
  expect_error("info " + path("trunc.onnx"), {"trunc.onnx"});
  expect_error("run " + path("trunc.onnx"), {"trunc.onnx"});
}

TEST_F(BadInput, GarbageBytes) {
  std::string junk;
  uint32_t s = 12345;
  for (int i = 0; i < 4096; ++i) junk.push_back(char((s = s * 1103515245u + 12345u) >> 24));
  write("junk.onnx", junk);
  expect_error("info " + path("junk.onnx"), {"junk.onnx"});
  write("empty.onnx", "");
  expect_error("info " + path("empty.onnx"), {"empty.onnx"});
  write("text.onnx", "this is not a model\n");
  expect_error("check " + path("text.onnx") + " --data " + dir_, {"text.onnx"});
}

TEST_F(BadInput, MissingExternalDataFile) {
  Model m = model_with_nodes({node("Add", {"x", "w"}, {"y"}, "add")});
  m.graph.initializers.push_back({"w", floats({2, 3}, {1, 2, 3, 4, 5, 6}), ""});
  SaveOptions ext;
  ext.external_data_threshold = 1;
  save_model(m, path("ext.onnx"), ext);
  ASSERT_TRUE(fs::exists(path("ext.onnx.data")));
  fs::remove(path("ext.onnx.data"));
  expect_error("info " + path("ext.onnx"), {"ext.onnx.data", "'w'"});
}

TEST_F(BadInput, DanglingEdge) {
  save_unchecked(model_with_nodes({node("Relu", {"nowhere"}, {"y"}, "relu1")}), "dangling.onnx");
  expect_error("info " + path("dangling.onnx"), {"relu1", "nowhere"});
}

TEST_F(BadInput, GraphCycle) {
  save_unchecked(model_with_nodes({node("Add", {"x", "b"}, {"a"}, "first"), node("Relu", {"a"}, {"b"}, "second"),
                                   node("Identity", {"a"}, {"y"}, "out")}),
                 "cycle.onnx");
  expect_error("info " + path("cycle.onnx"), {"cycle", "first"});
}

TEST_F(BadInput, ShapeMismatchNamesTheNode) {
  Model m = model_with_nodes({node("Add", {"x", "w"}, {"y"}, "bad_add")});
  m.graph.initializers.push_back({"w", floats({4}, {1, 2, 3, 4}), ""});
  save_model(m, path("shape.onnx"));
  expect_error("info " + path("shape.onnx"), {"bad_add", "broadcast"});
  expect_error("run " + path("shape.onnx"), {"bad_add"});
}

TEST_F(BadInput, UnknownOpAtRunTime) {
  Model m = model_with_nodes({node("Relu", {"x"}, {"t"}, "r"), node("Frobnicate", {"t"}, {"y"}, "frob")});
  m.graph.nodes[1].domain = "com.example";
  m.opset_imports.push_back({"com.example", 1});
  save_model(m, path("unknown.onnx"));
  // Loading and inspecting work; running names the op.
  EXPECT_EQ(run_command(eqopt_exe() + " info " + path("unknown.onnx")).exit_code, 0);
  expect_error("run " + path("unknown.onnx"), {"Frobnicate", "frob"});
}

TEST_F(BadInput, WrongInputNameOrShapeOnTheCommandLine) {
  save_model(model_with_nodes({node("Relu", {"x"}, {"y"}, "r")}), path("relu.onnx"));
  save_npy(floats({2, 3}, {1, 2, 3, 4, 5, 6}), path("good.npy"));
  save_npy(floats({3, 2}, {1, 2, 3, 4, 5, 6}), path("wrong.npy"));
  EXPECT_EQ(run_command(eqopt_exe() + " run " + path("relu.onnx") + " --input x=" + path("good.npy")).exit_code, 0);
  expect_error("run " + path("relu.onnx") + " --input nope=" + path("good.npy"), {"nope"});
  expect_error("run " + path("relu.onnx") + " --input x=" + path("wrong.npy"), {"'x'", "[3,2]"});
  expect_error("run " + path("relu.onnx") + " --input x=" + path("missing.npy"), {"missing.npy"});
  expect_error("run " + path("relu.onnx") + " --input-shape x=1x2x3", {"'x'"});
  expect_error("run " + path("relu.onnx") + " --input-shape x=2xbad!", {"bad!"});
  expect_error("run " + path("relu.onnx") + " --input x", {"NAME=VALUE"});
  expect_error("run " + path("relu.onnx") + " --frobnicate", {"--frobnicate"});
}

TEST_F(BadInput, NoPartialOutputOnFailure) {
  // The run fails at the second node: the output folder must not receive any file.
  Model m = model_with_nodes({node("Relu", {"x"}, {"t"}, "r"), node("Frobnicate", {"t"}, {"y"}, "frob")});
  m.graph.nodes[1].domain = "com.example";
  save_model(m, path("fails.onnx"));
  const std::string out = path("out");
  expect_error("run " + path("fails.onnx") + " --out " + out, {"Frobnicate"});
  EXPECT_FALSE(fs::exists(out) && !fs::is_empty(out));
  // A write that cannot complete leaves neither the target nor a temporary file behind.
  save_model(model_with_nodes({node("Relu", {"x"}, {"y"}, "r")}), path("ok.onnx"));
  fs::create_directories(path("blocked/y.npy"));  // a folder where the output file should go
  const CommandResult r = run_command(eqopt_exe() + " run " + path("ok.onnx") + " --out " + path("blocked"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const auto& e : fs::directory_iterator(path("blocked")))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}
