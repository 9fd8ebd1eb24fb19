// Internals of symbolic evaluation (verify/sym_eval.cpp): what an op's symbolic definition sees,
// and index helpers shared by the op files (verify/sym_eval_*.cpp). Not for use outside verify/.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "verify/sym_eval.h"

namespace eqopt::verify::detail {

// One node under evaluation: its inputs' symbolic values, the output types shape inference gave,
// and constructors that route float constants through the approx targets.
class OpEval {
 public:
  OpEval(SymCtx& sym, const Node& node, int64_t opset, std::vector<const SymTensor*> inputs,
         std::vector<TensorType> out_types, std::function<std::optional<SymId>(double)> targeted)
      : sym(sym), node_(node), opset_(opset), inputs_(std::move(inputs)), out_types_(std::move(out_types)),
        targeted_(std::move(targeted)), outputs_(node.outputs.size()) {}

  SymCtx& sym;

  const Node& node() const { return node_; }
  int64_t opset() const { return opset_; }

  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const SymTensor& input(size_t i) const;
  // Every element of the input is a Const.
  bool known(size_t i) const;
  // A known input's elements as integers / doubles; UnsupportedOp when symbolic (`what` names it).
  std::vector<int64_t> ints(size_t i, const char* what) const;
  std::vector<double> reals(size_t i, const char* what) const;

  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t k) const { return k < node_.outputs.size() && !node_.outputs[k].empty(); }
  DType out_dtype(size_t k) const { return out_types_.at(k).dtype; }
  // The inferred output shape; UnsupportedOp when inference could not make it static.
  Shape out_shape(size_t k) const;

  // A float constant of the op's definition or attributes, read through the approx targets.
  SymId real(double v) const { return targeted_(v).value_or(sym.constant(v)); }
  // A definition constant with an exact form (1/6 as Inv(6)): the target's form when `v` is near a
  // target, else `exact`, so decompositions that divide by 6 meet the definition.
  SymId real(double v, SymId exact) const;
  // A float (or integer-written) attribute through real().
  SymId attr_real(const char* name, double fallback) const;

  void set_output(size_t k, SymTensor t);
  std::vector<SymTensor>& outputs() { return outputs_; }

  [[noreturn]] void unsupported(const std::string& why) const;
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    eqopt::fail(node_.label(), ": ", parts...);
  }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const SymTensor*> inputs_;
  std::vector<TensorType> out_types_;
  // The approx target's form of a constant near a target, else nullopt.
  std::function<std::optional<SymId>(double)> targeted_;
  std::vector<SymTensor> outputs_;
};

using SymOpFn = void (*)(OpEval&);
using SymOpTable = std::map<std::string, SymOpFn, std::less<>>;

// One registration function per op file.
void register_sym_elementwise(SymOpTable& t);  // sym_eval_elementwise.cpp
void register_sym_tensor(SymOpTable& t);       // sym_eval_tensor.cpp: data movement
void register_sym_nn(SymOpTable& t);           // sym_eval_nn.cpp: MatMul, Gemm, Conv, pooling, norms, reductions

// ---- index helpers ----

// Row-major strides are interp/kernel_util.h's strides_of; these build on its broadcasting too.
// Flat index into `in` of every flat index of `out`, numpy-broadcasting `in` to `out`.
std::vector<int64_t> broadcast_index(const Shape& in, const Shape& out);
// Multidirectional broadcast of shapes; throws Error (naming `where`) when incompatible.
Shape broadcast_shape(const std::vector<Shape>& shapes, const std::string& where);
int64_t normalize_axis(const OpEval& e, int64_t axis, int64_t rank);

// Sum of terms as a left-folded chain of SymCtx::add (0 when empty).
SymId sum_of(SymCtx& sym, const std::vector<SymId>& terms);

// Booleans are stored as Const 0/1 when known (as integer tensors are) and as boolean expressions
// otherwise; these convert between the two readings.
SymId as_condition(SymCtx& sym, SymId b);
SymId as_bool_elem(SymCtx& sym, SymId b);

}  // namespace eqopt::verify::detail
