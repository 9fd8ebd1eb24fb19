// Recurrent kernels: LSTM, GRU and RNN, one time step and one batch row at a time.
//
// Everything is computed in double and rounded once into the output type, so the reference stays
// within float round-off of any float32 implementation. The equations are those of the ONNX
// operator documents (gate order LSTM iofc, GRU zrh); see ir/ops/rnn.cpp for the shapes.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "interp/kernel_util.h"

namespace eqopt {

namespace {

enum class ActFn { Sigmoid, Tanh, Relu, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus };

struct Activation {
  ActFn fn = ActFn::Tanh;
  double alpha = 0, beta = 0;

  double operator()(double x) const {
    switch (fn) {
      case ActFn::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
      case ActFn::Tanh: return std::tanh(x);
      case ActFn::Relu: return x > 0 ? x : 0.0;
      case ActFn::Affine: return alpha * x + beta;
      case ActFn::LeakyRelu: return x >= 0 ? x : alpha * x;
      case ActFn::ThresholdedRelu: return x >= alpha ? x : 0.0;
      case ActFn::ScaledTanh: return alpha * std::tanh(beta * x);
      case ActFn::HardSigmoid: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case ActFn::Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
      case ActFn::Softsign: return x / (1.0 + std::fabs(x));
      case ActFn::Softplus: return x > 30 ? x : std::log1p(std::exp(x));
    }
    return x;
  }
};

struct ActSpec {
  const char* name;
  ActFn fn;
  bool uses_alpha, uses_beta;
  double default_alpha, default_beta;
};

// The defaults for parameters an attribute list leaves out are those of the standalone ONNX ops
// (LeakyRelu 0.01, HardSigmoid 0.2/0.5, Elu 1, ThresholdedRelu 1) and the identity for Affine and
// ScaledTanh.
const ActSpec kActivations[] = {
    {"sigmoid", ActFn::Sigmoid, false, false, 0, 0},
    {"tanh", ActFn::Tanh, false, false, 0, 0},
    {"relu", ActFn::Relu, false, false, 0, 0},
    {"affine", ActFn::Affine, true, true, 1.0, 0.0},
    {"leakyrelu", ActFn::LeakyRelu, true, false, 0.01, 0},
    {"thresholdedrelu", ActFn::ThresholdedRelu, true, false, 1.0, 0},
    {"scaledtanh", ActFn::ScaledTanh, true, true, 1.0, 1.0},
    {"hardsigmoid", ActFn::HardSigmoid, true, true, 0.2, 0.5},
    {"elu", ActFn::Elu, true, false, 1.0, 0},
    {"softsign", ActFn::Softsign, false, false, 0, 0},
    {"softplus", ActFn::Softplus, false, false, 0, 0},
};

struct RnnKind {
  int gates;
  int activations_per_dir;
  std::vector<std::string> default_activations;
  bool lstm;
  bool gru;
};

// Activations for every direction, dirs * per_dir entries. activation_alpha/beta are consumed in
// list order by the functions that take a parameter.
std::vector<Activation> parse_activations(const KernelContext& ctx, const RnnKind& kind, int64_t dirs) {
  const Node& node = ctx.node();
  std::vector<std::string> names;
  if (const Attribute* a = node.attr("activations")) names = a->strings;
  if (names.empty()) names = kind.default_activations;
  const std::vector<float> alphas = node.attr_floats("activation_alpha");
  const std::vector<float> betas = node.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> acts;
  for (const std::string& raw : names) {
    std::string name = raw;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const ActSpec* spec = nullptr;
    for (const ActSpec& s : kActivations)
      if (name == s.name) spec = &s;
    if (!spec) ctx.fail("unsupported activation function '", raw, "'");
    Activation act{spec->fn, spec->default_alpha, spec->default_beta};
    if (spec->uses_alpha && next_alpha < alphas.size()) act.alpha = alphas[next_alpha++];
    if (spec->uses_beta && next_beta < betas.size()) act.beta = betas[next_beta++];
    acts.push_back(act);
  }
  const size_t per_dir = size_t(kind.activations_per_dir);
  if (acts.size() == per_dir && dirs == 2) {
    // One direction's list serves both.
    for (size_t k = 0; k < per_dir; ++k) acts.push_back(acts[k]);
  }
  if (acts.size() != per_dir * size_t(dirs))
    ctx.fail("has ", names.size(), " activations; expected ", per_dir * size_t(dirs));
  return acts;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.as_double(i);
  return v;
}

Tensor from_doubles(DType dtype, const Shape& shape, const std::vector<double>& v) {
  Tensor t(dtype, shape);
  switch (dtype) {
    case DType::Float: {
      float* p = t.mutable_data<float>();
      for (size_t i = 0; i < v.size(); ++i) p[i] = float(v[i]);
      break;
    }
    case DType::Double: {
      double* p = t.mutable_data<double>();
      for (size_t i = 0; i < v.size(); ++i) p[i] = v[i];
      break;
    }
    case DType::Float16: {
      Half* p = t.mutable_data<Half>();
      for (size_t i = 0; i < v.size(); ++i) p[i] = float_to_half(float(v[i]));
      break;
    }
    default: fail("element type ", dtype_short_name(dtype), " is not supported by recurrent ops");
  }
  return t;
}

void run_recurrent(KernelContext& ctx, const RnnKind& kind) {
  const Node& node = ctx.node();
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& R = ctx.input(2);
  const DType dtype = X.dtype();
  const std::string direction = node.attr_string("direction", "forward");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const int64_t layout = ctx.opset() >= 14 ? node.attr_int("layout", 0) : 0;
  if (X.rank() != 3 || W.rank() != 3 || R.rank() != 3) ctx.fail("X, W and R must have rank 3");
  const int64_t seq = layout == 0 ? X.dim(0) : X.dim(1);
  const int64_t batch = layout == 0 ? X.dim(1) : X.dim(0);
  const int64_t input_size = X.dim(2);
  const int64_t H = R.dim(2);
  const int64_t G = kind.gates;
  if (W.shape() != Shape{dirs, G * H, input_size})
    ctx.fail("W is ", W.type_str(), "; expected ", shape_str(Shape{dirs, G * H, input_size}));
  if (R.shape() != Shape{dirs, G * H, H})
    ctx.fail("R is ", R.type_str(), "; expected ", shape_str(Shape{dirs, G * H, H}));

  const std::vector<double> x = to_doubles(X), w = to_doubles(W), r = to_doubles(R);
  std::vector<double> bias(size_t(dirs * 2 * G * H), 0.0);
  if (ctx.has_input(3)) {
    if (ctx.input(3).shape() != Shape{dirs, 2 * G * H})
      ctx.fail("B is ", ctx.input(3).type_str(), "; expected ", shape_str(Shape{dirs, 2 * G * H}));
    bias = to_doubles(ctx.input(3));
  }
  std::vector<int64_t> lens(size_t(batch), seq);
  if (ctx.has_input(4)) {
    const Tensor& sl = ctx.input(4);
    if (sl.numel() != batch) ctx.fail("sequence_lens has ", sl.numel(), " entries for a batch of ", batch);
    lens = sl.to_int64_vector();
    for (int64_t l : lens)
      if (l < 0 || l > seq) ctx.fail("sequence length ", l, " is outside [0, ", seq, "]");
  }
  const Shape state_shape = layout == 0 ? Shape{dirs, batch, H} : Shape{batch, dirs, H};
  auto state_index = [&](int64_t d, int64_t b, int64_t j) {
    return size_t(layout == 0 ? (d * batch + b) * H + j : (b * dirs + d) * H + j);
  };
  auto load_state = [&](size_t input, const char* what) {
    std::vector<double> v(size_t(dirs * batch * H), 0.0);
    if (ctx.has_input(input)) {
      if (ctx.input(input).shape() != state_shape)
        ctx.fail(what, " is ", ctx.input(input).type_str(), "; expected ", shape_str(state_shape));
      v = to_doubles(ctx.input(input));
    }
    return v;
  };
  const std::vector<double> h0 = load_state(5, "initial_h");
  const std::vector<double> c0 = kind.lstm ? load_state(6, "initial_c") : std::vector<double>{};
  std::vector<double> peep(size_t(dirs * 3 * H), 0.0);
  const bool use_peepholes = kind.lstm && ctx.has_input(7);
  if (use_peepholes) {
    if (ctx.input(7).shape() != Shape{dirs, 3 * H})
      ctx.fail("P is ", ctx.input(7).type_str(), "; expected ", shape_str(Shape{dirs, 3 * H}));
    peep = to_doubles(ctx.input(7));
  }
  const std::vector<Activation> acts = parse_activations(ctx, kind, dirs);
  const bool has_clip = node.has_attr("clip");
  const double clip = has_clip ? node.attr_float("clip", 0) : 0;
  if (has_clip && clip < 0) ctx.fail("clip must not be negative, got ", clip);
  auto clipped = [&](double v) { return has_clip ? std::clamp(v, -clip, clip) : v; };
  const bool input_forget = kind.lstm && node.attr_int("input_forget", 0) != 0;
  const bool linear_before_reset = kind.gru && node.attr_int("linear_before_reset", 0) != 0;

  const Shape y_shape = layout == 0 ? Shape{seq, dirs, batch, H} : Shape{batch, seq, dirs, H};
  std::vector<double> y(size_t(seq * dirs * batch * H), 0.0);
  std::vector<double> y_h(size_t(dirs * batch * H), 0.0), y_c(size_t(dirs * batch * H), 0.0);
  auto x_at = [&](int64_t t, int64_t b) {
    return &x[size_t(layout == 0 ? (t * batch + b) * input_size : (b * seq + t) * input_size)];
  };
  auto y_index = [&](int64_t t, int64_t d, int64_t b) {
    return size_t(layout == 0 ? ((t * dirs + d) * batch + b) * H : ((b * seq + t) * dirs + d) * H);
  };

  // Row `row` of W (input weights) times x, and of R times h.
  const size_t hs = static_cast<size_t>(H);
  std::vector<double> h(hs), c(hs), h_new(hs), c_new(hs);
  std::vector<double> gx(hs * size_t(G)), gh(hs * size_t(G));
  for (int64_t d = 0; d < dirs; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    const double* wd = &w[size_t(d * G * H * input_size)];
    const double* rd = &r[size_t(d * G * H * H)];
    const double* wb = &bias[size_t(d * 2 * G * H)];
    const double* rb = wb + G * H;
    const double* pd = &peep[size_t(d * 3 * H)];
    const Activation* act = &acts[size_t(d * kind.activations_per_dir)];
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = lens[size_t(b)];
      for (int64_t j = 0; j < H; ++j) {
        h[size_t(j)] = h0[state_index(d, b, j)];
        if (kind.lstm) c[size_t(j)] = c0[state_index(d, b, j)];
      }
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = reverse ? len - 1 - s : s;
        const double* xt = x_at(t, b);
        // gx = W x + Wb, gh = R h + Rb, per gate row.
        for (int64_t row = 0; row < G * H; ++row) {
          double ax = wb[row], ah = rb[row];
          const double* wr = wd + row * input_size;
          for (int64_t k = 0; k < input_size; ++k) ax += wr[k] * xt[k];
          const double* rr = rd + row * H;
          for (int64_t k = 0; k < H; ++k) ah += rr[k] * h[size_t(k)];
          gx[size_t(row)] = ax;
          gh[size_t(row)] = ah;
        }
        if (kind.lstm) {
          // Gate blocks: i, o, f, c.
          for (int64_t j = 0; j < H; ++j) {
            auto pre = [&](int64_t gate) { return gx[size_t(gate * H + j)] + gh[size_t(gate * H + j)]; };
            const double c_prev = c[size_t(j)];
            const double i_gate = act[0](clipped(pre(0) + pd[j] * c_prev));
            const double f_gate =
                input_forget ? 1.0 - i_gate : act[0](clipped(pre(2) + pd[2 * H + j] * c_prev));
            const double cand = act[1](clipped(pre(3)));
            const double c_t = f_gate * c_prev + i_gate * cand;
            const double o_gate = act[0](clipped(pre(1) + pd[H + j] * c_t));
            c_new[size_t(j)] = c_t;
            h_new[size_t(j)] = o_gate * act[2](c_t);
          }
          c.swap(c_new);
        } else if (kind.gru) {
          // Gate blocks: z, r, h.
          
          std::vector<double> z(hs), rg(hs);
          for (int64_t j = 0; j < H; ++j) {
            z[size_t(j)] = act[0](clipped(gx[size_t(j)] + gh[size_t(j)]));
            rg[size_t(j)] = act[0](clipped(gx[size_t(H + j)] + gh[size_t(H + j)]));
          }
          for (int64_t j = 0; j < H; ++j) {
            double pre = gx[size_t(2 * H + j)];
            if (linear_before_reset) {
              pre += rg[size_t(j)] * gh[size_t(2 * H + j)];
            } else {
              // Rh (r . h) + Rbh
              double acc = rb[2 * H + j];
              const double* rr = rd + (2 * H + j) * H;
              for (int64_t k = 0; k < H; ++k) acc += rr[k] * (rg[size_t(k)] * h[size_t(k)]);
              pre += acc;
            }
            const double cand = act[1](clipped(pre));
            h_new[size_t(j)] = (1.0 - z[size_t(j)]) * cand + z[size_t(j)] * h[size_t(j)];
          }
        } else {
          for (int64_t j = 0; j < H; ++j) h_new[size_t(j)] = act[0](clipped(gx[size_t(j)] + gh[size_t(j)]));
        }
        h.swap(h_new);
        std::copy(h.begin(), h.end(), y.begin() + std::ptrdiff_t(y_index(t, d, b)));
      }
      // A sequence of length 0 has no last step: its final states are zero.
      for (int64_t j = 0; j < H; ++j) {
        y_h[state_index(d, b, j)] = len > 0 ? h[size_t(j)] : 0.0;
        if (kind.lstm) y_c[state_index(d, b, j)] = len > 0 ? c[size_t(j)] : 0.0;
      }
    }
  }
  if (ctx.has_output(0)) ctx.set_output(0, from_doubles(dtype, y_shape, y));
  if (ctx.has_output(1)) ctx.set_output(1, from_doubles(dtype, state_shape, y_h));
  if (kind.lstm && ctx.has_output(2)) ctx.set_output(2, from_doubles(dtype, state_shape, y_c));
}

void k_rnn(KernelContext& ctx) { run_recurrent(ctx, RnnKind{1, 1, {"Tanh"}, false, false}); }
void k_gru(KernelContext& ctx) { run_recurrent(ctx, RnnKind{3, 2, {"Sigmoid", "Tanh"}, false, true}); }
void k_lstm(KernelContext& ctx) {
  run_recurrent(ctx, RnnKind{4, 3, {"Sigmoid", "Tanh", "Tanh"}, true, false});
}

}  // namespace

void register_rnn_kernels(InterpreterKernels& r) {
  r.add("", "RNN", k_rnn);
  r.add("", "GRU", k_gru);
  r.add("", "LSTM", k_lstm);
}

}  // namespace eqopt
