// Identifiers of the e-graph: every added e-node gets an id, and starts out as its own e-class with
// the same id (so union-find, e-classes and the proof forest of explanations share one id space).
#pragma once
#include <cstdint>
#include <limits>

namespace eqopt::eg {

using Id = uint32_t;       // e-node id, and e-class id (the id of the class's first node)
using OpId = uint32_t;     // interned operator name
using PayloadId = uint32_t;  // interned attribute payload; 0 = none

inline constexpr Id kNoId = std::numeric_limits<Id>::max();
inline constexpr PayloadId kNoPayload = 0;

}  // namespace eqopt::eg
