// Elementwise ops: shapes broadcast numpy-style, dtypes follow the inputs.
//
// Type constraints follow the newest ONNX opset of each op (older opsets accept subsets of the same
// types, so a model valid at an older opset is accepted too). The kernels in
// interp/kernels/elementwise.cpp handle every type accepted here, so a type error is always reported
// by inference, with the node named.
#include <cstdint>
#include <string>

#include "ir/ops/ops.h"

namespace eqopt {

namespace {

// ---------------------------------------------------------------- type sets

using TypeSet = uint32_t;  // bit k set: DType with code k is allowed

constexpr TypeSet bit(DType t) { return TypeSet(1) << static_cast<int>(t); }

constexpr TypeSet kFloating = bit(DType::Float) | bit(DType::Double) | bit(DType::Float16) |
                              bit(DType::BFloat16);
constexpr TypeSet kSignedInt =
    bit(DType::Int8) | bit(DType::Int16) | bit(DType::Int32) | bit(DType::Int64);
constexpr TypeSet kUnsignedInt =
    bit(DType::UInt8) | bit(DType::UInt16) | bit(DType::UInt32) | bit(DType::UInt64);
constexpr TypeSet kNumeric = kFloating | kSignedInt | kUnsignedInt;
constexpr TypeSet kSigned = kFloating | kSignedInt;
constexpr TypeSet kBool = bit(DType::Bool);
constexpr TypeSet kString = bit(DType::String);
constexpr TypeSet kFixedSize = kNumeric | kBool;  // every type with a fixed-size element
constexpr TypeSet kCastable = kFixedSize | kString;

std::string type_list(TypeSet allowed) {
  std::string list;
  for (int code = 0; code <= 16; ++code)
    if (allowed & (TypeSet(1) << code))
      list += (list.empty() ? "" : ", ") + std::string(dtype_short_name(static_cast<DType>(code)));
  return list;
}

// Fails naming the node and the input when input i's dtype is not in `allowed`; an input of
// still-unknown type passes.
void require_types(const InferContext& ctx, size_t i, TypeSet allowed) {
  const DType t = ctx.input_dtype(i);
  if (t == DType::Undefined || (allowed & bit(t))) return;
  ctx.fail("input ", i, " ('", ctx.node().inputs[i], "') has element type ", dtype_short_name(t),
           "; expected one of ", type_list(allowed));
}

// ---------------------------------------------------------------- shapes

// Ops of opsets 1-6 (Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less) broadcast only
// with broadcast=1, and then align B with A's dims starting at `axis` (suffix alignment when axis
// is absent, which numpy broadcasting covers). Returns B's dims padded with trailing 1s so that
// numpy broadcasting gives the legacy result.
Dims legacy_aligned_dims(const InferContext& ctx, const Dims& a, const Dims& b) {
  const Node& n = ctx.node();
  if (ctx.opset() >= 7 || n.attr_int("broadcast", 0) == 0 || !n.has_attr("axis")) return b;
  const int64_t rank_a = int64_t(a.size()), rank_b = int64_t(b.size());
  const int64_t axis = ctx.normalize_axis(n.attr_int("axis", 0), rank_a);
  if (axis + rank_b > rank_a)
    ctx.fail("legacy broadcast of ", dims_str(b), " at axis ", axis, " does not fit ", dims_str(a));
  Dims r = b;
  r.resize(size_t(rank_a - axis), Dim::of(1));
  return r;
}

// Broadcast shape of the listed (present) inputs, or nullopt when some rank is unknown.
std::optional<Dims> broadcast_inputs(const InferContext& ctx, const std::vector<size_t>& inputs) {
  std::vector<Dims> dims;
  for (size_t i : inputs) {
    if (!ctx.has_input(i)) continue;
    if (!ctx.input_type(i).has_rank()) return std::nullopt;
    dims.push_back(*ctx.input_type(i).dims);
  }
  if (dims.size() == 2 && inputs.size() == 2) dims[1] = legacy_aligned_dims(ctx, dims[0], dims[1]);
  std::vector<const Dims*> ptrs;
  for (const Dims& d : dims) ptrs.push_back(&d);
  return broadcast_dims(ctx, ptrs);
}

void set_broadcast_output(InferContext& ctx, size_t out, DType dtype, const std::vector<size_t>& inputs) {
  if (auto dims = broadcast_inputs(ctx, inputs))
    ctx.set_output(out, dtype, std::move(*dims));
  else
    ctx.set_output_unknown_rank(out, dtype);
}

std::vector<size_t> all_inputs(const InferContext& ctx) {
  std::vector<size_t> r;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) r.push_back(i);
  return r;
}

// ---------------------------------------------------------------- inference functions

// Output has the type of input 0.
void infer_same_as_input(InferContext& ctx) { ctx.set_output(0, ctx.input_type(0)); }

template <TypeSet Allowed>
void infer_unary(InferContext& ctx) {
  require_types(ctx, 0, Allowed);
  infer_same_as_input(ctx);
}

// IsNaN, IsInf: bool of the input's shape.
template <TypeSet Allowed>
void infer_unary_to_bool(InferContext& ctx) {
  require_types(ctx, 0, Allowed);
  ctx.set_output(0, TensorType{DType::Bool, ctx.input_type(0).dims});
}

// Inputs of one dtype from `Allowed`, broadcast together; the output has that dtype.
template <TypeSet Allowed>
void infer_broadcast_same_type(InferContext& ctx) {
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    require_types(ctx, i, Allowed);
    ctx.require_same_dtype(0, i);
  }
  set_broadcast_output(ctx, 0, ctx.input_dtype(0), all_inputs(ctx));
}

// Comparisons: like infer_broadcast_same_type, with a bool output.
template <TypeSet Allowed>
void infer_compare(InferContext& ctx) {
  require_types(ctx, 0, Allowed);
  require_types(ctx, 1, Allowed);
  ctx.require_same_dtype(0, 1);
  set_broadcast_output(ctx, 0, DType::Bool, {0, 1});
}

void infer_mod(InferContext& ctx) {
  infer_broadcast_same_type<kNumeric>(ctx);
  const int64_t fmod = ctx.node().attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) ctx.fail("attribute fmod must be 0 or 1, got ", fmod);
  if (fmod == 0 && is_floating(ctx.input_dtype(0)))
    ctx.fail("Mod of floating-point inputs (", dtype_short_name(ctx.input_dtype(0)),
             ") requires fmod=1");
}

void infer_bitshift(InferContext& ctx) {
  const std::string dir = ctx.node().attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    ctx.fail("attribute direction must be \"LEFT\" or \"RIGHT\", got \"", dir, "\"");
  infer_broadcast_same_type<kUnsignedInt>(ctx);
}

// Pow: from opset 12 base and exponent may have different types; the output has the base's.
void infer_pow(InferContext& ctx) {
  if (ctx.opset() < 12) {
    infer_broadcast_same_type<kNumeric>(ctx);
    return;
  }
  require_types(ctx, 0, kFloating | bit(DType::Int32) | bit(DType::Int64));
  require_types(ctx, 1, kNumeric);
  set_broadcast_output(ctx, 0, ctx.input_dtype(0), {0, 1});
}

// Where(condition, X, Y): three-way broadcast, output of X's type.
void infer_where(InferContext& ctx) {
  require_types(ctx, 0, kBool);
  require_types(ctx, 1, kFixedSize);
  ctx.require_same_dtype(1, 2);
  set_broadcast_output(ctx, 0, ctx.input_dtype(1), {0, 1, 2});
}

// Clip: bounds are attributes before opset 11, optional scalar inputs from then on.
void infer_clip(InferContext& ctx) {
  if (ctx.opset() < 11) {
    require_types(ctx, 0, kFloating);
  } else {
    require_types(ctx, 0, ctx.opset() >= 12 ? kNumeric : kFloating);
    for (size_t i = 1; i <= 2; ++i) {
      if (!ctx.has_input(i)) continue;
      ctx.require_same_dtype(0, i);
      const TensorType& t = ctx.input_type(i);
      if (!t.dims) continue;
      const auto n = dims_numel(*t.dims);
      if (n && *n != 1)
        ctx.fail("input ", i, " (", i == 1 ? "min" : "max", ") must be a scalar, got ", t.str());
    }
  }
  infer_same_as_input(ctx);
}

// The element type named by Cast's `to`: a TensorProto.DataType code, or (opset 1) its name.
DType cast_target(const InferContext& ctx) {
  const Attribute* a = ctx.node().attr("to");
  if (!a) ctx.fail("attribute 'to' is required");
  int64_t code = -1;
  if (a->kind == Attribute::Kind::String) {
    for (int c = 1; c <= 16; ++c)
      if (dtype_name(static_cast<DType>(c)) == a->s) code = c;
    if (code < 0) ctx.fail("attribute to=\"", a->s, "\" names no element type");
  } else {
    code = ctx.node().attr_int("to", 0);
  }
  switch (code) {
    case 17: case 18: case 19: case 20:
      ctx.fail("casting to float8 (to=", code, ") is not supported");
    case 21: case 22:
      ctx.fail("casting to 4-bit integers (to=", code, ") is not supported");
    default: break;
  }
  const auto t = dtype_from_code(code);
  if (!t || !(kCastable & bit(*t)))
    ctx.fail("cannot cast to element type ",
             t ? std::string(dtype_short_name(*t)) : "code " + std::to_string(code));
  return *t;
}

void infer_cast(InferContext& ctx) {
  require_types(ctx, 0, kCastable);
  ctx.set_output(0, TensorType{cast_target(ctx), ctx.input_type(0).dims});
}

// CastLike(input, target_type): input's shape, target_type's element type.
void infer_castlike(InferContext& ctx) {
  require_types(ctx, 0, kCastable);
  require_types(ctx, 1, kCastable);
  ctx.set_output(0, TensorType{ctx.input_dtype(1), ctx.input_type(0).dims});
}

// PRelu: the slope broadcasts to X (unidirectionally); the output has X's type.
void infer_prelu(InferContext& ctx) {
  constexpr TypeSet allowed = kFloating | bit(DType::Int32) | bit(DType::Int64) |
                              bit(DType::UInt32) | bit(DType::UInt64);
  require_types(ctx, 0, allowed);
  ctx.require_same_dtype(0, 1);
  const TensorType &x = ctx.input_type(0), &slope = ctx.input_type(1);
  if (x.dims && slope.dims) {
    const Dims b = broadcast_dims(ctx, {&*x.dims, &*slope.dims});
    bool ok = b.size() == x.dims->size();
    for (size_t d = 0; ok && d < b.size(); ++d)
      if (b[d].known() && (*x.dims)[d].known() && b[d].value != (*x.dims)[d].value) ok = false;
    if (!ok) ctx.fail("slope ", slope.str(), " does not broadcast to X ", x.str());
  }
  infer_same_as_input(ctx);
}

// Dropout in inference: output = data; the optional mask is all true (all ones of the data's type
// before opset 10). Training mode is rejected by the kernel, not here, so that a training graph can
// still be inspected.
void infer_dropout(InferContext& ctx) {
  require_types(ctx, 0, kFloating);
  if (ctx.opset() >= 12) {
    if (ctx.has_input(1)) require_types(ctx, 1, kFloating);
    if (ctx.has_input(2)) require_types(ctx, 2, kBool);
  }
  const TensorType& x = ctx.input_type(0);
  ctx.set_output(0, x);
  if (ctx.has_output(1)) ctx.set_output(1, TensorType{ctx.opset() >= 10 ? DType::Bool : x.dtype, x.dims});
}

void infer_gelu(InferContext& ctx) {
  const std::string approx = ctx.node().attr_string("approximate", "none");
  if (approx != "none" && approx != "tanh")
    ctx.fail("attribute approximate must be \"none\" or \"tanh\", got \"", approx, "\"");
  infer_unary<kFloating>(ctx);
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  // Unary math.
  for (const char* op : {"Abs", "Sign"}) r.add({"", op, infer_unary<kNumeric>, 1, 1});
  r.add({"", "Neg", infer_unary<kSigned>, 1, 1});
  r.add({"", "Erf", infer_unary<kNumeric>, 1, 1});
  for (const char* op : {"Exp", "Log", "Sqrt", "Reciprocal", "Ceil", "Floor", "Round", "Sin", "Cos",
                         "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
                         "Tanh", "Sigmoid"})
    r.add({"", op, infer_unary<kFloating>, 1, 1});
  for (const char* op : {"IsNaN", "IsInf"}) r.add({"", op, infer_unary_to_bool<kFloating>, 1, 1});

  // Binary arithmetic.
  for (const char* op : {"Add", "Sub", "Mul", "Div"})
    r.add({"", op, infer_broadcast_same_type<kNumeric>, 2, 2});
  r.add({"", "Pow", infer_pow, 2, 2});
  r.add({"", "Mod", infer_mod, 2, 2});
  r.add({"", "BitShift", infer_bitshift, 2, 2});

  // Variadic, multidirectional broadcast.
  for (const char* op : {"Sum", "Mean"}) r.add({"", op, infer_broadcast_same_type<kFloating>, 1, -1});
  for (const char* op : {"Max", "Min"}) r.add({"", op, infer_broadcast_same_type<kNumeric>, 1, -1});

  // Comparisons and logic.
  r.add({"", "Equal", infer_compare<kNumeric | kBool | kString>, 2, 2});
  for (const char* op : {"Greater", "Less", "GreaterOrEqual", "LessOrEqual"})
    r.add({"", op, infer_compare<kNumeric>, 2, 2});
  for (const char* op : {"And", "Or", "Xor"}) r.add({"", op, infer_broadcast_same_type<kBool>, 2, 2});
  r.add({"", "Not", infer_unary<kBool>, 1, 1});
  r.add({"", "Where", infer_where, 3, 3});

  r.add({"", "Clip", infer_clip, 1, 3});
  r.add({"", "Cast", infer_cast, 1, 1});
  r.add({"", "CastLike", infer_castlike, 2, 2});

  // Activations.
  r.add({"", "Relu", infer_unary<kSigned>, 1, 1});
  for (const char* op : {"LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus",
                         "Softsign", "Mish", "ThresholdedRelu"})
    r.add({"", op, infer_unary<kFloating>, 1, 1});
  r.add({"", "Gelu", infer_gelu, 1, 1});
  r.add({"", "Shrink", infer_unary<kNumeric>, 1, 1});
  r.add({"", "PRelu", infer_prelu, 2, 2});

  r.add({"", "Dropout", infer_dropout, 1, 3, 1, 2});
  r.add({"", "Identity", infer_same_as_input, 1, 1});

  // Each output element depends only on the inputs' elements at the same (broadcast) index. The
  // comparisons, logic ops, Mod, BitShift and the inverse trigonometric functions are too, but are
  // not marked: the verifier tests elementwise rules on scalars of these ops only.
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Erf", "Sin",
                         "Cos", "Tan", "Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign", "LeakyRelu", "Elu",
                         "Selu", "Celu", "HardSigmoid", "HardSwish", "Gelu", "Mish", "ThresholdedRelu", "Identity",
                         "Dropout", "Cast", "Clip", "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Max", "Min", "Sum",
                         "Mean", "Where"})
    r.find_mutable("", op)->elementwise = true;
  // Multidirectional (numpy) broadcasting of every input.
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "Sum", "Mean", "Max", "Min", "Equal",
                         "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Where"})
    r.find_mutable("", op)->broadcasts = true;

  set_cost(r, {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu",
               "Gelu", "Mish", "Softplus", "Softsign", "PRelu", "ThresholdedRelu"},
           OpClass::Activation, flops::per_output);
  set_cost(r, {"Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Max", "Min",
               "Sum", "Mean", "Where", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And",
               "Or", "Xor", "Floor", "Ceil", "Round", "Sign", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
               "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "IsNaN", "IsInf", "Mod", "BitShift"},
           OpClass::Elementwise, flops::per_output);
  set_cost(r, {"Cast", "CastLike"}, OpClass::Elementwise, flops::zero);
  set_cost(r, {"Shrink"}, OpClass::Other, flops::per_output);
  set_cost(r, {"Dropout"}, OpClass::Other, flops::zero);
  set_cost(r, {"Identity"}, OpClass::Data, flops::zero);
  r.find_mutable("", "Identity")->view = true;
}

}  // namespace eqopt
