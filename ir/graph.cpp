#include "ir/graph.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "ir/op_id.h"

namespace eqopt {

std::string Dim::str() const {
  if (known()) return std::to_string(value);
  return param.empty() ? "?" : param;
}

Dims dims_of(const Shape& shape) {
  Dims d;
  d.reserve(shape.size());
  for (int64_t v : shape) d.push_back(Dim::of(v));
  return d;
}

bool TensorType::is_static() const {
  if (!dims) return false;
  return std::all_of(dims->begin(), dims->end(), [](const Dim& d) { return d.known(); });
}

std::optional<Shape> TensorType::static_shape() const {
  if (!is_static()) return std::nullopt;
  Shape s;
  for (const Dim& d : *dims) s.push_back(d.value);
  return s;
}

std::string dims_str(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i].str();
  }
  return s + "]";
}

std::string TensorType::str() const {
  return std::string(dtype_short_name(dtype)) + (dims ? dims_str(*dims) : "[*]");
}

std::string_view attribute_kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::Float: return "float";
    case Attribute::Kind::Int: return "int";
    case Attribute::Kind::String: return "string";
    case Attribute::Kind::Tensor: return "tensor";
    case Attribute::Kind::Graph: return "graph";
    case Attribute::Kind::Floats: return "floats";
    case Attribute::Kind::Ints: return "ints";
    case Attribute::Kind::Strings: return "strings";
    case Attribute::Kind::Tensors: return "tensors";
    case Attribute::Kind::Graphs: return "graphs";
    case Attribute::Kind::Opaque: return "opaque";
  }
  return "?";
}

Attribute Attribute::make_int(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Int;
  a.i = v;
  return a;
}
Attribute Attribute::make_float(std::string name, float v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Float;
  a.f = v;
  return a;
}
Attribute Attribute::make_string(std::string name, std::string v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::String;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::make_ints(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Ints;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::make_floats(std::string name, std::vector<float> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Floats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::make_tensor(std::string name, Tensor v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Tensor;
  a.t = std::move(v);
  return a;
}
Attribute Attribute::make_graph(std::string name, Graph v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Graph;
  a.g = std::make_shared<Graph>(std::move(v));
  return a;
}

bool is_default_domain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

const Attribute* Node::attr(std::string_view n) const {
  for (const Attribute& a : attributes)
    if (a.name == n) return &a;
  return nullptr;
}

namespace {
const Attribute* typed_attr(const Node& node, std::string_view name, Attribute::Kind kind) {
  const Attribute* a = node.attr(name);
  if (a && a->kind != kind)
    fail(node.label(), ": attribute '", name, "' should be of kind ", attribute_kind_name(kind),
         ", found ", attribute_kind_name(a->kind));
  return a;
}
}  // namespace

int64_t Node::attr_int(std::string_view n, int64_t fallback) const {
  const Attribute* a = typed_attr(*this, n, Attribute::Kind::Int);
  return a ? a->i : fallback;
}
float Node::attr_float(std::string_view n, float fallback) const {
  const Attribute* a = typed_attr(*this, n, Attribute::Kind::Float);
  return a ? a->f : fallback;
}
std::string Node::attr_string(std::string_view n, std::string fallback) const {
  const Attribute* a = typed_attr(*this, n, Attribute::Kind::String);
  return a ? a->s : fallback;
}
std::vector<int64_t> Node::attr_ints(std::string_view n, std::vector<int64_t> fallback) const {
  const Attribute* a = typed_attr(*this, n, Attribute::Kind::Ints);
  return a ? a->ints : fallback;
}
std::vector<float> Node::attr_floats(std::string_view n, std::vector<float> fallback) const {
  const Attribute* a = typed_attr(*this, n, Attribute::Kind::Floats);
  return a ? a->floats : fallback;
}

std::string Node::label() const {
  const std::string op = OpId::of(*this).str();
  if (!name.empty()) return "node '" + name + "' (" + op + ")";
  if (!outputs.empty()) return op + " node producing '" + outputs[0] + "'";
  return op + " node";
}

void Node::set_attr(Attribute a) {
  for (Attribute& old : attributes)
    if (old.name == a.name) {
      old = std::move(a);
      return;
    }
  attributes.push_back(std::move(a));
}

const Initializer* Graph::find_initializer(std::string_view n) const {
  for (const Initializer& i : initializers)
    if (i.name == n) return &i;
  return nullptr;
}

const ValueInfo* Graph::find_input(std::string_view n) const {
  for (const ValueInfo& v : inputs)
    if (v.name == n) return &v;
  return nullptr;
}

const ValueInfo* Graph::find_value_info(std::string_view n) const {
  for (const auto* list : {&inputs, &outputs, &value_info})
    for (const ValueInfo& v : *list)
      if (v.name == n) return &v;
  return nullptr;
}

std::vector<const ValueInfo*> Graph::runtime_inputs() const {
  std::set<std::string_view> inits;
  for (const Initializer& i : initializers) inits.insert(i.name);
  std::vector<const ValueInfo*> r;
  for (const ValueInfo& v : inputs)
    if (!inits.count(v.name)) r.push_back(&v);
  return r;
}

int64_t Model::opset(std::string_view d) const {
  for (const OpsetImport& o : opset_imports)
    if (o.domain == d || (is_default_domain(d) && is_default_domain(o.domain))) return o.version;
  return 0;
}

// ---------------------------------------------------------------- structural equality

namespace {

struct Differ {
  std::string* why;
  bool differ(const std::string& where) {
    if (why && why->empty()) *why = where;
    return false;
  }
};

bool tensors_equal(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || a.bit_equal(b);
}

bool value_infos_equal(const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b,
                       const std::string& where, Differ& d) {
  if (a.size() != b.size()) return d.differ(where + ": count " + std::to_string(a.size()) +
                                            " vs " + std::to_string(b.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    const ValueInfo &x = a[i], &y = b[i];
    if (x.name != y.name) return d.differ(where + "[" + std::to_string(i) + "]: name '" + x.name +
                                          "' vs '" + y.name + "'");
    if (!(x.type == y.type) || x.raw_type != y.raw_type || x.is_tensor != y.is_tensor ||
        x.has_type != y.has_type)
      return d.differ(where + " '" + x.name + "': type " + x.type.str() + " vs " + y.type.str());
    if (x.doc_string != y.doc_string || x.unknown_fields != y.unknown_fields)
      return d.differ(where + " '" + x.name + "': doc string or extra fields");
  }
  return true;
}

bool graphs_equal_impl(const Graph& a, const Graph& b, const std::string& where, Differ& d);

bool attributes_equal(const Attribute& x, const Attribute& y, const std::string& where, Differ& d) {
  if (x.name != y.name || x.kind != y.kind)
    return d.differ(where + ": attribute '" + x.name + "' vs '" + y.name + "'");
  const std::string w = where + " attribute '" + x.name + "'";
  bool same = x.ref_attr_name == y.ref_attr_name && x.doc_string == y.doc_string &&
              x.unknown_fields == y.unknown_fields;
  switch (x.kind) {
    case Attribute::Kind::Float: same &= std::memcmp(&x.f, &y.f, sizeof(float)) == 0; break;
    case Attribute::Kind::Int: same &= x.i == y.i; break;
    case Attribute::Kind::String: same &= x.s == y.s; break;
    case Attribute::Kind::Tensor: same &= tensors_equal(x.t, y.t); break;
    case Attribute::Kind::Graph:
      if (!graphs_equal_impl(*x.g, *y.g, w, d)) return false;
      break;
    case Attribute::Kind::Floats:
      same &= x.floats.size() == y.floats.size() &&
              (x.floats.empty() ||
               std::memcmp(x.floats.data(), y.floats.data(), x.floats.size() * sizeof(float)) == 0);
      break;
    case Attribute::Kind::Ints: same &= x.ints == y.ints; break;
    case Attribute::Kind::Strings: same &= x.strings == y.strings; break;
    case Attribute::Kind::Tensors:
      same &= x.tensors.size() == y.tensors.size();
      for (size_t i = 0; same && i < x.tensors.size(); ++i)
        same &= tensors_equal(x.tensors[i], y.tensors[i]);
      break;
    case Attribute::Kind::Graphs:
      if (x.graphs.size() != y.graphs.size()) return d.differ(w + ": graph count");
      for (size_t i = 0; i < x.graphs.size(); ++i)
        if (!graphs_equal_impl(*x.graphs[i], *y.graphs[i], w, d)) return false;
      break;
    case Attribute::Kind::Opaque: same &= x.opaque == y.opaque; break;
  }
  return same ? true : d.differ(w + ": values differ");
}

bool graphs_equal_impl(const Graph& a, const Graph& b, const std::string& where, Differ& d) {
  const std::string w = where.empty() ? "graph '" + a.name + "'" : where + " > graph '" + a.name + "'";
  if (a.name != b.name) return d.differ(w + ": name vs '" + b.name + "'");
  if (a.doc_string != b.doc_string) return d.differ(w + ": doc string");
  if (!value_infos_equal(a.inputs, b.inputs, w + " input", d)) return false;
  if (!value_infos_equal(a.outputs, b.outputs, w + " output", d)) return false;
  if (!value_infos_equal(a.value_info, b.value_info, w + " value_info", d)) return false;
  if (a.initializers.size() != b.initializers.size()) return d.differ(w + ": initializer count");
  for (size_t i = 0; i < a.initializers.size(); ++i) {
    const Initializer &x = a.initializers[i], &y = b.initializers[i];
    if (x.name != y.name || x.doc_string != y.doc_string)
      return d.differ(w + ": initializer '" + x.name + "' vs '" + y.name + "'");
    if (!tensors_equal(x.value, y.value))
      return d.differ(w + ": initializer '" + x.name + "' values differ");
  }
  if (a.nodes.size() != b.nodes.size()) return d.differ(w + ": node count");
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    const std::string nw = w + " " + x.label();
    if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain)
      return d.differ(nw + " vs " + y.label());
    if (x.inputs != y.inputs || x.outputs != y.outputs) return d.differ(nw + ": edges differ");
    if (x.doc_string != y.doc_string || x.unknown_fields != y.unknown_fields)
      return d.differ(nw + ": doc string or extra fields");
    if (x.attributes.size() != y.attributes.size()) return d.differ(nw + ": attribute count");
    for (size_t j = 0; j < x.attributes.size(); ++j)
      if (!attributes_equal(x.attributes[j], y.attributes[j], nw, d)) return false;
  }
  if (a.sparse_initializers != b.sparse_initializers) return d.differ(w + ": sparse initializers");
  if (a.quantization_annotations != b.quantization_annotations)
    return d.differ(w + ": quantization annotations");
  if (a.unknown_fields != b.unknown_fields) return d.differ(w + ": extra fields");
  return true;
}

}  // namespace

bool graphs_equal(const Graph& a, const Graph& b, std::string* why) {
  Differ d{why};
  return graphs_equal_impl(a, b, "", d);
}

bool models_equal(const Model& a, const Model& b, std::string* why) {
  Differ d{why};
  if (a.ir_version != b.ir_version) return d.differ("ir_version");
  if (a.opset_imports != b.opset_imports) return d.differ("opset imports");
  if (a.producer_name != b.producer_name || a.producer_version != b.producer_version ||
      a.domain != b.domain || a.model_version != b.model_version || a.doc_string != b.doc_string)
    return d.differ("model header fields");
  if (a.metadata_props != b.metadata_props) return d.differ("metadata_props");
  if (a.functions != b.functions) return d.differ("model-local functions");
  if (a.training_info != b.training_info) return d.differ("training info");
  if (a.unknown_fields != b.unknown_fields) return d.differ("model extra fields");
  return graphs_equal_impl(a.graph, b.graph, "", d);
}

}  // namespace eqopt
