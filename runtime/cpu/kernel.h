// The CPU runtime's kernels: one registry keyed by op (OpId) per implementation ("dnnl": oneDNN
// primitives; "own": eqopt's own kernels). A kernel is prepared once when a plan is loaded (its
// primitive created, its arguments bound to the arena and the constants) and then run many times.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "ir/kernel_registry.h"
#include "ir/op_id.h"
#include "runtime/plan.h"

namespace eqopt::rt {

// Where every value of the plan lives while it runs.
class Buffers {
 public:
  Buffers(const Plan& plan, uint8_t* arena, uint8_t* constants) : plan_(plan), arena_(arena), constants_(constants) {}
  void* data(int32_t v) const {
    if (v < 0) return nullptr;
    const PlanValue& pv = plan_.values[size_t(v)];
    return (pv.storage == Storage::Arena ? arena_ : constants_) + pv.offset;
  }
  const PlanValue& value(int32_t v) const { return plan_.values[size_t(v)]; }
  const Plan& plan() const { return plan_; }

 private:
  const Plan& plan_;
  uint8_t* arena_;
  uint8_t* constants_;
};

class CpuKernel {
 public:
  virtual ~CpuKernel() = default;
  virtual void run(dnnl::stream& stream) = 0;
};

// What a kernel is prepared from.
struct PrepareContext {
  const PlanKernel& kernel;
  const Buffers& buffers;
  const PlanValue& in(size_t i) const { return buffers.value(kernel.inputs.at(i)); }
  const PlanValue& out(size_t i) const { return buffers.value(kernel.outputs.at(i)); }
  bool has_in(size_t i) const { return i < kernel.inputs.size() && kernel.inputs[i] >= 0; }
  void* in_data(size_t i) const { return buffers.data(kernel.inputs.at(i)); }
  void* out_data(size_t i) const { return buffers.data(kernel.outputs.at(i)); }
  // "kernel 12 'conv1' (Conv): " for messages.
  std::string where() const;
};

using PrepareFn = std::unique_ptr<CpuKernel> (*)(const PrepareContext&);

// The kernels of one implementation, keyed by op (ir/kernel_registry.h).
using CpuKernelRegistry = KernelRegistry<PrepareFn>;

// The registries by implementation name ("dnnl", "own").
const CpuKernelRegistry& cpu_kernels(const std::string& impl);

// Kernels that need no per-op entry.
std::unique_ptr<CpuKernel> prepare_reorder(const PrepareContext& ctx);
std::unique_ptr<CpuKernel> prepare_interp(const PrepareContext& ctx, int64_t opset);

void register_dnnl_kernels(CpuKernelRegistry& r);  // runtime/cpu/dnnl_kernels.cpp
void register_own_kernels(CpuKernelRegistry& r);   // runtime/cpu/own_kernels.cpp
// Whether `op` (default domain) has an own float32 unary kernel.
bool own_unary_op(const std::string& op);
// Default-domain data-movement ops that may run as table gathers (own_kernels.cpp).
const std::vector<std::string>& table_gather_ops();

}  // namespace eqopt::rt
