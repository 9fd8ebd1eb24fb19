#include "cli/common.h"

#include "cli/args.h"
#include "ir/shape_inference.h"

namespace eqopt::cli {

std::map<std::string, Dims> parse_input_shapes(const std::vector<std::string>& values) {
  std::map<std::string, Dims> r;
  for (const std::string& v : values) {
    auto [name, dims] = split_assignment(v, "input-shape");
    if (r.count(name)) fail("--input-shape given twice for '", name, "'");
    r[name] = parse_dims(dims);
  }
  return r;
}

}  // namespace eqopt::cli
