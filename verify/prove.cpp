#include "verify/prove.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <regex>
#include <set>
#include <unordered_map>

#include "egraph/runner.h"
#include "ir/op_registry.h"
#include "ir/shape_inference.h"
#include "optimizer/rule_compiler.h"
#include "optimizer/tensor_egraph.h"
#include "rules/parser.h"
#include "support/error.h"

namespace eqopt::verify {

using eg::Id;
using opt::TensorEGraph;
using rules::Expr;
using rules::PatternAst;

namespace {

// The shortest text that reads back as the same float32, with a decimal point so that it reads as a
// float literal of the rule language (2.0, not the integer 2).
std::string number_text(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

// ------------------------------------------------------------------ terms -> one model

// Builds both terms as one model: term variables are graph inputs named after the variable
// without its '?', `#c(V)` constants float32 scalar initializers, each operator one node.
class TermModelBuilder {
 public:
  explicit TermModelBuilder(const ProveOptions& options) : options_(options) {
    model_.opset_imports = {{"", 17}, {"eqopt", 1}};
    model_.producer_name = "eqopt rules prove";
  }

  // Adds a term; returns the name of its value. `line_offset` maps the parse's lines back to the
  // user's term for messages.
  std::string add(const PatternAst& p, const std::string& what, int line_offset) {
    switch (p.kind) {
      case PatternAst::Kind::Var: {
        const std::string name = p.name.substr(1);
        if (vars_.insert(p.name).second) {
          auto it = options_.shapes.find(p.name);
          const Shape shape = it != options_.shapes.end() ? it->second : options_.default_shape;
          model_.graph.inputs.push_back(ValueInfo{name, TensorType::of(DType::Float, shape)});
        }
        return name;
      }
      case PatternAst::Kind::Const: {
        // '#' cannot start a variable's input name, so constants never collide with inputs.
        const std::string name = "#c" + std::to_string(model_.graph.initializers.size());
        const double v = p.constant.kind == Expr::Kind::Int ? double(p.constant.int_value) : p.constant.float_value;
        model_.graph.initializers.push_back(Initializer{name, Tensor::scalar<float>(float(v)), ""});
        // Read through an Identity, the import folds it into a computed constant: the same e-node
        // a rule's right-side #c(...) builds, so a term's #c(0.0) and a rule's meet.
        Node n;
        n.op_type = "Identity";
        n.inputs = {name};
        n.outputs = {"%" + std::to_string(model_.graph.nodes.size())};
        n.name = n.outputs[0];
        model_.graph.nodes.push_back(n);
        return n.outputs[0];
      }
      case PatternAst::Kind::Op:
      case PatternAst::Kind::Choice: break;  // the parser leaves no choice in a term
    }
    Node n;
    const OpId id = OpId::parse(p.name);
    n.domain = id.domain;
    n.op_type = id.name;
    // Inference gives an unknown op an unknown type rather than an error, and no rule would match it.
    if (!OpRegistry::global().find(n.domain, n.op_type))
      fail(what, ":", p.line - line_offset, ":", p.column, ": unknown operator '", p.name, "'");
    for (const PatternAst& c : p.children) n.inputs.push_back(add(c, what, line_offset));
    for (const rules::Attr& a : p.attrs) n.attributes.push_back(to_attribute(a, what, line_offset));
    n.outputs.push_back("%" + std::to_string(model_.graph.nodes.size()));
    n.name = n.outputs[0];
    model_.graph.nodes.push_back(n);
    return n.outputs[0];
  }

  void add_output(const std::string& value) {
    const auto& inputs = model_.graph.inputs;
    auto it = std::find_if(inputs.begin(), inputs.end(), [&](const ValueInfo& v) { return v.name == value; });
    ValueInfo out;
    out.name = value;
    if (it != inputs.end()) out.type = it->type;
    model_.graph.outputs.push_back(out);
  }

  Model& model() { return model_; }
  const std::set<std::string>& vars() const { return vars_; }

 private:
  static Attribute to_attribute(const rules::Attr& a, const std::string& what, int line_offset) {
    const Expr& e = a.value;
    auto where = [&] { return what + ":" + std::to_string(a.line - line_offset) + ":" + std::to_string(a.column); };
    if (!e.is_literal() || a.name == "*")
      fail(where(), ": attribute '", a.name, "' must be a literal value in a term to prove (nothing binds ", e.str(), ")");
    switch (e.kind) {
      case Expr::Kind::Int: return Attribute::make_int(a.name, e.int_value);
      case Expr::Kind::Float: return Attribute::make_float(a.name, float(e.float_value));
      case Expr::Kind::String: return Attribute::make_string(a.name, e.text);
      case Expr::Kind::List: {
        bool ints = true;
        for (const Expr& x : e.args) {
          if (x.kind != Expr::Kind::Int && x.kind != Expr::Kind::Float)
            fail(where(), ": attribute '", a.name, "': a list of numbers expected");
          ints &= x.kind == Expr::Kind::Int;
        }
        if (ints) {
          std::vector<int64_t> v;
          for (const Expr& x : e.args) v.push_back(x.int_value);
          return Attribute::make_ints(a.name, v);
        }
        std::vector<float> v;
        for (const Expr& x : e.args) v.push_back(float(x.kind == Expr::Kind::Int ? double(x.int_value) : x.float_value));
        return Attribute::make_floats(a.name, v);
      }
      default: break;
    }
    fail(where(), ": attribute '", a.name, "' has an unsupported value ", e.str());
  }

  const ProveOptions& options_;
  Model model_;
  std::set<std::string> vars_;
};

// ------------------------------------------------------------------ explanations

// One union a rule made: its left instance joined to its right side.
struct Application {
  size_t rule;  // index into the compiled rules
  Id lhs, rhs;
};

// Writes the chain of rewrites between two e-nodes from the e-graph's proof forest (the method of
// egraph/explain.h). The compiled rules build their right sides in C++ (dynamic appliers), so
// explain.h cannot tell a rule step's direction by re-matching a right pattern; here every rule
// union is recorded with its left and right e-node (Application), which gives the direction
// exactly, and terms are printed in the rule language rather than as raw e-graph payloads.
class ProofWriter {
 public:
  ProofWriter(const opt::TensorProgram& program, const std::vector<Application>& apps,
              const std::vector<std::string>& rule_names)
      : p_(program), g_(program.egraph()), apps_(apps), names_(rule_names) {}

  std::vector<ProofStep> explain(Id a, Id b) {
    std::vector<ProofStep> out{{term(a), "", false}};
    explain_into(a, b, out);
    // Constant folding steps that print as the term before them (a #c read through the Identity
    // the term builder adds) say nothing to the reader.
    std::vector<ProofStep> kept;
    for (ProofStep& st : out)
      if (kept.empty() || st.rule != "<fold>" || st.term != kept.back().term) kept.push_back(std::move(st));
    return kept;
  }

  const std::string& term(Id n) {
    auto it = terms_.find(n);
    if (it != terms_.end()) return it->second;
    std::vector<std::string> kids;
    for (Id c : g_.original_children(n)) kids.push_back(term(c));
    std::string t = assemble(n, kids);
    // A term's #c(...) is built as Identity(initializer) so that it folds like a rule's constant;
    // print it as the user wrote it.
    if (kids.size() == 1 && kids[0].starts_with("#c(") && t == "(Identity " + kids[0] + ")") t = kids[0];
    return terms_.emplace(n, std::move(t)).first->second;
  }

 private:
  std::string constant(const Tensor& t) const {
    auto element = [&](int64_t i) {
      return is_floating(t.dtype()) ? number_text(float(t.as_double(i))) : std::to_string(t.as_int64(i));
    };
    if (t.dtype() == DType::String) return "#c(<string>)";
    if (t.rank() == 0) return "#c(" + element(0) + ")";
    std::string s = "#c(" + TensorType::of(t.dtype(), t.shape()).str() + ":";
    for (int64_t i = 0; i < t.numel() && i < 8; ++i) s += " " + element(i);
    return s + (t.numel() > 8 ? " ...)" : ")");
  }
  static std::string attribute(const Attribute& a) {
    auto list = [](const auto& xs, auto text) {
      std::string s = "[";
      for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + text(xs[i]);
      return s + "]";
    };
    switch (a.kind) {
      case Attribute::Kind::Int: return std::to_string(a.i);
      case Attribute::Kind::Float: return number_text(a.f);
      case Attribute::Kind::String: return Expr{Expr::Kind::String, a.s}.str();
      case Attribute::Kind::Ints: return list(a.ints, [](int64_t v) { return std::to_string(v); });
      case Attribute::Kind::Floats: return list(a.floats, [](float v) { return number_text(v); });
      default: return "<" + std::string(attribute_kind_name(a.kind)) + ">";
    }
  }
  std::string head(Id n) const {
    const std::string& op = g_.op_name(g_.node_op(n));
    const eg::PayloadId pl = g_.node_payload(n);
    if (op == "$input") return "?" + g_.payload_bytes(pl);
    if (op == "$weight" || op == "$const") return constant(p_.leaf_value(pl));
    if (op == "$none") return "_";
    if (op == "$out") return "$out{" + g_.payload_bytes(pl) + "}";
    std::string s = op;
    if (const size_t sep = s.find("::"); sep != std::string::npos) s.replace(sep, 2, ".");
    std::string attrs;
    for (const Attribute& a : p_.op_attributes(pl).attrs) {
      if (a.name.rfind("$outer:", 0) == 0) continue;
      attrs += (attrs.empty() ? "" : ", ") + a.name + "=" + attribute(a);
    }
    return attrs.empty() ? s : s + "{" + attrs + "}";
  }
  std::string assemble(Id n, const std::vector<std::string>& kids) const {
    const std::string h = head(n);
    if (h.front() == '?' || h.front() == '#' || h == "_") return h;
    std::string s = "(" + h;
    for (const std::string& k : kids) s += " " + k;
    return s + ")";
  }

  void explain_into(Id a, Id b, std::vector<ProofStep>& out) {
    if (a == b) return;
    std::vector<Id> up_a{a}, up_b{b};
    for (Id x = a; g_.proof_parent(x) != eg::kNoId;) up_a.push_back(x = g_.proof_parent(x));
    for (Id x = b; g_.proof_parent(x) != eg::kNoId;) up_b.push_back(x = g_.proof_parent(x));
    if (up_a.back() != up_b.back()) fail("prove: e-nodes ", a, " and ", b, " are not connected in the proof forest");
    while (up_a.size() > 1 && up_b.size() > 1 && up_a[up_a.size() - 2] == up_b[up_b.size() - 2]) {
      up_a.pop_back();
      up_b.pop_back();
    }
    for (size_t i = 0; i + 1 < up_a.size(); ++i) edge(up_a[i], up_a[i + 1], up_a[i], out);
    for (size_t i = up_b.size() - 1; i > 0; --i) edge(up_b[i], up_b[i - 1], up_b[i - 1], out);
  }

  // The proof-forest edge from x to y, whose justification is stored on `owner`.
  void edge(Id x, Id y, Id owner, std::vector<ProofStep>& out) {
    const eg::Justification j = g_.proof_justification(owner);
    switch (j.kind) {
      case eg::Justification::Kind::Rule: {
        const Application& app = apps_.at(j.rule);
        if (!((x == app.lhs && y == app.rhs) || (x == app.rhs && y == app.lhs)))
          fail("prove: proof edge ", x, " - ", y, " is not the union rule '", names_.at(app.rule), "' made");
        out.push_back({term(y), names_.at(app.rule), x == app.rhs});
        return;
      }
      case eg::Justification::Kind::None:
        // The analysis joins a class with the constant it computed (constant folding).
        out.push_back({term(y), "<fold>", false});
        return;
      case eg::Justification::Kind::Congruence: {
        const auto kx = g_.original_children(x), ky = g_.original_children(y);
        std::vector<std::string> cur;
        for (Id c : kx) cur.push_back(term(c));
        for (size_t i = 0; i < kx.size() && i < ky.size(); ++i) {
          std::vector<ProofStep> sub{{cur[i], "", false}};
          explain_into(kx[i], ky[i], sub);
          for (size_t s = 1; s < sub.size(); ++s) {
            cur[i] = sub[s].term;
            out.push_back({assemble(x, cur), sub[s].rule, sub[s].backward});
          }
        }
        return;
      }
    }
  }

  const opt::TensorProgram& p_;
  const TensorEGraph& g_;
  const std::vector<Application>& apps_;
  const std::vector<std::string>& names_;
  std::unordered_map<Id, std::string> terms_;
};

std::string stop_text(eg::StopReason r) {
  switch (r) {
    case eg::StopReason::Saturated: return "saturated";
    case eg::StopReason::IterationLimit: return "iteration limit";
    case eg::StopReason::NodeLimit: return "node limit";
    case eg::StopReason::TimeLimit: return "time limit";
    case eg::StopReason::MemoryLimit: return "memory limit";
    case eg::StopReason::Hook: return "equal";
  }
  return "?";
}

}  // namespace

rules::PatternAst parse_term(const std::string& text, const std::string& what) {
  // The parser reads whole rules, so the term is wrapped as `TERM => TERM` (a term binds its own
  // variables); the term starts on line 2, so positions are moved up one line.
  const std::string source = "rule term:\n" + text + "\n=> " + text + "\n";
  const int term_lines = int(std::count(text.begin(), text.end(), '\n')) + 1;
  std::vector<rules::Rule> parsed;
  try {
    parsed = rules::parse_rules(source, what);
  } catch (const Error& e) {
    // "WHAT:LINE:COL: message" -> the same position in the user's text.
    static const std::regex pos("^(.*?):([0-9]+):([0-9]+): (.*)$");
    std::smatch m;
    const std::string msg = e.what();
    if (std::regex_match(msg, m, pos) && m[1] == what) {
      const int line = std::stoi(m[2]);
      if (line >= 2 && line <= term_lines + 1) fail(what, ":", line - 1, ":", m[3].str(), ": ", m[4].str());
      // The parser read on into the `=>` that follows: the term stopped before it was complete.
      if (line == term_lines + 2 && std::stoi(m[3]) <= 2) {
        const size_t last_line = text.rfind('\n');
        const size_t end_column = text.size() - (last_line == std::string::npos ? 0 : last_line + 1) + 1;
        fail(what, ":", term_lines, ":", end_column, ": the term ends too early (", m[4].str(), ")");
      }
      fail(what, ": ", m[4].str(), " (in `", text, "`)");
    }
    throw;
  }
  if (parsed.size() > 1) fail(what, ": a term is one pattern; it cannot mark variants with '*' (in `", text, "`)");
  if (parsed.size() != 1 || parsed[0].lhs.size() != 1)
    fail(what, ": one term expected, found ", parsed.empty() ? 0 : parsed[0].lhs.size(), " in `", text, "`");
  return parsed[0].lhs[0];
}

ProveResult prove_terms(const std::string& term_a, const std::string& term_b, const std::vector<rules::Rule>& rules,
                        const ProveOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const PatternAst a = parse_term(term_a, "term A"), b = parse_term(term_b, "term B");
  TermModelBuilder builder(options);
  const std::string out_a = builder.add(a, "term A", 1), out_b = builder.add(b, "term B", 1);
  builder.add_output(out_a);
  builder.add_output(out_b);
  for (const auto& given : options.shapes)
    if (!builder.vars().count(given.first)) fail("prove: a shape is given for ", given.first, ", which neither term uses");

  ProveResult result;
  Model& model = builder.model();
  for (const ValueInfo& in : model.graph.inputs)
    result.inputs += (result.inputs.empty() ? "?" : ", ?") + in.name + ": " + in.type.str();
  try {
    infer_model(model);
  } catch (const Error& e) {
    fail("prove: the terms do not type-check with ", result.inputs.empty() ? "no inputs" : result.inputs, ": ", e.what());
  }

  opt::ImportOptions import;
  import.explanations = true;
  opt::TensorProgram program(model, import);
  TensorEGraph& g = program.egraph();
  opt::CompiledRules compiled = opt::compile_rules(program, rules);
  std::vector<std::string> names;
  for (const auto& rw : compiled.rewrites) names.push_back(rw.name);

  // Each compiled rule builds its right side and hands it back for the runner to join with the
  // matched class, which may be any e-node of it. For a proof each union must join the rule's own
  // left instance, so the applier is wrapped: it instantiates the left patterns with the match and
  // joins them itself (the instance is congruent to the matched e-node, which the rebuild records),
  // then declines, so the runner adds no union of its own.
  auto apps = std::make_shared<std::vector<Application>>();
  for (size_t k = 0; k < compiled.rewrites.size(); ++k) {
    eg::Rewrite<TensorEGraph>& rw = compiled.rewrites[k];
    rw.applier = [apps, k, inner = std::move(rw.applier), lhs = rw.lhs, nv = rw.vars.vars.size()](
                     TensorEGraph& graph, const eg::MatchView& m) -> std::vector<Id> {
      const std::vector<Id> built = inner(graph, m);
      const eg::PayloadId* pvars = m.entry + m.num_patterns + nv;
      for (size_t i = 0; i < built.size() && i < lhs.size(); ++i) {
        const Id left = eg::instantiate(graph, lhs[i], m.vars(), pvars);
        apps->push_back({k, left, built[i]});
        graph.merge(left, built[i], eg::Justification{eg::Justification::Kind::Rule, uint32_t(apps->size() - 1)});
      }
      return {};
    };
  }

  const Id root_a = program.output_classes()[0], root_b = program.output_classes()[1];
  eg::RunnerLimits limits;
  limits.iterations = options.max_iterations;
  limits.nodes = options.max_nodes;
  limits.seconds = options.seconds;
  limits.group_nodes.assign(opt::kMultiGroup + 1, 20000);
  eg::Runner<TensorEGraph> runner(g, limits, eg::SchedulerKind::Backoff);
  eg::StopReason stop = eg::StopReason::Hook;
  if (g.find(root_a) != g.find(root_b) && !compiled.rewrites.empty()) {
    runner.after_iteration([&](eg::Runner<TensorEGraph>&) { return g.find(root_a) != g.find(root_b); });
    stop = runner.run(compiled.rewrites);
  }
  result.proved = g.find(root_a) == g.find(root_b);
  result.stop = result.proved ? "equal" : compiled.rewrites.empty() ? "no rules" : stop_text(stop);
  ProofWriter writer(program, *apps, names);
  result.term_a = writer.term(root_a);
  result.term_b = writer.term(root_b);
  if (result.proved) result.steps = writer.explain(root_a, root_b);
  result.rules = compiled.rewrites.size();
  result.iterations = runner.iterations().size();
  result.enodes = g.num_nodes();
  result.eclasses = g.num_classes();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string proof_text(const ProveResult& result) {
  std::string s;
  for (size_t i = 0; i < result.steps.size(); ++i) {
    const ProofStep& st = result.steps[i];
    if (i == 0)
      s += "  " + st.term + "\n";
    else
      s += "  = " + st.term + "   [" + st.rule + (st.backward ? ", backward" : "") + "]\n";
  }
  return s;
}

}  // namespace eqopt::verify
