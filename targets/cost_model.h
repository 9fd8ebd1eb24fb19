// Cost models built from target descriptions: the estimated time of one op on a target.
//
// The estimate is a roofline (Williams, Waterman and Patterson, CACM 2009): the larger of compute
// time (FLOPs over the matrix or vector unit's peak) and memory time (each tensor's bytes over the
// bandwidth of the level it lives in), divided by the op's efficiency factor, plus the fixed cost of
// a kernel or command. On top of that:
//  - memory levels: graph inputs and weights come from DRAM; an intermediate tensor that fits the
//    on-chip memory is read and written there (so fusing or shrinking intermediates pays);
//  - ops that only relabel a buffer (OpSchema::view: Reshape, Flatten, Squeeze, Unsqueeze,
//    Identity) cost the view overhead alone;
//  - layout: a convolution whose layout is not the target's native one pays a conversion of its
//    activation tensors (read and write of input and output);
//  - own fused ops (domain eqopt) run as one kernel when the target does not list them under
//    ops.not_fused and lists their activation; otherwise they cost their definition in standard
//    ops, op by op;
//  - the op class, views and FLOPs come from the op's schema (ir/op_registry.h);
//  - ops the target cannot run run on its host target, and their inputs and outputs cross the
//    host link (bandwidth plus a per-fallback overhead).
// Unknown dims count as 1 (fix them with --input-shape for better estimates).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/shape_inference.h"
#include "targets/target.h"

namespace eqopt::tgt {

// One input of an op: its type, and whether it comes from DRAM whatever its size (a graph input,
// a weight or a constant).
struct TensorArg {
  TensorType type;
  bool offchip = false;
};

struct OpCost {
  double compute_s = 0;   // FLOPs over peak
  double memory_s = 0;    // bytes over bandwidth
  double overhead_s = 0;  // kernel or command overhead, view overhead
  double layout_s = 0;    // layout conversion
  double transfer_s = 0;  // host link, for ops that fall back to the host
  double total_s = 0;
  std::string op_class;   // conv, matmul, elementwise, activation, normalization, pooling,
                          // reduction, softmax, data, other
  bool host = false;      // runs on the host target
  bool expanded = false;  // an own op costed through its definition
};

class CostModel {
 public:
  // Loads the host target (a built-in one, by name) when the description names one.
  explicit CostModel(TargetDescription target);
  CostModel(TargetDescription target, std::shared_ptr<const CostModel> host);

  const TargetDescription& target() const { return target_; }
  const std::string& name() const { return target_.name; }

  // Estimated time of `node` with the given input and output types, on this target.
  OpCost cost(const Node& node, const std::vector<TensorArg>& inputs, const std::vector<TensorType>& outputs) const;
  // Whether the op runs as one kernel here (own ops: listed as fused, activation included).
  bool runs_fused(const Node& node) const;

  // Op class of a node, for efficiency factors and reports.
  static std::string op_class(const Node& node);

 private:
  OpCost native_cost(const Node& node, const std::vector<TensorArg>& inputs, const std::vector<TensorType>& outputs) const;
  OpCost expanded_cost(const Node& node, const std::vector<TensorArg>& inputs, const std::vector<TensorType>& outputs) const;
  double tensor_bytes(const TensorType& t) const;
  double tensor_time(const TensorType& t, bool offchip) const;

  TargetDescription target_;
  std::shared_ptr<const CostModel> host_;
};

// Estimated time of a whole model on a target: the total and the share of each op class.
struct ModelCost {
  double total_s = 0;
  std::map<std::string, double> by_class;
  size_t host_ops = 0;  // ops that fall back to the host
};
// Shapes come from infer_model with `options` (give it a constant folder so computed shapes resolve).
ModelCost estimate_model(const CostModel& model, const Model& m, const InferOptions& options = {});

// A cost model for a built-in target or a description file.
std::shared_ptr<const CostModel> make_cost_model(const std::string& builtin_name);
std::shared_ptr<const CostModel> make_cost_model_from_file(const std::string& path);

}  // namespace eqopt::tgt
