// Helpers for unit tests: run or infer one op without writing a model file.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"

namespace eqopt::test {

// Runs a single node (shape inference + kernel, as the interpreter does). An undefined Tensor in
// `inputs` stands for an omitted optional input. Throws eqopt::Error like the interpreter.
std::vector<Tensor> run_op(const std::string& op_type, const std::vector<Tensor>& inputs,
                           const std::vector<Attribute>& attrs = {}, int64_t opset = 17,
                           size_t num_outputs = 1);

// Shape inference of a single node from input types (values unknown unless given in `values`,
// same length as `inputs`, nullptr for unknown).
std::vector<TensorType> infer_op(const std::string& op_type, const std::vector<TensorType>& inputs,
                                 const std::vector<Attribute>& attrs = {}, int64_t opset = 17,
                                 size_t num_outputs = 1, const std::vector<const Tensor*>& values = {});

// A node for hand-built test graphs; its name is its first output.
Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
               std::vector<Attribute> attrs = {});

// Tensor helpers.
Tensor floats(const Shape& shape, const std::vector<float>& v);
Tensor ints(const Shape& shape, const std::vector<int64_t>& v);
std::vector<float> values_f(const Tensor& t);  // any numeric tensor as floats

// Runs a shell command; captures exit code, stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& command);
// The eqopt executable of this build.
std::string eqopt_exe();
// A fresh, empty temporary folder (removed at process exit is not guaranteed; tests use unique names).
std::string temp_dir(const std::string& tag);

// The message of the eqopt::Error that parsing `text` as the rule file "t.rules" throws ("" when none).
std::string rule_parse_error(const std::string& text);

// Path of the shared test corpus, or "" when ../shared is absent (tests then GTEST_SKIP).
std::string shared_dir();
std::string source_dir();
std::string binary_dir();

}  // namespace eqopt::test
