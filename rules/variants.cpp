// Expansion of predicates and rule variants (rules/variants.h, docs/rule-language.md).
#include "rules/variants.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>

#include "support/error.h"

namespace eqopt::rules {

// ---------------------------------------------------------------------------------------------
// Predicates

const Predicate* Predicates::find(const std::string& name) const {
  auto it = table_.find(name);
  return it == table_.end() ? nullptr : &it->second;
}

void Predicates::define(Predicate p) {
  const std::string name = p.name;
  table_.emplace(name, std::move(p));
}

namespace {

Expr substitute(const Expr& e, const std::map<std::string, const Expr*>& args) {
  if (e.is_var()) {
    auto it = args.find(e.text);
    if (it != args.end()) return *it->second;
  }
  Expr out = e;
  for (Expr& a : out.args) a = substitute(a, args);
  return out;
}

bool is_chain_op(const Expr& e) { return e.kind == Expr::Kind::Binary && (e.text == "&&" || e.text == "||"); }

// `l OP r` with r's chain of OP (its left spine) continued on the left: (l OP r1) OP r2 for r = r1 OP r2.
Expr join_chain(const std::string& op, Expr l, Expr r) {
  if (r.kind == Expr::Kind::Binary && r.text == op) {
    Expr out = std::move(r);
    out.args[0] = join_chain(op, std::move(l), std::move(out.args[0]));
    out.line = out.args[0].line;
    out.column = out.args[0].column;
    return out;
  }
  Expr out;
  out.kind = Expr::Kind::Binary;
  out.text = op;
  out.line = l.line;
  out.column = l.column;
  out.args.push_back(std::move(l));
  out.args.push_back(std::move(r));
  return out;
}

}  // namespace

Expr Predicates::expand(const Expr& e) const {
  std::vector<std::string> calling;
  return expand(e, calling);
}

Expr Predicates::expand(const Expr& e, std::vector<std::string>& calling) const {
  const Predicate* p = e.kind == Expr::Kind::Call ? find(e.text) : nullptr;
  if (p) {
    if (e.args.size() != p->params.size())
      fail(file_, ":", e.line, ":", e.column, ": predicate '", p->name, "' takes ", p->params.size(), " argument",
           p->params.size() == 1 ? "" : "s", ", given ", e.args.size());
    if (std::find(calling.begin(), calling.end(), p->name) != calling.end()) {
      std::string chain;
      for (const std::string& c : calling) chain += c + " -> ";
      fail(file_, ":", e.line, ":", e.column, ": predicate '", p->name, "' calls itself (", chain, p->name,
           "); predicates cannot be recursive");
    }
    std::vector<Expr> args;
    for (const Expr& a : e.args) args.push_back(expand(a, calling));
    calling.push_back(p->name);
    const Expr body = expand(p->body, calling);
    calling.pop_back();
    std::map<std::string, const Expr*> bound;
    for (size_t i = 0; i < args.size(); ++i) bound[p->params[i]] = &args[i];
    return substitute(body, bound);
  }
  Expr out = e;
  for (Expr& a : out.args) a = expand(a, calling);
  if (is_chain_op(out) && e.args[1].kind == Expr::Kind::Call && find(e.args[1].text))
    return join_chain(out.text, std::move(out.args[0]), std::move(out.args[1]));
  return out;
}

PatternAst Predicates::expand(const PatternAst& p) const {
  PatternAst out = p;
  for (Attr& a : out.attrs) a.value = expand(a.value);
  if (out.kind == PatternAst::Kind::Const) out.constant = expand(out.constant);
  for (PatternAst& c : out.children) c = expand(c);
  return out;
}

void Predicates::expand(Rule& r) const {
  if (table_.empty()) return;
  if (r.guard) r.guard = expand(*r.guard);
  for (PatternAst& p : r.rhs) p = expand(p);
}

// ---------------------------------------------------------------------------------------------
// Variants

namespace {

using Form = PatternAst::Form;

const char* mark_of(Form f) { return f == Form::First ? "?" : "+"; }

class Expander {
 public:
  Expander(const Rule& r, const SecondName& second) : r_(r), second_(second) {}

  std::vector<Rule> run() {
    for (const PatternAst& p : r_.lhs) scan_left(p, true);
    for (const PatternAst& p : r_.lhs) check_single_use(p);
    for (const PatternAst& p : r_.rhs) scan_right(p);
    const bool two_forms = !operands_.empty() || wrappers_ > 0;
    if (two_forms && second_.name.empty())
      error(r_.line, r_.column,
            "rule '" + r_.name + "' has parts marked ? or +, so it has two forms: name both, `rule " + r_.name + " / NAME2`");
    if (!two_forms && !second_.name.empty())
      error(second_.line, second_.column,
            "rule '" + r_.name + "' names a second form '" + second_.name + "' but marks no part with ? or +");
    if (!two_forms && swapped_.empty()) return {r_};
    std::vector<Rule> out;
    if (!two_forms) {
      add_orders(r_, out);
      return out;
    }
    add_orders(form(Form::First, r_.name), out);
    add_orders(form(Form::Second, second_.name), out);
    return out;
  }

 private:
  [[noreturn]] void error(int line, int column, const std::string& msg) const {
    fail(r_.file, ":", line, ":", column, ": ", msg);
  }

  // ---- checks of where marks may stand
  void scan_left(const PatternAst& p, bool root) {
    switch (p.kind) {
      case PatternAst::Kind::Const: return;
      case PatternAst::Kind::Choice:
        error(p.line, p.column, "(if " + p.name + " ...) chooses what to build: it belongs on the right-hand side");
      case PatternAst::Kind::Var:
        if (p.form == Form::Both) return;
        if (root)
          error(p.line, p.column,
                "only an operand can be marked " + std::string(mark_of(p.form)) + ": " + p.str() + " is a whole side");
        if (!operands_.emplace(p.name, p.form).second) error(p.line, p.column, "variable " + p.name + " is marked twice");
        return;
      case PatternAst::Kind::Op: break;
    }
    if (p.swap) {
      if (p.children.size() != 2)
        error(p.line, p.column, "'" + p.name + "*' marks the order of two operands; it has " + std::to_string(p.children.size()));
      if (r_.bidirectional) error(p.line, p.column, "operand orders ('*') are for rules written with '=>', not '<=>'");
      swapped_.push_back(&p);
    }
    if (p.form != Form::Both) check_wrapper(p);
    for (Form f : {Form::First, Form::Second}) {
      bool dropped = false;
      for (const PatternAst& c : p.children) {
        const bool drop = c.is_var() && c.form != Form::Both && c.form != f;
        if (dropped && !drop)
          error(c.line, c.column, "operands marked ? or + come last: " + c.str() + " follows one that the other form drops");
        dropped = dropped || drop;
      }
    }
    for (const PatternAst& c : p.children) scan_left(c, false);
  }

  // An operator marked ? or + stands in one form only; in the other its one operand takes its place.
  void check_wrapper(const PatternAst& p) {
    if (p.children.size() != 1)
      error(p.line, p.column,
            "'" + p.name + mark_of(p.form) + "' is dropped in one form and its operand kept: it needs one operand, not " +
                std::to_string(p.children.size()));
    for (const Attr& a : p.attrs) {
      std::vector<std::string> vs;
      collect_vars(a.value, vs);
      if (!vs.empty())
        error(a.line, a.column, "'" + p.name + mark_of(p.form) + "' is in one form only: its attributes cannot bind variables");
    }
    ++wrappers_;
  }

  // A marked operand is the only place its variable is bound.
  void check_single_use(const PatternAst& p) {
    if (p.is_var() && p.form == Form::Both && operands_.count(p.name))
      error(p.line, p.column, "variable " + p.name + " is a marked operand; it cannot appear elsewhere on the left-hand side");
    for (const Attr& a : p.attrs) {
      std::vector<std::string> vs;
      collect_vars(a.value, vs);
      for (const std::string& v : vs)
        if (operands_.count(v))
          error(a.line, a.column, "variable " + v + " is a marked operand; it cannot appear elsewhere on the left-hand side");
    }
    for (const PatternAst& c : p.children) check_single_use(c);
  }

  void scan_right(const PatternAst& p) {
    if (p.is_var() && p.form != Form::Both)
      error(p.line, p.column, "mark operands on the left-hand side only; the right-hand side drops every operand that uses them");
    if (p.kind == PatternAst::Kind::Choice) {
      if (r_.bidirectional)
        error(p.line, p.column, "(if " + p.name + " ...) cannot be matched: not in a rule written with '<=>'");
      if (!operands_.count(p.name))
        error(p.line, p.column,
              "(if " + p.name + " ...) needs " + p.name + " marked on the left (" + p.name + "? or " + p.name + "+)");
    }
    if (p.kind == PatternAst::Kind::Op) {
      if (p.swap) error(p.line, p.column, "'*' marks operand orders on the left-hand side only");
      if (p.form != Form::Both) check_wrapper(p);
    }
    for (const PatternAst& c : p.children) scan_right(c);
  }

  // ---- one form
  bool present(const std::string& v, Form f) const {
    auto it = operands_.find(v);
    return it == operands_.end() || it->second == f;
  }

  static bool mentions(const PatternAst& p, const std::set<std::string>& vars) {
    std::vector<std::string> vs;
    if (p.is_var() || p.kind == PatternAst::Kind::Choice) vs.push_back(p.name);
    if (p.kind == PatternAst::Kind::Const) collect_vars(p.constant, vs);
    for (const Attr& a : p.attrs) collect_vars(a.value, vs);
    for (const std::string& v : vs)
      if (vars.count(v)) return true;
    for (const PatternAst& c : p.children)
      if (mentions(c, vars)) return true;
    return false;
  }

  // p in form f, or nothing for an operand the form leaves out: choices made, the other form's
  // operators dropped (their operand kept), its marked operands (left) and the operands that are its
  // absent variables (right) left out, which must leave no gap. No mark is left but '*'.
  std::optional<PatternAst> resolve(const PatternAst& p, Form f, const std::set<std::string>& absent) const {
    if (p.kind == PatternAst::Kind::Choice) {
      if (present(p.name, f)) return resolve(p.children[0], f, absent);
      if (p.children.size() == 1) return std::nullopt;
      const PatternAst& without = p.children[1];
      if (mentions(without, {p.name}))
        error(without.line, without.column, "(if " + p.name + " A B) builds B where " + p.name + " is absent: B cannot use it");
      return resolve(without, f, absent);
    }
    if (p.kind == PatternAst::Kind::Op && p.form != Form::Both && p.form != f) return resolve(p.children[0], f, absent);
    PatternAst out = p;
    out.form = Form::Both;
    out.children.clear();
    const PatternAst* left_out = nullptr;
    for (const PatternAst& c : p.children) {
      std::optional<PatternAst> kept;
      if (!(c.is_var() && ((c.form != Form::Both && c.form != f) || absent.count(c.name)))) kept = resolve(c, f, absent);
      if (!kept) {
        left_out = left_out ? left_out : &c;
        continue;
      }
      if (left_out)
        error(c.line, c.column,
              "the form without " + left_out->str() + " leaves out an operand of " + p.name +
                  " before this one; only trailing operands can be left out");
      out.children.push_back(std::move(*kept));
    }
    if (left_out && out.children.empty())
      error(p.line, p.column, "the form without " + left_out->str() + " leaves " + p.name + " no operand");
    return out;
  }

  // A resolved right side may not use a variable its form lacks anywhere but as a whole operand.
  void check_absent(const PatternAst& p, const std::set<std::string>& absent, const std::string& form_name) const {
    auto absent_in = [&](const Expr& e) -> std::string {
      std::vector<std::string> vs;
      collect_vars(e, vs);
      for (const std::string& v : vs)
        if (absent.count(v)) return v;
      return "";
    };
    const std::string hint = ": choose what to build with (if ?v A B), or (if ?v A) for an operand left out without ?v";
    if (p.is_var() && absent.count(p.name))
      error(p.line, p.column, "the right-hand side is " + p.name + ", which form '" + form_name + "' lacks");
    if (p.kind == PatternAst::Kind::Const)
      if (const std::string v = absent_in(p.constant); !v.empty())
        error(p.line, p.column, "#c(...) uses " + v + ", which form '" + form_name + "' lacks" + hint);
    for (const Attr& a : p.attrs)
      if (const std::string v = absent_in(a.value); !v.empty())
        error(a.line, a.column, "attribute '" + a.name + "' uses " + v + ", which form '" + form_name + "' lacks" + hint);
    for (const PatternAst& c : p.children) {
      if (c.is_var() && absent.count(c.name))
        error(c.line, c.column, "operand " + c.name + " of " + p.name + " is absent from form '" + form_name + "'" + hint);
      check_absent(c, absent, form_name);
    }
  }

  // The guard without its conditions on absent variables: a top-level conjunct that uses one is
  // dropped, and may use nothing else.
  std::optional<Expr> guard_form(const std::set<std::string>& absent, const std::string& form_name) const {
    if (!r_.guard || absent.empty()) return r_.guard;
    std::vector<const Expr*> conjuncts;
    flatten_and(*r_.guard, conjuncts);
    std::vector<const Expr*> kept;
    for (const Expr* c : conjuncts) {
      std::vector<std::string> vs;
      collect_vars(*c, vs);
      const auto a = std::find_if(vs.begin(), vs.end(), [&](const std::string& v) { return absent.count(v) > 0; });
      if (a == vs.end()) {
        kept.push_back(c);
        continue;
      }
      const auto other = std::find_if(vs.begin(), vs.end(), [&](const std::string& v) { return !absent.count(v); });
      if (other != vs.end())
        error(c->line, c->column,
              "the guard's condition `" + c->str() + "` uses " + *a + ", which form '" + form_name + "' lacks, and " + *other +
                  ": a condition that the form drops may use only the variables it lacks");
    }
    if (kept.size() == conjuncts.size()) return r_.guard;
    if (kept.empty()) return std::nullopt;
    Expr g = *kept[0];
    for (size_t i = 1; i < kept.size(); ++i) g = join_chain("&&", std::move(g), *kept[i]);
    return g;
  }

  static void flatten_and(const Expr& e, std::vector<const Expr*>& out) {
    if (e.kind == Expr::Kind::Binary && e.text == "&&") {
      flatten_and(e.args[0], out);
      flatten_and(e.args[1], out);
    } else {
      out.push_back(&e);
    }
  }

  Rule form(Form f, const std::string& name) const {
    std::set<std::string> absent;
    for (const auto& [v, g] : operands_)
      if (g != f) absent.insert(v);
    Rule out = r_;
    out.name = name;
    out.lhs.clear();
    out.rhs.clear();
    for (const PatternAst& p : r_.lhs) out.lhs.push_back(*resolve(p, f, absent));
    for (const PatternAst& p : r_.rhs) {
      std::optional<PatternAst> q = resolve(p, f, absent);
      if (!q) error(p.line, p.column, "form '" + name + "' leaves out the whole right-hand side");
      check_absent(*q, absent, name);
      out.rhs.push_back(std::move(*q));
    }
    out.guard = guard_form(absent, name);
    out.text = out.patterns_str();
    return out;
  }

  // ---- operand orders
  static void swap_marked(std::vector<PatternAst>& ps, uint32_t mask) {
    int index = 0;
    std::function<void(PatternAst&)> walk = [&](PatternAst& p) {
      if (p.swap) {
        if (mask & (1u << index)) std::swap(p.children[0], p.children[1]);
        p.swap = false;
        ++index;
      }
      for (PatternAst& c : p.children) walk(c);
    };
    for (PatternAst& p : ps) walk(p);
  }

  void add_orders(const Rule& r, std::vector<Rule>& out) const {
    const size_t k = swapped_.size();
    if (k > 3) error(r_.line, r_.column, "rule '" + r_.name + "' marks " + std::to_string(k) + " operators with '*'; at most 3");
    for (const PatternAst* p : swapped_)
      if (p->children[0].str() == p->children[1].str())
        error(p->line, p->column, "'" + p->name + "*': its operands are the same, so swapping them gives the same rule");
    for (uint32_t mask = 0; mask < (1u << k); ++mask) {
      Rule v = r;
      swap_marked(v.lhs, mask);
      if (mask) {
        v.name += "-swapped";
        if (k > 1)
          for (size_t i = 0; i < k; ++i)
            if (mask & (1u << i)) v.name += '-' + std::to_string(i + 1);
      }
      if (k) v.text = v.patterns_str();
      out.push_back(std::move(v));
    }
  }

  const Rule& r_;
  const SecondName& second_;
  std::map<std::string, Form> operands_;  // marked operand variables and their form
  int wrappers_ = 0;                      // operators marked ? or +
  std::vector<const PatternAst*> swapped_;
};

}  // namespace

std::vector<Rule> expand_variants(const Rule& r, const SecondName& second) { return Expander(r, second).run(); }

}  // namespace eqopt::rules
