#include "interp/kernel_util.h"

namespace eqopt {

void register_control_kernels(KernelRegistry& r) {}

}  // namespace eqopt
