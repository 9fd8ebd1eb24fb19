// Helpers shared by the extract/ sources; not part of the library's interface.
#pragma once
#include <cstdint>
#include <vector>

#include "extract/extract.h"

namespace eqopt::ex::detail {

// Throws unless `p` went through finish() and was not changed in size since.
void require_finished(const Problem& p, const char* who);
// Throws unless `c` has one entry per class.
void require_choice_size(const Problem& p, const Choice& c, const char* who);
// Classes reachable from the roots through extractable nodes (each once, breadth-first order).
std::vector<uint32_t> reachable_classes(const Problem& p);
// The root classes, each once, in order.
std::vector<uint32_t> distinct_roots(const Problem& p);
// "class 3 ('e17')" for messages.
std::string class_name(const Problem& p, uint32_t cls);

}  // namespace eqopt::ex::detail
