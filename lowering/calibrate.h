// Calibration of the CPU target description: times representative kernels on this machine and
// fits the description's efficiency factors and kernel overhead to the measured times.
//
// Each calibration kernel is described twice: as a oneDNN primitive (the library the CPU lowering
// runs) and as the equivalent ONNX node with its input and output types, so that the cost model of
// targets/cost_model.h can estimate it. The kernels cover what CNNs and transformers spend their
// time in (dense, pointwise and depthwise convolutions, matrix products, activations, binary
// elementwise ops, pooling, softmax, normalizations, transposes, concatenation, reductions), plus a
// few tiny kernels whose time is almost all fixed per-kernel cost.
//
// The fit (the usual way to calibrate a roofline model: measure, then scale the roofline per class
// of kernel, as in Williams, Waterman and Patterson, "Roofline", CACM 2009, and the per-op-class
// efficiency tables of analytical DNN cost models such as Paleo, Qi et al., ICLR 2017):
//  1. the roofline time r of every kernel: the cost model's estimate with every efficiency factor
//     1 and no kernel overhead;
//  2. the kernel overhead: the median over the tiny kernels of measured - r;
//  3. per op class: the efficiency is the median over the class's (non-tiny) kernels of
//     r / (measured - overhead), clamped to [0.01, 4]; "default" becomes the geometric mean of the
//     fitted classes; classes without kernels keep their value; per-op-type keys the description
//     already has ("Conv") are refitted from the kernels of that op type, and, with
//     CalibrateOptions::per_op_type, an op type whose kernels sit far from its class's factor gets
//     a key of its own.
// The report compares the estimates before and after by Spearman's rank correlation with the
// measured times (what extraction needs: estimates that order programs the way the machine does)
// and the median absolute log-ratio between estimate and measurement.
//
// Timing: each primitive is created once, its inputs filled with deterministic pseudo-random data
// (constant inputs are reordered once into the layout the primitive prefers, as a lowering would do
// ahead of time), warmed up, then run `reps` times (stream.wait() after each); the median counts.
// Kernels whose speed depends on the activation layout (pooling, batch normalization, concat,
// spatial reductions, per-channel broadcasts) get a short trial in NCHW and NHWC and are timed in
// the faster: a lowering picks the layout per op (oneDNN's own convolutions choose theirs).
// The CPU target models one core: run with OMP_NUM_THREADS=1 (set_cpu_threads(1) does it in
// process).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "targets/cost_model.h"
#include "targets/target.h"

namespace eqopt::lower {

// One calibration kernel, as the cost model sees it.
struct KernelSpec {
  std::string name;        // "conv3x3_64x56", ...
  Node node;               // the equivalent ONNX node (domain "" or "eqopt")
  int64_t opset = 21;      // the opset the node is written in
  std::vector<tgt::TensorArg> inputs;  // weights and constants are offchip, activations are not
  std::vector<TensorType> outputs;
  bool tiny = false;   // its time is almost all per-kernel overhead: fits overhead.kernel
  bool quick = false;  // part of the --quick subset
};

// The calibration kernels in their fixed order (the quick subset when `quick`).
std::vector<KernelSpec> calibration_kernels(bool quick = false);

struct CalibrateOptions {
  int reps = 500;                // timed runs per kernel at most (tiny kernels run 20 times as many)
  double kernel_budget_s = 0.5;  // a kernel stops early (after 3 runs at least) past this much time
  bool quick = false;            // the quick subset, 5 runs each, short warm-up (tests)
  bool per_op_type = true;       // add per-op-type factors where an op type strays from its class
  double op_type_threshold = 1.5;  // ... by more than this factor
  // Called before each kernel is timed: (index, count, name).
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct KernelTiming {
  std::string name, op_type, op_class;
  std::string layout;            // of its 4-D activations as timed ("nhwc", ...); "" when not 4-D
  bool tiny = false;
  double flops = 0;              // FLOPs of the node (ir/model_stats.h)
  double bytes = 0;              // bytes of its inputs and outputs
  double roofline_s = 0;         // estimate with efficiency 1 and no overhead
  double measured_s = 0;         // median of the timed runs
  int runs = 0;                  // timed runs
  double estimate_before_s = 0;  // estimate with the base description
  double estimate_after_s = 0;   // estimate with the fitted description
};

// What the fit did to one efficiency key.
struct FittedFactor {
  std::string key;     // op class ("conv") or op type ("Gelu"), or "default"
  size_t kernels = 0;  // kernels it was fitted from (0: kept, or derived for "default")
  double before = 0;   // 0 when the base description had no such key
  double after = 0;
  bool at_bound = false;  // clamped to 0.01 or 4: the description's peaks or bandwidths are off
};

struct Calibration {
  tgt::TargetDescription fitted;
  std::vector<KernelTiming> kernels;
  std::vector<FittedFactor> factors;
  double overhead_before_s = 0, overhead_after_s = 0;
  double spearman_before = 0, spearman_after = 0;    // estimate vs measured, over all kernels
  double log_error_before = 0, log_error_after = 0;  // median |ln(estimate / measured)|
  // The fastest matrix kernel (FLOP/s, conv and matmul) and the fastest kernel moving more than
  // the description's on-chip size (bytes/s): compare with compute.matrix and memory.dram.
  double observed_matrix_flops_s = 0, observed_bytes_s = 0;
  double seconds = 0;                                // wall time of the calibration
  int threads = 1;                                   // OpenMP threads oneDNN ran with
  std::string runtime;                               // "oneDNN 2.6.3, ISA avx512_core ..."
};

// Times the kernels and fits `base` (a CPU description) to them. Throws eqopt::Error when oneDNN
// cannot run a kernel.
Calibration calibrate_cpu(const tgt::TargetDescription& base, const CalibrateOptions& options = {});

// Fits `base` to measured times given in seconds (one per spec, in order) without running
// anything: computes each kernel's FLOPs, bytes, roofline and estimates and the statistics.
// calibrate_cpu ends with it; tests feed it synthetic times.
Calibration fit_timings(const tgt::TargetDescription& base, const std::vector<KernelSpec>& specs,
                        const std::vector<double>& measured_s, const CalibrateOptions& options = {});

// Spearman's rank correlation of two equally long series; tied values get the average of their
// ranks (so this is Pearson's correlation of the ranks). NaN when a series has fewer than two
// elements or is constant. Throws eqopt::Error when the lengths differ.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// Ranks 1..n with ties averaged.
std::vector<double> average_ranks(const std::vector<double>& v);

// OpenMP threads oneDNN's CPU engine will use, and a way to set them in process (the OpenMP runtime
// reads OMP_NUM_THREADS when it loads, so setting the variable later has no effect on it).
int cpu_threads();
void set_cpu_threads(int n);

}  // namespace eqopt::lower
