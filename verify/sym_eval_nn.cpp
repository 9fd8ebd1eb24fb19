// Symbolic definitions of the contracting and normalising ops: MatMul, Gemm, Conv, ConvTranspose,
// pooling, BatchNormalization, InstanceNormalization, LayerNormalization, Softmax, LogSoftmax, the
// reductions, ArgMax and ArgMin. MatMul, MaxPool and the reductions that ONNX allows for integers
// take integer tensors too (wrap-around arithmetic, verify/sym.h). Sums are left-folded chains in
// row-major order of what is summed, so two ops that sum the same terms in the same order
// (ReduceMean inside a decomposed LayerNormalization and LayerNormalization itself) build the same
// expression.
#include <algorithm>
#include <numeric>

#include "ir/ops/nn_geometry.h"
#include "interp/kernel_util.h"
#include "verify/sym_eval_detail.h"

namespace eqopt::verify::detail {

namespace {

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < s.size(); ++i) p *= s[i];
  return p;
}

void require_float(const OpEval& e, size_t i) {
  if (!is_floating(e.input(i).dtype))
    e.unsupported("input " + std::to_string(i) + " is " + std::string(dtype_short_name(e.input(i).dtype)) +
                  "; only float tensors have symbolic definitions here");
}

void require_numeric(const OpEval& e, size_t i) {
  if (!is_floating(e.input(i).dtype) && !sym_sort(e.input(i).dtype).integer())
    e.unsupported("input " + std::to_string(i) + " is " + std::string(dtype_short_name(e.input(i).dtype)) +
                  "; only float and integer tensors have symbolic definitions here");
}

// ---------------------------------------------------------------- MatMul, Gemm

// numpy matmul: 1-D operands gain (and lose) a unit dim; batch dims broadcast.
void op_matmul(OpEval& e) {
  require_numeric(e, 0);
  const SymTensor &a = e.input(0), &b = e.input(1);
  if (a.shape.empty() || b.shape.empty()) e.fail("operands must have rank >= 1");
  Shape as = a.shape, bs = b.shape;
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K) e.fail("contraction dims differ: ", shape_str(a.shape), " and ", shape_str(b.shape));
  const Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const Shape batch = broadcast_shape({ba, bb}, e.node().label());
  const std::vector<int64_t> amap = broadcast_index(ba, batch), bmap = broadcast_index(bb, batch);
  Shape out = batch;
  if (!a1) out.push_back(M);
  if (!b1) out.push_back(N);
  SymTensor y{a.dtype, out, {}};
  std::vector<SymId> terms(static_cast<size_t>(K));
  for (size_t p = 0; p < amap.size(); ++p) {
    const int64_t ao = amap[p] * M * K, bo = bmap[p] * K * N;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        for (int64_t k = 0; k < K; ++k)
          terms[size_t(k)] = e.sym.mul(a.elems[size_t(ao + i * K + k)], b.elems[size_t(bo + k * N + j)]);
        y.elems.push_back(sum_of(e.sym, terms));
      }
  }
  e.set_output(0, std::move(y));
}

// alpha * op(A) op(B) + beta * C, C broadcast to [M, N].
void op_gemm(OpEval& e) {
  require_float(e, 0);
  const SymTensor &a = e.input(0), &b = e.input(1);
  if (a.shape.size() != 2 || b.shape.size() != 2) e.fail("A and B must be 2-D");
  const bool ta = e.node().attr_int("transA", 0) != 0, tb = e.node().attr_int("transB", 0) != 0;
  const SymId alpha = e.attr_real("alpha", 1.0), beta = e.attr_real("beta", 1.0);
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t N = tb ? b.shape[0] : b.shape[1];
  if ((tb ? b.shape[1] : b.shape[0]) != K) e.fail("contraction dims differ");
  std::vector<int64_t> cmap;
  if (e.has_input(2)) cmap = broadcast_index(e.input(2).shape, {M, N});
  SymTensor y{a.dtype, {M, N}, {}};
  std::vector<SymId> terms(static_cast<size_t>(K));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      for (int64_t k = 0; k < K; ++k) {
        const SymId av = a.elems[size_t(ta ? k * M + i : i * K + k)];
        const SymId bv = b.elems[size_t(tb ? j * K + k : k * N + j)];
        terms[size_t(k)] = e.sym.mul(av, bv);
      }
      SymId v = e.sym.mul(alpha, sum_of(e.sym, terms));
      if (!cmap.empty()) v = e.sym.add(v, e.sym.mul(beta, e.input(2).elems[size_t(cmap[size_t(i * N + j)])]));
      y.elems.push_back(v);
    }
  e.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- Conv, ConvTranspose

Shape spatial(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

// Coordinates of every point of `shape`, row-major (window taps, output positions).
std::vector<std::vector<int64_t>> coords_of(const Shape& shape) {
  std::vector<std::vector<int64_t>> all;
  const int64_t n = shape_numel(shape);
  std::vector<int64_t> c(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    all.push_back(c);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
  return all;
}

nn::Window conv_window(const OpEval& e, const SymTensor& w) {
  return nn::read_window(e.node(), e.node().attr_ints("kernel_shape", spatial(w.shape)));
}

// Y[n, m, p] = sum over the group's channels c and the taps t (in that order) of
// X[n, c, p * stride + t * dilation - pad_begin] * W[m, c, t] (taps in the padding left out), + B[m].
void op_conv(OpEval& e) {
  require_float(e, 0);
  const SymTensor &x = e.input(0), &w = e.input(1);
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) e.fail("X and W must have the same rank >= 3");
  nn::Window win = conv_window(e, w);
  const Shape in = spatial(x.shape);
  const Shape out_sp = nn::window_output_dims(e.node(), win, in);
  const int64_t group = e.node().attr_int("group", 1);
  const int64_t N = x.shape[0], C = x.shape[1], M = w.shape[0], Cg = w.shape[1];
  if (group <= 0 || C != Cg * group || M % group != 0) e.fail("channels do not fit group ", group);
  const int64_t Mg = M / group;
  const size_t r = in.size();
  Shape out = {N, M};
  out.insert(out.end(), out_sp.begin(), out_sp.end());
  const auto taps = coords_of(win.kernel), positions = coords_of(out_sp);
  const std::vector<int64_t> in_st = strides_of(in);
  const int64_t in_size = shape_numel(in), ntaps = int64_t(taps.size());
  // For each position, the input offset each tap meets (-1 in the padding).
  std::vector<std::vector<int64_t>> meets(positions.size(), std::vector<int64_t>(taps.size(), -1));
  for (size_t p = 0; p < positions.size(); ++p)
    for (size_t t = 0; t < taps.size(); ++t) {
      int64_t off = 0;
      for (size_t d = 0; d < r && off >= 0; ++d) {
        const int64_t i = positions[p][d] * win.strides[d] + taps[t][d] * win.dilations[d] - win.pad_begin(d);
        off = (i < 0 || i >= in[d]) ? -1 : off + i * in_st[d];
      }
      meets[p][t] = off;
    }
  SymTensor y{x.dtype, out, {}};
  std::vector<SymId> terms;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t g = m / Mg;
      for (size_t p = 0; p < positions.size(); ++p) {
        terms.clear();
        for (int64_t c = 0; c < Cg; ++c) {
          const int64_t xbase = (n * C + g * Cg + c) * in_size, wbase = (m * Cg + c) * ntaps;
          for (int64_t t = 0; t < ntaps; ++t)
            if (meets[p][size_t(t)] >= 0)
              terms.push_back(e.sym.mul(x.elems[size_t(xbase + meets[p][size_t(t)])], w.elems[size_t(wbase + t)]));
        }
        SymId v = sum_of(e.sym, terms);
        if (e.has_input(2)) v = e.sym.add(v, e.input(2).elems.at(size_t(m)));
        y.elems.push_back(v);
      }
    }
  e.set_output(0, std::move(y));
}

// The adjoint of Conv: X[n, c, i] * W[c, m, t] lands on output position i * stride + t * dilation -
// pad_begin; each output sums what lands on it in (c, i, t) order, + B[m].
void op_conv_transpose(OpEval& e) {
  require_float(e, 0);
  const SymTensor &x = e.input(0), &w = e.input(1);
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) e.fail("X and W must have the same rank >= 3");
  nn::Window win = conv_window(e, w);
  const Shape in = spatial(x.shape);
  const Shape out_sp = nn::conv_transpose_output_dims(e.node(), win, in);
  const int64_t group = e.node().attr_int("group", 1);
  const int64_t N = x.shape[0], C = x.shape[1], Mg = w.shape[1];
  if (group <= 0 || C % group != 0 || w.shape[0] != C) e.fail("channels do not fit group ", group);
  const int64_t Cg = C / group, M = Mg * group;
  const size_t r = in.size();
  Shape out = {N, M};
  out.insert(out.end(), out_sp.begin(), out_sp.end());
  const auto taps = coords_of(win.kernel), positions = coords_of(in);
  const std::vector<int64_t> out_st = strides_of(out_sp);
  const int64_t in_size = shape_numel(in), out_size = shape_numel(out_sp), ntaps = int64_t(taps.size());
  std::vector<std::vector<int64_t>> lands(positions.size(), std::vector<int64_t>(taps.size(), -1));
  for (size_t p = 0; p < positions.size(); ++p)
    for (size_t t = 0; t < taps.size(); ++t) {
      int64_t off = 0;
      for (size_t d = 0; d < r && off >= 0; ++d) {
        const int64_t o = positions[p][d] * win.strides[d] + taps[t][d] * win.dilations[d] - win.pad_begin(d);
        off = (o < 0 || o >= out_sp[d]) ? -1 : off + o * out_st[d];
      }
      lands[p][t] = off;
    }
  SymTensor y{x.dtype, out, {}};
  std::vector<std::vector<SymId>> terms(static_cast<size_t>(out_size));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t g = m / Mg, ml = m % Mg;
      for (auto& t : terms) t.clear();
      for (int64_t c = 0; c < Cg; ++c) {
        const int64_t ci = g * Cg + c;
        const int64_t xbase = (n * C + ci) * in_size, wbase = (ci * Mg + ml) * ntaps;
        for (size_t p = 0; p < positions.size(); ++p)
          for (int64_t t = 0; t < ntaps; ++t)
            if (lands[p][size_t(t)] >= 0)
              terms[size_t(lands[p][size_t(t)])].push_back(
                  e.sym.mul(x.elems[size_t(xbase + int64_t(p))], w.elems[size_t(wbase + t)]));
      }
      for (int64_t o = 0; o < out_size; ++o) {
        SymId v = sum_of(e.sym, terms[size_t(o)]);
        if (e.has_input(2)) v = e.sym.add(v, e.input(2).elems.at(size_t(m)));
        y.elems.push_back(v);
      }
    }
  e.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- pooling

// For each output position of a plane: the plane offsets its window covers inside the input
// (row-major window order) and how many taps fall inside the padded input.
struct PoolWindows {
  std::vector<std::vector<int64_t>> inside;
  std::vector<int64_t> padded;
};

PoolWindows pool_windows(const nn::Window& w, const Shape& in, const Shape& out) {
  PoolWindows pw;
  const auto positions = coords_of(out), taps = coords_of(w.kernel);
  const std::vector<int64_t> st = strides_of(in);
  for (const auto& p : positions) {
    std::vector<int64_t> inside;
    int64_t padded = 0;
    for (const auto& t : taps) {
      int64_t off = 0;
      bool in_input = true, in_padded = true;
      for (size_t d = 0; d < in.size(); ++d) {
        const int64_t i = p[d] * w.strides[d] + t[d] * w.dilations[d] - w.pad_begin(d);
        in_input = in_input && i >= 0 && i < in[d];
        in_padded = in_padded && i >= -w.pad_begin(d) && i < in[d] + w.pad_end(d);
        off += i * st[d];
      }
      if (in_input) inside.push_back(off);
      padded += in_padded;
    }
    pw.inside.push_back(std::move(inside));
    pw.padded.push_back(padded);
  }
  return pw;
}

template <class F>
void pool(OpEval& e, F reduce) {
  require_numeric(e, 0);
  const SymTensor& x = e.input(0);
  if (x.shape.size() < 3) e.fail("input must have rank >= 3");
  nn::Window w = nn::read_window(e.node(), e.node().attr_ints("kernel_shape"));
  const Shape in = spatial(x.shape);
  const Shape out_sp = nn::window_output_dims(e.node(), w, in, e.node().attr_int("ceil_mode", 0) != 0);
  const PoolWindows pw = pool_windows(w, in, out_sp);
  Shape out = {x.shape[0], x.shape[1]};
  out.insert(out.end(), out_sp.begin(), out_sp.end());
  SymTensor y{x.dtype, out, {}};
  const int64_t planes = x.shape[0] * x.shape[1], in_size = shape_numel(in);
  std::vector<SymId> vals;
  for (int64_t q = 0; q < planes; ++q)
    for (size_t p = 0; p < pw.inside.size(); ++p) {
      vals.clear();
      for (int64_t off : pw.inside[p]) vals.push_back(x.elems[size_t(q * in_size + off)]);
      y.elems.push_back(reduce(vals, pw.padded[p]));
    }
  e.set_output(0, std::move(y));
}

SymId max_of(const OpEval& e, const std::vector<SymId>& v) {
  if (v.empty()) e.unsupported("a window lies entirely in the padding");
  SymId r = v[0];
  for (size_t i = 1; i < v.size(); ++i) r = e.sym.max(r, v[i]);
  return r;
}

SymId min_of(const OpEval& e, const std::vector<SymId>& v) {
  if (v.empty()) e.unsupported("nothing to reduce");
  SymId r = v[0];
  for (size_t i = 1; i < v.size(); ++i) r = e.sym.min(r, v[i]);
  return r;
}

void op_max_pool(OpEval& e) {
  if (e.has_output(1)) e.unsupported("the Indices output is not supported");
  if (e.node().attr_int("storage_order", 0) != 0) e.unsupported("storage_order=1 is not supported");
  pool(e, [&](const std::vector<SymId>& v, int64_t) { return max_of(e, v); });
}

// Sum * inv(count): count is the taps inside the input, or inside the padded input with
// count_include_pad.
void op_average_pool(OpEval& e) {
  require_float(e, 0);
  const bool include_pad = e.node().attr_int("count_include_pad", 0) != 0;
  pool(e, [&](const std::vector<SymId>& v, int64_t padded) {
    const int64_t count = include_pad ? padded : int64_t(v.size());
    if (count == 0) return e.sym.constant(0);
    return e.sym.mul(sum_of(e.sym, v), e.sym.inv(e.sym.constant(double(count))));
  });
}

template <class F>
void global_pool(OpEval& e, F reduce) {
  require_float(e, 0);
  const SymTensor& x = e.input(0);
  if (x.shape.size() < 2) e.fail("input must have rank >= 2");
  Shape out(x.shape.size(), 1);
  out[0] = x.shape[0];
  out[1] = x.shape[1];
  const int64_t planes = out[0] * out[1], size = product(x.shape, 2, x.shape.size());
  SymTensor y{x.dtype, out, {}};
  for (int64_t p = 0; p < planes; ++p)
    y.elems.push_back(reduce(std::vector<SymId>(x.elems.begin() + p * size, x.elems.begin() + (p + 1) * size)));
  e.set_output(0, std::move(y));
}

void op_global_average_pool(OpEval& e) {
  global_pool(e, [&](const std::vector<SymId>& v) {
    return e.sym.mul(sum_of(e.sym, v), e.sym.inv(e.sym.constant(double(v.size()))));
  });
}

void op_global_max_pool(OpEval& e) {
  global_pool(e, [&](const std::vector<SymId>& v) { return max_of(e, v); });
}

// LpPool's norm of a window: sum |x| for p = 1, sqrt(sum x^2) for p = 2 (the padding adds zeros).
SymId lp_norm(const OpEval& e, const std::vector<SymId>& v) {
  SymCtx& s = e.sym;
  const int64_t p = e.node().attr_int("p", 2);
  std::vector<SymId> terms;
  for (SymId x : v) terms.push_back(p == 1 ? s.max(x, s.neg(x)) : s.mul(x, x));
  if (p == 1) return sum_of(s, terms);
  if (p == 2) return s.sqrt(sum_of(s, terms));
  e.unsupported("p = " + std::to_string(p) + " (only p = 1 and p = 2 have an exact reading)");
}

void op_lp_pool(OpEval& e) {
  require_float(e, 0);
  pool(e, [&](const std::vector<SymId>& v, int64_t) { return lp_norm(e, v); });
}

void op_global_lp_pool(OpEval& e) {
  require_float(e, 0);
  global_pool(e, [&](const std::vector<SymId>& v) { return lp_norm(e, v); });
}

// ---------------------------------------------------------------- normalisations

// (x - mean) * inv(sqrt(var + eps)) * scale + B per channel (inference form).
void op_batch_norm(OpEval& e) {
  require_float(e, 0);
  if (e.opset() >= 14 && e.node().attr_int("training_mode", 0) != 0) e.unsupported("training_mode=1 is not supported");
  if (e.opset() < 9 && e.node().attr_int("spatial", 1) == 0) e.unsupported("spatial=0 is not supported");
  for (size_t k = 1; k < e.num_outputs(); ++k)
    if (e.has_output(k) && e.opset() < 14) e.unsupported("outputs beyond Y exist only in training mode");
  const SymTensor& x = e.input(0);
  if (x.shape.size() < 2) e.fail("input must have rank >= 2");
  const int64_t C = x.shape[1], S = product(x.shape, 2, x.shape.size());
  for (size_t i = 1; i < 5; ++i)
    if (e.input(i).numel() != C) e.fail("input ", i, " must hold ", C, " values");
  const SymTensor &scale = e.input(1), &bias = e.input(2), &mean = e.input(3), &var = e.input(4);
  const SymId eps = e.attr_real("epsilon", double(1e-5f));
  std::vector<SymId> inv_std(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) inv_std[size_t(c)] = e.sym.inv(e.sym.sqrt(e.sym.add(var.elems[size_t(c)], eps)));
  SymTensor y{x.dtype, x.shape, {}};
  for (int64_t i = 0; i < x.numel(); ++i) {
    const size_t c = size_t((i / std::max<int64_t>(S, 1)) % C);
    const SymId d = e.sym.sub(x.elems[size_t(i)], mean.elems[c]);
    y.elems.push_back(e.sym.add(e.sym.mul(e.sym.mul(d, inv_std[c]), scale.elems[c]), bias.elems[c]));
  }
  e.set_output(0, std::move(y));
  // In inference mode the running statistics pass through.
  if (e.has_output(1)) e.set_output(1, mean);
  if (e.has_output(2)) e.set_output(2, var);
}

// Mean and variance (population) of a group of elements, as ReduceMean writes them.
struct Stats {
  SymId mean;
  std::vector<SymId> centered;
  SymId var;
};

Stats stats_of(SymCtx& s, const std::vector<SymId>& v) {
  Stats st;
  const SymId inv_n = s.inv(s.constant(double(v.size())));
  st.mean = s.mul(sum_of(s, v), inv_n);
  std::vector<SymId> sq;
  for (SymId x : v) {
    st.centered.push_back(s.sub(x, st.mean));
    sq.push_back(s.mul(st.centered.back(), st.centered.back()));
  }
  st.var = s.mul(sum_of(s, sq), inv_n);
  return st;
}

void op_instance_norm(OpEval& e) {
  require_float(e, 0);
  const SymTensor& x = e.input(0);
  if (x.shape.size() < 3) e.fail("input must have rank >= 3");
  const int64_t N = x.shape[0], C = x.shape[1], S = product(x.shape, 2, x.shape.size());
  if (e.input(1).numel() != C || e.input(2).numel() != C) e.fail("scale and B must hold ", C, " values");
  const SymId eps = e.attr_real("epsilon", double(1e-5f));
  SymTensor y{x.dtype, x.shape, {}};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const auto from = x.elems.begin() + (n * C + c) * S;
      const Stats st = stats_of(e.sym, std::vector<SymId>(from, from + S));
      const SymId inv_std = e.sym.inv(e.sym.sqrt(e.sym.add(st.var, eps)));
      for (SymId d : st.centered)
        y.elems.push_back(e.sym.add(e.sym.mul(e.sym.mul(d, inv_std), e.input(1).elems[size_t(c)]),
                                    e.input(2).elems[size_t(c)]));
    }
  e.set_output(0, std::move(y));
}

// Over the dims from `axis` on: (x - mean) * inv(sqrt(var + eps)) * scale + B, scale and B
// broadcast to those dims. Outputs Mean and InvStdDev when asked for.
void op_layer_norm(OpEval& e) {
  require_float(e, 0);
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  const size_t axis = size_t(normalize_axis(e, e.node().attr_int("axis", -1), r));
  const Shape norm(x.shape.begin() + int64_t(axis), x.shape.end());
  const int64_t inner = shape_numel(norm), outer = product(x.shape, 0, axis);
  const std::vector<int64_t> smap = broadcast_index(e.input(1).shape, norm);
  std::vector<int64_t> bmap;
  if (e.has_input(2)) bmap = broadcast_index(e.input(2).shape, norm);
  const SymId eps = e.attr_real("epsilon", double(1e-5f));
  SymTensor y{x.dtype, x.shape, {}};
  std::vector<SymId> means, inv_stds;
  for (int64_t o = 0; o < outer; ++o) {
    const auto from = x.elems.begin() + o * inner;
    const Stats st = stats_of(e.sym, std::vector<SymId>(from, from + inner));
    const SymId inv_std = e.sym.inv(e.sym.sqrt(e.sym.add(st.var, eps)));
    means.push_back(st.mean);
    inv_stds.push_back(inv_std);
    for (int64_t j = 0; j < inner; ++j) {
      SymId v = e.sym.mul(e.sym.mul(st.centered[size_t(j)], inv_std), e.input(1).elems[size_t(smap[size_t(j)])]);
      if (!bmap.empty()) v = e.sym.add(v, e.input(2).elems[size_t(bmap[size_t(j)])]);
      y.elems.push_back(v);
    }
  }
  e.set_output(0, std::move(y));
  const std::vector<SymId>* stats[] = {nullptr, &means, &inv_stds};
  for (size_t k = 1; k < 3; ++k)
    if (e.has_output(k)) e.set_output(k, SymTensor{e.out_dtype(k), e.out_shape(k), *stats[k]});
}

// ---------------------------------------------------------------- Softmax, LogSoftmax

// The rows normalised: one axis from opset 13, the input coerced to 2-D at `axis` before.
struct AxisView {
  int64_t outer, n, inner;
};

AxisView softmax_view(const OpEval& e, const Shape& s) {
  const int64_t r = int64_t(s.size());
  if (e.opset() >= 13) {
    const size_t a = size_t(normalize_axis(e, e.node().attr_int("axis", -1), r));
    return {product(s, 0, a), s[a], product(s, a + 1, s.size())};
  }
  int64_t axis = e.node().attr_int("axis", 1);
  if (axis < -r || axis > r) e.fail("axis ", axis, " is out of range for rank ", r);
  if (axis < 0) axis += r;
  return {product(s, 0, size_t(axis)), product(s, size_t(axis), s.size()), 1};
}

// exp(x_i) * inv(sum_j exp(x_j)) (no max subtraction: equal in the reals); LogSoftmax
// x_i - log(sum_j exp(x_j)).
template <bool kLog>
void op_softmax(OpEval& e) {
  require_float(e, 0);
  const SymTensor& x = e.input(0);
  const AxisView v = softmax_view(e, x.shape);
  SymTensor y{x.dtype, x.shape, std::vector<SymId>(x.elems.size())};
  std::vector<SymId> ex(size_t(v.n));
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      const int64_t base = o * v.n * v.inner + i;
      for (int64_t k = 0; k < v.n; ++k) ex[size_t(k)] = e.sym.exp(x.elems[size_t(base + k * v.inner)]);
      const SymId sum = sum_of(e.sym, ex);
      const SymId norm = kLog ? e.sym.log(sum) : e.sym.inv(sum);
      for (int64_t k = 0; k < v.n; ++k) {
        const size_t at = size_t(base + k * v.inner);
        y.elems[at] = kLog ? e.sym.sub(x.elems[at], norm) : e.sym.mul(ex[size_t(k)], norm);
      }
    }
  e.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- reductions

enum class Reduce { Sum, Mean, Max, Min, Prod, SumSquare, L1, L2, LogSum, LogSumExp };

// Axes from the attribute before `input_since`, from the optional input 1 after; empty axes reduce
// everything unless noop_with_empty_axes. The groups hold each output's inputs in row-major order.
template <Reduce R, int InputSince>
void op_reduce(OpEval& e) {
  // Integers: the reductions without a division, root or logarithm.
  if constexpr (R == Reduce::Sum || R == Reduce::Max || R == Reduce::Min || R == Reduce::Prod ||
                R == Reduce::SumSquare || R == Reduce::L1)
    require_numeric(e, 0);
  else
    require_float(e, 0);
  const SymTensor& x = e.input(0);
  std::vector<int64_t> axes;
  if (e.opset() < InputSince)
    axes = e.node().attr_ints("axes");
  else if (e.has_input(1))
    axes = e.ints(1, "axes");
  if (axes.empty() && e.node().attr_int("noop_with_empty_axes", 0) != 0) {
    e.set_output(0, x);
    return;
  }
  const int64_t r = int64_t(x.shape.size());
  std::vector<bool> reduced(size_t(r), axes.empty());
  for (int64_t a : axes) reduced[size_t(normalize_axis(e, a, r))] = true;
  Shape kept = x.shape, out;
  const bool keepdims = e.node().attr_int("keepdims", 1) != 0;
  for (size_t d = 0; d < size_t(r); ++d) {
    if (reduced[d]) kept[d] = 1;
    if (!reduced[d] || keepdims) out.push_back(kept[d]);
  }
  std::vector<int64_t> st = strides_of(kept);
  for (size_t d = 0; d < size_t(r); ++d)
    if (reduced[d]) st[d] = 0;
  std::vector<std::vector<SymId>> groups(size_t(shape_numel(kept)));
  std::vector<int64_t> c(size_t(r), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < size_t(r); ++d) off += c[d] * st[d];
    groups[size_t(off)].push_back(x.elems[size_t(i)]);
    for (size_t d = size_t(r); d-- > 0;) {
      if (++c[d] < x.shape[d]) break;
      c[d] = 0;
    }
  }
  SymCtx& s = e.sym;
  SymTensor y{x.dtype, out, {}};
  for (std::vector<SymId>& g : groups) {
    if constexpr (R == Reduce::SumSquare || R == Reduce::L2)
      for (SymId& v : g) v = s.mul(v, v);
    if constexpr (R == Reduce::L1)
      for (SymId& v : g) v = s.max(v, s.neg(v));
    if constexpr (R == Reduce::LogSumExp)
      for (SymId& v : g) v = s.exp(v);
    SymId v;
    if constexpr (R == Reduce::Max) {
      v = max_of(e, g);
    } else if constexpr (R == Reduce::Min) {
      v = min_of(e, g);
    } else if constexpr (R == Reduce::Prod) {
      v = s.constant(1);
      for (SymId t : g) v = s.mul(v, t);
    } else {
      v = sum_of(s, g);
      if constexpr (R == Reduce::Mean) v = s.mul(v, s.inv(s.constant(double(g.size()))));
      if constexpr (R == Reduce::L2) v = s.sqrt(v);
      if constexpr (R == Reduce::LogSum || R == Reduce::LogSumExp) v = s.log(v);
    }
    y.elems.push_back(v);
  }
  e.set_output(0, std::move(y));
}

// ArgMax / ArgMin along `axis`: the index of the first extreme element (the last with
// select_last_index), as nested selects over the comparisons.
template <bool IsMax>
void op_arg_reduce(OpEval& e) {
  require_numeric(e, 0);
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  const int64_t axis = normalize_axis(e, e.node().attr_int("axis", 0), r);
  const bool last = e.node().attr_int("select_last_index", 0) != 0;
  const int64_t n = x.shape.empty() ? 1 : x.shape[size_t(axis)];
  const int64_t inner = product(x.shape, size_t(axis) + 1, x.shape.size()), outer = product(x.shape, 0, size_t(axis));
  SymCtx& s = e.sym;
  const SymSort i64 = SymSort::int_of(64, false);
  SymTensor y{DType::Int64, e.out_shape(0), {}};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      SymId best = x.elems[size_t(o * n * inner + i)], index = s.int_constant(0, i64);
      for (int64_t k = 1; k < n; ++k) {
        const SymId v = x.elems[size_t((o * n + k) * inner + i)];
        // A later element replaces the best one when it is strictly better (or as good, for the last).
        const SymId better = IsMax ? (last ? s.ge(v, best) : s.gt(v, best)) : (last ? s.ge(best, v) : s.gt(best, v));
        index = s.select(better, s.int_constant(k, i64), index);
        best = IsMax ? s.max(best, v) : s.min(best, v);
      }
      y.elems.push_back(index);
    }
  if (int64_t(y.elems.size()) != shape_numel(y.shape)) e.fail("output shape does not match the reduction");
  e.set_output(0, std::move(y));
}

}  // namespace

void register_sym_nn(SymOpTable& t) {
  t["LpPool"] = op_lp_pool;
  t["GlobalLpPool"] = op_global_lp_pool;
  t["ArgMax"] = op_arg_reduce<true>;
  t["ArgMin"] = op_arg_reduce<false>;
  t["MatMul"] = op_matmul;
  t["Gemm"] = op_gemm;
  t["Conv"] = op_conv;
  t["ConvTranspose"] = op_conv_transpose;
  t["MaxPool"] = op_max_pool;
  t["AveragePool"] = op_average_pool;
  t["GlobalAveragePool"] = op_global_average_pool;
  t["GlobalMaxPool"] = op_global_max_pool;
  t["BatchNormalization"] = op_batch_norm;
  t["InstanceNormalization"] = op_instance_norm;
  t["LayerNormalization"] = op_layer_norm;
  t["Softmax"] = op_softmax<false>;
  t["LogSoftmax"] = op_softmax<true>;
  t["ReduceSum"] = op_reduce<Reduce::Sum, 13>;
  t["ReduceMean"] = op_reduce<Reduce::Mean, 18>;
  t["ReduceMax"] = op_reduce<Reduce::Max, 18>;
  t["ReduceMin"] = op_reduce<Reduce::Min, 18>;
  t["ReduceProd"] = op_reduce<Reduce::Prod, 18>;
  t["ReduceSumSquare"] = op_reduce<Reduce::SumSquare, 18>;
  t["ReduceL1"] = op_reduce<Reduce::L1, 18>;
  t["ReduceL2"] = op_reduce<Reduce::L2, 18>;
  t["ReduceLogSum"] = op_reduce<Reduce::LogSum, 18>;
  t["ReduceLogSumExp"] = op_reduce<Reduce::LogSumExp, 18>;
}

}  // namespace eqopt::verify::detail
