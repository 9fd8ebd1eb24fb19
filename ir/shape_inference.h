// Whole-graph structure checks and shape/dtype inference.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"

namespace eqopt {

// Order in which a graph's nodes can run. Throws Error naming the node for a value that nothing
// produces (a dangling edge), a value produced twice, or a cycle. `outer` holds the names visible
// from enclosing graphs (for If/Loop bodies).
std::vector<size_t> topological_order(const Graph& graph, const std::set<std::string>& outer = {});

// Checks the whole model, subgraphs included (see topological_order), plus graph outputs that are
// never produced and attribute kinds the IR cannot hold. Throws Error.
void validate_model(const Model& model);

// Evaluates a node whose inputs are all constant; implemented by the reference interpreter and
// handed to inference so that shape computations (Shape -> Gather -> Concat -> Reshape) resolve.
class ConstantFolder {
 public:
  virtual ~ConstantFolder() = default;
  // Returns nullopt when the node cannot be evaluated (unknown op, unsupported type).
  virtual std::optional<std::vector<Tensor>> fold(const Node& node, int64_t opset,
                                                  const std::vector<const Tensor*>& inputs) const = 0;
};

struct InferOptions {
  // Dims for graph inputs, replacing the declared (possibly symbolic) ones.
  std::map<std::string, Dims> input_dims;
  const ConstantFolder* folder = nullptr;
  // Only nodes whose constant inputs hold at most this many elements in total are folded.
  int64_t fold_max_elements = 1 << 16;
};

struct GraphTypes {
  std::unordered_map<std::string, TensorType> types;
  std::unordered_map<std::string, Tensor> values;  // constants and folded values
};

struct InferenceResult {
  std::map<const Graph*, GraphTypes> graphs;  // main graph and every subgraph reached
  std::vector<std::string> warnings;          // declared types that disagree with inferred ones
  const Model* model = nullptr;

  const GraphTypes& main() const { return graphs.at(&model->graph); }
  const TensorType* type_of(const std::string& name) const;  // in the main graph
};

// Infers every value's type. Throws Error naming the node on inconsistent shapes or dtypes, and
// naming the input when an input_dims override does not fit the declared type.
InferenceResult infer_model(const Model& model, const InferOptions& options = {});

// Writes inferred types into the model that `result` was computed from (the same object): graph input dims from the overrides, refined output types,
// and value_info for every intermediate value (subgraphs included).
void annotate_model(Model& model, const InferenceResult& result);

// Combines a declared type with an inferred one, keeping the more precise dims.
TensorType refine_type(const TensorType& declared, const TensorType& inferred);

// Parses "1x3x224x224" (or "1,3,224,224"); a dim may be a name or "?" to stay dynamic.
Dims parse_dims(const std::string& text);

}  // namespace eqopt
