// Summary figures of a model: op histogram, parameter count, FLOPs.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ir/shape_inference.h"

namespace eqopt {

struct ModelStats {
  std::map<std::string, int64_t> op_histogram;  // subgraph nodes included; "domain.Op" outside ONNX
  int64_t node_count = 0;                       // subgraph nodes included
  int64_t subgraph_count = 0;
  // Weights: elements of initializers that are not graph inputs, plus those of Constant nodes
  // holding float tensors with more than one element (models that store weights as Constants).
  int64_t parameter_count = 0;
  int64_t parameter_bytes = 0;
  // Floating-point operations of one run: a multiply-add counts 2, elementwise ops 1 per output
  // element, data movement 0. If nodes count their costlier branch; Loop bodies count once per
  // known trip. Nodes whose shapes are unknown are left out and counted in flops_unknown_nodes.
  int64_t flops = 0;
  int64_t flops_unknown_nodes = 0;
};

ModelStats compute_stats(const Model& model, const InferenceResult& types);

// FLOPs of one node given its input and output types; nullopt when a needed shape is unknown.
std::optional<int64_t> node_flops(const Node& node, const std::vector<TensorType>& inputs,
                                  const std::vector<TensorType>& outputs);

}  // namespace eqopt
