// Internal to onnx_io: TensorProto conversion shared by the model reader and tensor files.
#pragma once
#include <string>

#include "ir/tensor.h"
#include "onnx/onnx_pb.h"

namespace eqopt {

// `source` names the file in messages; external data resolves against `base_dir`.
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& source,
                         const std::string& base_dir);

}  // namespace eqopt
