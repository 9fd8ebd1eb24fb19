// Internals shared by verify/instance.cpp (models, guards) and verify/instance_search.cpp.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "verify/guard_eval.h"
#include "verify/instance.h"

namespace eqopt::verify::detail {

// "eqopt.FusedConv" -> {"eqopt", "FusedConv"}; "Relu" -> {"", "Relu"}.
std::pair<std::string, std::string> split_op(const std::string& name);

// Whether input `index` of `op` is an integer operand (shape, axes, pads, indices, ...), which an
// instance gives as a known int64 value.
bool int_operand(const std::string& op, size_t index);

// The term variables of the patterns, in order of first appearance.
std::vector<std::string> term_vars(const std::vector<rules::PatternAst>& patterns);

// What the guard may know about `?root` once the left side's first value has type `type`.
guard::RootInfo root_info(const rules::Rule& rule, const Instance& instance, const TensorType& type);

// instance_model with `?root` given (nullptr: inferred from the left side when the right side
// needs it).
Model build_model(const rules::Rule& rule, const Instance& instance, const guard::RootInfo* root);

}  // namespace eqopt::verify::detail
