// Recurrent ops: LSTM, GRU and RNN (ONNX opsets 1, 3/7 and 14).
//
// All three share one input and output layout, differing in the number of gates G (RNN 1, GRU 3,
// LSTM 4):
//   X [seq, batch, input]       W [dirs, G*hidden, input]   R [dirs, G*hidden, hidden]
//   B [dirs, 2*G*hidden]        sequence_lens [batch]       initial_h/initial_c [dirs, batch, hidden]
//   P [dirs, 3*hidden] (LSTM)
//   Y [seq, dirs, batch, hidden]   Y_h/Y_c [dirs, batch, hidden]
// With layout = 1 (opset 14) the batch axis comes first: X [batch, seq, input], initial_h and Y_h
// [batch, dirs, hidden], Y [batch, seq, dirs, hidden].
#include <algorithm>
#include <cctype>

#include "ir/ops/ops.h"

namespace eqopt {

namespace {

struct RnnKind {
  int gates;                // gate blocks in W and R
  int activations_per_dir;  // f (RNN); f, g (GRU); f, g, h (LSTM)
  int outputs;              // Y, Y_h (+ Y_c for LSTM)
  bool peepholes;           // has input P
};

constexpr RnnKind kRnn{1, 1, 2, false};
constexpr RnnKind kGru{3, 2, 2, false};
constexpr RnnKind kLstm{4, 3, 3, true};

bool is_known_activation(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* k : {"sigmoid", "tanh", "relu", "affine", "leakyrelu", "thresholdedrelu", "scaledtanh",
                        "hardsigmoid", "elu", "softsign", "softplus"})
    if (name == k) return true;
  return false;
}

// Checks that a known dim equals an expected value (when that is known too).
void expect_dim(const InferContext& ctx, size_t input, size_t axis, const Dim& expected,
                const char* what) {
  if (!ctx.has_input(input) || !ctx.input_type(input).has_rank()) return;
  const Dim& d = ctx.input_dims(input)[axis];
  if (d.known() && expected.known() && d.value != expected.value)
    ctx.fail("input ", input, " ('", ctx.node().inputs[input], "') is ", ctx.input_type(input).str(),
             "; dim ", axis, " should be ", what, " = ", expected.value);
}

Dim times(const Dim& d, int64_t k) { return d.known() ? Dim::of(d.value * k) : Dim::unknown(); }

// Prefers a known dim, then a named one.
Dim pick(const Dim& a, const Dim& b) {
  if (a.known()) return a;
  if (b.known()) return b;
  return a.param.empty() ? b : a;
}

void infer_recurrent(InferContext& ctx, const RnnKind& kind) {
  const Node& node = ctx.node();
  const std::initializer_list<DType> kFloats = {DType::Float, DType::Double, DType::Float16};
  ctx.require_dtype(0, kFloats);
  const DType dtype = ctx.input_dtype(0);
  for (size_t i : {size_t(1), size_t(2), size_t(3), size_t(5), size_t(6), size_t(7)})
    if (ctx.has_input(i)) ctx.require_same_dtype(0, i);
  if (ctx.has_input(4)) ctx.require_dtype(4, {DType::Int32});

  const std::string direction = node.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    ctx.fail("direction must be forward, reverse or bidirectional, got '", direction, "'");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const int64_t layout = ctx.opset() >= 14 ? node.attr_int("layout", 0) : 0;
  if (layout != 0 && layout != 1) ctx.fail("layout must be 0 or 1, got ", layout);
  if (node.has_attr("activations")) {
    const Attribute* a = node.attr("activations");
    if (a->kind != Attribute::Kind::Strings) ctx.fail("attribute 'activations' must be a list of strings");
    const size_t n = a->strings.size();
    if (n != size_t(kind.activations_per_dir * dirs) && n != size_t(kind.activations_per_dir))
      ctx.fail("has ", n, " activations; ", direction, " needs ", kind.activations_per_dir * dirs);
    for (const std::string& s : a->strings)
      if (!is_known_activation(s)) ctx.fail("unsupported activation function '", s, "'");
  }
  if (kind.peepholes && node.attr_int("input_forget", 0) != 0 && node.attr_int("input_forget", 0) != 1)
    ctx.fail("input_forget must be 0 or 1");

  for (size_t i = 0; i < 3; ++i) ctx.require_rank(i, 3);
  const TensorType& x = ctx.input_type(0);
  Dim seq = Dim::unknown(), batch = Dim::unknown(), input_size = Dim::unknown();
  if (x.has_rank()) {
    const Dims& d = *x.dims;
    seq = layout == 0 ? d[0] : d[1];
    batch = layout == 0 ? d[1] : d[0];
    input_size = d[2];
  }
  // hidden_size: the attribute, else R's last dim, else W's rows / G.
  Dim hidden = Dim::unknown();
  if (node.has_attr("hidden_size")) {
    const int64_t h = node.attr_int("hidden_size", 0);
    if (h <= 0) ctx.fail("hidden_size must be positive, got ", h);
    hidden = Dim::of(h);
  }
  if (!hidden.known() && ctx.input_type(2).has_rank()) hidden = ctx.input_dims(2)[2];
  if (!hidden.known() && ctx.input_type(1).has_rank()) {
    const Dim& rows = ctx.input_dims(1)[1];
    if (rows.known()) {
      if (rows.value % kind.gates != 0) ctx.fail("W has ", rows.value, " rows, not a multiple of ", kind.gates);
      hidden = Dim::of(rows.value / kind.gates);
    }
  }
  const Dim dirs_dim = Dim::of(dirs);
  expect_dim(ctx, 1, 0, dirs_dim, "num_directions");
  expect_dim(ctx, 1, 1, times(hidden, kind.gates), "gates*hidden_size");
  expect_dim(ctx, 1, 2, input_size, "input_size");
  expect_dim(ctx, 2, 0, dirs_dim, "num_directions");
  expect_dim(ctx, 2, 1, times(hidden, kind.gates), "gates*hidden_size");
  expect_dim(ctx, 2, 2, hidden, "hidden_size");
  if (ctx.has_input(3)) {
    ctx.require_rank(3, 2);
    expect_dim(ctx, 3, 0, dirs_dim, "num_directions");
    expect_dim(ctx, 3, 1, times(hidden, 2 * kind.gates), "2*gates*hidden_size");
  }
  if (ctx.has_input(4)) {
    ctx.require_rank(4, 1);
    expect_dim(ctx, 4, 0, batch, "batch_size");
    if (ctx.input_type(4).has_rank()) batch = pick(batch, ctx.input_dims(4)[0]);
  }
  for (size_t i : {size_t(5), size_t(6)}) {
    if (!ctx.has_input(i)) continue;
    ctx.require_rank(i, 3);
    expect_dim(ctx, i, layout == 0 ? 0 : 1, dirs_dim, "num_directions");
    expect_dim(ctx, i, layout == 0 ? 1 : 0, batch, "batch_size");
    expect_dim(ctx, i, 2, hidden, "hidden_size");
  }
  if (kind.peepholes && ctx.has_input(7)) {
    ctx.require_rank(7, 2);
    expect_dim(ctx, 7, 0, dirs_dim, "num_directions");
    expect_dim(ctx, 7, 1, times(hidden, 3), "3*hidden_size");
  }

  if (layout == 0) {
    ctx.set_output(0, dtype, Dims{seq, dirs_dim, batch, hidden});
    for (int k = 1; k < kind.outputs; ++k) ctx.set_output(size_t(k), dtype, Dims{dirs_dim, batch, hidden});
  } else {
    ctx.set_output(0, dtype, Dims{batch, seq, dirs_dim, hidden});
    for (int k = 1; k < kind.outputs; ++k) ctx.set_output(size_t(k), dtype, Dims{batch, dirs_dim, hidden});
  }
}

void infer_rnn(InferContext& ctx) { infer_recurrent(ctx, kRnn); }
void infer_gru(InferContext& ctx) { infer_recurrent(ctx, kGru); }
void infer_lstm(InferContext& ctx) { infer_recurrent(ctx, kLstm); }

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.add({"", "RNN", infer_rnn, 3, 6, 0, 2});
  r.add({"", "GRU", infer_gru, 3, 6, 0, 2});
  r.add({"", "LSTM", infer_lstm, 3, 8, 0, 3});
  set_cost(r, {"RNN", "GRU", "LSTM"}, OpClass::Other, flops::recurrent);
}

}  // namespace eqopt
