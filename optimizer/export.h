// Export to standard ONNX: eqopt's own ops are replaced by their definitions in standard ops, and the
// default-domain opset is chosen so that every op the model uses exists in it.
//
// Opset policy: the model's opset is kept unless an op needs a newer one. Then the opset is raised
// to the smallest version that has every op, when that is safe: no node present changes meaning or
// signature between the two versions (the table of such changes is in export.cpp) and the version is
// one ONNX Runtime 1.30 and eqopt's interpreter run (at most kLatestOpset). Otherwise the ops that need
// the newest version are replaced by their definitions at the model's opset, and the decision is made
// again. An op that needs a newer opset, has no definition and cannot be raised to is an error.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eqopt::opt {

struct ExportReport {
  int64_t opset_before = 0;  // default-domain opset of the input model
  int64_t opset_after = 0;
  std::vector<std::string> expanded;  // ops replaced by their definitions ("eqopt.FusedConv", "Gelu"), once each
};

// The model in standard ONNX: only default-domain ops where it had own ops (other domains pass
// through), the "eqopt" opset import removed, the default opset kept or raised as described above.
// Graph inputs, outputs (names and types), initializers and metadata are kept. Throws Error naming
// the node when an own op cannot be expanded (e.g. LayerNormalization whose Mean output is used).
Model to_standard_onnx(const Model& model, ExportReport* report = nullptr);

// The first default-domain opset that has `op`; 0 when eqopt does not know the op.
int64_t op_since_version(const std::string& op);

// Why raising the model's default-domain opset to `target` could change its meaning: "" when it
// cannot, else one line naming the first node affected and the change.
std::string opset_raise_blocker(const Model& model, int64_t target);

}  // namespace eqopt::opt
