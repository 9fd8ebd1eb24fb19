// Linear algebra, reductions and the softmax family: shape and dtype inference.
#include <algorithm>
#include <array>
#include <string>

#include "ir/ops/einsum_equation.h"
#include "ir/ops/ops.h"

namespace eqopt {

namespace {

const std::initializer_list<DType> kNumeric = {DType::Float,  DType::Double, DType::Float16,
                                               DType::BFloat16, DType::Int32, DType::Int64,
                                               DType::Int8,   DType::UInt8,  DType::Int16,
                                               DType::UInt16, DType::UInt32, DType::UInt64};
const std::initializer_list<DType> kFloat = {DType::Float, DType::Double, DType::Float16,
                                             DType::BFloat16};

// Two dims that must be equal (a contraction's K, say): the known one wins; fails on a conflict.
Dim unify_dims(const InferContext& ctx, const Dim& a, const Dim& b, const char* what) {
  if (a.known() && b.known() && a.value != b.value)
    ctx.fail(what, " dimensions differ: ", a.value, " vs ", b.value);
  if (a.known()) return a;
  if (b.known()) return b;
  return a.param.empty() ? b : a;
}

// ---------------------------------------------------------------- MatMul, Gemm

// Output dims of numpy's matmul, or nullopt when a rank is unknown.
std::optional<Dims> matmul_dims(const InferContext& ctx) {
  if (!ctx.input_type(0).has_rank() || !ctx.input_type(1).has_rank()) return std::nullopt;
  Dims a = ctx.input_dims(0), b = ctx.input_dims(1);
  if (a.empty() || b.empty()) ctx.fail("operands must have rank >= 1, got ", dims_str(a), " and ", dims_str(b));
  // A 1-D left operand is a row vector, a 1-D right operand a column vector; the promoted dimension
  // is dropped from the result.
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), Dim::of(1));
  if (b_vec) b.push_back(Dim::of(1));
  unify_dims(ctx, a[a.size() - 1], b[b.size() - 2], "contraction");
  const Dims batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  Dims out = broadcast_dims(ctx, {&batch_a, &batch_b});
  if (!a_vec) out.push_back(a[a.size() - 2]);
  if (!b_vec) out.push_back(b[b.size() - 1]);
  return out;
}

void infer_matmul(InferContext& ctx) {
  ctx.require_dtype(0, kNumeric);
  ctx.require_same_dtype(0, 1);
  const DType dt = ctx.input_dtype(0);
  if (auto out = matmul_dims(ctx))
    ctx.set_output(0, dt, *out);
  else
    ctx.set_output_unknown_rank(0, dt);
}

// MatMulInteger: MatMul of 8-bit integers (less their zero points) into int32.
void infer_matmul_integer(InferContext& ctx) {
  ctx.require_dtype(0, {DType::Int8, DType::UInt8});
  ctx.require_dtype(1, {DType::Int8, DType::UInt8});
  if (ctx.has_input(2)) ctx.require_same_dtype(0, 2);
  if (ctx.has_input(3)) ctx.require_same_dtype(1, 3);
  if (auto out = matmul_dims(ctx))
    ctx.set_output(0, DType::Int32, *out);
  else
    ctx.set_output_unknown_rank(0, DType::Int32);
}

void infer_gemm(InferContext& ctx) {
  ctx.require_dtype(0, kNumeric);
  ctx.require_same_dtype(0, 1);
  if (ctx.has_input(2)) ctx.require_same_dtype(0, 2);
  const DType dt = ctx.input_dtype(0);
  ctx.require_rank(0, 2);
  ctx.require_rank(1, 2);
  if (!ctx.input_type(0).has_rank() || !ctx.input_type(1).has_rank()) {
    ctx.set_output(0, dt, Dims{Dim::unknown(), Dim::unknown()});
    return;
  }
  const Dims &a = ctx.input_dims(0), &b = ctx.input_dims(1);
  const bool ta = ctx.node().attr_int("transA", 0) != 0, tb = ctx.node().attr_int("transB", 0) != 0;
  const Dim m = a[ta ? 1 : 0], n = b[tb ? 0 : 1];
  unify_dims(ctx, a[ta ? 0 : 1], b[tb ? 1 : 0], "contraction");
  if (ctx.has_input(2) && ctx.input_type(2).has_rank()) {
    // C broadcasts unidirectionally to [M, N]; before opset 7 only with broadcast=1.
    const Dims& c = ctx.input_dims(2);
    const Dims mn = {m, n};
    const bool exact_only = ctx.opset() < 7 && ctx.node().attr_int("broadcast", 0) == 0;
    if (c.size() > 2 || (exact_only && c.size() != 2))
      ctx.fail("C of shape ", dims_str(c), " does not broadcast to [M,N] = ", dims_str(mn));
    for (size_t k = 0; k < c.size(); ++k) {
      const Dim& cd = c[c.size() - 1 - k];
      const Dim& od = mn[1 - k];
      if (cd.known() && od.known() && cd.value != od.value && (exact_only || cd.value != 1))
        ctx.fail("C of shape ", dims_str(c), " does not broadcast to [M,N] = ", dims_str(mn));
    }
  }
  ctx.set_output(0, dt, Dims{m, n});
}

// ---------------------------------------------------------------- Einsum

// Output shape of an Einsum: numpy's rules, ellipsis dims broadcast across operands.
void infer_einsum(InferContext& ctx) {
  ctx.require_dtype(0, kNumeric);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) ctx.require_same_dtype(0, i);
  const DType dt = ctx.input_dtype(0);
  const einsum::Equation equation =
      einsum::parse_equation(ctx, ctx.node().attr_string("equation", ""), ctx.num_inputs());
  const std::string& eq = equation.text;
  const std::vector<einsum::Term>& terms = equation.inputs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (!ctx.input_type(i).has_rank()) {
      ctx.set_output_unknown_rank(0, dt);
      return;
    }

  std::array<std::optional<Dim>, 52> label_dim;
  std::array<int, 52> label_count{};
  Dims ellipsis;  // broadcast of every operand's ellipsis dims
  for (size_t i = 0; i < terms.size(); ++i) {
    const einsum::Term& t = terms[i];
    const Dims& d = ctx.input_dims(i);
    const int64_t n_ell = int64_t(d.size()) - int64_t(t.labels.size());
    if (n_ell < 0 || (t.ellipsis_at < 0 && n_ell != 0))
      ctx.fail("operand ", i, " of shape ", dims_str(d), " does not match its subscripts in '", eq, "'");
    for (size_t k = 0; k < t.labels.size(); ++k) {
      const size_t pos = (t.ellipsis_at >= 0 && int(k) >= t.ellipsis_at) ? k + size_t(n_ell) : k;
      const int l = t.labels[k];
      ++label_count[size_t(l)];
      std::optional<Dim>& ld = label_dim[size_t(l)];
      const Dim& cur = d[pos];
      if (!ld || (ld->known() && ld->value == 1))
        ld = cur;
      else if (!(cur.known() && cur.value == 1))
        ld = unify_dims(ctx, *ld, cur, "Einsum subscript");
    }
    if (t.ellipsis_at >= 0) {
      const Dims mine(d.begin() + t.ellipsis_at, d.begin() + t.ellipsis_at + n_ell);
      ellipsis = broadcast_dims(ctx, {&ellipsis, &mine});
    }
  }

  Dims out;
  if (equation.has_output) {
    const einsum::Term& o = equation.output;
    for (size_t k = 0; k <= o.labels.size(); ++k) {
      if (int(k) == o.ellipsis_at) out.insert(out.end(), ellipsis.begin(), ellipsis.end());
      if (k == o.labels.size()) break;
      const int l = o.labels[k];
      if (!label_dim[size_t(l)]) ctx.fail("output subscript of '", eq, "' names a letter no input has");
      if (std::count(o.labels.begin(), o.labels.end(), l) > 1)
        ctx.fail("output subscript of '", eq, "' repeats a letter");
      out.push_back(*label_dim[size_t(l)]);
    }
  } else {
    // Implicit output: the ellipsis dims, then letters used exactly once, in alphabetical order
    // (ASCII: upper case first).
    out = ellipsis;
    for (int l = 26; l < 52; ++l)
      if (label_count[size_t(l)] == 1) out.push_back(*label_dim[size_t(l)]);
    for (int l = 0; l < 26; ++l)
      if (label_count[size_t(l)] == 1) out.push_back(*label_dim[size_t(l)]);
  }
  ctx.set_output(0, dt, out);
}

// ---------------------------------------------------------------- reductions

// Axes of a Reduce* node, normalised and sorted: from the attribute before `input_since`, from the
// optional input 1 from then on. nullopt when the axes input is not known. An empty result means
// "every axis" unless noop_with_empty_axes is set.
std::optional<std::vector<int64_t>> reduce_axes(const InferContext& ctx, int64_t rank, int input_since) {
  std::vector<int64_t> axes;
  if (ctx.opset() < input_since) {
    axes = ctx.node().attr_ints("axes");
  } else if (ctx.has_input(1)) {
    ctx.require_dtype(1, {DType::Int64});
    auto v = ctx.input_ints(1);
    if (!v) return std::nullopt;
    axes = *v;
  }
  for (int64_t& a : axes) a = ctx.normalize_axis(a, rank, "reduction axis");
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.fail("reduction axes repeat");
  return axes;
}

template <int InputSince>
void infer_reduce(InferContext& ctx) {
  ctx.require_dtype(0, kNumeric);
  const TensorType& in = ctx.input_type(0);
  const DType dt = in.dtype;
  const bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  const bool noop = ctx.node().attr_int("noop_with_empty_axes", 0) != 0;
  if (!in.has_rank()) {
    ctx.set_output_unknown_rank(0, dt);
    return;
  }
  const Dims& d = *in.dims;
  const auto axes = reduce_axes(ctx, int64_t(d.size()), InputSince);
  if (!axes) {
    // Which axes is not known: keep what can be kept.
    if (keepdims) {
      Dims out;
      for (const Dim& x : d) out.push_back(x.known() && x.value == 1 ? x : Dim::unknown());
      ctx.set_output(0, dt, out);
    } else {
      ctx.set_output_unknown_rank(0, dt);
    }
    return;
  }
  if (axes->empty() && noop) {
    ctx.set_output(0, in);
    return;
  }
  Dims out;
  for (size_t k = 0; k < d.size(); ++k) {
    const bool reduced = axes->empty() || std::binary_search(axes->begin(), axes->end(), int64_t(k));
    if (!reduced)
      out.push_back(d[k]);
    else if (keepdims)
      out.push_back(Dim::of(1));
  }
  ctx.set_output(0, dt, out);
}

void infer_arg_reduce(InferContext& ctx) {
  ctx.require_dtype(0, kNumeric);
  const TensorType& in = ctx.input_type(0);
  const bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  if (!in.has_rank()) {
    ctx.set_output_unknown_rank(0, DType::Int64);
    return;
  }
  const Dims& d = *in.dims;
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", 0), int64_t(d.size()));
  Dims out;
  for (size_t k = 0; k < d.size(); ++k) {
    if (int64_t(k) != axis)
      out.push_back(d[k]);
    else if (keepdims)
      out.push_back(Dim::of(1));
  }
  ctx.set_output(0, DType::Int64, out);
}

// ---------------------------------------------------------------- softmax family

void infer_softmax(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  const TensorType& in = ctx.input_type(0);
  if (in.has_rank()) {
    const int64_t rank = in.rank();
    // Opset 13 made the default axis -1; before, the input was coerced to 2-D at axis (default 1),
    // which may also equal the rank (then every row has one element).
    if (ctx.opset() >= 13) {
      ctx.normalize_axis(ctx.node().attr_int("axis", -1), rank);
    } else {
      const int64_t axis = ctx.node().attr_int("axis", 1);
      if (axis < -rank || axis > rank) ctx.fail("axis ", axis, " is out of range for rank ", rank);
    }
  }
  ctx.set_output(0, in);
}

}  // namespace

void register_math_ops(OpRegistry& r) {
  r.add({"", "MatMul", infer_matmul, 2, 2});
  r.add({"", "MatMulInteger", infer_matmul_integer, 2, 4});
  r.add({"", "Gemm", infer_gemm, 2, 3});
  r.add({"", "Einsum", infer_einsum, 1, -1});
  r.add({"", "ReduceSum", infer_reduce<13>, 1, 2});
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    r.add({"", op, infer_reduce<18>, 1, 2});
  r.add({"", "ArgMax", infer_arg_reduce, 1, 1});
  r.add({"", "ArgMin", infer_arg_reduce, 1, 1});
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) r.add({"", op, infer_softmax, 1, 1});

  set_cost(r, {"MatMul"}, OpClass::MatMul, flops::matmul);
  set_cost(r, {"Gemm"}, OpClass::MatMul, flops::gemm);
  set_cost(r, {"MatMulInteger"}, OpClass::MatMul, flops::per_output);
  set_cost(r, {"Einsum"}, OpClass::MatMul, nullptr);  // not counted
  set_cost(r, {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
               "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin"},
           OpClass::Reduction, flops::per_input);
  set_cost(r, {"Softmax", "LogSoftmax"}, OpClass::Softmax, flops::per_input_x5);
  set_cost(r, {"Hardmax"}, OpClass::Softmax, flops::per_output);
}

}  // namespace eqopt
