// Control flow: If, Loop and Scan. Their bodies are subgraphs held in graph attributes; inference
// asks the caller (InferContext::infer_subgraph) for the types a body produces from given input
// types. Inside the interpreter that callback is absent and a body's declared output types stand
// in, so every rule below only keeps dims that are certain, leaving the rest unknown: the kernels'
// actual outputs must always fit what inference said.
#include <algorithm>
#include <optional>

#include "ir/ops/ops.h"

namespace eqopt {

namespace {

const Graph& graph_attr(const InferContext& ctx, const char* name) {
  const Attribute* a = ctx.node().attr(name);
  if (!a || a->kind != Attribute::Kind::Graph || !a->g) ctx.fail("needs a graph attribute '", name, "'");
  return *a->g;
}

// The least precise type covering both: dims that agree stay, others become unknown; a different
// rank (or an unknown one) gives an unknown rank. An undefined dtype takes the other's.
TensorType merge_types(const InferContext& ctx, const TensorType& a, const TensorType& b, const char* what) {
  TensorType r;
  if (a.dtype != DType::Undefined && b.dtype != DType::Undefined && a.dtype != b.dtype)
    ctx.fail(what, " has element type ", dtype_short_name(a.dtype), " in one place and ",
             dtype_short_name(b.dtype), " in another");
  r.dtype = a.dtype != DType::Undefined ? a.dtype : b.dtype;
  if (!a.dims || !b.dims || a.dims->size() != b.dims->size()) return r;
  Dims d(a.dims->size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = (*a.dims)[i] == (*b.dims)[i] ? (*a.dims)[i] : Dim::unknown();
  r.dims = std::move(d);
  return r;
}

// A 1-element boolean condition (If's cond, Loop's cond).
void check_condition(const InferContext& ctx, size_t input) {
  ctx.require_dtype(input, {DType::Bool});
  const TensorType& t = ctx.input_type(input);
  if (t.dims) {
    if (t.dims->size() > 1) ctx.fail("condition '", ctx.node().inputs[input], "' must hold one element, got ", t.str());
    if (auto n = dims_numel(*t.dims); n && *n != 1)
      ctx.fail("condition '", ctx.node().inputs[input], "' must hold one element, got ", t.str());
  }
}

// ---------------------------------------------------------------- If

void infer_if(InferContext& ctx) {
  check_condition(ctx, 0);
  const Graph& then_g = graph_attr(ctx, "then_branch");
  const Graph& else_g = graph_attr(ctx, "else_branch");
  const size_t n = ctx.num_outputs();
  if (then_g.outputs.size() != n || else_g.outputs.size() != n)
    ctx.fail("has ", n, " outputs but its branches produce ", then_g.outputs.size(), " (then) and ",
             else_g.outputs.size(), " (else)");
  if (!then_g.inputs.empty() || !else_g.inputs.empty()) ctx.fail("If branches take no inputs");
  // A known condition decides the branch: only that one is inferred, and its types are exact.
  if (const Tensor* cond = ctx.input_value(0); cond && cond->numel() == 1) {
    const std::vector<TensorType> t = ctx.infer_subgraph(cond->as_int64(0) != 0 ? then_g : else_g, {});
    for (size_t k = 0; k < n && k < t.size(); ++k) ctx.set_output(k, t[k]);
    return;
  }
  // With the condition unknown, a branch whose inference fails (say, a shape only the other
  // branch can handle, as when input shapes are fixed on the command line) cannot be the one taken
  // without failing at run time too; the other branch then decides the types. Both failing is an
  // error.
  std::optional<std::vector<TensorType>> then_types, else_types;
  std::optional<Error> then_error;
  try {
    then_types = ctx.infer_subgraph(then_g, {});
  } catch (const Error& e) {
    then_error = e;
  }
  try {
    else_types = ctx.infer_subgraph(else_g, {});
  } catch (const Error&) {
    if (then_error) throw *then_error;
  }
  if (!then_types || !else_types) {
    const std::vector<TensorType>& t = then_types ? *then_types : *else_types;
    for (size_t k = 0; k < n && k < t.size(); ++k) ctx.set_output(k, t[k]);
    return;
  }
  const std::vector<TensorType>& a = *then_types;
  const std::vector<TensorType>& b = *else_types;
  for (size_t k = 0; k < n && k < a.size() && k < b.size(); ++k) {
    const std::string what = "output " + std::to_string(k) + " ('" + ctx.node().outputs[k] + "')";
    ctx.set_output(k, merge_types(ctx, a[k], b[k], what.c_str()));
  }
}

// ---------------------------------------------------------------- Loop

void infer_loop(InferContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = graph_attr(ctx, "body");
  if (ctx.has_input(0)) {
    ctx.require_dtype(0, {DType::Int64});
    const TensorType& m = ctx.input_type(0);
    if (m.dims && m.dims->size() > 1) ctx.fail("M must be a scalar or have one element, got ", m.str());
  }
  if (ctx.has_input(1)) check_condition(ctx, 1);
  const size_t n_carried = node.inputs.size() > 2 ? node.inputs.size() - 2 : 0;
  for (size_t i = 0; i < n_carried; ++i)
    if (!ctx.has_input(2 + i)) ctx.fail("loop-carried input ", 2 + i, " is missing");
  if (body.inputs.size() != n_carried + 2)
    ctx.fail("body takes ", body.inputs.size(), " inputs; expected 2 + ", n_carried, " loop-carried values");
  if (body.outputs.size() < n_carried + 1)
    ctx.fail("body produces ", body.outputs.size(), " outputs; expected at least 1 + ", n_carried);
  const size_t n_scan = body.outputs.size() - 1 - n_carried;
  if (ctx.num_outputs() > n_carried + n_scan)
    ctx.fail("has ", ctx.num_outputs(), " outputs; the body gives ", n_carried, " loop-carried values and ",
             n_scan, " scan outputs");

  std::vector<TensorType> initial(n_carried);
  for (size_t i = 0; i < n_carried; ++i) initial[i] = ctx.input_type(2 + i);
  // The carried types must cover every iteration: widen them until the body's outputs fit.
  std::vector<TensorType> carried = initial;
  std::vector<TensorType> out;
  for (int round = 0;; ++round) {
    std::vector<TensorType> formal = {TensorType{DType::Int64, Dims{}}, TensorType{DType::Bool, Dims{}}};
    formal.insert(formal.end(), carried.begin(), carried.end());
    out = ctx.infer_subgraph(body, formal);
    if (out.size() != body.outputs.size()) ctx.fail("body inference returned the wrong number of outputs");
    if (out[0].dtype != DType::Undefined && out[0].dtype != DType::Bool)
      ctx.fail("body output 0 (the condition) must be bool, got ", dtype_short_name(out[0].dtype));
    bool stable = true;
    for (size_t i = 0; i < n_carried; ++i) {
      const std::string what = "loop-carried value " + std::to_string(i) + " ('" + node.inputs[2 + i] + "')";
      TensorType widened = merge_types(ctx, carried[i], out[1 + i], what.c_str());
      if (!(widened == carried[i])) stable = false;
      carried[i] = std::move(widened);
    }
    if (stable || round == 9) break;
    if (round == 8)  // not settling: give up on the shapes
      for (TensorType& t : carried) t.dims.reset();
  }
  for (size_t i = 0; i < n_carried; ++i) ctx.set_output(i, carried[i]);

  // Iterations: M when the loop ignores its condition (no cond input), else unknown.
  Dim trips = Dim::unknown();
  if (!ctx.has_input(1))
    if (auto m = ctx.input_ints(0); m && m->size() == 1 && (*m)[0] >= 0) trips = Dim::of((*m)[0]);
  for (size_t k = 0; k < n_scan; ++k) {
    const TensorType& per_iter = out[1 + n_carried + k];
    TensorType t{per_iter.dtype, std::nullopt};
    if (per_iter.dims) {
      Dims d{trips};
      d.insert(d.end(), per_iter.dims->begin(), per_iter.dims->end());
      t.dims = std::move(d);
    }
    ctx.set_output(n_carried + k, t);
  }
}

// ---------------------------------------------------------------- Scan

// Attribute list of per-input/per-output values, defaulting to zeros.
std::vector<int64_t> per_item(const InferContext& ctx, const char* name, size_t count) {
  std::vector<int64_t> v = ctx.node().attr_ints(name, std::vector<int64_t>(count, 0));
  if (v.size() != count) ctx.fail("attribute '", name, "' has ", v.size(), " entries; expected ", count);
  return v;
}

Dims without(const Dims& d, size_t axis) {
  Dims r = d;
  r.erase(r.begin() + std::ptrdiff_t(axis));
  return r;
}

void infer_scan(InferContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = graph_attr(ctx, "body");
  const bool v8 = ctx.opset() < 9;  // opset 8: leading sequence_lens input and a batch axis
  const size_t first = v8 ? 1 : 0;
  const int64_t m = node.attr_int("num_scan_inputs", -1);
  const size_t n_all = node.inputs.size() > first ? node.inputs.size() - first : 0;
  if (m < 1 || size_t(m) > n_all)
    ctx.fail("num_scan_inputs is ", m, "; the op has ", n_all, " state and scan inputs");
  const size_t n_scan_in = size_t(m), n_state = n_all - n_scan_in;
  if (body.inputs.size() != n_all)
    ctx.fail("body takes ", body.inputs.size(), " inputs; expected ", n_all);
  if (body.outputs.size() < n_state) ctx.fail("body produces fewer outputs than there are states");
  const size_t n_scan_out = body.outputs.size() - n_state;
  if (ctx.num_outputs() > n_state + n_scan_out)
    ctx.fail("has ", ctx.num_outputs(), " outputs; the body gives ", n_state + n_scan_out);
  if (v8 && ctx.has_input(0)) ctx.require_dtype(0, {DType::Int64});

  Dim batch = Dim::unknown(), seq = Dim::unknown();
  std::vector<TensorType> formal;
  for (size_t i = 0; i < n_state; ++i) {
    TensorType t = ctx.input_type(first + i);
    if (v8 && t.dims) {
      if (t.dims->empty()) ctx.fail("state input ", first + i, " needs a batch axis");
      batch = (*t.dims)[0];
      t.dims = without(*t.dims, 0);
    }
    formal.push_back(t);
  }
  const std::vector<int64_t> in_axes =
      v8 ? std::vector<int64_t>(n_scan_in, 1) : per_item(ctx, "scan_input_axes", n_scan_in);
  if (!v8) per_item(ctx, "scan_input_directions", n_scan_in);
  else per_item(ctx, "directions", n_scan_in);
  for (size_t j = 0; j < n_scan_in; ++j) {
    TensorType t = ctx.input_type(first + n_state + j);
    if (t.dims) {
      const int64_t rank = int64_t(t.dims->size());
      const size_t axis = size_t(ctx.normalize_axis(in_axes[j], rank, "scan input axis"));
      const Dim& len = (*t.dims)[axis];
      if (len.known()) seq = len;
      if (v8) {
        batch = (*t.dims)[0];
        t.dims = without(without(*t.dims, 1), 0);
      } else {
        t.dims = without(*t.dims, axis);
      }
    }
    formal.push_back(t);
  }
  const std::vector<TensorType> out = ctx.infer_subgraph(body, formal);
  if (out.size() != body.outputs.size()) ctx.fail("body inference returned the wrong number of outputs");
  for (size_t i = 0; i < n_state; ++i) {
    const std::string what = "state " + std::to_string(i) + " ('" + node.inputs[first + i] + "')";
    TensorType t = merge_types(ctx, formal[i], out[i], what.c_str());
    if (v8 && t.dims) t.dims->insert(t.dims->begin(), batch);
    ctx.set_output(i, t);
  }
  const std::vector<int64_t> out_axes =
      v8 ? std::vector<int64_t>(n_scan_out, 0) : per_item(ctx, "scan_output_axes", n_scan_out);
  if (!v8) per_item(ctx, "scan_output_directions", n_scan_out);
  for (size_t k = 0; k < n_scan_out; ++k) {
    const TensorType& per_iter = out[n_state + k];
    TensorType t{per_iter.dtype, std::nullopt};
    if (per_iter.dims) {
      Dims d = *per_iter.dims;
      const int64_t rank = int64_t(d.size()) + 1;
      const size_t axis = size_t(ctx.normalize_axis(out_axes[k], rank, "scan output axis"));
      d.insert(d.begin() + std::ptrdiff_t(axis), seq);
      if (v8) d.insert(d.begin(), batch);
      t.dims = std::move(d);
    }
    ctx.set_output(n_state + k, t);
  }
}

}  // namespace

void register_control_ops(OpRegistry& r) {
  r.add({"", "If", infer_if, 1, 1, 1, -1});
  // Loop's M and cond and opset-8 Scan's sequence_lens may be empty: their own checks apply.
  r.add({"", "Loop", infer_loop, 0, -1, 0, -1});
  r.add({"", "Scan", infer_scan, 0, -1, 1, -1});
  // Costed as "other" (the cost model's reports and efficiency factors have no control class).
  // Model statistics count their bodies' FLOPs; If and Loop themselves count none.
  set_cost(r, {"If", "Loop"}, OpClass::Other, flops::zero);
  set_cost(r, {"Scan"}, OpClass::Other, flops::per_output);
}

}  // namespace eqopt
