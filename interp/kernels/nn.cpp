#include "interp/kernel_util.h"

namespace eqopt {

void register_nn_kernels(KernelRegistry& r) {}

}  // namespace eqopt
