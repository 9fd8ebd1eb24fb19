// Equality proofs with the rule database (`eqopt rules prove`): two terms in the rule language's
// pattern syntax are built as one model over shared inputs, imported into the tensor e-graph with
// explanations on, and saturated with the rules until both terms are in one e-class or a limit
// stops the run. A proof is the chain of rewrites from the first term to the second, each step
// naming the directed rule (NAME or NAME-rev) and whether it was applied left to right or right
// to left.
//
// Term variables are graph inputs: float32 with the shape the options give, [2, 3] by default (so
// shape-guarded rules apply as they would to that shape). `#c(V)` constants are float32 scalars.
// Attribute values must be literals (there is no match to bind an attribute variable).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "rules/rule.h"

namespace eqopt::verify {

struct ProveOptions {
  std::map<std::string, Shape> shapes;  // term variable ("?x") -> shape; others get default_shape
  Shape default_shape{2, 3};
  size_t max_iterations = 30;
  size_t max_nodes = 50000;
  double seconds = 10;
};

struct ProofStep {
  std::string term;      // the whole term after this step (step 0: the first term)
  std::string rule;      // directed rule name; "" for step 0; "<fold>" for a constant the analysis computed
  bool backward = false; // the rule was applied right to left (its right side matched here)
};

struct ProveResult {
  bool proved = false;
  std::vector<ProofStep> steps;  // when proved: steps[0] is term A, the last step's term is term B
  // Why the search stopped: "equal" when proved, else "saturated" (the rules cannot make the two
  // terms equal), "iteration limit", "node limit", "time limit" or "memory limit".
  std::string stop;
  std::string term_a, term_b;  // the two terms as built (rule syntax)
  std::string inputs;          // "?x: float32[2,3], ?y: float32[2,3]"
  size_t rules = 0, iterations = 0, enodes = 0, eclasses = 0;
  double seconds = 0;
};

// Parses a term in pattern syntax; `what` names it in errors ("term A:1:7: expected ')' ...").
rules::PatternAst parse_term(const std::string& text, const std::string& what);

// Proves term_a = term_b with the given rules (bidirectional ones as two directed rules). Throws
// Error for a malformed term, a term that does not type-check with the shapes, a shape given for a
// variable neither term uses, or a rule the compiler refuses.
ProveResult prove_terms(const std::string& term_a, const std::string& term_b, const std::vector<rules::Rule>& rules,
                        const ProveOptions& options = {});

// The proof as text, one step a line: the first term, then "  = TERM   [rule]" or "[rule, backward]".
std::string proof_text(const ProveResult& result);

}  // namespace eqopt::verify
