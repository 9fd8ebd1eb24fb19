#include "tools/onnx_signature.h"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <map>

namespace eqopt::tools {

namespace {

std::optional<DType> dtype_of_type_str(const std::string& s) {
  static const std::map<std::string, DType> types = {
      {"tensor(float)", DType::Float},     {"tensor(double)", DType::Double}, {"tensor(float16)", DType::Float16},
      {"tensor(bfloat16)", DType::BFloat16}, {"tensor(int8)", DType::Int8},   {"tensor(int16)", DType::Int16},
      {"tensor(int32)", DType::Int32},     {"tensor(int64)", DType::Int64},   {"tensor(uint8)", DType::UInt8},
      {"tensor(uint16)", DType::UInt16},   {"tensor(uint32)", DType::UInt32}, {"tensor(uint64)", DType::UInt64},
      {"tensor(bool)", DType::Bool},       {"tensor(string)", DType::String}};
  auto it = types.find(s);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

ValueSpec value_spec(const onnx::OpSchema::FormalParameter& p, std::vector<std::string>& unread) {
  ValueSpec v;
  v.name = p.GetName();
  for (const auto* t : p.GetTypes()) {
    if (const auto d = dtype_of_type_str(*t))
      v.dtypes = v.dtypes | DTypeSet{*d};
    else if (std::find(unread.begin(), unread.end(), *t) == unread.end())
      unread.push_back(*t);
  }
  switch (p.GetOption()) {
    case onnx::OpSchema::Single: v.presence = ValueSpec::Presence::Required; break;
    case onnx::OpSchema::Optional: v.presence = ValueSpec::Presence::Optional; break;
    case onnx::OpSchema::Variadic: v.presence = ValueSpec::Presence::Variadic; break;
  }
  return v;
}

Attribute::Kind attr_kind(onnx::AttributeProto::AttributeType t) {
  using A = onnx::AttributeProto;
  switch (t) {
    case A::FLOAT: return Attribute::Kind::Float;
    case A::INT: return Attribute::Kind::Int;
    case A::STRING: return Attribute::Kind::String;
    case A::TENSOR: return Attribute::Kind::Tensor;
    case A::GRAPH: return Attribute::Kind::Graph;
    case A::FLOATS: return Attribute::Kind::Floats;
    case A::INTS: return Attribute::Kind::Ints;
    case A::STRINGS: return Attribute::Kind::Strings;
    case A::TENSORS: return Attribute::Kind::Tensors;
    case A::GRAPHS: return Attribute::Kind::Graphs;
    default: return Attribute::Kind::Opaque;
  }
}

AttrSpec attr_spec(const onnx::OpSchema::Attribute& a, std::vector<std::string>& unread) {
  AttrSpec s;
  s.name = a.name;
  s.kind = attr_kind(a.type);
  s.required = a.required;
  const onnx::AttributeProto& d = a.default_value;
  if (a.required || !d.has_type()) return s;
  using A = onnx::AttributeProto;
  switch (d.type()) {
    case A::FLOAT: s.default_value = Attribute::make_float(a.name, d.f()); break;
    case A::INT: s.default_value = Attribute::make_int(a.name, d.i()); break;
    case A::STRING: s.default_value = Attribute::make_string(a.name, d.s()); break;
    case A::FLOATS: s.default_value = Attribute::make_floats(a.name, {d.floats().begin(), d.floats().end()}); break;
    case A::INTS: s.default_value = Attribute::make_ints(a.name, {d.ints().begin(), d.ints().end()}); break;
    case A::STRINGS: {
      Attribute x;
      x.name = a.name;
      x.kind = Attribute::Kind::Strings;
      x.strings.assign(d.strings().begin(), d.strings().end());
      s.default_value = x;
      break;
    }
    default: unread.push_back("the default of attribute '" + a.name + "'"); break;
  }
  return s;
}

}  // namespace

std::optional<OnnxSignature> onnx_signature(const std::string& name, int64_t max_version) {
  const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(name, int(max_version), "");
  if (!s) return std::nullopt;
  OnnxSignature r;
  r.name = name;
  r.version = s->since_version();
  r.deprecated = s->Deprecated();
  r.since_version = r.version;
  for (int v = int(r.version) - 1; v >= 1; --v) {
    const onnx::OpSchema* older = onnx::OpSchemaRegistry::Schema(name, v, "");
    if (!older) break;
    r.since_version = older->since_version();
    v = older->since_version();
  }
  for (const auto& p : s->inputs()) r.inputs.push_back(value_spec(p, r.unread));
  for (const auto& p : s->outputs()) r.outputs.push_back(value_spec(p, r.unread));
  for (const auto& [attr_name, a] : s->attributes()) r.attrs.push_back(attr_spec(a, r.unread));
  return r;
}

}  // namespace eqopt::tools
