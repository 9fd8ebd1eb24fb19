// Patterns over the e-graph, compiled to a small e-matching machine (after egg's machine.rs and
// de Moura & Bjørner, "Efficient E-Matching for SMT Solvers", CADE 2007): Bind enumerates the
// e-nodes of a class with a given operator and loads their children into registers, Compare checks
// a repeated (non-linear) variable, Lookup checks a ground subterm against its class.
#pragma once
#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "egraph/egraph.h"
#include "egraph/sexpr.h"
#include "support/error.h"

namespace eqopt::eg {

// How a leaf token that is not a variable becomes (operator, payload); a language may read numbers
// as a constant operator with the value as payload. Default: the token is a 0-ary operator.
using LeafParser = std::function<std::pair<std::string, std::string>(const std::string& token)>;

// Names of a rule's variables, shared by its left and right sides.
struct VarTable {
  std::vector<std::string> vars;          // e-class variables
  std::vector<std::string> payload_vars;  // payload variables ({?p})
  int find(const std::vector<std::string>& v, const std::string& n) const {
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == n) return int(i);
    return -1;
  }
};

struct Pattern {
  struct Node {
    bool is_var = false;
    uint32_t var = 0;  // is_var
    OpId op = 0;
    PayloadId payload = kNoPayload;
    int32_t payload_var = -1;  // >= 0: the payload binds/compares this payload variable
    std::vector<uint32_t> kids;
  };
  std::vector<Node> nodes;  // children before parents; the root is last
  std::string text;
  uint32_t root() const { return uint32_t(nodes.size() - 1); }
  bool root_is_var() const { return nodes.back().is_var; }

  // The same nodes without per-node heap storage, for the apply hot path (instantiate and
  // lookup_instantiation); empty when a node has more than kFlatKids children or the pattern is
  // larger than kFlatNodes.
  static constexpr size_t kFlatKids = 6, kFlatNodes = 64;
  struct Flat {
    OpId op;
    PayloadId payload;
    int32_t payload_var;  // >= 0: payload comes from this payload variable
    int32_t var;          // >= 0: this node is that class variable
    uint32_t arity;
    uint8_t kids[kFlatKids];
  };
  std::vector<Flat> flat;
  void build_flat() {
    flat.clear();
    if (nodes.size() > kFlatNodes) return;
    for (const Node& n : nodes) {
      if (n.kids.size() > kFlatKids) {
        flat.clear();
        return;
      }
      Flat f{n.op, n.payload, n.payload_var, n.is_var ? int32_t(n.var) : -1, uint32_t(n.kids.size()), {}};
      for (size_t k = 0; k < n.kids.size(); ++k) f.kids[k] = uint8_t(n.kids[k]);
      flat.push_back(f);
    }
  }
};

// Compiles an S-expression against an e-graph's symbol tables. Variables are looked up in (and,
// when `allow_new_vars`, added to) `vars`; a right-hand side must only use bound variables.
template <class G>
Pattern compile_pattern(G& g, const SExpr& e, VarTable& vars, bool allow_new_vars, const LeafParser& leaf = nullptr) {
  Pattern p;
  p.text = e.str();
  std::function<uint32_t(const SExpr&)> rec = [&](const SExpr& x) -> uint32_t {
    Pattern::Node n;
    if (x.is_var()) {
      if (x.has_payload) fail("pattern '", p.text, "': variable ", x.head, " cannot carry a payload");
      int v = vars.find(vars.vars, x.head);
      if (v < 0) {
        if (!allow_new_vars) fail("pattern '", p.text, "' uses ", x.head, ", which the left-hand side does not bind");
        vars.vars.push_back(x.head);
        v = int(vars.vars.size() - 1);
      }
      n.is_var = true;
      n.var = uint32_t(v);
    } else {
      std::string op = x.head, payload = x.payload;
      if (!x.is_list && !x.has_payload && leaf) std::tie(op, payload) = leaf(x.head);
      n.op = g.intern_op(op);
      if (x.has_payload && payload.size() > 1 && payload[0] == '?') {
        int v = vars.find(vars.payload_vars, payload);
        if (v < 0) {
          if (!allow_new_vars) fail("pattern '", p.text, "' uses payload ", payload, ", which the left-hand side does not bind");
          vars.payload_vars.push_back(payload);
          v = int(vars.payload_vars.size() - 1);
        }
        n.payload_var = v;
      } else {
        n.payload = g.intern_payload(payload);
      }
      for (const SExpr& c : x.children) n.kids.push_back(rec(c));
    }
    p.nodes.push_back(std::move(n));
    return uint32_t(p.nodes.size() - 1);
  };
  rec(e);
  p.build_flat();
  return p;
}

// Flat list of matches: each is [e-class, class vars..., payload vars...].
struct Matches {
  uint32_t stride = 1;
  std::vector<Id> data;
  size_t count() const { return data.size() / stride; }
  const Id* at(size_t i) const { return &data[i * stride]; }
  void clear() { data.clear(); }
};

// The compiled matcher of one pattern.
class Program {
 public:
  struct Instr {
    enum Kind : uint8_t { Bind, Compare, Lookup, BindPayload, ComparePayload };
    Kind kind;
    uint32_t reg;      // class register read
    OpId op = 0;
    PayloadId payload = kNoPayload;
    int32_t payload_var = -1;
    uint32_t arity = 0;
    uint32_t out = 0;  // Bind: first output register; Compare: other register; Lookup: ground index
  };

  static Program compile(const Pattern& p, const VarTable& vars) {
    Program prog;
    prog.num_vars_ = uint32_t(vars.vars.size());
    prog.num_payload_vars_ = uint32_t(vars.payload_vars.size());
    prog.var_reg_.assign(prog.num_vars_, kUnbound);
    prog.root_var_ = p.root_is_var() ? int(p.nodes.back().var) : -1;
    prog.root_op_ = p.root_is_var() ? 0 : p.nodes.back().op;
    std::vector<bool> payload_bound(prog.num_payload_vars_, false);
    uint32_t next_reg = 1;
    // Breadth-first over the pattern, as egg's compiler does: a node's children get consecutive
    // registers when its Bind runs.
    std::vector<std::pair<uint32_t, uint32_t>> todo{{p.root(), 0}};  // (pattern node, register)
    for (size_t t = 0; t < todo.size(); ++t) {
      const auto [pi, reg] = todo[t];
      const Pattern::Node& n = p.nodes[pi];
      if (n.is_var) {
        if (prog.var_reg_[n.var] == kUnbound)
          prog.var_reg_[n.var] = reg;
        else
          prog.instrs_.push_back({Instr::Compare, reg, 0, kNoPayload, -1, 0, prog.var_reg_[n.var]});
        continue;
      }
      if (t > 0 && is_ground(p, pi)) {
        prog.instrs_.push_back({Instr::Lookup, reg, 0, kNoPayload, -1, 0, uint32_t(prog.grounds_.size())});
        prog.grounds_.push_back(subpattern(p, pi));
        continue;
      }
      Instr b{Instr::Bind, reg, n.op, n.payload, n.payload_var, uint32_t(n.kids.size()), next_reg};
      if (n.payload_var >= 0) {
        // First occurrence binds the payload variable, later ones compare.
        b.kind = payload_bound[size_t(n.payload_var)] ? Instr::ComparePayload : Instr::BindPayload;
        payload_bound[size_t(n.payload_var)] = true;
      }
      prog.instrs_.push_back(b);
      for (size_t k = 0; k < n.kids.size(); ++k) todo.push_back({n.kids[k], next_reg + uint32_t(k)});
      next_reg += uint32_t(n.kids.size());
    }
    prog.num_regs_ = next_reg;
    prog.payload_bound_ = payload_bound;
    return prog;
  }

  uint32_t stride() const { return 1 + num_vars_ + num_payload_vars_; }
  bool root_is_var() const { return root_var_ >= 0; }
  OpId root_op() const { return root_op_; }

  // Calls yield(const Id* entry) for every match in class `c` (canonical), where entry is
  // [c, class vars..., payload vars...]; yield returns false to stop. Returns false when stopped.
  template <class G, class Yield>
  bool search_class(const G& g, Id c, std::span<const Id> ground_classes, Yield&& yield) const {
    Id regs[kMaxRegs];
    PayloadId pregs[kMaxRegs];
    if (num_regs_ > kMaxRegs) fail("pattern too large for the matcher (", num_regs_, " registers)");
    regs[0] = c;
    return run(g, 0, regs, pregs, ground_classes, yield);
  }

  // Classes of this pattern's ground subterms in `g`; kNoId when a ground term is absent (then the
  // pattern cannot match anywhere).
  template <class G>
  std::vector<Id> ground_classes(const G& g) const {
    std::vector<Id> r;
    for (const Pattern& gp : grounds_) r.push_back(lookup_ground(g, gp));
    return r;
  }

  // Every match in the e-graph, appended to `out`, stopping after `limit` matches.
  template <class G>
  void search(const G& g, const std::vector<std::vector<Id>>* op_index, Matches& out,
              size_t limit = size_t(-1)) const {
    out.stride = stride();
    const std::vector<Id> grounds = ground_classes(g);
    for (Id gc : grounds)
      if (gc == kNoId) return;
    size_t found = 0;
    auto yield = [&](const Id* entry) {
      out.data.insert(out.data.end(), entry, entry + stride());
      return ++found < limit;
    };
    if (root_var_ >= 0) {
      g.for_each_class([&](Id c) {
        if (found >= limit) return;
        search_class(g, c, grounds, yield);
      });
      return;
    }
    if (op_index) {
      if (root_op_ >= op_index->size()) return;
      for (Id c : (*op_index)[root_op_])
        if (!search_class(g, c, grounds, yield)) return;
      return;
    }
    g.for_each_class([&](Id c) {
      if (found >= limit) return;
      search_class(g, c, grounds, yield);
    });
  }

 private:
  static constexpr uint32_t kUnbound = ~0u;
  static constexpr uint32_t kMaxRegs = 64;

  static bool is_ground(const Pattern& p, uint32_t i) {
    const Pattern::Node& n = p.nodes[i];
    if (n.is_var || n.payload_var >= 0) return false;
    for (uint32_t k : n.kids)
      if (!is_ground(p, k)) return false;
    return true;
  }
  static Pattern subpattern(const Pattern& p, uint32_t i) {
    Pattern s;
    std::function<uint32_t(uint32_t)> rec = [&](uint32_t j) -> uint32_t {
      Pattern::Node n = p.nodes[j];
      for (uint32_t& k : n.kids) k = rec(k);
      s.nodes.push_back(std::move(n));
      return uint32_t(s.nodes.size() - 1);
    };
    rec(i);
    return s;
  }
  template <class G>
  static Id lookup_ground(const G& g, const Pattern& gp) {
    std::vector<Id> cls(gp.nodes.size());
    for (size_t i = 0; i < gp.nodes.size(); ++i) {
      const Pattern::Node& n = gp.nodes[i];
      std::vector<Id> kids;
      for (uint32_t k : n.kids) kids.push_back(cls[k]);
      cls[i] = g.lookup(n.op, n.payload, kids);
      if (cls[i] == kNoId) return kNoId;
    }
    return cls.back();
  }

  template <class G, class Yield>
  bool run(const G& g, size_t pc, Id* regs, PayloadId* pregs, std::span<const Id> grounds, Yield& yield) const {
    for (; pc < instrs_.size(); ++pc) {
      const Instr& in = instrs_[pc];
      switch (in.kind) {
        case Instr::Compare:
          if (regs[in.reg] != regs[in.out]) return true;
          continue;
        case Instr::Lookup:
          if (regs[in.reg] != grounds[in.out]) return true;
          continue;
        case Instr::Bind:
        case Instr::BindPayload:
        case Instr::ComparePayload: {
          const auto& nodes = g.eclass(regs[in.reg]).nodes;
          // Nodes are sorted by (op, payload): find the run of this operator.
          auto it = std::lower_bound(nodes.begin(), nodes.end(), in.op,
                                     [&](Id n, OpId op) { return g.node_op(n) < op; });
          for (; it != nodes.end() && g.node_op(*it) == in.op; ++it) {
            const Id n = *it;
            const PayloadId pl = g.node_payload(n);
            if (in.kind == Instr::Bind && pl != in.payload) continue;
            if (in.kind == Instr::ComparePayload && pl != pregs[in.payload_var]) continue;
            const auto kids = g.node_children(n);
            if (kids.size() != in.arity) continue;
            for (uint32_t k = 0; k < in.arity; ++k) regs[in.out + k] = kids[k];
            if (in.kind == Instr::BindPayload) pregs[in.payload_var] = pl;
            if (!run(g, pc + 1, regs, pregs, grounds, yield)) return false;
          }
          return true;
        }
      }
    }
    Id entry[kMaxRegs * 2 + 1];
    entry[0] = regs[0];
    // Variables this pattern does not bind (other patterns of a multi-pattern do) stay kNoId.
    for (uint32_t v = 0; v < num_vars_; ++v) entry[1 + v] = var_reg_[v] == kUnbound ? kNoId : regs[var_reg_[v]];
    for (uint32_t v = 0; v < num_payload_vars_; ++v) entry[1 + num_vars_ + v] = payload_bound_[v] ? pregs[v] : kNoId;
    return yield(static_cast<const Id*>(entry));
  }

  std::vector<Instr> instrs_;
  std::vector<uint32_t> var_reg_;
  std::vector<bool> payload_bound_;
  std::vector<Pattern> grounds_;
  uint32_t num_regs_ = 1, num_vars_ = 0, num_payload_vars_ = 0;
  int root_var_ = -1;
  OpId root_op_ = 0;
};

// Walks the pattern's nodes bottom-up with a substitution: variables take their class, and each
// operator node becomes step(op, payload, children) (kNoId from step stops the walk). Returns the
// root's class, or kNoId when stopped.
template <class Step>
Id walk_instantiation(const Pattern& p, const Id* vars, const PayloadId* payload_vars, Step&& step) {
  if (!p.flat.empty()) {  // the common case, without heap use
    Id ids[Pattern::kFlatNodes];
    Id kids[Pattern::kFlatKids];
    for (size_t i = 0; i < p.flat.size(); ++i) {
      const Pattern::Flat& n = p.flat[i];
      if (n.var >= 0) {
        ids[i] = vars[n.var];
        continue;
      }
      for (uint32_t k = 0; k < n.arity; ++k) kids[k] = ids[n.kids[k]];
      ids[i] = step(n.op, n.payload_var >= 0 ? payload_vars[n.payload_var] : n.payload,
                    std::span<const Id>(kids, n.arity));
      if (ids[i] == kNoId) return kNoId;
    }
    return ids[p.flat.size() - 1];
  }
  std::vector<Id> ids(p.nodes.size()), kids;
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const Pattern::Node& n = p.nodes[i];
    if (n.is_var) {
      ids[i] = vars[n.var];
      continue;
    }
    kids.clear();
    for (uint32_t k : n.kids) kids.push_back(ids[k]);
    ids[i] = step(n.op, n.payload_var >= 0 ? payload_vars[n.payload_var] : n.payload, std::span<const Id>(kids));
    if (ids[i] == kNoId) return kNoId;
  }
  return ids[p.root()];
}

// Adds the pattern instantiated with a substitution; returns the root's class. `vars` holds the
// class of each class variable, `payload_vars` the payload of each payload variable.
template <class G>
Id instantiate(G& g, const Pattern& p, const Id* vars, const PayloadId* payload_vars) {
  return walk_instantiation(p, vars, payload_vars,
                            [&g](OpId op, PayloadId pl, std::span<const Id> kids) { return g.add(op, pl, kids); });
}

// The class of the pattern instantiated with a substitution if every e-node of it already exists
// (nothing is added); kNoId otherwise.
template <class G>
Id lookup_instantiation(const G& g, const Pattern& p, const Id* vars, const PayloadId* payload_vars) {
  return walk_instantiation(p, vars, payload_vars,
                            [&g](OpId op, PayloadId pl, std::span<const Id> kids) { return g.lookup(op, pl, kids); });
}

// Adds a ground term written as an S-expression; returns its class.
template <class G>
Id add_term(G& g, std::string_view text, const LeafParser& leaf = nullptr) {
  VarTable none;
  const Pattern p = compile_pattern(g, parse_sexpr(text), none, /*allow_new_vars=*/false, leaf);
  return instantiate(g, p, nullptr, nullptr);
}

}  // namespace eqopt::eg
