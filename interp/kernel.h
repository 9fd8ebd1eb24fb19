// What a kernel of the reference interpreter sees, and the table of kernels.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "ir/kernel_registry.h"

namespace eqopt {

// Runs a subgraph (If branch, Loop body) with the given formal inputs; outer-scope names resolve
// in the calling graph's environment.
using SubgraphRunner = std::function<std::vector<Tensor>(const Graph&, const std::vector<Tensor>&)>;

class KernelContext {
 public:
  KernelContext(const Node& node, int64_t opset, std::vector<const Tensor*> inputs,
                std::vector<Tensor> outputs, SubgraphRunner runner)
      : node_(node),
        opset_(opset),
        inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        runner_(std::move(runner)) {}

  const Node& node() const { return node_; }
  int64_t opset() const { return opset_; }

  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const {
    if (!has_input(i)) fail("input ", i, " is required but missing");
    return *inputs_[i];
  }

  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  // Pre-allocated (zero-filled) with the shape and dtype inference computed.
  Tensor& output(size_t i) {
    if (i >= outputs_.size()) fail("output ", i, " does not exist");
    if (!outputs_[i].defined()) fail("output ", i, " has no inferred shape; the kernel must set it");
    return outputs_[i];
  }
  // Replaces an output (zero-copy results, or shapes that depend on data).
  void set_output(size_t i, Tensor t) {
    if (i < outputs_.size()) outputs_[i] = std::move(t);
  }
  std::vector<Tensor>& outputs() { return outputs_; }

  std::vector<Tensor> run_subgraph(const Graph& g, const std::vector<Tensor>& inputs) const {
    if (!runner_) fail("cannot run subgraphs here");
    return runner_(g, inputs);
  }

  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    eqopt::fail(node_.label(), ": ", parts...);
  }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
  SubgraphRunner runner_;
};

using KernelFn = void (*)(KernelContext&);

// The reference interpreter's kernels, one per op (ir/kernel_registry.h).
using InterpreterKernels = KernelRegistry<KernelFn>;
const InterpreterKernels& interpreter_kernels();
// The interpreter's kernel of a node's op, or nullptr.
KernelFn interpreter_kernel(const Node& node);

// One registration function per kernel file (kernels/*.cpp).
void register_elementwise_kernels(InterpreterKernels& r);
void register_tensor_kernels(InterpreterKernels& r);
void register_nn_kernels(InterpreterKernels& r);
void register_math_kernels(InterpreterKernels& r);
void register_rnn_kernels(InterpreterKernels& r);
void register_control_kernels(InterpreterKernels& r);

}  // namespace eqopt
