#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "runtime/cpu/dnnl_util.h"
#include "runtime/cpu/kernel.h"
#include "support/error.h"

namespace eqopt::rt {

struct Session::Impl {
  ConstantBytes arena;  // 64-byte aligned, zero-filled
  std::unique_ptr<Buffers> buffers;
  dnnl::stream stream;
  std::vector<std::unique_ptr<CpuKernel>> kernels;
};

Session::Session(Plan plan, const SessionOptions& options) : plan_(std::move(plan)), options_(options) {
  if (options_.threads > 0) set_cpu_threads(options_.threads);
  if (plan_.constants.empty()) plan_.constants.resize(64);  // a valid base pointer
  // Recorded layouts are oneDNN's descriptors: they need the oneDNN the plan was compiled with.
  const auto dnnl_version = [](const std::string& machine) {
    const size_t at = machine.find("oneDNN ");
    return at == std::string::npos ? std::string() : machine.substr(at);
  };
  const bool has_layouts = std::any_of(plan_.values.begin(), plan_.values.end(), [](const PlanValue& v) { return !v.md.empty(); });
  if (has_layouts && dnnl_version(plan_.machine) != dnnl_version(cpu_machine_key()))
    fail("the plan was compiled with ", dnnl_version(plan_.machine), "; this runtime has ", dnnl_version(cpu_machine_key()),
         " (compile the model again)");
  impl_ = std::make_unique<Impl>();
  impl_->arena.resize(size_t(std::max<uint64_t>(plan_.arena_bytes, 1)));
  // The constants are used where they are (64-byte aligned): weights are not copied.
  impl_->buffers = std::make_unique<Buffers>(plan_, impl_->arena.data(), plan_.constants.data());
  impl_->stream = dnnl::stream(cpu_engine());
  for (const PlanKernel& k : plan_.kernels) {
    PrepareContext ctx{k, *impl_->buffers};
    std::unique_ptr<CpuKernel> kernel;
    if (k.impl == "reorder") {
      kernel = prepare_reorder(ctx);
    } else if (k.impl == "interp") {
      kernel = prepare_interp(ctx, plan_.opset);
    } else if (k.impl == "dnnl" || k.impl == "own") {
      const PrepareFn* fn = cpu_kernels(k.impl).find(OpId::of(k.node));
      if (!fn) fail(ctx.where(), "this runtime has no ", k.impl, " kernel for ", OpId::of(k.node).str());
      try {
        kernel = (*fn)(ctx);
      } catch (const dnnl::error& e) {
        fail(ctx.where(), "oneDNN cannot create the kernel: ", e.what());
      }
    } else {
      fail(ctx.where(), "unknown kernel implementation '", k.impl, "'");
    }
    impl_->kernels.push_back(std::move(kernel));
  }
}

Session::~Session() = default;

std::vector<IoInfo> Session::inputs() const {
  std::vector<IoInfo> r;
  for (int32_t i : plan_.inputs) r.push_back({plan_.values[size_t(i)].name, plan_.values[size_t(i)].dtype, plan_.values[size_t(i)].shape});
  return r;
}

std::vector<IoInfo> Session::outputs() const {
  std::vector<IoInfo> r;
  for (int32_t i : plan_.outputs) r.push_back({plan_.values[size_t(i)].name, plan_.values[size_t(i)].dtype, plan_.values[size_t(i)].shape});
  return r;
}

std::vector<Tensor> Session::run(const std::map<std::string, Tensor>& feeds) {
  const Buffers& b = *impl_->buffers;
  for (int32_t i : plan_.inputs) {
    const PlanValue& v = plan_.values[size_t(i)];
    const auto it = feeds.find(v.name);
    if (it == feeds.end()) {
      if (v.storage == Storage::Constant) continue;  // specialised: the plan holds its value
      fail("input '", v.name, "' is not given");
    }
    const Tensor& t = it->second;
    if (t.dtype() != v.dtype || t.shape() != v.shape)
      fail("input '", v.name, "' is ", t.type_str(), "; the plan was compiled for ", dtype_short_name(v.dtype),
           shape_str(v.shape));
    if (t.dtype() == DType::String) fail("input '", v.name, "': string tensors are not supported by compiled plans");
    if (v.storage == Storage::Constant) {
      // An input the plan was specialised for: only its compiled value is accepted.
      if (std::memcmp(b.data(i), t.raw_data(), t.nbytes()) != 0)
        fail("input '", v.name, "' differs from the value the plan was compiled for (compile again for this value)");
      continue;
    }
    std::memcpy(b.data(i), t.raw_data(), t.nbytes());
  }
  for (const auto& [name, t] : feeds)
    if (plan_.find(name) < 0 || std::find(plan_.inputs.begin(), plan_.inputs.end(), plan_.find(name)) == plan_.inputs.end())
      fail("'", name, "' is not an input of the plan");

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (options_.profile) {
    kernel_seconds_.assign(impl_->kernels.size(), 0.0);
    kernel_starts_.assign(impl_->kernels.size(), 0.0);
  }
  for (size_t k = 0; k < impl_->kernels.size(); ++k) {
    const auto t0 = options_.profile ? Clock::now() : Clock::time_point{};
    impl_->kernels[k]->run(impl_->stream);
    if (options_.profile) {
      impl_->stream.wait();
      kernel_seconds_[k] = std::chrono::duration<double>(Clock::now() - t0).count();
      kernel_starts_[k] = std::chrono::duration<double>(t0 - start).count();
    }
  }
  impl_->stream.wait();

  std::vector<Tensor> out;
  for (int32_t i : plan_.outputs) {
    const PlanValue& v = plan_.values[size_t(i)];
    out.push_back(Tensor::from_bytes(v.dtype, v.shape, b.data(i), size_t(shape_numel(v.shape)) * dtype_size(v.dtype)));
  }
  return out;
}

}  // namespace eqopt::rt
