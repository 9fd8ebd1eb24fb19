// Conformance checking against reference data in ONNX backend-test layout, the way ONNX's backend
// test runner compares outputs.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eqopt {

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

struct TensorComparison {
  bool ok = true;
  std::string problem;   // set when !ok: dtype/shape mismatch or the worst element
  double max_abs = 0;    // largest |actual - expected|
  double max_rel = 0;    // largest |actual - expected| / |expected| (over nonzero expected)
  double worst_excess = 0;  // largest |a-e| - (atol + rtol|e|), > 0 when failing
};

// Same dtype and shape; bool/integers exactly; floats with |a-e| <= atol + rtol*|e|, NaN equal to
// NaN, infinities equal in sign and position.
TensorComparison compare_tensors(const Tensor& actual, const Tensor& expected, const Tolerance& tol);

// Runs a model on one set of feeds; returns the outputs in the graph's order.
using ModelRunner = std::function<std::vector<Tensor>(const std::map<std::string, Tensor>&)>;

struct CheckOptions {
  Tolerance tol;
  std::string data_dir;  // for a MODEL.onnx path; default MODEL.testdata beside it
  // What runs the models: by default the reference interpreter. Given a model (and the input types
  // of its first data set, for models with dynamic dims), returns its runner; called once per model.
  std::function<ModelRunner(const Model&, const std::map<std::string, Tensor>& first_feeds)> make_runner;
};

struct CheckOutcome {
  enum class Status { Pass, Fail, Skip };
  std::string name;
  Status status = Status::Pass;
  std::string detail;  // why it failed or was skipped
  double max_abs = 0;
  double max_rel = 0;
};

struct CheckSummary {
  int passed = 0, failed = 0, skipped = 0;
  std::vector<CheckOutcome> outcomes;
};

// PATH is a node-test folder (model.onnx + test_data_set_*), a folder of such folders, or a
// MODEL.onnx file. Calls on_outcome after each test. Throws Error when PATH holds no tests.
CheckSummary run_check(const std::string& path, const CheckOptions& options,
                       const std::function<void(const CheckOutcome&)>& on_outcome = nullptr);

// One model already in memory (or a stand-in that declares only its inputs and outputs, when
// options.make_runner runs something else, such as a compiled plan) against the data sets in DIR.
CheckOutcome check_model(const Model& model, const std::string& name, const std::string& data_dir,
                         const CheckOptions& options);

}  // namespace eqopt
