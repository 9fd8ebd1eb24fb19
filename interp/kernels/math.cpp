// Linear algebra, reduction and softmax kernels.
//
// Sums of integers accumulate in wrapping 64-bit arithmetic (numpy, the reference behind ONNX's
// expected outputs, wraps on integer overflow too). Sums of floats accumulate in double, except the
// dot products of MatMul and Gemm: those run in the element type, summing along K in order as BLAS
// micro-kernels do. On tiny_gpt_decoder that lands closer to PyTorch's float32 output than double
// accumulation (max abs error 4.6e-5 vs 1.4e-4 on logits up to 208, from `eqopt check
// ../shared/models/tiny_gpt_decoder.onnx --rtol 0 --atol 1 --verbose`), and the inner loop needs no
// float->double conversion.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "interp/kernel_util.h"
#include "ir/ops/einsum_equation.h"

namespace eqopt {

namespace {

template <class T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
// Accumulator of MatMul and Gemm (see the top of the file).
template <class T>
using DotAccOf = std::conditional_t<std::is_floating_point_v<T>, T, uint64_t>;

// An accumulator read back as a number: integers wrap to T first so that negative sums stay
// negative.
template <class T, class A>
double acc_to_double(A a) {
  if constexpr (std::is_floating_point_v<T>)
    return double(a);
  else
    return double(T(a));
}

// A double stored into T: integers are truncated and saturated (NaN gives 0) instead of invoking
// undefined behaviour.
template <class T>
T from_double(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return T(v);
  } else {
    if (std::isnan(v)) return T(0);
    if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(v);
  }
}

// Walks every index of `dims` in row-major order, keeping for each operand k the offset
// sum_d index[d] * strides[k][d].
class IndexWalker {
 public:
  IndexWalker(Shape dims, std::vector<std::vector<int64_t>> strides)
      : dims_(std::move(dims)),
        strides_(std::move(strides)),
        index_(dims_.size(), 0),
        offsets_(strides_.size(), 0) {}

  const std::vector<int64_t>& offsets() const { return offsets_; }
  int64_t offset(size_t k) const { return offsets_[k]; }

  // Moves to the next index; after the last one the walker is back at the first.
  void next() {
    for (size_t d = dims_.size(); d-- > 0;) {
      ++index_[d];
      for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] += strides_[k][d];
      if (index_[d] < dims_[d]) return;
      for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] -= strides_[k][d] * dims_[d];
      index_[d] = 0;
    }
  }

 private:
  Shape dims_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> index_;
  std::vector<int64_t> offsets_;
};

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end; ++d) p *= s[d];
  return p;
}

// ---------------------------------------------------------------- MatMul, Gemm

// C = A[M,K] B[K,N], row by row: for each row i, row += A[i,k] * B[k,:] over k, so that the inner
// loop runs over contiguous memory of B and of the accumulator row (i-k-j order). store(i, row)
// receives each finished row of accumulators.
template <class T, class Acc, class Store>
void matmul_rows(const T* a, const T* b, int64_t M, int64_t K, int64_t N, Store&& store) {
  std::vector<Acc> row(static_cast<size_t>(N));
  Acc* r = row.data();
  for (int64_t i = 0; i < M; ++i) {
    std::fill(row.begin(), row.end(), Acc(0));
    const T* ai = a + i * K;
    for (int64_t k = 0; k < K; ++k) {
      const Acc aik = Acc(ai[k]);
      const T* bk = b + k * N;
      for (int64_t j = 0; j < N; ++j) r[j] += aik * Acc(bk[j]);
    }
    store(i, r);
  }
}

// numpy matmul: 1-D operands promoted to matrices (and the promoted dim absent from y's shape,
// which inference computed), batch dims broadcast.
template <class T, class Acc>
void batched_matmul(const T* a, Shape as, const T* b, Shape bs, T* y) {
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const Shape batch_a(as.begin(), as.end() - 2), batch_b(bs.begin(), bs.end() - 2);
  const Shape batch = broadcast_shapes({batch_a, batch_b});
  // Strides over the batch dims, in elements.
  std::vector<int64_t> sa = broadcast_strides(batch_a, batch), sb = broadcast_strides(batch_b, batch);
  for (int64_t& s : sa) s *= M * K;
  for (int64_t& s : sb) s *= K * N;
  IndexWalker w(batch, {sa, sb});
  const int64_t n_batch = shape_numel(batch);
  for (int64_t bi = 0; bi < n_batch; ++bi, w.next()) {
    T* yb = y + bi * M * N;
    matmul_rows<T, Acc>(a + w.offset(0), b + w.offset(1), M, K, N, [&](int64_t i, const Acc* row) {
      for (int64_t j = 0; j < N; ++j) yb[i * N + j] = T(row[j]);
    });
  }
}

void check_matmul_operands(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.rank() == 0 || b.rank() == 0) ctx.fail("MatMul operands must have rank >= 1");
  const int64_t k_a = a.shape().back(), k_b = b.rank() == 1 ? b.dim(0) : b.dim(-2);
  if (k_a != k_b) ctx.fail("contraction dimensions differ: ", a.type_str(), " @ ", b.type_str());
}

void k_matmul(KernelContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  check_matmul_operands(ctx, a, b);
  Tensor& y = ctx.output(0);
  dispatch_numeric(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    batched_matmul<T, DotAccOf<T>>(a.data<T>(), a.shape(), b.data<T>(), b.shape(), y.mutable_data<T>());
  });
}

// An 8-bit operand less its zero point (a scalar, or one per row of A / per column of B), as int32.
template <class Q>
std::vector<int32_t> dequantize_operand(const KernelContext& ctx, const Tensor& x, const Tensor* zp,
                                        bool per_row) {
  const Q* p = x.data<Q>();
  std::vector<int32_t> v(size_t(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) v[size_t(i)] = int32_t(p[i]);
  if (!zp || zp->numel() == 0) return v;
  const Q* z = zp->data<Q>();
  if (zp->numel() == 1) {
    for (int32_t& e : v) e -= int32_t(z[0]);
    return v;
  }
  // Per-row zero points of A [..., M, K] or per-column ones of B [..., K, N].
  const int64_t rows = x.rank() >= 2 ? x.dim(-2) : 1, cols = x.shape().back();
  if (zp->numel() != (per_row ? rows : cols))
    ctx.fail("zero point of shape ", shape_str(zp->shape()), " does not fit operand ", x.type_str());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t r = (i / cols) % rows, c = i % cols;
    v[size_t(i)] -= int32_t(z[per_row ? r : c]);
  }
  return v;
}

void k_matmul_integer(KernelContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  check_matmul_operands(ctx, a, b);
  auto operand = [&](const Tensor& x, size_t zp_input, bool per_row) {
    const Tensor* zp = ctx.has_input(zp_input) ? &ctx.input(zp_input) : nullptr;
    return x.dtype() == DType::UInt8 ? dequantize_operand<uint8_t>(ctx, x, zp, per_row)
                                     : dequantize_operand<int8_t>(ctx, x, zp, per_row);
  };
  const std::vector<int32_t> av = operand(a, 2, true), bv = operand(b, 3, false);
  batched_matmul<int32_t, uint64_t>(av.data(), a.shape(), bv.data(), b.shape(),
                                    ctx.output(0).mutable_data<int32_t>());
}

template <class T>
std::vector<T> transposed(const T* p, int64_t rows, int64_t cols) {
  std::vector<T> t(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[size_t(c * rows + r)] = p[r * cols + c];
  return t;
}

// Y = alpha * op(A) op(B) + beta * C, op transposing when asked; C broadcasts to [M, N].
void k_gemm(KernelContext& ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const bool ta = ctx.node().attr_int("transA", 0) != 0, tb = ctx.node().attr_int("transB", 0) != 0;
  const double alpha = ctx.node().attr_float("alpha", 1.0f), beta = ctx.node().attr_float("beta", 1.0f);
  const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
  const int64_t N = tb ? b.dim(0) : b.dim(1);
  if ((tb ? b.dim(1) : b.dim(0)) != K)
    ctx.fail("contraction dimensions differ: A ", a.type_str(), " and B ", b.type_str());
  Tensor& y = ctx.output(0);
  // The broadcast is checked by inference; strides of C seen as [M, N].
  const std::vector<int64_t> cs = c ? broadcast_strides(c->shape(), {M, N}) : std::vector<int64_t>{0, 0};
  dispatch_numeric(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using Acc = DotAccOf<T>;
    // Transposed operands are copied once so the product always walks contiguous rows.
    std::vector<T> at, bt;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    if (ta) pa = (at = transposed(pa, K, M)).data();
    if (tb) pb = (bt = transposed(pb, N, K)).data();
    const T* pc = c ? c->data<T>() : nullptr;
    T* py = y.mutable_data<T>();
    matmul_rows<T, Acc>(pa, pb, M, K, N, [&](int64_t i, const Acc* row) {
      for (int64_t j = 0; j < N; ++j) {
        double v = alpha * acc_to_double<T>(row[j]);
        if (pc) v += beta * double(pc[i * cs[0] + j * cs[1]]);
        py[i * N + j] = from_double<T>(v);
      }
    });
  });
}

// ---------------------------------------------------------------- Einsum

// Labels 0..51 are the letters a-z, A-Z; the ellipsis dims get labels 52 and up.
constexpr int kEllipsisLabel = 52;

// The term's labels with the ellipsis replaced by the labels of its n_ell (right-aligned) dims
// out of the equation's n_ellipsis broadcast ellipsis dims.
std::vector<int> expand_ellipsis(const einsum::Term& t, int64_t n_ell, int64_t n_ellipsis) {
  std::vector<int> full;
  for (size_t k = 0; k <= t.labels.size(); ++k) {
    if (int(k) == t.ellipsis_at)
      for (int64_t e = n_ellipsis - n_ell; e < n_ellipsis; ++e) full.push_back(kEllipsisLabel + int(e));
    if (k < t.labels.size()) full.push_back(t.labels[k]);
  }
  return full;
}

// Einsum by direct summation: for every output element, the sum over the labels absent from the
// output of the product of the operands' elements. Repeated labels within a term take diagonals
// (their strides add up); size-1 dims broadcast (stride 0).
void k_einsum(KernelContext& ctx) {
  const einsum::Equation equation =
      einsum::parse_equation(ctx, ctx.node().attr_string("equation", ""), ctx.num_inputs());
  const std::string& eq = equation.text;
  const std::vector<einsum::Term>& terms = equation.inputs;
  const size_t n_ops = terms.size();

  // Every operand's labels, one per axis, with the ellipsis dims broadcast across operands.
  int64_t n_ellipsis = 0;
  for (size_t i = 0; i < n_ops; ++i) {
    const int64_t n_ell = ctx.input(i).rank() - int64_t(terms[i].labels.size());
    if (n_ell < 0 || (terms[i].ellipsis_at < 0 && n_ell != 0))
      ctx.fail("operand ", i, " ", ctx.input(i).type_str(), " does not match its subscripts in '", eq, "'");
    n_ellipsis = std::max(n_ellipsis, n_ell);
  }
  const int n_labels = kEllipsisLabel + int(n_ellipsis);
  std::vector<std::vector<int>> axis_labels(n_ops);
  std::vector<int64_t> label_dim(size_t(n_labels), -1);
  std::vector<int> label_count(size_t(n_labels), 0);
  for (size_t i = 0; i < n_ops; ++i) {
    const Shape& s = ctx.input(i).shape();
    axis_labels[i] = expand_ellipsis(terms[i], int64_t(s.size()) - int64_t(terms[i].labels.size()), n_ellipsis);
    for (size_t ax = 0; ax < s.size(); ++ax) {
      const int l = axis_labels[i][ax];
      int64_t& d = label_dim[size_t(l)];
      ++label_count[size_t(l)];
      if (d < 0 || d == 1)
        d = s[ax];
      else if (s[ax] != 1 && s[ax] != d)
        ctx.fail("subscript dimensions differ in '", eq, "': ", d, " vs ", s[ax]);
    }
  }

  std::vector<int> out_labels;
  if (equation.has_output) {
    out_labels = expand_ellipsis(equation.output, n_ellipsis, n_ellipsis);
  } else {
    for (int l = kEllipsisLabel; l < n_labels; ++l) out_labels.push_back(l);
    for (int l = 26; l < 52; ++l)
      if (label_count[size_t(l)] == 1) out_labels.push_back(l);
    for (int l = 0; l < 26; ++l)
      if (label_count[size_t(l)] == 1) out_labels.push_back(l);
  }
  std::vector<int> sum_labels;
  for (int l = 0; l < n_labels; ++l)
    if (label_count[size_t(l)] > 0 && std::find(out_labels.begin(), out_labels.end(), l) == out_labels.end())
      sum_labels.push_back(l);

  // Strides of each operand along the output labels and along the summed labels.
  auto strides_along = [&](const std::vector<int>& labels) {
    std::vector<std::vector<int64_t>> st(n_ops, std::vector<int64_t>(labels.size(), 0));
    for (size_t i = 0; i < n_ops; ++i) {
      const Shape& s = ctx.input(i).shape();
      const std::vector<int64_t> own = strides_of(s);
      for (size_t ax = 0; ax < s.size(); ++ax) {
        if (s[ax] == 1) continue;  // broadcast
        const auto it = std::find(labels.begin(), labels.end(), axis_labels[i][ax]);
        if (it != labels.end()) st[i][size_t(it - labels.begin())] += own[ax];
      }
    }
    return st;
  };
  auto dims_of_labels = [&](const std::vector<int>& labels) {
    Shape d;
    for (int l : labels) {
      if (label_dim[size_t(l)] < 0) ctx.fail("output subscript of '", eq, "' names a letter no input has");
      d.push_back(label_dim[size_t(l)]);
    }
    return d;
  };
  const Shape out_dims = dims_of_labels(out_labels), sum_dims = dims_of_labels(sum_labels);
  Tensor& y = ctx.output(0);
  if (shape_numel(out_dims) != y.numel()) ctx.fail("internal error: output size disagrees with inference");
  const int64_t n_sum = shape_numel(sum_dims);

  dispatch_numeric(y.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using Acc = AccOf<T>;
    std::vector<const T*> x(n_ops);
    for (size_t i = 0; i < n_ops; ++i) x[i] = ctx.input(i).data<T>();
    T* py = y.mutable_data<T>();
    IndexWalker outer(out_dims, strides_along(out_labels));
    IndexWalker inner(sum_dims, strides_along(sum_labels));
    for (int64_t o = 0; o < y.numel(); ++o, outer.next()) {
      Acc total = 0;
      for (int64_t s = 0; s < n_sum; ++s, inner.next()) {
        Acc p = 1;
        for (size_t i = 0; i < n_ops; ++i) p *= Acc(x[i][outer.offset(i) + inner.offset(i)]);
        total += p;
      }
      py[o] = T(total);
    }
  });
}

// ---------------------------------------------------------------- reductions

enum class Reduce { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

// For every element x[i] of `shape`, acc[o] = combine(acc[o], pre(x[i], o)) where o is the output
// element it reduces into (out_strides: strides of the kept-dims output, 0 on reduced dims).
template <class A, class T, class Pre, class Combine>
std::vector<A> accumulate(const T* x, const Shape& shape, const std::vector<int64_t>& out_strides,
                          int64_t out_numel, A init, Pre pre, Combine combine) {
  std::vector<A> acc(size_t(out_numel), init);
  const std::vector<int64_t> strides[1] = {out_strides};
  for_each_broadcast(shape, strides, [&](int64_t i, const int64_t* o) {
    A& a = acc[size_t(o[0])];
    a = combine(a, pre(x[i], o[0]));
  });
  return acc;
}

// max/min that propagate NaN, as numpy's do.
template <class A>
A nan_max(A a, A b) {
  return (b > a || b != b) && a == a ? b : a;
}
template <class A>
A nan_min(A a, A b) {
  return (b < a || b != b) && a == a ? b : a;
}

template <Reduce R, class T>
void reduce_typed(const Tensor& in, const std::vector<int64_t>& out_strides, int64_t count, Tensor& out) {
  using Acc = AccOf<T>;
  const T* x = in.data<T>();
  T* y = out.mutable_data<T>();
  const int64_t n = out.numel();
  const Shape& s = in.shape();
  auto plus = [](auto a, auto b) { return a + b; };
  auto as_double = [](T v, int64_t) { return double(v); };
  auto store = [&](const auto& acc, auto finish) {
    for (int64_t j = 0; j < n; ++j) y[j] = finish(acc[size_t(j)]);
  };
  // Each reduction's identity is what an empty set gives: 0 for sums, 1 for products, -inf/+inf
  // for max/min, log(0) = -inf for the log-sums.
  if constexpr (R == Reduce::Sum || R == Reduce::SumSquare || R == Reduce::L1 || R == Reduce::Prod) {
    auto pre = [](T v, int64_t) {
      if constexpr (R == Reduce::SumSquare) return Acc(v) * Acc(v);
      if constexpr (R == Reduce::L1 && std::is_signed_v<T>) return v < 0 ? Acc(0) - Acc(v) : Acc(v);
      return Acc(v);
    };
    auto times = [](Acc a, Acc b) { return a * b; };
    const auto acc = R == Reduce::Prod ? accumulate<Acc>(x, s, out_strides, n, Acc(1), pre, times)
                                       : accumulate<Acc>(x, s, out_strides, n, Acc(0), pre, plus);
    store(acc, [](Acc a) { return T(a); });
  } else if constexpr (R == Reduce::Max || R == Reduce::Min) {
    using A = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    constexpr bool kMax = R == Reduce::Max;
    constexpr A init = std::numeric_limits<A>::has_infinity
                           ? (kMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity())
                           : (kMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max());
    auto pre = [](T v, int64_t) { return A(v); };
    const auto acc = kMax ? accumulate<A>(x, s, out_strides, n, init, pre, nan_max<A>)
                          : accumulate<A>(x, s, out_strides, n, init, pre, nan_min<A>);
    store(acc, [](A a) { return T(a); });
  } else if constexpr (R == Reduce::LogSumExp) {
    // log(sum(exp(x - m))) + m with m the max, so large inputs do not overflow; when m is not
    // finite (all -inf, an empty set, +inf or NaN) the shift is 0 and the plain formula decides.
    std::vector<double> m = accumulate<double>(x, s, out_strides, n, -INFINITY, as_double, nan_max<double>);
    for (double& v : m)
      if (!std::isfinite(v)) v = 0;
    const auto acc = accumulate<double>(
        x, s, out_strides, n, 0.0, [&](T v, int64_t o) { return std::exp(double(v) - m[size_t(o)]); }, plus);
    for (int64_t j = 0; j < n; ++j) y[j] = from_double<T>(std::log(acc[size_t(j)]) + m[size_t(j)]);
  } else {
    // Mean, L2, LogSum: a double sum with a final touch, stored as numpy's astype would.
    auto pre = [](T v, int64_t) {
      if constexpr (R == Reduce::L2) return double(v) * double(v);
      return double(v);
    };
    const auto acc = accumulate<double>(x, s, out_strides, n, 0.0, pre, plus);
    store(acc, [count](double a) {
      if constexpr (R == Reduce::Mean) return from_double<T>(a / double(count));
      if constexpr (R == Reduce::L2) return from_double<T>(std::sqrt(a));
      return from_double<T>(std::log(a));
    });
  }
}

// Axes as in inference: the attribute before opset `input_since`, the optional input 1 from then.
template <Reduce R, int InputSince>
void k_reduce(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> axes;
  if (ctx.opset() < InputSince)
    axes = ctx.node().attr_ints("axes");
  else if (ctx.has_input(1))
    axes = ctx.input(1).to_int64_vector();
  if (axes.empty() && ctx.node().attr_int("noop_with_empty_axes", 0) != 0) {
    ctx.set_output(0, in);
    return;
  }
  const int64_t rank = in.rank();
  std::vector<bool> reduced(size_t(rank), axes.empty());
  for (int64_t a : axes) reduced[size_t(normalize_axis(ctx, a, rank))] = true;
  // The output's layout is that of the input with reduced dims set to 1, with or without keepdims.
  Shape kept = in.shape();
  int64_t count = 1;
  for (size_t d = 0; d < kept.size(); ++d)
    if (reduced[d]) {
      count *= kept[d];
      kept[d] = 1;
    }
  std::vector<int64_t> out_strides = strides_of(kept);
  for (size_t d = 0; d < kept.size(); ++d)
    if (reduced[d]) out_strides[d] = 0;
  Tensor& out = ctx.output(0);
  dispatch_numeric(in.dtype(), [&](auto tag) {
    reduce_typed<R, typename decltype(tag)::type>(in, out_strides, count, out);
  });
}

// ---------------------------------------------------------------- ArgMax, ArgMin

// x viewed as [outer, n, inner] around one axis.
struct AxisView {
  int64_t outer, n, inner;
};

AxisView view_around(const Shape& s, int64_t axis) {
  return {product(s, 0, size_t(axis)), s[size_t(axis)], product(s, size_t(axis) + 1, s.size())};
}

// Index of the extreme element of x[0], x[stride], ..., x[(n-1)*stride]: the first one, or the last
// one on ties when asked; a NaN counts as the extreme (numpy's argmax/argmin).
template <bool kMax, class T>
int64_t arg_extreme(const T* x, int64_t n, int64_t stride, bool last_on_ties) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k) {
    const T v = x[k * stride], b = x[best * stride];
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(b)) break;
      if (std::isnan(v)) {
        best = k;
        break;
      }
    }
    const bool better = kMax ? (v > b || (last_on_ties && v == b)) : (v < b || (last_on_ties && v == b));
    if (better) best = k;
  }
  return best;
}

template <bool kMax>
void k_arg_reduce(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), in.rank());
  const bool last = ctx.node().attr_int("select_last_index", 0) != 0;
  const AxisView v = view_around(in.shape(), axis);
  if (v.n == 0 && v.outer * v.inner > 0) ctx.fail("cannot take the arg-extreme of an empty axis");
  int64_t* y = ctx.output(0).mutable_data<int64_t>();
  dispatch_numeric(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = in.data<T>();
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i)
        y[o * v.inner + i] = arg_extreme<kMax>(x + o * v.n * v.inner + i, v.n, v.inner, last);
  });
}

// ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax

enum class Normalize { Softmax, LogSoftmax, Hardmax };

// The rows the softmax family normalises. Opset 13 on: along one axis (default -1). Before: the
// input coerced to 2-D at `axis` (default 1), each row being all trailing dims flattened.
AxisView softmax_view(const KernelContext& ctx, const Shape& s) {
  const int64_t rank = int64_t(s.size());
  if (ctx.opset() >= 13)
    return view_around(s, normalize_axis(ctx, ctx.node().attr_int("axis", -1), rank));
  int64_t axis = ctx.node().attr_int("axis", 1);
  if (axis < -rank || axis > rank) ctx.fail("axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  return {product(s, 0, size_t(axis)), product(s, size_t(axis), s.size()), 1};
}

template <Normalize N>
void k_normalize(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const AxisView v = softmax_view(ctx, in.shape());
  Tensor& out = ctx.output(0);
  dispatch_float(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<double> e(static_cast<size_t>(v.n));
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* x = in.data<T>() + o * v.n * v.inner + i;
        T* y = out.mutable_data<T>() + o * v.n * v.inner + i;
        const int64_t st = v.inner;
        if constexpr (N == Normalize::Hardmax) {
          if (v.n > 0) y[arg_extreme<true>(x, v.n, st, false) * st] = T(1);
          continue;
        }
        // Shift by the max so exp never overflows; sums in double.
        double m = -INFINITY;
        for (int64_t k = 0; k < v.n; ++k) m = nan_max(m, double(x[k * st]));
        double sum = 0;
        for (int64_t k = 0; k < v.n; ++k) sum += (e[size_t(k)] = std::exp(double(x[k * st]) - m));
        if constexpr (N == Normalize::Softmax) {
          for (int64_t k = 0; k < v.n; ++k) y[k * st] = T(e[size_t(k)] / sum);
        } else {
          const double log_sum = std::log(sum);
          for (int64_t k = 0; k < v.n; ++k) y[k * st] = T(double(x[k * st]) - m - log_sum);
        }
      }
  });
}

}  // namespace

void register_math_kernels(InterpreterKernels& r) {
  r.add("", "MatMul", k_matmul);
  r.add("", "MatMulInteger", k_matmul_integer);
  r.add("", "Gemm", k_gemm);
  r.add("", "Einsum", k_einsum);
  r.add("", "ReduceSum", k_reduce<Reduce::Sum, 13>);
  r.add("", "ReduceMean", k_reduce<Reduce::Mean, 18>);
  r.add("", "ReduceMax", k_reduce<Reduce::Max, 18>);
  r.add("", "ReduceMin", k_reduce<Reduce::Min, 18>);
  r.add("", "ReduceProd", k_reduce<Reduce::Prod, 18>);
  r.add("", "ReduceL1", k_reduce<Reduce::L1, 18>);
  r.add("", "ReduceL2", k_reduce<Reduce::L2, 18>);
  r.add("", "ReduceLogSum", k_reduce<Reduce::LogSum, 18>);
  r.add("", "ReduceLogSumExp", k_reduce<Reduce::LogSumExp, 18>);
  r.add("", "ReduceSumSquare", k_reduce<Reduce::SumSquare, 18>);
  r.add("", "ArgMax", k_arg_reduce<true>);
  r.add("", "ArgMin", k_arg_reduce<false>);
  r.add("", "Softmax", k_normalize<Normalize::Softmax>);
  r.add("", "LogSoftmax", k_normalize<Normalize::LogSoftmax>);
  r.add("", "Hardmax", k_normalize<Normalize::Hardmax>);
}

}  // namespace eqopt
