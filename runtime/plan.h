// A compiled plan: what the CPU backend runs, written by lowering/ (compile) and read by runtime/
// (run). It holds the kernel sequence with each kernel's parameters and the layouts of its tensors,
// a static memory plan (one arena, offsets chosen by liveness) and the weights, pre-packed in the
// layouts their kernels want. Loading it needs no optimizer, Z3 or CBC.
//
// The file format (docs/cpu.md, "Plan files") is versioned: a 32-byte header (magic "EQOPTPLN",
// format version, flags, body size, FNV-1a 64 checksum of the body), then the body in a
// little-endian tag-free encoding. A truncated, corrupt or foreign file is refused with one line.
#pragma once
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eqopt::rt {

inline constexpr uint32_t kPlanFormatVersion = 1;

// 64-byte aligned storage for the plan's constants, so that a session runs on them in place.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};
using ConstantBytes = std::vector<uint8_t, AlignedAllocator<uint8_t>>;

// Where a value's bytes live while the plan runs.
enum class Storage : uint8_t {
  Arena = 0,     // the plan's arena, at `offset` (activations, graph inputs and outputs)
  Constant = 1,  // the plan's constant blob, at `offset` (weights, pre-packed)
};

struct PlanValue {
  // The ONNX value's name; a copy of it in another layout is named NAME@LAYOUT ("x@nChw16c",
  // "x@plain"), see onnx_name().
  std::string name;
  DType dtype = DType::Float;
  Shape shape;         // logical dims, in ONNX's order (NCHW for images)
  // "" row-major; else the name of the oneDNN format tag that describes it ("nChw16c", "acdb",
  // "Acdb32a"), for reports, and `md`, oneDNN's memory descriptor as bytes: the exact layout (tags can
  // be ambiguous: for 1x1 kernels Abcd32a and Acdb32a are the same bytes, yet oneDNN picks its
  // kernel by the descriptor it is given).
  std::string layout;
  std::string md;
  Storage storage = Storage::Arena;
  uint64_t offset = 0;
  uint64_t bytes = 0;  // size in its layout, padding of blocked layouts included
};

struct PlanKernel {
  // How it runs: "dnnl" (a oneDNN primitive), "own" (eqopt's own kernel), "reorder" (a layout
  // change), "interp" (the reference interpreter's kernel: the last resort).
  std::string impl;
  Node node;                     // op, domain and attributes: the kernel's parameters
  std::vector<int32_t> inputs;   // value indices; -1 for an omitted optional input
  std::vector<int32_t> outputs;  // value indices
  double flops = 0;              // for profiles
  double estimate_s = 0;         // the cost model's estimate, 0 when none
};

struct Plan {
  std::string producer;  // "eqopt plan compiler 1"
  std::string machine;   // the CPU the layouts were chosen for ("avx512_core", ...)
  int64_t opset = 17;    // default-domain opset the nodes are written in
  std::vector<PlanValue> values;
  // Graph inputs, row-major: in the arena, or Constant for an input whose value the plan was
  // specialised for (a run must give exactly that value).
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;  // graph outputs (row-major, arena)
  std::vector<PlanKernel> kernels;
  uint64_t arena_bytes = 0;
  ConstantBytes constants;  // every Constant value's bytes, 64-byte aligned offsets

  // A value index by name, or -1.
  int32_t find(const std::string& name) const;
};

// The ONNX name of a plan value (its name without an "@LAYOUT" suffix).
std::string onnx_name(const PlanValue& v);

// Serialises the plan (docs/cpu.md); the file is written atomically.
std::string plan_to_bytes(const Plan& plan);
void save_plan(const Plan& plan, const std::string& path);

// Reads a plan. Throws Error with one line naming the file on a foreign, truncated, corrupt or
// newer-format file, and on a plan whose indices or offsets point outside it.
Plan plan_from_bytes(const std::string& bytes, const std::string& where);
Plan load_plan(const std::string& path);

// Whether the file starts with the plan magic.
bool is_plan_file(const std::string& path);

}  // namespace eqopt::rt
