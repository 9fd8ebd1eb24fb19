// oneDNN helpers shared by the CPU runtime and the CPU lowering: memory descriptors of plan values,
// layout names (oneDNN's format tags, spelt as oneDNN spells them), the engine and stream, threads.
#pragma once
#include <string>

#include <dnnl.hpp>

#include "ir/tensor.h"
#include "runtime/plan.h"

namespace eqopt::rt {

using dnnl::memory;

memory::data_type dnnl_dtype(DType t);  // throws Error for element types oneDNN lacks
bool dnnl_supports(DType t);
memory::dims to_dims(const Shape& s);

// Row-major descriptor (explicit strides) of a shape; a scalar is seen as [1].
memory::desc plain_md(const Shape& shape, DType t);
// The descriptor of a layout: "" is row-major; anything else must be a oneDNN format tag's name.
// Throws Error naming the layout when it is unknown or does not fit the rank.
memory::desc layout_md(const Shape& shape, DType t, const std::string& layout);
// The descriptor of a plan value (from its recorded descriptor bytes when it has a layout). Throws
// Error when the bytes do not fit this oneDNN.
memory::desc value_md(const PlanValue& v);
// A descriptor as bytes (PlanValue::md) and back.
std::string md_bytes(const memory::desc& md);
// The name of the format tag that describes `md` ("nChw16c", "OIhw16i16o", ...), "" when it is
// row-major, "?" when no tag matches.
std::string layout_of(const memory::desc& md);

// The process-wide CPU engine and one stream on it.
dnnl::engine& cpu_engine();

// OpenMP threads oneDNN's CPU runtime uses, and a way to set them in process (the OpenMP runtime
// reads OMP_NUM_THREADS when it loads; setting the variable later has no effect).
int cpu_threads();
void set_cpu_threads(int n);
// The machine key layouts are chosen for: oneDNN's ISA ("avx512_core", ...) and version.
std::string cpu_machine_key();

}  // namespace eqopt::rt
