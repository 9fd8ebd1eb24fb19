// Control-flow kernels: If, Loop and Scan run their bodies through the interpreter's subgraph
// runner (KernelContext::run_subgraph), which resolves outer-scope names in the calling graph.
#include <algorithm>
#include <cstring>
#include <limits>

#include "interp/kernel_util.h"

namespace eqopt {

namespace {

const Graph& graph_attr(const KernelContext& ctx, const char* name) {
  const Attribute* a = ctx.node().attr(name);
  if (!a || a->kind != Attribute::Kind::Graph || !a->g) ctx.fail("needs a graph attribute '", name, "'");
  return *a->g;
}

bool condition_value(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.numel() != 1) ctx.fail(what, " must hold one element, got ", t.type_str());
  return t.as_int64(0) != 0;
}

// Copies `count` elements from src[src_at] to dst[dst_at] (same dtype, strings included).
void copy_elements(const Tensor& src, int64_t src_at, Tensor& dst, int64_t dst_at, int64_t count) {
  if (count <= 0) return;
  if (src.dtype() == DType::String) {
    const auto& s = src.strings();
    auto& d = dst.mutable_strings();
    for (int64_t i = 0; i < count; ++i) d[size_t(dst_at + i)] = s[size_t(src_at + i)];
    return;
  }
  const size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<uint8_t*>(dst.raw_mutable_data()) + size_t(dst_at) * es,
              static_cast<const uint8_t*>(src.raw_data()) + size_t(src_at) * es, size_t(count) * es);
}

// The slice t[..., index, ...] along `axis`, with that axis removed.
Tensor take(const Tensor& t, int64_t axis, int64_t index) {
  Shape shape = t.shape();
  const int64_t len = shape[size_t(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  shape.erase(shape.begin() + axis);
  Tensor out(t.dtype(), shape);
  for (int64_t o = 0; o < outer; ++o) copy_elements(t, (o * len + index) * inner, out, o * inner, inner);
  return out;
}

// Stacks equally shaped parts along a new axis (in reverse order when asked).
Tensor stack(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis, bool reverse,
             const char* what) {
  if (parts.empty()) ctx.fail(what, ": nothing to stack");
  const Shape& part_shape = parts.front().shape();
  for (const Tensor& p : parts)
    if (p.shape() != part_shape || p.dtype() != parts.front().dtype())
      ctx.fail(what, " changes type across iterations: ", parts.front().type_str(), " then ", p.type_str());
  Shape shape = part_shape;
  const int64_t n = int64_t(parts.size());
  shape.insert(shape.begin() + axis, n);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= part_shape[size_t(d)];
  for (size_t d = size_t(axis); d < part_shape.size(); ++d) inner *= part_shape[d];
  Tensor out(parts.front().dtype(), shape);
  for (int64_t k = 0; k < n; ++k) {
    const Tensor& p = parts[size_t(reverse ? n - 1 - k : k)];
    for (int64_t o = 0; o < outer; ++o) copy_elements(p, o * inner, out, (o * n + k) * inner, inner);
  }
  return out;
}

// A stacked output with no iterations: the body's declared per-iteration type with a 0-long axis
// inserted (unknown dims become 0 too, as there are no elements).
Tensor empty_stack(const ValueInfo& per_iter, int64_t axis) {
  Shape shape;
  if (per_iter.type.dims)
    for (const Dim& d : *per_iter.type.dims) shape.push_back(d.known() ? d.value : 0);
  if (axis < 0) axis += int64_t(shape.size()) + 1;
  axis = std::clamp<int64_t>(axis, 0, int64_t(shape.size()));
  shape.insert(shape.begin() + axis, 0);
  const DType dt = per_iter.type.dtype == DType::Undefined ? DType::Float : per_iter.type.dtype;
  return Tensor(dt, shape);
}

// ---------------------------------------------------------------- If

void k_if(KernelContext& ctx) {
  const bool cond = condition_value(ctx, ctx.input(0), "cond");
  const Graph& branch = graph_attr(ctx, cond ? "then_branch" : "else_branch");
  std::vector<Tensor> outs = ctx.run_subgraph(branch, {});
  if (outs.size() != ctx.node().outputs.size())
    ctx.fail("the ", cond ? "then" : "else", " branch produced ", outs.size(), " values for ",
             ctx.node().outputs.size(), " outputs");
  for (size_t k = 0; k < outs.size(); ++k)
    if (ctx.has_output(k)) ctx.set_output(k, std::move(outs[k]));
}

// ---------------------------------------------------------------- Loop

void k_loop(KernelContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = graph_attr(ctx, "body");
  const bool has_m = ctx.has_input(0), has_cond = ctx.has_input(1);
  if (!has_m && !has_cond) ctx.fail("has neither M nor cond, so it would never stop");
  int64_t max_trips = std::numeric_limits<int64_t>::max();
  if (has_m) {
    if (ctx.input(0).numel() != 1) ctx.fail("M must hold one element, got ", ctx.input(0).type_str());
    max_trips = ctx.input(0).as_int64(0);
  }
  bool cond = has_cond ? condition_value(ctx, ctx.input(1), "cond") : true;
  const size_t n_carried = node.inputs.size() > 2 ? node.inputs.size() - 2 : 0;
  const size_t n_scan = body.outputs.size() - 1 - n_carried;
  std::vector<Tensor> carried;
  for (size_t i = 0; i < n_carried; ++i) carried.push_back(ctx.input(2 + i));
  std::vector<std::vector<Tensor>> scans(n_scan);
  Tensor cond_in = Tensor::scalar<bool>(cond);

  for (int64_t i = 0; i < max_trips && (!has_cond || cond); ++i) {
    std::vector<Tensor> formal = {Tensor::scalar<int64_t>(i), cond_in};
    formal.insert(formal.end(), carried.begin(), carried.end());
    std::vector<Tensor> outs = ctx.run_subgraph(body, formal);
    if (outs.size() != body.outputs.size())
      ctx.fail("body produced ", outs.size(), " values; it declares ", body.outputs.size());
    if (outs[0].dtype() != DType::Bool) ctx.fail("body's condition output is ", outs[0].type_str(), ", not bool");
    // Without a cond input the condition output is ignored (a plain for loop).
    const bool next = condition_value(ctx, outs[0], "the body's condition output");
    if (has_cond) cond = next;
    cond_in = Tensor::scalar<bool>(next);
    for (size_t k = 0; k < n_carried; ++k) carried[k] = std::move(outs[1 + k]);
    for (size_t k = 0; k < n_scan; ++k) scans[k].push_back(std::move(outs[1 + n_carried + k]));
  }
  for (size_t k = 0; k < n_carried; ++k)
    if (ctx.has_output(k)) ctx.set_output(k, carried[k]);
  for (size_t k = 0; k < n_scan; ++k) {
    if (!ctx.has_output(n_carried + k)) continue;
    const std::string what = "scan output " + std::to_string(k);
    ctx.set_output(n_carried + k, scans[k].empty() ? empty_stack(body.outputs[1 + n_carried + k], 0)
                                                   : stack(ctx, scans[k], 0, false, what.c_str()));
  }
}

// ---------------------------------------------------------------- Scan

std::vector<int64_t> per_item(const KernelContext& ctx, const char* name, size_t count) {
  std::vector<int64_t> v = ctx.node().attr_ints(name, std::vector<int64_t>(count, 0));
  if (v.size() != count) ctx.fail("attribute '", name, "' has ", v.size(), " entries; expected ", count);
  return v;
}

struct ScanResult {
  std::vector<Tensor> states;
  std::vector<std::vector<Tensor>> per_iter;  // [scan output][iteration]
};

// Runs `steps` iterations over scan inputs sliced along their axes.
ScanResult scan_steps(const KernelContext& ctx, const Graph& body, std::vector<Tensor> states,
                      const std::vector<Tensor>& inputs, const std::vector<int64_t>& axes,
                      const std::vector<int64_t>& directions, int64_t steps) {
  const size_t n_state = states.size();
  ScanResult r;
  r.per_iter.resize(body.outputs.size() - n_state);
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<Tensor> formal = states;
    for (size_t j = 0; j < inputs.size(); ++j)
      formal.push_back(take(inputs[j], axes[j], directions[j] ? steps - 1 - t : t));
    std::vector<Tensor> outs = ctx.run_subgraph(body, formal);
    if (outs.size() != body.outputs.size())
      ctx.fail("body produced ", outs.size(), " values; it declares ", body.outputs.size());
    for (size_t i = 0; i < n_state; ++i) states[i] = std::move(outs[i]);
    for (size_t k = 0; k < r.per_iter.size(); ++k) r.per_iter[k].push_back(std::move(outs[n_state + k]));
  }
  r.states = std::move(states);
  return r;
}

void k_scan(KernelContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = graph_attr(ctx, "body");
  const bool v8 = ctx.opset() < 9;
  const size_t first = v8 ? 1 : 0;
  const size_t n_all = node.inputs.size() - first;
  const size_t n_scan_in = size_t(node.attr_int("num_scan_inputs", 0));
  const size_t n_state = n_all - n_scan_in;
  const size_t n_scan_out = body.outputs.size() - n_state;
  std::vector<Tensor> states, inputs;
  for (size_t i = 0; i < n_state; ++i) states.push_back(ctx.input(first + i));
  for (size_t j = 0; j < n_scan_in; ++j) inputs.push_back(ctx.input(first + n_state + j));

  if (!v8) {
    std::vector<int64_t> in_axes = per_item(ctx, "scan_input_axes", n_scan_in);
    const std::vector<int64_t> in_dirs = per_item(ctx, "scan_input_directions", n_scan_in);
    const std::vector<int64_t> out_axes = per_item(ctx, "scan_output_axes", n_scan_out);
    const std::vector<int64_t> out_dirs = per_item(ctx, "scan_output_directions", n_scan_out);
    int64_t seq = -1;
    for (size_t j = 0; j < n_scan_in; ++j) {
      in_axes[j] = normalize_axis(ctx, in_axes[j], inputs[j].rank());
      const int64_t len = inputs[j].dim(in_axes[j]);
      if (seq >= 0 && len != seq) ctx.fail("scan inputs have different lengths (", seq, " and ", len, ")");
      seq = len;
    }
    ScanResult r = scan_steps(ctx, body, states, inputs, in_axes, in_dirs, seq);
    for (size_t i = 0; i < n_state; ++i)
      if (ctx.has_output(i)) ctx.set_output(i, r.states[i]);
    for (size_t k = 0; k < n_scan_out; ++k) {
      if (!ctx.has_output(n_state + k)) continue;
      const auto& parts = r.per_iter[k];
      const std::string what = "scan output " + std::to_string(k);
      if (parts.empty()) {
        ctx.set_output(n_state + k, empty_stack(body.outputs[n_state + k], out_axes[k]));
        continue;
      }
      const int64_t axis = normalize_axis(ctx, out_axes[k], parts.front().rank() + 1);
      ctx.set_output(n_state + k, stack(ctx, parts, axis, out_dirs[k] != 0, what.c_str()));
    }
    return;
  }

  // Opset 8: axis 0 of every input is a batch; each batch row is scanned on its own along axis 1,
  // for its own sequence length, and scan outputs past that length are zero.
  const std::vector<int64_t> dirs = per_item(ctx, "directions", n_scan_in);
  if (inputs.empty() || inputs[0].rank() < 2) ctx.fail("scan inputs need batch and sequence axes");
  const int64_t batch = inputs[0].dim(0), max_seq = inputs[0].dim(1);
  for (const Tensor& t : inputs)
    if (t.rank() < 2 || t.dim(0) != batch || t.dim(1) != max_seq)
      ctx.fail("scan inputs disagree on batch and sequence sizes");
  for (const Tensor& t : states)
    if (t.rank() < 1 || t.dim(0) != batch) ctx.fail("states must have the batch size ", batch, " as axis 0");
  std::vector<int64_t> lens(size_t(batch), max_seq);
  if (ctx.has_input(0)) {
    lens = ctx.input(0).to_int64_vector();
    if (int64_t(lens.size()) != batch) ctx.fail("sequence_lens has ", lens.size(), " entries for a batch of ", batch);
    for (int64_t l : lens)
      if (l < 0 || l > max_seq) ctx.fail("sequence length ", l, " is outside [0, ", max_seq, "]");
  }
  if (batch == 0) {  // nothing to run: states pass through, scan outputs are empty
    for (size_t i = 0; i < n_state; ++i)
      if (ctx.has_output(i)) ctx.set_output(i, states[i]);
    for (size_t k = 0; k < n_scan_out; ++k) {
      Tensor e = empty_stack(body.outputs[n_state + k], 0);
      Shape s = e.shape();
      s[0] = max_seq;
      s.insert(s.begin(), 0);
      if (ctx.has_output(n_state + k)) ctx.set_output(n_state + k, Tensor(e.dtype(), s));
    }
    return;
  }
  std::vector<std::vector<Tensor>> state_rows(n_state), out_rows(n_scan_out);
  const std::vector<int64_t> zero_axes(n_scan_in, 0);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> st, in;
    for (const Tensor& t : states) st.push_back(take(t, 0, b));
    for (const Tensor& t : inputs) {
      Tensor row = take(t, 0, b);
      if (lens[size_t(b)] < max_seq) {  // only the first len steps take part
        Shape s = row.shape();
        s[0] = lens[size_t(b)];
        Tensor cut(row.dtype(), s);
        copy_elements(row, 0, cut, 0, cut.numel());
        row = cut;
      }
      in.push_back(row);
    }
    ScanResult r = scan_steps(ctx, body, st, in, zero_axes, dirs, lens[size_t(b)]);
    for (size_t i = 0; i < n_state; ++i) state_rows[i].push_back(r.states[i]);
    for (size_t k = 0; k < n_scan_out; ++k) {
      const auto& parts = r.per_iter[k];
      Tensor row = parts.empty() ? empty_stack(body.outputs[n_state + k], 0)
                                 : stack(ctx, parts, 0, false, "scan output");
      Shape padded = row.shape();
      padded[0] = max_seq;
      Tensor full(row.dtype(), padded);
      copy_elements(row, 0, full, 0, row.numel());
      out_rows[k].push_back(full);
    }
  }
  for (size_t i = 0; i < n_state; ++i)
    if (ctx.has_output(i)) ctx.set_output(i, stack(ctx, state_rows[i], 0, false, "a state"));
  for (size_t k = 0; k < n_scan_out; ++k)
    if (ctx.has_output(n_state + k)) ctx.set_output(n_state + k, stack(ctx, out_rows[k], 0, false, "a scan output"));
}

}  // namespace

void register_control_kernels(InterpreterKernels& r) {
  r.add("", "If", k_if);
  r.add("", "Loop", k_loop);
  r.add("", "Scan", k_scan);
}

}  // namespace eqopt
