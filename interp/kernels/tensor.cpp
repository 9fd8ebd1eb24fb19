// Shape and data-movement kernels.
//
// Output shapes come from inference (ir/ops/tensor.cpp), so a kernel only moves data. Most ops here
// are one strided box copy (copy_box): Slice, Transpose, Concat, Split, Expand, Tile, DepthToSpace
// and SpaceToDepth differ only in the strides and offsets they hand it. Elements are moved by their
// width as raw bytes, so every fixed-size dtype (16-bit floats and complex included) works the same
// way and NaN payloads survive; string tensors are moved by value.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include "interp/kernel_util.h"

namespace eqopt {

namespace {

// ---------------------------------------------------------------- element access by width

template <size_t N>
struct [[gnu::may_alias]] RawElem {
  unsigned char bytes[N];
};

// Calls f(TypeTag<T>{}) with T a type that moves elements of dtype t: RawElem<width> or
// std::string.
template <class F>
decltype(auto) dispatch_elem(DType t, F&& f) {
  if (t == DType::String) return f(TypeTag<std::string>{});
  switch (dtype_size(t)) {
    case 1: return f(TypeTag<RawElem<1>>{});
    case 2: return f(TypeTag<RawElem<2>>{});
    case 4: return f(TypeTag<RawElem<4>>{});
    case 8: return f(TypeTag<RawElem<8>>{});
    case 16: return f(TypeTag<RawElem<16>>{});
    default: fail("element type ", dtype_short_name(t), " cannot be moved");
  }
}

template <class T>
const T* elems(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>)
    return t.strings().data();
  else
    return static_cast<const T*>(t.raw_data());
}

template <class T>
T* mutable_elems(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>)
    return t.mutable_strings().data();
  else
    return static_cast<T*>(t.raw_mutable_data());
}

// ---------------------------------------------------------------- strided box copy

// Copies the box `shape` from src (element strides src_strides, first element src_off) to dst
// (dst_strides, dst_off). Strides may be 0 (broadcast) or negative (reversed slices).
template <class T>
void copy_box_typed(const T* src, int64_t src_off, const std::vector<int64_t>& src_strides, T* dst,
                    int64_t dst_off, const std::vector<int64_t>& dst_strides, const Shape& shape) {
  const size_t rank = shape.size();
  for (int64_t d : shape)
    if (d == 0) return;
  if (rank == 0) {
    dst[dst_off] = src[src_off];
    return;
  }
  const int64_t inner = shape[rank - 1];
  const int64_t s_in = src_strides[rank - 1], d_in = dst_strides[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t so = src_off, dof = dst_off;
  while (true) {
    if (s_in == 1 && d_in == 1) {
      std::copy(src + so, src + so + inner, dst + dof);
    } else {
      for (int64_t j = 0; j < inner; ++j) dst[dof + j * d_in] = src[so + j * s_in];
    }
    // Advance the outer dims like an odometer.
    int64_t d = int64_t(rank) - 2;
    for (; d >= 0; --d) {
      const size_t ud = size_t(d);
      so += src_strides[ud];
      dof += dst_strides[ud];
      if (++idx[ud] < shape[ud]) break;
      so -= src_strides[ud] * shape[ud];
      dof -= dst_strides[ud] * shape[ud];
      idx[ud] = 0;
    }
    if (d < 0) return;
  }
}

void copy_box(const Tensor& src, int64_t src_off, const std::vector<int64_t>& src_strides,
              Tensor& dst, int64_t dst_off, const std::vector<int64_t>& dst_strides,
              const Shape& shape) {
  if (src.dtype() != dst.dtype())
    fail("internal error: copy between ", dtype_short_name(src.dtype()), " and ",
         dtype_short_name(dst.dtype()));
  dispatch_elem(src.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    copy_box_typed(elems<T>(src), src_off, src_strides, mutable_elems<T>(dst), dst_off, dst_strides,
                   shape);
  });
}

// Fills every element of dst with element i of `value` (same dtype).
void fill_from(Tensor& dst, const Tensor& value, int64_t i = 0) {
  dispatch_elem(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::fill_n(mutable_elems<T>(dst), dst.numel(), elems<T>(value)[i]);
  });
}

// A 1-element tensor of dtype t holding v (converted as a C++ cast would; 16-bit floats rounded).
Tensor scalar_of(DType t, double v) {
  Tensor s(t, {});
  dispatch_all(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = s.mutable_data<T>();
    if constexpr (std::is_same_v<T, Half>)
      *p = float_to_half(float(v));
    else if constexpr (std::is_same_v<T, BFloat16>)
      *p = float_to_bfloat16(float(v));
    else if constexpr (std::is_same_v<T, bool>)
      *p = v != 0;
    else
      *p = T(v);
  });
  return s;
}

// Arithmetic on any numeric element type: 16-bit floats compute in float, bools as ints.
template <class T>
auto to_num(T v) {
  if constexpr (std::is_same_v<T, Half>)
    return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>)
    return bfloat16_to_float(v);
  else if constexpr (std::is_same_v<T, bool>)
    return int(v);
  else
    return v;
}
template <class T, class A>
T from_num(A a) {
  if constexpr (std::is_same_v<T, Half>)
    return float_to_half(float(a));
  else if constexpr (std::is_same_v<T, BFloat16>)
    return float_to_bfloat16(float(a));
  else if constexpr (std::is_same_v<T, bool>)
    return a != 0;
  else
    return T(a);
}

// Integers of an index input (any integer dtype).
std::vector<int64_t> int_values(const KernelContext& ctx, size_t input) {
  const Tensor& t = ctx.input(input);
  if (!is_integer(t.dtype())) ctx.fail("input ", input, " must be an integer tensor");
  return t.to_int64_vector();
}

// Index into an axis of size n, negative counting from the end; fails when out of range.
int64_t checked_index(const KernelContext& ctx, int64_t i, int64_t n) {
  if (i < -n || i >= n) ctx.fail("index ", i, " is out of range for an axis of size ", n);
  return i < 0 ? i + n : i;
}

// ---------------------------------------------------------------- reshapes (no data movement)

// Reshape, Flatten, Squeeze and Unsqueeze share the input's buffer with the inferred shape.
void k_reshape(KernelContext& ctx) {
  ctx.set_output(0, ctx.input(0).reshaped(ctx.output(0).shape()));
}

// ---------------------------------------------------------------- Transpose, DepthToSpace

// out = in (seen with shape `shape`) transposed by perm; out's buffer must hold the result.
void transpose_into(const Tensor& in, const Shape& shape, const std::vector<int64_t>& perm,
                    Tensor& out) {
  const std::vector<int64_t> in_strides = strides_of(shape);
  Shape out_shape;
  std::vector<int64_t> src_strides;
  for (int64_t p : perm) {
    out_shape.push_back(shape[size_t(p)]);
    src_strides.push_back(in_strides[size_t(p)]);
  }
  copy_box(in, 0, src_strides, out, 0, strides_of(out_shape), out_shape);
}

void k_transpose(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (!ctx.node().has_attr("perm"))
    for (int64_t i = in.rank() - 1; i >= 0; --i) perm.push_back(i);
  for (int64_t& p : perm) p = normalize_axis(ctx, p, in.rank());
  transpose_into(in, in.shape(), perm, ctx.output(0));
}

void k_depth_to_space(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t b = ctx.node().attr_int("blocksize", 1);
  const int64_t n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
  if (ctx.node().attr_string("mode", "DCR") == "CRD")
    transpose_into(in, {n, c / (b * b), b, b, h, w}, {0, 1, 4, 2, 5, 3}, ctx.output(0));
  else
    transpose_into(in, {n, b, b, c / (b * b), h, w}, {0, 3, 4, 1, 5, 2}, ctx.output(0));
}

void k_space_to_depth(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t b = ctx.node().attr_int("blocksize", 1);
  const int64_t n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
  transpose_into(in, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, ctx.output(0));
}

// ---------------------------------------------------------------- Concat, Split, Slice

void k_concat(KernelContext& ctx) {
  Tensor& out = ctx.output(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 1), out.rank());
  const std::vector<int64_t> out_strides = strides_of(out.shape());
  int64_t pos = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const Tensor& in = ctx.input(i);
    copy_box(in, 0, strides_of(in.shape()), out, pos * out_strides[size_t(axis)], out_strides,
             in.shape());
    pos += in.dim(axis);
  }
}

// Sizes of Split's pieces along the axis (inference has checked them against the outputs).
std::vector<int64_t> split_sizes(const KernelContext& ctx, int64_t dim) {
  if (ctx.opset() < 13 && ctx.node().has_attr("split")) return ctx.node().attr_ints("split");
  if (ctx.has_input(1)) return int_values(ctx, 1);
  const int64_t n = int64_t(ctx.num_outputs());
  if (ctx.opset() >= 18 && ctx.node().has_attr("num_outputs")) {
    const int64_t chunk = (dim + n - 1) / n;
    std::vector<int64_t> s(size_t(n), chunk);
    s.back() = dim - chunk * (n - 1);
    return s;
  }
  return std::vector<int64_t>(size_t(n), dim / n);
}

void k_split(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), in.rank());
  const std::vector<int64_t> in_strides = strides_of(in.shape());
  const std::vector<int64_t> sizes = split_sizes(ctx, in.dim(axis));
  int64_t pos = 0;
  for (size_t k = 0; k < ctx.num_outputs() && k < sizes.size(); ++k) {
    if (ctx.has_output(k)) {
      Tensor& out = ctx.output(k);
      copy_box(in, pos * in_strides[size_t(axis)], in_strides, out, 0, strides_of(out.shape()),
               out.shape());
    }
    pos += sizes[k];
  }
}

void k_slice(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const int64_t rank = in.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.node().attr_ints("starts");
    ends = ctx.node().attr_ints("ends");
    axes = ctx.node().attr_ints("axes");
  } else {
    starts = int_values(ctx, 1);
    ends = int_values(ctx, 2);
    if (ctx.has_input(3)) axes = int_values(ctx, 3);
    if (ctx.has_input(4)) steps = int_values(ctx, 4);
  }
  if (axes.empty() && !(ctx.opset() >= 10 && ctx.has_input(3)))
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  const std::vector<int64_t> in_strides = strides_of(in.shape());
  std::vector<int64_t> src_strides = in_strides;
  int64_t src_off = 0;
  for (size_t i = 0; i < axes.size(); ++i) {
    const size_t a = size_t(normalize_axis(ctx, axes[i], rank));
    const int64_t dim = in.shape()[a], step = steps[i];
    src_strides[a] = in_strides[a] * step;
    if (out.shape()[a] == 0) continue;  // nothing is read along a
    // Same normalisation as inference, which has set the output's length along a.
    int64_t start = starts[i];
    if (start < 0) start = start < std::numeric_limits<int64_t>::min() + dim ? 0 : start + dim;
    start = std::clamp<int64_t>(start, 0, step > 0 ? dim : dim - 1);
    src_off += start * in_strides[a];
  }
  copy_box(in, src_off, src_strides, out, 0, strides_of(out.shape()), out.shape());
}

// ---------------------------------------------------------------- Expand, Tile, Pad

void k_expand(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  copy_box(in, 0, broadcast_strides(in.shape(), out.shape()), out, 0, strides_of(out.shape()),
           out.shape());
}

// The output seen as [r0, d0, r1, d1, ...]: tile index t_k and in-tile index i_k along each axis.
void k_tile(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const std::vector<int64_t> in_strides = strides_of(in.shape());
  const std::vector<int64_t> out_strides = strides_of(out.shape());
  Shape box;
  std::vector<int64_t> src, dst;
  for (int64_t k = 0; k < in.rank(); ++k) {
    const size_t uk = size_t(k);
    const int64_t d = in.shape()[uk];
    box.push_back(d == 0 ? 0 : out.shape()[uk] / d);
    box.push_back(d);
    src.push_back(0);
    src.push_back(in_strides[uk]);
    dst.push_back(d * out_strides[uk]);
    dst.push_back(out_strides[uk]);
  }
  copy_box(in, 0, src, out, 0, dst, box);
}

// Source coordinate along one axis for each output coordinate, -1 for the constant fill.
std::vector<int64_t> pad_map(int64_t n, int64_t before, int64_t out_len, const std::string& mode) {
  std::vector<int64_t> m(static_cast<size_t>(out_len));
  for (int64_t o = 0; o < out_len; ++o) {
    int64_t c = o - before;
    if (c < 0 || c >= n) {
      if (mode == "constant") {
        c = -1;
      } else if (mode == "edge") {
        c = std::clamp<int64_t>(c, 0, n - 1);
      } else if (mode == "wrap") {
        c = ((c % n) + n) % n;
      } else {  // reflect, without repeating the edge; repeated when the pad exceeds the axis
        if (n == 1) {
          c = 0;
        } else {
          const int64_t period = 2 * (n - 1);
          c = ((c % period) + period) % period;
          if (c >= n) c = period - c;
        }
      }
    }
    m[size_t(o)] = c;
  }
  return m;
}

void k_pad(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const int64_t rank = in.rank();
  const std::string mode = ctx.node().attr_string("mode", "constant");
  std::vector<int64_t> pads, axes;
  Tensor value(in.dtype(), {});  // zero (or "") unless given
  if (ctx.opset() < 11) {
    pads = ctx.node().attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
    if (in.dtype() != DType::String) value = scalar_of(in.dtype(), ctx.node().attr_float("value", 0));
  } else {
    pads = int_values(ctx, 1);
    if (ctx.has_input(2)) {
      const Tensor& v = ctx.input(2);
      if (v.numel() != 1) ctx.fail("constant_value must hold one element, has ", v.numel());
      value = v;
    }
    if (ctx.opset() >= 18 && ctx.has_input(3)) axes = int_values(ctx, 3);
  }
  if (axes.empty() && !(ctx.opset() >= 18 && ctx.has_input(3)))
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  const size_t n = axes.size();
  std::vector<int64_t> before(size_t(rank), 0), after(size_t(rank), 0);
  for (size_t i = 0; i < n; ++i) {
    const size_t a = size_t(normalize_axis(ctx, axes[i], rank));
    before[a] = pads[i];
    after[a] = pads[i + n];
  }
  // Negative pads crop the input first; the positive ones then pad what is left.
  const std::vector<int64_t> in_strides = strides_of(in.shape());
  int64_t src_off = 0;
  Shape cropped = in.shape();
  for (size_t a = 0; a < size_t(rank); ++a) {
    const int64_t cut_before = std::max<int64_t>(0, -before[a]);
    const int64_t cut_after = std::max<int64_t>(0, -after[a]);
    cropped[a] = std::max<int64_t>(0, cropped[a] - cut_before - cut_after);
    src_off += cut_before * in_strides[a];
  }
  std::vector<std::vector<int64_t>> maps;
  for (size_t a = 0; a < size_t(rank); ++a) {
    if (cropped[a] == 0 && mode != "constant" && out.shape()[a] > 0)
      ctx.fail("cannot pad an empty axis in mode '", mode, "'");
    maps.push_back(pad_map(cropped[a], std::max<int64_t>(0, before[a]), out.shape()[a], mode));
  }
  if (out.numel() == 0) return;
  dispatch_elem(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = elems<T>(in);
    const T fill = elems<T>(value)[0];
    T* dst = mutable_elems<T>(out);
    std::vector<int64_t> idx(size_t(rank), 0);
    for (int64_t o = 0; o < out.numel(); ++o) {
      int64_t off = src_off;
      bool inside = true;
      for (size_t a = 0; a < size_t(rank); ++a) {
        const int64_t c = maps[a][size_t(idx[a])];
        if (c < 0) {
          inside = false;
          break;
        }
        off += c * in_strides[a];
      }
      dst[o] = inside ? src[off] : fill;
      for (int64_t a = rank - 1; a >= 0; --a) {
        if (++idx[size_t(a)] < out.shape()[size_t(a)]) break;
        idx[size_t(a)] = 0;
      }
    }
  });
}

// ---------------------------------------------------------------- Gather family

void k_gather(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  Tensor& out = ctx.output(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), data.rank());
  const std::vector<int64_t> idx = int_values(ctx, 1);
  const int64_t n = data.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= data.dim(k);
  for (int64_t k = axis + 1; k < data.rank(); ++k) inner *= data.dim(k);
  const int64_t m = int64_t(idx.size());
  std::vector<int64_t> checked(idx.size());
  for (size_t j = 0; j < idx.size(); ++j) checked[j] = checked_index(ctx, idx[j], n);
  dispatch_elem(data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = elems<T>(data);
    T* dst = mutable_elems<T>(out);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < m; ++j) {
        const T* from = src + (o * n + checked[size_t(j)]) * inner;
        std::copy(from, from + inner, dst + (o * m + j) * inner);
      }
  });
}

// Calls f(i, offset) for every element i of a tensor of shape `shape`, where offset is the
// element's position under `strides` with the coordinate along `axis` left out.
template <class F>
void for_each_with_offset(const Shape& shape, const std::vector<int64_t>& strides, int64_t axis,
                          F&& f) {
  const int64_t total = shape_numel(shape);
  const size_t rank = shape.size();
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < total; ++i) {
    f(i, off);
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      const size_t ud = size_t(d);
      const int64_t s = d == axis ? 0 : strides[ud];
      off += s;
      if (++idx[ud] < shape[ud]) break;
      off -= s * shape[ud];
      idx[ud] = 0;
    }
  }
}

void k_gather_elements(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  Tensor& out = ctx.output(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), data.rank());
  const Tensor& indices = ctx.input(1);
  const std::vector<int64_t> idx = int_values(ctx, 1);
  const std::vector<int64_t> strides = strides_of(data.shape());
  const int64_t n = data.dim(axis);
  for (int64_t k = 0; k < data.rank(); ++k)
    if (k != axis && indices.dim(k) > data.dim(k))
      ctx.fail("indices ", indices.type_str(), " exceed data ", data.type_str(), " along axis ", k);
  dispatch_elem(data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = elems<T>(data);
    T* dst = mutable_elems<T>(out);
    for_each_with_offset(indices.shape(), strides, axis, [&](int64_t i, int64_t off) {
      dst[i] = src[off + checked_index(ctx, idx[size_t(i)], n) * strides[size_t(axis)]];
    });
  });
}

// Offsets (in elements of data) of the slices that GatherND/ScatterND address: one per index tuple,
// batch dims included, each a block of `block` elements.
struct NdAddressing {
  std::vector<int64_t> offsets;
  int64_t block = 1;
};

NdAddressing nd_addressing(const KernelContext& ctx, const Shape& data_shape, const Tensor& indices,
                           int64_t batch_dims) {
  const std::vector<int64_t> idx = indices.to_int64_vector();
  const int64_t r = int64_t(data_shape.size()), q = indices.rank();
  const int64_t m = indices.dim(-1), b = batch_dims;
  if (m < 1 || b + m > r) ctx.fail("indices ", indices.type_str(), " do not fit the data's rank ", r);
  const std::vector<int64_t> strides = strides_of(data_shape);
  NdAddressing a;
  for (int64_t k = b + m; k < r; ++k) a.block *= data_shape[size_t(k)];
  int64_t batch = 1, per_batch = 1;
  for (int64_t k = 0; k < b; ++k) batch *= data_shape[size_t(k)];
  for (int64_t k = b; k < q - 1; ++k) per_batch *= indices.dim(k);
  const int64_t batch_stride = b > 0 ? strides[size_t(b - 1)] : 0;
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t t = 0; t < per_batch; ++t) {
      const int64_t base = (bi * per_batch + t) * m;
      int64_t off = bi * batch_stride;
      for (int64_t j = 0; j < m; ++j)
        off += checked_index(ctx, idx[size_t(base + j)], data_shape[size_t(b + j)]) *
               strides[size_t(b + j)];
      a.offsets.push_back(off);
    }
  return a;
}

void k_gather_nd(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  Tensor& out = ctx.output(0);
  const NdAddressing a =
      nd_addressing(ctx, data.shape(), ctx.input(1), ctx.node().attr_int("batch_dims", 0));
  dispatch_elem(data.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = elems<T>(data);
    T* dst = mutable_elems<T>(out);
    for (size_t t = 0; t < a.offsets.size(); ++t)
      std::copy(src + a.offsets[t], src + a.offsets[t] + a.block, dst + int64_t(t) * a.block);
  });
}

// ---------------------------------------------------------------- Scatter family

// Applies `reduction` of update u onto the element at dst.
template <class T>
void reduce_into(T& dst, const T& u, const std::string& reduction) {
  if (reduction == "none") {
    dst = u;
  } else if (reduction == "add") {
    dst = from_num<T>(to_num(dst) + to_num(u));
  } else if (reduction == "mul") {
    dst = from_num<T>(to_num(dst) * to_num(u));
  } else if (reduction == "max") {
    if (to_num(u) > to_num(dst)) dst = u;
  } else if (reduction == "min") {
    if (to_num(u) < to_num(dst)) dst = u;
  }
}

// Calls f(TypeTag<T>) with the element type for a scatter: raw movement without reduction,
// arithmetic types with one.
template <class F>
void dispatch_scatter(DType t, const std::string& reduction, F&& f) {
  if (reduction == "none")
    dispatch_elem(t, f);
  else
    dispatch_all(t, f);
}

template <class T>
void scatter_assign(T& dst, const T& u, const std::string& reduction) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, RawElem<1>> ||
                std::is_same_v<T, RawElem<2>> || std::is_same_v<T, RawElem<4>> ||
                std::is_same_v<T, RawElem<8>> || std::is_same_v<T, RawElem<16>>)
    dst = u;
  else
    reduce_into(dst, u, reduction);
}

void k_scatter_nd(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& updates = ctx.input(2);
  const std::string reduction = ctx.node().attr_string("reduction", "none");
  Tensor out = data.clone();
  const Tensor& indices = ctx.input(1);
  const NdAddressing a = nd_addressing(ctx, data.shape(), indices, 0);
  // updates' shape must be indices.shape[:-1] + data.shape[m:].
  Shape want(indices.shape().begin(), indices.shape().end() - 1);
  want.insert(want.end(), data.shape().begin() + indices.dim(-1), data.shape().end());
  if (updates.shape() != want)
    ctx.fail("updates ", updates.type_str(), " must have shape ", shape_str(want));
  dispatch_scatter(data.dtype(), reduction, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* up = elems<T>(updates);
    T* dst = mutable_elems<T>(out);
    for (size_t t = 0; t < a.offsets.size(); ++t)
      for (int64_t j = 0; j < a.block; ++j)
        scatter_assign(dst[a.offsets[t] + j], up[int64_t(t) * a.block + j], reduction);
  });
  ctx.set_output(0, std::move(out));
}

void k_scatter_elements(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  const std::string reduction = ctx.node().attr_string("reduction", "none");
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), data.rank());
  if (updates.shape() != indices.shape())
    ctx.fail("updates ", updates.type_str(), " and indices ", indices.type_str(),
             " must have the same shape");
  if (indices.rank() != data.rank())
    ctx.fail("indices ", indices.type_str(), " must have the rank of data ", data.type_str());
  for (int64_t k = 0; k < data.rank(); ++k)
    if (k != axis && indices.dim(k) > data.dim(k))
      ctx.fail("indices ", indices.type_str(), " exceed data ", data.type_str(), " along axis ", k);
  const std::vector<int64_t> idx = int_values(ctx, 1);
  const std::vector<int64_t> strides = strides_of(data.shape());
  const int64_t n = data.dim(axis);
  Tensor out = data.clone();
  dispatch_scatter(data.dtype(), reduction, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* up = elems<T>(updates);
    T* dst = mutable_elems<T>(out);
    for_each_with_offset(indices.shape(), strides, axis, [&](int64_t i, int64_t off) {
      const int64_t c = checked_index(ctx, idx[size_t(i)], n);
      scatter_assign(dst[off + c * strides[size_t(axis)]], up[i], reduction);
    });
  });
  ctx.set_output(0, std::move(out));
}

// ---------------------------------------------------------------- generators

void k_constant_of_shape(KernelContext& ctx) {
  Tensor& out = ctx.output(0);
  if (const Attribute* v = ctx.node().attr("value")) fill_from(out, v->t);
  // Without a value the pre-allocated zeros are the answer.
}

void k_range(KernelContext& ctx) {
  Tensor& out = ctx.output(0);
  const Tensor& start = ctx.input(0);
  const Tensor& delta = ctx.input(2);
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T s = start.data<T>()[0], d = delta.data<T>()[0];
    T* p = out.mutable_data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = T(s + T(i) * d);
  });
}

void k_eye_like(KernelContext& ctx) {
  Tensor& out = ctx.output(0);
  const int64_t k = ctx.node().attr_int("k", 0);
  const Tensor one = scalar_of(out.dtype(), 1);
  const int64_t rows = out.dim(0), cols = out.dim(1);
  dispatch_elem(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = mutable_elems<T>(out);
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + k;
      if (j >= 0 && j < cols) p[i * cols + j] = elems<T>(one)[0];
    }
  });
}

void k_one_hot(KernelContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  Tensor& out = ctx.output(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", -1), out.rank());
  const int64_t depth = out.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= out.dim(k);
  for (int64_t k = axis + 1; k < out.rank(); ++k) inner *= out.dim(k);
  fill_from(out, values, 0);
  dispatch_elem(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T on = elems<T>(values)[1];
    T* p = mutable_elems<T>(out);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t v = indices.as_int64(o * inner + i);
        if (v < 0) v += depth;
        if (v >= 0 && v < depth) p[(o * depth + v) * inner + i] = on;  // others stay off
      }
  });
}

// ---------------------------------------------------------------- per-element ops

void k_trilu(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const bool upper = ctx.node().attr_int("upper", 1) != 0;
  int64_t k = 0;
  if (ctx.has_input(1)) {
    const std::vector<int64_t> kv = int_values(ctx, 1);
    if (kv.size() != 1) ctx.fail("k must hold one element, has ", kv.size());
    k = kv[0];
  }
  Tensor out = in.clone();
  const int64_t rows = in.dim(-2), cols = in.dim(-1);
  const int64_t mats = rows * cols == 0 ? 0 : in.numel() / (rows * cols);
  dispatch_elem(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = mutable_elems<T>(out);
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          // Upper keeps j - i >= k, lower keeps j - i <= k.
          const bool keep = upper ? j - i >= k : j - i <= k;
          if (!keep) p[(m * rows + i) * cols + j] = T{};
        }
  });
  ctx.set_output(0, std::move(out));
}

void k_cumsum(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const std::vector<int64_t> av = int_values(ctx, 1);
  if (av.size() != 1) ctx.fail("axis must hold one element, has ", av.size());
  const int64_t rank = std::max<int64_t>(in.rank(), 1);
  const int64_t axis = normalize_axis(ctx, av[0], rank);
  const bool exclusive = ctx.node().attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.node().attr_int("reverse", 0) != 0;
  const Shape shape = in.rank() == 0 ? Shape{1} : in.shape();
  int64_t outer = 1, inner = 1;
  const int64_t n = shape[size_t(axis)];
  for (int64_t k = 0; k < axis; ++k) outer *= shape[size_t(k)];
  for (int64_t k = axis + 1; k < rank; ++k) inner *= shape[size_t(k)];
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("CumSum does not support bool");
    } else {
      const T* src = in.data<T>();
      T* dst = out.mutable_data<T>();
      using Acc = decltype(to_num(T{}));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          Acc acc = Acc(0);
          for (int64_t s = 0; s < n; ++s) {
            const int64_t j = reverse ? n - 1 - s : s;
            const int64_t at = (o * n + j) * inner + i;
            if (exclusive) {
              dst[at] = from_num<T>(acc);
              acc = Acc(acc + to_num(src[at]));
            } else {
              acc = Acc(acc + to_num(src[at]));
              dst[at] = from_num<T>(acc);
            }
          }
        }
    }
  });
}

void k_top_k(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& values = ctx.output(0);
  Tensor& indices = ctx.output(1);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", -1), in.rank());
  const bool largest = ctx.opset() < 11 || ctx.node().attr_int("largest", 1) != 0;
  const int64_t n = in.dim(axis), k = values.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in.dim(d);
  for (int64_t d = axis + 1; d < in.rank(); ++d) inner *= in.dim(d);
  int64_t* out_idx = indices.mutable_data<int64_t>();
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = in.data<T>();
    T* out_val = values.mutable_data<T>();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t j) { return to_num(src[(o * n + j) * inner + i]); };
        std::iota(order.begin(), order.end(), 0);
        // Ties keep the lower index first (stable); NaN counts as larger than any number.
        auto before = [&](int64_t a, int64_t b) {
          const auto x = at(a), y = at(b);
          const bool xn = x != x, yn = y != y;
          if (xn || yn) return largest ? (xn && !yn) : (!xn && yn);
          return largest ? x > y : x < y;
        };
        std::stable_sort(order.begin(), order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          const int64_t dst = (o * k + j) * inner + i;
          out_val[dst] = src[(o * n + order[size_t(j)]) * inner + i];
          out_idx[dst] = order[size_t(j)];
        }
      }
  });
}

void k_non_zero(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t rank = std::max<int64_t>(in.rank(), 1);
  const Shape shape = in.rank() == 0 ? Shape{1} : in.shape();
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < in.numel(); ++i)
    if (in.as_double(i) != 0) hits.push_back(i);
  const int64_t nnz = int64_t(hits.size());
  Tensor out(DType::Int64, {rank, nnz});
  int64_t* p = out.mutable_data<int64_t>();
  const std::vector<int64_t> strides = strides_of(shape);
  for (int64_t t = 0; t < nnz; ++t)
    for (int64_t d = 0; d < rank; ++d)
      p[d * nnz + t] = hits[size_t(t)] / strides[size_t(d)] % shape[size_t(d)];
  ctx.set_output(0, std::move(out));
}

}  // namespace

void register_tensor_kernels(InterpreterKernels& r) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}) r.add("", op, k_reshape);
  r.add("", "Transpose", k_transpose);
  r.add("", "DepthToSpace", k_depth_to_space);
  r.add("", "SpaceToDepth", k_space_to_depth);
  r.add("", "Concat", k_concat);
  r.add("", "Split", k_split);
  r.add("", "Slice", k_slice);
  r.add("", "Expand", k_expand);
  r.add("", "Tile", k_tile);
  r.add("", "Pad", k_pad);
  r.add("", "Gather", k_gather);
  r.add("", "GatherElements", k_gather_elements);
  r.add("", "GatherND", k_gather_nd);
  r.add("", "ScatterND", k_scatter_nd);
  r.add("", "ScatterElements", k_scatter_elements);
  r.add("", "Scatter", k_scatter_elements);
  r.add("", "ConstantOfShape", k_constant_of_shape);
  r.add("", "Range", k_range);
  r.add("", "EyeLike", k_eye_like);
  r.add("", "OneHot", k_one_hot);
  r.add("", "Trilu", k_trilu);
  r.add("", "CumSum", k_cumsum);
  r.add("", "TopK", k_top_k);
  r.add("", "NonZero", k_non_zero);
}

}  // namespace eqopt
