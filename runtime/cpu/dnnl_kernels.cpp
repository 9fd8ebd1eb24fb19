// The "dnnl" kernels of the CPU runtime: every op with a oneDNN builder (runtime/cpu/dnnl_ops.h)
// is prepared the same way: the builder gets the memory descriptors the plan recorded, the
// primitive is created once, and its arguments are bound to the arena and the constants.
#include <optional>

#include "runtime/cpu/dnnl_ops.h"
#include "runtime/cpu/dnnl_util.h"
#include "runtime/cpu/kernel.h"
#include "support/error.h"

namespace eqopt::rt {

namespace {

class DnnlKernel : public CpuKernel {
 public:
  DnnlKernel(dnnl::primitive p, std::unordered_map<int, memory> args, std::optional<dnnl::reorder> pre,
             memory pre_src, memory pre_dst)
      : prim_(std::move(p)), args_(std::move(args)), pre_(std::move(pre)), pre_src_(pre_src), pre_dst_(pre_dst) {}
  void run(dnnl::stream& s) override {
    if (pre_) pre_->execute(s, pre_src_, pre_dst_);
    prim_.execute(s, args_);
  }

 private:
  dnnl::primitive prim_;
  std::unordered_map<int, memory> args_;
  std::optional<dnnl::reorder> pre_;
  memory pre_src_, pre_dst_;
};

std::unique_ptr<CpuKernel> prepare_dnnl(const PrepareContext& ctx) {
  const PlanKernel& k = ctx.kernel;
  std::vector<memory::desc> in, out;
  for (size_t i = 0; i < k.inputs.size(); ++i) in.push_back(ctx.has_in(i) ? value_md(ctx.in(i)) : memory::desc());
  for (size_t o = 0; o < k.outputs.size(); ++o) out.push_back(value_md(ctx.out(o)));
  const DnnlBuildFn build = dnnl_builder(OpId::of(k.node));
  if (!build) fail(ctx.where(), "no oneDNN builder");
  const DnnlBuild b = build(k.node, in, out);
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < b.in_args.size() && i < k.inputs.size(); ++i) {
    if (b.in_args[i] == 0 || !ctx.has_in(i)) continue;
    const memory::desc md = b.pd.query_md(dnnl::query::exec_arg_md, b.in_args[i]);
    if (md.get_size() != in[i].get_size())
      fail(ctx.where(), "input ", i, " ('", ctx.in(i).name, "') has another size than the primitive reads");
    args.emplace(b.in_args[i], memory(md, cpu_engine(), ctx.in_data(i)));
  }
  for (size_t o = 0; o < b.out_args.size() && o < k.outputs.size(); ++o) {
    const memory::desc md = b.pd.query_md(dnnl::query::exec_arg_md, b.out_args[o]);
    if (md != out[o] && md.get_size() != out[o].get_size())
      fail(ctx.where(), "output ", o, " ('", ctx.out(o).name, "') has another layout than the primitive writes");
    args.emplace(b.out_args[o], memory(md, cpu_engine(), ctx.out_data(o)));
  }
  const memory::desc scratch = b.pd.scratchpad_desc();
  if (scratch.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratch, cpu_engine()));
  std::optional<dnnl::reorder> pre;
  memory pre_src, pre_dst;
  if (b.sum_input >= 0) {
    if (!ctx.has_in(size_t(b.sum_input))) fail(ctx.where(), "the summed input is missing");
    pre_dst = args.at(DNNL_ARG_DST);
    memory::desc z = in[size_t(b.sum_input)];
    if (z.dims() != pre_dst.get_desc().dims()) z = z.reshape(pre_dst.get_desc().dims());  // [M, N] into [1, M, N]
    pre_src = memory(z, cpu_engine(), ctx.in_data(size_t(b.sum_input)));
    if (pre_src.get_data_handle() != pre_dst.get_data_handle()) pre = dnnl::reorder(pre_src, pre_dst);
  }
  return std::make_unique<DnnlKernel>(dnnl::primitive(b.pd.get()), std::move(args), std::move(pre), pre_src, pre_dst);
}

}  // namespace

void register_dnnl_kernels(CpuKernelRegistry& r) {
  for (const OpId& op : dnnl_ops()) r.add(op, prepare_dnnl);
}

}  // namespace eqopt::rt
