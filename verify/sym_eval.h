// Symbolic evaluation of a model on concrete shapes: every float element becomes a SymCtx
// expression over the graph inputs' elements (docs/verification.md lists each op's semantics).
//
// Graph inputs are unknowns: element i of input `x` is SymCtx::var("x", i) for float32 and float64
// (reals), that unknown rounded to half precision for float16, its sign for bool, and an integer
// unknown of the dtype's width for integer dtypes. Initializers are known values (int64 shape
// operands, constants a rule's guard fixed). Operands that steer shapes and indexing (shapes, axes,
// pads, indices) must be known. eqopt's own ops (domain "eqopt") are evaluated through their
// definitions in standard ops (ir/expand.h), so what is verified is the definition the exporter
// writes.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "verify/sym.h"

namespace eqopt::verify {

struct SymTensor {
  DType dtype = DType::Float;
  Shape shape;
  std::vector<SymId> elems;  // row-major; for integer and bool tensors, Const nodes
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

struct SymEvalOptions {
  // Float constants within approx_rtol of one of these targets (from the rule's approx() guards)
  // are read as the target itself, and those within approx_rtol of 1/target as Inv(target), so
  // 0.70710677 and 1/1.4142135 meet as one value (docs/verification.md, "Constants").
  std::vector<double> approx_targets;
  double approx_rtol = 1e-5;
};

struct SymResult {
  std::vector<SymTensor> outputs;  // the graph outputs, in order
  // Per output: the definedness conditions (SymCtx::take_conditions) of the nodes it depends on.
  std::vector<std::vector<SymId>> conditions;
};

// Throws UnsupportedOp for an op (or an attribute value, or a symbolic value where a known one is
// needed) this evaluator does not cover, and Error for a malformed model.
struct UnsupportedOp : Error {
  using Error::Error;
};

SymResult sym_eval(SymCtx& ctx, const Model& model, const SymEvalOptions& options = {});

// The symbolic sort of a dtype's elements: integers by width and signedness, the rest real.
SymSort sym_sort(DType dtype);

// The ops sym_eval covers (default domain, plus "eqopt.NAME" for own ops with definitions).
std::vector<std::string> sym_supported_ops();

}  // namespace eqopt::verify
