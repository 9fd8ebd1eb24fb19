#include "optimizer/export.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "interp/interpreter.h"
#include "ir/expand.h"
#include "ir/shape_inference.h"

namespace eqopt::opt {

namespace {

// The IR version a model of a given default-domain opset needs at least (ONNX's Versioning.md).
int64_t min_ir_version(int64_t opset) {
  if (opset <= 8) return 3;
  if (opset == 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

using RankFn = std::function<int64_t(const std::string&)>;

std::string raise_blocker(const Model& model, int64_t from, int64_t target, const RankFn& rank_of) {
  if (from < 7) return "opsets before 7 are never raised";
  if (target > kLatestOpset) return "opset " + std::to_string(target) + " is newer than eqopt knows";
  std::string why;
  for_each_graph(model.graph, [&](const Graph& g, int) {
    for (const Node& n : g.nodes) {
      if (!why.empty() || !n.is_default_domain()) continue;
      const OpSchema* schema = OpRegistry::global().find(OpId::of(n));
      if (!schema) {
        why = n.label() + " is an op eqopt does not know";
        continue;
      }
      for (const OpsetChange& c : schema->changes) {
        if (c.version <= from || c.version > target) continue;
        const int64_t rank = n.inputs.empty() || n.inputs[0].empty() ? -1 : rank_of(n.inputs[0]);
        if (!c.affects || c.affects(n, rank, from)) {
          why = n.label() + " changes in opset " + std::to_string(c.version) + ": " + c.what;
          break;
        }
      }
    }
  });
  return why;
}

// ------------------------------------------------------------------ model surgery

void deep_copy_subgraphs(Graph& g) {
  for (Node& n : g.nodes)
    for (Attribute& a : n.attributes) {
      if (a.g) {
        a.g = std::make_shared<Graph>(*a.g);
        deep_copy_subgraphs(*a.g);
      }
      for (auto& sub : a.graphs)
        if (sub) {
          sub = std::make_shared<Graph>(*sub);
          deep_copy_subgraphs(*sub);
        }
    }
}

std::set<std::string> all_names(const Model& m) {
  std::set<std::string> names;
  for_each_graph(m.graph, [&](const Graph& g, int) {
    for (const ValueInfo& v : g.inputs) names.insert(v.name);
    for (const ValueInfo& v : g.outputs) names.insert(v.name);
    for (const ValueInfo& v : g.value_info) names.insert(v.name);
    for (const Initializer& i : g.initializers) names.insert(i.name);
    for (const Node& n : g.nodes) {
      names.insert(n.name);
      for (const std::string& o : n.outputs) names.insert(o);
    }
  });
  return names;
}

// Every value some node (in any graph) or graph output reads.
std::set<std::string> used_values(const Model& m) {
  std::set<std::string> used;
  for_each_graph(m.graph, [&](const Graph& g, int) {
    for (const Node& n : g.nodes)
      for (const std::string& in : n.inputs) used.insert(in);
    for (const ValueInfo& o : g.outputs) used.insert(o.name);
  });
  return used;
}

class Exporter {
 public:
  explicit Exporter(Model& m) : m_(m), names_(all_names(m)) {}

  std::string fresh(const std::string& base) {
    std::string name = base;
    while (names_.count(name)) name = base + "_" + std::to_string(counter_++);
    names_.insert(name);
    return name;
  }

  // Replaces every node `pick` selects by its definition at `opset`.
  void expand_where(const std::function<bool(const Node&)>& pick, int64_t opset, std::set<std::string>& expanded) {
    InferOptions io;
    InterpreterFolder folder;
    io.folder = &folder;
    const InferenceResult types = infer_model(m_, io);
    const std::set<std::string> used = used_values(m_);
    auto type_of = [&](const std::string& name) -> TensorType {
      for (const auto& [g, gt] : types.graphs)
        if (auto it = gt.types.find(name); it != gt.types.end()) return it->second;
      return TensorType{};
    };
    const FreshNameFn fresh_fn = [this](const std::string& base) { return fresh(base); };
    for_each_graph(m_.graph, [&](Graph& g, int) {
      std::vector<Node> nodes;
      for (Node& n : g.nodes) {
        if (!pick(n)) {
          nodes.push_back(std::move(n));
          continue;
        }
        // Unused optional outputs are dropped (a definition may compute only the first).
        for (size_t k = 1; k < n.outputs.size(); ++k)
          if (!used.count(n.outputs[k])) n.outputs[k].clear();
        while (n.outputs.size() > 1 && n.outputs.back().empty()) n.outputs.pop_back();
        std::vector<TensorType> in_types;
        for (const std::string& in : n.inputs) in_types.push_back(in.empty() ? TensorType{} : type_of(in));
        std::vector<Node> def = expand_node(n, opset, in_types, fresh_fn);
        expanded.insert(OpId::of(n).str());
        for (Node& d : def) nodes.push_back(std::move(d));
      }
      g.nodes = std::move(nodes);
    });
  }

  RankFn ranks() {
    InferOptions io;
    InterpreterFolder folder;
    io.folder = &folder;
    auto types = std::make_shared<InferenceResult>(infer_model(m_, io));
    return [types](const std::string& name) -> int64_t {
      for (const auto& [g, gt] : types->graphs)
        if (auto it = gt.types.find(name); it != gt.types.end()) return it->second.rank();
      return -1;
    };
  }

 private:
  Model& m_;
  std::set<std::string> names_;
  int counter_ = 0;
};

bool any_node(const Model& m, const std::function<bool(const Node&)>& pred) {
  bool found = false;
  for_each_graph(m.graph, [&](const Graph& g, int) {
    for (const Node& n : g.nodes) found = found || pred(n);
  });
  return found;
}

}  // namespace

int64_t op_since_version(const std::string& op) {
  const OpSchema* s = OpRegistry::global().find("", op);
  return s ? s->since_version : 0;
}

std::string opset_raise_blocker(const Model& model, int64_t target) {
  const int64_t from = model.opset("");
  if (target <= from) return "";
  InferOptions io;
  InterpreterFolder folder;
  io.folder = &folder;
  const InferenceResult types = infer_model(model, io);
  return raise_blocker(model, from, target, [&](const std::string& name) -> int64_t {
    for (const auto& [g, gt] : types.graphs)
      if (auto it = gt.types.find(name); it != gt.types.end()) return it->second.rank();
    return -1;
  });
}

Model to_standard_onnx(const Model& model, ExportReport* report) {
  Model out = model;
  deep_copy_subgraphs(out.graph);
  Exporter ex(out);
  std::set<std::string> expanded;
  int64_t opset = out.opset("");
  if (report) report->opset_before = opset;

  // 1. Own ops become their definitions at the model's opset; definitions emit standard ops only.
  auto is_own = [](const Node& n) { return n.domain == kEqoptDomain; };
  if (any_node(out, is_own)) {
    if (opset == 0) fail("export: the model has eqopt ops but does not import the default ONNX opset");
    ex.expand_where(is_own, opset, expanded);
  }
  std::erase_if(out.opset_imports, [](const OpsetImport& o) { return o.domain == kEqoptDomain; });

  // 2. The default-domain opset: raise it to the newest op's, or replace the newest ops by their
  //    definitions in older ones, until every op exists in it.
  for (int round = 0; opset > 0; ++round) {
    if (round > 32) fail("export: internal error: definitions keep needing newer opsets");
    int64_t need = opset;
    for_each_graph(out.graph, [&](const Graph& g, int) {
      for (const Node& n : g.nodes) {
        if (!n.is_default_domain()) continue;
        const int64_t since = op_since_version(n.op_type);
        need = std::max(need, since);
      }
    });
    if (need <= opset) break;
    const std::string why = raise_blocker(out, opset, need, ex.ranks());
    if (why.empty()) {
      for (OpsetImport& o : out.opset_imports)
        if (is_default_domain(o.domain)) o.version = need;
      out.ir_version = std::max(out.ir_version, min_ir_version(need));
      opset = need;
      break;
    }
    auto needs_newest = [&](const Node& n) { return n.is_default_domain() && op_since_version(n.op_type) == need; };
    for_each_graph(out.graph, [&](const Graph& g, int) {
      for (const Node& n : g.nodes)
        if (needs_newest(n) && !has_definition(n))
          fail("export: ", n.label(), " needs opset ", need, ", the model imports opset ", opset,
               " and cannot be raised (", why, "), and ", n.op_type, " has no definition in older ops");
    });
    ex.expand_where(needs_newest, opset, expanded);
  }
  if (report) {
    report->opset_after = opset;
    report->expanded.assign(expanded.begin(), expanded.end());
  }
  return out;
}

}  // namespace eqopt::opt
