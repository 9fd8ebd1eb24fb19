// Calibration of the CPU target description against oneDNN kernels timed on this machine (see
// calibrate.h for the method). The kernel list is a table of builders: each makes the ONNX node the
// cost model estimates and, given an engine, the oneDNN primitive that runs the same computation.
#include "lowering/calibrate.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include <dnnl.hpp>

#include "ir/expand.h"
#include "ir/model_stats.h"
#include "support/error.h"

namespace eqopt::lower {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DT = memory::data_type;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ------------------------------------------------------------------ ONNX side

TensorType f32(const Shape& s) { return TensorType::of(DType::Float, s); }
// An activation: an intermediate value; the cost model places it by its size.
tgt::TensorArg act(const Shape& s) { return {f32(s), false}; }
// A weight or constant: read from DRAM.
tgt::TensorArg weight(const Shape& s) { return {f32(s), true}; }

Node make_node(const std::string& op, size_t n_inputs, std::vector<Attribute> attrs = {}, const std::string& domain = "") {
  Node n;
  n.name = op;
  n.op_type = op;
  n.domain = domain;
  for (size_t i = 0; i < n_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  n.outputs = {"out"};
  n.attributes = std::move(attrs);
  return n;
}

// ------------------------------------------------------------------ oneDNN side

// A primitive ready to run: its arguments are allocated and filled.
struct Prepared {
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  std::string layout;  // of its first 4-D argument: "nchw", "nhwc", "nChw16c", ...; "" otherwise
};

struct Env {
  dnnl::engine engine;
  dnnl::stream stream;
};

memory::dims to_dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

memory::desc plain(const memory::dims& d) {
  memory::dims strides(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) strides[i - 1] = strides[i] * d[i];
  return memory::desc(d, DT::f32, strides);
}

memory::desc any(const memory::dims& d) { return memory::desc(d, DT::f32, Tag::any); }

// An activation in the given layout when it is 4-D and a layout is given, plain otherwise.
memory::desc in_layout(const memory::dims& d, Tag layout) {
  return d.size() == 4 && layout != Tag::undef ? memory::desc(d, DT::f32, layout) : plain(d);
}

std::string layout_name(const memory::desc& md) {
  const memory::dims d = md.dims();
  if (d.size() != 4) return "";
  const std::pair<Tag, const char*> known[] = {
      {Tag::nchw, "nchw"}, {Tag::nhwc, "nhwc"}, {Tag::nChw16c, "nChw16c"}, {Tag::nChw8c, "nChw8c"}};
  for (const auto& [tag, name] : known)
    if (memory::desc(d, md.data_type(), tag) == md) return name;
  return "blocked";
}

// Deterministic data in [lo, hi] (a 64-bit linear congruential generator, Knuth's MMIX constants).
void fill_uniform(float* p, size_t n, float lo, float hi, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = lo + (hi - lo) * float(x >> 40) * (1.0f / float(1 << 24));
  }
}

// Allocates and fills every argument the primitive uses. Data is written in plain layout and
// reordered once into the primitive's layout (channels-last or blocked for convolutions), so padding holds
// zeros as oneDNN expects.
Prepared prepare(Env& env, const dnnl::primitive_desc_base& pd, dnnl::primitive prim, const std::vector<int>& args) {
  Prepared p{std::move(prim), {}, ""};
  uint64_t seed = 1;
  for (int arg : args) {
    const memory::desc md = pd.query_md(dnnl::query::exec_arg_md, arg);
    if (md.get_size() == 0) continue;  // not used by this primitive
    if (p.layout.empty()) p.layout = layout_name(md);
    memory m(md, env.engine);
    const memory::desc pmd = plain(md.dims());
    const float lo = arg == DNNL_ARG_VARIANCE ? 0.5f : -1.0f, hi = arg == DNNL_ARG_VARIANCE ? 1.5f : 1.0f;
    if (pmd == md) {
      fill_uniform(static_cast<float*>(m.get_data_handle()), md.get_size() / sizeof(float), lo, hi, seed++);
    } else {
      memory src(pmd, env.engine);
      fill_uniform(static_cast<float*>(src.get_data_handle()), pmd.get_size() / sizeof(float), lo, hi, seed++);
      dnnl::reorder(src, m).execute(env.stream, src, m);
      env.stream.wait();
    }
    p.args.emplace(arg, std::move(m));
  }
  return p;
}

template <class Op>
Prepared prepare_op(Env& env, const typename Op::primitive_desc& pd, const std::vector<int>& args) {
  return prepare(env, pd, Op(pd), args);
}

// Builds the primitive with its 4-D activations in the given layout (Tag::undef: the kernel's own
// choice; kernels whose speed does not depend on the layout ignore it).
using Builder = std::function<Prepared(Env&, Tag)>;

// Layouts to try for kernels whose speed depends on the activation layout: oneDNN's convolutions
// keep activations channels-last or blocked, yet some oneDNN kernels are only fast in NCHW (and
// vice versa); a lowering picks per op, so calibration times the faster.
const std::vector<Tag> kTryLayouts = {Tag::nchw, Tag::nhwc};

struct Kernel {
  KernelSpec spec;
  Builder build;
  std::vector<Tag> layouts = {Tag::undef};
};

// A kernel with its name and flags set; the kernel functions below fill in the rest.
Kernel named_kernel(const std::string& name, bool quick, bool tiny = false) {
  Kernel k;
  k.spec.name = name;
  k.spec.tiny = tiny;
  k.spec.quick = quick;
  return k;
}

// ------------------------------------------------------------------ the kernels

struct ConvShape {
  int64_t n = 1, c, h, w, oc, k, stride = 1, pad = 0, groups = 1;
  bool bias = true, relu = false;
  int64_t oh() const { return (h + 2 * pad - k) / stride + 1; }
  int64_t ow() const { return (w + 2 * pad - k) / stride + 1; }
};

// A 2-D convolution; with ReLU it is eqopt's FusedConv (what the CPU lowering runs as one oneDNN
// convolution with an eltwise post-op), otherwise a standard Conv. Layouts are oneDNN's choice
// (format any; channels-last or blocked on AVX-512 machines): a lowering keeps activations in that
// layout between convolutions and reorders the weights once, ahead of time.
Kernel conv(const std::string& name, ConvShape s, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  const Shape x{s.n, s.c, s.h, s.w}, wt{s.oc, s.c / s.groups, s.k, s.k}, y{s.n, s.oc, s.oh(), s.ow()};
  std::vector<Attribute> attrs = {Attribute::make_ints("kernel_shape", {s.k, s.k}),
                                  Attribute::make_ints("strides", {s.stride, s.stride}),
                                  Attribute::make_ints("pads", {s.pad, s.pad, s.pad, s.pad})};
  if (s.groups > 1) attrs.push_back(Attribute::make_int("group", s.groups));
  if (s.relu) attrs.push_back(Attribute::make_string("activation", "Relu"));
  k.spec.node = make_node(s.relu ? "FusedConv" : "Conv", s.bias ? 3 : 2, attrs, s.relu ? std::string(kEqoptDomain) : "");
  k.spec.inputs = {act(x), weight(wt)};
  if (s.bias) k.spec.inputs.push_back(weight({s.oc}));
  k.spec.outputs = {f32(y)};
  k.build = [s, x, y](Env& env, Tag) {
    const memory::dims wd = s.groups > 1 ? memory::dims{s.groups, s.oc / s.groups, s.c / s.groups, s.k, s.k}
                                         : memory::dims{s.oc, s.c, s.k, s.k};
    const memory::dims strides{s.stride, s.stride}, pad{s.pad, s.pad};
    using C = dnnl::convolution_forward;
    const C::desc d = s.bias ? C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                       any(to_dims(x)), any(wd), plain({s.oc}), any(to_dims(y)), strides, pad, pad)
                             : C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                       any(to_dims(x)), any(wd), any(to_dims(y)), strides, pad, pad);
    dnnl::primitive_attr attr;
    if (s.relu) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(po);
    }
    return prepare_op<C>(env, C::primitive_desc(d, attr, env.engine),
                         {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST});
  };
  return k;
}

// MatMul of [batch.., M, K] by [batch.., K, N] (or a constant [K, N], whose layout oneDNN picks).
Kernel matmul(const std::string& name, const Shape& a, const Shape& b, bool b_const, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  Shape y = a;
  y.back() = b.back();
  k.spec.node = make_node("MatMul", 2);
  k.spec.inputs = {act(a), b_const ? weight(b) : act(b)};
  k.spec.outputs = {f32(y)};
  k.build = [a, b, y, b_const](Env& env, Tag) {
    const dnnl::matmul::desc d(plain(to_dims(a)), b_const ? any(to_dims(b)) : plain(to_dims(b)), plain(to_dims(y)));
    return prepare_op<dnnl::matmul>(env, dnnl::matmul::primitive_desc(d, env.engine),
                                    {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST});
  };
  return k;
}

// An activation: one oneDNN eltwise primitive. Clip's bounds are scalar inputs in ONNX.
Kernel eltwise(const std::string& name, const std::string& op, dnnl::algorithm alg, const Shape& shape, float alpha = 0,
               float beta = 0, bool tiny = false, bool quick = false) {
  Kernel k = named_kernel(name, quick, tiny);
  k.spec.node = make_node(op, op == "Clip" ? 3 : 1);
  k.spec.inputs = {act(shape)};
  if (op == "Clip") k.spec.inputs.insert(k.spec.inputs.end(), {weight({}), weight({})});
  k.spec.outputs = {f32(shape)};
  k.build = [shape, alg, alpha, beta](Env& env, Tag) {
    using E = dnnl::eltwise_forward;
    const E::desc d(dnnl::prop_kind::forward_inference, alg, plain(to_dims(shape)), alpha, beta);
    return prepare_op<E>(env, E::primitive_desc(d, env.engine), {DNNL_ARG_SRC, DNNL_ARG_DST});
  };
  return k;
}

// A binary elementwise op with numpy broadcasting of the second operand (oneDNN wants equal ranks:
// the second is padded with leading ones).
Kernel binary(const std::string& name, const std::string& op, dnnl::algorithm alg, const Shape& a, const Shape& b,
              bool b_const, bool tiny = false, bool quick = false) {
  Kernel k = named_kernel(name, quick, tiny);
  k.spec.node = make_node(op, 2);
  k.spec.inputs = {act(a), b_const ? weight(b) : act(b)};
  k.spec.outputs = {f32(a)};
  if (a.size() == 4 && a != b) k.layouts = kTryLayouts;  // per-channel broadcast
  k.build = [a, b, alg](Env& env, Tag layout) {
    Shape b_full(a.size() - b.size(), 1);
    b_full.insert(b_full.end(), b.begin(), b.end());
    const dnnl::binary::desc d(alg, in_layout(to_dims(a), layout), in_layout(to_dims(b_full), layout),
                               in_layout(to_dims(a), layout));
    return prepare_op<dnnl::binary>(env, dnnl::binary::primitive_desc(d, env.engine),
                                    {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST});
  };
  return k;
}

// MaxPool k x k, stride s, padding p; or, with k = 0, GlobalAveragePool (an average over the whole
// spatial extent).
Kernel pool(const std::string& name, const Shape& x, int64_t kk, int64_t s, int64_t p, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  const bool global = kk == 0;
  const int64_t kh = global ? x[2] : kk, kw = global ? x[3] : kk, st = global ? 1 : s, pd = global ? 0 : p;
  const Shape y{x[0], x[1], (x[2] + 2 * pd - kh) / st + 1, (x[3] + 2 * pd - kw) / st + 1};
  k.spec.node = global ? make_node("GlobalAveragePool", 1)
                       : make_node("MaxPool", 1,
                                   {Attribute::make_ints("kernel_shape", {kk, kk}), Attribute::make_ints("strides", {s, s}),
                                    Attribute::make_ints("pads", {p, p, p, p})});
  k.spec.inputs = {act(x)};
  k.spec.outputs = {f32(y)};
  k.layouts = kTryLayouts;
  k.build = [x, y, kh, kw, st, pd, global](Env& env, Tag layout) {
    using P = dnnl::pooling_v2_forward;
    const P::desc d(dnnl::prop_kind::forward_inference,
                    global ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max,
                    in_layout(to_dims(x), layout), in_layout(to_dims(y), layout), {st, st}, {kh, kw}, {0, 0}, {pd, pd},
                    {pd, pd});
    return prepare_op<P>(env, P::primitive_desc(d, env.engine), {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WORKSPACE});
  };
  return k;
}

// Softmax over the last axis.
Kernel softmax(const std::string& name, const Shape& x, bool tiny = false, bool quick = false) {
  Kernel k = named_kernel(name, quick, tiny);
  k.spec.node = make_node("Softmax", 1, {Attribute::make_int("axis", -1)});
  k.spec.inputs = {act(x)};
  k.spec.outputs = {f32(x)};
  k.build = [x](Env& env, Tag) {
    using S = dnnl::softmax_v2_forward;
    const S::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, plain(to_dims(x)),
                    plain(to_dims(x)), int(x.size()) - 1);
    return prepare_op<S>(env, S::primitive_desc(d, env.engine), {DNNL_ARG_SRC, DNNL_ARG_DST});
  };
  return k;
}

// LayerNormalization over the last axis, with scale and bias.
Kernel layer_norm(const std::string& name, const Shape& x, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  k.spec.node = make_node("LayerNormalization", 3, {Attribute::make_int("axis", -1)});
  k.spec.inputs = {act(x), weight({x.back()}), weight({x.back()})};
  k.spec.outputs = {f32(x)};
  k.build = [x](Env& env, Tag) {
    using L = dnnl::layer_normalization_forward;
    const L::desc d(dnnl::prop_kind::forward_inference, plain(to_dims(x)), 1e-5f,
                    dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift);
    return prepare_op<L>(env, L::primitive_desc(d, env.engine),
                         {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE});
  };
  return k;
}

// BatchNormalization in inference (stored statistics), NCHW.
Kernel batch_norm(const std::string& name, const Shape& x, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  k.spec.node = make_node("BatchNormalization", 5);
  for (int i = 0; i < 5; ++i) k.spec.inputs.push_back(i == 0 ? act(x) : weight({x[1]}));
  k.spec.outputs = {f32(x)};
  k.layouts = kTryLayouts;
  k.build = [x](Env& env, Tag layout) {
    using B = dnnl::batch_normalization_forward;
    const B::desc d(dnnl::prop_kind::forward_inference, in_layout(to_dims(x), layout), 1e-5f,
                    dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                        dnnl::normalization_flags::use_shift);
    return prepare_op<B>(env, B::primitive_desc(d, env.engine),
                         {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE});
  };
  return k;
}

// Transpose NCHW -> NHWC: a oneDNN reorder between the two layouts of the same logical tensor.
Kernel transpose(const std::string& name, const Shape& x, bool tiny = false, bool quick = false) {
  Kernel k = named_kernel(name, quick, tiny);
  k.spec.node = make_node("Transpose", 1, {Attribute::make_ints("perm", {0, 2, 3, 1})});
  k.spec.inputs = {act(x)};
  k.spec.outputs = {f32({x[0], x[2], x[3], x[1]})};
  k.build = [x](Env& env, Tag) {
    const memory::desc src(to_dims(x), DT::f32, Tag::nchw), dst(to_dims(x), DT::f32, Tag::nhwc);
    const dnnl::reorder::primitive_desc pd(env.engine, src, env.engine, dst);
    return prepare(env, pd, dnnl::reorder(pd), {DNNL_ARG_FROM, DNNL_ARG_TO});
  };
  return k;
}

// Concat of equally shaped NCHW tensors along the channels.
Kernel concat(const std::string& name, const Shape& part, int parts, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  k.spec.node = make_node("Concat", size_t(parts), {Attribute::make_int("axis", 1)});
  for (int i = 0; i < parts; ++i) k.spec.inputs.push_back(act(part));
  Shape y = part;
  y[1] *= parts;
  k.spec.outputs = {f32(y)};
  k.layouts = kTryLayouts;
  k.build = [part, parts, y](Env& env, Tag layout) {
    const std::vector<memory::desc> srcs(size_t(parts), in_layout(to_dims(part), layout));
    const dnnl::concat::primitive_desc pd(in_layout(to_dims(y), layout), 1, srcs, env.engine);
    std::vector<int> args = {DNNL_ARG_DST};
    for (int i = 0; i < parts; ++i) args.push_back(DNNL_ARG_MULTIPLE_SRC + i);
    return prepare(env, pd, dnnl::concat(pd), args);
  };
  return k;
}

// ReduceMean over the given axes, keeping them (written at opset 17, where axes is an attribute).
Kernel reduce_mean(const std::string& name, const Shape& x, const std::vector<int64_t>& axes, bool quick = false) {
  Kernel k = named_kernel(name, quick);
  k.spec.opset = 17;
  k.spec.node = make_node("ReduceMean", 1, {Attribute::make_ints("axes", axes), Attribute::make_int("keepdims", 1)});
  Shape y = x;
  for (int64_t a : axes) y[size_t(a)] = 1;
  k.spec.inputs = {act(x)};
  k.spec.outputs = {f32(y)};
  if (x.size() == 4) k.layouts = kTryLayouts;
  k.build = [x, y](Env& env, Tag layout) {
    const dnnl::reduction::desc d(dnnl::algorithm::reduction_mean, in_layout(to_dims(x), layout),
                                  in_layout(to_dims(y), layout), 0.0f, 0.0f);
    return prepare_op<dnnl::reduction>(env, dnnl::reduction::primitive_desc(d, env.engine), {DNNL_ARG_SRC, DNNL_ARG_DST});
  };
  return k;
}

// The kernel table. Shapes follow MobileNet v1/v2 and ResNet-50 at 224x224 (batch 1) and a
// BERT-base layer at sequence length 128 (hidden 768, 12 heads of 64, feed-forward 3072).
std::vector<Kernel> all_kernels() {
  using A = dnnl::algorithm;
  std::vector<Kernel> k;
  // convolutions: dense 3x3, pointwise 1x1, depthwise 3x3 (groups = channels), the strided stem
  k.push_back(conv("conv_stem_3to32_224_s2", {.c = 3, .h = 224, .w = 224, .oc = 32, .k = 3, .stride = 2, .pad = 1, .relu = true}));
  k.push_back(conv("conv3x3_64_56", {.c = 64, .h = 56, .w = 56, .oc = 64, .k = 3, .pad = 1, .relu = true}));
  k.push_back(conv("conv3x3_128_28", {.c = 128, .h = 28, .w = 28, .oc = 128, .k = 3, .pad = 1, .relu = true}, true));
  k.push_back(conv("conv3x3_256_14", {.c = 256, .h = 14, .w = 14, .oc = 256, .k = 3, .pad = 1}));
  k.push_back(conv("conv1x1_32to64_112", {.c = 32, .h = 112, .w = 112, .oc = 64, .k = 1, .relu = true}));
  k.push_back(conv("conv1x1_128to256_28", {.c = 128, .h = 28, .w = 28, .oc = 256, .k = 1}, true));
  k.push_back(conv("conv1x1_1024_7", {.c = 1024, .h = 7, .w = 7, .oc = 1024, .k = 1, .relu = true}));
  k.push_back(conv("dwconv3x3_32_112", {.c = 32, .h = 112, .w = 112, .oc = 32, .k = 3, .pad = 1, .groups = 32, .relu = true}, true));
  k.push_back(conv("dwconv3x3_128_56_s2", {.c = 128, .h = 56, .w = 56, .oc = 128, .k = 3, .stride = 2, .pad = 1, .groups = 128, .relu = true}));
  k.push_back(conv("dwconv3x3_512_14", {.c = 512, .h = 14, .w = 14, .oc = 512, .k = 3, .pad = 1, .groups = 512, .relu = true}));
  // matrix products: classifier, attention projections, feed-forward, attention scores and values
  k.push_back(matmul("matmul_1x1280x1000", {1, 1280}, {1280, 1000}, true));
  k.push_back(matmul("matmul_128x768x768", {128, 768}, {768, 768}, true, true));
  k.push_back(matmul("matmul_128x768x3072", {128, 768}, {768, 3072}, true));
  k.push_back(matmul("bmm_12x128x64x128", {12, 128, 64}, {12, 64, 128}, false, true));
  k.push_back(matmul("bmm_12x128x128x64", {12, 128, 128}, {12, 128, 64}, false));
  // activations
  k.push_back(eltwise("relu_64x112x112", "Relu", A::eltwise_relu, {1, 64, 112, 112}, 0, 0, false, true));
  k.push_back(eltwise("relu_4M", "Relu", A::eltwise_relu, {1, 256, 128, 128}));
  k.push_back(eltwise("sigmoid_32x112x112", "Sigmoid", A::eltwise_logistic, {1, 32, 112, 112}));
  k.push_back(eltwise("tanh_1M", "Tanh", A::eltwise_tanh, {1, 16, 256, 256}));
  k.push_back(eltwise("gelu_128x3072", "Gelu", A::eltwise_gelu_erf, {128, 3072}, 0, 0, false, true));
  k.push_back(eltwise("hardswish_16x112x112", "HardSwish", A::eltwise_hardswish, {1, 16, 112, 112}));
  k.push_back(eltwise("clip6_144x56x56", "Clip", A::eltwise_clip, {1, 144, 56, 56}, 0.0f, 6.0f));
  // binary elementwise: residual add, squeeze-excitation scale, bias add
  k.push_back(binary("add_256x56x56", "Add", A::binary_add, {1, 256, 56, 56}, {1, 256, 56, 56}, false, false, true));
  k.push_back(binary("mul_256x56x56_by_256x1x1", "Mul", A::binary_mul, {1, 256, 56, 56}, {1, 256, 1, 1}, false));
  k.push_back(binary("add_128x3072_by_3072", "Add", A::binary_add, {128, 3072}, {3072}, true));
  // pooling
  k.push_back(pool("maxpool3x3_s2_64_112", {1, 64, 112, 112}, 3, 2, 1, true));
  k.push_back(pool("globalavgpool_1280_7", {1, 1280, 7, 7}, 0, 1, 0));
  // softmax, normalizations
  k.push_back(softmax("softmax_12x128x128", {12, 128, 128}, false, true));
  k.push_back(layer_norm("layernorm_128x768", {128, 768}, true));
  k.push_back(batch_norm("batchnorm_64_56", {1, 64, 56, 56}));
  // data movement
  k.push_back(transpose("transpose_nchw_nhwc_64_56", {1, 64, 56, 56}, false, true));
  k.push_back(transpose("transpose_nchw_nhwc_128_112", {1, 128, 112, 112}));
  k.push_back(concat("concat_2x128_28", {1, 128, 28, 28}, 2));
  // reductions
  k.push_back(reduce_mean("reducemean_hw_512_28", {1, 512, 28, 28}, {2, 3}, true));
  k.push_back(reduce_mean("reducemean_last_128x768", {128, 768}, {1}));
  // tiny kernels: their time is the per-kernel overhead
  k.push_back(eltwise("tiny_relu_64", "Relu", A::eltwise_relu, {64}, 0, 0, true, true));
  k.push_back(binary("tiny_add_64", "Add", A::binary_add, {64}, {64}, false, true, true));
  k.push_back(softmax("tiny_softmax_1x16", {1, 16}, true, true));
  k.push_back(transpose("tiny_transpose_1x4x4x4", {1, 4, 4, 4}, true, true));
  for (Kernel& x : k) {
    x.spec.node.name = x.spec.name;
    if (x.spec.tiny) x.spec.quick = true;
  }
  return k;
}

// ------------------------------------------------------------------ timing

double time_kernel(Env& env, Prepared& p, int reps, double budget_s, bool quick, int& runs) {
  auto run = [&] {
    p.prim.execute(env.stream, p.args);
    env.stream.wait();
  };
  // Warm-up: JIT caches, page faults, the memory hierarchy.
  const double warm_s = quick ? 0.002 : 0.02;
  const auto w0 = Clock::now();
  int warm = 0;
  do {
    run();
    ++warm;
  } while (warm < 2 || (warm < 1000 && seconds_since(w0) < warm_s));
  std::vector<double> times;
  times.reserve(size_t(reps));
  const auto t0 = Clock::now();
  for (int r = 0; r < reps; ++r) {
    const auto t = Clock::now();
    run();
    times.push_back(seconds_since(t));
    if (times.size() >= 3 && seconds_since(t0) > budget_s) break;
  }
  runs = int(times.size());
  return median(times);
}

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "all";
  }
}

double bytes_of(const TensorType& t) {
  if (!t.dims) return 0;
  double n = 1;
  for (const Dim& d : *t.dims) n *= double(d.known() ? d.value : 1);
  return n * double(std::max<size_t>(1, dtype_size(t.dtype)));
}

double clamp_efficiency(double e) { return std::clamp(e, 0.01, 4.0); }
bool at_bound(double e) { return e <= 0.01 || e >= 4.0; }

}  // namespace

// ------------------------------------------------------------------ public

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = 0.5 * double(i + j) + 1.0;  // ranks i+1 .. j+1, averaged
    for (size_t t = i; t <= j; ++t) rank[order[t]] = r;
    i = j + 1;
  }
  return rank;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) fail("spearman: series of different lengths (", a.size(), " and ", b.size(), ")");
  const size_t n = a.size();
  if (n < 2) return std::nan("");
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double mean = 0.5 * double(n + 1);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa == 0 || sbb == 0) return std::nan("");
  return sab / std::sqrt(saa * sbb);
}

int cpu_threads() { return omp_get_max_threads(); }

void set_cpu_threads(int n) { omp_set_num_threads(std::max(1, n)); }

std::vector<KernelSpec> calibration_kernels(bool quick) {
  std::vector<KernelSpec> out;
  for (Kernel& k : all_kernels())
    if (!quick || k.spec.quick) out.push_back(std::move(k.spec));
  return out;
}

Calibration fit_timings(const tgt::TargetDescription& base, const std::vector<KernelSpec>& specs,
                        const std::vector<double>& measured_s, const CalibrateOptions& options) {
  if (specs.size() != measured_s.size())
    fail("calibrate: ", specs.size(), " kernels but ", measured_s.size(), " measured times");
  Calibration cal;
  // The roofline: every efficiency 1, no kernel overhead. (The CPU description names no host, so
  // no host target is loaded; one that does keeps its host.)
  tgt::TargetDescription unit = base;
  for (auto& [key, e] : unit.efficiency) e = 1.0;
  unit.kernel_overhead = 0;
  const tgt::CostModel roofline(unit), before(base);

  std::vector<KernelTiming>& ks = cal.kernels;
  for (size_t i = 0; i < specs.size(); ++i) {
    const KernelSpec& s = specs[i];
    KernelTiming t;
    t.name = s.name;
    t.op_type = s.node.op_type;
    t.op_class = tgt::CostModel::op_class(s.node);
    t.tiny = s.tiny;
    std::vector<TensorType> in;
    for (const tgt::TensorArg& a : s.inputs) {
      in.push_back(a.type);
      t.bytes += bytes_of(a.type);
    }
    for (const TensorType& o : s.outputs) t.bytes += bytes_of(o);
    t.flops = double(node_flops(s.node, in, s.outputs).value_or(0));
    t.roofline_s = roofline.cost(s.node, s.inputs, s.outputs).total_s;
    t.estimate_before_s = before.cost(s.node, s.inputs, s.outputs).total_s;
    t.measured_s = measured_s[i];
    if (!(t.measured_s > 0) || !std::isfinite(t.measured_s)) fail("calibrate: kernel ", s.name, " has no valid time");
    ks.push_back(t);
  }

  // Kernel overhead: what the tiny kernels take beyond their (negligible) roofline.
  std::vector<double> extra;
  for (const KernelTiming& t : ks)
    if (t.tiny) extra.push_back(std::max(0.0, t.measured_s - t.roofline_s));
  tgt::TargetDescription fitted = base;
  fitted.source.clear();
  cal.overhead_before_s = base.kernel_overhead;
  fitted.kernel_overhead = extra.empty() ? base.kernel_overhead : median(extra);
  cal.overhead_after_s = fitted.kernel_overhead;

  // The efficiency each (non-tiny) kernel shows: roofline over the time beyond the overhead. A
  // kernel timed at or below the overhead says little; it counts as reaching its roofline in a
  // tenth of its measured time at most (the clamp below bounds it anyway).
  auto ratio = [&](const KernelTiming& t) {
    const double busy = std::max(t.measured_s - fitted.kernel_overhead, 0.1 * t.measured_s);
    return clamp_efficiency(t.roofline_s / busy);
  };
  std::map<std::string, std::vector<double>> by_class, by_type;
  std::map<std::string, std::set<std::string>> types_of_class;
  std::set<std::string> own_ops;
  for (size_t i = 0; i < ks.size(); ++i) {
    const KernelTiming& t = ks[i];
    if (t.tiny || !(t.roofline_s > 0)) continue;
    by_class[t.op_class].push_back(ratio(t));
    by_type[t.op_type].push_back(ratio(t));
    types_of_class[t.op_class].insert(t.op_type);
    if (!specs[i].node.is_default_domain()) own_ops.insert(t.op_type);
  }
  auto old_value = [&](const std::string& key) {
    auto it = base.efficiency.find(key);
    return it == base.efficiency.end() ? 0.0 : it->second;
  };
  double log_sum = 0;
  for (const auto& [cls, r] : by_class) {
    const double e = clamp_efficiency(median(r));
    fitted.efficiency[cls] = e;
    cal.factors.push_back({cls, r.size(), old_value(cls), e, at_bound(e)});
    log_sum += std::log(e);
  }
  // Op-type keys: refit those the description has; add those that stray from their class. Own
  // fused ops (FusedConv: a Conv with its epilogue) share their class's factor unless the
  // description has a key for them.
  for (const auto& [type, r] : by_type) {
    const double e = clamp_efficiency(median(r));
    std::string cls;
    for (const auto& [c, types] : types_of_class)
      if (types.count(type)) cls = c;
    const bool has_key = base.efficiency.count(type) > 0;
    const double class_e = fitted.efficiency[cls];
    const bool strays = options.per_op_type && !own_ops.count(type) && types_of_class[cls].size() > 1 &&
                        std::max(e / class_e, class_e / e) > options.op_type_threshold;
    if (has_key || strays) {
      fitted.efficiency[type] = e;
      cal.factors.push_back({type, r.size(), old_value(type), e, at_bound(e)});
    }
  }
  if (!by_class.empty()) {
    const double d = clamp_efficiency(std::exp(log_sum / double(by_class.size())));
    fitted.efficiency["default"] = d;
    cal.factors.push_back({"default", 0, old_value("default"), d, false});
  }
  for (const auto& [key, e] : base.efficiency)
    if (!by_class.count(key) && !by_type.count(key) && key != "default") cal.factors.push_back({key, 0, e, e, false});

  // What the machine showed: the fastest matrix kernel, and the fastest streaming beyond on-chip.
  for (const KernelTiming& t : ks) {
    if (t.tiny) continue;
    if (t.op_class == "conv" || t.op_class == "matmul")
      cal.observed_matrix_flops_s = std::max(cal.observed_matrix_flops_s, t.flops / t.measured_s);
    if (t.bytes > base.onchip_size) cal.observed_bytes_s = std::max(cal.observed_bytes_s, t.bytes / t.measured_s);
  }

  const tgt::CostModel after(fitted);
  std::vector<double> measured, est_before, est_after, err_before, err_after;
  for (size_t i = 0; i < ks.size(); ++i) {
    ks[i].estimate_after_s = after.cost(specs[i].node, specs[i].inputs, specs[i].outputs).total_s;
    measured.push_back(ks[i].measured_s);
    est_before.push_back(ks[i].estimate_before_s);
    est_after.push_back(ks[i].estimate_after_s);
    err_before.push_back(std::fabs(std::log(ks[i].estimate_before_s / ks[i].measured_s)));
    err_after.push_back(std::fabs(std::log(ks[i].estimate_after_s / ks[i].measured_s)));
  }
  cal.spearman_before = spearman(est_before, measured);
  cal.spearman_after = spearman(est_after, measured);
  cal.log_error_before = median(err_before);
  cal.log_error_after = median(err_after);
  cal.fitted = std::move(fitted);
  return cal;
}

Calibration calibrate_cpu(const tgt::TargetDescription& base, const CalibrateOptions& options) {
  const auto t0 = Clock::now();
  std::vector<Kernel> kernels = all_kernels();
  if (options.quick) std::erase_if(kernels, [](const Kernel& k) { return !k.spec.quick; });
  const int reps = options.quick ? std::min(options.reps, 5) : options.reps;
  if (reps < 1) fail("calibrate: reps must be at least 1, got ", reps);

  std::vector<double> measured;
  std::vector<int> runs;
  std::vector<std::string> layouts;
  std::string runtime;
  try {
    Env env{dnnl::engine(dnnl::engine::kind::cpu, 0), {}};
    env.stream = dnnl::stream(env.engine);
    const dnnl_version_t* v = dnnl_version();
    std::ostringstream rt;
    rt << "oneDNN " << v->major << "." << v->minor << "." << v->patch << ", ISA "
       << isa_name(dnnl::get_effective_cpu_isa()) << ", " << cpu_threads() << " thread(s)";
    runtime = rt.str();
    for (size_t i = 0; i < kernels.size(); ++i) {
      const Kernel& k = kernels[i];
      if (options.progress) options.progress(i, kernels.size(), k.spec.name);
      // With several candidate layouts, a short trial of each picks the one to time.
      Prepared best;
      double best_s = 0;
      for (Tag layout : k.layouts) {
        Prepared p;
        try {
          p = k.build(env, layout);
        } catch (const dnnl::error& e) {
          fail("calibrate: oneDNN cannot build kernel ", k.spec.name, ": ", e.what());
        }
        if (k.layouts.size() == 1) {
          best = std::move(p);
          break;
        }
        int n = 0;
        const double t = time_kernel(env, p, 5, options.kernel_budget_s / 4, true, n);
        if (!best.prim || t < best_s) {
          best = std::move(p);
          best_s = t;
        }
      }
      int n = 0;
      const int kernel_reps = k.spec.tiny ? reps * 20 : reps;
      measured.push_back(time_kernel(env, best, kernel_reps, options.kernel_budget_s, options.quick, n));
      runs.push_back(n);
      layouts.push_back(best.layout);
    }
  } catch (const dnnl::error& e) {
    fail("calibrate: oneDNN failed: ", e.what());
  }
  std::vector<KernelSpec> specs;
  for (Kernel& k : kernels) specs.push_back(std::move(k.spec));
  Calibration cal = fit_timings(base, specs, measured, options);
  for (size_t i = 0; i < runs.size(); ++i) {
    cal.kernels[i].runs = runs[i];
    cal.kernels[i].layout = layouts[i];
  }
  cal.threads = cpu_threads();
  cal.runtime = runtime;
  cal.seconds = seconds_since(t0);
  return cal;
}

}  // namespace eqopt::lower
