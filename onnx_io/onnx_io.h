// Reading and writing ONNX models and tensor files.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eqopt {

struct LoadOptions {
  // Check graph structure (dangling edges, duplicate producers, cycles) after loading.
  bool validate = true;
};

// Loads a binary .onnx file, external data included (paths relative to the model's folder).
// Throws Error naming the file (and tensor) on unreadable, truncated or malformed input.
Model load_model(const std::string& path, const LoadOptions& options = {});
// Same from bytes in memory; external data is resolved against base_dir.
Model load_model_from_bytes(const std::string& bytes, const std::string& base_dir,
                            const std::string& source_name = "<memory>",
                            const LoadOptions& options = {});

struct SaveOptions {
  // Tensors of at least this many bytes go to an external data file; 0 = everything inline
  // (unless the model would exceed protobuf's 2 GiB limit, which forces external data).
  size_t external_data_threshold = 0;
  // File name of the external data, relative to the model; default "<model file name>.data".
  std::string external_data_file;
};

// Writes the model atomically: to a temporary name beside the target, then renamed, so a failure
// never leaves a partial file.
void save_model(const Model& model, const std::string& path, const SaveOptions& options = {});
std::string serialize_model(const Model& model);  // everything inline

// Runs ONNX's own checker (libonnx 1.12) on a saved model file. Returns "" when it passes, else the
// checker's message. Models with IR version > 8 or default-domain opset > 17 are beyond that
// checker; for those it returns "" without checking and sets *checked to false.
std::string onnx_checker_message(const std::string& path, bool* checked = nullptr);

struct NamedTensor {
  std::string name;
  Tensor value;
};

// Tensor files: ".npy" (numpy, little-endian, C order) or ".pb" (one serialized TensorProto).
NamedTensor load_tensor_file(const std::string& path);
void save_npy(const Tensor& t, const std::string& path);     // atomic
void save_tensor_pb(const NamedTensor& t, const std::string& path);  // atomic
Tensor parse_npy(const std::string& bytes, const std::string& source_name);
std::string serialize_npy(const Tensor& t);

// Small file helpers shared by the CLI and tests.
std::string read_file(const std::string& path);
// Writes via a temporary file and rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace eqopt
