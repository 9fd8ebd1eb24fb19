// The table of operators eqopt understands. An op's schema is the one home of every fact about it:
// arity, inputs and outputs with their element types, attributes with their types, defaults and a
// small domain of values to try, inference, definition in standard ops, cost class and FLOPs, the
// opset versions where its meaning changed, and elementwise/broadcasting properties. The cost model,
// export, the FLOP counter, the verifier and the linter read these facts here (docs/adding-an-op.md).
//
// Inference works on partial information: dims may be symbolic or unknown, and an input's value is
// known only when it is a constant (or computed from constants). The reference interpreter calls the
// same functions with every value known, so inference and execution can never disagree on shapes.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "ir/op_id.h"

namespace eqopt {

class InferContext;
using InferFn = void (*)(InferContext&);
class ExpandContext;  // ir/expand.h
// Writes one node as default-domain ONNX nodes (its definition in standard ops).
using ExpandFn = void (*)(ExpandContext&);

// A set of element types.
class DTypeSet {
 public:
  constexpr DTypeSet() = default;
  constexpr DTypeSet(std::initializer_list<DType> types) {
    for (DType t : types) bits_ |= bit(t);
  }
  constexpr bool contains(DType t) const { return (bits_ & bit(t)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr DTypeSet operator|(DTypeSet o) const { return from_bits(bits_ | o.bits_); }
  constexpr DTypeSet operator&(DTypeSet o) const { return from_bits(bits_ & o.bits_); }
  constexpr bool operator==(const DTypeSet&) const = default;
  // The members in DType order.
  std::vector<DType> list() const;
  std::string str() const;  // "float32, float16"

 private:
  static constexpr uint32_t bit(DType t) { return uint32_t(1) << uint32_t(int32_t(t) & 31); }
  static constexpr DTypeSet from_bits(uint32_t b) {
    DTypeSet s;
    s.bits_ = b;
    return s;
  }
  uint32_t bits_ = 0;
};

// One input or output of an op.
struct ValueSpec {
  enum class Presence { Required, Optional, Variadic };
  std::string name;
  DTypeSet dtypes;  // the element types it may have
  Presence presence = Presence::Required;
  // Inputs only: the value must be known when the node is inferred or lowered (a shape, axes, pads,
  // Slice's starts, TopK's k): the verifier supplies it as a value, not as an unknown tensor. An
  // input whose `dtypes` are all integer types (Gather's indices) is an integer operand whether or not
  // it is constant; a constant one that also allows floats (OneHot's depth) is best given as an integer.
  bool constant = false;
};

// One attribute of an op.
struct AttrSpec {
  std::string name;
  Attribute::Kind kind = Attribute::Kind::Int;
  bool required = false;
  std::optional<Attribute> default_value;
  // A small domain of values the verifier draws instances from (kernel shapes, strides, pads, axes,
  // perms, ...). Empty: the default (when there is one) is the only value tried.
  std::vector<Attribute> try_values;
};

// The class of an op for cost models, efficiency factors and reports.
enum class OpClass { Conv, MatMul, Activation, Normalization, Pooling, Softmax, Reduction, Data, Elementwise, Control, Other };
std::string_view op_class_name(OpClass c);  // "conv", "matmul", ..., "other"

// Floating-point operations of one node with the given input and output types; nullopt when a
// needed dim is unknown or the op's work is not counted.
using FlopsFn = std::optional<int64_t> (*)(const Node& node, const std::vector<TensorType>& in,
                                          const std::vector<TensorType>& out);

// A change of an op's meaning or signature at opset `version` (ONNX's Changelog.md): raising a
// model's opset across it is safe only when `affects` says the node is untouched. `rank` is the
// rank of the node's first input (-1 when unknown); `from` is the model's opset before raising.
// `affects` == nullptr: every node of the op is affected.
struct OpsetChange {
  int64_t version = 0;
  std::string what;
  bool (*affects)(const Node& node, int64_t rank, int64_t from) = nullptr;
};

struct OpSchema {
  std::string domain;  // "" for the default ONNX domain
  std::string name;
  InferFn infer = nullptr;
  int min_inputs = 0;
  int max_inputs = 0;  // -1: variadic
  int min_outputs = 1;
  int max_outputs = 1;  // -1: variadic
  // The inference function sets every output's value whenever the inputs' shapes are static (e.g.
  // Shape, Size, Constant), so an executor needs no kernel for it.
  bool infer_computes_values = false;
  // The op's definition in standard ops (ir/expand.h), or nullptr. eqopt's own ops (domain "eqopt")
  // run through it in the interpreter and are replaced by it on export; standard ops newer than a
  // model's opset use it when the opset cannot be raised.
  ExpandFn expand = nullptr;

  // ---- Signature (checked against ONNX's own schemas for the ops ONNX 1.12 knows) ----
  // The op as of opset `signature_version` of its domain, the newest version eqopt implements
  // (ir/ops/signatures.cpp). min_inputs..max_outputs above span every opset eqopt reads, so they may
  // be wider (Reshape-1 took its shape as an attribute: min_inputs is 1, the signature has 2).
  std::vector<ValueSpec> inputs;   // a Variadic entry, if any, is the last
  std::vector<ValueSpec> outputs;
  std::vector<AttrSpec> attrs;
  int64_t signature_version = 0;

  // ---- Cost and FLOPs ----
  OpClass op_class = OpClass::Other;
  // Only relabels a buffer (Reshape, Flatten, Squeeze, Unsqueeze, Identity): costs a view.
  bool view = false;
  FlopsFn flops = nullptr;  // nullptr: not counted
  // Its activation input and output are channels-last (ConvNHWC): a convolution whose layout is not
  // the target's native one pays a conversion.
  bool channels_last = false;

  // ---- Opset history (default-domain ops) ----
  int64_t since_version = 1;          // the first opset that has the op
  std::vector<OpsetChange> changes;   // from opset 7 on; changes that only add types are left out

  // ---- Algebraic properties ----
  // The output at an index depends only on the inputs' elements at the (broadcast) same index.
  bool elementwise = false;
  // The inputs broadcast multidirectionally (numpy rules).
  bool broadcasts = false;

  OpId id() const { return OpId(domain, name); }
  const AttrSpec* attr(std::string_view attr_name) const;
  // The spec of input i (the variadic last entry covers every later index), or nullptr.
  const ValueSpec* input(size_t i) const;
  const ValueSpec* output(size_t i) const;
};

// Infers the output types of a subgraph (If/Loop bodies) given its formal input types; outer-scope
// names resolve in the calling graph.
using SubgraphInferFn =
    std::function<std::vector<TensorType>(const Graph&, const std::vector<TensorType>&)>;

class InferContext {
 public:
  InferContext(const Node& node, int64_t opset, std::vector<TensorType> input_types,
               std::vector<const Tensor*> input_values, SubgraphInferFn subgraph_infer = nullptr);

  const Node& node() const { return node_; }
  int64_t opset() const { return opset_; }

  size_t num_inputs() const { return node_.inputs.size(); }
  // Present and not an omitted optional input ("").
  bool has_input(size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  const TensorType& input_type(size_t i) const;
  DType input_dtype(size_t i) const { return input_type(i).dtype; }
  int64_t input_rank(size_t i) const { return input_type(i).rank(); }  // -1 when unknown
  // The input's dims; fails (with the node named) when the rank is unknown.
  const Dims& input_dims(size_t i) const;
  // Constant value of the input when known, else nullptr.
  const Tensor* input_value(size_t i) const;
  // Value of an integer input as int64s, when known.
  std::optional<std::vector<int64_t>> input_ints(size_t i) const;

  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  void set_output(size_t i, TensorType t);
  void set_output(size_t i, DType dtype, Dims dims) { set_output(i, TensorType{dtype, std::move(dims)}); }
  void set_output_unknown_rank(size_t i, DType dtype) { set_output(i, TensorType{dtype, std::nullopt}); }
  void set_output_value(size_t i, Tensor value);
  const std::vector<TensorType>& output_types() const { return out_types_; }
  std::vector<std::optional<Tensor>>& output_values() { return out_values_; }

  std::vector<TensorType> infer_subgraph(const Graph& g, const std::vector<TensorType>& inputs) const;

  // Errors name the node: "node 'conv1' (Conv): <message>".
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    eqopt::fail(node_.label(), ": ", parts...);
  }
  // Common checks.
  void require_dtype(size_t input, std::initializer_list<DType> allowed) const;
  void require_same_dtype(size_t a, size_t b) const;
  void require_rank(size_t input, int64_t rank) const;  // no-op when the rank is unknown
  // Normalises a possibly negative axis against a rank, failing when out of range.
  int64_t normalize_axis(int64_t axis, int64_t rank, std::string_view what = "axis") const;

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<TensorType> in_types_;
  std::vector<const Tensor*> in_values_;
  SubgraphInferFn subgraph_infer_;
  std::vector<TensorType> out_types_;
  std::vector<std::optional<Tensor>> out_values_;
};

class OpRegistry {
 public:
  // The registry with every op of eqopt's tensor language.
  static const OpRegistry& global();

  void add(OpSchema schema);
  const OpSchema* find(const OpId& id) const;
  // "" and "ai.onnx" both name the default domain.
  const OpSchema* find(std::string_view domain, std::string_view name) const {
    return find(OpId(std::string(domain), std::string(name)));
  }
  // For registration functions that add to an op registered elsewhere (e.g. its definition).
  OpSchema* find_mutable(std::string_view domain, std::string_view name);
  // Every op, ordered by OpId (the default domain first).
  std::vector<const OpSchema*> all() const;

 private:
  std::map<OpId, OpSchema> ops_;
};

// Checks arity against the schema, then runs its inference. For unknown ops every output gets an
// unknown type. Throws Error (naming the node) on inconsistent inputs.
void infer_node(const OpSchema* schema, InferContext& ctx);

// ---- Helpers shared by inference functions ----

// Numpy-style multidirectional broadcasting of several shapes; fails via ctx when incompatible.
Dims broadcast_dims(const InferContext& ctx, const std::vector<const Dims*>& shapes);
// Dims of a known integer tensor used as a shape.
Dims dims_from_values(const std::vector<int64_t>& v);
// Product of dims when all known.
std::optional<int64_t> dims_numel(const Dims& d);

// The values to try for an attribute by its name alone (ir/ops/attr_domains.cpp): for attributes an
// op's newest signature does not declare, such as Squeeze's axes before opset 13 or Clip's min and
// max before opset 11. Empty when no attribute of that name has a domain.
std::vector<Attribute> attribute_domain_by_name(std::string_view name);

}  // namespace eqopt
