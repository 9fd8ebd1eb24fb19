// A backend's kernels, one entry per op, keyed by the op's identity (OpId).
//
// Every backend keeps one registry of its own, in its own folder: the reference interpreter's
// kernels (interp/), each target's lowering (lowering/) and runtime. A backend registers one entry
// per op it runs and lists ops nowhere else, so a new op touches a backend in one place
// (docs/adding-an-op.md); what a backend cannot run is the schema registry's ops it has no entry
// for (`missing`).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/op_id.h"
#include "ir/op_registry.h"

namespace eqopt {

template <class Kernel>
class KernelRegistry {
 public:
  // Registers the kernel of `op`, replacing an earlier one.
  void add(OpId op, Kernel kernel) { kernels_.insert_or_assign(std::move(op), std::move(kernel)); }
  // `domain` "" (or "ai.onnx") is the default ONNX domain.
  void add(std::string_view domain, std::string_view name, Kernel kernel) {
    add(OpId(std::string(domain), std::string(name)), std::move(kernel));
  }

  // The kernel of an op, or nullptr.
  const Kernel* find(const OpId& op) const {
    auto it = kernels_.find(op);
    return it == kernels_.end() ? nullptr : &it->second;
  }
  const Kernel* find(const Node& node) const { return find(OpId::of(node)); }
  bool contains(const OpId& op) const { return kernels_.count(op) > 0; }
  size_t size() const { return kernels_.size(); }

  // The ops with a kernel, in OpId order.
  std::vector<OpId> ops() const {
    std::vector<OpId> r;
    for (const auto& [op, kernel] : kernels_) r.push_back(op);
    return r;
  }

  // The ops of `schemas` this backend has no kernel for, among those `wanted` selects (all when
  // empty): what it cannot run.
  std::vector<OpId> missing(const OpRegistry& schemas,
                            const std::function<bool(const OpSchema&)>& wanted = nullptr) const {
    std::vector<OpId> r;
    for (const OpSchema* s : schemas.all())
      if ((!wanted || wanted(*s)) && !contains(s->id())) r.push_back(s->id());
    return r;
  }

  // The ops with a kernel here that `schemas` does not know (a kernel of an op that has no schema,
  // and so no inference, is a mistake).
  std::vector<OpId> unknown(const OpRegistry& schemas) const {
    std::vector<OpId> r;
    for (const auto& [op, kernel] : kernels_)
      if (!schemas.find(op)) r.push_back(op);
    return r;
  }

 private:
  std::map<OpId, Kernel> kernels_;
};

}  // namespace eqopt
