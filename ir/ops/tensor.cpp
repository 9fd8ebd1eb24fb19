// Shape and data-movement ops.
//
// Each inference function gives the most precise type it can from partial information: when an
// input that decides the shape (Reshape's shape, Slice's starts, ...) has no known value, the output
// keeps whatever can still be said (its rank, the dims the unknown value cannot touch). Values are
// computed here only where they follow from types alone (Shape, Size, Constant); everything else is
// folded by the graph-level driver through the interpreter's kernels.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "ir/ops/ops.h"

namespace eqopt {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

const std::initializer_list<DType> kIndexTypes = {DType::Int32, DType::Int64};

// ---------------------------------------------------------------- Dim arithmetic

Dim dim_mul(const Dim& a, const Dim& b) {
  if ((a.known() && a.value == 0) || (b.known() && b.value == 0)) return Dim::of(0);
  if (a.known() && b.known()) return Dim::of(a.value * b.value);
  if (a.known() && a.value == 1) return b;
  if (b.known() && b.value == 1) return a;
  return Dim::unknown();
}

Dim dims_product(const Dims& d, size_t begin, size_t end) {
  Dim p = Dim::of(1);
  for (size_t i = begin; i < end; ++i) p = dim_mul(p, d[i]);
  return p;
}

// Two dims that must be equal at run time: a known one wins; a mismatch of known dims fails.
Dim merge_dim(const InferContext& ctx, const Dim& a, const Dim& b, std::string_view what) {
  if (a.known() && b.known() && a.value != b.value)
    ctx.fail(what, ": dimension ", a.value, " does not match ", b.value);
  if (a.known()) return a;
  if (b.known()) return b;
  return a.param.empty() ? b : a;
}

// Dims of the given rank, all unknown.
Dims unknown_dims(int64_t rank) { return Dims(size_t(rank), Dim::unknown()); }

// ---------------------------------------------------------------- int lists

// A list of ints that an op takes as an attribute before some opset and as an input from it on.
struct IntList {
  bool present = false;                       // given at all
  std::optional<std::vector<int64_t>> values;  // when known
  std::optional<int64_t> length;               // when known (also without the values)
};

IntList int_list(const InferContext& ctx, std::string_view attr, size_t input, int64_t input_since) {
  IntList r;
  if (ctx.opset() < input_since) {
    if (ctx.node().has_attr(attr)) {
      r.present = true;
      r.values = ctx.node().attr_ints(attr);
    }
  } else if (ctx.has_input(input)) {
    r.present = true;
    ctx.require_dtype(input, kIndexTypes);
    r.values = ctx.input_ints(input);
    const TensorType& t = ctx.input_type(input);
    if (t.dims && t.dims->size() == 1 && (*t.dims)[0].known()) r.length = (*t.dims)[0].value;
  }
  if (r.values) r.length = int64_t(r.values->size());
  return r;
}

// Normalises a list of axes against a rank; fails on out-of-range or repeated axes.
std::vector<int64_t> normalize_axes(const InferContext& ctx, const std::vector<int64_t>& axes,
                                    int64_t rank) {
  std::vector<int64_t> r;
  std::set<int64_t> seen;
  for (int64_t a : axes) {
    const int64_t n = ctx.normalize_axis(a, rank);
    if (!seen.insert(n).second) ctx.fail("axis ", a, " is given more than once");
    r.push_back(n);
  }
  return r;
}

// ---------------------------------------------------------------- Constant, Shape, Size

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

void infer_size(InferContext& ctx) {
  const TensorType& t = ctx.input_type(0);
  std::optional<int64_t> n;
  if (t.dims) {
    const Dim p = dims_product(*t.dims, 0, t.dims->size());
    if (p.known()) n = p.value;
  }
  if (n)
    ctx.set_output_value(0, Tensor::scalar<int64_t>(*n));
  else
    ctx.set_output(0, DType::Int64, Dims{});
}

// ---------------------------------------------------------------- Reshape family

// The -1 of a Reshape target when the input's element count is not known. Dims copied with 0 and
// named symbols that appear on both sides cancel ([B,S,768] -> [B,S,12,-1] gives 64); what remains
// of the input must be known, or be a single unknown dim that the -1 then stands for. `copied_from`
// gives, for each dim of `rest`, the input dim a 0 copied, or -1.
Dim solve_for_minus_one(const Dims& in, const Dims& rest, const std::vector<int64_t>& copied_from) {
  std::vector<bool> used(in.size(), false);
  for (int64_t c : copied_from)
    if (c >= 0) used[size_t(c)] = true;
  int64_t rest_known = 1;
  for (size_t j = 0; j < rest.size(); ++j) {
    if (copied_from[j] >= 0) continue;
    const Dim& d = rest[j];
    if (d.known()) {
      rest_known *= d.value;
      continue;
    }
    bool matched = false;
    for (size_t i = 0; i < in.size() && !d.param.empty() && !matched; ++i)
      if (!used[i] && in[i] == d) used[i] = matched = true;
    if (!matched) return Dim::unknown();  // an unknown on the target side only
  }
  int64_t in_known = 1;
  std::optional<Dim> symbol;
  for (size_t i = 0; i < in.size(); ++i) {
    if (used[i]) continue;
    if (in[i].known()) {
      in_known *= in[i].value;
    } else {
      if (symbol) return Dim::unknown();
      symbol = in[i];
    }
  }
  if (rest_known == 0) return Dim::unknown();
  if (symbol) return in_known == rest_known ? *symbol : Dim::unknown();
  return in_known % rest_known == 0 ? Dim::of(in_known / rest_known) : Dim::unknown();
}

void infer_reshape(InferContext& ctx) {
  const TensorType& data = ctx.input_type(0);
  std::optional<std::vector<int64_t>> target;
  if (ctx.opset() < 5) {
    // Reshape-1 took the shape as an attribute.
    if (!ctx.node().has_attr("shape")) ctx.fail("needs a 'shape' attribute before opset 5");
    target = ctx.node().attr_ints("shape");
  } else {
    if (!ctx.has_input(1)) ctx.fail("input 1 (shape) is required");
    ctx.require_dtype(1, {DType::Int64});
    target = ctx.input_ints(1);
  }
  if (!target) {
    const TensorType& st = ctx.input_type(1);
    if (st.dims && st.dims->size() == 1 && (*st.dims)[0].known())
      ctx.set_output(0, data.dtype, unknown_dims((*st.dims)[0].value));
    else
      ctx.set_output_unknown_rank(0, data.dtype);
    return;
  }
  const bool allowzero = ctx.opset() >= 14 && ctx.node().attr_int("allowzero", 0) != 0;
  Dims out;
  std::vector<int64_t> copied_from;  // per target dim: the input dim a 0 copies, or -1
  int64_t infer_at = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    const int64_t v = (*target)[i];
    copied_from.push_back(v == 0 && !allowzero && data.dims ? int64_t(i) : -1);
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
  std::optional<int64_t> in_numel;
  if (data.dims) in_numel = dims_numel(*data.dims);
  if (infer_at >= 0) {
    Dims rest = out;
    rest.erase(rest.begin() + infer_at);
    copied_from.erase(copied_from.begin() + infer_at);
    const auto rest_numel = dims_numel(rest);
    if (in_numel && rest_numel) {
      if (*rest_numel == 0 || *in_numel % *rest_numel != 0)
        ctx.fail("cannot reshape ", data.str(), " to ", shape_str(*target));
      out[size_t(infer_at)] = Dim::of(*in_numel / *rest_numel);
    } else if (data.dims) {
      out[size_t(infer_at)] = solve_for_minus_one(*data.dims, rest, copied_from);
    }
  } else if (in_numel) {
    const auto out_numel = dims_numel(out);
    if (out_numel && *out_numel != *in_numel)
      ctx.fail("cannot reshape ", data.str(), " (", *in_numel, " elements) to ", shape_str(*target));
  }
  ctx.set_output(0, data.dtype, out);
}

void infer_flatten(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  if (!in.dims) {
    ctx.set_output(0, in.dtype, unknown_dims(2));
    return;
  }
  const int64_t rank = in.rank();
  int64_t axis = ctx.node().attr_int("axis", 1);
  if (axis < -rank || axis > rank) ctx.fail("axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  ctx.set_output(0, in.dtype,
                 Dims{dims_product(*in.dims, 0, size_t(axis)),
                      dims_product(*in.dims, size_t(axis), size_t(rank))});
}

// Squeeze and Unsqueeze take their axes as an attribute before opset 13 and as an input from it on.
void infer_squeeze(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  const IntList axes = int_list(ctx, "axes", 1, 13);
  if (!in.dims) {
    ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  const int64_t rank = in.rank();
  // An empty axes list squeezes every dim of size 1, as no axes at all does (ONNX Runtime agrees).
  if (!axes.present || axes.length == 0) {
    // Every dim of size 1 goes; an unknown dim might be 1, so the rank is known only without them.
    Dims out;
    for (const Dim& d : *in.dims) {
      if (!d.known()) {
        ctx.set_output_unknown_rank(0, in.dtype);
        return;
      }
      if (d.value != 1) out.push_back(d);
    }
    ctx.set_output(0, in.dtype, out);
    return;
  }
  if (!axes.values) {
    if (axes.length)
      ctx.set_output(0, in.dtype, unknown_dims(rank - *axes.length));
    else
      ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  std::vector<bool> drop(size_t(rank), false);
  for (int64_t a : *axes.values) {
    const int64_t n = ctx.normalize_axis(a, rank);
    const Dim& d = (*in.dims)[size_t(n)];
    if (d.known() && d.value != 1)
      ctx.fail("cannot squeeze axis ", a, " of ", in.str(), ": its size is ", d.value, ", not 1");
    drop[size_t(n)] = true;
  }
  Dims out;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[size_t(i)]) out.push_back((*in.dims)[size_t(i)]);
  ctx.set_output(0, in.dtype, out);
}

void infer_unsqueeze(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  const IntList axes = int_list(ctx, "axes", 1, 13);
  if (!axes.present) ctx.fail(ctx.opset() < 13 ? "needs an 'axes' attribute" : "needs the axes input");
  if (!in.dims || !axes.length) {
    ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  const int64_t out_rank = in.rank() + *axes.length;
  if (!axes.values) {
    ctx.set_output(0, in.dtype, unknown_dims(out_rank));
    return;
  }
  std::vector<bool> inserted(size_t(out_rank), false);
  for (int64_t a : normalize_axes(ctx, *axes.values, out_rank)) inserted[size_t(a)] = true;
  Dims out;
  size_t j = 0;
  for (int64_t i = 0; i < out_rank; ++i)
    out.push_back(inserted[size_t(i)] ? Dim::of(1) : (*in.dims)[j++]);
  ctx.set_output(0, in.dtype, out);
}

// ---------------------------------------------------------------- Transpose, Concat, Split

void infer_transpose(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  const Attribute* perm_attr = ctx.node().attr("perm");
  if (!in.dims) {
    if (perm_attr)
      ctx.set_output(0, in.dtype, unknown_dims(int64_t(perm_attr->ints.size())));
    else
      ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  const int64_t rank = in.rank();
  std::vector<int64_t> perm;
  if (perm_attr) {
    perm = ctx.node().attr_ints("perm");
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (int64_t(perm.size()) != rank)
    ctx.fail("perm ", shape_str(perm), " has ", perm.size(), " entries for an input of rank ", rank);
  perm = normalize_axes(ctx, perm, rank);
  Dims out;
  for (int64_t p : perm) out.push_back((*in.dims)[size_t(p)]);
  ctx.set_output(0, in.dtype, out);
}

void infer_concat(InferContext& ctx) {
  DType dtype = DType::Undefined;
  std::optional<int64_t> rank;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (dtype == DType::Undefined) dtype = ctx.input_dtype(i);
    if (ctx.input_dtype(i) != DType::Undefined && ctx.input_dtype(i) != dtype)
      ctx.fail("inputs have different element types (", dtype_short_name(dtype), " vs ",
               dtype_short_name(ctx.input_dtype(i)), ")");
    const int64_t r = ctx.input_rank(i);
    if (r < 0) continue;
    if (rank && *rank != r) ctx.fail("inputs have different ranks (", *rank, " vs ", r, ")");
    rank = r;
  }
  if (!rank) {
    ctx.set_output_unknown_rank(0, dtype);
    return;
  }
  if (*rank == 0) ctx.fail("cannot concatenate scalars");
  // Concat-1 defaulted the axis to 1; from opset 4 it is required.
  if (!ctx.node().has_attr("axis") && ctx.opset() >= 4) ctx.fail("needs an 'axis' attribute");
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", 1), *rank);
  Dims out = unknown_dims(*rank);
  Dim sum = Dim::of(0);
  bool first = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.input_rank(i) < 0) {
      sum = Dim::unknown();
      continue;
    }
    const Dims& d = ctx.input_dims(i);
    for (int64_t k = 0; k < *rank; ++k) {
      if (k == axis) continue;
      out[size_t(k)] = first ? d[size_t(k)] : merge_dim(ctx, out[size_t(k)], d[size_t(k)], "inputs");
    }
    first = false;
    const Dim& a = d[size_t(axis)];
    sum = sum.known() && a.known() ? Dim::of(sum.value + a.value) : Dim::unknown();
  }
  out[size_t(axis)] = sum;
  ctx.set_output(0, dtype, out);
}

void infer_split(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  const size_t n_out = ctx.num_outputs();
  if (!in.dims) {
    for (size_t k = 0; k < n_out; ++k) ctx.set_output_unknown_rank(k, in.dtype);
    return;
  }
  const int64_t rank = in.rank();
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", 0), rank);
  const Dim& dim = (*in.dims)[size_t(axis)];
  // Split sizes: an attribute before opset 13 (Split-1 also took an optional input), an optional
  // input from 13 on; opset 18 added num_outputs for splits into nearly equal chunks.
  IntList split = int_list(ctx, "split", 1, 13);
  if (!split.present && ctx.opset() < 13 && ctx.has_input(1)) split = int_list(ctx, "split", 1, 1);
  std::vector<Dim> sizes(n_out, Dim::unknown());
  if (split.values) {
    if (split.values->size() != n_out)
      ctx.fail("split ", shape_str(*split.values), " has ", split.values->size(), " entries for ",
               n_out, " outputs");
    int64_t total = 0;
    for (size_t k = 0; k < n_out; ++k) {
      const int64_t s = (*split.values)[k];
      if (s < 0) ctx.fail("split ", shape_str(*split.values), " has a negative entry");
      total += s;
      sizes[k] = Dim::of(s);
    }
    if (dim.known() && total != dim.value)
      ctx.fail("split ", shape_str(*split.values), " sums to ", total, ", but axis ", axis, " of ",
               in.str(), " has ", dim.value, " elements");
  } else if (!split.present) {
    const bool by_count = ctx.opset() >= 18 && ctx.node().has_attr("num_outputs");
    if (by_count) {
      const int64_t n = ctx.node().attr_int("num_outputs", 0);
      if (n < 1 || size_t(n) != n_out)
        ctx.fail("num_outputs is ", n, " but the node has ", n_out, " outputs");
    }
    if (dim.known()) {
      const int64_t n = int64_t(n_out);
      if (by_count) {
        // Chunks of ceil(dim / n); the last one takes what is left and may be smaller.
        const int64_t chunk = (dim.value + n - 1) / n;
        const int64_t last = dim.value - chunk * (n - 1);
        if (last < 0)
          ctx.fail("cannot split ", dim.value, " elements into ", n, " chunks of ", chunk);
        for (size_t k = 0; k < n_out; ++k) sizes[k] = Dim::of(k + 1 == n_out ? last : chunk);
      } else {
        if (dim.value % n != 0)
          ctx.fail("cannot split axis ", axis, " of ", in.str(), " into ", n, " equal parts");
        for (size_t k = 0; k < n_out; ++k) sizes[k] = Dim::of(dim.value / n);
      }
    } else if (n_out == 1) {
      sizes[0] = dim;
    }
  }
  for (size_t k = 0; k < n_out; ++k) {
    Dims d = *in.dims;
    d[size_t(axis)] = sizes[k];
    ctx.set_output(k, in.dtype, d);
  }
}

// ---------------------------------------------------------------- Slice

// Output length of a slice along one axis of size dim, as ONNX specifies: negative starts/ends
// count from the end; then for positive steps both are clamped to [0, dim], for negative steps the
// start to [0, dim-1] and the end to [-1, dim-1].
int64_t slice_length(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (dim == 0) return 0;
  if (start < 0) start = start < kInt64Min + dim ? kInt64Min : start + dim;
  if (end < 0) end = end < kInt64Min + dim ? kInt64Min : end + dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start - 1) / step + 1 : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return start > end ? (start - end - 1) / (-step) + 1 : 0;
}

void infer_slice(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  if (!in.dims) {
    ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  const int64_t rank = in.rank();
  // Before opset 10 starts/ends/axes were attributes and there were no steps.
  IntList starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = int_list(ctx, "starts", 0, kInt64Max);
    ends = int_list(ctx, "ends", 0, kInt64Max);
    axes = int_list(ctx, "axes", 0, kInt64Max);
    if (!starts.present || !ends.present) ctx.fail("needs 'starts' and 'ends' attributes");
  } else {
    if (!ctx.has_input(1) || !ctx.has_input(2)) ctx.fail("needs the starts and ends inputs");
    starts = int_list(ctx, "", 1, 0);
    ends = int_list(ctx, "", 2, 0);
    axes = int_list(ctx, "", 3, 0);
    steps = int_list(ctx, "", 4, 0);
  }
  if (starts.length && ends.length && *starts.length != *ends.length)
    ctx.fail("starts has ", *starts.length, " entries but ends has ", *ends.length);
  Dims out = *in.dims;
  // Which axes are sliced.
  std::optional<std::vector<int64_t>> axis_list;
  if (axes.present) {
    if (axes.values) axis_list = normalize_axes(ctx, *axes.values, rank);
  } else if (starts.length) {
    if (*starts.length > rank) ctx.fail("starts has ", *starts.length, " entries for rank ", rank);
    axis_list.emplace();
    for (int64_t i = 0; i < *starts.length; ++i) axis_list->push_back(i);
  }
  if (!axis_list) {
    ctx.set_output(0, in.dtype, unknown_dims(rank));
    return;
  }
  const size_t n = axis_list->size();
  auto check_len = [&](const IntList& l, std::string_view what) {
    if (l.length && size_t(*l.length) != n)
      ctx.fail(what, " has ", *l.length, " entries but ", n, " axes are sliced");
  };
  check_len(starts, "starts");
  check_len(ends, "ends");
  check_len(steps, "steps");
  if (steps.values)
    for (int64_t s : *steps.values)
      if (s == 0) ctx.fail("steps must not be 0");
  for (size_t i = 0; i < n; ++i) {
    const size_t a = size_t((*axis_list)[i]);
    if (!starts.values || !ends.values || (steps.present && !steps.values)) {
      out[a] = Dim::unknown();
      continue;
    }
    const int64_t start = (*starts.values)[i], end = (*ends.values)[i];
    const int64_t step = steps.values ? (*steps.values)[i] : 1;
    const Dim& d = (*in.dims)[a];
    if (d.known()) {
      out[a] = Dim::of(slice_length(d.value, start, end, step));
    } else {
      // A slice over the whole axis keeps a symbolic dim; anything else depends on its value.
      const bool whole = (step == 1 && start == 0 && end >= std::numeric_limits<int32_t>::max()) ||
                         (step == -1 && start == -1 && end <= std::numeric_limits<int32_t>::min());
      out[a] = whole ? d : Dim::unknown();
    }
  }
  ctx.set_output(0, in.dtype, out);
}

// ---------------------------------------------------------------- Gather / Scatter family

void infer_gather(InferContext& ctx) {
  ctx.require_dtype(1, kIndexTypes);
  const TensorType& data = ctx.input_type(0);
  const TensorType& idx = ctx.input_type(1);
  if (!data.dims || !idx.dims) {
    ctx.set_output_unknown_rank(0, data.dtype);
    return;
  }
  if (data.rank() == 0) ctx.fail("cannot gather from a scalar");
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", 0), data.rank());
  Dims out(data.dims->begin(), data.dims->begin() + axis);
  out.insert(out.end(), idx.dims->begin(), idx.dims->end());
  out.insert(out.end(), data.dims->begin() + axis + 1, data.dims->end());
  ctx.set_output(0, data.dtype, out);
}

void infer_gather_elements(InferContext& ctx) {
  ctx.require_dtype(1, kIndexTypes);
  const TensorType& data = ctx.input_type(0);
  const TensorType& idx = ctx.input_type(1);
  if (data.dims && idx.dims) {
    if (data.rank() != idx.rank())
      ctx.fail("data ", data.str(), " and indices ", idx.str(), " must have the same rank");
    if (data.rank() == 0) ctx.fail("cannot gather from a scalar");
    ctx.normalize_axis(ctx.node().attr_int("axis", 0), data.rank());
  }
  ctx.set_output(0, TensorType{data.dtype, idx.dims});
}

void infer_gather_nd(InferContext& ctx) {
  ctx.require_dtype(1, {DType::Int64});
  const TensorType& data = ctx.input_type(0);
  const TensorType& idx = ctx.input_type(1);
  const int64_t b = ctx.node().attr_int("batch_dims", 0);
  if (!data.dims || !idx.dims || idx.dims->empty() || !idx.dims->back().known()) {
    ctx.set_output_unknown_rank(0, data.dtype);
    return;
  }
  const int64_t r = data.rank(), q = idx.rank();
  const int64_t m = idx.dims->back().value;
  if (b < 0 || b >= std::min(r, q)) ctx.fail("batch_dims ", b, " is out of range");
  if (m < 1 || b + m > r)
    ctx.fail("indices ", idx.str(), " index ", m, " dims of data ", data.str(), " after ", b,
             " batch dims");
  for (int64_t i = 0; i < b; ++i)
    merge_dim(ctx, (*data.dims)[size_t(i)], (*idx.dims)[size_t(i)], "batch dims");
  Dims out(idx.dims->begin(), idx.dims->end() - 1);
  out.insert(out.end(), data.dims->begin() + b + m, data.dims->end());
  ctx.set_output(0, data.dtype, out);
}

// ScatterND, ScatterElements, Scatter: the output is the data input with some elements replaced.
void infer_scatter(InferContext& ctx) {
  ctx.require_dtype(1, kIndexTypes);
  ctx.require_same_dtype(0, 2);
  const std::string red = ctx.node().attr_string("reduction", "none");
  if (red != "none" && red != "add" && red != "mul" && red != "max" && red != "min")
    ctx.fail("unsupported reduction '", red, "'");
  ctx.set_output(0, ctx.input_type(0));
}

// ---------------------------------------------------------------- Expand, Tile, Pad

void infer_expand(InferContext& ctx) {
  ctx.require_dtype(1, {DType::Int64});
  const TensorType& in = ctx.input_type(0);
  const auto shape = ctx.input_ints(1);
  if (shape) {
    if (!in.dims) {
      ctx.set_output_unknown_rank(0, in.dtype);
      return;
    }
    const Dims target = dims_from_values(*shape);
    ctx.set_output(0, in.dtype, broadcast_dims(ctx, {&*in.dims, &target}));
    return;
  }
  const TensorType& st = ctx.input_type(1);
  if (!in.dims || !st.dims || st.dims->size() != 1 || !(*st.dims)[0].known()) {
    ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  // Unknown target of known length: a known input dim other than 1 survives broadcasting.
  const int64_t len = (*st.dims)[0].value;
  const int64_t rank = std::max(in.rank(), len);
  Dims out = unknown_dims(rank);
  for (int64_t k = 0; k < in.rank(); ++k) {
    const Dim& d = (*in.dims)[size_t(in.rank() - 1 - k)];
    if (d.known() && d.value != 1) out[size_t(rank - 1 - k)] = d;
  }
  ctx.set_output(0, in.dtype, out);
}

void infer_tile(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  if (!in.dims) {
    ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  const int64_t rank = in.rank();
  std::optional<std::vector<int64_t>> repeats;
  if (ctx.opset() < 6) {
    // Tile-1: inputs (input, tiles, axis), both scalars.
    const auto tiles = ctx.input_ints(1);
    const auto axis = ctx.has_input(2) ? ctx.input_ints(2) : std::optional<std::vector<int64_t>>();
    if (tiles && axis && tiles->size() == 1 && axis->size() == 1) {
      repeats = std::vector<int64_t>(size_t(rank), 1);
      (*repeats)[size_t(ctx.normalize_axis((*axis)[0], rank))] = (*tiles)[0];
    }
  } else {
    ctx.require_dtype(1, {DType::Int64});
    repeats = ctx.input_ints(1);
  }
  if (!repeats) {
    ctx.set_output(0, in.dtype, unknown_dims(rank));
    return;
  }
  if (int64_t(repeats->size()) != rank)
    ctx.fail("repeats ", shape_str(*repeats), " has ", repeats->size(), " entries for rank ", rank);
  Dims out;
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t r = (*repeats)[size_t(k)];
    if (r < 0) ctx.fail("repeats ", shape_str(*repeats), " has a negative entry");
    out.push_back(dim_mul((*in.dims)[size_t(k)], Dim::of(r)));
  }
  ctx.set_output(0, in.dtype, out);
}

void infer_pad(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  const std::string mode = ctx.node().attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && !(mode == "wrap" && ctx.opset() >= 19))
    ctx.fail("unsupported mode '", mode, "'");
  if (ctx.opset() >= 11 && ctx.has_input(2)) ctx.require_same_dtype(0, 2);
  if (!in.dims) {
    ctx.set_output_unknown_rank(0, in.dtype);
    return;
  }
  const int64_t rank = in.rank();
  // Pads: attribute 'paddings' (opset 1), 'pads' (2-10), input 1 (11+); axes input from 18.
  IntList pads;
  if (ctx.opset() < 2)
    pads = int_list(ctx, "paddings", 1, kInt64Max);
  else
    pads = int_list(ctx, "pads", 1, 11);
  if (!pads.present) ctx.fail("needs pads");
  std::optional<std::vector<int64_t>> axes;
  if (ctx.opset() >= 18 && ctx.has_input(3)) {
    const IntList a = int_list(ctx, "", 3, 0);
    if (a.values) axes = normalize_axes(ctx, *a.values, rank);
  } else {
    axes.emplace();
    for (int64_t i = 0; i < rank; ++i) axes->push_back(i);
  }
  if (!axes) {
    ctx.set_output(0, in.dtype, unknown_dims(rank));
    return;
  }
  const size_t n = axes->size();
  if (pads.length && size_t(*pads.length) != 2 * n)
    ctx.fail("pads has ", *pads.length, " entries; expected ", 2 * n);
  Dims out = *in.dims;
  for (size_t i = 0; i < n; ++i) {
    const size_t a = size_t((*axes)[i]);
    if (!pads.values) {
      out[a] = Dim::unknown();
      continue;
    }
    const int64_t total = (*pads.values)[i] + (*pads.values)[i + n];
    const Dim& d = (*in.dims)[a];
    if (total == 0) continue;
    if (!d.known()) {
      out[a] = Dim::unknown();
      continue;
    }
    if (d.value + total < 0)
      ctx.fail("pads ", shape_str(*pads.values), " crop axis ", a, " of ", in.str(), " below zero");
    if (mode != "constant" && d.value == 0)
      ctx.fail("cannot pad an empty axis in mode '", mode, "'");
    out[a] = Dim::of(d.value + total);
  }
  ctx.set_output(0, in.dtype, out);
}

// ---------------------------------------------------------------- generators

void infer_constant_of_shape(InferContext& ctx) {
  ctx.require_dtype(0, {DType::Int64});
  DType dtype = DType::Float;
  if (const Attribute* v = ctx.node().attr("value")) {
    if (v->kind != Attribute::Kind::Tensor) ctx.fail("attribute 'value' must be a tensor");
    if (v->t.numel() != 1) ctx.fail("attribute 'value' must hold one element, has ", v->t.numel());
    dtype = v->t.dtype();
  }
  if (const auto shape = ctx.input_ints(0)) {
    for (int64_t d : *shape)
      if (d < 0) ctx.fail("shape ", shape_str(*shape), " has a negative dimension");
    ctx.set_output(0, dtype, dims_from_values(*shape));
    return;
  }
  const TensorType& st = ctx.input_type(0);
  if (st.dims && st.dims->size() == 1 && (*st.dims)[0].known())
    ctx.set_output(0, dtype, unknown_dims((*st.dims)[0].value));
  else
    ctx.set_output_unknown_rank(0, dtype);
}

void infer_range(InferContext& ctx) {
  ctx.require_dtype(0, {DType::Float, DType::Double, DType::Int16, DType::Int32, DType::Int64});
  ctx.require_same_dtype(0, 1);
  ctx.require_same_dtype(0, 2);
  for (size_t i = 0; i < 3; ++i)
    if (ctx.input_rank(i) > 0 && dims_numel(ctx.input_dims(i)) != 1)
      ctx.fail("input ", i, " must be a scalar, got ", ctx.input_type(i).str());
  const Tensor *s = ctx.input_value(0), *l = ctx.input_value(1), *d = ctx.input_value(2);
  if (s && l && d && s->numel() == 1 && l->numel() == 1 && d->numel() == 1) {
    const double start = s->as_double(0), limit = l->as_double(0), delta = d->as_double(0);
    if (delta == 0) ctx.fail("delta must not be 0");
    const double n = std::ceil((limit - start) / delta);
    if (!(n < 9e18)) ctx.fail("range of ", n, " elements is too long");
    ctx.set_output(0, ctx.input_dtype(0), Dims{Dim::of(n > 0 ? int64_t(n) : 0)});
    return;
  }
  ctx.set_output(0, ctx.input_dtype(0), Dims{Dim::unknown()});
}

void infer_eye_like(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  ctx.require_rank(0, 2);
  DType dtype = in.dtype;
  if (ctx.node().has_attr("dtype")) {
    const auto t = dtype_from_code(ctx.node().attr_int("dtype", 0));
    if (!t || *t == DType::String || *t == DType::Undefined) ctx.fail("unsupported dtype attribute");
    dtype = *t;
  }
  ctx.set_output(0, TensorType{dtype, in.dims ? in.dims : std::optional<Dims>(unknown_dims(2))});
}

void infer_one_hot(InferContext& ctx) {
  const TensorType& idx = ctx.input_type(0);
  const DType dtype = ctx.input_dtype(2);
  if (ctx.input_rank(2) >= 0 && dims_numel(ctx.input_dims(2)).value_or(2) != 2)
    ctx.fail("values must hold 2 elements (off, on), got ", ctx.input_type(2).str());
  if (!idx.dims) {
    ctx.set_output_unknown_rank(0, dtype);
    return;
  }
  const int64_t out_rank = idx.rank() + 1;
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", -1), out_rank);
  Dim depth = Dim::unknown();
  if (const Tensor* d = ctx.input_value(1)) {
    if (d->numel() != 1) ctx.fail("depth must hold one element, has ", d->numel());
    const double v = d->as_double(0);
    if (!(v >= 1)) ctx.fail("depth must be positive, got ", v);
    depth = Dim::of(int64_t(v));
  }
  Dims out = *idx.dims;
  out.insert(out.begin() + axis, depth);
  ctx.set_output(0, dtype, out);
}

// ---------------------------------------------------------------- per-element ops

void infer_trilu(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  if (in.rank() >= 0 && in.rank() < 2) ctx.fail("input must have rank >= 2, got ", in.str());
  if (ctx.has_input(1)) ctx.require_dtype(1, {DType::Int64});
  ctx.set_output(0, in);
}

void infer_cumsum(InferContext& ctx) {
  ctx.require_dtype(0, {DType::Float, DType::Double, DType::Float16, DType::BFloat16, DType::Int32,
                        DType::Int64, DType::UInt32, DType::UInt64});
  ctx.require_dtype(1, kIndexTypes);
  const TensorType& in = ctx.input_type(0);
  if (const auto axis = ctx.input_ints(1); axis && in.dims) {
    if (axis->size() != 1) ctx.fail("axis must hold one element, has ", axis->size());
    ctx.normalize_axis((*axis)[0], std::max<int64_t>(in.rank(), 1));
  }
  ctx.set_output(0, in);
}

void infer_top_k(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  std::optional<int64_t> k;
  if (ctx.opset() < 10) {
    if (!ctx.node().has_attr("k")) ctx.fail("needs a 'k' attribute before opset 10");
    k = ctx.node().attr_int("k", 0);
  } else {
    if (!ctx.has_input(1)) ctx.fail("needs the K input");
    ctx.require_dtype(1, {DType::Int64});
    if (const auto v = ctx.input_ints(1)) {
      if (v->size() != 1) ctx.fail("K must hold one element, has ", v->size());
      k = (*v)[0];
    }
  }
  if (k && *k < 0) ctx.fail("k must not be negative, got ", *k);
  if (!in.dims) {
    ctx.set_output_unknown_rank(0, in.dtype);
    ctx.set_output_unknown_rank(1, DType::Int64);
    return;
  }
  const int64_t axis = ctx.normalize_axis(ctx.node().attr_int("axis", -1), in.rank());
  Dims out = *in.dims;
  const Dim& d = out[size_t(axis)];
  if (k && d.known() && *k > d.value)
    ctx.fail("k ", *k, " is larger than axis ", axis, " of ", in.str());
  out[size_t(axis)] = k ? Dim::of(*k) : Dim::unknown();
  ctx.set_output(0, in.dtype, out);
  ctx.set_output(1, DType::Int64, out);
}

void infer_depth_to_space(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  ctx.require_rank(0, 4);
  const int64_t b = ctx.node().attr_int("blocksize", 0);
  if (b < 1) ctx.fail("needs a positive 'blocksize' attribute");
  const std::string mode = ctx.node().attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") ctx.fail("unsupported mode '", mode, "'");
  if (!in.dims) {
    ctx.set_output(0, in.dtype, unknown_dims(4));
    return;
  }
  const Dims& d = *in.dims;
  Dim c = Dim::unknown();
  if (d[1].known()) {
    if (d[1].value % (b * b) != 0)
      ctx.fail("channels ", d[1].value, " are not divisible by blocksize^2 = ", b * b);
    c = Dim::of(d[1].value / (b * b));
  }
  ctx.set_output(0, in.dtype, Dims{d[0], c, dim_mul(d[2], Dim::of(b)), dim_mul(d[3], Dim::of(b))});
}

void infer_space_to_depth(InferContext& ctx) {
  const TensorType& in = ctx.input_type(0);
  ctx.require_rank(0, 4);
  const int64_t b = ctx.node().attr_int("blocksize", 0);
  if (b < 1) ctx.fail("needs a positive 'blocksize' attribute");
  if (!in.dims) {
    ctx.set_output(0, in.dtype, unknown_dims(4));
    return;
  }
  const Dims& d = *in.dims;
  Dims out{d[0], dim_mul(d[1], Dim::of(b * b)), Dim::unknown(), Dim::unknown()};
  for (size_t k = 2; k < 4; ++k)
    if (d[k].known()) {
      if (d[k].value % b != 0)
        ctx.fail("spatial dim ", d[k].value, " is not divisible by blocksize ", b);
      out[k] = Dim::of(d[k].value / b);
    }
  ctx.set_output(0, in.dtype, out);
}

// Data-dependent: the count of nonzeros is known only at run time (the kernel sets the output).
void infer_non_zero(InferContext& ctx) {
  const int64_t r = ctx.input_rank(0);
  // A scalar is treated as a 1-element vector, as numpy and ONNX Runtime do.
  ctx.set_output(0, DType::Int64, Dims{r < 0 ? Dim::unknown() : Dim::of(std::max<int64_t>(r, 1)),
                                       Dim::unknown()});
}

}  // namespace

void register_tensor_ops(OpRegistry& r) {
  r.add({"", "Constant", infer_constant, 0, 0, 1, 1, true});
  r.add({"", "Shape", infer_shape, 1, 1, 1, 1, true});
  r.add({"", "Size", infer_size, 1, 1, 1, 1, true});
  r.add({"", "Reshape", infer_reshape, 1, 2});
  r.add({"", "Flatten", infer_flatten, 1, 1});
  r.add({"", "Squeeze", infer_squeeze, 1, 2});
  r.add({"", "Unsqueeze", infer_unsqueeze, 1, 2});
  r.add({"", "Transpose", infer_transpose, 1, 1});
  r.add({"", "Concat", infer_concat, 1, -1});
  r.add({"", "Split", infer_split, 1, 2, 1, -1});
  r.add({"", "Slice", infer_slice, 1, 5});
  r.add({"", "Gather", infer_gather, 2, 2});
  r.add({"", "GatherElements", infer_gather_elements, 2, 2});
  r.add({"", "GatherND", infer_gather_nd, 2, 2});
  r.add({"", "ScatterND", infer_scatter, 3, 3});
  r.add({"", "ScatterElements", infer_scatter, 3, 3});
  r.add({"", "Scatter", infer_scatter, 3, 3});  // opset 9-10 name of ScatterElements
  r.add({"", "Expand", infer_expand, 2, 2});
  r.add({"", "Tile", infer_tile, 2, 3});
  r.add({"", "Pad", infer_pad, 1, 4});
  r.add({"", "ConstantOfShape", infer_constant_of_shape, 1, 1});
  r.add({"", "Range", infer_range, 3, 3});
  r.add({"", "EyeLike", infer_eye_like, 1, 1});
  r.add({"", "OneHot", infer_one_hot, 3, 3});
  r.add({"", "Trilu", infer_trilu, 1, 2});
  r.add({"", "CumSum", infer_cumsum, 2, 2});
  r.add({"", "TopK", infer_top_k, 1, 2, 2, 2});
  r.add({"", "DepthToSpace", infer_depth_to_space, 1, 1});
  r.add({"", "SpaceToDepth", infer_space_to_depth, 1, 1});
  r.add({"", "NonZero", infer_non_zero, 1, 1});

  set_cost(r, {"Transpose", "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Pad", "Tile", "Expand",
               "DepthToSpace", "SpaceToDepth", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Shape", "Size",
               "ScatterND", "ScatterElements", "ConstantOfShape", "Range", "OneHot", "Trilu"},
           OpClass::Data, flops::zero);
  set_cost(r, {"Constant", "NonZero"}, OpClass::Other, flops::zero);
  set_cost(r, {"CumSum", "TopK"}, OpClass::Other, flops::per_input);
  set_cost(r, {"Scatter", "EyeLike"}, OpClass::Other, flops::per_output);
  // Only relabel the buffer.
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}) r.find_mutable("", op)->view = true;
}

}  // namespace eqopt
