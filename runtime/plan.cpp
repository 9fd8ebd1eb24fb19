#include "runtime/plan.h"

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include "onnx_io/onnx_io.h"
#include "support/error.h"

namespace eqopt::rt {

namespace {

constexpr char kMagic[8] = {'E', 'Q', 'O', 'P', 'T', 'P', 'L', 'N'};
constexpr size_t kHeaderSize = 32;  // magic, u32 version, u32 flags, u64 body size, u64 checksum
// Nesting of subgraphs (If/Loop bodies) a plan may hold.
constexpr int kMaxDepth = 64;

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= uint8_t(p[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

// ---------------------------------------------------------------- writer

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f64(double v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void str(const std::string& s) {
    u64(s.size());
    out_.append(s);
  }
  void ints(const std::vector<int64_t>& v) {
    u64(v.size());
    for (int64_t x : v) i64(x);
  }
  void idx(const std::vector<int32_t>& v) {
    u64(v.size());
    for (int32_t x : v) u32(uint32_t(x));
  }
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }

  void tensor(const Tensor& t) {
    u32(uint32_t(t.dtype()));
    ints(t.shape());
    if (t.dtype() == DType::String) {
      u64(t.strings().size());
      for (const std::string& s : t.strings()) str(s);
    } else {
      u64(t.nbytes());
      raw(t.raw_data(), t.nbytes());
    }
  }

  void type(const TensorType& t) {
    u32(uint32_t(t.dtype));
    u8(t.dims ? 1 : 0);
    if (!t.dims) return;
    u64(t.dims->size());
    for (const Dim& d : *t.dims) {
      i64(d.value);
      str(d.param);
    }
  }

  void attribute(const Attribute& a) {
    str(a.name);
    u32(uint32_t(a.kind));
    using K = Attribute::Kind;
    switch (a.kind) {
      case K::Float: f32(a.f); break;
      case K::Int: i64(a.i); break;
      case K::String: str(a.s); break;
      case K::Tensor: tensor(a.t); break;
      case K::Graph: graph(*a.g); break;
      case K::Floats:
        u64(a.floats.size());
        for (float x : a.floats) f32(x);
        break;
      case K::Ints: ints(a.ints); break;
      case K::Strings:
        u64(a.strings.size());
        for (const std::string& s : a.strings) str(s);
        break;
      case K::Tensors:
        u64(a.tensors.size());
        for (const Tensor& t : a.tensors) tensor(t);
        break;
      case K::Graphs:
        u64(a.graphs.size());
        for (const auto& g : a.graphs) graph(*g);
        break;
      case K::Opaque: str(a.opaque); break;
    }
  }

  void node(const Node& n) {
    str(n.name);
    str(n.op_type);
    str(n.domain);
    u64(n.inputs.size());
    for (const std::string& s : n.inputs) str(s);
    u64(n.outputs.size());
    for (const std::string& s : n.outputs) str(s);
    u64(n.attributes.size());
    for (const Attribute& a : n.attributes) attribute(a);
  }

  void value_info(const ValueInfo& v) {
    str(v.name);
    type(v.type);
  }

  void graph(const Graph& g) {
    str(g.name);
    u64(g.inputs.size());
    for (const ValueInfo& v : g.inputs) value_info(v);
    u64(g.outputs.size());
    for (const ValueInfo& v : g.outputs) value_info(v);
    u64(g.initializers.size());
    for (const Initializer& i : g.initializers) {
      str(i.name);
      tensor(i.value);
    }
    u64(g.nodes.size());
    for (const Node& n : g.nodes) node(n);
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// ---------------------------------------------------------------- reader

class Reader {
 public:
  Reader(const char* p, size_t n, const std::string& where) : p_(p), end_(p + n), where_(where) {}

  template <class T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  uint8_t u8() { return pod<uint8_t>(); }
  uint32_t u32() { return pod<uint32_t>(); }
  uint64_t u64() { return pod<uint64_t>(); }
  int64_t i64() { return pod<int64_t>(); }
  double f64() { return pod<double>(); }
  float f32() { return pod<float>(); }
  // A count of items each at least `min_item` bytes long: bounded by what is left.
  uint64_t count(size_t min_item) {
    const uint64_t n = u64();
    if (min_item > 0 && n > uint64_t(end_ - p_) / min_item) bad("a count of ", n, " items runs past the end");
    return n;
  }
  std::string str() {
    const uint64_t n = count(1);
    std::string s(p_, size_t(n));
    p_ += n;
    return s;
  }
  std::vector<int64_t> ints() {
    std::vector<int64_t> v(size_t(count(8)));
    for (int64_t& x : v) x = i64();
    return v;
  }
  std::vector<int32_t> idx() {
    std::vector<int32_t> v(size_t(count(4)));
    for (int32_t& x : v) x = int32_t(u32());
    return v;
  }
  DType dtype() {
    const uint32_t code = u32();
    const auto t = dtype_from_code(int64_t(code));
    if (!t || *t == DType::Undefined) bad("unknown element type code ", code);
    return *t;
  }

  Tensor tensor() {
    const DType t = dtype();
    Shape shape = ints();
    for (int64_t d : shape)
      if (d < 0) bad("a tensor has a negative dim");
    const int64_t numel = shape_numel(shape);
    if (t == DType::String) {
      const uint64_t n = count(8);
      if (int64_t(n) != numel) bad("a string tensor holds ", n, " strings for ", numel, " elements");
      std::vector<std::string> v(static_cast<size_t>(n));
      for (std::string& s : v) s = str();
      return Tensor::from_strings(std::move(shape), std::move(v));
    }
    const uint64_t n = count(1);
    if (n != uint64_t(numel) * dtype_size(t)) bad("a tensor holds ", n, " bytes for ", numel, " elements");
    Tensor r = Tensor::from_bytes(t, std::move(shape), p_, size_t(n));
    p_ += n;
    return r;
  }

  TensorType type() {
    TensorType t;
    const uint32_t code = u32();
    const auto d = dtype_from_code(int64_t(code));
    if (!d) bad("unknown element type code ", code);
    t.dtype = *d;
    if (u8() == 0) return t;
    Dims dims(size_t(count(9)));
    for (Dim& x : dims) {
      x.value = i64();
      x.param = str();
    }
    t.dims = std::move(dims);
    return t;
  }

  Attribute attribute(int depth) {
    Attribute a;
    a.name = str();
    const uint32_t kind = u32();
    using K = Attribute::Kind;
    if (kind > uint32_t(K::Opaque)) bad("attribute '", a.name, "' has unknown kind ", kind);
    a.kind = K(kind);
    switch (a.kind) {
      case K::Float: a.f = f32(); break;
      case K::Int: a.i = i64(); break;
      case K::String: a.s = str(); break;
      case K::Tensor: a.t = tensor(); break;
      case K::Graph: a.g = std::make_shared<Graph>(graph(depth + 1)); break;
      case K::Floats:
        a.floats.resize(size_t(count(4)));
        for (float& x : a.floats) x = f32();
        break;
      case K::Ints: a.ints = ints(); break;
      case K::Strings:
        a.strings.resize(size_t(count(8)));
        for (std::string& s : a.strings) s = str();
        break;
      case K::Tensors:
        a.tensors.resize(size_t(count(12)));
        for (Tensor& t : a.tensors) t = tensor();
        break;
      case K::Graphs:
        a.graphs.resize(size_t(count(8)));
        for (auto& g : a.graphs) g = std::make_shared<Graph>(graph(depth + 1));
        break;
      case K::Opaque: a.opaque = str(); break;
    }
    return a;
  }

  Node node(int depth) {
    Node n;
    n.name = str();
    n.op_type = str();
    n.domain = str();
    n.inputs.resize(size_t(count(8)));
    for (std::string& s : n.inputs) s = str();
    n.outputs.resize(size_t(count(8)));
    for (std::string& s : n.outputs) s = str();
    const uint64_t na = count(12);
    for (uint64_t i = 0; i < na; ++i) n.attributes.push_back(attribute(depth));
    return n;
  }

  Graph graph(int depth) {
    if (depth > kMaxDepth) bad("subgraphs nest deeper than ", kMaxDepth);
    Graph g;
    g.name = str();
    auto infos = [&](std::vector<ValueInfo>& out) {
      out.resize(size_t(count(13)));
      for (ValueInfo& v : out) {
        v.name = str();
        v.type = type();
      }
    };
    infos(g.inputs);
    infos(g.outputs);
    g.initializers.resize(size_t(count(8)));
    for (Initializer& i : g.initializers) {
      i.name = str();
      i.value = tensor();
    }
    const uint64_t nn = count(40);
    for (uint64_t i = 0; i < nn; ++i) g.nodes.push_back(node(depth));
    return g;
  }

  // The next n bytes (already bounds-checked), skipped.
  const char* skip(size_t n) {
    need(n);
    const char* at = p_;
    p_ += n;
    return at;
  }
  bool at_end() const { return p_ == end_; }

  template <class... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(where_, ": not a valid eqopt plan: ", parts...);
  }

 private:
  void need(size_t n) const {
    if (size_t(end_ - p_) < n) bad("it ends early (truncated?)");
  }
  const char* p_;
  const char* end_;
  const std::string& where_;
};

void check_index(const Plan& plan, int32_t i, bool allow_missing, const Reader& r) {
  if (allow_missing && i == -1) return;
  if (i < 0 || size_t(i) >= plan.values.size()) r.bad("value index ", i, " is out of range");
}

}  // namespace

std::string onnx_name(const PlanValue& v) {
  const std::string suffix = "@" + (v.layout.empty() ? std::string("plain") : v.layout);
  if (v.name.size() > suffix.size() && v.name.compare(v.name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return v.name.substr(0, v.name.size() - suffix.size());
  return v.name;
}

int32_t Plan::find(const std::string& name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == name) return int32_t(i);
  return -1;
}

std::string plan_to_bytes(const Plan& plan) {
  Writer w;
  w.str(plan.producer);
  w.str(plan.machine);
  w.i64(plan.opset);
  w.u64(plan.values.size());
  for (const PlanValue& v : plan.values) {
    w.str(v.name);
    w.u32(uint32_t(v.dtype));
    w.ints(v.shape);
    w.str(v.layout);
    w.str(v.md);
    w.u8(uint8_t(v.storage));
    w.u64(v.offset);
    w.u64(v.bytes);
  }
  w.idx(plan.inputs);
  w.idx(plan.outputs);
  w.u64(plan.kernels.size());
  for (const PlanKernel& k : plan.kernels) {
    w.str(k.impl);
    w.node(k.node);
    w.idx(k.inputs);
    w.idx(k.outputs);
    w.f64(k.flops);
    w.f64(k.estimate_s);
  }
  w.u64(plan.arena_bytes);
  w.u64(plan.constants.size());
  w.raw(plan.constants.data(), plan.constants.size());
  const std::string body = w.take();

  Writer h;
  h.raw(kMagic, sizeof kMagic);
  h.u32(kPlanFormatVersion);
  h.u32(0);
  h.u64(body.size());
  h.u64(fnv1a(body.data(), body.size()));
  std::string out = h.take();
  out += body;
  return out;
}

void save_plan(const Plan& plan, const std::string& path) { write_file_atomic(path, plan_to_bytes(plan)); }

Plan plan_from_bytes(const std::string& bytes, const std::string& where) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    fail(where, ": not an eqopt plan (no EQOPTPLN header)");
  Reader head(bytes.data(), bytes.size(), where);
  if (bytes.size() < kHeaderSize) head.bad("the header is cut short (truncated?)");
  head.pod<std::array<char, 8>>();
  const uint32_t version = head.u32();
  if (version != kPlanFormatVersion)
    fail(where, ": plan format version ", version, "; this eqopt reads version ", kPlanFormatVersion,
         " (compile the model again)");
  head.u32();  // flags
  const uint64_t size = head.u64();
  const uint64_t sum = head.u64();
  if (size != bytes.size() - kHeaderSize)
    head.bad("the header says ", size, " bytes of body, the file has ", bytes.size() - kHeaderSize,
             size > bytes.size() - kHeaderSize ? " (truncated?)" : "");
  if (fnv1a(bytes.data() + kHeaderSize, size_t(size)) != sum) head.bad("the checksum does not match (corrupt?)");

  Reader r(bytes.data() + kHeaderSize, size_t(size), where);
  Plan plan;
  plan.producer = r.str();
  plan.machine = r.str();
  plan.opset = r.i64();
  plan.values.resize(size_t(r.count(40)));
  for (PlanValue& v : plan.values) {
    v.name = r.str();
    v.dtype = r.dtype();
    v.shape = r.ints();
    for (int64_t d : v.shape)
      if (d < 0) r.bad("value '", v.name, "' has a negative dim");
    v.layout = r.str();
    v.md = r.str();
    const uint8_t s = r.u8();
    if (s > uint8_t(Storage::Constant)) r.bad("value '", v.name, "' has unknown storage ", int(s));
    v.storage = Storage(s);
    v.offset = r.u64();
    v.bytes = r.u64();
  }
  plan.inputs = r.idx();
  plan.outputs = r.idx();
  plan.kernels.resize(size_t(r.count(40)));
  for (PlanKernel& k : plan.kernels) {
    k.impl = r.str();
    k.node = r.node(0);
    k.inputs = r.idx();
    k.outputs = r.idx();
    k.flops = r.f64();
    k.estimate_s = r.f64();
  }
  plan.arena_bytes = r.u64();
  const uint64_t nconst = r.count(1);
  const char* blob = r.skip(size_t(nconst));
  plan.constants.assign(blob, blob + nconst);
  if (!r.at_end()) r.bad("bytes follow the end of the plan");

  // Everything points inside the plan.
  for (int32_t i : plan.inputs) check_index(plan, i, false, r);
  for (int32_t i : plan.outputs) check_index(plan, i, false, r);
  for (const PlanKernel& k : plan.kernels) {
    for (int32_t i : k.inputs) check_index(plan, i, true, r);
    for (int32_t i : k.outputs) check_index(plan, i, false, r);
  }
  for (const PlanValue& v : plan.values) {
    const uint64_t limit = v.storage == Storage::Arena ? plan.arena_bytes : plan.constants.size();
    const uint64_t need = v.dtype == DType::String ? 0 : uint64_t(shape_numel(v.shape)) * dtype_size(v.dtype);
    if (v.bytes < need) r.bad("value '", v.name, "' has ", v.bytes, " bytes for ", need);
    if (v.offset > limit || v.bytes > limit - v.offset)
      r.bad("value '", v.name, "' lies outside its ", v.storage == Storage::Arena ? "arena" : "constants");
  }
  return plan;
}

Plan load_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, ": cannot open the plan");
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path, ": cannot read the plan");
  std::string bytes(size_t(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) fail(path, ": cannot read the plan");
  return plan_from_bytes(bytes, path);
}

bool is_plan_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[sizeof kMagic] = {};
  in.read(head, sizeof head);
  return in.gcount() == sizeof head && std::memcmp(head, kMagic, sizeof kMagic) == 0;
}

}  // namespace eqopt::rt
