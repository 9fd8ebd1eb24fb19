// NN kernels: convolutions, pooling, normalisations, LRN, Resize/Upsample.
//
// Conv is the one kernel whose speed matters (it carries nearly all the FLOPs of a CNN), so it
// lowers to im2col plus a cache-blocked GEMM; depthwise convolutions, whose im2col matrix would
// be as large as their work, run as direct shifted multiply-adds instead. Everything else is
// written for clarity, with statistics accumulated in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "interp/kernel_util.h"
#include "ir/ops/nn_geometry.h"

namespace eqopt {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

Shape spatial_dims(const Tensor& t) { return Shape(t.shape().begin() + 2, t.shape().end()); }

// Element types a kernel computes in: float and double (16-bit floats are refused).
template <class F>
void dispatch_real(const KernelContext& ctx, DType t, F&& f) {
  if (t != DType::Float && t != DType::Double)
    ctx.fail("element type ", dtype_short_name(t), " is not supported by the reference kernel (float32/float64 only)");
  dispatch_float(t, std::forward<F>(f));
}

// A float tensor's values as doubles (parameters of normalisations may differ in type from X).
std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.as_double(i);
  return v;
}

// ================================================================ GEMM

// C[M x N] += A * B, where A(i, k) = A[i * a_row + k * a_col] (a transposed A needs no copy), B is
// K x N row-major with leading dimension ldb, and C is row-major with leading dimension ldc.
//
// i-k-j order: every multiply-add streams a contiguous row of B into a contiguous row of C, which
// the compiler vectorises. Blocking over j and k keeps the block of B (kBlockK x kBlockN) in L2
// and the row segment of C in L1 while all M rows pass over it; taking k four at a time does four
// multiply-adds per load and store of C.
template <class T>
void gemm_accumulate(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
                     const T* B, int64_t ldb, T* C, int64_t ldc) {
  constexpr int64_t kBlockN = 512, kBlockK = 128;
  for (int64_t j0 = 0; j0 < N; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
      const int64_t k1 = std::min(K, k0 + kBlockK);
      for (int64_t i = 0; i < M; ++i) {
        T* __restrict c = C + i * ldc + j0;
        const T* a = A + i * a_row;
        int64_t k = k0;
        for (; k + 4 <= k1; k += 4) {
          const T a0 = a[k * a_col], a1 = a[(k + 1) * a_col];
          const T a2 = a[(k + 2) * a_col], a3 = a[(k + 3) * a_col];
          const T* __restrict b0 = B + k * ldb + j0;
          const T* __restrict b1 = b0 + ldb;
          const T* __restrict b2 = b1 + ldb;
          const T* __restrict b3 = b2 + ldb;
          for (int64_t j = 0; j < nb; ++j) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
        }
        for (; k < k1; ++k) {
          const T a0 = a[k * a_col];
          const T* __restrict b0 = B + k * ldb + j0;
          for (int64_t j = 0; j < nb; ++j) c[j] += a0 * b0[j];
        }
      }
    }
  }
}

// ================================================================ sliding-window geometry

// The meeting of a grid of window *positions* (Conv's output, ConvTranspose's input) with the
// grid the windows cover (Conv's input, ConvTranspose's output): position o and kernel tap k meet
// at covered coordinate o * stride + k * dilation - pad_begin along each spatial axis.
struct Grid {
  Shape pos, cover;  // spatial dims
  std::vector<int64_t> kernel, strides, dilations, pad_begin;
  std::vector<int64_t> pos_strides, cover_strides;  // row-major
  int64_t pos_size = 1, cover_size = 1, taps = 1;
  std::vector<std::vector<int64_t>> tap_coords;  // every kernel tap, row-major order

  Grid(Shape pos_dims, Shape cover_dims, const nn::Window& w)
      : pos(std::move(pos_dims)), cover(std::move(cover_dims)), kernel(w.kernel), strides(w.strides),
        dilations(w.dilations), pad_begin(w.pads.begin(), w.pads.begin() + int64_t(w.rank())) {
    pos_strides = strides_of(pos);
    cover_strides = strides_of(cover);
    pos_size = shape_numel(pos);
    cover_size = shape_numel(cover);
    taps = shape_numel(kernel);
    std::vector<int64_t> t(kernel.size(), 0);
    for (int64_t i = 0; i < taps; ++i) {
      tap_coords.push_back(t);
      for (size_t d = kernel.size(); d-- > 0;) {
        if (++t[d] < kernel[d]) break;
        t[d] = 0;
      }
    }
  }
};

// For one kernel tap, calls f(pos_offset, cover_offset, lo, hi) for every line of positions (all
// coordinates but the last fixed) whose covered coordinates lie inside the covered grid: position
// pos_offset + o, for o in [lo, hi), meets covered element cover_offset + o * (last stride).
// Positions that meet padding are skipped, so callers never test bounds.
template <class F>
void for_each_tap_line(const Grid& g, const std::vector<int64_t>& tap, F&& f) {
  const size_t n = g.kernel.size(), last = n - 1;
  std::vector<int64_t> lo(n), hi(n), start(n);
  for (size_t d = 0; d < n; ++d) {
    start[d] = tap[d] * g.dilations[d] - g.pad_begin[d];  // covered coordinate of position 0
    // 0 <= start + o * stride < cover  <=>  ceil(-start / stride) <= o <= floor((cover-1-start) / stride)
    lo[d] = std::max<int64_t>(0, ceil_div(-start[d], g.strides[d]));
    hi[d] = std::min<int64_t>(g.pos[d], floor_div(g.cover[d] - 1 - start[d], g.strides[d]) + 1);
    if (lo[d] >= hi[d]) return;
  }
  std::vector<int64_t> o(lo.begin(), lo.end());  // current outer coordinates (last one unused)
  for (;;) {
    int64_t pos_off = 0, cover_off = start[last] * g.cover_strides[last];
    for (size_t d = 0; d < last; ++d) {
      pos_off += o[d] * g.pos_strides[d];
      cover_off += (start[d] + o[d] * g.strides[d]) * g.cover_strides[d];
    }
    f(pos_off, cover_off, lo[last], hi[last]);
    size_t d = last;  // advance the outer coordinates, last-but-one fastest
    for (;;) {
      if (d == 0) return;
      --d;
      if (++o[d] < hi[d]) break;
      o[d] = lo[d];
    }
  }
}

// ================================================================ Conv

nn::Window conv_window(const KernelContext& ctx, const Tensor& W) {
  const Node& node = ctx.node();
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape", spatial_dims(W));
  return nn::read_window(node, kernel);
}

// Starts each output channel plane at its bias (or leaves the zero fill when there is none).
template <class T>
void fill_bias(T* y, const Tensor* B, int64_t N, int64_t M, int64_t plane) {
  if (!B) return;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) std::fill_n(y + (n * M + m) * plane, plane, B->data<T>()[m]);
}

// Y = conv(X, W) + B for one element type. Y arrives zero-filled with its inferred shape.
template <class T>
void conv(const Tensor& X, const Tensor& W, const Tensor* B, Tensor& Y, const nn::Window& w,
          int64_t group) {
  const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0);
  const int64_t Cg = C / group, Mg = M / group;
  const Grid g(spatial_dims(Y), spatial_dims(X), w);
  const int64_t K = g.taps, in_size = g.cover_size, out_size = g.pos_size;
  const int64_t s_last = g.strides.back();
  const T* x = X.data<T>();
  const T* wt = W.data<T>();
  T* y = Y.mutable_data<T>();
  fill_bias(y, B, N, M, out_size);

  if (Cg == 1) {
    // Depthwise (one input channel per group): each tap adds a shifted, scaled copy of the input
    // plane to the output plane.
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m) {
        const T* plane = x + (n * C + m / Mg) * in_size;
        T* __restrict out = y + (n * M + m) * out_size;
        for (int64_t t = 0; t < K; ++t) {
          const T wv = wt[m * K + t];
          for_each_tap_line(g, g.tap_coords[size_t(t)], [&](int64_t po, int64_t ci, int64_t lo, int64_t hi) {
            const T* __restrict src = plane + ci;
            if (s_last == 1)
              for (int64_t o = lo; o < hi; ++o) out[po + o] += wv * src[o];
            else
              for (int64_t o = lo; o < hi; ++o) out[po + o] += wv * src[o * s_last];
          });
        }
      }
    return;
  }

  // A 1x1 convolution with unit strides and no padding reads its input as the GEMM's B directly.
  bool pointwise = K == 1 && g.pos == g.cover;
  for (size_t d = 0; d < g.kernel.size(); ++d) pointwise = pointwise && g.strides[d] == 1 && g.pad_begin[d] == 0;
  std::vector<T> cols(pointwise ? 0 : size_t(Cg * K * out_size));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t grp = 0; grp < group; ++grp) {
      const T* xg = x + (n * C + grp * Cg) * in_size;
      const T* b = xg;
      if (!pointwise) {
        // im2col: row (c, t) holds, for every output position, the input element tap t of
        // channel c meets there (0 in the padding).
        std::fill(cols.begin(), cols.end(), T(0));
        for (int64_t t = 0; t < K; ++t)
          for_each_tap_line(g, g.tap_coords[size_t(t)], [&](int64_t po, int64_t ci, int64_t lo, int64_t hi) {
            for (int64_t c = 0; c < Cg; ++c) {
              const T* __restrict src = xg + c * in_size + ci;
              T* __restrict dst = cols.data() + (c * K + t) * out_size + po;
              if (s_last == 1)
                std::copy(src + lo, src + hi, dst + lo);
              else
                for (int64_t o = lo; o < hi; ++o) dst[o] = src[o * s_last];
            }
          });
        b = cols.data();
      }
      gemm_accumulate<T>(Mg, out_size, Cg * K, wt + grp * Mg * Cg * K, Cg * K, 1, b, out_size,
                         y + (n * M + grp * Mg) * out_size, out_size);
    }
}

void k_conv(KernelContext& ctx) {
  const Tensor &X = ctx.input(0), &W = ctx.input(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  Tensor& Y = ctx.output(0);
  nn::Window w = conv_window(ctx, W);
  nn::window_output_dims(ctx.node(), w, spatial_dims(X));  // resolves auto_pad into w.pads
  const int64_t group = ctx.node().attr_int("group", 1);
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv<T>(X, W, B, Y, w, group);
  });
}

// ================================================================ ConvTranspose

// The adjoint of Conv: every input position scatters W-weighted copies of its channels into a
// window of the output. Computed as a GEMM (W^T X: one row per output channel and tap) followed by
// col2im, which adds each row into the output plane shifted by its tap.
template <class T>
void conv_transpose(const Tensor& X, const Tensor& W, const Tensor* B, Tensor& Y,
                    const nn::Window& w, int64_t group) {
  const int64_t N = X.dim(0), C = X.dim(1), M = Y.dim(1);
  const int64_t Cg = C / group, Mg = M / group;
  const Grid g(spatial_dims(X), spatial_dims(Y), w);
  const int64_t K = g.taps, in_size = g.pos_size, out_size = g.cover_size;
  const int64_t s_last = g.strides.back();
  const T* x = X.data<T>();
  const T* wt = W.data<T>();
  T* y = Y.mutable_data<T>();
  fill_bias(y, B, N, M, out_size);
  std::vector<T> cols(size_t(Mg * K * in_size));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t grp = 0; grp < group; ++grp) {
      std::fill(cols.begin(), cols.end(), T(0));
      // W's group block is [Cg, Mg*K]; the GEMM reads it transposed.
      gemm_accumulate<T>(Mg * K, in_size, Cg, wt + grp * Cg * Mg * K, 1, Mg * K,
                         x + (n * C + grp * Cg) * in_size, in_size, cols.data(), in_size);
      for (int64_t t = 0; t < K; ++t)
        for_each_tap_line(g, g.tap_coords[size_t(t)], [&](int64_t pi, int64_t co, int64_t lo, int64_t hi) {
          for (int64_t m = 0; m < Mg; ++m) {
            const T* __restrict src = cols.data() + (m * K + t) * in_size + pi;
            T* __restrict dst = y + (n * M + grp * Mg + m) * out_size + co;
            for (int64_t o = lo; o < hi; ++o) dst[o * s_last] += src[o];
          }
        });
    }
}

void k_conv_transpose(KernelContext& ctx) {
  const Tensor &X = ctx.input(0), &W = ctx.input(1);
  const Tensor* B = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  Tensor& Y = ctx.output(0);
  nn::Window w = conv_window(ctx, W);
  nn::conv_transpose_output_dims(ctx.node(), w, spatial_dims(X));  // resolves the pads
  const int64_t group = ctx.node().attr_int("group", 1);
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv_transpose<T>(X, W, B, Y, w, group);
  });
}

// ================================================================ pooling

// The windows along one spatial axis: for each output coordinate, the input coordinates its
// window covers inside the input, and how many taps fall inside the padded input.
struct AxisWindows {
  std::vector<std::vector<int64_t>> inside;
  std::vector<int64_t> padded_count;
};

AxisWindows axis_windows(const nn::Window& w, size_t axis, int64_t in, int64_t out) {
  AxisWindows a;
  a.inside.resize(size_t(out));
  a.padded_count.resize(size_t(out), 0);
  const int64_t pb = w.pad_begin(axis), pe = w.pad_end(axis);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t k = 0; k < w.kernel[axis]; ++k) {
      const int64_t c = o * w.strides[axis] + k * w.dilations[axis] - pb;
      if (c >= 0 && c < in) a.inside[size_t(o)].push_back(c);
      if (c >= -pb && c < in + pe) ++a.padded_count[size_t(o)];
    }
  return a;
}

// One pooling window: offsets of its elements in an input plane (row-major window order), the
// same offsets in column-major storage (for MaxPool's storage_order), and its padded tap count.
struct PoolWindow {
  std::vector<int64_t> offsets, col_major;
  int64_t padded_count = 1;
};

// Calls f(out_offset, window) for every output position of a plane.
template <class F>
void for_each_pool_window(const nn::Window& w, const Shape& in, const Shape& out, F&& f) {
  const size_t n = in.size();
  std::vector<AxisWindows> axes;
  for (size_t d = 0; d < n; ++d) axes.push_back(axis_windows(w, d, in[d], out[d]));
  const std::vector<int64_t> row = strides_of(in);
  std::vector<int64_t> col(n, 1);
  for (size_t d = 1; d < n; ++d) col[d] = col[d - 1] * in[d - 1];
  const int64_t total = shape_numel(out);
  std::vector<int64_t> o(n, 0);
  PoolWindow win;
  for (int64_t i = 0; i < total; ++i) {
    win.offsets.assign(1, 0);
    win.col_major.assign(1, 0);
    win.padded_count = 1;
    for (size_t d = 0; d < n; ++d) {  // product of the axes' coordinate lists, row-major
      const auto& coords = axes[d].inside[size_t(o[d])];
      win.padded_count *= axes[d].padded_count[size_t(o[d])];
      std::vector<int64_t> offs, cols;
      for (size_t k = 0; k < win.offsets.size(); ++k)
        for (int64_t c : coords) {
          offs.push_back(win.offsets[k] + c * row[d]);
          cols.push_back(win.col_major[k] + c * col[d]);
        }
      win.offsets.swap(offs);
      win.col_major.swap(cols);
    }
    f(i, win);
    for (size_t d = n; d-- > 0;) {
      if (++o[d] < out[d]) break;
      o[d] = 0;
    }
  }
}

nn::Window pool_window(KernelContext& ctx, const Tensor& X) {
  nn::Window w = nn::read_window(ctx.node(), ctx.node().attr_ints("kernel_shape"));
  nn::window_output_dims(ctx.node(), w, spatial_dims(X), ctx.node().attr_int("ceil_mode", 0) != 0);
  return w;
}

void k_max_pool(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const nn::Window w = pool_window(ctx, X);
  const Shape in = spatial_dims(X), out = spatial_dims(Y);
  const int64_t planes = X.dim(0) * X.dim(1), in_size = shape_numel(in), out_size = shape_numel(out);
  const bool column_major = ctx.node().attr_int("storage_order", 0) == 1;
  int64_t* indices = ctx.has_output(1) ? ctx.output(1).mutable_data<int64_t>() : nullptr;
  dispatch_numeric(X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = Y.mutable_data<T>();
    for_each_pool_window(w, in, out, [&](int64_t i, const PoolWindow& win) {
      for (int64_t p = 0; p < planes; ++p) {
        const T* plane = x + p * in_size;
        T best = std::numeric_limits<T>::lowest();
        size_t arg = 0;
        for (size_t k = 0; k < win.offsets.size(); ++k)
          if (k == 0 || plane[win.offsets[k]] > best) {
            best = plane[win.offsets[k]];
            arg = k;
          }
        y[p * out_size + i] = best;
        // Indices count over the whole flattened input, batch and channel included.
        if (indices && !win.offsets.empty())
          indices[p * out_size + i] = p * in_size + (column_major ? win.col_major[arg] : win.offsets[arg]);
      }
    });
  });
}

void k_average_pool(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const nn::Window w = pool_window(ctx, X);
  const Shape in = spatial_dims(X), out = spatial_dims(Y);
  const int64_t planes = X.dim(0) * X.dim(1), in_size = shape_numel(in), out_size = shape_numel(out);
  const bool include_pad = ctx.node().attr_int("count_include_pad", 0) != 0;
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = Y.mutable_data<T>();
    for_each_pool_window(w, in, out, [&](int64_t i, const PoolWindow& win) {
      const double count = double(include_pad ? win.padded_count : int64_t(win.offsets.size()));
      for (int64_t p = 0; p < planes; ++p) {
        const T* plane = x + p * in_size;
        double sum = 0;
        for (int64_t off : win.offsets) sum += double(plane[off]);
        y[p * out_size + i] = T(count > 0 ? sum / count : 0.0);
      }
    });
  });
}

// LpPool's p: an int attribute since opset 2, a float before.
double lp_exponent(const KernelContext& ctx) {
  const Attribute* a = ctx.node().attr("p");
  if (!a) return 2.0;
  const double p = a->kind == Attribute::Kind::Float ? double(a->f) : double(ctx.node().attr_int("p", 2));
  if (!(p > 0)) ctx.fail("p must be positive, got ", p);
  return p;
}

double lp_norm(double sum_pow, double p) { return p == 2.0 ? std::sqrt(sum_pow) : std::pow(sum_pow, 1.0 / p); }

void k_lp_pool(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const nn::Window w = pool_window(ctx, X);
  const Shape in = spatial_dims(X), out = spatial_dims(Y);
  const int64_t planes = X.dim(0) * X.dim(1), in_size = shape_numel(in), out_size = shape_numel(out);
  const double p = lp_exponent(ctx);
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = Y.mutable_data<T>();
    for_each_pool_window(w, in, out, [&](int64_t i, const PoolWindow& win) {
      for (int64_t q = 0; q < planes; ++q) {
        double sum = 0;
        for (int64_t off : win.offsets) sum += std::pow(std::abs(double(x[q * in_size + off])), p);
        y[q * out_size + i] = T(lp_norm(sum, p));
      }
    });
  });
}

// Global pools: one value per (batch, channel) plane.
template <class Reduce>
void global_pool(KernelContext& ctx, Reduce reduce) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const int64_t planes = X.dim(0) * X.dim(1);
  const int64_t size = planes ? X.numel() / planes : 0;
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = Y.mutable_data<T>();
    for (int64_t p = 0; p < planes; ++p) y[p] = T(reduce(x + p * size, size));
  });
}

void k_global_average_pool(KernelContext& ctx) {
  global_pool(ctx, [](const auto* v, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(v[i]);
    return s / double(n);
  });
}

void k_global_max_pool(KernelContext& ctx) {
  global_pool(ctx, [](const auto* v, int64_t n) {
    double m = -INFINITY;
    for (int64_t i = 0; i < n; ++i)
      if (i == 0 || double(v[i]) > m) m = double(v[i]);
    return m;
  });
}

void k_global_lp_pool(KernelContext& ctx) {
  const double p = lp_exponent(ctx);
  global_pool(ctx, [p](const auto* v, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::pow(std::abs(double(v[i])), p);
    return lp_norm(s, p);
  });
}

// ================================================================ normalisations

// y = x * a[j] + b[j] over planes: j is the channel, or (per_element) the channel and spatial
// position. Shared by BatchNormalization (a, b folded from the statistics).
template <class T>
void scale_shift(const Tensor& X, Tensor& Y, const std::vector<double>& a, const std::vector<double>& b,
                 bool per_element) {
  const int64_t N = X.dim(0), C = X.dim(1);
  const int64_t S = N * C != 0 ? X.numel() / (N * C) : 0;
  const T* x = X.data<T>();
  T* y = Y.mutable_data<T>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t base = (n * C + c) * S;
      for (int64_t s = 0; s < S; ++s) {
        const size_t j = size_t(per_element ? c * S + s : c);
        y[base + s] = T(double(x[base + s]) * a[j] + b[j]);
      }
    }
}

void k_batch_norm(KernelContext& ctx) {
  const Node& node = ctx.node();
  const int64_t opset = ctx.opset();
  if (opset >= 14 && node.attr_int("training_mode", 0) != 0)
    ctx.fail("training_mode=1 (batch statistics and running-mean updates) is not supported; the "
             "reference interpreter runs BatchNormalization in inference mode only");
  if (opset < 14)
    for (size_t k = 1; k < ctx.num_outputs(); ++k)
      if (ctx.has_output(k))
        ctx.fail("outputs beyond Y (mean, var, saved_mean, saved_var) exist only in training mode, "
                 "which the reference interpreter does not support");
  const Tensor& X = ctx.input(0);
  if (X.rank() < 2) ctx.fail("input must have rank >= 2, got ", X.type_str());
  const int64_t C = X.dim(1);
  const int64_t S = X.dim(0) * C != 0 ? X.numel() / (X.dim(0) * C) : 0;
  // Opsets before 9 may normalise per activation (spatial=0): parameters of shape [C, spatial...].
  const bool per_element = opset < 9 && node.attr_int("spatial", 1) == 0;
  const int64_t want = per_element ? C * S : C;
  const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2)),
                            mean = as_doubles(ctx.input(3)), var = as_doubles(ctx.input(4));
  for (const auto* v : {&scale, &bias, &mean, &var})
    if (int64_t(v->size()) != want)
      ctx.fail("scale, B, mean and var must each hold ", want, " values for input ", X.type_str());
  const double eps = node.attr_float("epsilon", 1e-5f);
  std::vector<double> a(static_cast<size_t>(want)), b(static_cast<size_t>(want));
  for (size_t j = 0; j < size_t(want); ++j) {
    a[j] = scale[j] / std::sqrt(var[j] + eps);
    b[j] = bias[j] - mean[j] * a[j];
  }
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    scale_shift<typename decltype(tag)::type>(X, ctx.output(0), a, b, per_element);
  });
  // In inference mode the running statistics pass through unchanged.
  if (ctx.has_output(1)) ctx.set_output(1, ctx.input(3));
  if (ctx.has_output(2)) ctx.set_output(2, ctx.input(4));
}

// Mean and population variance of n values, two-pass in double.
template <class T>
std::pair<double, double> mean_var(const T* v, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(v[i]);
  const double mean = n ? sum / double(n) : 0.0;
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += (double(v[i]) - mean) * (double(v[i]) - mean);
  return {mean, n ? sq / double(n) : 0.0};
}

void k_instance_norm(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t N = X.dim(0), C = X.dim(1);
  const int64_t S = N * C != 0 ? X.numel() / (N * C) : 0;
  const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2));
  if (int64_t(scale.size()) != C || int64_t(bias.size()) != C)
    ctx.fail("scale and B must each hold ", C, " values");
  const double eps = ctx.node().attr_float("epsilon", 1e-5f);
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = ctx.output(0).mutable_data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t base = (n * C + c) * S;
        const auto [mean, var] = mean_var(x + base, S);
        const double a = scale[size_t(c)] / std::sqrt(var + eps);
        for (int64_t s = 0; s < S; ++s) y[base + s] = T((double(x[base + s]) - mean) * a + bias[size_t(c)]);
      }
  });
}

// Values of `t` broadcast (numpy-style, unidirectionally) to `shape`, as doubles.
std::vector<double> broadcast_values(const KernelContext& ctx, const Tensor& t, const Shape& shape,
                                     const char* what) {
  bool fits = t.rank() <= int64_t(shape.size());
  for (int64_t k = 1; fits && k <= t.rank(); ++k) {
    const int64_t d = t.dim(-k);
    fits = d == 1 || d == shape[shape.size() - size_t(k)];
  }
  if (!fits) ctx.fail(what, " ", t.type_str(), " does not broadcast to ", shape_str(shape));
  std::vector<double> v(size_t(shape_numel(shape)));
  const std::vector<int64_t> strides[1] = {broadcast_strides(t.shape(), shape)};
  for_each_broadcast(shape, strides, [&](int64_t i, const int64_t* o) { v[size_t(i)] = t.as_double(o[0]); });
  return v;
}

void k_layer_norm(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", -1), X.rank());
  const Shape norm_shape(X.shape().begin() + axis, X.shape().end());
  const int64_t inner = shape_numel(norm_shape);
  const int64_t outer = inner ? X.numel() / inner : 0;
  const std::vector<double> scale = broadcast_values(ctx, ctx.input(1), norm_shape, "Scale");
  const std::vector<double> bias =
      ctx.has_input(2) ? broadcast_values(ctx, ctx.input(2), norm_shape, "B") : std::vector<double>(size_t(inner), 0.0);
  const double eps = ctx.node().attr_float("epsilon", 1e-5f);
  std::vector<double> means(static_cast<size_t>(outer)), inv_stds(static_cast<size_t>(outer));
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = ctx.output(0).mutable_data<T>();
    for (int64_t r = 0; r < outer; ++r) {
      const T* row = x + r * inner;
      const auto [mean, var] = mean_var(row, inner);
      const double inv = 1.0 / std::sqrt(var + eps);
      means[size_t(r)] = mean;
      inv_stds[size_t(r)] = inv;
      for (int64_t j = 0; j < inner; ++j)
        y[r * inner + j] = T((double(row[j]) - mean) * inv * scale[size_t(j)] + bias[size_t(j)]);
    }
  });
  const std::vector<double>* stats[] = {nullptr, &means, &inv_stds};
  for (size_t k = 1; k < 3; ++k) {
    if (!ctx.has_output(k)) continue;
    Tensor& out = ctx.output(k);
    dispatch_real(ctx, out.dtype(), [&](auto tag) {
      using U = typename decltype(tag)::type;
      U* o = out.mutable_data<U>();
      for (int64_t r = 0; r < outer; ++r) o[r] = U((*stats[k])[size_t(r)]);
    });
  }
}

void k_group_norm(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t N = X.dim(0), C = X.dim(1);
  const int64_t G = ctx.node().attr_int("num_groups", 1);
  if (G <= 0 || C % G != 0) ctx.fail(C, " channels do not split into ", G, " groups");
  const int64_t Cg = C / G;
  const int64_t S = N * C != 0 ? X.numel() / (N * C) : 0;
  // Opset 18 has one scale and bias per group, opset 21 one per channel.
  const bool per_channel = ctx.opset() >= 21;
  const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2));
  const int64_t want = per_channel ? C : G;
  if (int64_t(scale.size()) != want || int64_t(bias.size()) != want)
    ctx.fail("scale and bias must each hold ", want, " values (one per ", per_channel ? "channel" : "group", ")");
  const double eps = ctx.node().attr_float("epsilon", 1e-5f);
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = ctx.output(0).mutable_data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < G; ++g) {
        const int64_t base = (n * C + g * Cg) * S;
        const auto [mean, var] = mean_var(x + base, Cg * S);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t c = 0; c < Cg; ++c) {
          const size_t j = size_t(per_channel ? g * Cg + c : g);
          for (int64_t s = 0; s < S; ++s) {
            const int64_t i = base + c * S + s;
            y[i] = T((double(x[i]) - mean) * inv * scale[j] + bias[j]);
          }
        }
      }
  });
}

// Local response normalisation across channels:
// y = x / (bias + alpha / size * sum of x^2 over nearby channels)^beta.
void k_lrn(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Node& node = ctx.node();
  const int64_t size = node.attr_int("size", 1);
  const double alpha = node.attr_float("alpha", 1e-4f), beta = node.attr_float("beta", 0.75f),
               bias = node.attr_float("bias", 1.0f);
  const int64_t N = X.dim(0), C = X.dim(1);
  const int64_t S = N * C != 0 ? X.numel() / (N * C) : 0;
  const int64_t before = (size - 1) / 2, after = size - 1 - before;  // floor and ceil of (size-1)/2
  dispatch_real(ctx, X.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = X.data<T>();
    T* y = ctx.output(0).mutable_data<T>();
    std::vector<double> sq(static_cast<size_t>(S));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        std::fill(sq.begin(), sq.end(), 0.0);
        for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(C - 1, c + after); ++k) {
          const T* plane = x + (n * C + k) * S;
          for (int64_t s = 0; s < S; ++s) sq[size_t(s)] += double(plane[s]) * double(plane[s]);
        }
        const int64_t base = (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s)
          y[base + s] = T(double(x[base + s]) / std::pow(bias + alpha / double(size) * sq[size_t(s)], beta));
      }
  });
}

// ================================================================ Resize / Upsample

enum class NearestMode { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };

struct ResizeOptions {
  std::string mode;  // nearest, linear, cubic
  std::string coordinate_mode;
  NearestMode nearest = NearestMode::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0;
};

// Input coordinate that output coordinate x maps to along one axis. As in ONNX's reference, the
// output length in these formulas is the real `scale * in`, not the rounded output size (they
// differ when a scale does not divide evenly: align_corners at scale 0.6 maps 1 -> 3 / 1.4), and
// pytorch_half_pixel maps a single output element to -0.5.
double original_coordinate(const KernelContext& ctx, const std::string& mode, double x, double scale,
                           int64_t in, int64_t out, double roi_start, double roi_end) {
  const double out_width = scale * double(in);
  if (mode == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (mode == "asymmetric") return x / scale;
  if (mode == "pytorch_half_pixel") return out_width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  if (mode == "align_corners") return out_width == 1 ? 0.0 : x * double(in - 1) / (out_width - 1);
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (mode == "half_pixel_symmetric") {
    const double adjustment = double(out) / out_width;
    const double offset = double(in) / 2 * (1 - adjustment);
    return offset + (x + 0.5) / scale - 0.5;
  }
  if (mode == "tf_crop_and_resize") {
    const double span = (roi_end - roi_start) * double(in - 1);
    return roi_start * double(in - 1) + (out_width == 1 ? span / 2 : x * span / (out_width - 1));
  }
  ctx.fail("unknown coordinate_transformation_mode '", mode, "'");
}

int64_t nearest_index(NearestMode m, double x, double scale) {
  const double fl = std::floor(x);
  const bool half = x - fl == 0.5;
  switch (m) {
    case NearestMode::RoundPreferFloor: return int64_t(half ? fl : std::round(x));
    case NearestMode::RoundPreferCeil: return int64_t(half ? fl + 1 : std::round(x));
    case NearestMode::Floor: return int64_t(fl);
    case NearestMode::Ceil: return int64_t(std::ceil(x));
    // Upsample and Resize-10 (as ONNX Runtime implements them): truncate when enlarging, round up
    // when shrinking.
    case NearestMode::Simple: return scale < 1 ? int64_t(std::ceil(x)) : int64_t(x);
  }
  return 0;
}

struct ResizeTap {
  int64_t index;
  double weight;
};

// Per output coordinate of one axis: the input taps and weights, or `outside` (extrapolation).
struct ResizeAxisPlan {
  std::vector<std::vector<ResizeTap>> taps;
  std::vector<bool> outside;
};

ResizeAxisPlan plan_axis(const KernelContext& ctx, const ResizeOptions& opt, int64_t in, int64_t out,
                         double scale, double roi_start, double roi_end) {
  ResizeAxisPlan p;
  p.taps.resize(size_t(out));
  p.outside.resize(size_t(out), false);
  const bool crop = opt.coordinate_mode == "tf_crop_and_resize";
  for (int64_t o = 0; o < out; ++o) {
    std::vector<ResizeTap>& taps = p.taps[size_t(o)];
    const double x = original_coordinate(ctx, opt.coordinate_mode, double(o), scale, in, out, roi_start, roi_end);
    if (crop && (x < 0 || x > double(in - 1))) {
      p.outside[size_t(o)] = true;
      continue;
    }
    if (opt.mode == "nearest") {
      taps.push_back({std::clamp<int64_t>(nearest_index(opt.nearest, x, scale), 0, in - 1), 1.0});
    } else if (opt.mode == "linear") {
      const double xc = std::clamp(x, 0.0, double(in - 1));
      const int64_t x0 = int64_t(std::floor(xc));
      const double f = xc - double(x0);
      taps.push_back({x0, 1.0 - f});
      if (f > 0) taps.push_back({std::min(x0 + 1, in - 1), f});
    } else {  // cubic (Keys' convolution kernel with coefficient a)
      const double A = opt.cubic_a;
      const int64_t x0 = int64_t(std::floor(x));
      const double r = x - double(x0);
      auto near = [A](double t) { return ((A + 2) * t - (A + 3)) * t * t + 1; };          // |t| <= 1
      auto far = [A](double t) { return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A; };    // 1 < |t| < 2
      const double coeff[4] = {far(r + 1), near(r), near(1 - r), far(2 - r)};
      double sum = 0;
      double w[4];
      for (int k = 0; k < 4; ++k) {
        const int64_t idx = x0 - 1 + k;
        w[k] = (opt.exclude_outside && (idx < 0 || idx >= in)) ? 0.0 : coeff[k];
        sum += w[k];
      }
      for (int k = 0; k < 4; ++k) {
        const double wk = opt.exclude_outside ? (sum != 0 ? w[k] / sum : 0.0) : w[k];
        if (wk != 0) taps.push_back({std::clamp<int64_t>(x0 - 1 + k, 0, in - 1), wk});
      }
    }
  }
  return p;
}

// Y = resample(X) given every axis's plan.
template <class T>
void resample(const Tensor& X, Tensor& Y, const std::vector<ResizeAxisPlan>& plans, double extrapolation) {
  const Shape& out = Y.shape();
  const size_t rank = out.size();
  const std::vector<int64_t> in_strides = strides_of(X.shape());
  const T* x = X.data<T>();
  T* y = Y.mutable_data<T>();
  std::vector<int64_t> o(rank, 0);
  // Weighted sum over the product of the axes' taps.
  auto gather = [&](auto& self, size_t axis, int64_t offset, double weight) -> double {
    if (axis == rank) return weight * double(x[offset]);
    double s = 0;
    for (const ResizeTap& t : plans[axis].taps[size_t(o[axis])])
      s += self(self, axis + 1, offset + t.index * in_strides[axis], weight * t.weight);
    return s;
  };
  for (int64_t i = 0; i < Y.numel(); ++i) {
    bool outside = false;
    for (size_t d = 0; d < rank; ++d) outside = outside || plans[d].outside[size_t(o[d])];
    const double v = outside ? extrapolation : (rank ? gather(gather, 0, 0, 1.0) : double(x[0]));
    if constexpr (std::is_integral_v<T>) {
      const double r = std::nearbyint(v);
      y[i] = T(std::clamp(r, double(std::numeric_limits<T>::lowest()), double(std::numeric_limits<T>::max())));
    } else {
      y[i] = T(v);
    }
    for (size_t d = rank; d-- > 0;) {
      if (++o[d] < out[d]) break;
      o[d] = 0;
    }
  }
}

void run_resize(KernelContext& ctx, const ResizeOptions& opt, const nn::ResizeAxes& axes) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const int64_t rank = X.rank();
  std::vector<ResizeAxisPlan> plans;
  for (int64_t d = 0; d < rank; ++d)
    plans.push_back(plan_axis(ctx, opt, X.dim(d), Y.dim(d), axes.scales[size_t(d)], axes.roi[size_t(d)],
                              axes.roi[size_t(d + rank)]));
  dispatch_numeric(X.dtype(), [&](auto tag) {
    resample<typename decltype(tag)::type>(X, Y, plans, opt.extrapolation_value);
  });
}

void k_resize(KernelContext& ctx) {
  const Node& node = ctx.node();
  const int64_t opset = ctx.opset();
  ResizeOptions opt;
  opt.mode = node.attr_string("mode", "nearest");
  if (opset < 11) {
    // Resize-10 has neither coordinate modes nor nearest modes: asymmetric, as Upsample.
    opt.coordinate_mode = "asymmetric";
    opt.nearest = NearestMode::Simple;
  } else {
    opt.coordinate_mode = node.attr_string("coordinate_transformation_mode", "half_pixel");
    const std::string nm = node.attr_string("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor") opt.nearest = NearestMode::RoundPreferFloor;
    else if (nm == "round_prefer_ceil") opt.nearest = NearestMode::RoundPreferCeil;
    else if (nm == "floor") opt.nearest = NearestMode::Floor;
    else if (nm == "ceil") opt.nearest = NearestMode::Ceil;
    else ctx.fail("unknown nearest_mode '", nm, "'");
  }
  opt.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  opt.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  opt.extrapolation_value = node.attr_float("extrapolation_value", 0.0f);
  const Tensor* in[4] = {};
  for (size_t i = 1; i < 4; ++i) in[i] = ctx.has_input(i) ? &ctx.input(i) : nullptr;
  // Resize-10 takes (X, scales); later opsets (X, roi, scales, sizes).
  const nn::ResizeAxes axes = opset < 11 ? nn::resize_axes(node, opset, ctx.input(0).shape(), nullptr, in[1], nullptr)
                                         : nn::resize_axes(node, opset, ctx.input(0).shape(), in[1], in[2], in[3]);
  if (opset >= 18 && node.attr_int("antialias", 0) != 0 && opt.mode != "nearest")
    for (int64_t d = 0; d < ctx.input(0).rank(); ++d)
      if (axes.scales[size_t(d)] < 1)
        ctx.fail("antialias=1 when downsampling is not supported by the reference interpreter");
  run_resize(ctx, opt, axes);
}

void k_upsample(KernelContext& ctx) {
  if (ctx.opset() < 7) ctx.fail("Upsample before opset 7 (experimental) is not supported");
  ResizeOptions opt;
  opt.mode = ctx.node().attr_string("mode", "nearest");
  if (opt.mode == "bilinear") opt.mode = "linear";
  if (opt.mode != "nearest" && opt.mode != "linear") ctx.fail("unknown mode '", opt.mode, "'");
  opt.coordinate_mode = "asymmetric";
  opt.nearest = NearestMode::Simple;
  const Tensor* scales = ctx.opset() >= 9 ? &ctx.input(1) : nullptr;
  run_resize(ctx, opt, nn::upsample_axes(ctx.node(), ctx.input(0).shape(), scales));
}

}  // namespace

void register_nn_kernels(InterpreterKernels& r) {
  r.add("", "Conv", k_conv);
  r.add("", "ConvTranspose", k_conv_transpose);
  r.add("", "MaxPool", k_max_pool);
  r.add("", "AveragePool", k_average_pool);
  r.add("", "LpPool", k_lp_pool);
  r.add("", "GlobalAveragePool", k_global_average_pool);
  r.add("", "GlobalMaxPool", k_global_max_pool);
  r.add("", "GlobalLpPool", k_global_lp_pool);
  r.add("", "BatchNormalization", k_batch_norm);
  r.add("", "InstanceNormalization", k_instance_norm);
  r.add("", "LayerNormalization", k_layer_norm);
  r.add("", "GroupNormalization", k_group_norm);
  r.add("", "LRN", k_lrn);
  r.add("", "Resize", k_resize);
  r.add("", "Upsample", k_upsample);
}

}  // namespace eqopt
