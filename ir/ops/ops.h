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
// eqopt's own ops (domain "eqopt") and the definitions of standard ops in older ones.
void register_eqopt_ops(OpRegistry& r);
// The signatures of the default-domain ops (ir/ops/signatures.cpp).
void register_signatures(OpRegistry& r);
// The values the rule verifier tries for each attribute (AttrSpec::try_values,
// ir/ops/attr_domains.cpp); runs last, once every attribute is declared.
void register_attr_domains(OpRegistry& r);

// ---- Cost facts (ir/ops/flops.cpp) ----

// Sets the cost class and the FLOP count of registered default-domain ops.
void set_cost(OpRegistry& r, std::initializer_list<std::string_view> ops, OpClass op_class, FlopsFn flops);

// FLOP counts shared by op families (OpSchema::flops).
namespace flops {
using Types = std::vector<TensorType>;
std::optional<int64_t> zero(const Node&, const Types&, const Types&);        // data movement
std::optional<int64_t> per_output(const Node&, const Types&, const Types&);  // 1 per output element
std::optional<int64_t> per_output_x3(const Node&, const Types&, const Types&);
std::optional<int64_t> per_input(const Node&, const Types&, const Types&);  // 1 per element of input 0
std::optional<int64_t> per_input_x2(const Node&, const Types&, const Types&);
std::optional<int64_t> per_input_x5(const Node&, const Types&, const Types&);
std::optional<int64_t> conv(const Node&, const Types&, const Types&);
std::optional<int64_t> conv_transpose(const Node&, const Types&, const Types&);
std::optional<int64_t> matmul(const Node&, const Types&, const Types&);
std::optional<int64_t> gemm(const Node&, const Types&, const Types&);
std::optional<int64_t> pool(const Node&, const Types&, const Types&);  // output elements x window
std::optional<int64_t> recurrent(const Node&, const Types&, const Types&);
std::optional<int64_t> fused_conv(const Node&, const Types&, const Types&);  // also ConvNHWC
std::optional<int64_t> fused_matmul(const Node&, const Types&, const Types&);
std::optional<int64_t> attention(const Node&, const Types&, const Types&);
}  // namespace flops

// ---- Writing signatures (ir/ops/signatures.cpp, ir/ops/eqopt_ops.cpp) ----

namespace signature {

// The element-type sets most ops use (ONNX's names: T of most float ops, of arithmetic, of any op).
inline constexpr DTypeSet kFloats = {DType::Float, DType::Float16, DType::Double};
inline constexpr DTypeSet kFloatsBf16 = kFloats | DTypeSet{DType::BFloat16};
inline constexpr DTypeSet kNumeric = kFloatsBf16 | DTypeSet{DType::Int8,  DType::Int16,  DType::Int32,  DType::Int64,
                                                            DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64};
inline constexpr DTypeSet kAll = kNumeric | DTypeSet{DType::Bool, DType::String};
inline constexpr ValueSpec::Presence kOptional = ValueSpec::Presence::Optional;
inline constexpr ValueSpec::Presence kVariadic = ValueSpec::Presence::Variadic;

Attribute strings_attr(std::string name, std::vector<std::string> values);

// Sets the signature of a registered op, one call per input, output and attribute; an op that is
// not registered is skipped (the op schema test checks that every registered op has a signature).
class Sig {
 public:
  Sig(OpRegistry& r, std::string_view domain, std::string_view name, int64_t since_version,
      int64_t signature_version);
  // The default domain.
  Sig(OpRegistry& r, std::string_view name, int64_t since_version, int64_t signature_version)
      : Sig(r, "", name, since_version, signature_version) {}
  Sig& in(std::string name, DTypeSet dtypes, ValueSpec::Presence presence = ValueSpec::Presence::Required);
  Sig& out(std::string name, DTypeSet dtypes, ValueSpec::Presence presence = ValueSpec::Presence::Required);
  // Adds an attribute, or replaces the one of that name.
  Sig& attr(std::string name, Attribute::Kind kind, bool required, std::optional<Attribute> default_value);

  // Changes to a signature already set (eqopt's facts over ONNX's, newer versions).
  static Sig edit(OpRegistry& r, std::string_view name) { return Sig(r, "", name, 0, 0); }
  Sig& version(int64_t signature_version);
  Sig& since(int64_t since_version);
  // The element types of the named inputs and outputs.
  Sig& types(std::initializer_list<std::string_view> values, DTypeSet dtypes);
  // The element types of input 0 and of every input and output that has the same (ONNX's type
  // variable T of most ops).
  Sig& types_of_first(DTypeSet dtypes);
  Sig& drop_attr(std::string_view name);
  // Marks inputs whose value must be known (ValueSpec::constant).
  Sig& constant(std::initializer_list<size_t> inputs);

 private:
  OpSchema* s_;
};

}  // namespace signature

inline void register_all_ops(OpRegistry& r) {
  register_elementwise_ops(r);
  register_tensor_ops(r);
  register_nn_ops(r);
  register_math_ops(r);
  register_rnn_ops(r);
  register_control_ops(r);
  register_eqopt_ops(r);
  register_signatures(r);
  register_attr_domains(r);
}

}  // namespace eqopt
