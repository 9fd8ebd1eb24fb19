// The plain dataflow IR: a Model holds a Graph of Nodes connected by value names, as in ONNX.
//
// Everything eqopt does not interpret itself (sparse initializers, model-local functions, training
// info, fields added by newer ONNX IR versions) is kept as serialized protobuf bytes so that a model
// passes through load -> save unchanged.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/tensor.h"

namespace eqopt {

// One dimension of a tensor type: a known size, a named symbol ("batch"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string param;   // symbolic name when value < 0; empty = anonymous unknown

  static Dim of(int64_t v) { return Dim{v, {}}; }
  static Dim symbol(std::string name) { return Dim{-1, std::move(name)}; }
  static Dim unknown() { return Dim{}; }
  bool known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
  std::string str() const;  // "3", "batch" or "?"
};
using Dims = std::vector<Dim>;
Dims dims_of(const Shape& shape);
std::string dims_str(const Dims& dims);  // "[1,3,?,batch]"

// Element type and (possibly partial) shape of a tensor value.
struct TensorType {
  DType dtype = DType::Undefined;
  std::optional<Dims> dims;  // nullopt: rank unknown

  static TensorType of(DType t, const Shape& s) { return {t, dims_of(s)}; }
  static TensorType of(DType t, Dims d) { return {t, std::move(d)}; }
  bool has_rank() const { return dims.has_value(); }
  int64_t rank() const { return dims ? int64_t(dims->size()) : -1; }
  bool is_static() const;  // every dim known
  std::optional<Shape> static_shape() const;
  bool operator==(const TensorType&) const = default;
  std::string str() const;  // "float32[1,3,?,?]", "float32[*]" when the rank is unknown
};

struct ValueInfo {
  std::string name;
  TensorType type;
  std::string doc_string;
  // Serialized TypeProto when the type is not a plain tensor type (sequence, map, optional,
  // sparse) or carries denotations; written back verbatim unless the type is changed.
  std::optional<std::string> raw_type;
  std::string unknown_fields;
  bool is_tensor = true;  // false for sequence, map, optional and sparse types (kept in raw_type)
  bool has_type = true;   // false when the ValueInfoProto had no type at all
};

struct Graph;

struct Attribute {
  enum class Kind { Float, Int, String, Tensor, Graph, Floats, Ints, Strings, Tensors, Graphs, Opaque };
  std::string name;
  Kind kind = Kind::Int;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::string ref_attr_name;
  std::string doc_string;
  // Kind::Opaque: the whole serialized AttributeProto (sparse tensors, type protos).
  std::string opaque;
  std::string unknown_fields;

  static Attribute make_int(std::string name, int64_t v);
  static Attribute make_float(std::string name, float v);
  static Attribute make_string(std::string name, std::string v);
  static Attribute make_ints(std::string name, std::vector<int64_t> v);
  static Attribute make_floats(std::string name, std::vector<float> v);
  static Attribute make_tensor(std::string name, Tensor v);
  static Attribute make_graph(std::string name, Graph v);
};
std::string_view attribute_kind_name(Attribute::Kind k);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" and "ai.onnx" both mean the default domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  std::string doc_string;
  std::string unknown_fields;

  bool is_default_domain() const { return domain.empty() || domain == "ai.onnx"; }
  const Attribute* attr(std::string_view name) const;
  bool has_attr(std::string_view name) const { return attr(name) != nullptr; }
  // Typed getters: return the fallback when absent; throw Error when present with another kind.
  int64_t attr_int(std::string_view name, int64_t fallback) const;
  float attr_float(std::string_view name, float fallback) const;
  std::string attr_string(std::string_view name, std::string fallback) const;
  std::vector<int64_t> attr_ints(std::string_view name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> attr_floats(std::string_view name, std::vector<float> fallback = {}) const;
  // Human label for messages: "node 'conv1' (Conv)".
  std::string label() const;
  void set_attr(Attribute a);  // replaces an attribute of the same name
};

struct Initializer {
  std::string name;
  Tensor value;
  std::string doc_string;
};

struct Graph {
  std::string name;
  std::string doc_string;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::vector<Initializer> initializers;
  std::vector<Node> nodes;
  std::vector<std::string> sparse_initializers;       // serialized SparseTensorProto, passed through
  std::vector<std::string> quantization_annotations;  // serialized TensorAnnotation, passed through
  std::string unknown_fields;

  const Initializer* find_initializer(std::string_view name) const;
  const ValueInfo* find_input(std::string_view name) const;
  const ValueInfo* find_value_info(std::string_view name) const;  // inputs, outputs, value_info
  // Graph inputs that are not also initializers (the ones a caller must feed).
  std::vector<const ValueInfo*> runtime_inputs() const;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
  bool operator==(const OpsetImport&) const = default;
};

struct Model {
  int64_t ir_version = 8;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  Graph graph;
  std::vector<std::string> functions;      // serialized FunctionProto, passed through
  std::vector<std::string> training_info;  // serialized TrainingInfoProto, passed through
  std::string unknown_fields;

  // Imported version of a domain ("" = default ONNX domain), 0 when not imported.
  int64_t opset(std::string_view domain = "") const;
};

bool is_default_domain(std::string_view domain);

// Calls f(graph, depth) for the graph and, recursively, every subgraph held in node attributes.
template <class G, class F>
void for_each_graph(G& graph, F&& f, int depth = 0) {
  f(graph, depth);
  for (auto& node : graph.nodes)
    for (auto& a : node.attributes) {
      if (a.g) for_each_graph(*a.g, f, depth + 1);
      for (auto& sub : a.graphs)
        if (sub) for_each_graph(*sub, f, depth + 1);
    }
}

// Calls f(name) for every value that `sub` (a subgraph), or a subgraph nested in it, reads from
// enclosing scopes: names used but not defined inside. `defined_above` holds names defined by the
// subgraphs between `sub` and the scope the caller asks about.
template <class F>
void for_each_outer_reference(const Graph& sub, F&& f, const std::set<std::string>& defined_above = {}) {
  std::set<std::string> defined = defined_above;
  for (const ValueInfo& v : sub.inputs) defined.insert(v.name);
  for (const Initializer& i : sub.initializers) defined.insert(i.name);
  for (const Node& n : sub.nodes)
    for (const std::string& o : n.outputs) defined.insert(o);
  for (const Node& n : sub.nodes) {
    for (const std::string& in : n.inputs)
      if (!in.empty() && !defined.count(in)) f(in);
    for (const Attribute& a : n.attributes) {
      if (a.g) for_each_outer_reference(*a.g, f, defined);
      for (const auto& g : a.graphs)
        if (g) for_each_outer_reference(*g, f, defined);
    }
  }
  for (const ValueInfo& o : sub.outputs)
    if (!defined.count(o.name)) f(o.name);
}

// Structural equality (names, ops, attributes, types, bit-identical tensors); on a difference,
// *why says where. Used by round-trip tests and by `eqopt` self-checks.
bool graphs_equal(const Graph& a, const Graph& b, std::string* why = nullptr);
bool models_equal(const Model& a, const Model& b, std::string* why = nullptr);

}  // namespace eqopt
