#include "egraph/serialize.h"
