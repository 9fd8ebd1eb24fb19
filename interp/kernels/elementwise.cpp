// Elementwise kernels.
#include <algorithm>

#include "interp/kernel_util.h"

namespace eqopt {

namespace {

// out = op(a, b) with broadcasting, for every numeric dtype.
template <class Op>
void binary_numeric(KernelContext& ctx, Op op) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  Tensor& out = ctx.output(0);
  dispatch_numeric(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.mutable_data<T>();
    const std::vector<int64_t> strides[2] = {broadcast_strides(a.shape(), out.shape()),
                                             broadcast_strides(b.shape(), out.shape())};
    for_each_broadcast(out.shape(), strides, [&](int64_t i, const int64_t* o) {
      po[i] = T(op(pa[o[0]], pb[o[1]]));
    });
  });
}

void k_add(KernelContext& ctx) {
  binary_numeric(ctx, [](auto x, auto y) { return x + y; });
}
void k_sub(KernelContext& ctx) {
  binary_numeric(ctx, [](auto x, auto y) { return x - y; });
}
void k_mul(KernelContext& ctx) {
  binary_numeric(ctx, [](auto x, auto y) { return x * y; });
}
void k_div(KernelContext& ctx) {
  if (is_integer(ctx.input(0).dtype())) {
    // Integer division truncates; division by zero is an error, not undefined behaviour.
    binary_numeric(ctx, [&ctx](auto x, auto y) {
      if (y == 0) ctx.fail("integer division by zero");
      return x / y;
    });
    return;
  }
  binary_numeric(ctx, [](auto x, auto y) { return x / y; });
}

void k_relu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& out = ctx.output(0);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* po = out.mutable_data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) po[i] = std::max(px[i], T(0));
  });
}

void k_identity(KernelContext& ctx) { ctx.set_output(0, ctx.input(0)); }

}  // namespace

void register_elementwise_kernels(KernelRegistry& r) {
  r.add("", "Add", k_add);
  r.add("", "Sub", k_sub);
  r.add("", "Mul", k_mul);
  r.add("", "Div", k_div);
  r.add("", "Relu", k_relu);
  r.add("", "Identity", k_identity);
}

}  // namespace eqopt
