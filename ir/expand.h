// Definitions of ops in terms of standard ONNX ops ("expansions").
//
// An op's definition (OpSchema::expand) rewrites one node into default-domain nodes for a given
// target opset. eqopt's own ops (domain "eqopt", ir/ops/eqopt_ops.cpp) are defined this way: the
// interpreter runs them through their definitions and export (optimizer/export.h) replaces them by
// it. Standard ops that exist only in newer opsets (HardSwish, LayerNormalization, Mish, Gelu) have
// definitions in older ops too, for models whose opset cannot be raised.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/op_registry.h"

namespace eqopt {

// The domain of eqopt's own ops; models import it at version 1 (a missing import means 1).
inline constexpr std::string_view kEqoptDomain = "eqopt";
// The newest default-domain opset eqopt knows; own ops are interpreted through their definitions
// at this opset.
inline constexpr int64_t kLatestOpset = 21;

// Returns a value or node name based on `base` that is not yet used.
using FreshNameFn = std::function<std::string(const std::string& base)>;

class ExpandContext {
 public:
  ExpandContext(const Node& node, int64_t opset, std::vector<TensorType> input_types, FreshNameFn fresh);

  const Node& node() const { return node_; }
  // The default-domain opset the emitted nodes must be valid in.
  int64_t opset() const { return opset_; }

  bool has_input(size_t i) const { return i < node_.inputs.size() && !node_.inputs[i].empty(); }
  const std::string& input(size_t i) const;
  const TensorType& input_type(size_t i) const;
  DType input_dtype(size_t i) const { return input_type(i).dtype; }
  // Fails (naming the node) when the rank is unknown: the definition needs it.
  int64_t input_rank(size_t i) const;

  // Appends a default-domain node and returns the name of its (single) output.
  std::string add(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attrs = {});
  // A Constant node holding `value`; returns its output name.
  std::string constant(Tensor value);
  // A scalar constant of a floating-point dtype.
  std::string scalar(DType dtype, double value);
  // A 1-D int64 constant.
  std::string ints(const std::vector<int64_t>& values);
  // Output k of the node is the value `name` (an emitted value or one of the node's inputs).
  void set_output(size_t k, std::string name);

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<std::string>& outputs() const { return outputs_; }

  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    eqopt::fail(node_.label(), ": ", parts...);
  }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<TensorType> input_types_;
  FreshNameFn fresh_;
  std::string base_;
  std::vector<Node> nodes_;
  std::vector<std::string> outputs_;
};

// Rewrites `node` as default-domain nodes valid in `opset`. The node's inference runs first (with
// the given input types), so a malformed node fails with one line naming it. The node's outputs keep
// their names; new values and nodes get names from `fresh`. Throws Error when the op has no
// definition or the definition needs something unknown (e.g. an input's rank).
std::vector<Node> expand_node(const Node& node, int64_t opset, const std::vector<TensorType>& input_types,
                              const FreshNameFn& fresh);

// Whether the op has a definition in standard ops.
bool has_definition(const Node& node);

// A scalar tensor of a floating-point dtype (float32, float64, float16, bfloat16).
Tensor scalar_tensor(DType dtype, double value);

}  // namespace eqopt
