// Registration of the tensor language's ops, one function per op family (ir/ops/*.cpp).
#pragma once
#include "ir/op_registry.h"

namespace eqopt {

void register_elementwise_ops(OpRegistry& r);  // unary/binary math, comparisons, logic, activations, Cast
void register_tensor_ops(OpRegistry& r);       // shape and data movement: Reshape, Slice, Gather, ...
void register_nn_ops(OpRegistry& r);           // Conv, pooling, normalisations, Resize
void register_math_ops(OpRegistry& r);         // MatMul, Gemm, Einsum, reductions, Softmax
void register_rnn_ops(OpRegistry& r);          // LSTM, GRU, RNN
void register_control_ops(OpRegistry& r);      // If, Loop
// eqopt's own ops (domain "eqopt") and the definitions of standard ops in older ones; runs last.
void register_eqopt_ops(OpRegistry& r);

inline void register_all_ops(OpRegistry& r) {
  register_elementwise_ops(r);
  register_tensor_ops(r);
  register_nn_ops(r);
  register_math_ops(r);
  register_rnn_ops(r);
  register_control_ops(r);
  register_eqopt_ops(r);
}

}  // namespace eqopt
