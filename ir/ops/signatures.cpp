// The signatures of the default-domain ops: inputs and outputs with their element types and
// presence, attributes with kind, required-ness and default, the first opset and the version the
// signature describes. ONNX 1.12's facts come from signatures.inc, which tools/gen_op_signatures.cpp
// writes from libonnx's op schemas; eqopt's own facts follow it where they differ, each with its
// reason. tests/op_schema_test.cpp checks the result against ONNX and against inference.
#include <algorithm>

#include "ir/ops/ops.h"

namespace eqopt {

namespace signature {

Attribute strings_attr(std::string name, std::vector<std::string> values) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Attribute::Kind::Strings;
  a.strings = std::move(values);
  return a;
}

Sig::Sig(OpRegistry& r, std::string_view domain, std::string_view name, int64_t since_version,
         int64_t signature_version)
    : s_(r.find_mutable(domain, name)) {
  if (s_ && since_version > 0) s_->since_version = since_version;
  if (s_ && signature_version > 0) s_->signature_version = signature_version;
}

Sig& Sig::in(std::string name, DTypeSet dtypes, ValueSpec::Presence presence) {
  if (s_) s_->inputs.push_back(ValueSpec{std::move(name), dtypes, presence, false});
  return *this;
}

Sig& Sig::out(std::string name, DTypeSet dtypes, ValueSpec::Presence presence) {
  if (s_) s_->outputs.push_back(ValueSpec{std::move(name), dtypes, presence, false});
  return *this;
}

Sig& Sig::attr(std::string name, Attribute::Kind kind, bool required, std::optional<Attribute> default_value) {
  if (!s_) return *this;
  drop_attr(name);
  s_->attrs.push_back(AttrSpec{std::move(name), kind, required, std::move(default_value), {}});
  return *this;
}

Sig& Sig::version(int64_t signature_version) {
  if (s_) s_->signature_version = signature_version;
  return *this;
}

Sig& Sig::since(int64_t since_version) {
  if (s_) s_->since_version = since_version;
  return *this;
}

Sig& Sig::types(std::initializer_list<std::string_view> values, DTypeSet dtypes) {
  if (!s_) return *this;
  for (std::vector<ValueSpec>* list : {&s_->inputs, &s_->outputs})
    for (ValueSpec& v : *list)
      if (std::find(values.begin(), values.end(), v.name) != values.end()) v.dtypes = dtypes;
  return *this;
}

Sig& Sig::types_of_first(DTypeSet dtypes) {
  if (!s_ || s_->inputs.empty()) return *this;
  const DTypeSet t = s_->inputs[0].dtypes;
  for (std::vector<ValueSpec>* list : {&s_->inputs, &s_->outputs})
    for (ValueSpec& v : *list)
      if (v.dtypes == t) v.dtypes = dtypes;
  return *this;
}

Sig& Sig::drop_attr(std::string_view name) {
  if (s_) std::erase_if(s_->attrs, [&](const AttrSpec& a) { return a.name == name; });
  return *this;
}

Sig& Sig::constant(std::initializer_list<size_t> inputs) {
  if (!s_) return *this;
  for (size_t i : inputs)
    if (i < s_->inputs.size()) s_->inputs[i].constant = true;
  return *this;
}

}  // namespace signature

namespace {

using namespace signature;
using Kind = Attribute::Kind;

void onnx_signatures(OpRegistry& r) {
  auto sig = [&r](std::string_view name, int64_t since, int64_t version) { return Sig(r, name, since, version); };
#include "ir/ops/signatures.inc"
}

// Ops whose newest version is newer than ONNX 1.12 (opset 17), as eqopt implements them.
void newer_signatures(OpRegistry& r) {
  // Opset 18: the axes of every reduction become an optional input, as ReduceSum's did in 13.
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    Sig::edit(r, op)
        .version(18)
        .drop_attr("axes")
        .in("axes", {DType::Int64}, kOptional)
        .attr("noop_with_empty_axes", Kind::Int, false, Attribute::make_int("noop_with_empty_axes", 0));
  Sig::edit(r, "Split").version(18).attr("num_outputs", Kind::Int, false, std::nullopt);
  // Opset 18 adds the axes input; 19 the mode "wrap".
  Sig::edit(r, "Pad").version(19).in("axes", {DType::Int32, DType::Int64}, kOptional);
  // Opset 18 adds antialias, axes and keep_aspect_ratio_policy; 19 the mode half_pixel_symmetric.
  Sig::edit(r, "Resize")
      .version(19)
      .attr("antialias", Kind::Int, false, Attribute::make_int("antialias", 0))
      .attr("axes", Kind::Ints, false, std::nullopt)
      .attr("keep_aspect_ratio_policy", Kind::String, false, Attribute::make_string("keep_aspect_ratio_policy", "stretch"));
  // Opset 18: the reductions max and min.
  Sig::edit(r, "ScatterElements").version(18);
  Sig::edit(r, "ScatterND").version(18);
  Sig::edit(r, "LpPool").version(18).attr("ceil_mode", Kind::Int, false, Attribute::make_int("ceil_mode", 0));
  Sig::edit(r, "AveragePool").version(19).attr("dilations", Kind::Ints, false, std::nullopt);
  Sig::edit(r, "Equal").version(19).types({"A", "B"}, kAll);  // 19 adds strings

  // Ops ONNX 1.12 does not have.
  Sig(r, "Mish", 18, 18).in("X", kFloatsBf16).out("Y", kFloatsBf16);  // ONNX: no bfloat16; eqopt computes it
  Sig(r, "Gelu", 20, 20)
      .in("X", kFloatsBf16)
      .out("Y", kFloatsBf16)
      .attr("approximate", Kind::String, false, Attribute::make_string("approximate", "none"));
  // Opset 21 scales per channel instead of per group.
  Sig(r, "GroupNormalization", 18, 21)
      .in("X", kFloatsBf16)
      .in("scale", kFloatsBf16)
      .in("bias", kFloatsBf16)
      .out("Y", kFloatsBf16)
      .attr("epsilon", Kind::Float, false, Attribute::make_float("epsilon", 1e-5f))
      .attr("num_groups", Kind::Int, true, std::nullopt)
      .attr("stash_type", Kind::Int, false, Attribute::make_int("stash_type", 1));
}

// Where eqopt differs from ONNX 1.12's schema.
void eqopt_facts(OpRegistry& r) {
  // Upsample-1 was experimental, with other attributes; eqopt reads Upsample from opset 7 on.
  Sig::edit(r, "Upsample").since(7);
  // Element types inference accepts beyond ONNX 1.12's (the kernels compute them; 16-bit floats in
  // float32). Newer opsets added some of them (IsInf's 16-bit floats in 20, MatMul's and the
  // reductions' 8- and 16-bit integers never: eqopt's kernels are generic over numeric types).
  for (const char* op : {"Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Cos", "Cosh", "Sin", "Sinh", "Tan",
                         "Round", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Softsign",
                         "ThresholdedRelu", "Shrink", "Conv", "ConvTranspose", "AveragePool", "MaxPool", "LpPool",
                         "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "InstanceNormalization", "Upsample"})
    if (const OpSchema* s = r.find("", op); s && !s->inputs.empty() && s->inputs[0].dtypes.contains(DType::Float))
      Sig::edit(r, op).types_of_first(s->inputs[0].dtypes | DTypeSet{DType::BFloat16} | kFloats);
  Sig::edit(r, "IsInf").types_of_first(kFloatsBf16);
  Sig::edit(r, "Scatter").types_of_first(kAll);
  for (const char* op : {"MatMul", "Gemm", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                         "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    Sig::edit(r, op).types_of_first(kNumeric);
}

// ---- Opset history: the changes of meaning or signature from opset 7 on (ONNX's Changelog.md).
// Versions that only add types, or optional attributes whose defaults keep the old meaning, are
// left out. `affects` says whether a node written for an older opset reads differently after.

bool has_axes_attr(const Node& n, int64_t, int64_t) { return n.has_attr("axes"); }

void change(OpRegistry& r, std::initializer_list<const char*> ops, int64_t version, const char* what,
            bool (*affects)(const Node&, int64_t, int64_t) = nullptr) {
  for (const char* op : ops)
    if (OpSchema* s = r.find_mutable("", op)) s->changes.push_back(OpsetChange{version, what, affects});
}

void opset_history(OpRegistry& r) {
  change(r, {"BatchNormalization"}, 9, "its 'spatial' attribute is removed",
         [](const Node& n, int64_t, int64_t) { return n.has_attr("spatial"); });
  change(r, {"Upsample"}, 9, "scales become an input");
  change(r, {"Scan"}, 9, "its inputs lose the batch axis");
  change(r, {"Slice"}, 10, "starts, ends and axes become inputs");
  change(r, {"TopK"}, 10, "k becomes an input");
  change(r, {"Upsample"}, 10, "the op is deprecated (Resize replaces it)");
  change(r, {"Resize"}, 11, "an roi input is inserted before scales");
  change(r, {"Clip"}, 11, "min and max become inputs",
         [](const Node& n, int64_t, int64_t) { return n.has_attr("min") || n.has_attr("max"); });
  change(r, {"Pad"}, 11, "pads and value become inputs");
  change(r, {"Scatter"}, 11, "the op is deprecated (ScatterElements replaces it)");
  change(r, {"Dropout"}, 12, "ratio becomes an input", [](const Node& n, int64_t, int64_t) { return n.has_attr("ratio"); });
  change(r, {"Softmax", "LogSoftmax", "Hardmax"}, 13, "it works on one axis instead of coercing the input to 2-D",
         [](const Node& n, int64_t rank, int64_t from) {
           if (rank < 0) return true;
           int64_t axis = n.attr_int("axis", from >= 13 ? -1 : 1);
           if (axis < 0) axis += rank;
           return axis != rank - 1;  // over the last axis both versions agree
         });
  change(r, {"Squeeze", "Unsqueeze"}, 13, "axes become an input", has_axes_attr);
  change(r, {"Split"}, 13, "split becomes an input", [](const Node& n, int64_t, int64_t) { return n.has_attr("split"); });
  change(r, {"ReduceSum"}, 13, "axes become an input", has_axes_attr);
  change(r, {"BatchNormalization"}, 14, "its training outputs change",
         [](const Node& n, int64_t, int64_t) { return n.outputs.size() > 1; });
  change(r, {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
             "ReduceLogSumExp", "ReduceSumSquare"},
         18, "axes become an input", has_axes_attr);
  change(r, {"Split"}, 18, "without a split input it needs the num_outputs attribute",
         [](const Node& n, int64_t, int64_t) { return n.inputs.size() < 2 || n.inputs[1].empty(); });
  change(r, {"GroupNormalization"}, 21, "scale and bias become per channel instead of per group");
}

// Inputs whose value must be known to infer or lower the node: shapes, axes, pads, counts.
void constant_inputs(OpRegistry& r) {
  for (const char* op : {"Reshape", "Expand", "Squeeze", "Unsqueeze", "Tile", "Split", "TopK", "OneHot", "CumSum",
                         "Upsample", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                         "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    Sig::edit(r, op).constant({1});
  Sig::edit(r, "Slice").constant({1, 2, 3, 4});
  Sig::edit(r, "Pad").constant({1, 3});
  Sig::edit(r, "Resize").constant({1, 2, 3});
  Sig::edit(r, "ConstantOfShape").constant({0});
}

}  // namespace

void register_signatures(OpRegistry& r) {
  onnx_signatures(r);
  newer_signatures(r);
  eqopt_facts(r);
  constant_inputs(r);
  opset_history(r);
}

}  // namespace eqopt
