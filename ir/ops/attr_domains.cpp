// The values the rule verifier tries for each attribute (AttrSpec::try_values): a domain per
// attribute name, the same wherever an attribute of that name means the same thing (a kernel shape,
// strides, pads, axes, a permutation, a target dtype), then per-op domains where an op's attribute
// means something of its own (LeakyRelu's alpha, BitShift's direction). Small on purpose: each
// value multiplies the instances a rule's search may visit. Values that do not fit an instance
// (an axis beyond the input's rank, a permutation of another length) are rejected there by the op's
// own inference, so a domain may hold values for every rank up to 4.
#include <algorithm>
#include <numeric>

#include "ir/ops/ops.h"

namespace eqopt {

namespace {

using A = Attribute;

// Every permutation of ranks 1 to 3 and a few of rank 4 (the layout changes NCHW <-> NHWC among
// them), non-identity ones first within a rank: an identity Transpose tests little.
std::vector<A> permutations() {
  std::vector<A> out;
  for (int64_t r = 1; r <= 3; ++r) {
    std::vector<int64_t> p(static_cast<size_t>(r));
    std::iota(p.begin(), p.end(), 0);
    const std::vector<int64_t> identity = p;
    while (std::next_permutation(p.begin(), p.end())) out.push_back(A::make_ints("perm", p));
    out.push_back(A::make_ints("perm", identity));
  }
  for (std::vector<int64_t> p : {std::vector<int64_t>{3, 2, 1, 0}, {0, 2, 3, 1}, {0, 3, 1, 2}, {1, 0, 2, 3},
                                 {0, 1, 3, 2}, {2, 3, 0, 1}, {0, 1, 2, 3}})
    out.push_back(A::make_ints("perm", p));
  return out;
}

// Element types as attribute values: float32, float16, int64, int32, bool.
std::vector<A> dtypes() {
  std::vector<A> out;
  for (DType t : {DType::Float, DType::Float16, DType::Int64, DType::Int32, DType::Bool})
    out.push_back(A::make_int("", int64_t(t)));
  return out;
}

// Domains by attribute name.
const std::vector<std::pair<std::string, std::vector<A>>>& by_name() {
  static const std::vector<std::pair<std::string, std::vector<A>>> table = {
      {"kernel_shape", {A::make_ints("", {2, 2}), A::make_ints("", {1, 1}), A::make_ints("", {3, 3}),
                        A::make_ints("", {2})}},
      {"strides", {A::make_ints("", {2, 2})}},
      {"pads", {A::make_ints("", {1, 1, 1, 1}), A::make_ints("", {0, 1, 1, 0})}},
      {"dilations", {A::make_ints("", {2, 2})}},
      {"output_padding", {A::make_ints("", {1, 1})}},
      {"group", {A::make_int("", 2), A::make_int("", 3)}},
      {"ceil_mode", {A::make_int("", 0), A::make_int("", 1)}},
      {"count_include_pad", {A::make_int("", 0), A::make_int("", 1)}},
      {"axis", {A::make_int("", 0), A::make_int("", 1), A::make_int("", 2), A::make_int("", 3), A::make_int("", 4),
                A::make_int("", -1), A::make_int("", -2), A::make_int("", -3), A::make_int("", -4)}},
      {"axes", {A::make_ints("", {-1}), A::make_ints("", {0}), A::make_ints("", {1}), A::make_ints("", {2}),
                A::make_ints("", {3}), A::make_ints("", {4}), A::make_ints("", {0, -1})}},
      {"perm", permutations()},
      {"keepdims", {A::make_int("", 1), A::make_int("", 0)}},
      {"select_last_index", {A::make_int("", 0), A::make_int("", 1)}},
      {"transA", {A::make_int("", 0), A::make_int("", 1)}},
      {"transB", {A::make_int("", 0), A::make_int("", 1)}},
      // Cast's target and other dtype-valued attributes (EyeLike's): the dtypes the verifier draws.
      {"to", dtypes()},
      {"dtype", dtypes()},
      {"epsilon", {A::make_float("", 1e-5f)}},
      {"alpha", {A::make_float("", 0.2f)}},
      {"beta", {A::make_float("", 0.5f)}},
      {"gamma", {A::make_float("", 1.25f)}},
      {"min", {A::make_float("", 0.0f)}},
      {"max", {A::make_float("", 1.0f)}},
      {"approximate", {A::make_string("", "none"), A::make_string("", "tanh")}},
  };
  return table;
}

// Domains of one op's attribute, where the name's domain does not fit.
struct OpDomain {
  const char* domain;
  const char* op;
  const char* attr;
  std::vector<A> values;
};

const std::vector<OpDomain>& by_op() {
  static const std::vector<OpDomain> table = {
      {"", "LeakyRelu", "alpha", {A::make_float("", 0.1f)}},
      {"", "Elu", "alpha", {A::make_float("", 0.1f)}},
      {"", "Celu", "alpha", {A::make_float("", 0.1f)}},
      {"", "ThresholdedRelu", "alpha", {A::make_float("", 0.1f)}},
      {"", "HardSigmoid", "alpha", {A::make_float("", 0.25f)}},
      {"", "HardSigmoid", "beta", {A::make_float("", 0.4f)}},
      {"", "Selu", "alpha", {A::make_float("", 1.5f)}},
      {"", "Selu", "gamma", {A::make_float("", 1.2f)}},
      // LpPool's exponent: the two with an exact real reading (sum |x| and sqrt(sum x^2)).
      {"", "LpPool", "p", {A::make_int("", 2), A::make_int("", 1)}},
      {"", "GlobalLpPool", "p", {A::make_int("", 2), A::make_int("", 1)}},
      {"", "Mod", "fmod", {A::make_int("", 0), A::make_int("", 1)}},
      {"", "BitShift", "direction", {A::make_string("", "LEFT"), A::make_string("", "RIGHT")}},
      {"eqopt", "FusedConv", "activation", {A::make_string("", "Relu"), A::make_string("", "LeakyRelu")}},
      {"eqopt", "FusedMatMul", "activation", {A::make_string("", "Relu")}},
  };
  return table;
}

void set_domain(AttrSpec& spec, const std::vector<A>& values) {
  spec.try_values.clear();
  for (A a : values) {
    if (a.kind != spec.kind) continue;  // a name used with another kind elsewhere
    a.name = spec.name;
    spec.try_values.push_back(std::move(a));
  }
}

}  // namespace

std::vector<Attribute> attribute_domain_by_name(std::string_view name) {
  const auto& names = by_name();
  auto it = std::find_if(names.begin(), names.end(), [&](const auto& e) { return e.first == name; });
  if (it == names.end()) return {};
  std::vector<Attribute> out = it->second;
  for (Attribute& a : out) a.name = std::string(name);
  return out;
}

void register_attr_domains(OpRegistry& r) {
  for (const OpSchema* s : r.all()) {
    OpSchema* schema = r.find_mutable(s->domain, s->name);
    for (AttrSpec& spec : schema->attrs) {
      if (!spec.try_values.empty()) continue;
      const auto& names = by_name();
      auto it = std::find_if(names.begin(), names.end(), [&](const auto& e) { return e.first == spec.name; });
      if (it != names.end()) set_domain(spec, it->second);
    }
  }
  for (const OpDomain& d : by_op()) {
    OpSchema* schema = r.find_mutable(d.domain, d.op);
    if (!schema) continue;
    for (AttrSpec& spec : schema->attrs)
      if (spec.name == d.attr) set_domain(spec, d.values);
  }
}

}  // namespace eqopt
