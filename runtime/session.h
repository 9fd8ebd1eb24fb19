// Running a compiled plan: the C++ API of eqopt's CPU runtime.
//
//   eqopt::rt::Session s(eqopt::rt::load_plan("out/model.plan"), {.threads = 2});
//   std::vector<eqopt::Tensor> outputs = s.run({{"input", tensor}});
//
// A session allocates the plan's arena once (one buffer; values share it by liveness), prepares
// every kernel (oneDNN primitives created, arguments bound to the arena and to the pre-packed
// constants), and then runs the kernel sequence for each call. Inputs are copied into the arena and
// outputs copied out, both row-major.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/tensor.h"
#include "runtime/plan.h"

namespace eqopt::rt {

struct SessionOptions {
  int threads = 0;       // OpenMP threads for oneDNN and own kernels; 0: all cores
  bool profile = false;  // time every kernel (kernel_seconds())
};

struct IoInfo {
  std::string name;
  DType dtype;
  Shape shape;
};

class Session {
 public:
  explicit Session(Plan plan, const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Plan& plan() const { return plan_; }
  std::vector<IoInfo> inputs() const;
  std::vector<IoInfo> outputs() const;

  // Runs the plan. `feeds` holds every input by name with its exact dtype and shape; throws Error
  // with one line otherwise. Returns the outputs in the plan's order.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& feeds);

  // With SessionOptions::profile: seconds each kernel took in the last run (in plan order), and when
  // each started, in seconds since the run started.
  const std::vector<double>& kernel_seconds() const { return kernel_seconds_; }
  const std::vector<double>& kernel_starts() const { return kernel_starts_; }

 private:
  struct Impl;
  Plan plan_;
  SessionOptions options_;
  std::unique_ptr<Impl> impl_;
  std::vector<double> kernel_seconds_;
  std::vector<double> kernel_starts_;
};

}  // namespace eqopt::rt
