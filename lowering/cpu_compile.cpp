#include "lowering/cpu_compile.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>

#include "interp/interpreter.h"
#include "ir/model_stats.h"
#include "ir/ops/nn_geometry.h"
#include "runtime/cpu/dnnl_ops.h"
#include "runtime/cpu/dnnl_util.h"
#include "runtime/cpu/kernel.h"
#include "support/error.h"

namespace eqopt::lower {

namespace {

using rt::memory;
using md_t = memory::desc;

constexpr uint64_t kAlign = 64;
uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool is_view_op(const Node& n) {
  if (!n.is_default_domain()) return false;
  static const std::set<std::string> ops = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"};
  return ops.count(n.op_type) > 0;
}

// One attempt at giving a node a oneDNN kernel: the layouts its activation inputs and outputs get.
enum class Attempt { Preferred, Plain };

class Lowering {
 public:
  Lowering(const Model& model, const CpuCompileOptions& options, CpuCompileReport& report)
      : model_(with_values(model, options.input_values)), options_(options), report_(report) {
    InferOptions io;
    io.input_dims = options.input_dims;
    io.folder = &folder_;
    io.fold_max_elements = int64_t(1) << 40;  // weight-only subgraphs fold here, whatever their size
    inference_ = infer_model(model_, io);
    types_ = &inference_.main();
    plan_.producer = "eqopt plan compiler 1";
    plan_.machine = rt::cpu_machine_key();
    plan_.opset = model.opset("");
    if (plan_.opset == 0) plan_.opset = 1;
  }

  rt::Plan run() {
    const Graph& g = model_.graph;
    for (const auto& [name, t] : options_.input_values) plan_.inputs.push_back(plain_constant(name));
    for (const ValueInfo* in : g.runtime_inputs()) {
      const TensorType t = type_of(in->name);
      const auto shape = t.static_shape();
      if (!shape) fail("input '", in->name, "' has dims ", t.str(), "; give them with --input-shape ", in->name, "=...");
      const int32_t v = add_value(in->name, t.dtype, *shape, nullptr, rt::Storage::Arena);
      homes_[in->name] = v;
      plan_.inputs.push_back(v);
    }
    const std::vector<size_t> order = topological_order(g);
    report_.nodes = order.size();
    for (size_t i = 0; i < order.size(); ++i) {
      lower_node(g.nodes[order[i]]);
      if (options_.progress) options_.progress(i + 1, order.size());
    }
    for (const ValueInfo& o : g.outputs) plan_.outputs.push_back(output_value(o.name));
    plan_memory();
    report_.kernels = plan_.kernels.size();
    report_.constant_bytes = plan_.constants.size();
    report_.machine = plan_.machine;
    return std::move(plan_);
  }

 private:
  // The model with the specialised inputs turned into initializers (an input that also has an
  // initializer is only a default, not a constant).
  static Model with_values(const Model& model, const std::map<std::string, Tensor>& values) {
    Model m = model;
    for (const auto& [name, t] : values) {
      if (!m.graph.find_input(name)) fail("the model has no input named '", name, "'");
      std::erase_if(m.graph.initializers, [&](const Initializer& i) { return i.name == name; });
      std::erase_if(m.graph.inputs, [&](const ValueInfo& v) { return v.name == name; });
      m.graph.initializers.push_back({name, t, ""});
    }
    return m;
  }

  // ---------------------------------------------------------------- values

  TensorType type_of(const std::string& name) const {
    const auto it = types_->types.find(name);
    if (it == types_->types.end()) fail("value '", name, "' has no inferred type");
    return it->second;
  }
  const Tensor* constant_of(const std::string& name) const {
    if (auto it = extra_constants_.find(name); it != extra_constants_.end()) return &it->second;
    const auto it = types_->values.find(name);
    return it == types_->values.end() ? nullptr : &it->second;
  }

  // A value in row-major layout (md == nullptr or a row-major descriptor) or in the layout of `md`.
  int32_t add_value(const std::string& name, DType dtype, const Shape& shape, const md_t* md, rt::Storage storage) {
    rt::PlanValue v;
    v.name = name;
    v.dtype = dtype;
    v.shape = shape;
    v.storage = storage;
    v.bytes = uint64_t(shape_numel(shape)) * dtype_size(dtype);
    if (md && !is_plain(*md)) {
      // "" when the bytes are row-major (only the strides of size-1 dims differ): row-major kernels
      // may read it; oneDNN kernels get the exact descriptor.
      v.layout = rt::layout_of(*md);
      if (v.layout == "?") v.layout = "blocked";
      v.md = rt::md_bytes(*md);
      v.bytes = md->get_size();
    }
    plan_.values.push_back(v);
    return int32_t(plan_.values.size() - 1);
  }

  // Row-major with exactly row-major strides. oneDNN's own comparison ignores the strides of size-1
  // dims ([1, 512, 1, 1] in acdb equals abcd), yet picks kernels by them: a global pooling given an
  // abcd destination for an acdb source runs on the reference kernel.
  static bool is_plain(const md_t& md) {
    const dnnl_memory_desc_t& c = md.data;
    if (c.ndims == 0) return true;
    if (c.format_kind != dnnl_blocked || c.offset0 != 0 || c.format_desc.blocking.inner_nblks != 0 || c.extra.flags != 0)
      return false;
    int64_t stride = 1;
    for (int i = c.ndims - 1; i >= 0; --i) {
      if (c.padded_dims[i] != c.dims[i] || c.format_desc.blocking.strides[i] != stride) return false;
      stride *= std::max<int64_t>(c.dims[i], 1);
    }
    return true;
  }
  // Row-major bytes (what row-major kernels need), whatever the strides of size-1 dims.
  static bool is_rowmajor(const md_t& md) {
    const memory::dims d = md.dims();
    if (d.empty()) return true;
    return rt::plain_md(Shape(d.begin(), d.end()), DType::Float) == md;
  }

  // A constant in row-major layout.
  int32_t plain_constant(const std::string& name) {
    const std::string key = name + "@plain";
    if (auto it = packed_.find(key); it != packed_.end()) return it->second;
    const Tensor& t = *constant_of(name);
    if (t.dtype() == DType::String) fail("value '", name, "': string constants cannot be compiled");
    const int32_t v = add_value(name, t.dtype(), t.shape(), nullptr, rt::Storage::Constant);
    place_constant(v, t.raw_data(), t.nbytes());
    packed_[key] = v;
    return v;
  }

  // A constant packed into the layout of `md` (its dims may regroup the tensor's, row-major order
  // kept: grouped convolution weights, rank-aligned matmul weights).
  int32_t packed_constant(const std::string& name, const md_t& md, const md_t* source = nullptr) {
    const memory::dims d = md.dims();
    const Shape shape(d.begin(), d.end());
    for (int32_t p : packed_by_name_[name])
      if (plan_.values[size_t(p)].shape == shape && same_layout(p, &md)) return p;
    const Tensor& t = *constant_of(name);
    if (shape_numel(shape) != t.numel()) return -1;
    const bool plain = is_plain(md);
    const int32_t v = add_value(plain ? name : name + "@packed", t.dtype(), shape, &md, rt::Storage::Constant);
    if (plain) {
      place_constant(v, t.raw_data(), t.nbytes());
    } else {
      std::vector<uint8_t> out(md.get_size());
      const md_t src_md = source && source->data.ndims > 0 ? *source : rt::plain_md(shape, t.dtype());
      if (src_md.get_size() != t.nbytes()) return -1;
      memory src(src_md, rt::cpu_engine(), const_cast<void*>(t.raw_data()));
      memory dst(md, rt::cpu_engine(), out.data());
      dnnl::stream s(rt::cpu_engine());
      dnnl::reorder(src, dst).execute(s, src, dst);
      s.wait();
      place_constant(v, out.data(), out.size());
    }
    packed_by_name_[name].push_back(v);
    return v;
  }

  void place_constant(int32_t v, const void* data, size_t n) {
    const uint64_t off = align_up(plan_.constants.size());
    plan_.constants.resize(size_t(off + n));
    if (n) std::memcpy(plan_.constants.data() + off, data, n);
    plan_.values[size_t(v)].offset = off;
    plan_.values[size_t(v)].bytes = n;
  }

  // The activation `name` in the layout of `md` (nullptr: row-major): its home value, or a reorder
  // of it (made once).
  int32_t activation(const std::string& name, const md_t* md) {
    const auto h = homes_.find(name);
    if (h == homes_.end()) fail("value '", name, "' is used before it is computed");
    const rt::PlanValue& home = plan_.values[size_t(h->second)];
    if (same_layout(h->second, md)) return h->second;
    for (int32_t c : copies_[name])
      if (same_layout(c, md)) return c;
    const Shape shape = home.shape;
    const DType dtype = home.dtype;
    const int32_t v = add_value(name, dtype, shape, md, rt::Storage::Arena);
    rt::PlanValue& pv = plan_.values[size_t(v)];
    pv.name = name + "@" + (pv.layout.empty() ? std::string("plain") : pv.layout);
    rt::PlanKernel k;
    k.impl = "reorder";
    k.node.name = pv.name;
    k.node.op_type = "Reorder";
    k.node.domain = "eqopt";
    k.inputs = {h->second};
    k.outputs = {v};
    plan_.kernels.push_back(std::move(k));
    ++report_.reorders;
    copies_[name].push_back(v);
    return v;
  }

  // Whether value v has the layout of `md` (nullptr: row-major). Descriptors compare as oneDNN
  // compares them: their bytes may differ where the layout does not.
  bool same_layout(int32_t v, const md_t* md) const {
    const rt::PlanValue& pv = plan_.values[size_t(v)];
    if (!md) return pv.md.empty() || (pv.dtype == DType::Float && is_rowmajor(rt::value_md(pv)));
    if (is_plain(*md)) return pv.md.empty();
    return !pv.md.empty() && rt::value_md(pv) == *md && is_plain(rt::value_md(pv)) == is_plain(*md);
  }
  // The descriptor of an activation's home value.
  md_t home_md(const std::string& name) const { return rt::value_md(plan_.values[size_t(homes_.at(name))]); }

  // A plan value for input `name` of a row-major kernel.
  int32_t plain_input(const std::string& name) {
    if (constant_of(name) && !homes_.count(name)) return plain_constant(name);
    return activation(name, nullptr);
  }

  int32_t output_value(const std::string& name) {
    if (!homes_.count(name) && constant_of(name)) return plain_constant(name);
    const int32_t v = activation(name, nullptr);
    // The row-major copy of a graph output carries the output's own name.
    rt::PlanValue& pv = plan_.values[size_t(v)];
    if (pv.name != name) {
      plan_.values[size_t(homes_.at(name))].name = name + "@" + plan_.values[size_t(homes_.at(name))].layout;  // blocked
      pv.name = name;
    }
    return v;
  }

  // ---------------------------------------------------------------- nodes

  void lower_node(const Node& node) {
    // Folded: every output is a known constant.
    bool folded = !node.outputs.empty();
    for (const std::string& o : node.outputs)
      if (!o.empty() && !constant_of(o)) folded = false;
    if (folded) {
      ++report_.folded;
      return;
    }
    for (const std::string& o : node.outputs) {
      if (o.empty()) continue;
      const TensorType t = type_of(o);
      if (!t.static_shape())
        fail(node.label(), ": output '", o, "' has shape ", t.str(),
             " that depends on the data; compiled plans need static shapes");
    }
    const bool forced = options_.interp_ops.count(OpId::of(node).str()) > 0;
    std::optional<Node> normal = forced ? std::nullopt : normalize(node);
    if (normal && try_dnnl(node, *normal)) return;
    if (!forced && node.is_default_domain() && rt::own_unary_op(node.op_type) && node.outputs.size() == 1 &&
        type_of(node.inputs.at(0)).dtype == DType::Float && !constant_of(node.inputs[0])) {
      emit_rowmajor(node, "own", 1);
      ++report_.own;
      return;
    }
    if (!forced && is_view_op(node) && node.outputs.size() == 1) {
      emit_rowmajor(node, "own", 1);
      const rt::PlanKernel& k = plan_.kernels.back();
      aliases_.push_back({plan_.kernels.size() - 1, k.outputs[0], k.inputs[0]});  // a view shares its input's bytes
      ++report_.own;
      return;
    }
    if (!forced && try_table_gather(node)) return;
    emit_rowmajor(node, "interp", node.inputs.size());
    ++report_.interp;
    ++report_.interp_ops[OpId::of(node).str()];
  }

  // A kernel whose inputs and outputs are row-major: `n_inputs` of the node's inputs are passed.
  void emit_rowmajor(const Node& node, const std::string& impl, size_t n_inputs) {
    rt::PlanKernel k;
    k.impl = impl;
    k.node = node;
    for (size_t i = 0; i < n_inputs && i < node.inputs.size(); ++i)
      k.inputs.push_back(node.inputs[i].empty() ? -1 : plain_input(node.inputs[i]));
    if (impl == "interp") {
      // Values the node's subgraphs read from this graph.
      std::set<std::string> outer;
      for (const Attribute& a : node.attributes) {
        if (a.g) for_each_outer_reference(*a.g, [&](const std::string& n) { outer.insert(n); });
        for (const auto& sub : a.graphs)
          if (sub) for_each_outer_reference(*sub, [&](const std::string& n) { outer.insert(n); });
      }
      for (const std::string& name : outer)
        if (homes_.count(name) || constant_of(name)) k.inputs.push_back(plain_input(name));
    }
    for (const std::string& o : node.outputs) {
      if (o.empty()) {
        // An optional output nobody reads still needs a place for the kernel to write.
        k.outputs.push_back(add_value("", DType::Float, {0}, nullptr, rt::Storage::Arena));
        continue;
      }
      const TensorType t = type_of(o);
      const int32_t v = add_value(o, t.dtype, *t.static_shape(), nullptr, rt::Storage::Arena);
      homes_[o] = v;
      k.outputs.push_back(v);
    }
    k.flops = flops_of(node);
    plan_.kernels.push_back(std::move(k));
  }

  // ---------------------------------------------------------------- table gathers
  //
  // A data-movement op with static shapes (Resize in nearest mode, Slice, Gather with constant
  // indices, Expand, Tile, Split, ...) copies input elements to output elements in a pattern fixed
  // at compile time. The pattern is found by running the node once in the reference interpreter on a
  // probe input whose elements hold their own indices, and checked with a second probe holding a
  // random permutation of them: each output element must be the permuted value of the element the
  // first probe named (an op that blends or computes values fails this). The node then runs as a
  // gather by those index tables (runtime/cpu/own_kernels.cpp): exact, and far faster than the
  // interpreter's general kernels.
  bool try_table_gather(const Node& node) {
    if (!node.is_default_domain()) return false;
    const auto& ops = rt::table_gather_ops();
    if (std::find(ops.begin(), ops.end(), node.op_type) == ops.end()) return false;
    if (node.inputs.empty() || node.inputs[0].empty() || !homes_.count(node.inputs[0])) return false;
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty() && !constant_of(node.inputs[i])) return false;
    for (const Attribute& a : node.attributes)
      if (a.g || !a.graphs.empty()) return false;
    const TensorType xt = type_of(node.inputs[0]);
    const DType dt = xt.dtype;
    if (dt != DType::Float && dt != DType::Double && dt != DType::Int32 && dt != DType::Int64) return false;
    const Shape xs = *xt.static_shape();
    const int64_t n = shape_numel(xs);
    if (n == 0 || n >= (int64_t(1) << 24)) return false;
    int64_t out_total = 0;
    for (const std::string& o : node.outputs) {
      if (o.empty()) return false;
      out_total += shape_numel(*type_of(o).static_shape());
    }
    if (out_total > (int64_t(1) << 24)) return false;
    auto probe = [&](const std::vector<int64_t>& values) {
      Tensor t(dt, xs);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t v = values[size_t(i)];
        switch (dt) {
          case DType::Float: t.mutable_data<float>()[i] = float(v); break;
          case DType::Double: t.mutable_data<double>()[i] = double(v); break;
          case DType::Int32: t.mutable_data<int32_t>()[i] = int32_t(v); break;
          default: t.mutable_data<int64_t>()[i] = v; break;
        }
      }
      std::vector<const Tensor*> ins(node.inputs.size(), nullptr);
      ins[0] = &t;
      for (size_t i = 1; i < node.inputs.size(); ++i)
        if (!node.inputs[i].empty()) ins[i] = constant_of(node.inputs[i]);
      return evaluate_node(node, plan_.opset, ins);
    };
    std::vector<int64_t> ident(static_cast<size_t>(n)), perm;
    std::iota(ident.begin(), ident.end(), 0);
    perm = ident;
    std::mt19937_64 rng(0x5eed);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<Tensor> a, b;
    try {
      a = probe(ident);
      b = probe(perm);
    } catch (const Error&) {
      return false;
    }
    if (a.size() != node.outputs.size() || b.size() != a.size()) return false;
    std::vector<Tensor> tables;
    for (size_t o = 0; o < a.size(); ++o) {
      if (a[o].shape() != *type_of(node.outputs[o]).static_shape() || a[o].dtype() != dt) return false;
      Tensor table(DType::Int32, a[o].shape());
      int32_t* tp = table.mutable_data<int32_t>();
      for (int64_t i = 0; i < a[o].numel(); ++i) {
        const double va = a[o].as_double(i), vb = b[o].as_double(i);
        const int64_t src = int64_t(va);
        if (double(src) != va || src < 0 || src >= n || double(perm[size_t(src)]) != vb) return false;
        tp[i] = int32_t(src);
      }
      tables.push_back(std::move(table));
    }
    rt::PlanKernel k;
    k.impl = "own";
    k.node = node;
    k.inputs.push_back(activation(node.inputs[0], nullptr));
    for (size_t o = 0; o < tables.size(); ++o) {
      const std::string name = node.outputs[o] + "#gather-table";
      extra_constants_[name] = std::move(tables[o]);
      k.inputs.push_back(plain_constant(name));
    }
    for (const std::string& o : node.outputs) {
      const TensorType t = type_of(o);
      const int32_t v = add_value(o, t.dtype, *t.static_shape(), nullptr, rt::Storage::Arena);
      homes_[o] = v;
      k.outputs.push_back(v);
    }
    plan_.kernels.push_back(std::move(k));
    ++report_.own;
    ++report_.table_gathers;
    return true;
  }

  double flops_of(const Node& node) const {
    std::vector<TensorType> in, out;
    for (const std::string& i : node.inputs) in.push_back(i.empty() ? TensorType{} : type_of(i));
    for (const std::string& o : node.outputs) out.push_back(o.empty() ? TensorType{} : type_of(o));
    try {
      return double(node_flops(node, in, out).value_or(0));
    } catch (const Error&) {
      return 0;
    }
  }

  // The node as the oneDNN builders read it (runtime/cpu/dnnl_ops.cpp), or nullopt when it has no
  // oneDNN form: explicit windows, constant operands folded into attributes.
  std::optional<Node> normalize(const Node& node) {
    const OpId id = OpId::of(node);
    if (!rt::dnnl_builder(id)) return std::nullopt;
    // float32 throughout.
    for (const std::string& i : node.inputs)
      if (!i.empty() && type_of(i).dtype != DType::Float && !constant_of(i)) return std::nullopt;
    for (const std::string& o : node.outputs)
      if (!o.empty() && type_of(o).dtype != DType::Float) return std::nullopt;
    if (node.outputs.size() != 1) return std::nullopt;
    Node n = node;
    const std::string& op = node.op_type;
    auto input_const = [&](size_t i) -> const Tensor* {
      return i < node.inputs.size() && !node.inputs[i].empty() ? constant_of(node.inputs[i]) : nullptr;
    };
    auto has_input = [&](size_t i) { return i < node.inputs.size() && !node.inputs[i].empty(); };
    if (op == "Conv" || op == "FusedConv") {
      const TensorType w = type_of(node.inputs.at(1));
      const Shape ws = *w.static_shape();
      std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
      nn::Window win = nn::read_window(node, kernel);
      const Shape xs = *type_of(node.inputs[0]).static_shape();
      nn::window_output_dims(node, win, std::vector<int64_t>(xs.begin() + 2, xs.end()));
      set_window(n, win);
      // A scalar bias becomes one per output channel.
      if (has_input(2)) {
        const Tensor* b = input_const(2);
        if (!b || b->dtype() != DType::Float) return std::nullopt;
        if (b->shape() != Shape{ws[0]}) {
          if (b->numel() != 1) return std::nullopt;
          const std::string name = node.inputs[2] + "#per-channel";
          extra_constants_[name] = Tensor::from_vector<float>({ws[0]}, std::vector<float>(size_t(ws[0]), b->data<float>()[0]));
          n.inputs[2] = name;
        }
      }
      if (!input_const(1)) return std::nullopt;  // weights computed at run time: interpreter
      return n;
    }
    if (op == "ConvTranspose") {
      const Shape ws = *type_of(node.inputs.at(1)).static_shape();
      nn::Window win = nn::read_window(node, std::vector<int64_t>(ws.begin() + 2, ws.end()));
      const Shape xs = *type_of(node.inputs[0]).static_shape();
      nn::conv_transpose_output_dims(node, win, std::vector<int64_t>(xs.begin() + 2, xs.end()));
      set_window(n, win);
      std::erase_if(n.attributes, [](const Attribute& a) { return a.name == "output_padding" || a.name == "output_shape"; });
      if (!input_const(1) || (has_input(2) && !input_const(2))) return std::nullopt;
      return n;
    }
    if (op == "MaxPool" || op == "AveragePool") {
      if (node.outputs.size() > 1) return std::nullopt;
      nn::Window win = nn::read_window(node, node.attr_ints("kernel_shape"));
      const Shape xs = *type_of(node.inputs[0]).static_shape();
      nn::window_output_dims(node, win, std::vector<int64_t>(xs.begin() + 2, xs.end()), node.attr_int("ceil_mode", 0) != 0);
      set_window(n, win);
      if (node.attr_int("storage_order", 0) != 0) return std::nullopt;
      return n;
    }
    if (op == "Clip") {
      if (plan_.opset >= 11) {
        for (size_t i = 1; i < 3; ++i) {
          if (!has_input(i)) continue;
          const Tensor* c = input_const(i);
          if (!c || c->numel() != 1) return std::nullopt;
          n.set_attr(Attribute::make_float(i == 1 ? "min" : "max", float(c->as_double(0))));
        }
        n.inputs.resize(1);
      }
      return n;
    }
    if (op == "Pow") {
      const Tensor* e = input_const(1);
      if (!e || e->numel() != 1) return std::nullopt;
      n.set_attr(Attribute::make_float("exponent", float(e->as_double(0))));
      n.inputs.resize(1);
      return n;
    }
    if (op.rfind("Reduce", 0) == 0) {
      std::vector<int64_t> axes = node.attr_ints("axes");
      if (has_input(1)) {
        const Tensor* a = input_const(1);
        if (!a) return std::nullopt;
        axes = a->to_int64_vector();
      }
      const int64_t rank = type_of(node.inputs[0]).rank();
      if (axes.empty()) {
        if (node.attr_int("noop_with_empty_axes", 0)) return std::nullopt;
        for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
      }
      n.inputs.resize(1);
      n.set_attr(Attribute::make_ints("axes", axes));
      return n;
    }
    if (op == "Softmax" || op == "LogSoftmax") {
      const int64_t rank = type_of(node.inputs[0]).rank();
      int64_t axis = node.attr_int("axis", plan_.opset >= 13 ? -1 : 1);
      if (axis < 0) axis += rank;
      if (plan_.opset < 13 && axis != rank - 1) return std::nullopt;  // the 2-D coercion of old opsets
      n.set_attr(Attribute::make_int("axis", axis));
      return n;
    }
    if (op == "Gemm") {
      if (has_input(2)) {
        // oneDNN scales the bias with the product (dst = alpha * (A.B + bias)): C becomes C * beta / alpha.
        const float beta = node.attr_float("beta", 1.0f), alpha = node.attr_float("alpha", 1.0f);
        if (beta != 1.0f || alpha != 1.0f) {
          const Tensor* c = input_const(2);
          if (!c || c->dtype() != DType::Float || alpha == 0.0f) return std::nullopt;
          Tensor scaled = c->clone();
          for (float& x : std::span<float>(scaled.mutable_data<float>(), size_t(scaled.numel()))) x *= beta / alpha;
          const std::string name = node.inputs[2] + "#beta";
          extra_constants_[name] = scaled;
          n.inputs[2] = name;
          n.set_attr(Attribute::make_float("beta", 1.0f));
        }
      }
      if (node.attr_int("transB", 0)) {
        const Tensor* b = input_const(1);
        if (b && b->dtype() == DType::Float && b->rank() == 2) {
          const int64_t r = b->dim(0), c = b->dim(1);
          Tensor t(DType::Float, {c, r});
          const float* s = b->data<float>();
          float* d = t.mutable_data<float>();
          for (int64_t i = 0; i < r; ++i)
            for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
          const std::string name = node.inputs[1] + "#T";
          extra_constants_[name] = t;
          n.inputs[1] = name;
          n.set_attr(Attribute::make_int("transB", 0));
        }
      }
      return n;
    }
    if (op == "BatchNormalization") {
      for (size_t i = 1; i < 5; ++i)
        if (!input_const(i)) return std::nullopt;
      return n;
    }
    if (op == "LayerNormalization") {
      if (!input_const(1) || (has_input(2) && !input_const(2))) return std::nullopt;
      return n;
    }
    if (op == "Add" || op == "Mul" || op == "Max" || op == "Min") {
      // oneDNN's binary primitive cannot broadcast its first source: commutative ops swap operands.
      if (node.inputs.size() == 2 && type_of(node.inputs[0]).static_shape() != type_of(node.outputs[0]).static_shape() &&
          type_of(node.inputs[1]).static_shape() == type_of(node.outputs[0]).static_shape())
        std::swap(n.inputs[0], n.inputs[1]);
      return n;
    }
    return n;  // eltwise ops
  }

  static void set_window(Node& n, const nn::Window& w) {
    n.set_attr(Attribute::make_ints("strides", w.strides));
    n.set_attr(Attribute::make_ints("dilations", w.dilations));
    n.set_attr(Attribute::make_ints("pads", w.pads));
    n.set_attr(Attribute::make_ints("kernel_shape", w.kernel));
    std::erase_if(n.attributes, [](const Attribute& a) { return a.name == "auto_pad"; });
  }

  bool try_dnnl(const Node& node, const Node& kn) {
    const std::vector<Attempt> attempts = options_.blocked_layouts ? std::vector<Attempt>{Attempt::Preferred, Attempt::Plain}
                                                                   : std::vector<Attempt>{Attempt::Plain};
    for (Attempt a : attempts)
      if (try_dnnl_with(node, kn, a)) return true;
    return false;
  }

  bool try_dnnl_with(const Node& node, const Node& kn, Attempt attempt) {
    const OpId id = OpId::of(kn);
    const rt::DnnlBuildFn build = rt::dnnl_builder(id);
    const bool preferred = attempt == Attempt::Preferred;
    // Binary ops and concat: inputs of the output's shape share the first input's layout.
    const bool shared_layout = kn.op_type == "Concat" || (id.is_default_domain() &&
                                                          std::set<std::string>{"Add", "Sub", "Mul", "Div", "Max", "Min"}.count(kn.op_type));
    const std::string out_name = kn.outputs[0];
    Shape out_shape = *type_of(out_name).static_shape();
    if (out_shape.empty()) out_shape = {1};
    std::optional<md_t> first_md;
    std::vector<md_t> in(kn.inputs.size());
    std::vector<int> pending;  // inputs passed as `any`
    for (size_t i = 0; i < kn.inputs.size(); ++i) {
      const std::string& name = kn.inputs[i];
      if (name.empty()) continue;
      const bool is_const = constant_of(name) && !homes_.count(name);
      const Tensor* c = is_const ? constant_of(name) : nullptr;
      const TensorType t = is_const ? TensorType::of(c->dtype(), c->shape()) : type_of(name);
      Shape shape = *t.static_shape();
      if (shape.empty()) shape = {1};  // oneDNN has no rank-0 tensors; a scalar is [1]
      if (!rt::dnnl_supports(t.dtype)) {
        if (is_const) continue;  // folded into attributes by normalize()
        return false;
      }
      if (preferred && rt::dnnl_input_layout_is_chosen(id, i)) {
        in[i] = md_t(rt::to_dims(shape), rt::dnnl_dtype(t.dtype), memory::format_tag::any);
        pending.push_back(int(i));
        continue;
      }
      in[i] = rt::plain_md(shape, t.dtype);
      if (preferred && !is_const) in[i] = home_md(name);
      if (preferred && shared_layout && i > 0 && first_md && shape == out_shape && first_md->dims() == rt::to_dims(shape))
        in[i] = *first_md;
      if (i == 0) first_md = in[i];
    }
    // A convolution with very few output channels writes row-major: a 16-channel block would be
    // mostly padding, and the eltwise ops after it have no fast kernel for such a tensor.
    const bool few_channels = rt::dnnl_input_layout_is_chosen(id, 0) && out_shape.size() >= 3 && out_shape[1] < 8;
    const bool out_given = !preferred || kn.op_type == "Transpose" || kn.op_type.rfind("Reduce", 0) == 0 || few_channels;
    std::vector<md_t> out = {out_given ? rt::plain_md(out_shape, DType::Float)
                                       : md_t(rt::to_dims(out_shape), memory::data_type::f32, memory::format_tag::any)};
    // Ops that keep the layout (pooling, binary, concat, softmax): the output gets the first input's
    // format tag; left to oneDNN, a global pooling to [N, C, 1, 1] came out row-major and ran on the
    // reference kernel.
    if (!out_given && pending.empty() && first_md && !is_plain(*first_md) && first_md->data.ndims == int(out_shape.size())) {
      const std::string tag = rt::layout_of(*first_md);
      if (!tag.empty() && tag != "?") {
        try {
          out[0] = rt::layout_md(out_shape, DType::Float, tag);
        } catch (const Error&) {
        }
      }
    }
    rt::DnnlBuild b;
    try {
      b = build(kn, in, out);
    } catch (const Error&) {
      return false;
    } catch (const dnnl::error&) {
      return false;
    }
    // A blocked output keeps the node's dims (row-major outputs may be a reshaped view).
    const md_t out_md = b.pd.query_md(dnnl::query::exec_arg_md, b.out_args.at(0));
    if (!is_plain(out_md) && out_md.dims() != rt::to_dims(out_shape)) return false;
    rt::PlanKernel k;
    k.impl = "dnnl";
    k.node = kn;
    std::vector<int32_t> inputs(kn.inputs.size(), -1);
    for (size_t i = 0; i < kn.inputs.size(); ++i) {
      const std::string& name = kn.inputs[i];
      if (name.empty() || i >= b.in_args.size() || b.in_args[i] == 0) continue;
      const bool is_const = constant_of(name) && !homes_.count(name);
      const bool chosen = std::find(pending.begin(), pending.end(), int(i)) != pending.end();
      const md_t md = chosen ? b.pd.query_md(dnnl::query::exec_arg_md, b.in_args[i]) : in[i];
      if (is_const) {
        const md_t* source = i < b.source_layouts.size() && b.source_layouts[i].data.ndims > 0 ? &b.source_layouts[i] : nullptr;
        if (source && is_plain(md)) return false;  // a row-major copy would need the permutation too
        inputs[i] = packed_constant(name, md, source);
        if (inputs[i] < 0) return false;
        continue;
      }
      if (!is_plain(md) && md.dims() != rt::to_dims(*type_of(name).static_shape())) return false;
      inputs[i] = activation(name, &md);
    }
    // The summed input (FusedConv's residual) is read by a reorder into the destination: any layout.
    if (b.sum_input >= 0) {
      const std::string& z = kn.inputs[size_t(b.sum_input)];
      inputs[size_t(b.sum_input)] = homes_.count(z) ? homes_.at(z) : plain_constant(z);
    }
    k.inputs = inputs;
    const int32_t v = add_value(out_name, DType::Float, is_plain(out_md) ? *type_of(out_name).static_shape() : out_shape,
                                &out_md, rt::Storage::Arena);
    homes_[out_name] = v;
    k.outputs = {v};
    k.flops = flops_of(node);
    // In place: the output may take the bytes of an input of the same layout that dies here (the
    // residual of a sum post-op, the source of an eltwise op, the first source of a binary op).
    int in_place = b.sum_input;
    if (in_place < 0 && (b.in_args.size() >= 1 && (b.in_args[0] == DNNL_ARG_SRC || b.in_args[0] == DNNL_ARG_SRC_0)) &&
        (kn.op_type == "Pow" || kn.op_type == "Add" || kn.op_type == "Sub" || kn.op_type == "Mul" || kn.op_type == "Div" ||
         kn.op_type == "Max" || kn.op_type == "Min" || b.pd.get_kind() == dnnl::primitive::kind::eltwise))
      in_place = 0;
    if (in_place >= 0 && k.inputs[size_t(in_place)] >= 0) {
      const rt::PlanValue& src = plan_.values[size_t(k.inputs[size_t(in_place)])];
      if (src.storage == rt::Storage::Arena && src.bytes == plan_.values[size_t(v)].bytes &&
          rt::value_md(src) == out_md && src.md == plan_.values[size_t(v)].md)
        aliases_.push_back({plan_.kernels.size(), v, k.inputs[size_t(in_place)]});
    }
    plan_.kernels.push_back(std::move(k));
    ++report_.dnnl;
    return true;
  }

  // ---------------------------------------------------------------- memory plan

  void plan_memory() {
    const size_t nv = plan_.values.size();
    constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
    std::vector<int64_t> first(nv, kNever), last(nv, kNever);
    const int64_t end = int64_t(plan_.kernels.size());
    for (int32_t v : plan_.inputs) first[size_t(v)] = -1;
    for (size_t k = 0; k < plan_.kernels.size(); ++k) {
      for (int32_t v : plan_.kernels[k].outputs)
        if (first[size_t(v)] == kNever) first[size_t(v)] = int64_t(k);
      for (int32_t v : plan_.kernels[k].inputs)
        if (v >= 0) last[size_t(v)] = std::max(last[size_t(v)], int64_t(k));
      // A kernel's outputs live through the kernel itself.
      for (int32_t v : plan_.kernels[k].outputs) last[size_t(v)] = std::max(last[size_t(v)], int64_t(k));
    }
    for (int32_t v : plan_.outputs) last[size_t(v)] = end;
    for (int32_t v : plan_.inputs) last[size_t(v)] = std::max(last[size_t(v)], int64_t(0));
    // Buffers shared in place: an output joins its input's group when the input dies at that kernel
    // and is neither a graph input nor a graph output.
    std::vector<int32_t> group(nv);
    for (size_t v = 0; v < nv; ++v) group[v] = int32_t(v);
    std::set<int32_t> io(plan_.inputs.begin(), plan_.inputs.end());
    io.insert(plan_.outputs.begin(), plan_.outputs.end());
    std::vector<int64_t> group_last = last;
    for (const auto& [k, out, in] : aliases_) {
      const int32_t g = group[size_t(in)];
      if (io.count(in) || io.count(out) || group_last[size_t(g)] != int64_t(k) || last[size_t(in)] != int64_t(k)) continue;
      if (plan_.values[size_t(out)].bytes != plan_.values[size_t(in)].bytes) continue;
      group[size_t(out)] = g;
      group_last[size_t(g)] = std::max(group_last[size_t(g)], last[size_t(out)]);
      ++report_.in_place;
    }
    struct Item {
      int32_t v;
      uint64_t size;
      int64_t from, to;
    };
    std::vector<Item> items;
    std::unordered_map<int32_t, size_t> item_of_group;
    for (size_t v = 0; v < nv; ++v) {
      const rt::PlanValue& pv = plan_.values[v];
      if (pv.storage != rt::Storage::Arena || first[v] == kNever) continue;
      report_.activation_bytes += pv.bytes;
      const int32_t g = group[v];
      const auto [it, fresh] = item_of_group.emplace(g, items.size());
      if (fresh) items.push_back({g, 0, first[v], first[v]});
      Item& item = items[it->second];
      item.size = std::max(item.size, align_up(std::max<uint64_t>(pv.bytes, 1)));
      item.from = std::min(item.from, first[v]);
      item.to = std::max(item.to, std::max(first[v], last[v]));
    }
    // Greedy by size: the largest buffers first, each at the lowest offset free during its lifetime.
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.size > b.size; });
    std::vector<std::pair<uint64_t, const Item*>> placed;  // offset, item
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    uint64_t arena = 0;
    for (const Item& it : items) {
      busy.clear();
      for (const auto& [off, p] : placed)
        if (p->from <= it.to && it.from <= p->to) busy.emplace_back(off, off + p->size);
      std::sort(busy.begin(), busy.end());
      uint64_t at = 0;
      for (const auto& [lo, hi] : busy) {
        if (at + it.size <= lo) break;
        at = std::max(at, hi);
      }
      placed.emplace_back(at, &it);
      plan_.values[size_t(it.v)].offset = at;
      arena = std::max(arena, at + it.size);
    }
    for (size_t v = 0; v < nv; ++v)
      if (group[v] != int32_t(v)) plan_.values[v].offset = plan_.values[size_t(group[v])].offset;
    plan_.arena_bytes = arena;
    report_.arena_bytes = arena;
  }

  const Model model_;
  const CpuCompileOptions& options_;
  CpuCompileReport& report_;
  InterpreterFolder folder_;
  InferenceResult inference_;
  const GraphTypes* types_ = nullptr;
  std::unordered_map<std::string, Tensor> extra_constants_;  // constants the lowering derived
  rt::Plan plan_;
  std::unordered_map<std::string, int32_t> homes_;   // activation -> the value its producer wrote
  std::unordered_map<std::string, std::vector<int32_t>> copies_;  // activation -> its copies in other layouts
  std::vector<std::tuple<size_t, int32_t, int32_t>> aliases_;  // (kernel, output, input) that may share bytes
  std::unordered_map<std::string, int32_t> packed_;  // "name@plain" -> the row-major constant
  std::unordered_map<std::string, std::vector<int32_t>> packed_by_name_;  // constant -> its packed copies
};

}  // namespace

rt::Plan compile_cpu(const Model& model, const CpuCompileOptions& options, CpuCompileReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  CpuCompileReport local;
  CpuCompileReport& r = report ? *report : local;
  r = CpuCompileReport{};
  rt::Plan plan = Lowering(model, options, r).run();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return plan;
}

}  // namespace eqopt::lower
