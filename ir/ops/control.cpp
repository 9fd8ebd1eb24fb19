#include "ir/ops/ops.h"

namespace eqopt {

void register_control_ops(OpRegistry& r) {}

}  // namespace eqopt
