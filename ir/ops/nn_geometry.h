// Geometry shared by the NN ops' shape inference (ir/ops/nn.cpp) and their kernels
// (interp/kernels/nn.cpp): sliding-window output sizes with their resolved pads, ConvTranspose's
// output size, and Resize/Upsample output sizes with their per-axis scales. Keeping one copy means
// inference and execution cannot disagree.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eqopt::nn {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

// The node's auto_pad attribute; fails (naming the node) on an unknown value.
AutoPad read_auto_pad(const Node& node);

// Attributes of a sliding window over the spatial dims (Conv, ConvTranspose, pooling).
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads;  // spatial-rank begins, then as many ends
  AutoPad auto_pad = AutoPad::NotSet;

  size_t rank() const { return kernel.size(); }
  int64_t pad_begin(size_t i) const { return pads[i]; }
  int64_t pad_end(size_t i) const { return pads[rank() + i]; }
  // Extent of the dilated kernel along axis i.
  int64_t extent(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

// Reads strides, dilations, pads and auto_pad (with their defaults) for `kernel`, checking lengths
// and values.
Window read_window(const Node& node, std::vector<int64_t> kernel);

// Output spatial dims of Conv and pooling for input spatial dims `in` (-1 where unknown, giving -1).
// Where the input dim is known, auto_pad is resolved into w.pads. `ceil_mode` is pooling's.
std::vector<int64_t> window_output_dims(const Node& node, Window& w, const std::vector<int64_t>& in,
                                        bool ceil_mode = false);

// ConvTranspose: output spatial dims for input spatial dims `in` (-1 where unknown), resolving
// output_shape, output_padding and auto_pad into w.pads (which may come out negative: extra
// output rows past the last input contribution).
std::vector<int64_t> conv_transpose_output_dims(const Node& node, Window& w,
                                                const std::vector<int64_t>& in);

// How Resize (or Upsample) maps each axis: output size, scale and region of interest.
struct ResizeAxes {
  std::vector<int64_t> out;      // output dims
  std::vector<double> scales;    // output/input scale per axis (1 for untouched axes)
  std::vector<double> roi;       // rank starts then rank ends (0 and 1 for untouched axes)
};

// Resolves Resize's scales/sizes/roi inputs (any may be null or empty) and its axes and
// keep_aspect_ratio_policy attributes against the input dims. Fails naming the node on bad values.
ResizeAxes resize_axes(const Node& node, int64_t opset, const Shape& in, const Tensor* roi,
                       const Tensor* scales, const Tensor* sizes);

// Upsample (opsets 7-9): scales from the attribute (7, 8) or the input (9).
ResizeAxes upsample_axes(const Node& node, const Shape& in, const Tensor* scales_input);

}  // namespace eqopt::nn
