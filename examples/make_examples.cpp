// Writes the example models in examples/: a residual CNN block and a pre-LN transformer block, with
// seeded random weights, plus reference data (one seeded input and the reference interpreter's
// outputs) in ONNX backend-test layout. Usage: eqopt_make_examples OUTDIR
//
// The models are built through eqopt's own IR and saved with onnx_io, so they are also a small
// end-to-end test of the writer.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "interp/feeds.h"
#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"

using namespace eqopt;
namespace fs = std::filesystem;

namespace {

class Builder {
 public:
  Builder(const std::string& name, int64_t opset, uint64_t seed) : rng_(seed) {
    model_.ir_version = 8;
    model_.opset_imports = {{"", opset}};
    model_.producer_name = "eqopt examples";
    model_.producer_version = "1";
    model_.graph.name = name;
  }

  void input(const std::string& name, const Shape& shape) {
    model_.graph.inputs.push_back({name, TensorType::of(DType::Float, shape)});
  }
  void output(const std::string& name, const Shape& shape) {
    model_.graph.outputs.push_back({name, TensorType::of(DType::Float, shape)});
  }

  // Uniform in [lo, hi).
  std::string weight(const std::string& name, const Shape& shape, float lo, float hi) {
    Tensor t(DType::Float, shape);
    float* p = t.mutable_data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + float(rng_.uniform()) * (hi - lo);
    model_.graph.initializers.push_back({name, t, ""});
    return name;
  }
  // Uniform in +-1/sqrt(fan_in), as common initialisers do.
  std::string fan_in_weight(const std::string& name, const Shape& shape, int64_t fan_in) {
    const float a = 1.0f / std::sqrt(float(fan_in));
    return weight(name, shape, -a, a);
  }
  std::string constant(const std::string& name, Tensor t) {
    model_.graph.initializers.push_back({name, std::move(t), ""});
    return name;
  }

  std::string node(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attrs = {},
                   const std::string& out_name = "") {
    Node n;
    n.op_type = op;
    n.name = op + "_" + std::to_string(++counter_);
    n.inputs = std::move(inputs);
    n.outputs = {out_name.empty() ? n.name + "_out" : out_name};
    n.attributes = std::move(attrs);
    model_.graph.nodes.push_back(n);
    return n.outputs[0];
  }

  Model& model() { return model_; }
  SplitMix64& rng() { return rng_; }

 private:
  Model model_;
  SplitMix64 rng_;
  int counter_ = 0;
};

Model residual_block() {
  const int64_t C = 16, H = 32, W = 32;
  Builder b("residual_block", 13, 1);
  b.input("x", {1, C, H, W});
  auto conv_bn = [&](const std::string& in, const std::string& p) {
    const std::string w = b.fan_in_weight(p + ".conv.weight", {C, C, 3, 3}, C * 9);
    const std::string bias = b.fan_in_weight(p + ".conv.bias", {C}, C * 9);
    const std::string c = b.node("Conv", {in, w, bias},
                                 {Attribute::make_ints("kernel_shape", {3, 3}),
                                  Attribute::make_ints("pads", {1, 1, 1, 1}),
                                  Attribute::make_ints("strides", {1, 1})});
    return b.node("BatchNormalization",
                  {c, b.weight(p + ".bn.weight", {C}, 0.5f, 1.5f), b.weight(p + ".bn.bias", {C}, -0.1f, 0.1f),
                   b.weight(p + ".bn.running_mean", {C}, -0.1f, 0.1f),
                   b.weight(p + ".bn.running_var", {C}, 0.5f, 1.5f)},
                  {Attribute::make_float("epsilon", 1e-5f)});
  };
  const std::string h = b.node("Relu", {conv_bn("x", "block.0")});
  const std::string r = conv_bn(h, "block.1");
  const std::string sum = b.node("Add", {r, "x"});
  b.node("Relu", {sum}, {}, "y");
  b.output("y", {1, C, H, W});
  return b.model();
}

// Pre-LN transformer block as PyTorch exports it: LayerNorm decomposed into reductions, GELU in its
// erf form, attention as MatMul/Softmax with explicit head reshapes.
Model transformer_block() {
  const int64_t S = 16, D = 64, Hd = 4, Dh = D / Hd, F = 4 * D;
  Builder b("transformer_block", 13, 2);
  b.input("x", {1, S, D});
  auto scalar = [&](const std::string& name, float v) { return b.constant(name, Tensor::scalar<float>(v)); };
  auto shape = [&](const std::string& name, std::vector<int64_t> v) {
    return b.constant(name, Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  };
  const std::string eps = scalar("ln.eps", 1e-5f), two = scalar("two", 2.0f);
  auto layer_norm = [&](const std::string& in, const std::string& p) {
    const std::vector<Attribute> last_axis = {Attribute::make_ints("axes", {-1}), Attribute::make_int("keepdims", 1)};
    const std::string mean = b.node("ReduceMean", {in}, last_axis);
    const std::string d = b.node("Sub", {in, mean});
    const std::string var = b.node("ReduceMean", {b.node("Pow", {d, two})}, last_axis);
    const std::string sd = b.node("Sqrt", {b.node("Add", {var, eps})});
    const std::string n = b.node("Div", {d, sd});
    return b.node("Add", {b.node("Mul", {n, b.weight(p + ".weight", {D}, 0.5f, 1.5f)}),
                          b.weight(p + ".bias", {D}, -0.1f, 0.1f)});
  };
  auto linear = [&](const std::string& in, const std::string& p, int64_t din, int64_t dout) {
    const std::string mm = b.node("MatMul", {in, b.fan_in_weight(p + ".weight", {din, dout}, din)});
    return b.node("Add", {mm, b.fan_in_weight(p + ".bias", {dout}, din)});
  };
  const std::string heads = shape("heads_shape", {1, S, Hd, Dh}), merged = shape("merged_shape", {1, S, D});
  auto split_heads = [&](const std::string& t, std::vector<int64_t> perm) {
    return b.node("Transpose", {b.node("Reshape", {t, heads})}, {Attribute::make_ints("perm", std::move(perm))});
  };

  const std::string ln1 = layer_norm("x", "ln1");
  const std::string q = split_heads(linear(ln1, "attn.q", D, D), {0, 2, 1, 3});   // [1,H,S,Dh]
  const std::string k = split_heads(linear(ln1, "attn.k", D, D), {0, 2, 3, 1});   // [1,H,Dh,S]
  const std::string v = split_heads(linear(ln1, "attn.v", D, D), {0, 2, 1, 3});   // [1,H,S,Dh]
  const std::string scores = b.node("Div", {b.node("MatMul", {q, k}), scalar("attn.scale", std::sqrt(float(Dh)))});
  const std::string probs = b.node("Softmax", {scores}, {Attribute::make_int("axis", -1)});
  const std::string ctx = b.node("MatMul", {probs, v});                              // [1,H,S,Dh]
  const std::string ctx_merged = b.node(
      "Reshape", {b.node("Transpose", {ctx}, {Attribute::make_ints("perm", {0, 2, 1, 3})}), merged});
  const std::string h = b.node("Add", {"x", linear(ctx_merged, "attn.out", D, D)});

  const std::string ln2 = layer_norm(h, "ln2");
  const std::string f1 = linear(ln2, "mlp.fc1", D, F);
  // GELU(x) = 0.5 x (1 + erf(x / sqrt 2))
  const std::string erf = b.node("Erf", {b.node("Div", {f1, scalar("gelu.sqrt2", std::sqrt(2.0f))})});
  const std::string gelu = b.node("Mul", {b.node("Mul", {f1, b.node("Add", {erf, scalar("one", 1.0f)})}),
                                          scalar("half", 0.5f)});
  const std::string f2 = linear(gelu, "mlp.fc2", F, D);
  b.node("Add", {h, f2}, {}, "y");
  b.output("y", {1, S, D});
  return b.model();
}

// A MobileNet-style block as some converters write it: ReLU6 as Min(Relu(x), 6) rather than
// Clip(x, 0, 6). docs/rule-authoring.md's worked example writes the rule that turns it into a Clip,
// which the convolution then absorbs.
Model mobile_block() {
  const int64_t C = 8, M = 16, H = 16, W = 16;
  Builder b("mobile_block", 13, 3);
  b.input("x", {1, C, H, W});
  const std::string c1 = b.node("Conv", {"x", b.fan_in_weight("expand.weight", {M, C, 3, 3}, C * 9),
                                         b.fan_in_weight("expand.bias", {M}, C * 9)},
                                {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("pads", {1, 1, 1, 1})});
  const std::string six = b.constant("six", Tensor::scalar<float>(6.0f));
  const std::string relu6 = b.node("Min", {b.node("Relu", {c1}), six});
  b.node("Conv", {relu6, b.fan_in_weight("project.weight", {C, M, 1, 1}, M), b.fan_in_weight("project.bias", {C}, M)},
         {Attribute::make_ints("kernel_shape", {1, 1})}, "y");
  b.output("y", {1, C, H, W});
  return b.model();
}

void write_example(const Model& model, const fs::path& dir, const std::string& name, uint64_t seed) {
  const fs::path onnx = dir / (name + ".onnx");
  save_model(model, onnx.string());
  const Model loaded = load_model(onnx.string());
  FeedOptions fo;
  fo.seed = seed;
  const auto feeds = make_feeds(loaded, {}, fo);
  const std::vector<Tensor> outputs = Interpreter(loaded).run(feeds);
  const fs::path data = dir / (name + ".testdata") / "test_data_set_0";
  fs::create_directories(data);
  size_t i = 0;
  for (const ValueInfo* in : loaded.graph.runtime_inputs())
    save_tensor_pb({in->name, feeds.at(in->name)}, (data / ("input_" + std::to_string(i++) + ".pb")).string());
  for (size_t k = 0; k < outputs.size(); ++k)
    save_tensor_pb({loaded.graph.outputs[k].name, outputs[k]}, (data / ("output_" + std::to_string(k) + ".pb")).string());
  std::cout << "wrote " << onnx.string() << " and " << (dir / (name + ".testdata")).string() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: eqopt_make_examples OUTDIR\n";
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    fs::create_directories(dir);
    write_example(residual_block(), dir, "resnet_block", 11);
    write_example(transformer_block(), dir, "transformer_block", 12);
    write_example(mobile_block(), dir, "mobile_block", 13);
  } catch (const Error& e) {
    std::cerr << "eqopt_make_examples: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
