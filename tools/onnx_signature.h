// ONNX 1.12's own op schemas read as eqopt's signature types (ValueSpec, AttrSpec), for the tool that
// writes ir/ops/signatures.inc and for the test that checks the registry against ONNX. Nothing in
// eqopt's libraries uses this: ir/ must not link ONNX.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/op_registry.h"

namespace eqopt::tools {

// The newest opset libonnx 1.12 knows.
inline constexpr int64_t kOnnxLatestOpset = 17;

struct OnnxSignature {
  std::string name;
  int64_t since_version = 0;  // the first opset that has the op
  int64_t version = 0;        // the version read: the newest at or below the asked-for opset
  bool deprecated = false;
  std::vector<ValueSpec> inputs;
  std::vector<ValueSpec> outputs;
  std::vector<AttrSpec> attrs;  // by name
  std::vector<std::string> unread;  // what did not translate (non-tensor types, attribute defaults)
};

// The default-domain op `name` at the newest version <= max_version, or nullopt when ONNX 1.12 does
// not have it. Element types eqopt does not have (complex, sequences, optionals) are left out.
std::optional<OnnxSignature> onnx_signature(const std::string& name, int64_t max_version = kOnnxLatestOpset);

}  // namespace eqopt::tools
