// eqopt's own CPU kernels, for ops oneDNN does not cover.
//
// Views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout at inference) copy their input's
// bytes when the memory plan could not give them the input's buffer. Unary float32 math that oneDNN
// lacks or computes less exactly than the reference (Log, Erf, HardSigmoid, ...) runs as one
// OpenMP loop per op.
#include <cmath>
#include <cstring>
#include <map>

#include "runtime/cpu/kernel.h"
#include "support/error.h"

namespace eqopt::rt {

namespace {

class CopyKernel : public CpuKernel {
 public:
  CopyKernel(const void* src, void* dst, size_t n) : src_(src), dst_(dst), n_(n) {}
  void run(dnnl::stream& s) override {
    if (src_ == dst_) return;
    s.wait();
    std::memcpy(dst_, src_, n_);
  }

 private:
  const void* src_;
  void* dst_;
  size_t n_;
};

std::unique_ptr<CpuKernel> prepare_view(const PrepareContext& ctx) {
  if (!ctx.has_in(0) || ctx.kernel.outputs.empty()) fail(ctx.where(), "a view has an input and an output");
  const PlanValue &x = ctx.in(0), &y = ctx.out(0);
  if (!x.layout.empty() || !y.layout.empty()) fail(ctx.where(), "views are row-major");
  const size_t n = size_t(shape_numel(x.shape)) * dtype_size(x.dtype);
  if (n != size_t(shape_numel(y.shape)) * dtype_size(y.dtype) || x.dtype != y.dtype)
    fail(ctx.where(), "a view keeps the element count and type");
  return std::make_unique<CopyKernel>(ctx.in_data(0), ctx.out_data(0), n);
}

using UnaryFn = float (*)(float x, float alpha, float beta);

const std::map<std::string, UnaryFn>& unary_ops() {
  static const std::map<std::string, UnaryFn> ops = {
      {"Log", [](float x, float, float) { return std::log(x); }},
      {"Erf", [](float x, float, float) { return std::erf(x); }},
      {"Floor", [](float x, float, float) { return std::floor(x); }},
      {"Ceil", [](float x, float, float) { return std::ceil(x); }},
      {"Reciprocal", [](float x, float, float) { return 1.0f / x; }},
      {"Sin", [](float x, float, float) { return std::sin(x); }},
      {"Cos", [](float x, float, float) { return std::cos(x); }},
      {"Softsign", [](float x, float, float) { return x / (1.0f + std::fabs(x)); }},
      {"HardSigmoid", [](float x, float a, float b) { return std::fmax(0.0f, std::fmin(1.0f, a * x + b)); }},
  };
  return ops;
}

class UnaryKernel : public CpuKernel {
 public:
  UnaryKernel(UnaryFn fn, float alpha, float beta, const float* x, float* y, int64_t n)
      : fn_(fn), alpha_(alpha), beta_(beta), x_(x), y_(y), n_(n) {}
  void run(dnnl::stream& s) override {
    s.wait();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) y_[i] = fn_(x_[i], alpha_, beta_);
  }

 private:
  UnaryFn fn_;
  float alpha_, beta_;
  const float* x_;
  float* y_;
  int64_t n_;
};

std::unique_ptr<CpuKernel> prepare_unary(const PrepareContext& ctx) {
  const Node& n = ctx.kernel.node;
  if (!ctx.has_in(0) || ctx.kernel.outputs.size() != 1) fail(ctx.where(), "a unary op has one input and one output");
  const PlanValue &x = ctx.in(0), &y = ctx.out(0);
  if (x.dtype != DType::Float || y.dtype != DType::Float || x.shape != y.shape || !x.layout.empty() || !y.layout.empty())
    fail(ctx.where(), "own unary kernels take row-major float32 of one shape");
  const bool hs = n.op_type == "HardSigmoid";
  return std::make_unique<UnaryKernel>(unary_ops().at(n.op_type), hs ? n.attr_float("alpha", 0.2f) : 0.0f,
                                       hs ? n.attr_float("beta", 0.5f) : 0.0f, static_cast<const float*>(ctx.in_data(0)),
                                       static_cast<float*>(ctx.out_data(0)), shape_numel(x.shape));
}

// Data movement with static shapes as a gather by precomputed tables: output k's element i is the
// input's element table_k[i] (the lowering derives the tables from the op; see
// lowering/cpu_compile.cpp, "table gathers"). Inputs: the data, then one int32 table per output.
class TableGatherKernel : public CpuKernel {
 public:
  struct Part {
    const int32_t* table;
    uint8_t* out;
    int64_t n;
  };
  TableGatherKernel(const uint8_t* in, size_t elem, std::vector<Part> parts) : in_(in), elem_(elem), parts_(std::move(parts)) {}
  void run(dnnl::stream& s) override {
    s.wait();
    for (const Part& p : parts_) {
      switch (elem_) {
        case 4: copy<uint32_t>(p); break;
        case 8: copy<uint64_t>(p); break;
        case 2: copy<uint16_t>(p); break;
        default: copy<uint8_t>(p); break;
      }
    }
  }

 private:
  template <class T>
  void copy(const Part& p) const {
    const T* x = reinterpret_cast<const T*>(in_);
    T* y = reinterpret_cast<T*>(p.out);
#pragma omp parallel for schedule(static) if (p.n > 65536)
    for (int64_t i = 0; i < p.n; ++i) y[i] = x[p.table[i]];
  }
  const uint8_t* in_;
  size_t elem_;
  std::vector<Part> parts_;
};

std::unique_ptr<CpuKernel> prepare_table_gather(const PrepareContext& ctx) {
  const PlanKernel& k = ctx.kernel;
  if (k.inputs.size() != k.outputs.size() + 1 || !ctx.has_in(0)) fail(ctx.where(), "a table gather takes the data and one table per output");
  const PlanValue& x = ctx.in(0);
  if (!x.layout.empty()) fail(ctx.where(), "a table gather reads a row-major input");
  const size_t elem = dtype_size(x.dtype);
  const int64_t in_n = shape_numel(x.shape);
  std::vector<TableGatherKernel::Part> parts;
  for (size_t o = 0; o < k.outputs.size(); ++o) {
    const PlanValue &t = ctx.in(o + 1), &y = ctx.out(o);
    const int64_t n = shape_numel(y.shape);
    if (t.dtype != DType::Int32 || shape_numel(t.shape) != n || y.dtype != x.dtype || !y.layout.empty() ||
        t.storage != Storage::Constant)
      fail(ctx.where(), "table ", o, " does not fit output ", o);
    const int32_t* table = static_cast<const int32_t*>(ctx.in_data(o + 1));
    for (int64_t i = 0; i < n; ++i)
      if (table[i] < 0 || table[i] >= in_n) fail(ctx.where(), "table ", o, " points outside the input");
    parts.push_back({table, static_cast<uint8_t*>(ctx.out_data(o)), n});
  }
  return std::make_unique<TableGatherKernel>(static_cast<const uint8_t*>(ctx.in_data(0)), elem, std::move(parts));
}

}  // namespace

bool own_unary_op(const std::string& op) { return unary_ops().count(op) > 0; }

const std::vector<std::string>& table_gather_ops() {
  static const std::vector<std::string> ops = {"Resize",    "Upsample",      "Slice",        "Gather",     "GatherElements",
                                               "GatherND",  "Expand",        "Tile",         "Split",      "DepthToSpace",
                                               "SpaceToDepth", "Transpose", "ReverseSequence", "Compress", "CenterCropPad"};
  return ops;
}

void register_own_kernels(CpuKernelRegistry& r) {
  for (const std::string& op : table_gather_ops()) r.add(OpId("", op), prepare_table_gather);
  for (const auto& [op, fn] : unary_ops()) r.add(OpId("", op), prepare_unary);
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})
    r.add(OpId("", op), prepare_view);
}

}  // namespace eqopt::rt
