#include "ir/ops/ops.h"

namespace eqopt {

void register_math_ops(OpRegistry& r) {}

}  // namespace eqopt
