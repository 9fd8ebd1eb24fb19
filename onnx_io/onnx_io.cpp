#include "onnx_io/onnx_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "ir/shape_inference.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx_io/proto_tensor.h"

namespace eqopt {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- reading

std::string unknown_of(const google::protobuf::Message& m) {
  std::string s;
  const auto& u = m.GetReflection()->GetUnknownFields(m);
  if (u.field_count()) u.SerializeToString(&s);
  return s;
}

void set_unknown(google::protobuf::Message* m, const std::string& bytes) {
  if (!bytes.empty() && !m->GetReflection()->MutableUnknownFields(m)->ParseFromString(bytes))
    fail("internal error: stored extra fields do not parse");
}

struct ReadCtx {
  std::string source;    // model file name for messages
  std::string base_dir;  // folder for external data
  std::map<std::string, std::string> file_cache;
};

const std::string& read_external_file(ReadCtx& rc, const std::string& location,
                                      const std::string& tensor_name) {
  auto it = rc.file_cache.find(location);
  if (it != rc.file_cache.end()) return it->second;
  const fs::path rel(location);
  if (rel.is_absolute() || location.empty())
    fail(rc.source, ": tensor '", tensor_name, "': external data location '", location,
         "' must be a relative path");
  for (const auto& part : rel)
    if (part == "..")
      fail(rc.source, ": tensor '", tensor_name, "': external data location '", location,
           "' leaves the model's folder");
  const fs::path full = fs::path(rc.base_dir) / rel;
  std::ifstream in(full, std::ios::binary);
  if (!in)
    fail(rc.source, ": tensor '", tensor_name, "': external data file '", full.string(),
         "' cannot be opened");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return rc.file_cache.emplace(location, std::move(data)).first->second;
}

template <class Repeated>
void check_count(const ReadCtx& rc, const std::string& name, const Repeated& field, int64_t numel,
                 const char* what) {
  if (int64_t(field.size()) != numel)
    fail(rc.source, ": tensor '", name, "' has ", field.size(), " values in ", what, ", its shape needs ",
         numel);
}

Tensor tensor_from_proto(const onnx::TensorProto& p, ReadCtx& rc) {
  const std::string name = p.name().empty() ? std::string("<unnamed>") : p.name();
  const auto dtype_opt = dtype_from_code(p.data_type());
  if (!dtype_opt || *dtype_opt == DType::Undefined)
    fail(rc.source, ": tensor '", name, "' has unsupported data type ", p.data_type());
  const DType dtype = *dtype_opt;
  if (p.has_segment()) fail(rc.source, ": tensor '", name, "' is segmented, which is not supported");
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0) fail(rc.source, ": tensor '", name, "' has negative dimension ", d);
  Tensor t;
  try {
    t = Tensor(dtype, shape);
  } catch (const Error& e) {
    fail(rc.source, ": tensor '", name, "': ", e.what());
  }
  const int64_t numel = t.numel();
  const size_t nbytes = t.nbytes();

  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : p.external_data()) {
      try {
        if (kv.key() == "location") location = kv.value();
        else if (kv.key() == "offset") offset = std::stoll(kv.value());
        else if (kv.key() == "length") length = std::stoll(kv.value());
      } catch (const std::exception&) {
        fail(rc.source, ": tensor '", name, "': bad external data ", kv.key(), " '", kv.value(), "'");
      }
    }
    if (dtype == DType::String) fail(rc.source, ": tensor '", name, "': string tensors cannot be external");
    const std::string& file = read_external_file(rc, location, name);
    if (length < 0) length = int64_t(nbytes);
    if (offset < 0 || length != int64_t(nbytes) || uint64_t(offset) + uint64_t(length) > file.size())
      fail(rc.source, ": tensor '", name, "': external data (offset ", offset, ", length ", length,
           ") does not fit file '", location, "' of ", file.size(), " bytes for ", t.type_str());
    if (nbytes) std::memcpy(t.raw_mutable_data(), file.data() + offset, nbytes);
    return t;
  }
  if (dtype == DType::String) {
    check_count(rc, name, p.string_data(), numel, "string_data");
    auto& out = t.mutable_strings();
    for (int64_t i = 0; i < numel; ++i) out[size_t(i)] = p.string_data(int(i));
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      fail(rc.source, ": tensor '", name, "' has ", p.raw_data().size(), " bytes of raw data; ",
           t.type_str(), " needs ", nbytes);
    if (nbytes) std::memcpy(t.raw_mutable_data(), p.raw_data().data(), nbytes);
    return t;
  }
  // Typed fields.
  uint8_t* out = static_cast<uint8_t*>(t.raw_mutable_data());
  switch (dtype) {
    case DType::Float:
      check_count(rc, name, p.float_data(), numel, "float_data");
      if (numel) std::memcpy(out, p.float_data().data(), nbytes);
      break;
    case DType::Complex64:
      check_count(rc, name, p.float_data(), numel * 2, "float_data");
      if (numel) std::memcpy(out, p.float_data().data(), nbytes);
      break;
    case DType::Double:
      check_count(rc, name, p.double_data(), numel, "double_data");
      if (numel) std::memcpy(out, p.double_data().data(), nbytes);
      break;
    case DType::Complex128:
      check_count(rc, name, p.double_data(), numel * 2, "double_data");
      if (numel) std::memcpy(out, p.double_data().data(), nbytes);
      break;
    case DType::Int64:
      check_count(rc, name, p.int64_data(), numel, "int64_data");
      if (numel) std::memcpy(out, p.int64_data().data(), nbytes);
      break;
    case DType::UInt32:
    case DType::UInt64:
      check_count(rc, name, p.uint64_data(), numel, "uint64_data");
      for (int64_t i = 0; i < numel; ++i) {
        const uint64_t v = p.uint64_data(int(i));
        if (dtype == DType::UInt32) {
          const uint32_t w = uint32_t(v);
          std::memcpy(out + i * 4, &w, 4);
        } else {
          std::memcpy(out + i * 8, &v, 8);
        }
      }
      break;
    case DType::Int32:
    case DType::Int16:
    case DType::Int8:
    case DType::UInt16:
    case DType::UInt8:
    case DType::Bool:
    case DType::Float16:
    case DType::BFloat16: {
      check_count(rc, name, p.int32_data(), numel, "int32_data");
      const size_t es = dtype_size(dtype);
      for (int64_t i = 0; i < numel; ++i) {
        const int32_t v = p.int32_data(int(i));
        if (dtype == DType::Bool) {
          out[i] = v != 0;
        } else if (es == 4) {
          std::memcpy(out + i * 4, &v, 4);
        } else if (es == 2) {
          const uint16_t w = uint16_t(v);
          std::memcpy(out + i * 2, &w, 2);
        } else {
          out[i] = uint8_t(v);
        }
      }
      break;
    }
    default:
      fail(rc.source, ": tensor '", name, "' has element type ", dtype_name(dtype), " without data");
  }
  return t;
}

TensorType tensor_type_from_proto(const onnx::TypeProto_Tensor& tt, bool* lossy) {
  TensorType t;
  t.dtype = dtype_from_code(tt.elem_type()).value_or(DType::Undefined);
  if (!tt.has_shape()) return t;
  Dims dims;
  for (const auto& d : tt.shape().dim()) {
    if (!d.denotation().empty() || d.unknown_fields().field_count() != 0) *lossy = true;
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) {
        *lossy = true;
        dims.push_back(Dim::unknown());
      } else {
        dims.push_back(Dim::of(d.dim_value()));
      }
    } else if (d.has_dim_param()) {
      dims.push_back(Dim::symbol(d.dim_param()));
    } else {
      dims.push_back(Dim::unknown());
    }
  }
  t.dims = std::move(dims);
  return t;
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& p) {
  ValueInfo v;
  v.name = p.name();
  v.doc_string = p.doc_string();
  v.unknown_fields = unknown_of(p);
  if (!p.has_type()) {
    v.has_type = false;
    return v;
  }
  const onnx::TypeProto& tp = p.type();
  bool lossy = !tp.denotation().empty() || tp.unknown_fields().field_count() != 0;
  if (tp.has_tensor_type()) {
    v.type = tensor_type_from_proto(tp.tensor_type(), &lossy);
    if (tp.tensor_type().unknown_fields().field_count() != 0) lossy = true;
  } else {
    v.is_tensor = false;
    lossy = true;
  }
  if (lossy) v.raw_type = tp.SerializeAsString();
  return v;
}

Graph graph_from_proto(const onnx::GraphProto& p, ReadCtx& rc);

Attribute attribute_from_proto(const onnx::AttributeProto& p, ReadCtx& rc, const std::string& where) {
  Attribute a;
  a.name = p.name();
  a.ref_attr_name = p.ref_attr_name();
  a.doc_string = p.doc_string();
  a.unknown_fields = unknown_of(p);
  auto type = p.type();
  if (type == onnx::AttributeProto::UNDEFINED) {
    // Very old models leave the type unset; deduce it from the field that holds data.
    if (p.has_f()) type = onnx::AttributeProto::FLOAT;
    else if (p.has_i()) type = onnx::AttributeProto::INT;
    else if (p.has_s()) type = onnx::AttributeProto::STRING;
    else if (p.has_t()) type = onnx::AttributeProto::TENSOR;
    else if (p.has_g()) type = onnx::AttributeProto::GRAPH;
    else if (p.floats_size()) type = onnx::AttributeProto::FLOATS;
    else if (p.ints_size()) type = onnx::AttributeProto::INTS;
    else if (p.strings_size()) type = onnx::AttributeProto::STRINGS;
    else if (p.tensors_size()) type = onnx::AttributeProto::TENSORS;
    else if (p.graphs_size()) type = onnx::AttributeProto::GRAPHS;
  }
  switch (type) {
    case onnx::AttributeProto::FLOAT: a.kind = Attribute::Kind::Float; a.f = p.f(); break;
    case onnx::AttributeProto::INT: a.kind = Attribute::Kind::Int; a.i = p.i(); break;
    case onnx::AttributeProto::STRING: a.kind = Attribute::Kind::String; a.s = p.s(); break;
    case onnx::AttributeProto::TENSOR:
      a.kind = Attribute::Kind::Tensor;
      a.t = tensor_from_proto(p.t(), rc);
      break;
    case onnx::AttributeProto::GRAPH:
      a.kind = Attribute::Kind::Graph;
      a.g = std::make_shared<Graph>(graph_from_proto(p.g(), rc));
      break;
    case onnx::AttributeProto::FLOATS:
      a.kind = Attribute::Kind::Floats;
      a.floats.assign(p.floats().begin(), p.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      a.kind = Attribute::Kind::Ints;
      a.ints.assign(p.ints().begin(), p.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      a.kind = Attribute::Kind::Strings;
      a.strings.assign(p.strings().begin(), p.strings().end());
      break;
    case onnx::AttributeProto::TENSORS:
      a.kind = Attribute::Kind::Tensors;
      for (const auto& t : p.tensors()) a.tensors.push_back(tensor_from_proto(t, rc));
      break;
    case onnx::AttributeProto::GRAPHS:
      a.kind = Attribute::Kind::Graphs;
      for (const auto& g : p.graphs()) a.graphs.push_back(std::make_shared<Graph>(graph_from_proto(g, rc)));
      break;
    case onnx::AttributeProto::UNDEFINED:
      if (!p.ref_attr_name().empty()) {
        a.kind = Attribute::Kind::Opaque;
        a.opaque = p.SerializeAsString();
        break;
      }
      fail(rc.source, ": ", where, ": attribute '", p.name(), "' has no type and no value");
    default:  // sparse tensors, type protos: kept verbatim
      a.kind = Attribute::Kind::Opaque;
      a.opaque = p.SerializeAsString();
      break;
  }
  return a;
}

Graph graph_from_proto(const onnx::GraphProto& p, ReadCtx& rc) {
  Graph g;
  g.name = p.name();
  g.doc_string = p.doc_string();
  g.unknown_fields = unknown_of(p);
  for (const auto& v : p.input()) g.inputs.push_back(value_info_from_proto(v));
  for (const auto& v : p.output()) g.outputs.push_back(value_info_from_proto(v));
  for (const auto& v : p.value_info()) g.value_info.push_back(value_info_from_proto(v));
  for (const auto& t : p.initializer()) {
    if (t.name().empty()) fail(rc.source, ": graph '", g.name, "' has an initializer without a name");
    g.initializers.push_back({t.name(), tensor_from_proto(t, rc), t.doc_string()});
  }
  for (const auto& s : p.sparse_initializer()) g.sparse_initializers.push_back(s.SerializeAsString());
  for (const auto& q : p.quantization_annotation())
    g.quantization_annotations.push_back(q.SerializeAsString());
  g.nodes.reserve(size_t(p.node_size()));
  for (const auto& np : p.node()) {
    Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain();
    n.doc_string = np.doc_string();
    n.unknown_fields = unknown_of(np);
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    if (n.op_type.empty()) fail(rc.source, ": graph '", g.name, "' has a node without op_type");
    for (const auto& ap : np.attribute()) n.attributes.push_back(attribute_from_proto(ap, rc, n.label()));
    g.nodes.push_back(std::move(n));
  }
  return g;
}

Model model_from_proto(const onnx::ModelProto& p, ReadCtx& rc) {
  if (!p.has_graph())
    fail(rc.source, ": not an ONNX model (no graph; ir_version ", p.ir_version(), ")");
  if (p.ir_version() < 1 || p.ir_version() > 11)
    fail(rc.source, ": unsupported ONNX IR version ", p.ir_version(), " (eqopt reads 3 to 10)");
  Model m;
  m.ir_version = p.ir_version();
  m.producer_name = p.producer_name();
  m.producer_version = p.producer_version();
  m.domain = p.domain();
  m.model_version = p.model_version();
  m.doc_string = p.doc_string();
  m.unknown_fields = unknown_of(p);
  for (const auto& o : p.opset_import()) m.opset_imports.push_back({o.domain(), o.version()});
  if (m.ir_version < 3 && m.opset_imports.empty()) m.opset_imports.push_back({"", 1});
  for (const auto& kv : p.metadata_props()) m.metadata_props.emplace_back(kv.key(), kv.value());
  for (const auto& f : p.functions()) m.functions.push_back(f.SerializeAsString());
  for (const auto& t : p.training_info()) m.training_info.push_back(t.SerializeAsString());
  m.graph = graph_from_proto(p.graph(), rc);
  return m;
}

// ---------------------------------------------------------------- writing

struct WriteCtx {
  size_t threshold = 0;      // bytes; 0 = inline
  std::string data_name;     // relative external data file name
  std::string data;          // external data being collected
};

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p, WriteCtx* wc) {
  p->set_name(name);
  p->set_data_type(int32_t(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  if (t.dtype() == DType::String) {
    for (const std::string& s : t.strings()) p->add_string_data(s);
    return;
  }
  if (wc && wc->threshold > 0 && t.nbytes() >= wc->threshold) {
    // Align each tensor to 4 KiB as ONNX's own writer does, so the file can be mapped.
    while (wc->data.size() % 4096) wc->data.push_back('\0');
    const size_t offset = wc->data.size();
    wc->data.append(static_cast<const char*>(t.raw_data()), t.nbytes());
    p->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [p](const std::string& k, const std::string& v) {
      auto* e = p->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", wc->data_name);
    add("offset", std::to_string(offset));
    add("length", std::to_string(t.nbytes()));
    return;
  }
  p->set_raw_data(t.raw_data(), t.nbytes());
}

void type_to_proto(const ValueInfo& v, onnx::ValueInfoProto* p) {
  if (v.raw_type) {
    if (!p->mutable_type()->ParseFromString(*v.raw_type))
      fail("internal error: stored type of '", v.name, "' does not parse");
    return;
  }
  if (!v.has_type) return;
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(int32_t(v.type.dtype));
  if (!v.type.dims) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *v.type.dims) {
    auto* dp = shape->add_dim();
    if (d.known()) dp->set_dim_value(d.value);
    else if (!d.param.empty()) dp->set_dim_param(d.param);
  }
}

void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  if (!v.doc_string.empty()) p->set_doc_string(v.doc_string);
  type_to_proto(v, p);
  set_unknown(p, v.unknown_fields);
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p, WriteCtx* wc);

void attribute_to_proto(const Attribute& a, onnx::AttributeProto* p, WriteCtx* wc) {
  if (a.kind == Attribute::Kind::Opaque) {
    if (!p->ParseFromString(a.opaque)) fail("internal error: stored attribute '", a.name, "' does not parse");
    return;
  }
  p->set_name(a.name);
  if (!a.ref_attr_name.empty()) p->set_ref_attr_name(a.ref_attr_name);
  if (!a.doc_string.empty()) p->set_doc_string(a.doc_string);
  switch (a.kind) {
    case Attribute::Kind::Float: p->set_type(onnx::AttributeProto::FLOAT); p->set_f(a.f); break;
    case Attribute::Kind::Int: p->set_type(onnx::AttributeProto::INT); p->set_i(a.i); break;
    case Attribute::Kind::String: p->set_type(onnx::AttributeProto::STRING); p->set_s(a.s); break;
    case Attribute::Kind::Tensor:
      p->set_type(onnx::AttributeProto::TENSOR);
      tensor_to_proto(a.t, "", p->mutable_t(), nullptr);  // Constant values stay inline
      break;
    case Attribute::Kind::Graph:
      p->set_type(onnx::AttributeProto::GRAPH);
      graph_to_proto(*a.g, p->mutable_g(), wc);
      break;
    case Attribute::Kind::Floats:
      p->set_type(onnx::AttributeProto::FLOATS);
      for (float f : a.floats) p->add_floats(f);
      break;
    case Attribute::Kind::Ints:
      p->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : a.ints) p->add_ints(i);
      break;
    case Attribute::Kind::Strings:
      p->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : a.strings) p->add_strings(s);
      break;
    case Attribute::Kind::Tensors:
      p->set_type(onnx::AttributeProto::TENSORS);
      for (const auto& t : a.tensors) tensor_to_proto(t, "", p->add_tensors(), nullptr);
      break;
    case Attribute::Kind::Graphs:
      p->set_type(onnx::AttributeProto::GRAPHS);
      for (const auto& sub : a.graphs) graph_to_proto(*sub, p->add_graphs(), wc);
      break;
    case Attribute::Kind::Opaque: break;
  }
  set_unknown(p, a.unknown_fields);
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p, WriteCtx* wc) {
  p->set_name(g.name);
  if (!g.doc_string.empty()) p->set_doc_string(g.doc_string);
  for (const Node& n : g.nodes) {
    auto* np = p->add_node();
    for (const auto& in : n.inputs) np->add_input(in);
    for (const auto& out : n.outputs) np->add_output(out);
    if (!n.name.empty()) np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const Attribute& a : n.attributes) attribute_to_proto(a, np->add_attribute(), wc);
    if (!n.doc_string.empty()) np->set_doc_string(n.doc_string);
    set_unknown(np, n.unknown_fields);
  }
  for (const Initializer& i : g.initializers) {
    auto* tp = p->add_initializer();
    tensor_to_proto(i.value, i.name, tp, wc);
    if (!i.doc_string.empty()) tp->set_doc_string(i.doc_string);
  }
  for (const auto& s : g.sparse_initializers)
    if (!p->add_sparse_initializer()->ParseFromString(s)) fail("internal error: sparse initializer");
  for (const ValueInfo& v : g.inputs) value_info_to_proto(v, p->add_input());
  for (const ValueInfo& v : g.outputs) value_info_to_proto(v, p->add_output());
  for (const ValueInfo& v : g.value_info) value_info_to_proto(v, p->add_value_info());
  for (const auto& q : g.quantization_annotations)
    if (!p->add_quantization_annotation()->ParseFromString(q)) fail("internal error: quantization annotation");
  set_unknown(p, g.unknown_fields);
}

void model_to_proto(const Model& m, onnx::ModelProto* p, WriteCtx* wc) {
  p->set_ir_version(m.ir_version);
  for (const OpsetImport& o : m.opset_imports) {
    auto* op = p->add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!m.producer_name.empty()) p->set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) p->set_producer_version(m.producer_version);
  if (!m.domain.empty()) p->set_domain(m.domain);
  if (m.model_version) p->set_model_version(m.model_version);
  if (!m.doc_string.empty()) p->set_doc_string(m.doc_string);
  graph_to_proto(m.graph, p->mutable_graph(), wc);
  for (const auto& [k, v] : m.metadata_props) {
    auto* e = p->add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  for (const auto& t : m.training_info)
    if (!p->add_training_info()->ParseFromString(t)) fail("internal error: training info");
  for (const auto& f : m.functions)
    if (!p->add_functions()->ParseFromString(f)) fail("internal error: model function");
  set_unknown(p, m.unknown_fields);
}

size_t total_tensor_bytes(const Graph& g) {
  size_t n = 0;
  for (const Initializer& i : g.initializers) n += i.value.nbytes();
  for (const Node& node : g.nodes)
    for (const Attribute& a : node.attributes) {
      if (a.g) n += total_tensor_bytes(*a.g);
      for (const auto& sub : a.graphs) n += total_tensor_bytes(*sub);
    }
  return n;
}

std::string temp_name_for(const std::string& path) {
  static int counter = 0;
  return path + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& source,
                         const std::string& base_dir) {
  ReadCtx rc{source, base_dir, {}};
  return tensor_from_proto(p, rc);
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("'", path, "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '", path, "': ", std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("cannot read '", path, "'");
  return data;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = temp_name_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write '", path, "': ", std::strerror(errno));
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      fail("cannot write '", path, "': ", std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("cannot write '", path, "': ", ec.message());
  }
}

Model load_model_from_bytes(const std::string& bytes, const std::string& base_dir,
                            const std::string& source_name, const LoadOptions& options) {
  onnx::ModelProto proto;
  {
    google::protobuf::io::ArrayInputStream raw(bytes.data(), int(std::min<size_t>(bytes.size(), INT_MAX)));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT_MAX);
    coded.SetRecursionLimit(512);
    if (bytes.size() > size_t(INT_MAX)) fail(source_name, ": file exceeds protobuf's 2 GiB limit");
    if (bytes.empty()) fail(source_name, ": file is empty, not an ONNX model");
    if (!proto.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
      fail(source_name, ": not a valid ONNX model (protobuf parse failed: truncated or corrupt file)");
  }
  ReadCtx rc{source_name, base_dir, {}};
  Model m = model_from_proto(proto, rc);
  if (options.validate) {
    try {
      validate_model(m);
    } catch (const Error& e) {
      fail(source_name, ": ", e.what());
    }
  }
  return m;
}

Model load_model(const std::string& path, const LoadOptions& options) {
  const std::string bytes = read_file(path);
  const std::string dir = fs::path(path).parent_path().string();
  return load_model_from_bytes(bytes, dir.empty() ? "." : dir, path, options);
}

std::string serialize_model(const Model& model) {
  onnx::ModelProto p;
  model_to_proto(model, &p, nullptr);
  std::string out;
  if (!p.SerializeToString(&out)) fail("cannot serialize the model (larger than 2 GiB? save with external data)");
  return out;
}

void save_model(const Model& model, const std::string& path, const SaveOptions& options) {
  WriteCtx wc;
  wc.threshold = options.external_data_threshold;
  if (wc.threshold == 0 && total_tensor_bytes(model.graph) > (size_t(1) << 30) + (size_t(1) << 29))
    wc.threshold = 1024;  // would not fit protobuf's 2 GiB limit inline
  wc.data_name = options.external_data_file.empty() ? fs::path(path).filename().string() + ".data"
                                                    : options.external_data_file;
  onnx::ModelProto p;
  model_to_proto(model, &p, &wc);
  std::string bytes;
  if (!p.SerializeToString(&bytes)) fail("cannot serialize the model for '", path, "'");
  if (!wc.data.empty()) {
    const fs::path data_path = fs::path(path).parent_path() / wc.data_name;
    write_file_atomic(data_path.string(), wc.data);
  }
  write_file_atomic(path, bytes);
}

std::string onnx_checker_message(const std::string& path, bool* checked) {
  if (checked) *checked = false;
  onnx::ModelProto proto;
  {
    const std::string bytes = read_file(path);
    if (!proto.ParseFromString(bytes)) return "not a parseable ModelProto";
  }
  int64_t opset = 0;
  for (const auto& o : proto.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (proto.ir_version() > onnx::IR_VERSION || opset > 17) return "";
  if (checked) *checked = true;
  try {
    onnx::checker::check_model(path);  // loads external data relative to the file, as it should
  } catch (const std::exception& e) {
    std::string msg = e.what();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return msg.empty() ? "checker failed" : msg;
  }
  return "";
}

}  // namespace eqopt
