#include "ir/ops/ops.h"

namespace eqopt {

void register_nn_ops(OpRegistry& r) {}

}  // namespace eqopt
