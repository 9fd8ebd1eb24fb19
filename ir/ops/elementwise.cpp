// Elementwise ops: shapes broadcast numpy-style, dtypes follow the inputs.
#include "ir/ops/ops.h"

namespace eqopt {

namespace {

// Output = broadcast of all inputs, dtype of input 0 (all inputs must share it).
void infer_broadcast_same_type(InferContext& ctx) {
  std::vector<const Dims*> shapes;
  bool all_ranked = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    ctx.require_same_dtype(0, i);
    if (!ctx.input_type(i).has_rank())
      all_ranked = false;
    else
      shapes.push_back(&*ctx.input_type(i).dims);
  }
  if (!all_ranked) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    return;
  }
  ctx.set_output(0, ctx.input_dtype(0), broadcast_dims(ctx, shapes));
}

// Output has the type of input 0.
void infer_same_as_input(InferContext& ctx) { ctx.set_output(0, ctx.input_type(0)); }

const std::initializer_list<DType> kNumeric = {DType::Float, DType::Double, DType::Float16,
                                               DType::Int32, DType::Int64, DType::Int8,
                                               DType::UInt8, DType::Int16, DType::UInt16,
                                               DType::UInt32, DType::UInt64};
const std::initializer_list<DType> kFloat = {DType::Float, DType::Double, DType::Float16};

void infer_arith(InferContext& ctx) {
  ctx.require_dtype(0, kNumeric);
  infer_broadcast_same_type(ctx);
}

void infer_float_unary(InferContext& ctx) {
  ctx.require_dtype(0, kFloat);
  infer_same_as_input(ctx);
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) r.add({"", op, infer_arith, 2, 2});
  r.add({"", "Relu", infer_float_unary, 1, 1});
  r.add({"", "Identity", infer_same_as_input, 1, 1});
}

}  // namespace eqopt
