// Shape and data-movement kernels.
#include "interp/kernel_util.h"

namespace eqopt {

namespace {

// Reshape never moves data: the output shares the input's buffer with the inferred shape.
void k_reshape(KernelContext& ctx) {
  ctx.set_output(0, ctx.input(0).reshaped(ctx.output(0).shape()));
}

}  // namespace

void register_tensor_kernels(KernelRegistry& r) {
  r.add("", "Reshape", k_reshape);
}

}  // namespace eqopt
