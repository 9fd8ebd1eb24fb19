// eqopt's own ops (domain "eqopt", version 1) and definitions of ops in standard ONNX ops.
//
// Own ops name fused or layout-changed computations that a target runs as one kernel. Each has a
// definition in default-domain ops (ir/expand.h): the interpreter runs it, and export writes it.
//
//   FusedConv(X, W, B?, Z?)   act(Conv(X, W) + B + Z); B is 1-D [M] (per channel) or a scalar, Z is
//                             added after the bias and before the activation.
//   FusedMatMul(A, B, C?)     act(MatMul(A, B) + C), C broadcast to the product.
//   Swish(X)                  X * Sigmoid(alpha * X)
//   Attention(Q, K, V, M?)    Softmax(scale * Q.K^T + M, axis=-1) . V over the last two axes
//                             (transpose_k=0: K is given as K^T); scale defaults to 1/sqrt(dim(Q,-1)).
//   ConvNHWC(X, W, B?)        Conv with X and the output channels-last (2-D only; W stays OIHW).
//
// `activation` is "" (none), Relu, LeakyRelu (alpha, default 0.01), Clip (min alpha, max beta; a
// missing one is no bound), Sigmoid, Tanh, HardSigmoid (alpha 0.2, beta 0.5 by default) or
// HardSwish. Inference reuses the standard ops' inference functions on the parts, so own ops and
// their definitions agree on shapes and on what is rejected.
//
// Standard ops newer than many models' opsets get definitions in older ops: HardSwish (opset 14),
// LayerNormalization (17), Mish (18), Gelu (20).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "ir/expand.h"
#include "ir/ops/ops.h"

namespace eqopt {

namespace {

const std::initializer_list<DType> kFloat = {DType::Float, DType::Double, DType::Float16, DType::BFloat16};

const std::vector<std::string> kConvAttrs = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"};
const std::vector<std::string> kActivationAttrs = {"activation", "alpha", "beta"};
const std::vector<std::string> kActivations = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Rejects attributes the op does not have (they could not be written as standard ops).
void check_attribute_names(const InferContext& ctx, std::initializer_list<const std::vector<std::string>*> allowed) {
  for (const Attribute& a : ctx.node().attributes) {
    bool ok = false;
    for (const auto* list : allowed) ok |= contains(*list, a.name);
    if (!ok) ctx.fail("unknown attribute '", a.name, "'");
  }
}

std::vector<Attribute> conv_attributes(const Node& node) {
  std::vector<Attribute> r;
  for (const Attribute& a : node.attributes)
    if (contains(kConvAttrs, a.name)) r.push_back(a);
  return r;
}

// A float attribute that a rule may also have written as an integer.
std::optional<float> number_attr(const Node& node, const std::string& name) {
  const Attribute* a = node.attr(name);
  if (!a) return std::nullopt;
  if (a->kind == Attribute::Kind::Int) return float(a->i);
  if (a->kind == Attribute::Kind::Float) return a->f;
  fail(node.label(), ": attribute '", name, "' should be a number, found ", attribute_kind_name(a->kind));
}

std::string activation_of(const Node& node) {
  const Attribute* a = node.attr("activation");
  if (!a) return "";
  if (a->kind != Attribute::Kind::String)
    fail(node.label(), ": attribute 'activation' should be a string, found ", attribute_kind_name(a->kind));
  return a->s;
}

void check_activation(const InferContext& ctx) {
  const std::string act = activation_of(ctx.node());
  if (!act.empty() && !contains(kActivations, act))
    ctx.fail("activation \"", act, "\" is not one of Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish");
  number_attr(ctx.node(), "alpha");
  number_attr(ctx.node(), "beta");
}

// Runs a standard op's inference on part of an own op. Each part is one of the own node's inputs,
// or a value of the definition given by its type; messages name the own node and its values.
struct Part {
  int input = -1;      // index into the own node's inputs, or -1
  TensorType type;     // used when input == -1
};

TensorType infer_part(const InferContext& ctx, const char* op, const std::vector<Part>& parts,
                      std::vector<Attribute> attrs = {}) {
  Node n;
  n.name = ctx.node().name;
  n.domain = ctx.node().domain;
  n.op_type = ctx.node().op_type;
  n.outputs = {ctx.node().outputs.empty() ? std::string("out") : ctx.node().outputs[0]};
  n.attributes = std::move(attrs);
  std::vector<TensorType> types;
  std::vector<const Tensor*> values;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    if (p.input >= 0) {
      n.inputs.push_back(ctx.node().inputs[size_t(p.input)]);
      types.push_back(ctx.input_type(size_t(p.input)));
      values.push_back(ctx.input_value(size_t(p.input)));
    } else {
      n.inputs.push_back("(" + std::string(op) + " input " + std::to_string(i) + ")");
      types.push_back(p.type);
      values.push_back(nullptr);
    }
  }
  InferContext sub(n, kLatestOpset, types, values);
  infer_node(OpRegistry::global().find("", op), sub);
  return sub.output_types().at(0);
}

// The type of Add(a, b) as the definition computes it (multidirectional broadcast).
TensorType broadcast_type(const InferContext& ctx, const TensorType& a, const TensorType& b) {
  if (!a.has_rank() || !b.has_rank()) return TensorType{a.dtype, std::nullopt};
  return TensorType{a.dtype, broadcast_dims(ctx, {&*a.dims, &*b.dims})};
}

// ------------------------------------------------------------------ activations

// Emits the node's `activation` applied to x.
std::string emit_activation(ExpandContext& ctx, const std::string& x, DType dtype) {
  const Node& node = ctx.node();
  const std::string act = activation_of(node);
  const std::optional<float> alpha = number_attr(node, "alpha"), beta = number_attr(node, "beta");
  if (act.empty()) return x;
  if (act == "Relu" || act == "Sigmoid" || act == "Tanh") return ctx.add(act, {x});
  if (act == "LeakyRelu") return ctx.add(act, {x}, {Attribute::make_float("alpha", alpha.value_or(0.01f))});
  if (act == "HardSigmoid")
    return ctx.add(act, {x}, {Attribute::make_float("alpha", alpha.value_or(0.2f)),
                              Attribute::make_float("beta", beta.value_or(0.5f))});
  if (act == "HardSwish") {
    if (ctx.opset() >= 14) return ctx.add("HardSwish", {x});
    const std::string h = ctx.add("HardSigmoid", {x}, {Attribute::make_float("alpha", 1.0f / 6.0f),
                                                      Attribute::make_float("beta", 0.5f)});
    return ctx.add("Mul", {x, h});
  }
  if (act == "Clip") {
    if (ctx.opset() < 11) {
      std::vector<Attribute> attrs;
      if (alpha) attrs.push_back(Attribute::make_float("min", *alpha));
      if (beta) attrs.push_back(Attribute::make_float("max", *beta));
      return ctx.add("Clip", {x}, attrs);
    }
    const std::string lo = alpha ? ctx.scalar(dtype, *alpha) : "";
    const std::string hi = beta ? ctx.scalar(dtype, *beta) : "";
    std::vector<std::string> in = {x, lo, hi};
    while (in.back().empty()) in.pop_back();
    return ctx.add("Clip", in);
  }
  ctx.fail("activation \"", act, "\" is not one of Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish");
}

// ------------------------------------------------------------------ FusedConv

void infer_fused_conv(InferContext& ctx) {
  check_attribute_names(ctx, {&kConvAttrs, &kActivationAttrs});
  check_activation(ctx);
  ctx.require_dtype(0, kFloat);
  std::vector<Part> conv = {{0, {}}, {1, {}}};
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    const TensorType& b = ctx.input_type(2);
    if (b.has_rank() && b.rank() > 1) ctx.fail("bias B must be 1-D [M] or a scalar, got ", b.str());
    if (b.rank() == 1) conv.push_back({2, {}});
  }
  TensorType y = infer_part(ctx, "Conv", conv, conv_attributes(ctx.node()));
  if (ctx.has_input(3)) {
    ctx.require_same_dtype(0, 3);
    y = broadcast_type(ctx, y, ctx.input_type(3));
  }
  ctx.set_output(0, y);
}

void expand_fused_conv(ExpandContext& ctx) {
  std::vector<std::string> in = {ctx.input(0), ctx.input(1)};
  bool scalar_bias = false;
  if (ctx.has_input(2)) {
    if (ctx.input_rank(2) == 1)
      in.push_back(ctx.input(2));
    else
      scalar_bias = true;
  }
  std::string y = ctx.add("Conv", in, conv_attributes(ctx.node()));
  if (scalar_bias) y = ctx.add("Add", {y, ctx.input(2)});
  if (ctx.has_input(3)) y = ctx.add("Add", {y, ctx.input(3)});
  ctx.set_output(0, emit_activation(ctx, y, ctx.input_dtype(0)));
}

// ------------------------------------------------------------------ ConvNHWC

void infer_conv_nhwc(InferContext& ctx) {
  check_attribute_names(ctx, {&kConvAttrs});
  ctx.require_dtype(0, kFloat);
  const TensorType& x = ctx.input_type(0);
  if (!x.has_rank()) {
    ctx.set_output_unknown_rank(0, x.dtype);
    return;
  }
  if (x.rank() != 4) ctx.fail("input X must be 4-D NHWC (2-D convolution), got ", x.str());
  const Dims& d = *x.dims;
  std::vector<Part> conv = {{-1, TensorType{x.dtype, Dims{d[0], d[3], d[1], d[2]}}}, {1, {}}};
  if (ctx.has_input(2)) conv.push_back({2, {}});
  const TensorType y = infer_part(ctx, "Conv", conv, conv_attributes(ctx.node()));
  if (!y.has_rank()) {
    ctx.set_output_unknown_rank(0, x.dtype);
    return;
  }
  const Dims& o = *y.dims;
  ctx.set_output(0, x.dtype, Dims{o[0], o[2], o[3], o[1]});
}

void expand_conv_nhwc(ExpandContext& ctx) {
  const std::string xt = ctx.add("Transpose", {ctx.input(0)}, {Attribute::make_ints("perm", {0, 3, 1, 2})});
  std::vector<std::string> in = {xt, ctx.input(1)};
  if (ctx.has_input(2)) in.push_back(ctx.input(2));
  const std::string y = ctx.add("Conv", in, conv_attributes(ctx.node()));
  ctx.set_output(0, ctx.add("Transpose", {y}, {Attribute::make_ints("perm", {0, 2, 3, 1})}));
}

// ------------------------------------------------------------------ FusedMatMul

void infer_fused_matmul(InferContext& ctx) {
  check_attribute_names(ctx, {&kActivationAttrs});
  check_activation(ctx);
  ctx.require_dtype(0, kFloat);
  TensorType y = infer_part(ctx, "MatMul", {{0, {}}, {1, {}}});
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    y = broadcast_type(ctx, y, ctx.input_type(2));
  }
  ctx.set_output(0, y);
}

void expand_fused_matmul(ExpandContext& ctx) {
  std::string y = ctx.add("MatMul", {ctx.input(0), ctx.input(1)});
  if (ctx.has_input(2)) y = ctx.add("Add", {y, ctx.input(2)});
  ctx.set_output(0, emit_activation(ctx, y, ctx.input_dtype(0)));
}

// ------------------------------------------------------------------ Swish

const std::vector<std::string> kSwishAttrs = {"alpha"};

void infer_swish(InferContext& ctx) {
  check_attribute_names(ctx, {&kSwishAttrs});
  number_attr(ctx.node(), "alpha");
  ctx.require_dtype(0, kFloat);
  ctx.set_output(0, ctx.input_type(0));
}

void expand_swish(ExpandContext& ctx) {
  const float alpha = number_attr(ctx.node(), "alpha").value_or(1.0f);
  const std::string& x = ctx.input(0);
  const std::string scaled = alpha == 1.0f ? x : ctx.add("Mul", {x, ctx.scalar(ctx.input_dtype(0), alpha)});
  ctx.set_output(0, ctx.add("Mul", {x, ctx.add("Sigmoid", {scaled})}));
}

// ------------------------------------------------------------------ Attention

const std::vector<std::string> kAttentionAttrs = {"scale", "transpose_k"};

bool transpose_k(const Node& node) {
  const int64_t t = node.attr_int("transpose_k", 1);
  if (t != 0 && t != 1) fail(node.label(), ": transpose_k must be 0 or 1, got ", t);
  return t == 1;
}

void infer_attention(InferContext& ctx) {
  check_attribute_names(ctx, {&kAttentionAttrs});
  number_attr(ctx.node(), "scale");
  const bool tk = transpose_k(ctx.node());
  ctx.require_dtype(0, kFloat);
  ctx.require_same_dtype(0, 1);
  ctx.require_same_dtype(0, 2);
  if (ctx.has_input(3)) ctx.require_same_dtype(0, 3);
  const DType dt = ctx.input_dtype(0);
  for (size_t i = 0; i < 4; ++i) {
    if (i == 3 && !ctx.has_input(3)) break;
    if (!ctx.input_type(i).has_rank()) {
      ctx.set_output_unknown_rank(0, dt);
      return;
    }
    if (i < 3 && ctx.input_rank(i) < 2)
      ctx.fail("input ", i, " ('", ctx.node().inputs[i], "') must have rank >= 2, got ", ctx.input_type(i).str());
  }
  Dims kt = ctx.input_dims(1);
  if (tk) std::swap(kt[kt.size() - 1], kt[kt.size() - 2]);
  TensorType s = infer_part(ctx, "MatMul", {{0, {}}, {-1, TensorType{ctx.input_dtype(1), kt}}});
  if (ctx.has_input(3)) s = broadcast_type(ctx, s, ctx.input_type(3));
  ctx.set_output(0, infer_part(ctx, "MatMul", {{-1, s}, {2, {}}}));
}

void expand_attention(ExpandContext& ctx) {
  const Node& node = ctx.node();
  const DType dt = ctx.input_dtype(0);
  const int64_t rq = ctx.input_rank(0), rk = ctx.input_rank(1);
  std::string k = ctx.input(1);
  if (transpose_k(node)) {
    std::vector<int64_t> perm;
    for (int64_t i = 0; i < rk; ++i) perm.push_back(i);
    std::swap(perm[size_t(rk - 1)], perm[size_t(rk - 2)]);
    k = ctx.add("Transpose", {k}, {Attribute::make_ints("perm", perm)});
  }
  double scale;
  if (auto s = number_attr(node, "scale")) {
    scale = *s;
  } else {
    const Dim& d = ctx.input_type(0).dims->back();
    if (!d.known() || d.value <= 0)
      ctx.fail("without a scale attribute the definition needs the last dim of Q, which is not known");
    scale = 1.0 / std::sqrt(double(d.value));
  }
  std::string s = ctx.add("MatMul", {ctx.input(0), k});
  s = ctx.add("Mul", {s, ctx.scalar(dt, scale)});
  int64_t rank = std::max(rq, rk);
  if (ctx.has_input(3)) {
    s = ctx.add("Add", {s, ctx.input(3)});
    rank = std::max(rank, ctx.input_rank(3));
  }
  // Softmax over the last axis: before opset 13 Softmax coerces to 2-D at `axis`, which for the
  // last axis is the same; negative axes exist from opset 11.
  const int64_t axis = ctx.opset() >= 11 ? -1 : rank - 1;
  const std::string p = ctx.add("Softmax", {s}, {Attribute::make_int("axis", axis)});
  ctx.set_output(0, ctx.add("MatMul", {p, ctx.input(2)}));
}

// ------------------------------------------------------------------ standard ops in older opsets

void expand_hard_swish(ExpandContext& ctx) {
  const std::string& x = ctx.input(0);
  const std::string h = ctx.add("HardSigmoid", {x}, {Attribute::make_float("alpha", 1.0f / 6.0f),
                                                    Attribute::make_float("beta", 0.5f)});
  ctx.set_output(0, ctx.add("Mul", {x, h}));
}

void expand_mish(ExpandContext& ctx) {
  const std::string& x = ctx.input(0);
  ctx.set_output(0, ctx.add("Mul", {x, ctx.add("Tanh", {ctx.add("Softplus", {x})})}));
}

void expand_gelu(ExpandContext& ctx) {
  const std::string& x = ctx.input(0);
  const DType dt = ctx.input_dtype(0);
  const std::string approx = ctx.node().attr_string("approximate", "none");
  std::string inner;
  if (approx == "tanh") {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const std::string x3 = ctx.add("Mul", {ctx.add("Mul", {x, x}), x});
    const std::string t = ctx.add("Add", {x, ctx.add("Mul", {x3, ctx.scalar(dt, 0.044715)})});
    inner = ctx.add("Tanh", {ctx.add("Mul", {t, ctx.scalar(dt, std::sqrt(2.0 / std::numbers::pi))})});
  } else {
    // 0.5 x (1 + erf(x / sqrt(2)))
    inner = ctx.add("Erf", {ctx.add("Mul", {x, ctx.scalar(dt, 1.0 / std::sqrt(2.0))})});
  }
  const std::string one_plus = ctx.add("Add", {inner, ctx.scalar(dt, 1.0)});
  ctx.set_output(0, ctx.add("Mul", {ctx.add("Mul", {x, one_plus}), ctx.scalar(dt, 0.5)}));
}

void expand_layer_norm(ExpandContext& ctx) {
  const Node& node = ctx.node();
  for (size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty())
      ctx.fail("output ", k, " ('", node.outputs[k],
               "', Mean or InvStdDev) is used; the definition in standard ops computes only Y");
  const int64_t rank = ctx.input_rank(0);
  const int64_t axis0 = node.attr_int("axis", -1);
  if (axis0 < -rank || axis0 >= rank) ctx.fail("axis ", axis0, " is out of range for rank ", rank);
  const int64_t axis = axis0 < 0 ? axis0 + rank : axis0;
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a) axes.push_back(a);
  const DType dt = ctx.input_dtype(0);
  const auto stash = dtype_from_code(node.attr_int("stash_type", 1));
  if (!stash || !is_floating(*stash)) ctx.fail("stash_type ", node.attr_int("stash_type", 1), " is not a floating-point type");
  // As ONNX's own function body: statistics in the stash type, the result cast back before Scale and B.
  std::string x = ctx.input(0);
  if (*stash != dt) x = ctx.add("Cast", {x}, {Attribute::make_int("to", int64_t(*stash))});
  auto mean = [&](const std::string& v) {
    if (ctx.opset() >= 18) return ctx.add("ReduceMean", {v, ctx.ints(axes)}, {Attribute::make_int("keepdims", 1)});
    return ctx.add("ReduceMean", {v}, {Attribute::make_ints("axes", axes), Attribute::make_int("keepdims", 1)});
  };
  const std::string d = ctx.add("Sub", {x, mean(x)});
  const std::string var = mean(ctx.add("Mul", {d, d}));
  const float eps = node.attr_float("epsilon", 1e-5f);
  const std::string sd = ctx.add("Sqrt", {ctx.add("Add", {var, ctx.scalar(*stash, eps)})});
  std::string y = ctx.add("Div", {d, sd});
  if (*stash != dt) y = ctx.add("Cast", {y}, {Attribute::make_int("to", int64_t(dt))});
  y = ctx.add("Mul", {y, ctx.input(1)});
  if (ctx.has_input(2)) y = ctx.add("Add", {y, ctx.input(2)});
  ctx.set_output(0, y);
}

// ------------------------------------------------------------------ signatures

using signature::kFloatsBf16;
using signature::kOptional;
using signature::Sig;
using Kind = Attribute::Kind;

// Conv's attributes, with Conv's defaults (ONNX 1.12).
Sig& conv_attrs(Sig& s) {
  return s.attr("auto_pad", Kind::String, false, Attribute::make_string("auto_pad", "NOTSET"))
      .attr("dilations", Kind::Ints, false, std::nullopt)
      .attr("group", Kind::Int, false, Attribute::make_int("group", 1))
      .attr("kernel_shape", Kind::Ints, false, std::nullopt)
      .attr("pads", Kind::Ints, false, std::nullopt)
      .attr("strides", Kind::Ints, false, std::nullopt);
}

// The fused activation: none by default; alpha and beta default by activation (see the top).
Sig& activation_attrs(Sig& s) {
  return s.attr("activation", Kind::String, false, Attribute::make_string("activation", ""))
      .attr("alpha", Kind::Float, false, std::nullopt)
      .attr("beta", Kind::Float, false, std::nullopt);
}

void own_signatures(OpRegistry& r) {
  const std::string d(kEqoptDomain);
  Sig fused_conv(r, d, "FusedConv", 1, 1);
  fused_conv.in("X", kFloatsBf16).in("W", kFloatsBf16).in("B", kFloatsBf16, kOptional).in("Z", kFloatsBf16, kOptional)
      .out("Y", kFloatsBf16);
  activation_attrs(conv_attrs(fused_conv));
  Sig fused_matmul(r, d, "FusedMatMul", 1, 1);
  fused_matmul.in("A", kFloatsBf16).in("B", kFloatsBf16).in("C", kFloatsBf16, kOptional).out("Y", kFloatsBf16);
  activation_attrs(fused_matmul);
  Sig(r, d, "Swish", 1, 1)
      .in("X", kFloatsBf16)
      .out("Y", kFloatsBf16)
      .attr("alpha", Kind::Float, false, Attribute::make_float("alpha", 1.0f));
  Sig(r, d, "Attention", 1, 1)
      .in("Q", kFloatsBf16)
      .in("K", kFloatsBf16)
      .in("V", kFloatsBf16)
      .in("M", kFloatsBf16, kOptional)
      .out("Y", kFloatsBf16)
      .attr("scale", Kind::Float, false, std::nullopt)  // 1/sqrt(dim(Q, -1))
      .attr("transpose_k", Kind::Int, false, Attribute::make_int("transpose_k", 1));
  Sig conv_nhwc(r, d, "ConvNHWC", 1, 1);
  conv_nhwc.in("X", kFloatsBf16).in("W", kFloatsBf16).in("B", kFloatsBf16, kOptional).out("Y", kFloatsBf16);
  conv_attrs(conv_nhwc);
}

}  // namespace

void register_eqopt_ops(OpRegistry& r) {
  const std::string d(kEqoptDomain);
  auto own = [&](const char* name, InferFn infer, ExpandFn expand, int min_in, int max_in, OpClass op_class,
                 FlopsFn flops) {
    OpSchema s{d, name, infer, min_in, max_in, 1, 1};
    s.expand = expand;
    s.op_class = op_class;
    s.flops = flops;
    s.since_version = 1;
    r.add(std::move(s));
  };
  own("FusedConv", infer_fused_conv, expand_fused_conv, 2, 4, OpClass::Conv, flops::fused_conv);
  own("FusedMatMul", infer_fused_matmul, expand_fused_matmul, 2, 3, OpClass::MatMul, flops::fused_matmul);
  own("Swish", infer_swish, expand_swish, 1, 1, OpClass::Activation, flops::per_output_x3);
  r.find_mutable(d, "Swish")->elementwise = true;
  own("Attention", infer_attention, expand_attention, 3, 4, OpClass::MatMul, flops::attention);
  own("ConvNHWC", infer_conv_nhwc, expand_conv_nhwc, 2, 3, OpClass::Conv, flops::fused_conv);
  r.find_mutable(d, "ConvNHWC")->channels_last = true;
  own_signatures(r);
  const std::pair<const char*, ExpandFn> standard[] = {{"HardSwish", expand_hard_swish},
                                                       {"LayerNormalization", expand_layer_norm},
                                                       {"Mish", expand_mish},
                                                       {"Gelu", expand_gelu}};
  for (const auto& [name, fn] : standard)
    if (OpSchema* s = r.find_mutable("", name)) s->expand = fn;
}

}  // namespace eqopt
