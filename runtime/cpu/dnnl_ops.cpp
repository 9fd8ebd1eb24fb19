// Builders of the ops the CPU backend runs as oneDNN primitives (runtime/cpu/dnnl_ops.h).
//
// A builder reads the node as the lowering wrote it: explicit strides, pads and dilations for
// convolutions and pooling; Clip's bounds, the axes of reductions and Gemm's beta folded into
// attributes or constants; shapes static. Anything else it cannot express fails, and the lowering
// gives the node another kernel.
#include "runtime/cpu/dnnl_ops.h"

#include <cfloat>
#include <map>
#include <numeric>

#include "ir/kernel_registry.h"

#include "runtime/cpu/dnnl_util.h"
#include "support/error.h"

namespace eqopt::rt {

namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using md_t = memory::desc;
constexpr prop_kind kInfer = prop_kind::forward_inference;

bool is_any(const md_t& md) { return md.data.format_kind == dnnl_format_kind_any; }
bool is_zero(const md_t& md) { return md.data.ndims == 0; }

// The same tensor seen with other dims of the same element count (row-major order kept).
md_t with_dims(const md_t& md, const memory::dims& d) {
  if (is_any(md)) return md_t(d, md.data_type(), memory::format_tag::any);
  if (md.dims() == d) return md;
  return md.reshape(d);
}

[[noreturn]] void unsupported(const Node& n, const std::string& why) { fail(n.label(), ": ", why); }

float attr_number(const Node& n, const char* name, float fallback) {
  const Attribute* a = n.attr(name);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::Int) return float(a->i);
  return n.attr_float(name, fallback);
}

// ---------------------------------------------------------------- activations

struct Eltwise {
  algorithm alg;
  float alpha = 0, beta = 0;
  // A second step (HardSigmoid: linear, then clip to [0, 1]).
  bool then_clip01 = false;
};

// An activation name as FusedConv/FusedMatMul write it, or an op's own name.
bool eltwise_of(const std::string& op, const Node& n, Eltwise& e) {
  if (op == "Relu") e = {algorithm::eltwise_relu, 0, 0};
  else if (op == "LeakyRelu") e = {algorithm::eltwise_relu, attr_number(n, "alpha", 0.01f), 0};
  else if (op == "Elu") e = {algorithm::eltwise_elu, attr_number(n, "alpha", 1.0f), 0};
  else if (op == "Sigmoid") e = {algorithm::eltwise_logistic};
  else if (op == "Tanh") e = {algorithm::eltwise_tanh};
  else if (op == "Exp") e = {algorithm::eltwise_exp};
  else if (op == "Log") e = {algorithm::eltwise_log};
  else if (op == "Sqrt") e = {algorithm::eltwise_sqrt};
  else if (op == "Abs") e = {algorithm::eltwise_abs};
  else if (op == "Neg") e = {algorithm::eltwise_linear, -1.0f, 0.0f};
  else if (op == "HardSwish") e = {algorithm::eltwise_hardswish};
  else if (op == "Mish") e = {algorithm::eltwise_mish};
  else if (op == "Softplus") e = {algorithm::eltwise_soft_relu};
  else if (op == "Swish") e = {algorithm::eltwise_swish, attr_number(n, "alpha", 1.0f), 0};
  else if (op == "Clip") {
    const Attribute* lo = n.attr(n.op_type == "Clip" ? "min" : "alpha");
    const Attribute* hi = n.attr(n.op_type == "Clip" ? "max" : "beta");
    e = {algorithm::eltwise_clip, lo ? attr_number(n, lo->name.c_str(), 0) : -FLT_MAX,
         hi ? attr_number(n, hi->name.c_str(), 0) : FLT_MAX};
  } else if (op == "HardSigmoid") {
    e = {algorithm::eltwise_linear, attr_number(n, "alpha", 0.2f), attr_number(n, "beta", 0.5f), true};
  } else if (op == "Gelu") {
    e = {n.attr_string("approximate", "none") == "tanh" ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf};
  } else {
    return false;
  }
  return true;
}

void append_eltwise(dnnl::post_ops& po, const Eltwise& e) {
  po.append_eltwise(1.0f, e.alg, e.alpha, e.beta);
  if (e.then_clip01) po.append_eltwise(1.0f, algorithm::eltwise_clip_v2, 0.0f, 1.0f);
}

// FusedConv / FusedMatMul's epilogue activation into post-ops.
void append_activation(const Node& n, dnnl::post_ops& po) {
  const std::string act = n.attr_string("activation", "");
  if (act.empty()) return;
  Eltwise e;
  if (!eltwise_of(act, n, e)) unsupported(n, "activation " + act + " has no oneDNN form");
  append_eltwise(po, e);
}

// ---------------------------------------------------------------- convolution

DnnlBuild build_conv(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const bool fused = n.op_type == "FusedConv";
  const md_t& x = in.at(0);
  const int sp = x.data.ndims - 2;
  if (sp < 1 || sp > 3) unsupported(n, "convolutions of 1 to 3 spatial dims only");
  const std::vector<int64_t> strides = n.attr_ints("strides", std::vector<int64_t>(size_t(sp), 1));
  const std::vector<int64_t> dil = n.attr_ints("dilations", std::vector<int64_t>(size_t(sp), 1));
  const std::vector<int64_t> pads = n.attr_ints("pads", std::vector<int64_t>(size_t(2 * sp), 0));
  const int64_t group = n.attr_int("group", 1);
  if (strides.size() != size_t(sp) || dil.size() != size_t(sp) || pads.size() != size_t(2 * sp))
    unsupported(n, "strides, dilations and pads must be explicit");
  memory::dims d_dil, pl, pr;
  for (int i = 0; i < sp; ++i) {
    d_dil.push_back(dil[size_t(i)] - 1);
    pl.push_back(pads[size_t(i)]);
    pr.push_back(pads[size_t(sp + i)]);
  }
  md_t w = in.at(1);
  if (group > 1 && w.data.ndims == sp + 2) {
    memory::dims wd = w.dims();
    memory::dims g = {group, wd[0] / group};
    g.insert(g.end(), wd.begin() + 1, wd.end());
    w = with_dims(w, g);
  }
  const bool has_bias = in.size() > 2 && !is_zero(in[2]);
  const bool has_sum = fused && in.size() > 3 && !is_zero(in[3]);
  md_t bias;
  if (has_bias) {
    bias = in[2];
    if (bias.data.ndims != 1) unsupported(n, "the bias must be 1-D");
  }
  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  if (has_sum) po.append_sum(1.0f);
  if (fused) append_activation(n, po);
  attr.set_post_ops(po);
  using C = dnnl::convolution_forward;
  const memory::dims st(strides.begin(), strides.end());
  const C::desc d = has_bias ? C::desc(kInfer, algorithm::convolution_direct, x, w, bias, out.at(0), st, d_dil, pl, pr)
                             : C::desc(kInfer, algorithm::convolution_direct, x, w, out.at(0), st, d_dil, pl, pr);
  DnnlBuild b{C::primitive_desc(d, attr, cpu_engine()), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS}, {DNNL_ARG_DST}};
  if (in.size() > 2) b.in_args.push_back(has_bias ? DNNL_ARG_BIAS : 0);
  if (in.size() > 3) b.in_args.push_back(0);
  if (has_sum) b.sum_input = 3;
  return b;
}

// ConvTranspose as oneDNN's deconvolution. The lowering gives explicit strides, dilations and begin
// pads; the end pads follow from the output dims (output_padding and output_shape included).
DnnlBuild build_conv_transpose(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const md_t& x = in.at(0);
  const int sp = x.data.ndims - 2;
  if (sp < 1 || sp > 3) unsupported(n, "transposed convolutions of 1 to 3 spatial dims only");
  const std::vector<int64_t> strides = n.attr_ints("strides"), dil = n.attr_ints("dilations"), pads = n.attr_ints("pads");
  const int64_t group = n.attr_int("group", 1);
  if (strides.size() != size_t(sp) || dil.size() != size_t(sp) || pads.size() != size_t(2 * sp))
    unsupported(n, "strides, dilations and pads must be explicit");
  // The primitive's weight dims: [OC, IC, k...] or [G, OC/G, IC/G, k...]; ONNX's are [IC, OC/G, k...].
  // The lowering passes the weights as `any` in ONNX's dims; the runtime gives the packed weights in
  // the primitive's dims.
  const memory::dims wd = in.at(1).dims(), xd = x.dims(), od = out.at(0).dims();
  const bool onnx_dims = is_any(in[1]);
  if (!onnx_dims && int(wd.size()) != sp + (group > 1 ? 3 : 2)) unsupported(n, "packed weights of another rank");
  const int64_t ic = onnx_dims ? wd[0] : group > 1 ? wd[2] * group : wd[1];
  const int64_t ocg = onnx_dims ? wd[1] : group > 1 ? wd[1] : wd[0];
  memory::dims kd(wd.end() - sp, wd.end());
  memory::dims pdims = group > 1 ? memory::dims{group, ocg, ic / group} : memory::dims{ocg, ic};
  pdims.insert(pdims.end(), kd.begin(), kd.end());
  // ONNX's bytes are row-major [G, IC/G, OC/G, k...]: in the primitive's dims, OC and IC swap strides.
  const int64_t kn = std::accumulate(kd.begin(), kd.end(), int64_t(1), std::multiplies<int64_t>());
  memory::dims strides_w(pdims.size());
  const size_t o_at = group > 1 ? 1 : 0;  // position of OC/G in pdims; IC/G follows
  if (group > 1) strides_w[0] = (ic / group) * ocg * kn;
  strides_w[o_at] = kn;               // OC/G varies inside IC/G in ONNX's order
  strides_w[o_at + 1] = ocg * kn;     // IC/G
  int64_t s_k = 1;
  for (size_t i = pdims.size(); i-- > o_at + 2;) {
    strides_w[i] = s_k;
    s_k *= pdims[i];
  }
  const md_t onnx_w(pdims, memory::data_type::f32, strides_w);
  const md_t w = onnx_dims ? md_t(pdims, memory::data_type::f32, memory::format_tag::any) : in[1];
  memory::dims st, dl, pl, pr;
  for (int i = 0; i < sp; ++i) {
    const int64_t s = strides[size_t(i)], d = dil[size_t(i)], k = kd[size_t(i)];
    st.push_back(s);
    dl.push_back(d - 1);
    pl.push_back(pads[size_t(i)]);
    pr.push_back((xd[size_t(2 + i)] - 1) * s + (k - 1) * d + 1 - pads[size_t(i)] - od[size_t(2 + i)]);
    if (pr.back() < 0) unsupported(n, "output rows past the last input contribution");
  }
  const bool has_bias = in.size() > 2 && !is_zero(in[2]);
  using D = dnnl::deconvolution_forward;
  const D::desc d = has_bias ? D::desc(kInfer, algorithm::deconvolution_direct, x, w, in[2], out.at(0), st, dl, pl, pr)
                             : D::desc(kInfer, algorithm::deconvolution_direct, x, w, out.at(0), st, dl, pl, pr);
  DnnlBuild b{D::primitive_desc(d, cpu_engine()), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS}, {DNNL_ARG_DST}};
  if (in.size() > 2) b.in_args.push_back(has_bias ? DNNL_ARG_BIAS : 0);
  b.source_layouts.resize(in.size());
  b.source_layouts[1] = onnx_w;
  return b;
}

// ---------------------------------------------------------------- matrix products

DnnlBuild build_matmul(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const bool gemm = n.op_type == "Gemm";
  md_t a = in.at(0), b = in.at(1);
  memory::dims ad = a.dims(), bd = b.dims();
  if (gemm) {
    if (ad.size() != 2 || bd.size() != 2) unsupported(n, "Gemm takes 2-D operands");
    if (n.attr_int("transA", 0)) {
      if (is_any(a)) unsupported(n, "a transposed A needs a given layout");
      a = a.permute_axes({1, 0});
    }
    if (n.attr_int("transB", 0)) {
      if (is_any(b)) unsupported(n, "a transposed B needs a given layout");
      b = b.permute_axes({1, 0});
    }
    if (attr_number(n, "beta", 1.0f) != 1.0f) unsupported(n, "Gemm's beta must be folded into C");
    ad = a.dims();
    bd = b.dims();
  }
  if (ad.empty() || bd.empty()) unsupported(n, "matrix products of scalars");
  const bool a1 = ad.size() == 1, b1 = bd.size() == 1;
  if (a1) ad.insert(ad.begin(), 1);
  if (b1) bd.push_back(1);
  const size_t rank = std::max(ad.size(), bd.size());
  while (ad.size() < rank) ad.insert(ad.begin(), 1);
  while (bd.size() < rank) bd.insert(bd.begin(), 1);
  memory::dims cd(rank);
  for (size_t i = 0; i + 2 < rank; ++i) cd[i] = std::max(ad[i], bd[i]);
  cd[rank - 2] = ad[rank - 2];
  cd[rank - 1] = bd[rank - 1];
  a = with_dims(a, ad);
  b = with_dims(b, bd);
  const md_t c = with_dims(out.at(0), cd);

  dnnl::primitive_attr attr;
  dnnl::post_ops po;
  const float alpha = gemm ? attr_number(n, "alpha", 1.0f) : 1.0f;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  // C: a bias when it varies along the last axis only (oneDNN's fast kernels take no other bias), the
  // destination's initial value under a sum post-op when it has the product's shape (a residual),
  // else a binary post-op.
  md_t bias;
  const bool has_c = in.size() > 2 && !is_zero(in[2]);
  enum class CKind { None, Bias, Sum, Binary } ckind = CKind::None;
  if (has_c) {
    memory::dims bdims = in[2].dims();
    if (bdims.size() > rank) unsupported(n, "C has a higher rank than the product");
    while (bdims.size() < rank) bdims.insert(bdims.begin(), 1);
    bool last_only = true;
    for (size_t i = 0; i < rank; ++i) {
      if (bdims[i] != 1 && bdims[i] != cd[i]) unsupported(n, "C does not broadcast to the product");
      if (i + 1 < rank && bdims[i] != 1) last_only = false;
    }
    bias = with_dims(in[2], bdims);
    ckind = last_only ? CKind::Bias : bdims == cd && !gemm && alpha == 1.0f ? CKind::Sum : CKind::Binary;
    if (ckind == CKind::Binary && (gemm || alpha != 1.0f)) unsupported(n, "C broadcast over rows with alpha");
  }
  if (ckind == CKind::Sum) po.append_sum(1.0f);
  if (ckind == CKind::Binary) po.append_binary(algorithm::binary_add, bias);
  if (n.op_type == "FusedMatMul") append_activation(n, po);
  attr.set_post_ops(po);
  const dnnl::matmul::desc d = ckind == CKind::Bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
  DnnlBuild r{dnnl::matmul::primitive_desc(d, attr, cpu_engine()), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS}, {DNNL_ARG_DST}};
  if (in.size() > 2)
    r.in_args.push_back(ckind == CKind::Bias     ? DNNL_ARG_BIAS
                        : ckind == CKind::Binary ? (DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1)
                                                 : 0);
  if (ckind == CKind::Sum) r.sum_input = 2;
  return r;
}

// ---------------------------------------------------------------- pooling

DnnlBuild build_pool(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const md_t& x = in.at(0);
  const int sp = x.data.ndims - 2;
  if (sp < 1 || sp > 3) unsupported(n, "pooling over 1 to 3 spatial dims only");
  const memory::dims xd = x.dims();
  const bool global = n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool";
  memory::dims kernel, strides, dil, pl, pr;
  memory::dims od = xd;
  for (int i = 0; i < sp; ++i) od[size_t(2 + i)] = 1;
  if (!global) od = out.at(0).dims();
  std::vector<int64_t> ks = n.attr_ints("kernel_shape"), st = n.attr_ints("strides"), dl = n.attr_ints("dilations"),
                       pads = n.attr_ints("pads");
  for (int i = 0; i < sp; ++i) {
    const int64_t in_i = xd[size_t(2 + i)];
    const int64_t k = global ? in_i : ks.at(size_t(i));
    const int64_t s = global || st.empty() ? 1 : st.at(size_t(i));
    const int64_t dd = global || dl.empty() ? 1 : dl.at(size_t(i));
    const int64_t p = global || pads.empty() ? 0 : pads.at(size_t(i));
    kernel.push_back(k);
    strides.push_back(s);
    dil.push_back(dd - 1);
    pl.push_back(p);
    // The right padding that gives the output size (ceil_mode included).
    pr.push_back((od[size_t(2 + i)] - 1) * s + (k - 1) * dd + 1 - in_i - p);
  }
  algorithm alg = algorithm::pooling_max;
  if (n.op_type == "AveragePool" || n.op_type == "GlobalAveragePool")
    alg = n.attr_int("count_include_pad", 0) ? algorithm::pooling_avg_include_padding
                                             : algorithm::pooling_avg_exclude_padding;
  using P = dnnl::pooling_v2_forward;
  const P::desc d(kInfer, alg, x, with_dims(out.at(0), od), strides, kernel, dil, pl, pr);
  return {P::primitive_desc(d, cpu_engine()), {DNNL_ARG_SRC}, {DNNL_ARG_DST}};
}

// ---------------------------------------------------------------- elementwise

DnnlBuild build_eltwise(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>&) {
  Eltwise e;
  if (!eltwise_of(n.op_type, n, e) || e.then_clip01) unsupported(n, "no oneDNN eltwise form");
  using E = dnnl::eltwise_forward;
  const E::desc d(kInfer, e.alg, in.at(0), e.alpha, e.beta);
  std::vector<int> ins = {DNNL_ARG_SRC};
  ins.resize(in.size(), 0);  // Clip's bounds, folded into attributes
  return {E::primitive_desc(d, cpu_engine()), ins, {DNNL_ARG_DST}};
}

DnnlBuild build_binary(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  static const std::map<std::string, algorithm> algs = {
      {"Add", algorithm::binary_add}, {"Sub", algorithm::binary_sub}, {"Mul", algorithm::binary_mul},
      {"Div", algorithm::binary_div}, {"Max", algorithm::binary_max}, {"Min", algorithm::binary_min}};
  if (in.size() != 2) unsupported(n, "binary primitives take two inputs");
  md_t a = in[0], b = in[1];
  const md_t& c = out.at(0);
  const memory::dims cd = c.dims();
  memory::dims ad = a.dims(), bd = b.dims();
  while (ad.size() < cd.size()) ad.insert(ad.begin(), 1);
  while (bd.size() < cd.size()) bd.insert(bd.begin(), 1);
  if (ad != cd) unsupported(n, "the first input must have the output's shape");
  a = with_dims(a, ad);
  b = with_dims(b, bd);
  const dnnl::binary::desc d(algs.at(n.op_type), a, b, c);
  return {dnnl::binary::primitive_desc(d, cpu_engine()), {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1}, {DNNL_ARG_DST}};
}

// Pow with a constant scalar exponent (the lowering writes it as the attribute "exponent").
DnnlBuild build_pow(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>&) {
  const Attribute* e = n.attr("exponent");
  if (!e) unsupported(n, "Pow needs a constant scalar exponent");
  using E = dnnl::eltwise_forward;
  const E::desc d(kInfer, algorithm::eltwise_pow, in.at(0), 1.0f, attr_number(n, "exponent", 1.0f));
  return {E::primitive_desc(d, cpu_engine()), {DNNL_ARG_SRC, 0}, {DNNL_ARG_DST}};
}

// ---------------------------------------------------------------- softmax and normalizations

DnnlBuild build_softmax(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const int rank = in.at(0).data.ndims;
  int64_t axis = n.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) unsupported(n, "axis out of range");
  using S = dnnl::softmax_v2_forward;
  const algorithm alg = n.op_type == "LogSoftmax" ? algorithm::softmax_log : algorithm::softmax_accurate;
  const S::desc d(kInfer, alg, in[0], out.at(0), int(axis));
  return {S::primitive_desc(d, cpu_engine()), {DNNL_ARG_SRC}, {DNNL_ARG_DST}};
}

DnnlBuild build_batch_norm(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>&) {
  if (in.size() != 5) unsupported(n, "BatchNormalization takes five inputs");
  using B = dnnl::batch_normalization_forward;
  const auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                     dnnl::normalization_flags::use_shift;
  const B::desc d(kInfer, in[0], attr_number(n, "epsilon", 1e-5f), flags);
  return {B::primitive_desc(d, cpu_engine()),
          {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE},
          {DNNL_ARG_DST}};
}

DnnlBuild build_layer_norm(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>&) {
  const md_t& x = in.at(0);
  const memory::dims xd = x.dims();
  const int rank = int(xd.size());
  int64_t axis = n.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) unsupported(n, "axis out of range");
  int64_t rows = 1, cols = 1;
  for (int i = 0; i < rank; ++i) (i < axis ? rows : cols) *= xd[size_t(i)];
  const md_t x2 = axis == rank - 1 ? x : with_dims(x, {rows, cols});
  const bool shift = in.size() > 2 && !is_zero(in[2]);
  auto flags = dnnl::normalization_flags::use_scale;
  if (shift) flags = flags | dnnl::normalization_flags::use_shift;
  using L = dnnl::layer_normalization_forward;
  const L::desc d(kInfer, x2, attr_number(n, "epsilon", 1e-5f), flags);
  DnnlBuild b{L::primitive_desc(d, cpu_engine()), {DNNL_ARG_SRC, DNNL_ARG_SCALE}, {DNNL_ARG_DST}};
  if (in.size() > 2) b.in_args.push_back(shift ? DNNL_ARG_SHIFT : 0);
  if (in.at(1).get_size() != size_t(cols) * sizeof(float)) unsupported(n, "the scale must have the normalized size");
  return b;
}

// ---------------------------------------------------------------- data movement

DnnlBuild build_concat(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const int rank = in.at(0).data.ndims;
  int64_t axis = n.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  std::vector<md_t> srcs;
  DnnlBuild b;
  for (size_t i = 0; i < in.size(); ++i) {
    // Empty inputs contribute nothing.
    const memory::dims d = in[i].dims();
    if (std::find(d.begin(), d.end(), 0) != d.end()) {
      b.in_args.push_back(0);
      continue;
    }
    b.in_args.push_back(DNNL_ARG_MULTIPLE_SRC + int(srcs.size()));
    srcs.push_back(in[i]);
  }
  if (srcs.empty()) unsupported(n, "every input is empty");
  b.pd = dnnl::concat::primitive_desc(out.at(0), int(axis), srcs, cpu_engine());
  b.out_args = {DNNL_ARG_DST};
  return b;
}

// Transpose as a reorder from a permuted view of the source.
DnnlBuild build_transpose(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  const md_t& x = in.at(0);
  const int rank = x.data.ndims;
  std::vector<int64_t> perm = n.attr_ints("perm");
  if (perm.empty())
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  if (int(perm.size()) != rank) unsupported(n, "perm does not fit the rank");
  // Source axis perm[i] becomes destination axis i.
  std::vector<int> to(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) to[size_t(perm[size_t(i)])] = i;
  if (is_any(x)) unsupported(n, "the source layout must be given");
  const md_t view = x.permute_axes(to);
  if (is_any(out.at(0))) unsupported(n, "the destination layout must be given");
  return {dnnl::reorder::primitive_desc(cpu_engine(), view, cpu_engine(), out[0]), {DNNL_ARG_FROM}, {DNNL_ARG_TO}};
}

DnnlBuild build_reduce(const Node& n, const std::vector<md_t>& in, const std::vector<md_t>& out) {
  static const std::map<std::string, algorithm> algs = {
      {"ReduceMean", algorithm::reduction_mean}, {"ReduceSum", algorithm::reduction_sum},
      {"ReduceMax", algorithm::reduction_max},   {"ReduceMin", algorithm::reduction_min},
      {"ReduceProd", algorithm::reduction_mul}};
  const md_t& x = in.at(0);
  const memory::dims xd = x.dims();
  memory::dims od = xd;
  for (int64_t a : n.attr_ints("axes")) {
    if (a < 0) a += int64_t(xd.size());
    if (a < 0 || a >= int64_t(xd.size())) unsupported(n, "axis out of range");
    od[size_t(a)] = 1;
  }
  const dnnl::reduction::desc d(algs.at(n.op_type), x, with_dims(out.at(0), od), 0.0f, 0.0f);
  std::vector<int> ins = {DNNL_ARG_SRC};
  ins.resize(in.size(), 0);
  return {dnnl::reduction::primitive_desc(d, cpu_engine()), ins, {DNNL_ARG_DST}};
}

// The oneDNN registry: one builder per op.
const KernelRegistry<DnnlBuildFn>& builders() {
  static const KernelRegistry<DnnlBuildFn> m = [] {
    KernelRegistry<DnnlBuildFn> r;
    r.add(OpId("", "Conv"), build_conv);
    r.add(OpId("eqopt", "FusedConv"), build_conv);
    r.add(OpId("", "ConvTranspose"), build_conv_transpose);
    for (const char* op : {"MatMul", "Gemm"}) r.add(OpId("", op), build_matmul);
    r.add(OpId("eqopt", "FusedMatMul"), build_matmul);
    for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}) r.add(OpId("", op), build_pool);
    // Log and a standalone HardSigmoid run as own kernels: oneDNN 2.6's log is off by 1.4e-6 at 1 (Log(1)
    // must be 0), and its eltwise primitive mis-applied HardSigmoid's clip post-op.
    for (const char* op : {"Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Exp", "Sqrt", "Abs", "Neg", "HardSwish",
                           "Mish", "Softplus", "Clip", "Gelu"})
      r.add(OpId("", op), build_eltwise);
    r.add(OpId("eqopt", "Swish"), build_eltwise);
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) r.add(OpId("", op), build_binary);
    r.add(OpId("", "Pow"), build_pow);
    for (const char* op : {"Softmax", "LogSoftmax"}) r.add(OpId("", op), build_softmax);
    r.add(OpId("", "BatchNormalization"), build_batch_norm);
    r.add(OpId("", "LayerNormalization"), build_layer_norm);
    r.add(OpId("", "Concat"), build_concat);
    r.add(OpId("", "Transpose"), build_transpose);
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"}) r.add(OpId("", op), build_reduce);
    return r;
  }();
  return m;
}

}  // namespace

DnnlBuildFn dnnl_builder(const OpId& op) {
  const DnnlBuildFn* fn = builders().find(op);
  return fn ? *fn : nullptr;
}

std::vector<OpId> dnnl_ops() { return builders().ops(); }

bool dnnl_input_layout_is_chosen(const OpId& op, size_t input) {
  if (op == OpId("", "Conv") || op == OpId("eqopt", "FusedConv") || op == OpId("", "ConvTranspose")) return input <= 1;
  if (op == OpId("", "MatMul") || op == OpId("eqopt", "FusedMatMul") || op == OpId("", "Gemm")) return input == 1;
  return false;
}

}  // namespace eqopt::rt
