// onnx_io: load -> save -> load gives the same graph with bit-identical weights; saved files pass
// ONNX's checker; what eqopt does not model passes through.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

namespace {

// Saves, reloads and compares; also runs ONNX's checker on the saved file.
void expect_round_trip(const std::string& path, const SaveOptions& save = {}) {
  SCOPED_TRACE(path);
  const Model a = load_model(path);
  const std::string dir = temp_dir("rt");
  const std::string out = dir + "/saved.onnx";
  save_model(a, out, save);
  const Model b = load_model(out);
  std::string why;
  EXPECT_TRUE(models_equal(a, b, &why)) << why;
  bool checked = false;
  const std::string msg = onnx_checker_message(out, &checked);
  EXPECT_EQ(msg, "");
  if (a.opset() <= 17 && a.ir_version <= 8) {
    EXPECT_TRUE(checked) << "the checker should have run";
  }
  // A second save of the reloaded model is byte-identical to the first: nothing drifts.
  const std::string dir2 = temp_dir("rt2");
  const std::string out2 = dir2 + "/saved.onnx";
  save_model(b, out2, save);
  EXPECT_TRUE(read_file(out) == read_file(out2)) << "second save differs from the first";
  fs::remove_all(dir);
  fs::remove_all(dir2);
}

Model tiny_model() {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 17}, {"com.example", 1}};
  m.graph.name = "tiny";
  m.graph.inputs.push_back({"x", TensorType::of(DType::Float, Dims{Dim::symbol("N"), Dim::of(4)})});
  m.graph.outputs.push_back({"y", TensorType::of(DType::Float, Dims{Dim::symbol("N"), Dim::of(4)})});
  m.graph.initializers.push_back({"w", floats({4}, {1, 2, 3, 4}), ""});
  Node add;
  add.op_type = "Add";
  add.name = "add";
  add.inputs = {"x", "w"};
  add.outputs = {"t"};
  m.graph.nodes.push_back(add);
  Node custom;
  custom.op_type = "FancyOp";
  custom.domain = "com.example";
  custom.name = "fancy";
  custom.inputs = {"t"};
  custom.outputs = {"y"};
  custom.attributes = {Attribute::make_string("mode", "fast"), Attribute::make_floats("coeffs", {0.5f, -1.0f})};
  m.graph.nodes.push_back(custom);
  return m;
}

}  // namespace

TEST(OnnxIo, SharedModelsRoundTrip) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  for (const auto& e : fs::directory_iterator(shared_dir() + "/models"))
    if (e.path().extension() == ".onnx") expect_round_trip(e.path().string());
}

TEST(OnnxIo, NodeTestModelsRoundTrip) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  int n = 0, checked = 0;
  const std::string dir = temp_dir("nodert");
  for (const auto& e : fs::directory_iterator(shared_dir() + "/onnx-node-tests"))
    if (fs::exists(e.path() / "model.onnx")) {
      const Model a = load_model((e.path() / "model.onnx").string());
      const std::string out = dir + "/" + e.path().filename().string() + ".onnx";
      save_model(a, out);
      const Model b = load_model(out);
      std::string why;
      EXPECT_TRUE(models_equal(a, b, &why)) << e.path() << ": " << why;
      bool ran = false;
      EXPECT_EQ(onnx_checker_message(out, &ran), "") << e.path();
      checked += ran;
      ++n;
    }
  EXPECT_EQ(n, 380);
  // Every test at opset <= 17 and IR <= 8 (222 of them); the others are beyond the 1.12 checker.
  EXPECT_GE(checked, 222);
  fs::remove_all(dir);
}

TEST(OnnxIo, ExternalDataLoadsAndSavesBothWays) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const std::string ext = shared_dir() + "/models/mobilenet_v3_small_op17_extdata.onnx";
  const Model m = load_model(ext);
  size_t bytes = 0;
  for (const Initializer& i : m.graph.initializers) bytes += i.value.nbytes();
  EXPECT_GT(bytes, size_t(10'000'000));  // the weights really came from the .data file
  SaveOptions external;
  external.external_data_threshold = 1024;
  expect_round_trip(ext, external);
  // Inline save of an external-data model holds the same weights.
  const std::string dir = temp_dir("ext");
  save_model(m, dir + "/inline.onnx");
  EXPECT_FALSE(fs::exists(dir + "/inline.onnx.data"));
  std::string why;
  EXPECT_TRUE(models_equal(m, load_model(dir + "/inline.onnx"), &why)) << why;
  fs::remove_all(dir);
}

TEST(OnnxIo, UnknownOpsAndDomainsPassThrough) {
  const Model m = tiny_model();
  const std::string dir = temp_dir("custom");
  save_model(m, dir + "/m.onnx");
  const Model back = load_model(dir + "/m.onnx");
  std::string why;
  EXPECT_TRUE(models_equal(m, back, &why)) << why;
  ASSERT_EQ(back.graph.nodes.size(), 2u);
  EXPECT_EQ(back.graph.nodes[1].domain, "com.example");
  EXPECT_EQ(back.graph.nodes[1].attr_string("mode", ""), "fast");
  // Inference leaves the unknown op's output unknown instead of failing.
  const InferenceResult r = infer_model(back);
  EXPECT_EQ(r.type_of("t")->str(), "float32[N,4]");
  // Running it is refused by name.
  Interpreter interp(back);
  ASSERT_EQ(interp.unsupported_ops().size(), 1u);
  EXPECT_EQ(interp.unsupported_ops()[0].op_type, "FancyOp");
  try {
    interp.run({{"x", floats({1, 4}, {0, 0, 0, 0})}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("com.example.FancyOp"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(OnnxIo, FieldsFromNewerIrVersionsSurvive) {
  // Append an unknown field (number 1000, varint 7) to a serialized model, as a newer IR might.
  std::string bytes = serialize_model(tiny_model());
  bytes += std::string("\xc0\x3e\x07", 3);
  const Model m = load_model_from_bytes(bytes, ".", "with-extra");
  EXPECT_FALSE(m.unknown_fields.empty());
  const std::string again = serialize_model(m);
  EXPECT_NE(again.find(std::string("\xc0\x3e\x07", 3)), std::string::npos);
}

TEST(OnnxIo, SubgraphsWithOuterScopeReferencesRoundTrip) {
  Model m = tiny_model();
  m.graph.nodes.pop_back();  // drop the custom op
  m.opset_imports = {{"", 17}};
  m.graph.outputs[0].name = "y";
  Graph then_g, else_g;
  then_g.name = "then";
  else_g.name = "else";
  Node id;
  id.op_type = "Identity";
  id.inputs = {"t"};  // outer-scope reference
  id.outputs = {"then_out"};
  then_g.nodes.push_back(id);
  then_g.outputs.push_back({"then_out", TensorType::of(DType::Float, Dims{Dim::symbol("N"), Dim::of(4)})});
  Node neg = id;
  neg.op_type = "Neg";
  neg.outputs = {"else_out"};
  else_g.nodes.push_back(neg);
  else_g.outputs.push_back({"else_out", TensorType::of(DType::Float, Dims{Dim::symbol("N"), Dim::of(4)})});
  m.graph.inputs.push_back({"c", TensorType::of(DType::Bool, Shape{})});
  Node iff;
  iff.op_type = "If";
  iff.name = "if";
  iff.inputs = {"c"};
  iff.outputs = {"y"};
  iff.attributes = {Attribute::make_graph("then_branch", then_g), Attribute::make_graph("else_branch", else_g)};
  m.graph.nodes.push_back(iff);
  const Model back = load_model_from_bytes(serialize_model(m), ".", "if-model");
  std::string why;
  EXPECT_TRUE(models_equal(m, back, &why)) << why;
}
