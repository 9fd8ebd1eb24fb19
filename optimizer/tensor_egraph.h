// The tensor language over the e-graph: an ONNX Model becomes an e-graph whose e-nodes are ops
// (payload = canonical attributes), graph inputs, weights and constants; an extracted choice of
// e-nodes becomes a Model again.
//
// Leaves: `$input{name}`, `$weight{name}` (initializers and Constant nodes), `$const{N}` (values
// folded by the analysis), `$none` (an omitted optional input). A multi-output op's class stands
// for the tuple of its outputs; `$out{i}` projects output i. Ops with subgraphs (If, Loop, Scan)
// are e-nodes whose extra children are the outer values their subgraphs read; the bodies themselves
// are optimized as programs of their own before import (optimizer/pipeline.cpp) and priced through
// set_body_costs().
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "egraph/egraph.h"
#include "extract/extract.h"
#include "ir/graph.h"
#include "ir/shape_inference.h"
#include "targets/cost_model.h"

namespace eqopt::opt {

// Per e-class: the type of each output (one for ordinary values, several for a tuple), the value
// when it is a constant, and whether it depends on weights and constants only.
struct TensorData {
  std::vector<TensorType> types;
  std::vector<std::optional<Tensor>> values;
  bool weight_only = false;
  // False when inference rejected every e-node of the class (a rule built something ill-typed);
  // such e-nodes are never extracted.
  bool valid = true;
};

class TensorProgram;

struct TensorAnalysis {
  using Data = TensorData;
  static constexpr bool enabled = true;
  TensorProgram* program = nullptr;

  template <class G>
  Data make(G& g, eg::Id node);
  std::pair<bool, bool> merge(Data& into, Data from);
  template <class G>
  void modify(G& g, eg::Id eclass);
};

using TensorEGraph = eg::EGraph<TensorAnalysis>;

struct ImportOptions {
  std::map<std::string, Dims> input_dims;  // fix dynamic input dims
  // Fold an op whose inputs are all constant when its inputs hold at most this many elements in
  // total (weight-only subgraphs included; Conv+BatchNormalization weights fold this way).
  int64_t fold_max_elements = int64_t(1) << 24;
  // Record the e-graph's proof forest (egraph/explain.h) so `eqopt rules prove` can explain why two
  // values are equal. Off by default: every added term keeps its own e-node, which costs memory.
  bool explanations = false;
};

class TensorProgram {
 public:
  TensorProgram(const Model& model, const ImportOptions& options = {});
  TensorProgram(const TensorProgram&) = delete;
  TensorProgram& operator=(const TensorProgram&) = delete;

  TensorEGraph& egraph() { return g_; }
  const TensorEGraph& egraph() const { return g_; }
  // Classes of the graph outputs, in order.
  const std::vector<eg::Id>& output_classes() const { return outputs_; }

  // ---- extraction: one e-node per class needed by the outputs, always acyclic (extract/ does the
  // choosing; this class states the problem and writes the answer).
  using Selection = std::unordered_map<eg::Id, eg::Id>;  // canonical class -> chosen e-node
  // The e-graph as an extraction problem: problem class i is e-class classes[i], problem node j is
  // e-node nodes[j], with own_cost() as its cost (never-extractable e-nodes get cost -1).
  struct ExtractionProblem {
    ex::Problem problem;
    std::vector<eg::Id> classes, nodes;
  };
  ExtractionProblem extraction_problem() const;
  Selection to_selection(const ExtractionProblem& p, const ex::Choice& choice) const;
  struct Extraction {
    Selection selection;
    double cost = 0;     // estimated DAG cost (seconds): a value used several times is paid once
    std::string method;  // how it was found (extract/extract.h)
    ex::Result result;
  };
  static ex::Options greedy_options() {
    ex::Options o;
    o.mode = ex::Mode::Greedy;
    return o;
  }
  Extraction choose(const ex::Options& options = greedy_options()) const;
  // The chosen e-nodes reachable from the outputs, sorted (two selections make the same program
  // when these agree).
  std::vector<eg::Id> chosen_nodes(const Selection& s) const;
  // Sum of the chosen e-nodes' own costs over the classes reachable from the outputs.
  double dag_cost(const Selection& s) const;
  // Writes a selection as a Model with the original inputs, outputs, opsets and metadata.
  Model write(const Selection& s) const;
  Model extract() const { return write(choose().selection); }
  // Estimated cost of the model as imported (its own operators, before any rule or folding).
  double initial_cost() const;
  // The same per op class.
  std::map<std::string, double> initial_cost_by_class() const;
  // The model as imported, as a selection over the current (canonical) classes. Where saturation
  // merged two imported classes, either imported e-node stands for the class.
  Selection original_selection() const;
  // The cost model extraction uses (the built-in cpu target until one is set).
  void set_cost_model(std::shared_ptr<const tgt::CostModel> model) {
    cost_model_ = std::move(model);
    own_cost_.clear();
  }
  const tgt::CostModel& cost_model() const;
  // Estimated time of one e-node on the cost model's target, with its parts.
  tgt::OpCost node_cost(eg::Id n) const;
  // Estimated time per op class of the program a selection makes (each class paid once).
  std::map<std::string, double> cost_by_class(const Selection& s) const;
  // The same for a list of e-nodes (each counted once).
  std::map<std::string, double> cost_by_class(const std::vector<eg::Id>& nodes) const;
  // Whether extraction may choose eqopt's own ops (default yes). Standard-ONNX output turns this
  // off: export would write an own op back as the standard ops it stands for, so the extractor
  // must compare the standard programs themselves (a Gemm against a MatMul and an Add, say).
  void allow_own_ops(bool allow) {
    allow_own_ops_ = allow;
    own_cost_.clear();
  }
  // Estimated cost of one e-node in seconds on the cost model's target; negative for an e-node
  // that must never be extracted (it failed inference, or is an own op while those are off).
  double own_cost(eg::Id n) const;

  // ---- subgraph bodies (If branches, Loop and Scan bodies)
  // The estimated cost of one run of a body, keyed by the body's address as the e-node's graph
  // attribute holds it: `before` as the body was imported, `after` as it was optimized, with the
  // same per op class. An op with bodies costs its own kernel plus its bodies' `after` costs
  // (initial_cost() takes `before`): If the costlier branch (the taken one when the condition is
  // a known constant), Loop its trip count M times the body (kDefaultTrips when M is not known),
  // Scan the scanned length times the body (kDefaultTrips when not known). A body without an entry
  // costs nothing.
  struct BodyCost {
    double before = 0, after = 0;
    std::map<std::string, double> by_class_before, by_class_after;
  };
  static constexpr double kDefaultTrips = 10;
  void set_body_costs(std::unordered_map<const Graph*, BodyCost> costs) {
    body_costs_ = std::move(costs);
    own_cost_.clear();
  }
  // The bodies' share of an e-node's cost (0 for ops without bodies); per op class into *by_class.
  double body_cost(eg::Id n, bool before, std::map<std::string, double>* by_class = nullptr) const;
  // Names write() must not give to values or nodes it creates (names an enclosing or nested scope
  // defines: ONNX forbids a subgraph to redefine a name of an enclosing scope).
  void reserve_names(std::set<std::string> names) { reserved_names_ = std::move(names); }

  // ---- used by the analysis
  // An op e-node's payload stands for its attributes and its number of outputs.
  struct OpAttributes {
    std::vector<Attribute> attrs;
    size_t num_outputs = 1;
  };
  const OpAttributes& op_attributes(eg::PayloadId p) const { return attrs_.at(p); }
  eg::PayloadId op_payload(const std::vector<Attribute>& attrs, size_t num_outputs);
  int64_t opset(const std::string& domain) const { return model_.opset(domain); }
  bool is_leaf_op(eg::OpId op) const { return op <= op_none_; }
  eg::OpId op_input() const { return op_input_; }
  eg::OpId op_weight() const { return op_weight_; }
  eg::OpId op_const() const { return op_const_; }
  eg::OpId op_none() const { return op_none_; }
  eg::OpId op_out() const { return op_out_; }
  const TensorType& input_type(eg::PayloadId p) const { return input_types_.at(p); }
  const Tensor& leaf_value(eg::PayloadId p) const { return leaf_values_.at(p); }
  // The `$const` payload for a value; equal values (same dtype, shape and bytes) share one, so a
  // rule that rebuilds a constant finds the existing e-node.
  eg::PayloadId add_constant(Tensor value);
  // Node label for messages and for running inference on an e-node.
  Node node_for(eg::Id n) const;
  int64_t fold_max_elements() const { return options_.fold_max_elements; }

 private:
  void import_graph();
  // Sum of the e-nodes' own costs (each listed once).
  double total_cost(const std::vector<eg::Id>& nodes) const;
  std::map<std::string, double> cost_by_class(const std::vector<eg::Id>& nodes, bool before) const;

  const Model& model_;
  ImportOptions options_;
  TensorEGraph g_;
  eg::OpId op_input_ = 0, op_weight_ = 0, op_const_ = 0, op_none_ = 0, op_out_ = 0;
  std::unordered_map<eg::PayloadId, OpAttributes> attrs_;
  std::unordered_map<eg::PayloadId, TensorType> input_types_;
  std::unordered_map<eg::PayloadId, Tensor> leaf_values_;  // $weight and $const payloads
  std::unordered_map<eg::PayloadId, std::string> weight_names_;
  std::unordered_map<eg::Id, std::string> original_names_;  // class -> a value name it had
  std::vector<eg::Id> outputs_;
  int next_const_ = 0;
  std::unordered_map<uint64_t, std::vector<eg::PayloadId>> consts_by_hash_;
  Selection original_;
  std::vector<eg::Id> original_program_;  // the imported e-nodes the outputs need
  mutable std::shared_ptr<const tgt::CostModel> cost_model_;
  bool allow_own_ops_ = true;
  std::unordered_set<eg::Id> original_nodes_;  // the imported model's e-nodes
  mutable std::unordered_map<eg::Id, double> own_cost_;
  std::unordered_map<const Graph*, BodyCost> body_costs_;
  std::set<std::string> reserved_names_;
};

// ------------------------------------------------------------------ the analysis

// Runs the op table's inference on the e-node (and its kernel when every input is a constant small
// enough to fold), so classes carry exactly the types the interpreter would compute.
TensorData analyze_node(const TensorProgram& program, const TensorEGraph& g, eg::Id node);

template <class G>
TensorData TensorAnalysis::make(G& g, eg::Id node) {
  return analyze_node(*program, g, node);
}

template <class G>
void TensorAnalysis::modify(G& g, eg::Id c) {
  // A class with a known value (and no $const or $weight leaf yet) gets one, so extraction can
  // replace whatever computes it by the constant.
  const TensorData& d = g.data(c);
  if (d.values.size() != 1 || !d.values[0]) return;
  // With explanations on, adding a term that exists makes a hidden twin e-node (its class has no
  // visible e-node) that the e-graph joins to the existing one at once; adding a leaf for the twin
  // would make another twin, forever.
  if (g.eclass(c).nodes.empty()) return;
  for (eg::Id n : g.eclass(c).nodes) {
    const eg::OpId op = g.node_op(n);
    if (op == program->op_const() || op == program->op_weight()) return;
  }
  const Tensor value = *d.values[0];
  const eg::Id leaf = g.add(program->op_const(), program->add_constant(value), std::span<const eg::Id>());
  g.merge(c, leaf);
}

}  // namespace eqopt::opt
