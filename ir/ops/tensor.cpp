// Shape and data-movement ops.
#include <algorithm>

#include "ir/ops/ops.h"

namespace eqopt {

namespace {

void infer_constant(InferContext& ctx) {
  const Node& n = ctx.node();
  if (n.attributes.size() != 1) ctx.fail("needs exactly one value attribute, has ", n.attributes.size());
  const Attribute& a = n.attributes[0];
  if (a.name == "value" && a.kind == Attribute::Kind::Tensor) {
    ctx.set_output_value(0, a.t);
  } else if (a.name == "value_float" && a.kind == Attribute::Kind::Float) {
    ctx.set_output_value(0, Tensor::scalar<float>(a.f));
  } else if (a.name == "value_floats" && a.kind == Attribute::Kind::Floats) {
    ctx.set_output_value(0, Tensor::from_vector<float>({int64_t(a.floats.size())}, a.floats));
  } else if (a.name == "value_int" && a.kind == Attribute::Kind::Int) {
    ctx.set_output_value(0, Tensor::scalar<int64_t>(a.i));
  } else if (a.name == "value_ints" && a.kind == Attribute::Kind::Ints) {
    ctx.set_output_value(0, Tensor::from_vector<int64_t>({int64_t(a.ints.size())}, a.ints));
  } else if (a.name == "value_string" && a.kind == Attribute::Kind::String) {
    ctx.set_output_value(0, Tensor::from_strings({}, {a.s}));
  } else if (a.name == "value_strings" && a.kind == Attribute::Kind::Strings) {
    ctx.set_output_value(0, Tensor::from_strings({int64_t(a.strings.size())}, a.strings));
  } else {
    ctx.fail("unsupported value attribute '", a.name, "' of kind ", attribute_kind_name(a.kind));
  }
}

void infer_shape(InferContext& ctx) {
  const TensorType& t = ctx.input_type(0);
  if (!t.dims) {
    ctx.set_output(0, DType::Int64, Dims{Dim::unknown()});
    return;
  }
  const int64_t rank = t.rank();
  // Opset 15 added start/end, clamped to [0, rank].
  auto clamp = [rank](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  const int64_t start = clamp(ctx.node().attr_int("start", 0));
  const int64_t end = ctx.node().has_attr("end") ? clamp(ctx.node().attr_int("end", rank)) : rank;
  const int64_t len = std::max<int64_t>(0, end - start);
  std::vector<int64_t> v;
  bool all_known = true;
  for (int64_t i = start; i < start + len; ++i) {
    const Dim& d = (*t.dims)[size_t(i)];
    all_known &= d.known();
    v.push_back(d.value);
  }
  if (all_known)
    ctx.set_output_value(0, Tensor::from_vector<int64_t>({len}, v));
  else
    ctx.set_output(0, DType::Int64, Dims{Dim::of(len)});
}

void infer_reshape(InferContext& ctx) {
  ctx.require_dtype(1, {DType::Int64});
  const TensorType& data = ctx.input_type(0);
  const auto target = ctx.input_ints(1);
  if (!target) {
    const TensorType& st = ctx.input_type(1);
    if (st.dims && st.dims->size() == 1 && (*st.dims)[0].known())
      ctx.set_output(0, data.dtype, Dims(size_t((*st.dims)[0].value), Dim::unknown()));
    else
      ctx.set_output_unknown_rank(0, data.dtype);
    return;
  }
  const bool allowzero = ctx.opset() >= 14 && ctx.node().attr_int("allowzero", 0) != 0;
  Dims out;
  int64_t infer_at = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    const int64_t v = (*target)[i];
    if (v == -1) {
      if (infer_at >= 0) ctx.fail("shape ", shape_str(*target), " has more than one -1");
      infer_at = int64_t(i);
      out.push_back(Dim::unknown());
    } else if (v == 0 && !allowzero) {
      if (!data.dims) {
        out.push_back(Dim::unknown());
      } else {
        if (i >= data.dims->size())
          ctx.fail("shape ", shape_str(*target), " copies dim ", i, " of an input of rank ", data.rank());
        out.push_back((*data.dims)[i]);
      }
    } else if (v < 0) {
      ctx.fail("shape ", shape_str(*target), " has invalid dimension ", v);
    } else {
      out.push_back(Dim::of(v));
    }
  }
  const auto in_numel = data.dims ? dims_numel(*data.dims) : std::nullopt;
  if (infer_at >= 0) {
    Dims rest = out;
    rest.erase(rest.begin() + infer_at);
    const auto rest_numel = dims_numel(rest);
    if (in_numel && rest_numel) {
      if (*rest_numel == 0 || *in_numel % *rest_numel != 0)
        ctx.fail("cannot reshape ", data.str(), " to ", shape_str(*target));
      out[size_t(infer_at)] = Dim::of(*in_numel / *rest_numel);
    }
  } else if (in_numel) {
    const auto out_numel = dims_numel(out);
    if (out_numel && *out_numel != *in_numel)
      ctx.fail("cannot reshape ", data.str(), " (", *in_numel, " elements) to ", shape_str(*target));
  }
  ctx.set_output(0, data.dtype, out);
}

}  // namespace

void register_tensor_ops(OpRegistry& r) {
  r.add({"", "Constant", infer_constant, 0, 0, 1, 1, true});
  r.add({"", "Shape", infer_shape, 1, 1, 1, 1, true});
  r.add({"", "Reshape", infer_reshape, 2, 2});
}

}  // namespace eqopt
