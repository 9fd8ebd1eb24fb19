// The reference interpreter: runs a Model node by node on plain C++ kernels. It is the golden model
// every later check compares against, so each kernel favours clarity over speed.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "interp/kernel.h"
#include "ir/shape_inference.h"

namespace eqopt {

struct UnsupportedOp {
  std::string domain;
  std::string op_type;
  std::string where;  // label of the first node using it
};

class Interpreter {
 public:
  // Validates the graph structure; throws Error on dangling edges, cycles and the like.
  explicit Interpreter(const Model& model);

  // Ops (including those inside subgraphs) that have no kernel.
  std::vector<UnsupportedOp> unsupported_ops() const;

  // Runs the main graph. `feeds` must hold every graph input that is not an initializer (and may
  // override initializers that are also inputs). Returns outputs in graph output order. Throws Error
  // naming the node on shape errors, unsupported ops and bad feeds.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& feeds) const;

  const Model& model() const { return model_; }

 private:
  const Model& model_;
};

// Runs one node on concrete inputs (inputs[i] == nullptr for omitted ones). Used by the interpreter
// and by constant folding. `runner` may be empty when the node has no subgraphs.
std::vector<Tensor> evaluate_node(const Node& node, int64_t opset,
                                  const std::vector<const Tensor*>& inputs,
                                  const SubgraphRunner& runner = nullptr);

// A runner for the subgraphs of a node evaluated outside a model run (the CPU runtime's last-resort
// kernel for If/Loop/Scan): subgraph nodes run at the opsets `opset_of` gives for their domains, and
// names from outside the subgraphs resolve in `outer`.
SubgraphRunner make_subgraph_runner(std::function<int64_t(const std::string& domain)> opset_of,
                                    std::unordered_map<std::string, Tensor> outer);

// Runs a node through its definition in standard ops (OpSchema::expand, ir/expand.h), the emitted
// default-domain nodes at `opset`. The interpreter runs ops that have a definition but no kernel
// (eqopt's own ops) this way, at kLatestOpset; tests compare definitions with kernels through it.
std::vector<Tensor> evaluate_expansion(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs);

// Constant folding for shape inference, backed by the interpreter's kernels.
class InterpreterFolder : public ConstantFolder {
 public:
  std::optional<std::vector<Tensor>> fold(const Node& node, int64_t opset,
                                          const std::vector<const Tensor*>& inputs) const override;
};

// Checks a tensor against a declared type: dtype equal, rank equal, known dims equal.
// Returns an empty string when it fits, else a description of the mismatch.
std::string type_mismatch(const TensorType& declared, const Tensor& value);

}  // namespace eqopt
