// Symbolic definitions of data movement: every output element is an input element (or a pad
// value), so these only compute indices. Integer operands (shapes, axes, starts, pads, indices) must
// be known; the data may be symbolic. Output shapes are computed here and checked against shape
// inference by the caller.
#include <algorithm>
#include <numeric>

#include "interp/kernel_util.h"
#include "verify/sym_eval_detail.h"

namespace eqopt::verify::detail {

namespace {

// Calls f(coords) for every coordinate of `shape` in row-major order.
template <class F>
void for_each_coord(const Shape& shape, F f) {
  const int64_t n = shape_numel(shape);
  std::vector<int64_t> c(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(c);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

int64_t offset_of(const std::vector<int64_t>& c, const std::vector<int64_t>& strides) {
  int64_t off = 0;
  for (size_t d = 0; d < c.size(); ++d) off += c[d] * strides[d];
  return off;
}

// Elements unchanged, shape from inference (Reshape's 0 and -1, Flatten, Squeeze, Unsqueeze).
void op_reshape_like(OpEval& e) {
  const SymTensor& x = e.input(0);
  const Shape s = e.out_shape(0);
  if (shape_numel(s) != x.numel()) e.fail("reshaping ", shape_str(x.shape), " to ", shape_str(s), " changes the size");
  e.set_output(0, SymTensor{x.dtype, s, x.elems});
}

void op_reshape(OpEval& e) {
  if (e.has_input(1)) e.ints(1, "shape");  // a symbolic shape cannot be followed (before opset 5: attribute)
  op_reshape_like(e);
}

void op_axes_input_reshape(OpEval& e) {
  if (e.has_input(1)) e.ints(1, "axes");
  op_reshape_like(e);
}

void op_transpose(OpEval& e) {
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  std::vector<int64_t> perm = e.node().attr_ints("perm");
  if (perm.empty())
    for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
  if (int64_t(perm.size()) != r) e.fail("perm has ", perm.size(), " entries for rank ", r);
  Shape out(static_cast<size_t>(r));
  const std::vector<int64_t> st = strides_of(x.shape);
  std::vector<int64_t> pst(static_cast<size_t>(r));
  for (size_t i = 0; i < size_t(r); ++i) {
    const int64_t p = normalize_axis(e, perm[i], r);
    out[i] = x.shape[size_t(p)];
    pst[i] = st[size_t(p)];
  }
  SymTensor y{x.dtype, out, {}};
  for_each_coord(out, [&](const std::vector<int64_t>& c) { y.elems.push_back(x.elems[size_t(offset_of(c, pst))]); });
  e.set_output(0, std::move(y));
}

void op_expand(OpEval& e) {
  const SymTensor& x = e.input(0);
  const std::vector<int64_t> target = e.ints(1, "shape");
  const Shape out = broadcast_shape({x.shape, Shape(target.begin(), target.end())}, e.node().label());
  SymTensor y{x.dtype, out, {}};
  for (int64_t i : broadcast_index(x.shape, out)) y.elems.push_back(x.elems[size_t(i)]);
  e.set_output(0, std::move(y));
}

void op_concat(OpEval& e) {
  std::vector<const SymTensor*> in;
  for (size_t i = 0; i < e.num_inputs(); ++i)
    if (e.has_input(i)) in.push_back(&e.input(i));
  if (in.empty()) e.fail("needs at least one input");
  const int64_t r = int64_t(in[0]->shape.size());
  const size_t axis = size_t(normalize_axis(e, e.node().attr_int("axis", 0), r));
  Shape out = in[0]->shape;
  out[axis] = 0;
  for (const SymTensor* t : in) {
    if (t->shape.size() != size_t(r)) e.fail("inputs differ in rank");
    out[axis] += t->shape[axis];
  }
  // Row-major: for each index of the dims before the axis, the inputs' blocks one after another.
  const int64_t outer = std::accumulate(out.begin(), out.begin() + int64_t(axis), int64_t(1), std::multiplies<>());
  SymTensor y{in[0]->dtype, out, {}};
  for (int64_t o = 0; o < outer; ++o)
    for (const SymTensor* t : in) {
      const int64_t block = t->numel() / outer;
      y.elems.insert(y.elems.end(), t->elems.begin() + o * block, t->elems.begin() + (o + 1) * block);
    }
  e.set_output(0, std::move(y));
}

// Slice with numpy's clamping: starts/ends may be negative (from the end) or past the ends.
void op_slice(OpEval& e) {
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (e.opset() < 10) {
    starts = e.node().attr_ints("starts");
    ends = e.node().attr_ints("ends");
    axes = e.node().attr_ints("axes");
  } else {
    starts = e.ints(1, "starts");
    ends = e.ints(2, "ends");
    if (e.has_input(3)) axes = e.ints(3, "axes");
    if (e.has_input(4)) steps = e.ints(4, "steps");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    e.fail("starts, ends, axes and steps differ in length");
  std::vector<int64_t> first(size_t(r), 0), step(size_t(r), 1);
  Shape out = x.shape;
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t a = size_t(normalize_axis(e, axes[k], r));
    const int64_t d = x.shape[a], st = steps[k];
    if (st == 0) e.fail("step 0 on axis ", a);
    int64_t s = starts[k], t = ends[k];
    if (s < 0) s += d;
    if (t < 0) t += d;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      t = std::clamp<int64_t>(t, 0, d);
      out[a] = t > s ? (t - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, d - 1);
      t = std::clamp<int64_t>(t, -1, d - 1);
      out[a] = s > t ? (s - t - st - 1) / -st : 0;
    }
    first[a] = s;
    step[a] = st;
  }
  const std::vector<int64_t> xs = strides_of(x.shape);
  SymTensor y{x.dtype, out, {}};
  for_each_coord(out, [&](const std::vector<int64_t>& c) {
    int64_t off = 0;
    for (size_t d = 0; d < c.size(); ++d) off += (first[d] + c[d] * step[d]) * xs[d];
    y.elems.push_back(x.elems[size_t(off)]);
  });
  e.set_output(0, std::move(y));
}

// Pad: constant (value from the input or attribute), reflect, edge or wrap; negative pads crop.
void op_pad(OpEval& e) {
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  std::vector<int64_t> pads;
  const SymSort sort = sym_sort(x.dtype);
  SymId value = e.sym.constant_of(0, sort);
  if (e.opset() < 11) {
    pads = e.node().attr_ints(e.opset() < 2 ? "paddings" : "pads");
    value = sort.integer() ? e.sym.constant_of(e.node().attr_float("value", 0), sort) : e.attr_real("value", 0.0);
  } else {
    pads = e.ints(1, "pads");
    if (e.has_input(2)) {
      if (e.input(2).elems.size() != 1) e.fail("constant_value must be a scalar");
      value = e.input(2).elems[0];
    }
  }
  std::vector<int64_t> axes;
  if (e.opset() >= 18 && e.has_input(3)) {
    for (int64_t a : e.ints(3, "axes")) axes.push_back(normalize_axis(e, a, r));
  } else {
    for (int64_t a = 0; a < r; ++a) axes.push_back(a);
  }
  if (pads.size() != 2 * axes.size()) e.fail("pads has ", pads.size(), " entries for ", axes.size(), " axes");
  std::vector<int64_t> begin(size_t(r), 0), end(size_t(r), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    begin[size_t(axes[k])] = pads[k];
    end[size_t(axes[k])] = pads[k + axes.size()];
  }
  const std::string mode = e.node().attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") e.fail("unknown mode \"", mode, "\"");
  Shape out(static_cast<size_t>(r));
  for (size_t d = 0; d < size_t(r); ++d) {
    out[d] = x.shape[d] + begin[d] + end[d];
    if (out[d] < 0) e.fail("pads remove more than axis ", d, " holds");
    if (mode != "constant" && x.shape[d] == 0 && out[d] > 0) e.fail("cannot pad an empty axis in mode ", mode);
  }
  const std::vector<int64_t> xs = strides_of(x.shape);
  SymTensor y{x.dtype, out, {}};
  for_each_coord(out, [&](const std::vector<int64_t>& c) {
    int64_t off = 0;
    for (size_t d = 0; d < c.size(); ++d) {
      int64_t i = c[d] - begin[d];
      const int64_t n = x.shape[d];
      if (i < 0 || i >= n) {
        if (mode == "constant") {
          off = -1;
          break;
        }
        if (mode == "edge") {
          i = std::clamp<int64_t>(i, 0, n - 1);
        } else if (mode == "wrap") {
          i = ((i % n) + n) % n;
        } else if (n == 1) {
          i = 0;
        } else {
          const int64_t period = 2 * (n - 1);  // reflect without repeating the edge
          i = ((i % period) + period) % period;
          if (i >= n) i = period - i;
        }
      }
      off += i * xs[d];
    }
    y.elems.push_back(off < 0 ? value : x.elems[size_t(off)]);
  });
  e.set_output(0, std::move(y));
}

// Split along an axis into the sizes shape inference resolved (split input, attribute or equal).
void op_split(OpEval& e) {
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  const size_t axis = size_t(normalize_axis(e, e.node().attr_int("axis", 0), r));
  if (e.opset() >= 13 && e.has_input(1)) e.ints(1, "split");
  const int64_t outer = std::accumulate(x.shape.begin(), x.shape.begin() + int64_t(axis), int64_t(1), std::multiplies<>());
  const int64_t inner = std::accumulate(x.shape.begin() + int64_t(axis) + 1, x.shape.end(), int64_t(1), std::multiplies<>());
  int64_t at = 0;
  for (size_t k = 0; k < e.num_outputs(); ++k) {
    const Shape s = e.out_shape(k);
    const int64_t len = s[axis];
    SymTensor y{x.dtype, s, {}};
    for (int64_t o = 0; o < outer; ++o) {
      const auto from = x.elems.begin() + (o * x.shape[axis] + at) * inner;
      y.elems.insert(y.elems.end(), from, from + len * inner);
    }
    at += len;
    e.set_output(k, std::move(y));
  }
  if (at != x.shape[axis]) e.fail("split sizes add up to ", at, ", axis has ", x.shape[axis]);
}

void op_gather(OpEval& e) {
  const SymTensor& x = e.input(0);
  const int64_t r = int64_t(x.shape.size());
  const size_t axis = size_t(normalize_axis(e, e.node().attr_int("axis", 0), r));
  const std::vector<int64_t> idx = e.ints(1, "indices");
  const Shape& ishape = e.input(1).shape;
  Shape out(x.shape.begin(), x.shape.begin() + int64_t(axis));
  out.insert(out.end(), ishape.begin(), ishape.end());
  out.insert(out.end(), x.shape.begin() + int64_t(axis) + 1, x.shape.end());
  const int64_t outer = std::accumulate(x.shape.begin(), x.shape.begin() + int64_t(axis), int64_t(1), std::multiplies<>());
  const int64_t inner = std::accumulate(x.shape.begin() + int64_t(axis) + 1, x.shape.end(), int64_t(1), std::multiplies<>());
  const int64_t d = x.shape[axis];
  SymTensor y{x.dtype, out, {}};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : idx) {
      if (j < -d || j >= d) e.fail("index ", j, " is out of range for an axis of ", d);
      const int64_t k = j < 0 ? j + d : j;
      const auto from = x.elems.begin() + (o * d + k) * inner;
      y.elems.insert(y.elems.end(), from, from + inner);
    }
  e.set_output(0, std::move(y));
}

void op_tile(OpEval& e) {
  const SymTensor& x = e.input(0);
  const std::vector<int64_t> reps = e.ints(1, "repeats");
  if (reps.size() != x.shape.size()) e.fail("repeats has ", reps.size(), " entries for rank ", x.shape.size());
  Shape out = x.shape;
  for (size_t d = 0; d < out.size(); ++d) out[d] *= reps[d];
  const std::vector<int64_t> xs = strides_of(x.shape);
  SymTensor y{x.dtype, out, {}};
  for_each_coord(out, [&](const std::vector<int64_t>& c) {
    int64_t off = 0;
    for (size_t d = 0; d < c.size(); ++d) off += (c[d] % x.shape[d]) * xs[d];
    y.elems.push_back(x.elems[size_t(off)]);
  });
  e.set_output(0, std::move(y));
}

}  // namespace

void register_sym_tensor(SymOpTable& t) {
  t["Reshape"] = op_reshape;
  t["Flatten"] = op_reshape_like;
  t["Squeeze"] = op_axes_input_reshape;
  t["Unsqueeze"] = op_axes_input_reshape;
  t["Transpose"] = op_transpose;
  t["Expand"] = op_expand;
  t["Concat"] = op_concat;
  t["Slice"] = op_slice;
  t["Pad"] = op_pad;
  t["Split"] = op_split;
  t["Gather"] = op_gather;
  t["Tile"] = op_tile;
}

}  // namespace eqopt::verify::detail
