#include "runtime/cpu/dnnl_util.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <dnnl_debug.h>

#include "support/error.h"

namespace eqopt::rt {

memory::data_type dnnl_dtype(DType t) {
  switch (t) {
    case DType::Float: return memory::data_type::f32;
    case DType::Float16: return memory::data_type::f16;
    case DType::BFloat16: return memory::data_type::bf16;
    case DType::Int32: return memory::data_type::s32;
    case DType::Int8: return memory::data_type::s8;
    case DType::UInt8: return memory::data_type::u8;
    default: fail("oneDNN has no element type ", dtype_short_name(t));
  }
}

bool dnnl_supports(DType t) {
  return t == DType::Float || t == DType::Float16 || t == DType::BFloat16 || t == DType::Int32 || t == DType::Int8 ||
         t == DType::UInt8;
}

memory::dims to_dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

memory::desc plain_md(const Shape& shape, DType t) {
  // oneDNN has no rank-0 tensors: a scalar is [1].
  const memory::dims d = shape.empty() ? memory::dims{1} : to_dims(shape);
  memory::dims strides(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(d[i], 1);
  return memory::desc(d, dnnl_dtype(t), strides);
}

namespace {

const std::map<std::string, dnnl_format_tag_t>& tags_by_name() {
  static const std::map<std::string, dnnl_format_tag_t> tags = [] {
    std::map<std::string, dnnl_format_tag_t> m;
    for (int t = int(dnnl_format_tag_undef) + 1; t < int(dnnl_format_tag_last); ++t) {
      const char* name = dnnl_fmt_tag2str(dnnl_format_tag_t(t));
      if (name && *name && m.find(name) == m.end()) m.emplace(name, dnnl_format_tag_t(t));
    }
    m.erase("any");
    return m;
  }();
  return tags;
}

}  // namespace

memory::desc layout_md(const Shape& shape, DType t, const std::string& layout) {
  if (layout.empty()) return plain_md(shape, t);
  const auto& tags = tags_by_name();
  const auto it = tags.find(layout);
  if (it == tags.end()) fail("unknown layout '", layout, "'");
  try {
    return memory::desc(to_dims(shape), dnnl_dtype(t), memory::format_tag(it->second));
  } catch (const dnnl::error&) {
    fail("layout '", layout, "' does not fit a tensor of shape ", shape_str(shape));
  }
}

memory::desc value_md(const PlanValue& v) {
  if (v.md.empty()) return layout_md(v.shape, v.dtype, v.layout);
  if (v.md.size() != sizeof(dnnl_memory_desc_t))
    fail("value '", v.name, "': its layout was recorded by another oneDNN version (compile the model again)");
  dnnl_memory_desc_t c;
  std::memcpy(&c, v.md.data(), sizeof c);
  const memory::desc md(c);
  if (md.get_size() != v.bytes) fail("value '", v.name, "': its recorded layout does not fit its size");
  return md;
}

std::string md_bytes(const memory::desc& md) {
  return std::string(reinterpret_cast<const char*>(&md.data), sizeof md.data);
}

std::string layout_of(const memory::desc& md) {
  const memory::dims d = md.dims();
  Shape shape(d.begin(), d.end());
  DType t = DType::Float;
  switch (md.data_type()) {
    case memory::data_type::f16: t = DType::Float16; break;
    case memory::data_type::bf16: t = DType::BFloat16; break;
    case memory::data_type::s32: t = DType::Int32; break;
    case memory::data_type::s8: t = DType::Int8; break;
    case memory::data_type::u8: t = DType::UInt8; break;
    default: break;
  }
  if (plain_md(shape, t) == md) return "";
  // A tag of another rank throws or differs.
  for (const auto& [name, tag] : tags_by_name()) {
    try {
      if (memory::desc(d, md.data_type(), memory::format_tag(tag)) == md) return name;
    } catch (const dnnl::error&) {
    }
  }
  return "?";
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

int cpu_threads() { return omp_get_max_threads(); }

void set_cpu_threads(int n) { omp_set_num_threads(std::max(1, n)); }

std::string cpu_machine_key() {
  const dnnl_version_t* v = dnnl_version();
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "other"; break;
  }
  return isa + ", oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

}  // namespace eqopt::rt
