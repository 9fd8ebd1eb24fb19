// Kernels that need no per-op entry: layout changes (oneDNN reorders) and the reference
// interpreter's kernel for ops no faster kernel covers (the last resort; the compile report lists
// them per model).
#include <cstring>

#include "interp/interpreter.h"
#include "runtime/cpu/dnnl_util.h"
#include "runtime/cpu/kernel.h"
#include "support/error.h"

namespace eqopt::rt {

std::string PrepareContext::where() const {
  return "kernel '" + kernel.node.name + "' (" + OpId::of(kernel.node).str() + "): ";
}

const CpuKernelRegistry& cpu_kernels(const std::string& impl) {
  static const CpuKernelRegistry dnnl_registry = [] {
    CpuKernelRegistry r;
    register_dnnl_kernels(r);
    return r;
  }();
  static const CpuKernelRegistry own_registry = [] {
    CpuKernelRegistry r;
    register_own_kernels(r);
    return r;
  }();
  static const CpuKernelRegistry none;
  if (impl == "dnnl") return dnnl_registry;
  if (impl == "own") return own_registry;
  return none;
}

namespace {

class PrimitiveKernel : public CpuKernel {
 public:
  PrimitiveKernel(dnnl::primitive p, std::unordered_map<int, memory> args) : prim_(std::move(p)), args_(std::move(args)) {}
  void run(dnnl::stream& s) override { prim_.execute(s, args_); }

 private:
  dnnl::primitive prim_;
  std::unordered_map<int, memory> args_;
};

class InterpKernel : public CpuKernel {
 public:
  InterpKernel(const PrepareContext& ctx, int64_t opset) : k_(ctx.kernel), b_(ctx.buffers), opset_(opset) {
    for (int32_t i : k_.inputs)
      if (i >= 0 && !b_.value(i).layout.empty())
        fail(ctx.where(), "the interpreter reads row-major inputs; '", b_.value(i).name, "' is ", b_.value(i).layout);
    for (int32_t o : k_.outputs)
      if (!b_.value(o).layout.empty())
        fail(ctx.where(), "the interpreter writes row-major outputs; '", b_.value(o).name, "' is ", b_.value(o).layout);
  }
  void run(dnnl::stream& s) override {
    s.wait();  // oneDNN kernels before this one have finished writing
    std::vector<Tensor> in(k_.inputs.size());
    std::vector<const Tensor*> ptrs(k_.inputs.size(), nullptr);
    for (size_t i = 0; i < k_.inputs.size(); ++i) {
      const int32_t v = k_.inputs[i];
      if (v < 0) continue;
      const PlanValue& pv = b_.value(v);
      in[i] = Tensor::from_bytes(pv.dtype, pv.shape, b_.data(v), size_t(shape_numel(pv.shape)) * dtype_size(pv.dtype));
      ptrs[i] = &in[i];
    }
    // Inputs past the node's own are the values its subgraphs read from the enclosing graph.
    SubgraphRunner runner;
    if (k_.inputs.size() > k_.node.inputs.size()) {
      std::unordered_map<std::string, Tensor> outer;
      for (size_t i = k_.node.inputs.size(); i < k_.inputs.size(); ++i) outer[onnx_name(b_.value(k_.inputs[i]))] = in[i];
      const int64_t opset = opset_;
      runner = make_subgraph_runner([opset](const std::string& d) { return is_default_domain(d) ? opset : 1; },
                                    std::move(outer));
    }
    std::vector<const Tensor*> own(ptrs.begin(), ptrs.begin() + long(std::min(ptrs.size(), k_.node.inputs.size())));
    const std::vector<Tensor> out = evaluate_node(k_.node, opset_, own, runner);
    for (size_t o = 0; o < k_.outputs.size() && o < out.size(); ++o) {
      const PlanValue& pv = b_.value(k_.outputs[o]);
      if (out[o].dtype() != pv.dtype || out[o].shape() != pv.shape)
        fail("kernel '", k_.node.name, "' (", k_.node.op_type, "): output ", o, " is ", out[o].type_str(),
             "; the plan expects ", dtype_short_name(pv.dtype), shape_str(pv.shape));
      std::memcpy(b_.data(k_.outputs[o]), out[o].raw_data(), out[o].nbytes());
    }
  }

 private:
  const PlanKernel& k_;
  const Buffers& b_;
  int64_t opset_;
};

}  // namespace

std::unique_ptr<CpuKernel> prepare_reorder(const PrepareContext& ctx) {
  if (ctx.kernel.inputs.size() != 1 || ctx.kernel.outputs.size() != 1 || ctx.kernel.inputs[0] < 0)
    fail(ctx.where(), "a reorder has one input and one output");
  const memory src(value_md(ctx.in(0)), cpu_engine(), ctx.in_data(0));
  const memory dst(value_md(ctx.out(0)), cpu_engine(), ctx.out_data(0));
  if (src.get_desc().dims() != dst.get_desc().dims()) fail(ctx.where(), "a reorder keeps the shape");
  return std::make_unique<PrimitiveKernel>(dnnl::reorder(src, dst),
                                           std::unordered_map<int, memory>{{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

std::unique_ptr<CpuKernel> prepare_interp(const PrepareContext& ctx, int64_t opset) {
  return std::make_unique<InterpKernel>(ctx, opset);
}

}  // namespace eqopt::rt
