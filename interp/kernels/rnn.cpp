#include "interp/kernel_util.h"

namespace eqopt {

void register_rnn_kernels(KernelRegistry& r) {}

}  // namespace eqopt
