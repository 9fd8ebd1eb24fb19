// The CPU backend from the command line: compiling models to plans and running plans, shared by
// `eqopt compile`, `run`, `check` and `bench`.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>

#include "interp/conformance.h"
#include "lowering/cpu_compile.h"
#include "runtime/session.h"

namespace eqopt::cli {

// The plan file of PATH: PATH itself when it is a plan file, PATH/model.plan when PATH is a folder
// holding one; "" otherwise.
std::string plan_path_of(const std::string& path);

// A session on PATH:
//  - a plan file: loaded;
//  - a compiled folder: its model.plan when `dims` is empty and it has one; otherwise a plan of its
//    program.onnx specialised for `dims` (the dims of dynamic inputs), compiled on first use and
//    cached as DIR/plans/<dims>.plan;
//  - a model: compiled here with `compile` (its input_dims taken from `dims`).
// `report` gets the compile report when something was compiled.
std::unique_ptr<rt::Session> open_cpu_session(const std::string& path, const std::map<std::string, Dims>& dims,
                                              lower::CpuCompileOptions compile, const rt::SessionOptions& options,
                                              lower::CpuCompileReport* report = nullptr);

// The inputs a session on PATH will need, as a stand-in model (for feeds): the plan's, or the
// model's (program.onnx in a compiled folder without a plan).
Model io_model(const std::string& path);

// A model that declares only the plan's inputs and outputs (for feeds and reference data).
Model stand_in_model(const rt::Plan& plan);

// A folder written by eqopt MODEL --target cpu (model.plan or program.onnx in it).
bool is_compiled_folder(const std::string& path);

// For `eqopt check --backend cpu`: compiles each model for the input shapes of its first data set.
std::function<ModelRunner(const Model&, const std::map<std::string, Tensor>&)> cpu_check_runner(
    int threads, const std::set<std::string>& interp_ops = {});

// "--interp-ops Pow,Clip" -> {"Pow", "Clip"}.
std::set<std::string> interp_ops_option(const std::string& value);

// The compile report as text lines ("kernels: 52 (oneDNN 48, own 2, reorders 1, interpreter 1)"...).
std::string compile_report_text(const lower::CpuCompileReport& r);

// --threads N: N > 0, or 0 for all cores.
int threads_option(const std::string& value);

}  // namespace eqopt::cli
