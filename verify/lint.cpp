#include "verify/lint.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "ir/op_registry.h"
#include "optimizer/rule_compiler.h"
#include "rules/guard.h"
#include "rules/parser.h"
#include "support/error.h"

namespace eqopt::verify {

using rules::Expr;
using rules::PatternAst;
using rules::Rule;
using Severity = LintMessage::Severity;

std::string LintMessage::str() const {
  std::string s = file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                  (severity == Severity::Error ? "error" : "warning") + ": ";
  if (!rule.empty()) s += "[" + rule + "] ";
  return s + message;
}

size_t LintReport::errors() const {
  return size_t(std::count_if(messages.begin(), messages.end(), [](const LintMessage& m) { return m.severity == Severity::Error; }));
}
size_t LintReport::warnings() const { return messages.size() - errors(); }

std::vector<std::string> rule_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> here;
      for (const auto& entry : fs::directory_iterator(p, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".rules") here.push_back(entry.path().string());
      if (ec) fail(p, ": cannot list the directory: ", ec.message());
      if (here.empty()) fail(p, ": no *.rules files in the directory");
      std::sort(here.begin(), here.end());
      files.insert(files.end(), here.begin(), here.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      fail(p, ": no such rule file or directory");
    }
  }
  return files;
}

std::vector<Rule> load_rules(const std::vector<std::string>& paths) {
  std::vector<Rule> all;
  std::map<std::string, std::pair<std::string, int>> seen;  // directed name -> where
  for (const std::string& f : rule_files(paths)) {
    for (Rule& r : rules::load_rule_file(f)) {
      std::vector<std::string> names{r.name};
      if (r.bidirectional) names.push_back(r.name + "-rev");
      for (const std::string& n : names) {
        auto [it, fresh] = seen.try_emplace(n, r.file, r.line);
        if (!fresh)
          fail(r.file, ":", r.line, ":", r.column, ": duplicate rule name '", n, "' (first defined at ", it->second.first,
               ":", it->second.second, ")");
      }
      all.push_back(std::move(r));
    }
  }
  return all;
}

namespace {

// Argument counts of the guard functions (min, max). A function the compiler knows but this table
// does not is only checked for existence.
const std::map<std::string, std::pair<size_t, size_t>>& function_arity() {
  static const std::map<std::string, std::pair<size_t, size_t>> arity = {
      {"rank", {1, 1}},     {"dim", {2, 2}},         {"shape", {1, 1}},   {"numel", {1, 1}},
      {"dtype", {1, 1}},    {"const", {1, 1}},       {"weight", {1, 1}},  {"value", {1, 1}},
      {"scalar", {1, 1}},   {"static", {1, 1}},      {"outputs", {1, 1}}, {"broadcastable", {2, 2}},
      {"compose", {2, 2}},  {"is_identity_perm", {1, 1}}, {"all_eq", {2, 2}}, {"contains", {2, 2}},
      {"len", {1, 1}},      {"attr", {3, 3}},        {"inverse_perm", {1, 1}}, {"index_of", {2, 2}},
      {"gather", {2, 2}},   {"pad_left", {3, 3}},    {"approx", {2, 3}},  {"sqrt", {1, 1}},
      {"initializer", {1, 1}}};
  return arity;
}

// Whether the op has an attribute of that name: one of its schema's, or one of its inputs' (the
// attribute an older opset had before it became that input: Clip's min and max, ReduceSum's and
// Squeeze's axes, Slice's starts; rules written for those opsets name it).
bool has_attribute(const OpSchema& schema, const std::string& name) {
  if (schema.attr(name)) return true;
  return std::any_of(schema.inputs.begin(), schema.inputs.end(), [&](const ValueSpec& v) { return v.name == name; });
}

// Renames variables ?v0, ?v1, ... in order of first appearance (`?root` keeps its name), so two
// rules that differ only in their variables' names print the same.
class Renamer {
 public:
  void pattern(PatternAst& p) {
    if (p.kind == PatternAst::Kind::Var) p.name = name(p.name);
    for (rules::Attr& a : p.attrs) expr(a.value);
    for (PatternAst& c : p.children) pattern(c);
  }
  void expr(Expr& e) {
    if (e.kind == Expr::Kind::Var) e.text = name(e.text);
    for (Expr& a : e.args) expr(a);
  }

 private:
  std::string name(const std::string& v) {
    if (v == "?root") return v;
    const std::string fresh = "?v" + std::to_string(names_.size());
    return names_.emplace(v, fresh).first->second;
  }
  std::map<std::string, std::string> names_;
};

// `first => second [if guard]` with variables renamed in order of first appearance.
std::string canonical(std::vector<PatternAst> first, std::vector<PatternAst> second, std::optional<Expr> guard) {
  Renamer r;
  for (PatternAst& p : first) r.pattern(p);
  if (guard) r.expr(*guard);
  for (PatternAst& p : second) r.pattern(p);
  std::string s;
  for (size_t i = 0; i < first.size(); ++i) s += (i ? ", " : "") + first[i].str();
  s += " => ";
  for (size_t i = 0; i < second.size(); ++i) s += (i ? ", " : "") + second[i].str();
  if (guard) s += " if " + guard->str();
  return s;
}

// A directed rule and the written rule it came from (a `<=>` rule gives two).
struct Directed {
  Rule rule;
  size_t written;  // index of the written rule, over all files
  bool has_error = false;
};

class Linter {
 public:
  explicit Linter(const LintOptions& options) : options_(options) {
    for (const std::string& f : rules::guard::function_names()) functions_.insert(f);
  }

  void add_file(const std::string& file, const std::function<std::vector<Rule>()>& parse) {
    file_order_.emplace(file, file_order_.size());
    ++report_.files;
    std::vector<Rule> written;
    try {
      written = parse();
    } catch (const Error& e) {
      parse_error(file, e.what());
      return;
    }
    for (const Rule& r : written) {
      const size_t index = written_count_++;
      const size_t errors_before = report_.errors();
      // Expressions and operators once per written rule (a `<=>` rule's two directions share them).
      check_written(r);
      std::vector<Rule> directed = rules::expand_bidirectional({r});
      for (const Rule& d : directed) check_names(d);
      const bool has_error = report_.errors() > errors_before;
      for (Rule& d : directed) {
        check_sides(d);
        directed_.push_back({std::move(d), index, has_error});
      }
    }
  }

  LintReport finish() {
    check_duplicates();
    check_undo_pairs();
    if (options_.instances) check_instances();
    report_.rules = directed_.size();
    auto key = [&](const LintMessage& m) {
      auto it = file_order_.find(m.file);
      return std::make_tuple(it == file_order_.end() ? file_order_.size() : it->second, m.line, m.column);
    };
    std::stable_sort(report_.messages.begin(), report_.messages.end(),
                     [&](const LintMessage& a, const LintMessage& b) { return key(a) < key(b); });
    return std::move(report_);
  }

 private:
  void add(Severity s, const std::string& file, int line, int column, const std::string& rule, std::string message) {
    report_.messages.push_back({s, file, line, column, rule, std::move(message)});
  }
  void error(const Rule& r, int line, int column, std::string message) {
    add(Severity::Error, r.file, line, column, r.name, std::move(message));
  }
  void warning(const Rule& r, int line, int column, std::string message) {
    add(Severity::Warning, r.file, line, column, r.name, std::move(message));
  }

  // The parser's "FILE:LINE:COL: message", as a message of that file.
  void parse_error(const std::string& file, const std::string& what) {
    int line = 0, column = 0;
    std::string message = what;
    if (what.rfind(file + ":", 0) == 0) {
      std::istringstream in(what.substr(file.size() + 1));
      char colon1 = 0, colon2 = 0;
      if (in >> line >> colon1 >> column >> colon2 && colon1 == ':' && colon2 == ':') {
        std::getline(in >> std::ws, message);
      } else {
        line = column = 0;
      }
    }
    add(Severity::Error, file, line, column, "", message);
  }

  // Rule names are unique within a file (the parser checks) and must be across files too, as
  // load_rule_dir requires.
  void check_names(const Rule& r) {
    auto [it, fresh] = names_.try_emplace(r.name, r.file, r.line);
    if (!fresh && it->second.first != r.file)
      error(r, r.line, r.column,
            "rule name '" + r.name + "' is also defined at " + it->second.first + ":" + std::to_string(it->second.second));
  }

  void check_written(const Rule& r) {
    if (r.guard) check_expr(r, *r.guard);
    for (const PatternAst& p : r.lhs) check_pattern(r, p);
    for (const PatternAst& p : r.rhs) check_pattern(r, p);
  }

  void check_sides(const Rule& r) {
    for (const PatternAst& p : r.lhs)
      if (p.is_var())
        warning(r, p.line, p.column, "the left side is the bare variable " + p.name + ": the rule matches every value");
    bool identical = r.lhs.size() == r.rhs.size();
    for (size_t i = 0; identical && i < r.lhs.size(); ++i) identical = r.lhs[i].str() == r.rhs[i].str();
    if (identical) warning(r, r.line, r.column, "both sides are identical: the rule changes nothing");
  }

  void check_expr(const Rule& r, const Expr& e) {
    if (e.kind == Expr::Kind::Call) {
      if (!functions_.count(e.text)) {
        error(r, e.line, e.column, "unknown guard function '" + e.text + "'");
      } else if (auto it = function_arity().find(e.text); it != function_arity().end()) {
        const auto [lo, hi] = it->second;
        if (e.args.size() < lo || e.args.size() > hi)
          error(r, e.line, e.column,
                e.text + " takes " + std::to_string(lo) + (hi != lo ? " or " + std::to_string(hi) : "") + " argument" +
                    (hi == 1 ? "" : "s") + ", given " + std::to_string(e.args.size()));
      }
    }
    for (const Expr& a : e.args) check_expr(r, a);
  }

  void check_pattern(const Rule& r, const PatternAst& p) {
    for (const PatternAst& c : p.children) check_pattern(r, c);
    for (const rules::Attr& a : p.attrs) check_expr(r, a.value);
    if (p.kind != PatternAst::Kind::Op) return;
    const OpId id = OpId::parse(p.name);
    const OpSchema* schema = OpRegistry::global().find(id);
    if (!schema) {
      error(r, p.line, p.column,
            "unknown operator '" + p.name + "'" + (id.domain.empty() ? "" : " (domain '" + id.domain + "')") +
                " (eqopt's own ops are written eqopt.Name)");
      return;
    }
    const int n = int(p.children.size());
    if (n < schema->min_inputs || (schema->max_inputs >= 0 && n > schema->max_inputs)) {
      const std::string range = schema->max_inputs < 0 ? "at least " + std::to_string(schema->min_inputs)
                                : schema->min_inputs == schema->max_inputs
                                    ? std::to_string(schema->min_inputs)
                                    : std::to_string(schema->min_inputs) + " to " + std::to_string(schema->max_inputs);
      error(r, p.line, p.column, p.name + " takes " + range + " inputs, given " + std::to_string(n));
    }
    if (schema->inputs.empty() && schema->attrs.empty()) return;  // no signature to read names from
    for (const rules::Attr& a : p.attrs)
      if (a.name != "*" && !has_attribute(*schema, a.name))
        error(r, a.line, a.column, p.name + " has no attribute '" + a.name + "'");
  }

  // Two directed rules equal up to renaming: the later one is redundant.
  void check_duplicates() {
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < directed_.size(); ++i) {
      const Rule& r = directed_[i].rule;
      auto [it, fresh] = first.emplace(canonical(r.lhs, r.rhs, r.guard), i);
      if (fresh) continue;
      const Rule& o = directed_[it->second].rule;
      warning(r, r.line, r.column,
              "duplicate of rule '" + o.name + "' (" + o.file + ":" + std::to_string(o.line) + ") up to renaming variables");
    }
  }

  // Separately written rules A and B with A's right side B's left side and vice versa (guards
  // aside): together they state one bidirectional rule. The two halves of one `<=>` rule are meant
  // that way, and a rule that is its own reverse (add-comm) "undoes" any rule of its shape (a
  // guarded commutation, a duplicate of itself), so it is left out.
  void check_undo_pairs() {
    std::multimap<std::string, size_t> by_sides;
    std::vector<bool> self_inverse(directed_.size());
    for (size_t i = 0; i < directed_.size(); ++i) {
      const Rule& r = directed_[i].rule;
      const std::string forward = canonical(r.lhs, r.rhs, std::nullopt);
      self_inverse[i] = forward == canonical(r.rhs, r.lhs, std::nullopt);
      by_sides.emplace(forward, i);
    }
    std::set<std::pair<size_t, size_t>> reported;
    for (size_t j = 0; j < directed_.size(); ++j) {
      const Rule& b = directed_[j].rule;
      auto [lo, hi] = by_sides.equal_range(canonical(b.rhs, b.lhs, std::nullopt));
      for (auto it = lo; it != hi; ++it) {
        const size_t i = it->second;
        if (i >= j || directed_[i].written == directed_[j].written || self_inverse[i] || self_inverse[j]) continue;
        if (!reported.emplace(i, j).second) continue;
        const Rule& a = directed_[i].rule;
        warning(b, b.line, b.column,
                "'" + a.name + "' (" + a.file + ":" + std::to_string(a.line) + ") and '" + b.name +
                    "' undo each other; write one bidirectional rule `<=>` or drop one");
      }
    }
  }

  // A rule whose right side never infers to the left side's type can never apply; one without any
  // instance may be dead (or beyond what the search proposes).
  void check_instances() {
    for (const Directed& d : directed_) {
      if (d.has_error) continue;
      const Rule& r = d.rule;
      InstanceSearch s;
      try {
        s = find_instances(r, options_.limits);
      } catch (const Error& e) {
        warning(r, r.line, r.column, std::string("instance search failed: ") + e.what());
        continue;
      }
      if (!s.instances.empty()) continue;
      if (s.guard_true > 0 && s.rhs_mismatch == s.guard_true) {
        const PatternAst& rhs = r.rhs.front();
        error(r, rhs.line, rhs.column,
              "the right side never keeps the left side's dtype and shape (" + std::to_string(s.guard_true) +
                  " bindings tried): " + s.first_rhs_mismatch);
      } else {
        warning(r, r.line, r.column, "no instance found: " + (s.note.empty() ? std::string("(no reason given)") : s.note));
      }
    }
  }

  LintOptions options_;
  LintReport report_;
  std::set<std::string> functions_;
  std::map<std::string, size_t> file_order_;
  std::map<std::string, std::pair<std::string, int>> names_;  // directed name -> (file, line)
  std::vector<Directed> directed_;
  size_t written_count_ = 0;
};

}  // namespace

LintReport lint_rules(const std::vector<std::string>& paths, const LintOptions& options) {
  Linter linter(options);
  for (const std::string& f : rule_files(paths)) linter.add_file(f, [&] { return rules::load_rule_file(f); });
  return linter.finish();
}

LintReport lint_text(const std::string& text, const std::string& file_name, const LintOptions& options) {
  Linter linter(options);
  linter.add_file(file_name, [&] { return rules::parse_rules(text, file_name); });
  return linter.finish();
}

}  // namespace eqopt::verify
