// Concrete instances of a rule: shapes, dtypes, attribute values and (where a guard or an op needs
// them) tensor values for every variable, such that the guard holds, the left side is well-typed,
// and the right side infers to the left side's dtype and shape (the compiler applies a rule only
// then). The verifier proves a rule on its instances; the rule tester runs them.
//
// The search (docs/verification.md, "Instances") walks each left pattern bottom-up; at an operator
// whose children are bare variables not yet bound, a per-op proposer offers input shapes, integer
// operand values and attributes that fit the children already known (elementwise ops: the
// broadcast-compatible shapes; Conv: weights and attributes that fit the input; Reshape: target
// shapes of the same size; ...). What an op accepts comes from its schema (ir/op_registry.h): the
// dtypes of each input (float32 first where allowed; bool for logic, integers for integer-only ops,
// then one more instance each in int64 and float16 where the rule allows them), which inputs are
// integer operands, and the values to try for each attribute (AttrSpec::try_values: kernel shapes,
// strides, pads, axes, perms, Cast targets; required ones are always set). Guards are evaluated by
// the guard language's own evaluator (rank, dim, shape, weight, const, value, attr, approx,
// compose, ...), `?root` by shape inference.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "rules/rule.h"

namespace eqopt::verify {

struct Instance {
  std::map<std::string, Shape> shapes;        // term variable ("?x") -> shape
  std::map<std::string, DType> dtypes;        // term variable -> dtype (float32 when absent)
  std::map<std::string, Tensor> values;       // term variables with a known value (integer operands,
                                              // constants a guard inspects); the rest are unknowns
  std::set<std::string> weights;              // term variables that are weights (guards' weight/const)
  std::map<std::string, std::vector<Attribute>> attr_sets;  // `*=?k` variables
  std::map<std::string, Attribute> attrs;     // attribute variables (`axis=?a`; name ignored)
  std::vector<double> approx_targets;         // exact values of the guard's approx(x, TARGET) calls
  // Attributes a left operator needs that its pattern leaves open (Cast's `to`, a Concat without
  // `axis`), by the operator's position: the left pattern's index, then child indices ("0.1.0").
  std::map<std::string, std::vector<Attribute>> node_attrs;
  // The dtype of each left `#c(...)` that is not float32, by its position as for node_attrs: the
  // compiler matches a constant of any dtype, and an instance gives the one its op's other operands
  // have (an int64 2 beside int64 operands).
  std::map<std::string, DType> const_dtypes;
  // The default-domain opset of the instance's model: 17 unless an op's form needs another (Clip
  // with min/max attributes: 10; Squeeze/Unsqueeze or ReduceSum with an axes attribute: 12;
  // ReduceMean/Max/Min with an axes input: 18).
  int64_t opset = 17;

  // One line: "?x: f32[2,3], ?w: f32[2,2,1,1] weight, ?k: {pads=[1,1,1,1]}, ?a: 1".
  std::string str() const;
  // Sum of the term variables' element counts (instances are ordered by it, smallest first).
  int64_t size() const;
};

struct InstanceLimits {
  int max_rank = 4;
  int64_t max_dim = 3;           // dims 1..max_dim (plus what attributes force, e.g. Conv windows)
  size_t max_instances = 6;      // kept, chosen to differ (ranks, dims, attributes)
  size_t max_candidates = 20000; // bindings tried before giving up
  double seconds = 3;            // wall-clock limit of the search
  bool other_dtypes = true;      // also one instance each in int64 and float16 where the rule allows
};

struct InstanceSearch {
  std::vector<Instance> instances;
  size_t candidates = 0;    // complete bindings tried
  size_t guard_true = 0;    // ... whose guard held and whose left side inferred
  size_t rhs_mismatch = 0;  // ... of those, whose right side failed to infer or inferred another type
  std::string first_rhs_mismatch;  // the first such binding and what the right side gave, for lint
  // Non-empty when no instance was found: why ("guard needs value(?c) of a non-constant", "the left
  // side never type-checks within dims <= 3", "op Foo has no proposer", ...).
  std::string note;
  // True when the rule has no shape-dependent part: every op on both sides is elementwise with
  // broadcasting, both sides use the same term variables, and the guard does not read shapes; then
  // instances[0] binds every term variable to a scalar and a proof there holds for all shapes.
  bool elementwise = false;
  // How the instances were chosen, e.g. "ranks <= 4, dims <= 3, guard true".
  std::string scope;
};

// Searches instances of a directed rule (bidirectional rules: expand_bidirectional first). Throws
// Error for a guard function the evaluator does not know.
InstanceSearch find_instances(const rules::Rule& rule, const InstanceLimits& limits = {});

// Both sides of the rule as one model over shared inputs: the outputs are the left patterns'
// values, then the right patterns'. A term variable without a known value is a graph input named
// after the variable without its '?' ("?x" -> "x"); known values are initializers; `#c(...)`
// constants are initializers; op outputs are named "%N". Attribute expressions on the right side
// are computed from the instance. Throws Error when a right-side expression cannot be evaluated.
Model instance_model(const rules::Rule& rule, const Instance& instance);

// Evaluates the rule's guard on the instance (true when there is none). Throws Error for a guard
// function the evaluator does not know.
bool guard_holds(const rules::Rule& rule, const Instance& instance);

}  // namespace eqopt::verify
