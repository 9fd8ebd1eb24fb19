// The op schemas: every registered op has a complete signature; the default-domain ops agree with
// ONNX 1.12's own schemas where ONNX knows them; and inference accepts exactly the declared element
// types of the elementwise ops and a sample of others.
#include <gtest/gtest.h>

#include <set>

#include "ir/expand.h"
#include "ir/op_registry.h"
#include "tools/onnx_signature.h"

namespace eqopt {
namespace {

using Presence = ValueSpec::Presence;

TEST(OpSchema, EveryOpHasACompleteSignature) {
  for (const OpSchema* s : OpRegistry::global().all()) {
    SCOPED_TRACE(s->id().str());
    EXPECT_GT(s->signature_version, 0);
    EXPECT_GE(s->since_version, 1);
    EXPECT_LE(s->since_version, s->signature_version);
    if (s->max_inputs != 0) {
      EXPECT_FALSE(s->inputs.empty());
    }
    EXPECT_FALSE(s->outputs.empty());
    for (const auto* list : {&s->inputs, &s->outputs}) {
      for (size_t i = 0; i < list->size(); ++i) {
        const ValueSpec& v = (*list)[i];
        EXPECT_FALSE(v.name.empty()) << i;
        EXPECT_FALSE(v.dtypes.empty()) << v.name;
        if (v.presence == Presence::Variadic) {
          EXPECT_EQ(i + 1, list->size()) << v.name << " is variadic but not last";
        }
      }
    }
    for (const ValueSpec& v : s->outputs) {
      EXPECT_FALSE(v.constant) << v.name;
    }
    // The arity spans every opset eqopt reads, the signature the newest one: the signature fits it.
    size_t required = 0;
    bool variadic = false;
    for (const ValueSpec& v : s->inputs) {
      required += v.presence == Presence::Required;
      variadic |= v.presence == Presence::Variadic;
    }
    EXPECT_LE(size_t(s->min_inputs), required + variadic);
    if (variadic) {
      EXPECT_EQ(s->max_inputs, -1);
    } else if (s->max_inputs >= 0) {
      EXPECT_GE(size_t(s->max_inputs), s->inputs.size());
    }
    std::set<std::string> names;
    for (const AttrSpec& a : s->attrs) {
      EXPECT_TRUE(names.insert(a.name).second) << a.name << " twice";
      if (a.required) {
        EXPECT_FALSE(a.default_value) << a.name << " is required and has a default";
      }
      if (a.default_value) {
        EXPECT_EQ(a.default_value->kind, a.kind) << a.name;
        EXPECT_EQ(a.default_value->name, a.name);
      }
      // The values the verifier tries (ir/ops/attr_domains.cpp) are of the attribute's kind and name.
      for (const Attribute& v : a.try_values) {
        EXPECT_EQ(v.kind, a.kind) << a.name;
        EXPECT_EQ(v.name, a.name);
      }
    }
  }
}

TEST(OpSchema, MarksKnownValuesAndIntegerOperands) {
  const OpRegistry& r = OpRegistry::global();
  EXPECT_TRUE(r.find("", "Reshape")->input(1)->constant);
  EXPECT_FALSE(r.find("", "Reshape")->input(0)->constant);
  for (size_t i = 1; i <= 4; ++i) EXPECT_TRUE(r.find("", "Slice")->input(i)->constant) << i;
  EXPECT_TRUE(r.find("", "ReduceMean")->input(1)->constant);
  EXPECT_TRUE(r.find("", "Pad")->input(3)->constant);
  EXPECT_FALSE(r.find("", "Pad")->input(2)->constant);  // the padding value may be computed
  // Gather's indices are integers, not necessarily known.
  const ValueSpec* indices = r.find("", "Gather")->input(1);
  EXPECT_FALSE(indices->constant);
  EXPECT_EQ(indices->dtypes, (DTypeSet{DType::Int32, DType::Int64}));
  // Variadic inputs: every later index has the last entry's spec.
  EXPECT_EQ(r.find("", "Concat")->input(7)->name, "inputs");
  EXPECT_TRUE(r.find("", "Add")->elementwise && r.find("", "Add")->broadcasts);
  EXPECT_TRUE(r.find("", "PRelu")->elementwise && !r.find("", "PRelu")->broadcasts);
  EXPECT_TRUE(r.find("eqopt", "Swish")->elementwise);
  EXPECT_FALSE(r.find("", "MatMul")->elementwise);
  const AttrSpec* act = r.find("eqopt", "FusedConv")->attr("activation");
  ASSERT_TRUE(act);
  EXPECT_EQ(act->kind, Attribute::Kind::String);
  EXPECT_EQ(r.find("", "Gelu")->since_version, 20);
  EXPECT_EQ(r.find("", "LayerNormalization")->since_version, 17);
}

TEST(OpSchema, CarriesCostClassViewsFlopsAndOpsetHistory) {
  const OpRegistry& r = OpRegistry::global();
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}) {
    const OpSchema* s = r.find("", op);
    EXPECT_TRUE(s->view) << op;
    EXPECT_EQ(s->op_class, OpClass::Data) << op;
  }
  EXPECT_FALSE(r.find("", "Transpose")->view);
  EXPECT_EQ(r.find("eqopt", "FusedConv")->op_class, OpClass::Conv);
  EXPECT_EQ(r.find("eqopt", "Attention")->op_class, OpClass::MatMul);
  EXPECT_EQ(r.find("", "Softmax")->op_class, OpClass::Softmax);
  // Conv of [1,3,8,8] by [4,3,3,3] into [1,4,6,6] with a bias: 2·144·27 multiply-adds and 144 adds;
  // FusedConv counts the bias and a Relu as epilogue steps, one per output element each.
  const auto f32 = [](Shape s) { return TensorType::of(DType::Float, s); };
  const std::vector<TensorType> in = {f32({1, 3, 8, 8}), f32({4, 3, 3, 3}), f32({4})}, out = {f32({1, 4, 6, 6})};
  Node conv;
  conv.op_type = "Conv";
  EXPECT_EQ(r.find("", "Conv")->flops(conv, in, out), 2 * 144 * 27 + 144);
  Node fused = conv;
  fused.domain = "eqopt";
  fused.op_type = "FusedConv";
  fused.attributes = {Attribute::make_string("activation", "Relu")};
  EXPECT_EQ(r.find("eqopt", "FusedConv")->flops(fused, in, out), 2 * 144 * 27 + 2 * 144);
  EXPECT_EQ(r.find("", "Reshape")->flops(conv, in, out), 0);
  EXPECT_EQ(r.find("", "Einsum")->flops, nullptr);  // not counted
  // Opset history: Squeeze's axes became an input at 13, which affects nodes with the attribute.
  const auto& changes = r.find("", "Squeeze")->changes;
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].version, 13);
  Node squeeze;
  squeeze.op_type = "Squeeze";
  EXPECT_FALSE(changes[0].affects(squeeze, 2, 11));
  squeeze.attributes = {Attribute::make_ints("axes", {0})};
  EXPECT_TRUE(changes[0].affects(squeeze, 2, 11));
  EXPECT_EQ(r.find("", "Pad")->changes.at(0).affects, nullptr);  // every node
}

// Ops whose signature is newer than ONNX 1.12 knows (opset 17), and ops ONNX 1.12 lacks.
const std::set<std::string> kNewerThanOnnx112 = {
    "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
    "ReduceSumSquare", "Split", "Pad", "Resize", "ScatterElements", "ScatterND", "LpPool", "AveragePool", "Equal",
    "Mish", "Gelu", "GroupNormalization"};

bool same_attribute_value(const Attribute& a, const Attribute& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Attribute::Kind::Float: return a.f == b.f;
    case Attribute::Kind::Int: return a.i == b.i;
    case Attribute::Kind::String: return a.s == b.s;
    case Attribute::Kind::Floats: return a.floats == b.floats;
    case Attribute::Kind::Ints: return a.ints == b.ints;
    case Attribute::Kind::Strings: return a.strings == b.strings;
    default: return true;
  }
}

TEST(OpSchema, DefaultDomainOpsAgreeWithOnnx112) {
  int compared = 0;
  for (const OpSchema* s : OpRegistry::global().all()) {
    if (!s->domain.empty()) continue;
    SCOPED_TRACE(s->name);
    const auto onnx = tools::onnx_signature(s->name);
    if (!onnx) {
      EXPECT_TRUE(kNewerThanOnnx112.count(s->name)) << "ONNX 1.12 does not have it; list it as newer";
      EXPECT_GT(s->signature_version, tools::kOnnxLatestOpset);
      continue;
    }
    // Upsample-1 was experimental; eqopt reads Upsample from opset 7 (ir/ops/signatures.cpp).
    EXPECT_EQ(s->since_version, s->name == "Upsample" ? 7 : onnx->since_version);
    if (kNewerThanOnnx112.count(s->name)) {
      EXPECT_GT(s->signature_version, tools::kOnnxLatestOpset);
      continue;
    }
    ++compared;
    EXPECT_EQ(s->signature_version, onnx->version);
    for (const auto& [ours, theirs, what] :
         {std::tuple{&s->inputs, &onnx->inputs, "input"}, std::tuple{&s->outputs, &onnx->outputs, "output"}}) {
      ASSERT_EQ(ours->size(), theirs->size()) << what << "s";
      for (size_t i = 0; i < ours->size(); ++i) {
        EXPECT_EQ((*ours)[i].name, (*theirs)[i].name) << what << " " << i;
        EXPECT_EQ((*ours)[i].presence, (*theirs)[i].presence) << what << " " << (*ours)[i].name;
      }
    }
    ASSERT_EQ(s->attrs.size(), onnx->attrs.size());
    for (const AttrSpec& theirs : onnx->attrs) {
      const AttrSpec* ours = s->attr(theirs.name);
      ASSERT_TRUE(ours) << theirs.name;
      EXPECT_EQ(ours->kind, theirs.kind) << theirs.name;
      EXPECT_EQ(ours->required, theirs.required) << theirs.name;
      ASSERT_EQ(bool(ours->default_value), bool(theirs.default_value)) << theirs.name;
      if (ours->default_value) {
        EXPECT_TRUE(same_attribute_value(*ours->default_value, *theirs.default_value)) << theirs.name;
      }
    }
  }
  EXPECT_GT(compared, 100);
}

// Runs inference of one node of `schema` whose inputs have the given element types and unknown
// shapes; returns the output's element type, or nullopt when inference rejects the types.
std::optional<DType> infer_with(const OpSchema& schema, const std::vector<DType>& dtypes,
                                const std::vector<Attribute>& attrs) {
  Node n;
  n.name = "n";
  n.domain = schema.domain;
  n.op_type = schema.name;
  n.attributes = attrs;
  std::vector<TensorType> types;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    n.inputs.push_back("x" + std::to_string(i));
    types.push_back(TensorType{dtypes[i], std::nullopt});
  }
  n.outputs.resize(size_t(std::max(1, schema.min_outputs)), "y");
  for (size_t k = 1; k < n.outputs.size(); ++k) n.outputs[k] += std::to_string(k);
  InferContext ctx(n, kLatestOpset, types, std::vector<const Tensor*>(types.size(), nullptr));
  try {
    infer_node(&schema, ctx);
  } catch (const Error&) {
    return std::nullopt;
  }
  return ctx.output_types().at(0).dtype;
}

// Every element type eqopt has.
std::vector<DType> every_dtype() {
  std::vector<DType> r;
  for (int c = 1; c <= 16; ++c)
    if (DType(c) != DType::Complex64 && DType(c) != DType::Complex128) r.push_back(DType(c));
  return r;
}

// A member of the set to give an input whose type is not the one under test.
DType witness(const DTypeSet& s) {
  for (DType t : {DType::Float, DType::Int64, DType::Bool})
    if (s.contains(t)) return t;
  return s.list().front();
}

// Values for required attributes (and attributes whose default rejects some types) of probed ops.
// nullopt: the op cannot be probed this way (its required attributes are graphs).
std::optional<std::vector<Attribute>> probe_attrs(const OpSchema& s) {
  if (s.name == "Cast") return std::vector{Attribute::make_int("to", 1)};
  if (s.name == "BitShift") return std::vector{Attribute::make_string("direction", "LEFT")};
  if (s.name == "Mod") return std::vector{Attribute::make_int("fmod", 1)};  // fmod=0 takes integers only
  std::vector<Attribute> r;
  for (const AttrSpec& a : s.attrs) {
    if (!a.required) continue;
    if (a.kind == Attribute::Kind::Int) r.push_back(Attribute::make_int(a.name, 1));
    else if (a.kind == Attribute::Kind::Ints) r.push_back(Attribute::make_ints(a.name, {1}));
    else if (a.kind == Attribute::Kind::Float) r.push_back(Attribute::make_float(a.name, 1.0f));
    else return std::nullopt;
  }
  return r;
}

// For each element type of input 0 (the inputs that share its declared types take it too; the
// others a fixed member of theirs), inference must accept exactly the declared types, and the
// output's type must be one the signature declares. Returns the op's mismatches, or nullopt when
// the op takes no inputs or needs graph attributes.
std::optional<std::vector<std::string>> dtype_mismatches(const OpSchema& s) {
  std::vector<std::string> bad;
  std::vector<const ValueSpec*> in;
  for (const ValueSpec& v : s.inputs) {
    if (v.presence == Presence::Optional) break;
    in.push_back(&v);
  }
  const auto attrs = probe_attrs(s);
  if (in.empty() || !attrs) return std::nullopt;
  for (DType t : every_dtype()) {
    std::vector<DType> dtypes;
    for (const ValueSpec* v : in) dtypes.push_back(v->dtypes == in[0]->dtypes ? t : witness(v->dtypes));
    const auto out = infer_with(s, dtypes, *attrs);
    const bool declared = in[0]->dtypes.contains(t);
    if (bool(out) != declared)
      bad.push_back(std::string(dtype_short_name(t)) + (declared ? " declared but rejected" : " accepted but not declared"));
    else if (out && *out != DType::Undefined && !s.outputs[0].dtypes.contains(*out))
      bad.push_back(std::string(dtype_short_name(t)) + " gives an undeclared output type " +
                    std::string(dtype_short_name(*out)));
  }
  return bad;
}

// Ops whose inference leaves the data's element type to the kernel (which refuses what it cannot run).
const std::set<std::string> kTypesCheckedByKernel = {"EyeLike", "OneHot", "TopK"};

TEST(OpSchema, InferenceAcceptsExactlyTheDeclaredTypes) {
  int probed = 0;
  for (const OpSchema* s : OpRegistry::global().all()) {
    if (kTypesCheckedByKernel.count(s->name)) continue;
    const auto bad = dtype_mismatches(*s);
    if (!bad) continue;
    ++probed;
    for (const std::string& b : *bad) ADD_FAILURE() << s->id().str() << ": " << b;
  }
  EXPECT_GT(probed, 120);
}

}  // namespace
}  // namespace eqopt
