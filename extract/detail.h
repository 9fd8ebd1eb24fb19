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

// Strongly connected components of a graph given as adjacency lists (iterative Tarjan): the
// component of each vertex, and their number in `count`.
std::vector<uint32_t> strongly_connected(const std::vector<std::vector<uint32_t>>& adj, uint32_t& count);

// Per class, its first node with `keep` set, no children and cost 0 (a weight, a constant, an
// input), or -1. Such a class is free: it costs nothing and closes no cycle whichever parent uses it.
std::vector<int32_t> free_nodes(const Problem& p, const std::vector<char>& keep);

// The nodes an exact extractor needs to consider (each step keeps an optimal solution): extractable
// nodes whose children all have an acyclic program (`buildable`, from greedy_tree), less, with
// `drop_dominated`, every node m for which a node n of the same class costs no more and has a subset
// of m's child classes (in classes of at most 256 nodes; classes with a kept childless node of cost 0
// are left out of the comparison: they cost nothing and close no cycle). dominator[m] is then such an n (follow the
// chain to a kept node); -1 for nodes not dropped as dominated.
std::vector<char> kept_nodes(const Problem& p, const Choice& buildable, bool drop_dominated,
                             std::vector<int32_t>& dominator);

}  // namespace eqopt::ex::detail
