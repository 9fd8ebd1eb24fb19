// Floating-point operations of one node (OpSchema::flops), per op family: a multiply-add counts 2,
// elementwise work 1 per output element, data movement 0. Each returns nullopt when a dim it needs
// is unknown. eqopt's own ops count the work of the standard ops they stand for, plus one per output
// element for each epilogue step (bias, residual, activation).
#include <algorithm>

#include "ir/ops/ops.h"

namespace eqopt::flops {

namespace {

std::optional<int64_t> numel_at(const std::vector<TensorType>& types, size_t i) {
  if (i >= types.size() || !types[i].dims) return std::nullopt;
  return dims_numel(*types[i].dims);
}

// Product of the weight's dims after the first: the multiply-adds per output (Conv) or per input
// (ConvTranspose) element.
std::optional<int64_t> per_weight_row(const std::vector<TensorType>& in) {
  if (in.size() < 2 || !in[1].is_static()) return std::nullopt;
  const Shape w = *in[1].static_shape();
  int64_t per = 1;
  for (size_t i = 1; i < w.size(); ++i) per *= w[i];
  return per;
}

// Conv's multiply-adds, and its bias (one per output element) when `bias` is set and present.
std::optional<int64_t> conv_work(const std::vector<TensorType>& in, const std::vector<TensorType>& out, bool bias) {
  const auto o = numel_at(out, 0);
  const auto per = per_weight_row(in);
  if (!o || !per) return std::nullopt;
  return 2 * *o * *per + (bias && in.size() > 2 && in[2].dtype != DType::Undefined ? *o : 0);
}

// MatMul's (and Gemm's) multiply-adds: 2 per output element and contraction step.
std::optional<int64_t> matmul_work(const std::vector<TensorType>& in, const std::vector<TensorType>& out, bool trans_a) {
  const auto o = numel_at(out, 0);
  if (!o || in.empty() || !in[0].dims || in[0].dims->empty()) return std::nullopt;
  const Dims& a = *in[0].dims;
  const Dim& k = a.size() == 1 ? a[0] : (trans_a ? a[a.size() - 2] : a.back());
  if (!k.known()) return std::nullopt;
  return 2 * *o * k.value;
}

// The epilogue of a fused op: one per output element for each optional input from `first_extra`
// and for the activation.
std::optional<int64_t> with_epilogue(std::optional<int64_t> core, const Node& node, const std::vector<TensorType>& in,
                                     const std::vector<TensorType>& out, size_t first_extra) {
  const auto o = numel_at(out, 0);
  if (!core || !o) return std::nullopt;
  int64_t steps = int64_t(!node.attr_string("activation", "").empty());
  for (size_t i = first_extra; i < in.size(); ++i) ++steps;
  return *core + steps * *o;
}

}  // namespace

std::optional<int64_t> zero(const Node&, const std::vector<TensorType>&, const std::vector<TensorType>&) { return 0; }

std::optional<int64_t> per_output(const Node&, const std::vector<TensorType>&, const std::vector<TensorType>& out) {
  return numel_at(out, 0);
}

std::optional<int64_t> per_input(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>&) {
  return numel_at(in, 0);
}

std::optional<int64_t> per_input_x2(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>&) {
  const auto x = numel_at(in, 0);
  return x ? std::optional<int64_t>(2 * *x) : std::nullopt;
}

std::optional<int64_t> per_input_x5(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>&) {
  const auto x = numel_at(in, 0);
  return x ? std::optional<int64_t>(5 * *x) : std::nullopt;
}

std::optional<int64_t> conv(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>& out) {
  return conv_work(in, out, true);
}

std::optional<int64_t> conv_transpose(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>&) {
  const auto x = numel_at(in, 0);
  const auto per = per_weight_row(in);
  if (!x || !per || !in[0].dims || in[0].dims->size() < 2) return std::nullopt;
  return 2 * *x * *per;
}

std::optional<int64_t> matmul(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>& out) {
  return matmul_work(in, out, false);
}

std::optional<int64_t> gemm(const Node& node, const std::vector<TensorType>& in, const std::vector<TensorType>& out) {
  const auto f = matmul_work(in, out, node.attr_int("transA", 0) != 0);
  if (!f) return std::nullopt;
  return *f + (in.size() > 2 ? *numel_at(out, 0) : 0);
}

std::optional<int64_t> pool(const Node& node, const std::vector<TensorType>&, const std::vector<TensorType>& out) {
  const auto o = numel_at(out, 0);
  if (!o) return std::nullopt;
  int64_t k = 1;
  for (int64_t v : node.attr_ints("kernel_shape")) k *= v;
  return *o * k;
}

std::optional<int64_t> recurrent(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>&) {
  if (in.size() < 3 || !in[0].is_static() || !in[2].is_static()) return std::nullopt;
  const Shape x = *in[0].static_shape();  // [seq, batch, input]
  const Shape r = *in[2].static_shape();  // [dirs, gates*H, H]
  if (x.size() != 3 || r.size() != 3) return std::nullopt;
  const int64_t gates_h = r[1], hidden = r[2];
  return 2 * x[0] * x[1] * r[0] * gates_h * (x[2] + hidden) + 10 * x[0] * x[1] * r[0] * hidden;
}

std::optional<int64_t> fused_conv(const Node& node, const std::vector<TensorType>& in, const std::vector<TensorType>& out) {
  return with_epilogue(conv_work(in, out, false), node, in, out, 2);
}

std::optional<int64_t> fused_matmul(const Node& node, const std::vector<TensorType>& in, const std::vector<TensorType>& out) {
  return with_epilogue(matmul_work(in, out, false), node, in, out, 2);
}

// scores = Q·K^T (2·S·Sk·D), softmax (about 5 per score), scores·V (2·S·Sk·Dv), per batch.
std::optional<int64_t> attention(const Node&, const std::vector<TensorType>& in, const std::vector<TensorType>& out) {
  const auto o = numel_at(out, 0);
  if (!o || in.size() < 3 || !in[0].dims || !in[2].dims || in[0].dims->size() < 2 || in[2].dims->size() < 2)
    return std::nullopt;
  const Dim &d = in[0].dims->back(), &sk = (*in[2].dims)[in[2].dims->size() - 2], &dv = in[2].dims->back();
  if (!d.known() || !sk.known() || !dv.known() || dv.value == 0) return std::nullopt;
  const int64_t rows = *o / dv.value;  // batch · S
  return rows * sk.value * (2 * d.value + 5 + 2 * dv.value);
}

std::optional<int64_t> per_output_x3(const Node&, const std::vector<TensorType>&, const std::vector<TensorType>& out) {
  const auto o = numel_at(out, 0);
  return o ? std::optional<int64_t>(3 * *o) : std::nullopt;
}

}  // namespace eqopt::flops

namespace eqopt {

void set_cost(OpRegistry& r, std::initializer_list<std::string_view> ops, OpClass op_class, FlopsFn flops) {
  for (std::string_view op : ops)
    if (OpSchema* s = r.find_mutable("", op)) {
      s->op_class = op_class;
      s->flops = flops;
    }
}

}  // namespace eqopt
