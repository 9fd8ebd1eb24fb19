// Symbolic definitions of the elementwise ops: arithmetic with numpy broadcasting, comparisons and
// logic, Where, Clip, Cast, Mod, BitShift and the activations, each in real arithmetic (floats) or
// wrap-around integer arithmetic (integer dtypes) as the ONNX operator documents it
// (docs/verification-ops.md has the table). Constants of the definitions are written in double and
// read through the approx targets (OpEval::real).
#include <cmath>

#include "verify/sym_eval_detail.h"

namespace eqopt::verify::detail {

namespace {

void require_float(const OpEval& e, size_t i) {
  if (!is_floating(e.input(i).dtype))
    e.unsupported("input " + std::to_string(i) + " is " + std::string(dtype_short_name(e.input(i).dtype)) +
                  " with symbolic elements; this op's definition is for float tensors");
}

// Floats and integers have symbolic arithmetic; booleans and strings do not.
void require_numeric(const OpEval& e, size_t i) {
  if (!is_floating(e.input(i).dtype) && !sym_sort(e.input(i).dtype).integer())
    e.unsupported("input " + std::to_string(i) + " is " + std::string(dtype_short_name(e.input(i).dtype)) +
                  " with symbolic elements; only float and integer tensors have arithmetic");
}

// y = f(x) elementwise on input 0; the output keeps its dtype and shape.
template <class F>
void unary(OpEval& e, F f) {
  require_numeric(e, 0);
  const SymTensor& x = e.input(0);
  SymTensor y{x.dtype, x.shape, {}};
  y.elems.reserve(x.elems.size());
  for (SymId v : x.elems) y.elems.push_back(f(v));
  e.set_output(0, std::move(y));
}

// y[i] = f(args) over the present inputs broadcast together (numpy), with the given dtype.
template <class F>
void broadcast_map(OpEval& e, DType dtype, F f) {
  if (e.opset() < 7 && e.node().attr_int("broadcast", 0) != 0)
    e.unsupported("legacy broadcasting (opset < 7, broadcast=1) is not supported");
  std::vector<const SymTensor*> in;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < e.num_inputs(); ++i)
    if (e.has_input(i)) {
      in.push_back(&e.input(i));
      shapes.push_back(e.input(i).shape);
    }
  const Shape out = broadcast_shape(shapes, e.node().label());
  std::vector<std::vector<int64_t>> maps;
  for (const Shape& s : shapes) maps.push_back(broadcast_index(s, out));
  SymTensor y{dtype, out, {}};
  const int64_t n = shape_numel(out);
  y.elems.reserve(size_t(n));
  std::vector<SymId> args(in.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < in.size(); ++k) args[k] = in[k]->elems[size_t(maps[k][size_t(i)])];
    y.elems.push_back(f(args));
  }
  e.set_output(0, std::move(y));
}

template <class F>
void binary(OpEval& e, F f) {
  require_numeric(e, 0);
  broadcast_map(e, e.input(0).dtype, [&](const std::vector<SymId>& a) { return f(a[0], a[1]); });
}

// Booleans (Equal's) compare as truth values.
template <class F>
void compare(OpEval& e, F f) {
  const bool boolean = e.input(0).dtype == DType::Bool;
  for (size_t i = 0; i < 2; ++i)
    if (!e.known(i) && !boolean) require_numeric(e, i);
  broadcast_map(e, DType::Bool, [&](const std::vector<SymId>& a) {
    if (boolean) return as_bool_elem(e.sym, f(as_condition(e.sym, a[0]), as_condition(e.sym, a[1])));
    return as_bool_elem(e.sym, f(a[0], a[1]));
  });
}

template <class F>
void logic(OpEval& e, F f) {
  broadcast_map(e, DType::Bool, [&](const std::vector<SymId>& a) {
    return as_bool_elem(e.sym, f(as_condition(e.sym, a[0]), as_condition(e.sym, a[1])));
  });
}

// Max/Min/Sum/Mean: folded left to right over 1..N inputs.
template <class F>
void variadic(OpEval& e, F f) {
  require_numeric(e, 0);
  broadcast_map(e, e.input(0).dtype, [&](const std::vector<SymId>& a) {
    SymId r = a[0];
    for (size_t k = 1; k < a.size(); ++k) r = f(r, a[k]);
    return r;
  });
}

SymId hard_sigmoid(SymCtx& s, SymId x, SymId alpha, SymId beta) {
  return s.max(s.constant(0), s.min(s.constant(1), s.add(s.mul(alpha, x), beta)));
}

SymId sigmoid(SymCtx& s, SymId x) { return s.inv(s.add(s.constant(1), s.exp(s.neg(x)))); }

SymId softplus(SymCtx& s, SymId x) { return s.log(s.add(s.exp(x), s.constant(1))); }

void op_identity(OpEval& e) {
  const SymTensor& x = e.input(0);
  e.set_output(0, x);
}

// Inference form: Y = X; the mask (if asked for) is all true. Training with a ratio is random.
void op_dropout(OpEval& e) {
  if (e.opset() >= 12 && e.has_input(2)) {
    const std::vector<int64_t> training = e.ints(2, "training_mode");
    const double ratio = e.has_input(1) ? e.reals(1, "ratio").at(0) : 0.5;
    if (!training.empty() && training[0] != 0 && ratio > 0) e.unsupported("training-mode Dropout is random");
  }
  e.set_output(0, e.input(0));
  if (e.has_output(1)) {
    const Shape s = e.out_shape(1);
    e.set_output(1, SymTensor{e.out_dtype(1), s, std::vector<SymId>(size_t(shape_numel(s)), e.sym.constant(1))});
  }
}

// Cast (docs/verification.md, "Dtypes"): floats stay reals, except that a value becoming float16
// rounds to half precision; an integer becoming a float rounds to the float's precision; a float
// becoming an integer truncates toward zero and must fit; integers wrap to a narrower width; a bool
// is 1 or 0, and a number is true where it is not 0.
SymId cast_elem(SymCtx& s, SymId v, DType from, DType to) {
  const SymSort from_sort = sym_sort(from), to_sort = sym_sort(to);
  if (from == DType::Bool) return s.select(as_condition(s, v), s.constant_of(1, to_sort), s.constant_of(0, to_sort));
  if (to == DType::Bool) return as_bool_elem(s, s.not_(s.eq(v, s.constant_of(0, from_sort))));
  if (from_sort.integer() && to_sort.integer()) return s.int_cast(v, to_sort);
  const int float_bits = to == DType::Float16 ? 16 : to == DType::Float ? 32 : 64;
  if (from_sort.integer()) return s.round(s.int_to_real(v), float_bits);
  if (to_sort.integer()) return s.real_to_int(v, to_sort);
  return to == DType::Float16 ? s.round(v, 16) : v;
}

bool castable(DType t) {
  return t == DType::Bool || t == DType::Float || t == DType::Double || t == DType::Float16 || sym_sort(t).integer();
}

void cast_to(OpEval& e, DType to) {
  const SymTensor& x = e.input(0);
  if (to == x.dtype) {
    e.set_output(0, x);
    return;
  }
  if (!castable(x.dtype) || !castable(to))
    e.unsupported("cast from " + std::string(dtype_short_name(x.dtype)) + " to " + std::string(dtype_short_name(to)) +
                  " (no symbolic reading of the element type)");
  SymTensor y{to, x.shape, {}};
  for (SymId v : x.elems) y.elems.push_back(cast_elem(e.sym, v, x.dtype, to));
  e.set_output(0, std::move(y));
}

void op_cast(OpEval& e) {
  const auto to = dtype_from_code(e.node().attr_int("to", 0));
  if (!to) e.fail("attribute 'to' is not a known element type");
  cast_to(e, *to);
}

void op_cast_like(OpEval& e) { cast_to(e, e.input(1).dtype); }

// Bool branches select truth values.
void op_where(OpEval& e) {
  const bool boolean = e.input(1).dtype == DType::Bool;
  if (!e.known(1) && !boolean) require_numeric(e, 1);
  broadcast_map(e, e.input(1).dtype, [&](const std::vector<SymId>& a) {
    const SymId c = as_condition(e.sym, a[0]);
    if (boolean) return as_bool_elem(e.sym, e.sym.select(c, as_condition(e.sym, a[1]), as_condition(e.sym, a[2])));
    return e.sym.select(c, a[1], a[2]);
  });
}

// min(max(x, lo), hi), bounds from inputs (opset 11+) or attributes; an absent bound is no bound.
void op_clip(OpEval& e) {
  require_numeric(e, 0);
  std::optional<SymId> lo, hi;
  if (e.opset() < 11) {
    if (e.node().has_attr("min")) lo = e.attr_real("min", 0);
    if (e.node().has_attr("max")) hi = e.attr_real("max", 0);
  } else {
    for (size_t i = 1; i < 3; ++i)
      if (e.has_input(i) && e.input(i).elems.size() != 1) e.fail("input ", i, " must be a scalar");
    if (e.has_input(1)) lo = e.input(1).elems[0];
    if (e.has_input(2)) hi = e.input(2).elems[0];
  }
  unary(e, [&](SymId x) {
    if (lo) x = e.sym.max(x, *lo);
    if (hi) x = e.sym.min(x, *hi);
    return x;
  });
}

void op_leaky_relu(OpEval& e) {
  require_float(e, 0);
  const SymId alpha = e.attr_real("alpha", double(0.01f));
  unary(e, [&](SymId x) { return e.sym.select(e.sym.ge(x, e.sym.constant(0)), x, e.sym.mul(alpha, x)); });
}

// PRelu: the slope broadcasts to X.
void op_prelu(OpEval& e) {
  require_numeric(e, 0);
  broadcast_map(e, e.input(0).dtype, [&](const std::vector<SymId>& a) {
    return e.sym.select(e.sym.ge(a[0], e.sym.constant(0)), a[0], e.sym.mul(a[1], a[0]));
  });
}

void op_elu(OpEval& e) {
  const SymId alpha = e.attr_real("alpha", 1.0);
  SymCtx& s = e.sym;
  unary(e, [&](SymId x) {
    return s.select(s.ge(x, s.constant(0)), x, s.mul(alpha, s.sub(s.exp(x), s.constant(1))));
  });
}

// ONNX's defaults are the float32 roundings of Selu's constants; an attribute gives its own.
void op_selu(OpEval& e) {
  const SymId alpha = e.attr_real("alpha", double(1.67326319217681884765625f));
  const SymId gamma = e.attr_real("gamma", double(1.05070102214813232421875f));
  SymCtx& s = e.sym;
  unary(e, [&](SymId x) {
    return s.select(s.gt(x, s.constant(0)), s.mul(gamma, x),
                    s.mul(gamma, s.sub(s.mul(alpha, s.exp(x)), alpha)));
  });
}

// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
void op_celu(OpEval& e) {
  const SymId alpha = e.attr_real("alpha", 1.0);
  SymCtx& s = e.sym;
  unary(e, [&](SymId x) {
    const SymId inner = s.mul(alpha, s.sub(s.exp(s.mul(x, s.inv(alpha))), s.constant(1)));
    return s.add(s.max(s.constant(0), x), s.min(s.constant(0), inner));
  });
}

void op_hard_sigmoid(OpEval& e) {
  const SymId alpha = e.attr_real("alpha", double(0.2f)), beta = e.attr_real("beta", double(0.5f));
  unary(e, [&](SymId x) { return hard_sigmoid(e.sym, x, alpha, beta); });
}

// x * HardSigmoid(x) with alpha = 1/6 (exactly, unless an approx target stands for it), beta = 0.5.
void op_hard_swish(OpEval& e) {
  const SymId alpha = e.real(1.0 / 6.0, e.sym.inv(e.sym.constant(6))), beta = e.real(0.5);
  unary(e, [&](SymId x) { return e.sym.mul(x, hard_sigmoid(e.sym, x, alpha, beta)); });
}

// approximate="none": x * 0.5 * (1 + erf(x / sqrt(2))); "tanh": the tanh form with sqrt(2/pi).
void op_gelu(OpEval& e) {
  SymCtx& s = e.sym;
  const std::string approx = e.node().attr_string("approximate", "none");
  const SymId half = e.real(0.5), one = s.constant(1);
  if (approx == "tanh") {
    const SymId k = e.real(0.7978845608028654), c = e.real(0.044715);
    unary(e, [&](SymId x) {
      const SymId cube = s.mul(s.mul(x, x), x);
      return s.mul(s.mul(x, half), s.add(one, s.tanh(s.mul(k, s.add(x, s.mul(c, cube))))));
    });
  } else if (approx == "none") {
    const SymId r = e.real(0.7071067811865476);
    unary(e, [&](SymId x) { return s.mul(s.mul(x, half), s.add(one, s.erf(s.mul(x, r)))); });
  } else {
    e.fail("approximate must be \"none\" or \"tanh\", got \"", approx, "\"");
  }
}

void op_thresholded_relu(OpEval& e) {
  const SymId alpha = e.attr_real("alpha", 1.0);
  unary(e, [&](SymId x) { return e.sym.select(e.sym.gt(x, alpha), x, e.sym.constant(0)); });
}

void op_sign(OpEval& e) {
  SymCtx& s = e.sym;
  const SymSort sort = sym_sort(e.input(0).dtype);
  unary(e, [&](SymId x) {
    const SymId zero = s.constant_of(0, sort);
    return s.select(s.gt(x, zero), s.constant_of(1, sort), s.select(s.gt(zero, x), s.constant_of(-1, sort), zero));
  });
}

void op_pow(OpEval& e) {
  require_float(e, 0);
  require_float(e, 1);
  broadcast_map(e, e.input(0).dtype, [&](const std::vector<SymId>& a) { return e.sym.pow(a[0], a[1]); });
}

void op_mean(OpEval& e) {
  require_float(e, 0);
  size_t n = 0;
  for (size_t i = 0; i < e.num_inputs(); ++i) n += e.has_input(i);
  const SymId inv_n = e.sym.inv(e.sym.constant(double(n)));
  variadic(e, [&](SymId a, SymId b) { return e.sym.add(a, b); });
  for (SymId& v : e.outputs()[0].elems) v = e.sym.mul(v, inv_n);
}

#define EQOPT_SYM_UNARY(NAME, EXPR)            \
  void NAME(OpEval& e) {                       \
    SymCtx& s = e.sym;                         \
    unary(e, [&](SymId x) { return EXPR; });   \
  }
// Float-only ops check their input first.
#define EQOPT_SYM_UNARY_FLOAT(NAME, EXPR)      \
  void NAME(OpEval& e) {                       \
    require_float(e, 0);                       \
    SymCtx& s = e.sym;                         \
    unary(e, [&](SymId x) { return EXPR; });   \
  }

EQOPT_SYM_UNARY(op_neg, s.neg(x))
EQOPT_SYM_UNARY(op_abs, s.max(x, s.neg(x)))
EQOPT_SYM_UNARY(op_relu, s.max(x, s.constant(0)))
EQOPT_SYM_UNARY_FLOAT(op_sigmoid, sigmoid(s, x))
EQOPT_SYM_UNARY_FLOAT(op_tanh, s.tanh(x))
EQOPT_SYM_UNARY_FLOAT(op_erf, s.erf(x))
EQOPT_SYM_UNARY_FLOAT(op_exp, s.exp(x))
EQOPT_SYM_UNARY_FLOAT(op_log, s.log(x))
EQOPT_SYM_UNARY_FLOAT(op_sqrt, s.sqrt(x))
EQOPT_SYM_UNARY_FLOAT(op_reciprocal, s.inv(x))
EQOPT_SYM_UNARY_FLOAT(op_softplus, softplus(s, x))
EQOPT_SYM_UNARY_FLOAT(op_softsign, s.mul(x, s.inv(s.add(s.constant(1), s.max(x, s.neg(x))))))
EQOPT_SYM_UNARY_FLOAT(op_mish, s.mul(x, s.tanh(softplus(s, x))))

#undef EQOPT_SYM_UNARY
#undef EQOPT_SYM_UNARY_FLOAT

#define EQOPT_SYM_BINARY(NAME, EXPR)                                     \
  void NAME(OpEval& e) {                                                 \
    SymCtx& s = e.sym;                                                   \
    binary(e, [&](SymId a, SymId b) { return EXPR; });                   \
  }

EQOPT_SYM_BINARY(op_add, s.add(a, b))
EQOPT_SYM_BINARY(op_sub, s.sub(a, b))
EQOPT_SYM_BINARY(op_mul, s.mul(a, b))

#undef EQOPT_SYM_BINARY

// Integers divide truncating toward zero (C's and ONNX runtimes' integer division).
void op_div(OpEval& e) {
  SymCtx& s = e.sym;
  const bool integer = sym_sort(e.input(0).dtype).integer();
  binary(e, [&](SymId a, SymId b) { return integer ? s.idiv(a, b) : s.div(a, b); });
}

// Integers only: fmod=0 gives the divisor's sign (Python's %), fmod=1 the dividend's (C's %).
// Float Mod (fmod=1) truncates a quotient, which has no exact real reading here.
void op_mod(OpEval& e) {
  const SymSort sort = sym_sort(e.input(0).dtype);
  if (!sort.integer()) e.unsupported("Mod of float tensors is not supported");
  const bool c_style = e.node().attr_int("fmod", 0) != 0;
  SymCtx& s = e.sym;
  binary(e, [&](SymId a, SymId b) {
    const SymId r = s.irem(a, b);
    if (c_style || sort.is_unsigned) return r;
    const SymId zero = s.int_constant(0, sort);
    // A nonzero remainder whose sign differs from the divisor's moves by one divisor.
    const SymId differ = s.and_(s.not_(s.eq(r, zero)), s.not_(s.eq(s.gt(zero, r), s.gt(zero, b))));
    return s.select(differ, s.add(r, b), r);
  });
}

void op_bit_shift(OpEval& e) {
  const bool left = e.node().attr_string("direction", "") == "LEFT";
  SymCtx& s = e.sym;
  binary(e, [&](SymId a, SymId b) { return left ? s.shl(a, b) : s.shr(a, b); });
}

void op_max(OpEval& e) { variadic(e, [&](SymId a, SymId b) { return e.sym.max(a, b); }); }
void op_min(OpEval& e) { variadic(e, [&](SymId a, SymId b) { return e.sym.min(a, b); }); }
void op_sum(OpEval& e) { variadic(e, [&](SymId a, SymId b) { return e.sym.add(a, b); }); }

void op_equal(OpEval& e) { compare(e, [&](SymId a, SymId b) { return e.sym.eq(a, b); }); }
void op_greater(OpEval& e) { compare(e, [&](SymId a, SymId b) { return e.sym.gt(a, b); }); }
void op_less(OpEval& e) { compare(e, [&](SymId a, SymId b) { return e.sym.gt(b, a); }); }
void op_greater_equal(OpEval& e) { compare(e, [&](SymId a, SymId b) { return e.sym.ge(a, b); }); }
void op_less_equal(OpEval& e) { compare(e, [&](SymId a, SymId b) { return e.sym.ge(b, a); }); }

void op_and(OpEval& e) { logic(e, [&](SymId a, SymId b) { return e.sym.and_(a, b); }); }
void op_or(OpEval& e) { logic(e, [&](SymId a, SymId b) { return e.sym.or_(a, b); }); }
void op_xor(OpEval& e) { logic(e, [&](SymId a, SymId b) { return e.sym.not_(e.sym.eq(a, b)); }); }
void op_not(OpEval& e) {
  const SymTensor& x = e.input(0);
  SymTensor y{DType::Bool, x.shape, {}};
  for (SymId v : x.elems) y.elems.push_back(as_bool_elem(e.sym, e.sym.not_(as_condition(e.sym, v))));
  e.set_output(0, std::move(y));
}

}  // namespace

void register_sym_elementwise(SymOpTable& t) {
  const std::pair<const char*, SymOpFn> ops[] = {
      {"Identity", op_identity}, {"Dropout", op_dropout}, {"Cast", op_cast}, {"CastLike", op_cast_like},
      {"Neg", op_neg}, {"Abs", op_abs}, {"Relu", op_relu}, {"LeakyRelu", op_leaky_relu}, {"PRelu", op_prelu},
      {"Sigmoid", op_sigmoid}, {"HardSigmoid", op_hard_sigmoid}, {"HardSwish", op_hard_swish},
      {"Tanh", op_tanh}, {"Erf", op_erf}, {"Exp", op_exp}, {"Log", op_log}, {"Sqrt", op_sqrt},
      {"Reciprocal", op_reciprocal}, {"Softplus", op_softplus}, {"Softsign", op_softsign}, {"Mish", op_mish},
      {"Elu", op_elu}, {"Selu", op_selu}, {"Celu", op_celu}, {"Gelu", op_gelu},
      {"ThresholdedRelu", op_thresholded_relu}, {"Sign", op_sign}, {"Clip", op_clip},
      {"Add", op_add}, {"Sub", op_sub}, {"Mul", op_mul}, {"Div", op_div}, {"Pow", op_pow},
      {"Mod", op_mod}, {"BitShift", op_bit_shift},
      {"Max", op_max}, {"Min", op_min}, {"Sum", op_sum}, {"Mean", op_mean},
      {"Equal", op_equal}, {"Greater", op_greater}, {"Less", op_less}, {"GreaterOrEqual", op_greater_equal},
      {"LessOrEqual", op_less_equal}, {"And", op_and}, {"Or", op_or}, {"Xor", op_xor}, {"Not", op_not},
      {"Where", op_where},
  };
  for (const auto& [name, fn] : ops) t[name] = fn;
}

}  // namespace eqopt::verify::detail
