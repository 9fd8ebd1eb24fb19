// E-graphs as JSON in the egraph-serialize format (github.com/egraphs-good/egraph-serialize), the
// input of extraction-gym:
//   {"nodes": {"<node id>": {"op": "...", "children": ["<node id>", ...], "eclass": "<class id>",
//              "cost": 1.0}, ...},
//    "root_eclasses": ["<class id>", ...], "class_data": {}}
// Writing lists every live, visible e-node of every class of a clean (rebuilt) e-graph, keyed by
// its node id; its "eclass" is its canonical class id; each child is named by the first node of
// the child class. "op" is the operator name, followed by "{payload}" when the node has a payload.
// A payload is written verbatim when it is printable ASCII (0x20..0x7e) with balanced braces and
// does not start with "#x"; otherwise it is written hex-escaped as "{#x<hex bytes>}" (lower case),
// which reading decodes. (Format after egraph-serialize's; the code here is eqopt's own.)
//
// Reading builds the e-graph again: classes are identified by "eclass", a child by the "eclass" of
// the node it names. Because an e-graph's class graph may have cycles, nodes are added in rounds:
// each round adds every node whose child classes all exist (the first node of a class creates it,
// later ones are merged into it), until a round adds nothing. A class that is never created (all
// its nodes depend, directly or not, on classes without a buildable node) is an eqopt::Error, as
// are malformed JSON, missing fields, and references to unknown nodes or classes.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "egraph/egraph.h"
#include "support/error.h"

namespace eqopt::eg {

// The format's content, without a JSON library in the interface.
struct SerializedNode {
  std::string id;
  std::string op;  // name plus "{payload}" (see the file comment)
  std::vector<std::string> children;  // node ids
  std::string eclass;
  double cost = 1.0;
};
struct SerializedEGraph {
  std::vector<SerializedNode> nodes;
  std::vector<std::string> root_eclasses;
};

// JSON text of a serialized e-graph (indent < 0: one line).
std::string serialized_to_json(const SerializedEGraph& s, int indent = -1);
// Parses and checks the JSON (fields present and well typed, children name nodes, roots name
// classes); throws eqopt::Error with the offending key.
SerializedEGraph serialized_from_json(std::string_view json);

// "op{payload}" with the escaping described above, and its inverse.
std::string serialized_op(std::string_view op, std::string_view payload);
void split_serialized_op(std::string_view text, std::string& op, std::string& payload);

template <class G>
using NodeCostFn = std::function<double(const G&, Id node)>;

template <class G>
SerializedEGraph serialize_egraph(const G& g, const std::vector<Id>& roots = {}, const NodeCostFn<G>& cost = nullptr) {
  if (!g.clean()) fail("serialize: the e-graph must be rebuilt first");
  SerializedEGraph s;
  auto first_node = [&](Id c) -> Id {
    const auto& nodes = g.eclass(c).nodes;
    if (nodes.empty()) fail("serialize: class ", g.find(c), " has no visible e-node");
    return nodes.front();
  };
  g.for_each_class([&](Id c) {
    for (Id n : g.eclass(c).nodes) {
      SerializedNode sn;
      sn.id = std::to_string(n);
      const PayloadId p = g.node_payload(n);
      sn.op = serialized_op(g.op_name(g.node_op(n)), p == kNoPayload ? std::string_view() : std::string_view(g.payload_bytes(p)));
      for (Id k : g.node_children(n)) sn.children.push_back(std::to_string(first_node(k)));
      sn.eclass = std::to_string(c);
      sn.cost = cost ? cost(g, n) : 1.0;
      s.nodes.push_back(std::move(sn));
    }
  });
  for (Id r : roots) s.root_eclasses.push_back(std::to_string(g.find(r)));
  return s;
}

template <class G>
std::string write_egraph_json(const G& g, const std::vector<Id>& roots = {}, const NodeCostFn<G>& cost = nullptr,
                              int indent = -1) {
  return serialized_to_json(serialize_egraph(g, roots, cost), indent);
}

// What reading produced: the class of each "eclass" name, and the root classes.
struct DeserializeResult {
  std::unordered_map<std::string, Id> classes;
  std::vector<Id> roots;
};

template <class G>
DeserializeResult deserialize_egraph(G& g, const SerializedEGraph& s) {
  std::unordered_map<std::string, size_t> node_index;
  for (size_t i = 0; i < s.nodes.size(); ++i)
    if (!node_index.emplace(s.nodes[i].id, i).second) fail("egraph json: duplicate node '", s.nodes[i].id, "'");
  DeserializeResult res;
  // Child classes of every node, by name.
  std::vector<std::vector<const std::string*>> kid_classes(s.nodes.size());
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    res.classes.emplace(s.nodes[i].eclass, kNoId);
    for (const std::string& k : s.nodes[i].children) {
      auto it = node_index.find(k);
      if (it == node_index.end()) fail("egraph json: node '", s.nodes[i].id, "' has child '", k, "', which is not a node");
      kid_classes[i].push_back(&s.nodes[it->second].eclass);
    }
  }
  for (const std::string& r : s.root_eclasses)
    if (!res.classes.count(r)) fail("egraph json: root e-class '", r, "' has no node");
  std::vector<bool> added(s.nodes.size(), false);
  std::vector<Id> kids;
  std::string op, payload;
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      if (added[i]) continue;
      kids.clear();
      bool ready = true;
      for (const std::string* kc : kid_classes[i]) {
        const Id c = res.classes.at(*kc);
        if (c == kNoId) {
          ready = false;
          break;
        }
        kids.push_back(c);
      }
      if (!ready) continue;
      split_serialized_op(s.nodes[i].op, op, payload);
      const Id n = g.add(g.intern_op(op), g.intern_payload(payload), kids);
      Id& cls = res.classes.at(s.nodes[i].eclass);
      if (cls == kNoId)
        cls = n;
      else
        g.merge(cls, n);
      added[i] = true;
      progress = true;
    }
  }
  for (const auto& [name, c] : res.classes)
    if (c == kNoId) fail("egraph json: e-class '", name, "' cannot be built (each of its nodes needs a class that cannot be built)");
  g.rebuild();
  for (const std::string& r : s.root_eclasses) res.roots.push_back(g.find(res.classes.at(r)));
  for (auto& [name, c] : res.classes) c = g.find(c);
  return res;
}

template <class G>
DeserializeResult read_egraph_json(G& g, std::string_view json) {
  return deserialize_egraph(g, serialized_from_json(json));
}

}  // namespace eqopt::eg
