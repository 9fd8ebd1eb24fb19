// The ops the CPU backend runs as oneDNN primitives: one builder per op (OpId), which turns a node
// and the memory descriptors of its inputs and outputs into a primitive descriptor. The lowering
// calls a builder with `format_tag::any` where the layout is the primitive's choice (convolution
// sources and weights, every destination) and reads back what oneDNN chose; the runtime calls the
// same builder with the layouts the plan recorded. One function decides both, so compile and run
// cannot disagree.
#pragma once
#include <vector>

#include <dnnl.hpp>

#include "ir/graph.h"
#include "ir/op_id.h"

namespace eqopt::rt {

struct DnnlBuild {
  dnnl::primitive_desc_base pd;
  // Per node input / output: the DNNL_ARG_* it is passed as, or 0 when the primitive does not take it
  // (a constant the builder folded into attributes).
  std::vector<int> in_args;
  std::vector<int> out_args;
  // An input whose value is copied into the destination before the primitive runs (a sum post-op:
  // FusedConv's residual), or -1.
  int sum_input = -1;
  // Per node input, for constants whose ONNX bytes are not row-major in the primitive's dims: how
  // they are laid out (ConvTranspose's weights are [C_in, C_out, kH, kW], the primitive's dims
  // [C_out, C_in, kH, kW]: tag iohw). A zero descriptor: row-major.
  std::vector<dnnl::memory::desc> source_layouts;
};

// Builds the primitive descriptor of `node`. `in` has one descriptor per node input (a zero
// descriptor for an omitted one), `out` one per output. Throws Error or dnnl::error when the node
// cannot run as a primitive with these descriptors (the lowering then tries another layout or
// another kernel).
using DnnlBuildFn = DnnlBuild (*)(const Node& node, const std::vector<dnnl::memory::desc>& in,
                                  const std::vector<dnnl::memory::desc>& out);

// The builder of an op, or nullptr.
DnnlBuildFn dnnl_builder(const OpId& op);
std::vector<OpId> dnnl_ops();

// Inputs whose layout the primitive chooses (lowering passes `any` for them): convolution source and
// weights, matmul weights when they are constant.
bool dnnl_input_layout_is_chosen(const OpId& op, size_t input);

}  // namespace eqopt::rt
