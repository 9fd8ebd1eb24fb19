// NN ops: convolutions, pooling, normalisations, LRN, Resize/Upsample. Layout is ONNX's NC[D]HW:
// batch, channels, then the spatial dims.
#include <algorithm>
#include <cmath>
#include <set>

#include "ir/ops/nn_geometry.h"
#include <optional>

#include "ir/ops/ops.h"

namespace eqopt {

// ================================================================ shared geometry (nn_geometry.h)

namespace nn {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

std::vector<int64_t> ints_or(const Node& node, const char* name, size_t n, int64_t fallback) {
  std::vector<int64_t> v = node.attr_ints(name, std::vector<int64_t>(n, fallback));
  if (v.size() != n)
    fail(node.label(), ": attribute '", name, "' has ", v.size(), " values; expected ", n,
         " for ", n / (std::string(name) == "pads" ? 2 : 1), " spatial dims");
  return v;
}

}  // namespace

AutoPad read_auto_pad(const Node& node) {
  const std::string s = node.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::NotSet;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  if (s == "VALID") return AutoPad::Valid;
  fail(node.label(), ": unknown auto_pad '", s, "' (NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
}

Window read_window(const Node& node, std::vector<int64_t> kernel) {
  Window w;
  const size_t n = kernel.size();
  w.kernel = std::move(kernel);
  w.strides = ints_or(node, "strides", n, 1);
  w.dilations = ints_or(node, "dilations", n, 1);
  w.pads = ints_or(node, "pads", 2 * n, 0);
  w.auto_pad = read_auto_pad(node);
  for (size_t i = 0; i < n; ++i) {
    if (w.kernel[i] <= 0) fail(node.label(), ": kernel dims must be positive, got ", w.kernel[i]);
    if (w.strides[i] <= 0) fail(node.label(), ": strides must be positive, got ", w.strides[i]);
    if (w.dilations[i] <= 0) fail(node.label(), ": dilations must be positive, got ", w.dilations[i]);
  }
  for (int64_t p : w.pads)
    if (p < 0) fail(node.label(), ": pads must not be negative, got ", p);
  if (w.auto_pad != AutoPad::NotSet) std::fill(w.pads.begin(), w.pads.end(), 0);
  return w;
}

std::vector<int64_t> window_output_dims(const Node& node, Window& w, const std::vector<int64_t>& in,
                                        bool ceil_mode) {
  const size_t n = w.rank();
  std::vector<int64_t> out(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (in[i] < 0) continue;
    const int64_t s = w.strides[i], dk = w.extent(i);
    if (w.auto_pad == AutoPad::SameUpper || w.auto_pad == AutoPad::SameLower) {
      out[i] = ceil_div(in[i], s);
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + dk - in[i]);
      const int64_t small = total / 2, large = total - small;
      w.pads[i] = w.auto_pad == AutoPad::SameUpper ? small : large;
      w.pads[n + i] = w.auto_pad == AutoPad::SameUpper ? large : small;
      continue;
    }
    // NOTSET, or VALID (whose pads are zero).
    const int64_t span = in[i] + w.pad_begin(i) + w.pad_end(i) - dk;
    if (span < 0)
      fail(node.label(), ": the window (extent ", dk, ") is larger than the padded input (", in[i],
           " + pads ", w.pad_begin(i), "+", w.pad_end(i), ") along spatial axis ", i);
    out[i] = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
    // With ceil_mode the last window must still start inside the input or its begin padding.
    if (ceil_mode && (out[i] - 1) * s >= in[i] + w.pad_begin(i)) --out[i];
  }
  return out;
}

std::vector<int64_t> conv_transpose_output_dims(const Node& node, Window& w,
                                                const std::vector<int64_t>& in) {
  const size_t n = w.rank();
  std::vector<int64_t> output_padding = ints_or(node, "output_padding", n, 0);
  std::vector<int64_t> output_shape = node.attr_ints("output_shape");
  if (output_shape.size() == n + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (!output_shape.empty() && output_shape.size() != n)
    fail(node.label(), ": output_shape has ", output_shape.size(), " values; expected ", n);
  for (size_t i = 0; i < n; ++i)
    if (output_padding[i] < 0 || output_padding[i] >= std::max(w.strides[i], w.dilations[i]))
      fail(node.label(), ": output_padding ", output_padding[i],
           " must be non-negative and smaller than the stride or the dilation");

  std::vector<int64_t> out(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (in[i] < 0) {
      if (!output_shape.empty()) out[i] = output_shape[i];
      continue;
    }
    // Size of the full (unpadded) result of scattering every input position.
    const int64_t full = w.strides[i] * (in[i] - 1) + output_padding[i] + w.extent(i);
    int64_t target = -1;
    if (!output_shape.empty())
      target = output_shape[i];
    else if (w.auto_pad == AutoPad::SameUpper || w.auto_pad == AutoPad::SameLower)
      target = in[i] * w.strides[i];
    if (target < 0) {
      out[i] = full - w.pad_begin(i) - w.pad_end(i);
      if (out[i] < 0) fail(node.label(), ": pads exceed the output along spatial axis ", i);
      continue;
    }
    // The padding that trims `full` to `target`; its odd unit goes to the end for SAME_UPPER and
    // to the beginning otherwise (as ONNX's reference does; floor division keeps a negative total,
    // i.e. an output larger than `full`, at the end).
    const int64_t total = full - target;
    const int64_t half = floor_div(total, 2);
    if (w.auto_pad == AutoPad::SameUpper) {
      w.pads[i] = half;
      w.pads[n + i] = total - half;
    } else {
      w.pads[i] = total - half;
      w.pads[n + i] = half;
    }
    out[i] = target;
  }
  return out;
}

ResizeAxes resize_axes(const Node& node, int64_t opset, const Shape& in, const Tensor* roi,
                       const Tensor* scales, const Tensor* sizes) {
  const int64_t rank = int64_t(in.size());
  std::vector<int64_t> axes;
  if (opset >= 18 && node.has_attr("axes")) {
    std::set<int64_t> seen;
    for (int64_t a : node.attr_ints("axes")) {
      if (a < -rank || a >= rank) fail(node.label(), ": axis ", a, " is out of range for rank ", rank);
      if (a < 0) a += rank;
      if (!seen.insert(a).second) fail(node.label(), ": axis ", a, " appears twice in axes");
      axes.push_back(a);
    }
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  ResizeAxes r;
  r.out = in;
  r.scales.assign(size_t(rank), 1.0);
  r.roi.assign(size_t(2 * rank), 0.0);
  std::fill(r.roi.begin() + rank, r.roi.end(), 1.0);

  const std::string ctm = node.attr_string("coordinate_transformation_mode", "half_pixel");
  const bool crop = opset >= 11 && ctm == "tf_crop_and_resize";
  auto present = [](const Tensor* t) { return t && t->defined() && t->numel() > 0; };
  if (present(roi) && crop) {
    if (roi->numel() != int64_t(2 * axes.size()))
      fail(node.label(), ": roi has ", roi->numel(), " values; expected ", 2 * axes.size());
    for (size_t k = 0; k < axes.size(); ++k) {
      r.roi[size_t(axes[k])] = roi->as_double(int64_t(k));
      r.roi[size_t(axes[k] + rank)] = roi->as_double(int64_t(k + axes.size()));
    }
  }
  const bool have_scales = present(scales), have_sizes = present(sizes);
  if (have_scales && have_sizes) fail(node.label(), ": only one of scales and sizes may be given");
  if (have_scales) {
    if (scales->numel() != int64_t(axes.size()))
      fail(node.label(), ": scales has ", scales->numel(), " values; expected ", axes.size());
    for (size_t k = 0; k < axes.size(); ++k) {
      const size_t a = size_t(axes[k]);
      const double s = scales->as_double(int64_t(k));
      if (!(s > 0)) fail(node.label(), ": scales must be positive, got ", s);
      r.scales[a] = s;
      // The spec also multiplies by the roi's extent for tf_crop_and_resize; ONNX's reference
      // and ONNX Runtime do not, and their outputs are the ones models are checked against.
      r.out[a] = int64_t(std::floor(double(in[a]) * s));
    }
    return r;
  }
  if (!have_sizes) fail(node.label(), ": needs either scales or sizes");
  if (sizes->numel() != int64_t(axes.size()))
    fail(node.label(), ": sizes has ", sizes->numel(), " values; expected ", axes.size());
  const std::vector<int64_t> sz = sizes->to_int64_vector();
  for (size_t k = 0; k < axes.size(); ++k) {
    if (sz[k] < 0) fail(node.label(), ": sizes must not be negative, got ", sz[k]);
    if (in[size_t(axes[k])] == 0 && sz[k] != 0)
      fail(node.label(), ": cannot resize an empty axis ", axes[k], " to ", sz[k]);
  }
  const std::string policy = opset >= 18 ? node.attr_string("keep_aspect_ratio_policy", "stretch")
                                         : std::string("stretch");
  if (policy == "stretch") {
    for (size_t k = 0; k < axes.size(); ++k) {
      const size_t a = size_t(axes[k]);
      r.out[a] = sz[k];
      r.scales[a] = in[a] ? double(sz[k]) / double(in[a]) : 1.0;
    }
    return r;
  }
  if (policy != "not_larger" && policy != "not_smaller")
    fail(node.label(), ": unknown keep_aspect_ratio_policy '", policy, "'");
  // One scale for every listed axis, the largest (smallest) that keeps all of them within
  // (beyond) the requested sizes.
  double scale = policy == "not_larger" ? INFINITY : 0.0;
  for (size_t k = 0; k < axes.size(); ++k) {
    if (in[size_t(axes[k])] == 0) continue;  // stays empty whatever the scale
    const double s = double(sz[k]) / double(in[size_t(axes[k])]);
    scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
  }
  if (!std::isfinite(scale)) scale = 1.0;  // every listed axis is empty
  for (int64_t a : axes) {
    r.scales[size_t(a)] = scale;
    r.out[size_t(a)] = int64_t(std::floor(scale * double(in[size_t(a)]) + 0.5));
  }
  return r;
}

ResizeAxes upsample_axes(const Node& node, const Shape& in, const Tensor* scales_input) {
  std::vector<double> scales;
  if (scales_input) {
    for (int64_t i = 0; i < scales_input->numel(); ++i) scales.push_back(scales_input->as_double(i));
  } else {
    if (!node.has_attr("scales")) fail(node.label(), ": needs the scales attribute or input");
    for (float f : node.attr_floats("scales")) scales.push_back(f);
  }
  if (scales.size() != in.size())
    fail(node.label(), ": scales has ", scales.size(), " values for an input of rank ", in.size());
  ResizeAxes r;
  r.out = in;
  r.scales = scales;
  r.roi.assign(2 * in.size(), 0.0);
  std::fill(r.roi.begin() + int64_t(in.size()), r.roi.end(), 1.0);
  for (size_t a = 0; a < in.size(); ++a) {
    if (!(scales[a] >= 1)) fail(node.label(), ": Upsample scales must be >= 1, got ", scales[a]);
    r.out[a] = int64_t(std::floor(double(in[a]) * scales[a]));
  }
  return r;
}

}  // namespace nn

// ================================================================ inference

namespace {

const std::initializer_list<DType> kFloat = {DType::Float, DType::Double, DType::Float16,
                                             DType::BFloat16};
const std::initializer_list<DType> kPoolMax = {DType::Float, DType::Double, DType::Float16,
                                               DType::BFloat16, DType::Int8, DType::UInt8};

int64_t dim_value(const Dim& d) { return d.known() ? d.value : -1; }

Dim dim_of(int64_t v) { return v >= 0 ? Dim::of(v) : Dim::unknown(); }

// Spatial dims of input `i` (rank >= 3: N, C, spatial...) as ints, -1 where unknown.
std::vector<int64_t> spatial_of(const InferContext& ctx, size_t i) {
  const Dims& d = ctx.input_dims(i);
  if (d.size() < 3)
    ctx.fail("input ", i, " must have rank >= 3 (N, C, spatial...), got ", ctx.input_type(i).str());
  std::vector<int64_t> s;
  for (size_t k = 2; k < d.size(); ++k) s.push_back(dim_value(d[k]));
  return s;
}

// Kernel shape from the attribute, else from the weight's spatial dims (nullopt when unknown).
std::optional<std::vector<int64_t>> conv_kernel(const InferContext& ctx, size_t spatial_rank) {
  const Node& node = ctx.node();
  const Dims& w = ctx.input_dims(1);
  if (w.size() != spatial_rank + 2)
    ctx.fail("weight must have rank ", spatial_rank + 2, ", got ", ctx.input_type(1).str());
  if (node.has_attr("kernel_shape")) {
    std::vector<int64_t> k = node.attr_ints("kernel_shape");
    if (k.size() != spatial_rank)
      ctx.fail("kernel_shape has ", k.size(), " values for ", spatial_rank, " spatial dims");
    for (size_t i = 0; i < spatial_rank; ++i)
      if (w[i + 2].known() && w[i + 2].value != k[i])
        ctx.fail("kernel_shape ", shape_str(k), " disagrees with the weight ", ctx.input_type(1).str());
    return k;
  }
  std::vector<int64_t> k;
  for (size_t i = 0; i < spatial_rank; ++i) {
    if (!w[i + 2].known()) return std::nullopt;
    k.push_back(w[i + 2].value);
  }
  return k;
}

void check_bias(const InferContext& ctx, size_t i, const Dim& channels) {
  if (!ctx.has_input(i)) return;
  ctx.require_same_dtype(0, i);
  ctx.require_rank(i, 1);
  if (ctx.input_type(i).has_rank()) {
    const Dim& b = ctx.input_dims(i)[0];
    if (b.known() && channels.known() && b.value != channels.value)
      ctx.fail("bias has ", b.value, " values for ", channels.value, " output channels");
  }
}

// What Conv and ConvTranspose inference share: dtypes, the input's spatial dims, group and kernel.
// nullopt when the input's rank is unknown (the output then has unknown rank too).
struct ConvInputs {
  std::vector<int64_t> spatial;
  const Dims* x;
  const Dims* w;
  int64_t group;
  std::optional<std::vector<int64_t>> kernel;
};

std::optional<ConvInputs> read_conv_inputs(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  ctx.require_same_dtype(0, 1);
  if (!ctx.input_type(0).has_rank()) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    return std::nullopt;
  }
  ConvInputs c{spatial_of(ctx, 0), &ctx.input_dims(0), &ctx.input_dims(1), ctx.node().attr_int("group", 1), {}};
  if (c.group <= 0) ctx.fail("group must be positive, got ", c.group);
  c.kernel = conv_kernel(ctx, c.spatial.size());
  return c;
}

// Output [N, channels, spatial...]; `spatial_out` computes the spatial dims from the window.
template <class SpatialOut>
void set_conv_output(InferContext& ctx, const ConvInputs& c, Dim channels, SpatialOut&& spatial_out) {
  Dims out{(*c.x)[0], channels};
  if (c.kernel) {
    nn::Window win = nn::read_window(ctx.node(), *c.kernel);
    for (int64_t d : spatial_out(win)) out.push_back(dim_of(d));
  } else {
    out.resize(c.x->size(), Dim::unknown());
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

void infer_conv(InferContext& ctx) {
  const auto c = read_conv_inputs(ctx);
  if (!c) return;
  const Dims &x = *c->x, &w = *c->w;
  if (x[1].known() && w[1].known() && x[1].value != w[1].value * c->group)
    ctx.fail("input has ", x[1].value, " channels but the weight ", ctx.input_type(1).str(),
             " with group ", c->group, " expects ", w[1].value * c->group);
  if (w[0].known() && w[0].value % c->group != 0)
    ctx.fail("output channels ", w[0].value, " are not a multiple of group ", c->group);
  check_bias(ctx, 2, w[0]);
  set_conv_output(ctx, *c, w[0], [&](nn::Window& win) { return nn::window_output_dims(ctx.node(), win, c->spatial); });
}

void infer_conv_transpose(InferContext& ctx) {
  const auto c = read_conv_inputs(ctx);
  if (!c) return;
  const Dims &x = *c->x, &w = *c->w;
  if (x[1].known() && w[0].known() && x[1].value != w[0].value)
    ctx.fail("input has ", x[1].value, " channels but the weight ", ctx.input_type(1).str(),
             " expects ", w[0].value);
  if (w[0].known() && w[0].value % c->group != 0)
    ctx.fail("input channels ", w[0].value, " are not a multiple of group ", c->group);
  const Dim m = w[1].known() ? Dim::of(w[1].value * c->group) : Dim::unknown();
  check_bias(ctx, 2, m);
  set_conv_output(ctx, *c, m,
                  [&](nn::Window& win) { return nn::conv_transpose_output_dims(ctx.node(), win, c->spatial); });
}

// MaxPool, AveragePool, LpPool.
void infer_pool(InferContext& ctx) {
  const bool is_max = ctx.node().op_type == "MaxPool";
  ctx.require_dtype(0, is_max ? kPoolMax : kFloat);
  if (!ctx.node().has_attr("kernel_shape")) ctx.fail("the kernel_shape attribute is required");
  if (!ctx.input_type(0).has_rank()) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    ctx.set_output_unknown_rank(1, DType::Int64);
    return;
  }
  const std::vector<int64_t> in = spatial_of(ctx, 0);
  const std::vector<int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  if (kernel.size() != in.size())
    ctx.fail("kernel_shape has ", kernel.size(), " values for ", in.size(), " spatial dims");
  nn::Window win = nn::read_window(ctx.node(), kernel);
  const bool ceil_mode = ctx.node().attr_int("ceil_mode", 0) != 0;
  const Dims& x = ctx.input_dims(0);
  Dims out{x[0], x[1]};
  for (int64_t d : nn::window_output_dims(ctx.node(), win, in, ceil_mode)) out.push_back(dim_of(d));
  if (is_max) {
    const int64_t order = ctx.node().attr_int("storage_order", 0);
    if (order != 0 && order != 1) ctx.fail("storage_order must be 0 or 1, got ", order);
    ctx.set_output(1, DType::Int64, out);
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

void infer_global_pool(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  if (!ctx.input_type(0).has_rank()) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    return;
  }
  Dims d = ctx.input_dims(0);
  if (d.size() < 2) ctx.fail("input must have rank >= 2 (N, C, spatial...), got ", ctx.input_type(0).str());
  for (size_t k = 2; k < d.size(); ++k) d[k] = Dim::of(1);
  ctx.set_output(0, ctx.input_dtype(0), d);
}

// Checks that input i is a 1-D parameter whose length is `channels` when both are known.
void check_channel_param(const InferContext& ctx, size_t i, const Dim& channels, const char* what) {
  const TensorType& t = ctx.input_type(i);
  if (!t.has_rank() || t.rank() != 1) return;
  const Dim& d = (*t.dims)[0];
  if (d.known() && channels.known() && d.value != channels.value)
    ctx.fail(what, " has ", d.value, " values for ", channels.value, " channels");
}

void infer_batch_norm(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  for (size_t i = 1; i < 5; ++i) ctx.require_dtype(i, kFloat);
  const TensorType& x = ctx.input_type(0);
  if (x.has_rank() && x.rank() < 2) ctx.fail("input must have rank >= 2 (N, C, ...), got ", x.str());
  const bool spatial = ctx.opset() >= 9 || ctx.node().attr_int("spatial", 1) != 0;
  if (x.has_rank() && spatial) {
    const char* names[] = {"scale", "B", "mean", "var"};
    for (size_t i = 1; i < 5; ++i) check_channel_param(ctx, i, (*x.dims)[1], names[i - 1]);
  }
  ctx.set_output(0, x);
  // Training outputs (statistics) have the parameters' type; the kernel refuses to compute those
  // that need training.
  // Outputs 1 and 2 are the (running) mean and variance, 3 and 4 (opsets < 14) the saved ones.
  for (size_t k = 1; k < ctx.num_outputs(); ++k) ctx.set_output(k, ctx.input_type(k % 2 == 1 ? 3 : 4));
}

void infer_instance_norm(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  ctx.require_same_dtype(0, 1);
  ctx.require_same_dtype(0, 2);
  const TensorType& x = ctx.input_type(0);
  if (x.has_rank()) {
    if (x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, spatial...), got ", x.str());
    check_channel_param(ctx, 1, (*x.dims)[1], "scale");
    check_channel_param(ctx, 2, (*x.dims)[1], "B");
  }
  ctx.set_output(0, x);
}

DType stash_dtype(const InferContext& ctx) {
  const int64_t code = ctx.node().attr_int("stash_type", 1);
  const auto t = dtype_from_code(code);
  if (!t || !is_floating(*t)) ctx.fail("stash_type ", code, " is not a floating-point type");
  return *t;
}

void infer_layer_norm(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  ctx.require_same_dtype(0, 1);
  if (ctx.has_input(2)) ctx.require_same_dtype(0, 2);
  const TensorType& x = ctx.input_type(0);
  const DType stash = stash_dtype(ctx);
  ctx.set_output(0, x);
  if (!x.has_rank()) {
    ctx.set_output_unknown_rank(1, stash);
    ctx.set_output_unknown_rank(2, stash);
    return;
  }
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", -1), x.rank());
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i) || !ctx.input_type(i).has_rank()) continue;
    if (ctx.input_rank(i) > x.rank() - axis)
      ctx.fail(i == 1 ? "Scale " : "B ", ctx.input_type(i).str(),
               " does not broadcast to the normalised dims of ", x.str(), " from axis ", axis);
  }
  Dims stats = *x.dims;
  for (size_t k = size_t(axis); k < stats.size(); ++k) stats[k] = Dim::of(1);
  ctx.set_output(1, stash, stats);
  ctx.set_output(2, stash, stats);
}

void infer_group_norm(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  ctx.require_same_dtype(0, 1);
  ctx.require_same_dtype(0, 2);
  const TensorType& x = ctx.input_type(0);
  if (!ctx.node().has_attr("num_groups")) ctx.fail("the num_groups attribute is required");
  const int64_t groups = ctx.node().attr_int("num_groups", 1);
  if (groups <= 0) ctx.fail("num_groups must be positive, got ", groups);
  if (x.has_rank()) {
    if (x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, spatial...), got ", x.str());
    const Dim& c = (*x.dims)[1];
    if (c.known() && c.value % groups != 0)
      ctx.fail(c.value, " channels do not split into ", groups, " groups");
    // Opset 18 scales per group, opset 21 per channel.
    const Dim per = ctx.opset() >= 21 ? c : Dim::of(groups);
    check_channel_param(ctx, 1, per, "scale");
    check_channel_param(ctx, 2, per, "bias");
  }
  ctx.set_output(0, x);
}

void infer_lrn(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  if (!ctx.node().has_attr("size")) ctx.fail("the size attribute is required");
  if (ctx.node().attr_int("size", 1) <= 0) ctx.fail("size must be positive");
  const TensorType& x = ctx.input_type(0);
  if (x.has_rank() && x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, spatial...), got ", x.str());
  ctx.set_output(0, x);
}

// True when input i is present but holds no elements (an omitted scales/sizes in opset 11).
bool known_empty(const InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return true;
  const TensorType& t = ctx.input_type(i);
  if (!t.has_rank()) return false;
  const auto n = dims_numel(*t.dims);
  return n && *n == 0;
}

void infer_resize(InferContext& ctx) {
  const Node& node = ctx.node();
  const TensorType& x = ctx.input_type(0);
  const int64_t opset = ctx.opset();
  const std::string mode = node.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic" &&
      !(node.op_type == "Upsample" && mode == "bilinear"))
    ctx.fail("unknown mode '", mode, "'");
  if (!x.has_rank()) {
    ctx.set_output_unknown_rank(0, x.dtype);
    return;
  }
  // Input positions: Upsample-9 and Resize-10 (X, scales); Resize-11+ (X, roi, scales, sizes).
  const bool upsample = node.op_type == "Upsample";
  const size_t scales_at = (upsample || opset < 11) ? 1 : 2;
  const size_t sizes_at = 3;
  if (ctx.has_input(scales_at)) ctx.require_dtype(scales_at, {DType::Float});
  if (!upsample && opset >= 11 && ctx.has_input(sizes_at)) ctx.require_dtype(sizes_at, {DType::Int64});
  const auto shape = x.static_shape();
  const Tensor* scales = ctx.input_value(scales_at);
  const bool scales_known = scales || known_empty(ctx, scales_at);
  const Tensor* sizes = (upsample || opset < 11) ? nullptr : ctx.input_value(sizes_at);
  const bool sizes_known = upsample || opset < 11 || sizes || known_empty(ctx, sizes_at);
  const Tensor* roi = (!upsample && opset >= 11) ? ctx.input_value(1) : nullptr;
  const bool roi_needed = !upsample && opset >= 11 &&
                          node.attr_string("coordinate_transformation_mode", "") == "tf_crop_and_resize";
  const bool roi_known = !roi_needed || roi || known_empty(ctx, 1);
  if (shape && scales_known && sizes_known && roi_known) {
    const nn::ResizeAxes r = upsample
                                 ? nn::upsample_axes(node, *shape, opset >= 9 ? scales : nullptr)
                                 : nn::resize_axes(node, opset, *shape, roi, scales, sizes);
    ctx.set_output(0, x.dtype, dims_of(r.out));
    return;
  }
  // Only the rank is certain, and with plain sizes the resized dims.
  Dims out(x.dims->size(), Dim::unknown());
  if (sizes && !(opset >= 18 && (node.has_attr("axes") ||
                                 node.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch"))) {
    const auto sz = sizes->to_int64_vector();
    if (sz.size() == out.size())
      for (size_t k = 0; k < sz.size(); ++k) out[k] = dim_of(sz[k]);
  }
  ctx.set_output(0, x.dtype, out);
}

}  // namespace

void register_nn_ops(OpRegistry& r) {
  r.add({"", "Conv", infer_conv, 2, 3});
  r.add({"", "ConvTranspose", infer_conv_transpose, 2, 3});
  r.add({"", "MaxPool", infer_pool, 1, 1, 1, 2});
  r.add({"", "AveragePool", infer_pool, 1, 1});
  r.add({"", "LpPool", infer_pool, 1, 1});
  r.add({"", "GlobalAveragePool", infer_global_pool, 1, 1});
  r.add({"", "GlobalMaxPool", infer_global_pool, 1, 1});
  r.add({"", "GlobalLpPool", infer_global_pool, 1, 1});
  r.add({"", "BatchNormalization", infer_batch_norm, 5, 5, 1, 5});
  r.add({"", "InstanceNormalization", infer_instance_norm, 3, 3});
  r.add({"", "LayerNormalization", infer_layer_norm, 2, 3, 1, 3});
  r.add({"", "GroupNormalization", infer_group_norm, 3, 3});
  r.add({"", "LRN", infer_lrn, 1, 1});
  r.add({"", "Resize", infer_resize, 1, 4});
  r.add({"", "Upsample", infer_resize, 1, 2});

  set_cost(r, {"Conv"}, OpClass::Conv, flops::conv);
  set_cost(r, {"ConvTranspose"}, OpClass::Conv, flops::conv_transpose);
  set_cost(r, {"MaxPool", "AveragePool"}, OpClass::Pooling, flops::pool);
  set_cost(r, {"GlobalAveragePool", "GlobalMaxPool"}, OpClass::Pooling, flops::per_input);
  set_cost(r, {"LpPool", "GlobalLpPool"}, OpClass::Pooling, flops::per_output);
  set_cost(r, {"BatchNormalization"}, OpClass::Normalization, flops::per_input_x2);
  set_cost(r, {"LayerNormalization", "InstanceNormalization"}, OpClass::Normalization, flops::per_input_x5);
  set_cost(r, {"GroupNormalization"}, OpClass::Normalization, flops::per_output);
  set_cost(r, {"Resize", "Upsample"}, OpClass::Data, flops::per_output);
  set_cost(r, {"LRN"}, OpClass::Other, flops::per_output);
}

}  // namespace eqopt
