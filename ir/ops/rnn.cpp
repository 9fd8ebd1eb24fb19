#include "ir/ops/ops.h"

namespace eqopt {

void register_rnn_ops(OpRegistry& r) {}

}  // namespace eqopt
