// Internals shared by verify/instance.cpp (models, guards) and verify/instance_search.cpp.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/op_registry.h"
#include "verify/guard_eval.h"
#include "verify/instance.h"

namespace eqopt::verify::detail {

// Whether input `index` of the op is an integer operand (shape, axes, pads, indices, ...), which an
// instance gives as a known int64 value: its value must be known (ValueSpec::constant), or it takes
// integer types only and the op's output does not share them (Gather's indices, unlike BitShift's
// operands, which are data).
bool int_operand(const OpSchema* schema, size_t index);

// "f32", "i64", "bool", ...: a dtype as instances print it.
std::string dtype_tag(DType t);

// A tensor of the dtype and shape with the given values (converted; bools: nonzero).
Tensor tensor_of(DType dtype, const Shape& shape, const std::vector<double>& values);

// The tensor standing for `#c(v)` as input `index` of an op on the left side (the compiler matches
// a constant of any dtype whose every element is v): an int64 scalar for an integer operand, else a
// scalar of `sibling` (the dtype of the op's other operands, when known and allowed there), else a
// float32 one.
Tensor left_constant(const OpSchema* schema, size_t index, double v, std::optional<DType> sibling);

// The term variables of the patterns, in order of first appearance.
std::vector<std::string> term_vars(const std::vector<rules::PatternAst>& patterns);

// What the guard may know about `?root` once the left side's first value has type `type`.
guard::RootInfo root_info(const rules::Rule& rule, const Instance& instance, const TensorType& type);

// instance_model with `?root` given (nullptr: inferred from the left side when the right side
// needs it).
Model build_model(const rules::Rule& rule, const Instance& instance, const guard::RootInfo* root);

}  // namespace eqopt::verify::detail
