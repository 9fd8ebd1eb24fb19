// What `eqopt optimize` and `eqopt MODEL --target T` share: the optimization options, the target
// they select, and the report (text and JSON).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "optimizer/pipeline.h"
#include "rules/rule.h"
#include "targets/cost_model.h"

namespace eqopt::cli {

// Option specs common to both commands (without help and output options).
std::vector<OptionSpec> optimize_option_specs();
// Help text for those options.
extern const char* const kOptimizeOptionsHelp;

struct OptimizeSetup {
  opt::OptimizeOptions options;
  std::vector<rules::Rule> rules;
  bool target_given = false;  // --target or --target-file (else the cpu cost model, standard ops only)
  std::string cost_figures;   // which figures the cpu description has (calibrated on this machine or shipped)
};
// Reads the options; `default_target` is used when neither --target nor --target-file is given
// ("" keeps the plain standard-ONNX objective on the cpu cost model).
OptimizeSetup optimize_setup(const Args& args, const std::string& default_target);

struct ReportInput {
  std::string model_path;
  const Model* original = nullptr;
  const opt::OptimizeResult* result = nullptr;
  double load_ms = 0, save_ms = 0;
  std::vector<std::pair<std::string, std::string>> files;  // what was written: role, path
  std::string cost_figures;                                // OptimizeSetup::cost_figures
};
std::string report_text(const ReportInput& in);
nlohmann::ordered_json report_json(const ReportInput& in);

}  // namespace eqopt::cli
