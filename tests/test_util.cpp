#include "tests/test_util.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "interp/interpreter.h"
#include "rules/parser.h"

namespace eqopt::test {

namespace {
Node make_node(const std::string& op_type, size_t n_in, const std::vector<bool>& present,
               const std::vector<Attribute>& attrs, size_t num_outputs) {
  Node n;
  n.name = "test_" + op_type;
  n.op_type = op_type;
  for (size_t i = 0; i < n_in; ++i) n.inputs.push_back(present[i] ? "in" + std::to_string(i) : "");
  for (size_t k = 0; k < num_outputs; ++k) n.outputs.push_back("out" + std::to_string(k));
  n.attributes = attrs;
  return n;
}
}  // namespace

std::vector<Tensor> run_op(const std::string& op_type, const std::vector<Tensor>& inputs,
                           const std::vector<Attribute>& attrs, int64_t opset, size_t num_outputs) {
  std::vector<bool> present;
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : inputs) {
    present.push_back(t.defined());
    ptrs.push_back(t.defined() ? &t : nullptr);
  }
  const Node n = make_node(op_type, inputs.size(), present, attrs, num_outputs);
  return evaluate_node(n, opset, ptrs);
}

std::vector<TensorType> infer_op(const std::string& op_type, const std::vector<TensorType>& inputs,
                                 const std::vector<Attribute>& attrs, int64_t opset,
                                 size_t num_outputs, const std::vector<const Tensor*>& values) {
  std::vector<bool> present;
  for (const TensorType& t : inputs) present.push_back(t.dtype != DType::Undefined);
  const Node n = make_node(op_type, inputs.size(), present, attrs, num_outputs);
  std::vector<const Tensor*> vals = values;
  vals.resize(inputs.size(), nullptr);
  InferContext ctx(n, opset, inputs, vals);
  infer_node(OpRegistry::global().find("", op_type), ctx);
  return ctx.output_types();
}

Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
               std::vector<Attribute> attrs) {
  Node n;
  n.op_type = op;
  n.name = outputs.empty() ? op : outputs[0];
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attrs);
  return n;
}

Tensor floats(const Shape& shape, const std::vector<float>& v) { return Tensor::from_vector<float>(shape, v); }
Tensor ints(const Shape& shape, const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>(shape, v); }

std::vector<float> values_f(const Tensor& t) { return t.to_float_vector(); }

CommandResult run_command(const std::string& command) {
  const std::string dir = temp_dir("cmd");
  const std::string out = dir + "/out", err = dir + "/err";
  const int status = std::system((command + " >" + out + " 2>" + err).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove_all(dir);
  return r;
}

std::string eqopt_exe() { return std::string(EQOPT_BINARY_DIR) + "/bin/eqopt"; }

std::string temp_dir(const std::string& tag) {
  static int counter = 0;
  const auto p = std::filesystem::temp_directory_path() /
                 ("eqopt_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

std::string shared_dir() {
  const std::filesystem::path p(EQOPT_SHARED_DIR);
  std::error_code ec;
  return std::filesystem::is_directory(p / "models", ec) ? p.string() : std::string();
}
std::string source_dir() { return EQOPT_SOURCE_DIR; }
std::string binary_dir() { return EQOPT_BINARY_DIR; }

std::string rule_parse_error(const std::string& text) {
  try {
    rules::parse_rules(text, "t.rules");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace eqopt::test
