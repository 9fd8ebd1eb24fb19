// Exact extraction on e-graphs of real models: the decomposition (extract_exact) against the whole
// integer program (extract_ilp) on the saturated e-graphs of the bundled example models, and of the
// smaller shared models when ../shared is present, under each built-in target's costs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "extract/extract.h"
#include "onnx_io/onnx_io.h"
#include "optimizer/pipeline.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "targets/cost_model.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

namespace {

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

// Saturates `model` with the rule database for each target and checks, on the resulting extraction
// problem, that the decomposition is valid, that its bound is below the whole program's optimum
// and, where both prove optimality, that the optima agree. Returns how many were compared.
size_t compare_on(const Model& model, const std::string& name) {
  const std::vector<rules::Rule> rules = rules::load_rule_dir(source_dir() + "/ruledb");
  size_t compared = 0;
  for (const std::string& target : tgt::builtin_target_names()) {
    SCOPED_TRACE(name + " for " + target);
    opt::TensorProgram program(model);
    opt::OptimizeOptions options;
    options.time_limit_s = 0.5;
    opt::saturate(program, opt::rules_for_target(rules, target), options);
    program.set_cost_model(tgt::make_cost_model(target));
    program.allow_own_ops(true);
    const opt::TensorProgram::ExtractionProblem ep = program.extraction_problem();
    const ex::Problem& p = ep.problem;
    ex::IlpOptions whole;
    whole.time_limit_s = 2;  // the whole program of resnet_block needs 5-8 s on cpu and npu costs
    const ex::IlpResult w = ex::extract_ilp(p, whole);
    ex::ExactOptions eo;
    eo.time_limit_s = 2;
    const ex::ExactResult x = ex::extract_exact(p, eo);
    EXPECT_TRUE(x.feasible) << x.status;
    if (!x.feasible) continue;
    EXPECT_TRUE(ex::acyclic_and_complete(p, x.choice));
    EXPECT_TRUE(close(x.cost, ex::dag_cost(p, x.choice)));
    EXPECT_LE(x.bound, x.cost * (1 + 1e-12));
    if (w.optimal) {
      EXPECT_LE(x.bound, w.cost * (1 + 1e-9));
      if (x.optimal) {
        EXPECT_TRUE(close(x.cost, w.cost)) << x.cost << " vs the whole program's " << w.cost;
        ++compared;
      }
    }
    std::cout << "[ extract  ] " << name << " " << target << ": " << p.num_nodes() << " nodes, " << x.subproblems
              << " sub-problems; decomposed " << x.status << " in " << x.seconds << " s, whole " << w.status << " in "
              << w.seconds << " s\n";
  }
  return compared;
}

}  // namespace

TEST(ExtractModels, DecompositionMatchesTheWholeProgramOnExampleModels) {
  size_t compared = 0;
  // (transformer_block is left out: neither proves its AC-expanded sums optimal in seconds.)
  for (const char* name : {"resnet_block", "mobile_block"})
    compared += compare_on(load_model(source_dir() + "/examples/" + name + ".onnx"), name);
  EXPECT_GE(compared, 4u);
}

TEST(ExtractModels, DecompositionMatchesTheWholeProgramOnSharedModels) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  // The models whose whole integer program CBC proves within seconds.
  size_t compared = 0;
  for (const char* name : {"openwakeword_melspectrogram", "openwakeword_embedding_model", "densenet121"})
    compared += compare_on(load_model(shared_dir() + "/models/" + name + ".onnx"), name);
  EXPECT_GE(compared, 6u);
}
