// Compiling a model for the CPU runtime: Graph -> rt::Plan (runtime/plan.h).
//
// Every node becomes one kernel, chosen in this order (docs/cpu.md):
//  1. a oneDNN primitive (runtime/cpu/dnnl_ops.h), float32. Convolutions choose the layouts of
//     their source, weights and destination (format_tag::any: blocked nChw16c and kin on AVX-512);
//     the ops after them take the layout they are given (eltwise, binary, pooling, batch
//     normalization, concat, softmax), so blocked tensors flow through a CNN with reorders only
//     where a consumer needs another layout. Weights are packed once, here, into the chosen layout.
//  2. eqopt's own kernel (runtime/cpu/own_kernels.cpp), row-major;
//  3. the reference interpreter's kernel, row-major: the last resort, listed in the report.
// Nodes whose inputs are all constant are folded here. The memory plan places every activation in
// one arena: buffers whose lifetimes do not overlap share bytes (greedy by size, as in TFLite's
// arena planner; Pisarchyk and Lee, "Efficient Memory Management for Deep Neural Net Inference",
// 2020).
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>

#include "ir/shape_inference.h"
#include "runtime/plan.h"

namespace eqopt::lower {

struct CpuCompileOptions {
  // Dims for graph inputs whose declared dims are symbolic or unknown (a plan has static shapes).
  std::map<std::string, Dims> input_dims;
  // Inputs whose values the plan is specialised for (shape inputs: Reshape's shape, Slice's starts):
  // they are constants inside the plan, which refuses to run with other values.
  std::map<std::string, Tensor> input_values;
  // Let convolutions choose blocked layouts (false: everything row-major).
  bool blocked_layouts = true;
  // Ops (OpId spelling: "Conv", "eqopt.FusedConv") to run on the reference interpreter whatever
  // kernel they have: for bisecting a wrong result to one kernel.
  std::set<std::string> interp_ops;
  // Called after each node: (done, total).
  std::function<void(size_t, size_t)> progress;
};

struct CpuCompileReport {
  size_t nodes = 0;    // nodes of the main graph
  size_t folded = 0;   // ... folded into constants
  size_t kernels = 0;  // kernels of the plan, reorders included
  size_t dnnl = 0, own = 0, reorders = 0, interp = 0;
  size_t table_gathers = 0;  // ... of the own kernels: data movement as gathers by precomputed tables
  std::map<std::string, size_t> interp_ops;  // op -> nodes the interpreter runs
  size_t in_place = 0;             // outputs that share their input's bytes (views, eltwise, sums)
  uint64_t arena_bytes = 0;        // peak activation memory: the arena
  uint64_t activation_bytes = 0;   // every activation's bytes summed (what the arena saves on)
  uint64_t constant_bytes = 0;     // pre-packed weights and other constants
  double seconds = 0;
  std::string machine;
};

// Compiles the model's main graph. Throws Error naming the node or input when it cannot: an input
// whose dims stay unknown, an output whose shape depends on data.
rt::Plan compile_cpu(const Model& model, const CpuCompileOptions& options = {}, CpuCompileReport* report = nullptr);

}  // namespace eqopt::lower
