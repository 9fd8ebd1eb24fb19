#include "optimizer/rule_compiler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "rules/guard.h"
#include "rules/parser.h"

namespace eqopt::opt {

using eg::Id;
using eg::MatchView;
using eg::PayloadId;
using rules::Expr;
using rules::PatternAst;

namespace {

using rules::guard::from_attribute;
using rules::guard::to_attribute;
using rules::guard::to_tensor;
using rules::guard::truthy;
using rules::guard::Unknown;
using rules::guard::Value;

// The e-graph operator key of an operator written in a rule (`Relu`, `eqopt.FusedConv`): its OpId's
// spelling, as the tensor language keys imported nodes.
std::string rule_op_key(const std::string& name) { return OpId::parse(name).str(); }

// ------------------------------------------------------------------ one compiled rule

struct AttrCheck {
  int payload_var;   // which payload variable (one per left operator)
  std::string name;  // attribute name
  Expr value;        // a literal, or a variable that binds
};

struct ConstLeaf {
  int var;       // the class variable standing for `#c(...)` on the left
  double value;
};

class CompiledRule {
 public:
  CompiledRule(TensorProgram& program, const rules::Rule& rule, eg::Rewrite<TensorEGraph>& rw)
      : program_(program), rule_(rule) {
    TensorEGraph& g = program.egraph();
    rw.name = rule.name;
    for (const PatternAst& p : rule.lhs) {
      eg::SExpr s = to_sexpr(p, rw.vars);
      rw.lhs.push_back(eg::compile_pattern(g, s, rw.vars, true));
    }
    for (const eg::Pattern& p : rw.lhs) rw.programs.push_back(eg::Program::compile(p, rw.vars));
    vars_ = rw.vars;
    // Check the guard's and right side's functions now, so a typo fails at load time.
    if (rule.guard) rules::guard::check_functions(*rule.guard, rule);
    for (const PatternAst& p : rule.rhs) rules::guard::check_pattern_functions(p, rule);
  }

  std::vector<Id> apply(TensorEGraph& g, const MatchView& m) const {
    try {
      Env env = bind(g, m);
      if (rule_.guard && !truthy(eval(*rule_.guard, env, g))) return {};
      std::vector<Id> out;
      for (size_t i = 0; i < rule_.rhs.size(); ++i) {
        const Id built = build(rule_.rhs[i], env, g);
        if (!compatible(g, built, m.eclass(i))) return {};
        out.push_back(built);
      }
      return out;
    } catch (const Unknown&) {
      return {};
    }
  }

 private:
  struct Env {
    std::map<std::string, Value> vars;
  };

  eg::SExpr to_sexpr(const PatternAst& p, eg::VarTable& vars) {
    eg::SExpr s;
    if (p.kind == PatternAst::Kind::Var) {
      s.head = p.name;
      return s;
    }
    if (p.kind == PatternAst::Kind::Const) {
      // A constant on the left is a class variable checked against the value in the guard.
      s.head = "?$const" + std::to_string(consts_.size());
      consts_.push_back({-1, p.constant.kind == Expr::Kind::Int ? double(p.constant.int_value) : p.constant.float_value});
      const_names_.push_back(s.head);
      return s;
    }
    s.is_list = true;
    s.head = rule_op_key(p.name);
    s.has_payload = true;
    const int pv = payload_vars_++;
    s.payload = "?$p" + std::to_string(pv);
    for (const rules::Attr& a : p.attrs) attr_checks_.push_back({pv, a.name, a.value});
    for (const PatternAst& c : p.children) s.children.push_back(to_sexpr(c, vars));
    return s;
  }

  Env bind(TensorEGraph& g, const MatchView& m) const {
    Env env;
    // The matched class must be one value, not the tuple of a multi-output op.
    if (g.data(m.eclass(0)).types.size() != 1) throw Unknown{};
    env.vars["?root"] = Value::of_term(m.eclass(0));
    // A multi-pattern rule relates values the model never combined (merging parallel ops, pairing
    // values through a Concat); with unknown dims that relation would rest on an assumption, so
    // such rules apply to static shapes only.
    if (m.num_patterns > 1) {
      for (uint32_t p = 0; p < m.num_patterns; ++p)
        if (!type_of(g, m.eclass(p)).is_static()) throw Unknown{};
      for (size_t v = 0; v < vars_.vars.size(); ++v)
        if (vars_.vars[v].rfind("?$const", 0) != 0 && !type_of(g, m.var(uint32_t(v))).is_static()) throw Unknown{};
    }
    for (size_t v = 0; v < vars_.vars.size(); ++v) env.vars[vars_.vars[v]] = Value::of_term(m.var(uint32_t(v)));
    const Id* pvars = m.entry + m.num_patterns + vars_.vars.size();
    for (const AttrCheck& c : attr_checks_) {
      const int slot = vars_.find(vars_.payload_vars, "?$p" + std::to_string(c.payload_var));
      const auto& attrs = program_.op_attributes(PayloadId(pvars[slot])).attrs;
      const Attribute* found = nullptr;
      for (const Attribute& a : attrs)
        if (a.name == c.name) found = &a;
      Value have;
      if (c.name == "*") {
        have.kind = Value::Kind::Attrs;
        have.attrs = attrs;
      } else {
        if (!found) throw Unknown{};  // attribute absent: defaults are not assumed
        have = from_attribute(*found);
      }
      if (c.value.kind == Expr::Kind::Var) {
        auto it = env.vars.find(c.value.text);
        if (it == env.vars.end())
          env.vars[c.value.text] = have;
        else if (!(it->second == have))
          throw Unknown{};
      } else if (!(eval(c.value, env, g) == have)) {
        throw Unknown{};
      }
    }
    for (size_t k = 0; k < consts_.size(); ++k) {
      const Id cls = m.var(uint32_t(vars_.find(vars_.vars, const_names_[k])));
      const Tensor* t = value_of(g, cls);
      if (!t || t->numel() == 0 || t->numel() > 4096 || t->dtype() == DType::String) throw Unknown{};
      for (int64_t i = 0; i < t->numel(); ++i)
        if ((is_floating(t->dtype()) ? t->as_double(i) : double(t->as_int64(i))) != consts_[k].value) throw Unknown{};
    }
    return env;
  }

  static const TensorType& type_of(const TensorEGraph& g, Id c) {
    const TensorData& d = g.data(c);
    if (d.types.size() != 1) throw Unknown{};
    return d.types[0];
  }
  static Id class_arg(const Value& v) {
    if (v.kind != Value::Kind::Term) throw Unknown{};
    return Id(v.term);
  }
  // A constant class's elements, for a `#c(...)` leaf on the left.
  static const Tensor* value_of(const TensorEGraph& g, Id c) {
    const TensorData& d = g.data(c);
    return d.values.size() == 1 && d.values[0] ? &*d.values[0] : nullptr;
  }

  // What guards read in a match: variables from the binding, terms from their e-class's analysis.
  class MatchReader final : public rules::guard::Reader {
   public:
    MatchReader(const TensorProgram& program, const TensorEGraph& g, const Env& env)
        : program_(program), g_(g), env_(env) {}
    Value variable(const std::string& name) const override {
      auto it = env_.vars.find(name);
      if (it == env_.vars.end()) throw Unknown{};
      return it->second;
    }
    TensorType type(const Value& t) const override { return type_of(g_, class_arg(t)); }
    const Tensor* value(const Value& t) const override { return value_of(g_, class_arg(t)); }
    bool is_weight(const Value& t) const override { return g_.data(class_arg(t)).weight_only; }
    bool is_initializer(const Value& t) const override {
      const Id c = g_.find(class_arg(t));
      for (Id n : g_.eclass(c).nodes)
        if (g_.node_op(n) == program_.op_weight()) return true;
      return false;
    }
    int64_t outputs(const Value& t) const override { return int64_t(g_.data(class_arg(t)).types.size()); }

   private:
    const TensorProgram& program_;
    const TensorEGraph& g_;
    const Env& env_;
  };

  Value eval(const Expr& e, const Env& env, const TensorEGraph& g) const {
    return rules::guard::eval(e, MatchReader(program_, g, env), &rule_);
  }

  Id build(const PatternAst& p, Env& env, TensorEGraph& g) const {
    if (p.kind == PatternAst::Kind::Var) return class_arg(env.vars.at(p.name));
    if (p.kind == PatternAst::Kind::Const)
      return g.add(program_.op_const(), program_.add_constant(to_tensor(eval(p.constant, env, g))),
                   std::span<const Id>());
    std::vector<Id> kids;
    for (const PatternAst& c : p.children) kids.push_back(build(c, env, g));
    std::vector<Attribute> attrs;
    for (const rules::Attr& a : p.attrs) {
      const Value v = eval(a.value, env, g);
      if (a.name == "*") {
        if (v.kind != Value::Kind::Attrs) throw Unknown{};
        for (const Attribute& x : v.attrs) attrs.push_back(x);
        continue;
      }
      // An explicit attribute replaces a copied one of the same name.
      attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [&](const Attribute& x) { return x.name == a.name; }),
                  attrs.end());
      attrs.push_back(to_attribute(a.name, v));
    }
    return g.add(g.intern_op(rule_op_key(p.name)), program_.op_payload(attrs, 1), kids);
  }

  // The right side must not change dtype or (known) shape, and must have inferred cleanly.
  static bool compatible(const TensorEGraph& g, Id built, Id matched) {
    const TensorData &b = g.data(built), &m = g.data(matched);
    if (!b.valid || b.types.size() != 1 || m.types.size() != 1) return false;
    const TensorType &x = b.types[0], &y = m.types[0];
    // Both unknown (values of an operator eqopt does not know) is allowed: nothing can disagree.
    if (x.dtype != y.dtype) return false;
    if (x.dims && y.dims) {
      if (x.dims->size() != y.dims->size()) return false;
      for (size_t i = 0; i < x.dims->size(); ++i) {
        const Dim &a = (*x.dims)[i], &c = (*y.dims)[i];
        if (a.known() && c.known() && a.value != c.value) return false;
        // A right side that knows a dim the matched value does not (or names another symbol) was
        // inferred under an assumption about that dim (e.g. a Concat unifying an unknown dim with
        // a known one): not valid for every value of it.
        if (!c.known() && (a.known() || (!c.param.empty() && !a.param.empty() && a.param != c.param))) return false;
      }
    } else if (x.dims.has_value() != y.dims.has_value() && y.dims) {
      return false;  // the right side's rank is unknown where the left's is known
    }
    return true;
  }

  TensorProgram& program_;
  const rules::Rule& rule_;
  eg::VarTable vars_;
  std::vector<AttrCheck> attr_checks_;
  std::vector<ConstLeaf> consts_;
  std::vector<std::string> const_names_;
  int payload_vars_ = 0;
};

}  // namespace

CompiledRules compile_rules(TensorProgram& program, const std::vector<rules::Rule>& rules,
                            const RuleSchedule& schedule) {
  CompiledRules out;
  out.directed = rules::expand_bidirectional(rules);
  std::vector<std::shared_ptr<CompiledRule>> compiled;
  for (const rules::Rule& r : out.directed) {
    eg::Rewrite<TensorEGraph> rw;
    auto c = std::make_shared<CompiledRule>(program, r, rw);
    rw.applier = [c](TensorEGraph& g, const MatchView& m) { return c->apply(g, m); };
    const auto has_tag = [&](const char* t) { return std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end(); };
    if (has_tag("ac")) rw.match_limit = schedule.ac_match_limit;
    if (r.lhs.size() > 1 || has_tag("multi")) {
      rw.iteration_limit = schedule.multi_iterations;
      rw.budget_group = kMultiGroup;
    }
    out.rewrites.push_back(std::move(rw));
    out.sources.push_back(&r);
  }
  return out;
}

}  // namespace eqopt::opt
