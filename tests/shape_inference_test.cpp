// Graph-level inference: symbolic dims, --input-shape overrides, constant folding of shape math.
#include <gtest/gtest.h>

#include "interp/interpreter.h"
#include "ir/shape_inference.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

TEST(ShapeInference, ParseDims) {
  EXPECT_EQ(dims_str(parse_dims("1x3x224x224")), "[1,3,224,224]");
  EXPECT_EQ(dims_str(parse_dims("N,3,?,W")), "[N,3,?,W]");
  EXPECT_TRUE(parse_dims("").empty());
  EXPECT_THROW(parse_dims("1xx3"), Error);
  EXPECT_THROW(parse_dims("1x-3"), Error);
}

TEST(ShapeInference, RefineKeepsTheMorePreciseDims) {
  const TensorType declared{DType::Float, Dims{Dim::symbol("N"), Dim::of(3), Dim::unknown()}};
  const TensorType inferred{DType::Float, Dims{Dim::unknown(), Dim::of(3), Dim::of(7)}};
  EXPECT_EQ(refine_type(declared, inferred).str(), "float32[N,3,7]");
}

TEST(ShapeInference, DynamicModelResolvesWithInputShape) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  const Model m = load_model(shared_dir() + "/models/ch_PP-OCRv4_det_infer.onnx");
  InterpreterFolder folder;
  InferOptions opt;
  opt.folder = &folder;
  const InferenceResult dyn = infer_model(m, opt);
  EXPECT_FALSE(dyn.type_of(m.graph.outputs[0].name)->is_static());
  opt.input_dims["x"] = parse_dims("1x3x64x64");
  const InferenceResult fixed = infer_model(m, opt);
  EXPECT_EQ(fixed.type_of(m.graph.outputs[0].name)->str(), "float32[1,1,64,64]");
  opt.input_dims["x"] = parse_dims("1x4x64x64");  // channel dim is fixed at 3
  EXPECT_THROW(infer_model(m, opt), Error);
}

TEST(ShapeInference, ShapeArithmeticFoldsToConstants) {
  // x[N,4,6] -> Shape -> Gather(0) -> Unsqueeze -> Concat with [-1] -> Reshape: with N fixed the
  // reshape target is known, so the output is static.
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph.inputs.push_back({"x", TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::of(4), Dim::of(6)}}});
  m.graph.outputs.push_back({"y", TensorType{DType::Float, std::nullopt}});
  m.graph.initializers.push_back({"zero", Tensor::scalar<int64_t>(0), ""});
  m.graph.initializers.push_back({"minus1", ints({1}, {-1}), ""});
  m.graph.initializers.push_back({"axes0", ints({1}, {0}), ""});
  auto add = [&](const std::string& op, std::vector<std::string> in, const std::string& out,
                 std::vector<Attribute> attrs = {}) {
    Node n;
    n.op_type = op;
    n.name = out;
    n.inputs = std::move(in);
    n.outputs = {out};
    n.attributes = std::move(attrs);
    m.graph.nodes.push_back(n);
  };
  add("Shape", {"x"}, "s");
  add("Gather", {"s", "zero"}, "n", {Attribute::make_int("axis", 0)});
  add("Unsqueeze", {"n", "axes0"}, "n1");
  add("Concat", {"n1", "minus1"}, "target", {Attribute::make_int("axis", 0)});
  add("Reshape", {"x", "target"}, "y");
  InterpreterFolder folder;
  InferOptions opt;
  opt.folder = &folder;
  EXPECT_EQ(infer_model(m, opt).type_of("y")->str(), "float32[?,?]");
  opt.input_dims["x"] = parse_dims("5x4x6");
  const InferenceResult r = infer_model(m, opt);
  EXPECT_EQ(r.type_of("y")->str(), "float32[5,24]");
  EXPECT_TRUE(r.main().values.count("target"));
  // annotate_model writes value_info for intermediates.
  Model annotated = m;
  EXPECT_THROW(annotate_model(annotated, r), Error);  // results belong to the model inferred
  annotate_model(annotated, infer_model(annotated, opt));
  ASSERT_NE(annotated.graph.find_value_info("target"), nullptr);
  EXPECT_EQ(annotated.graph.find_value_info("target")->type.str(), "int64[2]");
  EXPECT_EQ(annotated.graph.inputs[0].type.str(), "float32[5,4,6]");
}
