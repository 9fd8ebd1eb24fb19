// Target descriptions: what a piece of hardware pays for, as data (targets/*.target).
//
// A description holds peak compute (matrix unit per dtype, vector unit), memory bandwidth per level
// (DRAM and on-chip), the on-chip memory size, the fixed cost of one kernel or command, the ops it
// cannot run (they fall back to a host target, with the transfer paid), the fused ops it runs as one
// kernel, the activations those fusions may carry, the layout its convolutions run in natively, and
// efficiency factors (the fraction of the roofline an op class reaches). The cost models of
// targets/cost_model.h are built from it; `eqopt calibrate` refits the efficiency factors.
//
// File format: `key = value` lines, `# comment` to the end of a line, `[section]` headers that
// prefix the keys below them ("[memory]" then "dram.bandwidth = 10e9" is "memory.dram.bandwidth").
// Numbers accept suffixes k, M, G, T (powers of 1000) and Ki, Mi, Gi (powers of 1024). Lists are
// separated by commas or spaces. Every key must be known and every required key present; errors
// name the file and line. docs/targets.md documents every key.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/op_id.h"

namespace eqopt::tgt {

struct TargetDescription {
  std::string name;         // "cpu", "gpu", "npu", or a user's name
  std::string description;  // one line
  std::string source;       // the file it was read from ("" when built in code)

  // ---- compute (FLOP/s): the matrix unit (Conv, MatMul, Gemm and their fusions) per dtype, and
  // the vector unit (everything else) per element-operation.
  std::map<std::string, double> matrix_peak;  // dtype name ("float32", "float16", ...) -> FLOP/s
  std::string matrix_dtype;  // dtype the matrix unit computes float tensors in ("" = as stored)
  double vector_peak = 0;    // element operations per second
  std::string storage_dtype;  // dtype float activations are stored in ("" = as declared)

  // ---- memory
  double dram_bandwidth = 0;    // bytes/s
  double onchip_bandwidth = 0;  // bytes/s
  double onchip_size = 0;       // bytes: an intermediate tensor this small stays on chip

  // ---- overheads (seconds)
  double kernel_overhead = 0;  // per kernel launch or command
  double view_overhead = 0;    // per op that only relabels a buffer (Reshape, Squeeze, ...)

  // ---- what runs where
  std::string host;                 // target that runs unsupported ops ("" = none: all supported)
  double host_bandwidth = 0;        // bytes/s of the host <-> device link
  double host_transfer_overhead = 0;  // seconds per fallback (synchronisation, DMA set-up)
  std::set<OpId> unsupported;  // ops ("Erf", "eqopt.Attention") run on the host
  // Own ops (domain eqopt) run as one kernel, except those in `not_fused`, which cost their
  // definition; a description that lists `fused` instead names the only ones that do.
  std::set<OpId> not_fused;
  std::optional<std::set<OpId>> fused;
  std::set<std::string> activations;  // activations a fused op may carry ("Relu", "Clip", ...)
  std::string conv_layout = "NCHW";   // layout convolutions run in natively: NCHW or NHWC
  // ---- efficiency: fraction of the roofline reached, by op type ("Conv") or op class ("conv",
  // "matmul", "elementwise", "activation", "normalization", "pooling", "reduction", "softmax",
  // "data", "other"); an op type's factor wins over its class's; "default" when neither is given.
  std::map<std::string, double> efficiency;

  double efficiency_for(const std::string& op_type, const std::string& op_class) const;
  bool is_unsupported(const OpId& op) const { return unsupported.count(op) > 0; }
  // Whether the target runs an own op as one kernel (its activation aside).
  bool fuses(const OpId& own_op) const { return fused ? fused->count(own_op) > 0 : !not_fused.count(own_op); }
};

// Parses a description; `where` names the text in errors (a path). Throws eqopt::Error naming the
// file and line of the first problem.
TargetDescription parse_target(const std::string& text, const std::string& where);
// Writes a description in the file format (parse_target reads it back to an equal description).
std::string write_target(const TargetDescription& t);

// The built-in targets, in order: cpu, gpu, npu.
std::vector<std::string> builtin_target_names();
// The folder holding the built-in descriptions (the source tree's targets/).
std::string targets_dir();
// A built-in target by name ("cpu", "gpu", "npu"), read from targets_dir(); Error for other names.
TargetDescription load_builtin_target(const std::string& name);
// A description file given by path (--target-file).
TargetDescription load_target_file(const std::string& path);

}  // namespace eqopt::tgt
