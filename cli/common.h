// Pieces several commands share.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eqopt::cli {

// "--input-shape x=1x3x224x224" values -> dims per input name.
std::map<std::string, Dims> parse_input_shapes(const std::vector<std::string>& values);

}  // namespace eqopt::cli
