#include "interp/kernel_util.h"

namespace eqopt {

void register_math_kernels(KernelRegistry& r) {}

}  // namespace eqopt
