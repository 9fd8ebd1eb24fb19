// Recursive-descent parser of the rule language over a character scanner that tracks line and
// column, so every error names FILE:LINE:COLUMN. See docs/rule-language.md for the grammar.
#include "rules/parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "rules/guard.h"
#include "rules/variants.h"
#include "support/error.h"

namespace eqopt::rules {

// ---------------------------------------------------------------------------------------------
// Printing

bool Expr::is_literal() const {
  switch (kind) {
    case Kind::Int:
    case Kind::Float:
    case Kind::String: return true;
    case Kind::List: return std::all_of(args.begin(), args.end(), [](const Expr& e) { return e.is_literal(); });
    default: return false;
  }
}

int Expr::precedence(const std::string& op) {
  if (op == "||") return 1;
  if (op == "&&") return 2;
  if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=") return 3;
  if (op == "+" || op == "-") return 4;
  if (op == "*" || op == "/" || op == "%") return 5;
  return 0;
}

namespace {

constexpr int kComparison = 3;

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

bool is_negative_literal(const Expr& e) {
  return (e.kind == Expr::Kind::Int || e.kind == Expr::Kind::Float) && !e.text.empty() && e.text[0] == '-';
}

template <class T, class F>
std::string join(const std::vector<T>& v, F&& f, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += f(v[i]);
  }
  return out;
}

}  // namespace

std::string Expr::str() const {
  auto s = [](const Expr& e) { return e.str(); };
  switch (kind) {
    case Kind::Int:
    case Kind::Float:
    case Kind::Var: return text;
    case Kind::String: return quote(text);
    case Kind::List: return "[" + join(args, s) + "]";
    case Kind::Call: return text + "(" + join(args, s) + ")";
    case Kind::Index: {
      const Expr& b = args[0];
      const bool paren = b.kind == Kind::Unary || b.kind == Kind::Binary || is_negative_literal(b);
      return (paren ? "(" + b.str() + ")" : b.str()) + "[" + args[1].str() + "]";
    }
    case Kind::Unary: {
      const Expr& o = args[0];
      const bool paren = o.kind == Kind::Unary || o.kind == Kind::Binary || is_negative_literal(o);
      return text + (paren ? "(" + o.str() + ")" : o.str());
    }
    case Kind::Binary: {
      const int p = precedence(text);
      const Expr &l = args[0], &r = args[1];
      const bool pl = l.kind == Kind::Binary && (precedence(l.text) < p || (p == kComparison && precedence(l.text) == p));
      const bool pr = r.kind == Kind::Binary && precedence(r.text) <= p;
      return (pl ? "(" + l.str() + ")" : l.str()) + " " + text + " " + (pr ? "(" + r.str() + ")" : r.str());
    }
  }
  return text;
}

void collect_vars(const Expr& e, std::vector<std::string>& out) {
  if (e.kind == Expr::Kind::Var) {
    if (std::find(out.begin(), out.end(), e.text) == out.end()) out.push_back(e.text);
    return;
  }
  for (const Expr& a : e.args) collect_vars(a, out);
}

const Attr* PatternAst::attr(const std::string& n) const {
  for (const Attr& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

std::string PatternAst::str() const {
  const char* mark = form == Form::First ? "?" : form == Form::Second ? "+" : "";
  switch (kind) {
    case Kind::Var: return name + mark;
    case Kind::Const: return "#c(" + constant.str() + ")";
    case Kind::Choice:
      return "(if " + name + " " + children.at(0).str() + (children.size() > 1 ? " " + children[1].str() : "") + ")";
    case Kind::Op: break;
  }
  std::string head = name + (swap ? "*" : "") + mark;
  if (!attrs.empty()) head += "{" + join(attrs, [](const Attr& a) { return a.name + "=" + a.value.str(); }) + "}";
  if (!parenthesized) return head;
  std::string out = "(" + head;
  for (const PatternAst& c : children) out += " " + c.str();
  return out + ")";
}

bool Rule::has_tag(const std::string& t) const { return std::find(tags.begin(), tags.end(), t) != tags.end(); }

std::string Rule::patterns_str() const {
  auto s = [](const PatternAst& p) { return p.str(); };
  return join(lhs, s) + (bidirectional ? " <=> " : " => ") + join(rhs, s);
}

std::string Rule::str() const {
  std::string out = "rule " + name;
  if (!tags.empty()) out += " [" + join(tags, [](const std::string& t) { return t; }) + "]";
  out += ":\n  " + patterns_str() + "\n";
  if (guard) out += "  if " + guard->str() + "\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_alpha(c) || is_digit(c); }
bool is_name_char(char c) { return is_ident_char(c) || c == '-' || c == '.'; }
bool is_op_char(char c) { return is_ident_char(c) || c == '.'; }

// Where a variable is bound on one side of a rule, and as what.
struct Binding {
  bool term = false;  // bound by a pattern leaf (an e-class); false: by an attribute value
  int line = 0, column = 0;
};
using Bindings = std::map<std::string, Binding>;

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

class Parser {
 public:
  Parser(std::string_view src, const std::string& file) : src_(src), file_(file), predicates_(file) {
    category_ = std::filesystem::path(file).stem().string();
  }

  std::vector<Rule> parse_file() {
    skip_ws();
    while (!eof()) {
      const int l = line_, c = col_;
      const std::string word = read_while(is_ident_char);
      if (word == "category") {
        skip_ws();
        std::string cat = read_while(is_name_char);
        if (cat.empty()) error("expected a category name after 'category'");
        category_ = cat;
      } else if (word == "rule") {
        templates_.push_back(parse_rule(l, c));
      } else if (word == "predicate") {
        parse_predicate();
      } else if (word == "for") {
        parse_for(l, c);
      } else if (word.empty()) {
        error("expected 'rule', 'category', 'predicate' or 'for', found " + describe_here());
      } else {
        error_at(l, c, "unknown keyword '" + word + "' (expected 'rule', 'category', 'predicate' or 'for')");
      }
      skip_ws();
    }
    // Predicates may be used before their definition, so they are expanded once the file is read.
    std::vector<Rule> rules;
    for (Template& t : templates_) {
      predicates_.expand(t.rule);
      for (Rule& r : expand_variants(t.rule, t.second)) {
        if (t.generated && r.text == t.rule.text) r.text = r.patterns_str();
        check_variables(r);
        register_name(r, r.name == t.second.name ? std::pair{t.second.line, t.second.column} : t.name_pos);
        rules.push_back(std::move(r));
      }
    }
    return rules;
  }

 private:
  // A rule as written, before its predicates and variants are expanded.
  struct Template {
    Rule rule;
    SecondName second;              // `rule NAME / SECOND`
    std::pair<int, int> name_pos;   // of NAME
    bool generated = false;         // in a `for` block: its text is printed, not copied
  };
  // The variable of the enclosing `for` block and its value for this pass over the block.
  struct BlockVar {
    std::string name, value;  // name with its '$'
    bool used = false;        // whether the rule name being read used it
  };

  std::string_view src_;
  std::string file_;
  std::string category_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
  std::vector<Template> templates_;
  Predicates predicates_;
  std::optional<BlockVar> block_;
  struct NameUse {
    int line;
    std::string reverse_of;  // non-empty: the name is the reverse of this bidirectional rule
  };
  std::map<std::string, NameUse> names_;

  // ---- scanner ----
  bool eof() const { return pos_ >= src_.size(); }
  char cur() const { return eof() ? '\0' : src_[pos_]; }
  char at(size_t k) const { return pos_ + k < src_.size() ? src_[pos_ + k] : '\0'; }
  void advance(size_t n = 1) {
    for (size_t i = 0; i < n && !eof(); ++i) {
      if (src_[pos_] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
      ++pos_;
    }
  }
  bool at_constant() const { return cur() == '#' && at(1) == 'c' && at(2) == '('; }
  void skip_ws() {
    while (!eof()) {
      const char c = cur();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '#' && !at_constant()) {
        while (!eof() && cur() != '\n') advance();
      } else {
        break;
      }
    }
  }
  bool peek(std::string_view s) {
    skip_ws();
    return src_.substr(pos_).starts_with(s);
  }
  bool accept(std::string_view s) {
    if (!peek(s)) return false;
    advance(s.size());
    return true;
  }
  void expect(std::string_view s, const std::string& context) {
    if (!accept(s)) error("expected '" + std::string(s) + "' " + context + ", found " + describe_here());
  }
  bool peek_keyword(std::string_view kw) {
    return peek(kw) && !is_name_char(at(kw.size()));
  }
  // Whether the next token starts an item (or closes the enclosing `for` block): where a rule's or
  // predicate's text ends.
  bool at_item_end() {
    skip_ws();
    return eof() || (block_ && cur() == '}') || peek_keyword("rule") || peek_keyword("category") ||
           peek_keyword("predicate") || peek_keyword("for");
  }
  // `$name` of the enclosing `for` block: its value.
  std::string read_block_var() {
    const int l = line_, c = col_;
    advance();  // '$'
    const std::string name = "$" + read_while(is_ident_char);
    if (!block_) error_at(l, c, name + " is only defined inside a 'for' block");
    if (name != block_->name) error_at(l, c, "unknown " + name + " (the enclosing 'for' block defines " + block_->name + ")");
    block_->used = true;
    return block_->value;
  }
  // A rule name, in which `$op` stands for the block's value in lower case (`conv-$op-fused`).
  std::string read_rule_name() {
    std::string name = read_while(is_name_char);
    while (cur() == '$') {
      name += lower(read_block_var());
      name += read_while(is_name_char);
    }
    return name;
  }
  template <class Pred>
  std::string read_while(Pred p) {
    const size_t start = pos_;
    while (!eof() && p(cur())) advance();
    return std::string(src_.substr(start, pos_ - start));
  }
  std::string describe_here() {
    skip_ws();
    if (eof()) return "end of file";
    if (is_name_char(cur())) {
      size_t n = 0;
      while (pos_ + n < src_.size() && is_name_char(src_[pos_ + n]) && n < 30) ++n;
      return "'" + std::string(src_.substr(pos_, n)) + "'";
    }
    return "'" + std::string(1, cur()) + "'";
  }
  [[noreturn]] void error_at(int l, int c, const std::string& msg) const { fail(file_, ":", l, ":", c, ": ", msg); }
  [[noreturn]] void error(const std::string& msg) { error_at(line_, col_, msg); }

  // ---- expressions ----
  Expr make(Expr::Kind k, int l, int c, std::string text = {}) {
    Expr e;
    e.kind = k;
    e.line = l;
    e.column = c;
    e.text = std::move(text);
    return e;
  }
  Expr binary(std::string op, Expr l, Expr r) {
    Expr e = make(Expr::Kind::Binary, l.line, l.column, std::move(op));
    e.args.push_back(std::move(l));
    e.args.push_back(std::move(r));
    return e;
  }

  Expr parse_expr() { return parse_or(); }
  Expr parse_or() {
    Expr e = parse_and();
    while (accept("||")) e = binary("||", std::move(e), parse_and());
    return e;
  }
  Expr parse_and() {
    Expr e = parse_cmp();
    while (accept("&&")) e = binary("&&", std::move(e), parse_cmp());
    return e;
  }
  std::string peek_comparison() {
    skip_ws();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (peek(op)) {
        // `<=>` and `=>` belong to the rule, not to an expression.
        if (std::string_view(op) == "<=" && at(2) == '>') return {};
        return op;
      }
    }
    return {};
  }
  Expr parse_cmp() {
    Expr e = parse_add();
    std::string op = peek_comparison();
    if (op.empty()) return e;
    advance(op.size());
    e = binary(op, std::move(e), parse_add());
    if (!peek_comparison().empty()) error("comparisons do not chain; join them with '&&'");
    return e;
  }
  Expr parse_add() {
    Expr e = parse_mul();
    for (;;) {
      skip_ws();
      if (cur() == '+' || (cur() == '-' && at(1) != '>')) {
        std::string op(1, cur());
        advance();
        e = binary(op, std::move(e), parse_mul());
      } else {
        return e;
      }
    }
  }
  Expr parse_mul() {
    Expr e = parse_unary();
    for (;;) {
      skip_ws();
      if (cur() == '*' || cur() == '/' || cur() == '%') {
        std::string op(1, cur());
        advance();
        e = binary(op, std::move(e), parse_unary());
      } else {
        return e;
      }
    }
  }
  Expr parse_unary() {
    skip_ws();
    const int l = line_, c = col_;
    if ((cur() == '!' && at(1) != '=') || cur() == '-') {
      std::string op(1, cur());
      advance();
      Expr operand = parse_unary();
      // `-` directly on a number is a negative literal: `[1, -1]`, `#c(-2.5)`.
      if (op == "-" && (operand.kind == Expr::Kind::Int || operand.kind == Expr::Kind::Float) &&
          !is_negative_literal(operand)) {
        operand.text = "-" + operand.text;
        operand.int_value = -operand.int_value;
        operand.float_value = -operand.float_value;
        operand.line = l;
        operand.column = c;
        return operand;
      }
      Expr e = make(Expr::Kind::Unary, l, c, op);
      e.args.push_back(std::move(operand));
      return e;
    }
    return parse_postfix();
  }
  Expr parse_postfix() {
    Expr e = parse_primary();
    while (accept("[")) {
      Expr idx = make(Expr::Kind::Index, e.line, e.column);
      idx.args.push_back(std::move(e));
      idx.args.push_back(parse_expr());
      expect("]", "to close the index");
      e = std::move(idx);
    }
    return e;
  }
  std::vector<Expr> parse_expr_list(std::string_view close, const std::string& what) {
    std::vector<Expr> out;
    if (accept(close)) return out;
    for (;;) {
      out.push_back(parse_expr());
      if (accept(",")) continue;
      expect(close, "or ',' " + what);
      return out;
    }
  }
  Expr parse_number() {
    const int l = line_, c = col_;
    const size_t start = pos_;
    bool is_float = false;
    read_while(is_digit);
    if (cur() == '.' && is_digit(at(1))) {
      is_float = true;
      advance();
      read_while(is_digit);
    }
    if ((cur() == 'e' || cur() == 'E') &&
        (is_digit(at(1)) || ((at(1) == '+' || at(1) == '-') && is_digit(at(2))))) {
      is_float = true;
      advance(2);
      read_while(is_digit);
    }
    if (is_alpha(cur())) error("unexpected '" + std::string(1, cur()) + "' after a number");
    const std::string lexeme(src_.substr(start, pos_ - start));
    Expr e = make(is_float ? Expr::Kind::Float : Expr::Kind::Int, l, c, lexeme);
    if (is_float) {
      e.float_value = std::strtod(lexeme.c_str(), nullptr);
    } else {
      auto [p, ec] = std::from_chars(lexeme.data(), lexeme.data() + lexeme.size(), e.int_value);
      if (ec != std::errc()) error_at(l, c, "integer literal " + lexeme + " is out of range");
      e.float_value = double(e.int_value);
    }
    return e;
  }
  Expr parse_string() {
    const int l = line_, c = col_;
    advance();  // opening quote
    std::string value;
    for (;;) {
      if (eof() || cur() == '\n') error_at(l, c, "unterminated string");
      char ch = cur();
      if (ch == '"') {
        advance();
        break;
      }
      if (ch == '\\') {
        advance();
        switch (cur()) {
          case 'n': ch = '\n'; break;
          case 't': ch = '\t'; break;
          case '"': ch = '"'; break;
          case '\\': ch = '\\'; break;
          default: error("unknown escape '\\" + std::string(1, cur()) + "' in a string");
        }
      }
      value += ch;
      advance();
    }
    return make(Expr::Kind::String, l, c, value);
  }
  Expr parse_var() {
    const int l = line_, c = col_;
    advance();  // '?'
    if (!is_alpha(cur())) error("expected a variable name after '?'");
    return make(Expr::Kind::Var, l, c, "?" + read_while(is_ident_char));
  }
  Expr parse_primary() {
    skip_ws();
    const int l = line_, c = col_;
    if (eof()) error("expected an expression, found end of file");
    const char ch = cur();
    if (ch == '(') {
      advance();
      Expr e = parse_expr();
      expect(")", "to close the parenthesis");
      return e;
    }
    if (ch == '[') {
      advance();
      Expr e = make(Expr::Kind::List, l, c);
      e.args = parse_expr_list("]", "in the list");
      return e;
    }
    if (ch == '"') return parse_string();
    if (is_digit(ch)) return parse_number();
    if (ch == '?') return parse_var();
    if (ch == '$') return make(Expr::Kind::String, l, c, read_block_var());
    if (is_alpha(ch)) {
      std::string name = read_while(is_ident_char);
      skip_ws();
      if (cur() != '(') error_at(l, c, "expected '(' after function name '" + name + "' (bare names are not expressions)");
      advance();
      Expr e = make(Expr::Kind::Call, l, c, name);
      e.args = parse_expr_list(")", "in the arguments of " + name);
      return e;
    }
    error("expected an expression, found " + describe_here());
  }

  // ---- patterns ----
  PatternAst parse_pattern() {
    skip_ws();
    PatternAst p;
    p.line = line_;
    p.column = col_;
    if (cur() == '(') {
      advance();
      skip_ws();
      if (cur() == '?') error("expected an operator name; a variable cannot be an operator");
      if (peek_keyword("if")) return parse_choice(p);
      if (!is_alpha(cur()) && cur() != '$') error("expected an operator name after '(', found " + describe_here());
      parse_op_head(p);
      p.parenthesized = true;
      for (;;) {
        skip_ws();
        if (eof()) error_at(p.line, p.column, "unclosed '(' in a pattern");
        if (cur() == ')') {
          advance();
          break;
        }
        p.children.push_back(parse_pattern());
      }
      return p;
    }
    if (cur() == '?') {
      Expr v = parse_var();
      p.kind = PatternAst::Kind::Var;
      p.name = v.text;
      p.form = read_form_mark();
      return p;
    }
    if (at_constant()) {
      advance(3);
      p.kind = PatternAst::Kind::Const;
      p.constant = parse_expr();  // a number on a matched side (checked in bind); any expression on a built one
      expect(")", "to close the constant #c(");
      return p;
    }
    if (is_alpha(cur()) || cur() == '$') {
      parse_op_head(p);
      return p;
    }
    error("expected a pattern, found " + describe_here());
  }
  // `?` or `+` written right after a variable or an operator name: the part is in one form only.
  PatternAst::Form read_form_mark() {
    if (cur() != '?' && cur() != '+') return PatternAst::Form::Both;
    const char c = cur();
    advance();
    return c == '?' ? PatternAst::Form::First : PatternAst::Form::Second;
  }
  // `(if ?b WITH WITHOUT)` or `(if ?b WITH)`, after its '(' (p holds that position).
  PatternAst parse_choice(PatternAst& p) {
    advance(2);
    skip_ws();
    if (cur() != '?') error("expected a variable after '(if', found " + describe_here());
    p.kind = PatternAst::Kind::Choice;
    p.name = parse_var().text;
    p.children.push_back(parse_pattern());
    if (!peek(")")) p.children.push_back(parse_pattern());
    expect(")", "after the patterns of (if " + p.name + " ...)");
    return p;
  }
  void parse_op_head(PatternAst& p) {
    p.kind = PatternAst::Kind::Op;
    p.name = cur() == '$' ? read_block_var() : read_while(is_op_char);
    if (cur() == '*') {
      advance();
      p.swap = true;
    }
    p.form = read_form_mark();
    if (!accept("{")) return;
    for (;;) {
      skip_ws();
      Attr a;
      a.line = line_;
      a.column = col_;
      if (cur() == '*') {
        // `*=?a`: all the operator's attributes as one value (bound on a matched side, copied on a built one).
        advance();
        a.name = "*";
      } else {
        if (!is_alpha(cur())) error("expected an attribute name, found " + describe_here());
        a.name = read_while(is_ident_char);
      }
      if (p.attr(a.name)) error_at(a.line, a.column, "attribute '" + a.name + "' is given twice");
      skip_ws();
      if (cur() != '=' || at(1) == '=' || at(1) == '>') error("expected '=' after attribute name '" + a.name + "'");
      advance();
      a.value = parse_expr();
      p.attrs.push_back(std::move(a));
      if (accept(",")) continue;
      expect("}", "or ',' after an attribute");
      return;
    }
  }
  std::vector<PatternAst> parse_pattern_list() {
    std::vector<PatternAst> out;
    out.push_back(parse_pattern());
    while (accept(",")) out.push_back(parse_pattern());
    return out;
  }

  // ---- rules ----
  Template parse_rule(int l, int c) {
    Template t;
    Rule& r = t.rule;
    r.file = file_;
    r.line = l;
    r.column = c;
    r.category = category_;
    skip_ws();
    t.name_pos = {line_, col_};
    if (block_) block_->used = false;
    r.name = read_rule_name();
    if (r.name.empty()) error("expected a rule name after 'rule', found " + describe_here());
    if (block_ && !block_->used)
      error_at(t.name_pos.first, t.name_pos.second,
               "rule '" + r.name + "' is in a 'for' block: its name must use " + block_->name + " (one rule per value)");
    if (accept("/")) {
      skip_ws();
      t.second.line = line_;
      t.second.column = col_;
      t.second.name = read_rule_name();
      if (t.second.name.empty()) error("expected the name of the rule's second form after '/', found " + describe_here());
    }
    t.generated = block_.has_value();
    if (accept("[")) {
      for (;;) {
        skip_ws();
        const int tl = line_, tc = col_;
        std::string tag = read_while(is_name_char);
        if (tag.empty()) error("expected a tag, found " + describe_here());
        if (r.has_tag(tag)) error_at(tl, tc, "tag '" + tag + "' is given twice");
        r.tags.push_back(tag);
        if (accept(",")) continue;
        expect("]", "or ',' after a tag");
        break;
      }
    }
    expect(":", "after the rule name");
    skip_ws();
    const size_t text_start = pos_;
    r.lhs = parse_pattern_list();
    skip_ws();
    const int arrow_line = line_, arrow_col = col_;
    if (accept("<=>")) {
      r.bidirectional = true;
      if (r.lhs.size() > 1) error_at(arrow_line, arrow_col, "'<=>' is not allowed for a multi-pattern rule; write it with '=>'");
    } else if (!accept("=>")) {
      error("expected ',', '=>' or '<=>' after a left-hand pattern, found " + describe_here());
    }
    r.rhs = parse_pattern_list();
    const size_t text_end = pos_;
    r.text = normalize(src_.substr(text_start, text_end - text_start));
    if (r.rhs.size() != r.lhs.size())
      error_at(arrow_line, arrow_col,
               str_cat("rule '", r.name, "' has ", r.lhs.size(), " left-hand pattern", r.lhs.size() == 1 ? "" : "s", " but ",
                       r.rhs.size(), " right-hand pattern", r.rhs.size() == 1 ? "" : "s"));
    if (peek_keyword("if")) {
      advance(2);
      r.guard = parse_expr();
    }
    if (!at_item_end())
      error("expected ',', 'if', 'rule', 'category', 'predicate', 'for'" + std::string(block_ ? ", '}'" : "") +
            " or end of file after rule '" + r.name + "', found " + describe_here());
    return t;
  }

  // `predicate NAME(?a, ?b): EXPR`, after the keyword.
  void parse_predicate() {
    skip_ws();
    if (block_) error("a predicate cannot be defined inside a 'for' block");
    Predicate p;
    p.line = line_;
    p.column = col_;
    p.name = read_while(is_ident_char);
    if (p.name.empty() || !is_alpha(p.name[0])) error("expected a predicate name after 'predicate', found " + describe_here());
    const auto& functions = guard::function_names();
    if (std::find(functions.begin(), functions.end(), p.name) != functions.end())
      error_at(p.line, p.column, "predicate '" + p.name + "' would hide the guard function of that name");
    if (const Predicate* before = predicates_.find(p.name))
      error_at(p.line, p.column, str_cat("predicate '", p.name, "' is defined twice (first at line ", before->line, ")"));
    expect("(", "after the predicate name");
    if (!accept(")")) {
      for (;;) {
        skip_ws();
        if (cur() != '?') error("expected a parameter (a variable such as ?x), found " + describe_here());
        const Expr v = parse_var();
        if (std::find(p.params.begin(), p.params.end(), v.text) != p.params.end())
          error_at(v.line, v.column, "parameter " + v.text + " is given twice");
        if (v.text == "?root") error_at(v.line, v.column, "?root is the matched value; it cannot be a parameter");
        p.params.push_back(v.text);
        if (accept(",")) continue;
        expect(")", "or ',' after a parameter");
        break;
      }
    }
    expect(":", "after the parameters of predicate '" + p.name + "'");
    p.body = parse_expr();
    std::vector<const Expr*> vs;
    vars_with_pos(p.body, vs);
    for (const Expr* v : vs)
      if (v->text != "?root" && std::find(p.params.begin(), p.params.end(), v->text) == p.params.end())
        error_at(v->line, v->column, "variable " + v->text + " in predicate '" + p.name + "' is not one of its parameters");
    if (!at_item_end())
      error("expected 'rule', 'category', 'predicate', 'for' or end of file after predicate '" + p.name + "', found " +
            describe_here());
    predicates_.define(std::move(p));
  }

  // `for $op in A, B, C { rule ... }`, after the keyword: the rules of the block once per value.
  void parse_for(int l, int c) {
    if (block_) error_at(l, c, "'for' blocks do not nest");
    skip_ws();
    if (cur() != '$') error("expected a variable such as $op after 'for', found " + describe_here());
    advance();
    BlockVar var;
    var.name = "$" + read_while(is_ident_char);
    if (var.name == "$") error("expected a variable name after '$'");
    skip_ws();
    if (!peek_keyword("in")) error("expected 'in' after 'for " + var.name + "', found " + describe_here());
    advance(2);
    std::vector<std::string> values;
    for (;;) {
      skip_ws();
      const int vl = line_, vc = col_;
      if (!is_alpha(cur())) error("expected an operator name, found " + describe_here());
      std::string v = read_while(is_op_char);
      if (std::find(values.begin(), values.end(), v) != values.end()) error_at(vl, vc, "'" + v + "' is listed twice");
      values.push_back(std::move(v));
      if (!accept(",")) break;
    }
    expect("{", "after the values of 'for " + var.name + "'");
    const size_t start = pos_;
    const int start_line = line_, start_col = col_;
    for (const std::string& v : values) {
      pos_ = start;
      line_ = start_line;
      col_ = start_col;
      var.value = v;
      block_ = var;
      size_t rules = 0;
      for (;;) {
        skip_ws();
        if (eof()) error_at(l, c, "unclosed 'for' block (expected '}')");
        if (cur() == '}') break;
        const int rl = line_, rc = col_;
        const std::string word = read_while(is_ident_char);
        if (word != "rule")
          error_at(rl, rc, "expected 'rule' or '}' in a 'for' block, found " + (word.empty() ? describe_here() : "'" + word + "'"));
        templates_.push_back(parse_rule(rl, rc));
        ++rules;
      }
      if (rules == 0) error_at(l, c, "empty 'for' block");
    }
    advance();  // '}'
    block_.reset();
  }

  void register_name(const Rule& r, std::pair<int, int> name_pos) {
    auto clash = [&](const std::string& n, const std::string& what) {
      auto it = names_.find(n);
      if (it == names_.end()) return;
      std::string first = it->second.reverse_of.empty()
                              ? str_cat("first defined at line ", it->second.line)
                              : str_cat("the reverse of bidirectional rule '", it->second.reverse_of, "' at line ", it->second.line);
      error_at(name_pos.first, name_pos.second, what + " (" + first + ")");
    };
    clash(r.name, "duplicate rule name '" + r.name + "'");
    if (r.bidirectional) clash(r.name + "-rev", "bidirectional rule '" + r.name + "' needs the name '" + r.name + "-rev' for its reverse");
    names_[r.name] = {r.line, ""};
    if (r.bidirectional) names_[r.name + "-rev"] = {r.line, r.name};
  }

  // Text of the rule as written, comments dropped, whitespace runs made one space.
  static std::string normalize(std::string_view s) {
    std::string out;
    bool space = false;
    for (size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '"') {  // copy a string literal verbatim
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
        for (++i; i < s.size(); ++i) {
          out += s[i];
          if (s[i] == '\\' && i + 1 < s.size()) out += s[++i];
          else if (s[i] == '"') break;
        }
        continue;
      }
      if (c == '#' && !(i + 2 < s.size() && s[i + 1] == 'c' && s[i + 2] == '(')) {
        while (i < s.size() && s[i] != '\n') ++i;
        space = true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        space = true;
        continue;
      }
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
    return out;
  }

  // ---- variable checks ----
  // Binds the variables of a pattern that is matched (a left side; the right side of a bidirectional
  // rule). `side` words the errors.
  void bind(const PatternAst& p, Bindings& b, const std::string& side) {
    auto add = [&](const std::string& v, bool term, int l, int c) {
      auto [it, fresh] = b.try_emplace(v, Binding{term, l, c});
      if (!fresh && it->second.term != term)
        error_at(l, c, "variable " + v + " is used both as a term and as an attribute value on the " + side);
    };
    switch (p.kind) {
      case PatternAst::Kind::Var: add(p.name, true, p.line, p.column); return;
      case PatternAst::Kind::Const:
        if (p.constant.kind != Expr::Kind::Int && p.constant.kind != Expr::Kind::Float)
          error_at(p.constant.line, p.constant.column, "a constant #c(...) on the " + side + " holds one number");
        return;
      case PatternAst::Kind::Op:
      case PatternAst::Kind::Choice: break;  // no choice is left once variants are expanded
    }
    for (const Attr& a : p.attrs) {
      if (a.name == "*" && !a.value.is_var())
        error_at(a.value.line, a.value.column, "'*' on the " + side + " binds all attributes to a variable: write *=?name");
      if (a.value.is_var()) {
        add(a.value.text, false, a.value.line, a.value.column);
      } else if (!a.value.is_literal()) {
        error_at(a.value.line, a.value.column,
                 "attribute '" + a.name + "' on the " + side + " must be a literal or a variable (it is matched, not computed)");
      }
    }
    for (const PatternAst& c : p.children) bind(c, b, side);
  }
  void vars_with_pos(const Expr& e, std::vector<const Expr*>& out) {
    if (e.is_var()) out.push_back(&e);
    for (const Expr& a : e.args) vars_with_pos(a, out);
  }
  // Checks that a built (right-hand) pattern uses only bound variables.
  void check_built(const PatternAst& p, const Bindings& b) {
    switch (p.kind) {
      case PatternAst::Kind::Var: {
        auto it = b.find(p.name);
        if (it == b.end()) error_at(p.line, p.column, "variable " + p.name + " on the right-hand side is not bound by the left-hand side");
        if (!it->second.term)
          error_at(p.line, p.column, "variable " + p.name + " is bound to an attribute value and cannot stand for a term");
        return;
      }
      case PatternAst::Kind::Const: {
        std::vector<const Expr*> vs;
        vars_with_pos(p.constant, vs);
        for (const Expr* v : vs)
          if (!b.count(v->text))
            error_at(v->line, v->column, "variable " + v->text + " on the right-hand side is not bound by the left-hand side");
        return;
      }
      case PatternAst::Kind::Op:
      case PatternAst::Kind::Choice: break;
    }
    for (const Attr& a : p.attrs) {
      std::vector<const Expr*> vs;
      vars_with_pos(a.value, vs);
      for (const Expr* v : vs)
        if (!b.count(v->text))
          error_at(v->line, v->column, "variable " + v->text + " on the right-hand side is not bound by the left-hand side");
    }
    for (const PatternAst& c : p.children) check_built(c, b);
  }
  // First occurrence of each variable in a pattern, with its position.
  void occurrences(const PatternAst& p, std::vector<std::pair<std::string, std::pair<int, int>>>& out) {
    auto add = [&](const std::string& v, int l, int c) {
      for (auto& o : out)
        if (o.first == v) return;
      out.push_back({v, {l, c}});
    };
    if (p.kind == PatternAst::Kind::Var) add(p.name, p.line, p.column);
    for (const Attr& a : p.attrs) {
      std::vector<const Expr*> vs;
      vars_with_pos(a.value, vs);
      for (const Expr* v : vs) add(v->text, v->line, v->column);
    }
    for (const PatternAst& c : p.children) occurrences(c, out);
  }
  void check_variables(const Rule& r) {
    Bindings left;
    for (const PatternAst& p : r.lhs) bind(p, left, "left-hand side");
    // ?root is reserved: the class the (first) left pattern matched, usable in guards and right sides.
    if (left.count("?root")) error_at(r.line, r.column, "?root is reserved for the matched value; use another name");
    left["?root"].term = true;
    for (const PatternAst& p : r.rhs) check_built(p, left);
    if (r.guard) {
      std::vector<const Expr*> vs;
      vars_with_pos(*r.guard, vs);
      for (const Expr* v : vs)
        if (!left.count(v->text))
          error_at(v->line, v->column, "variable " + v->text + " in the guard is not bound by the left-hand side");
    }
    if (!r.bidirectional) return;
    Bindings right;
    for (const PatternAst& p : r.rhs) bind(p, right, "right-hand side of a bidirectional rule");
    for (const auto& [v, bnd] : right)
      if (left.at(v).term != bnd.term)
        error_at(bnd.line, bnd.column, "variable " + v + " is a term on one side and an attribute value on the other");
    std::vector<std::pair<std::string, std::pair<int, int>>> occ;
    for (const PatternAst& p : r.lhs) occurrences(p, occ);
    for (const auto& [v, lc] : occ)
      if (!right.count(v))
        error_at(lc.first, lc.second,
                 "bidirectional rule '" + r.name + "': variable " + v +
                     " is not bound by the right-hand side, so the reverse rule would leave it unbound");
  }
};

}  // namespace

std::vector<Rule> parse_rules(std::string_view text, const std::string& file_name) {
  return Parser(text, file_name).parse_file();
}

std::vector<Rule> load_rule_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open rule file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_rules(ss.str(), path);
}

std::vector<Rule> load_rule_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir, ": not a rule directory");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".rules") files.push_back(entry.path().string());
  if (ec) fail(dir, ": cannot list the directory: ", ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Rule> all;
  std::map<std::string, std::pair<std::string, int>> seen;  // name -> (file, line)
  for (const std::string& f : files) {
    for (Rule& r : load_rule_file(f)) {
      std::vector<std::string> names{r.name};
      if (r.bidirectional) names.push_back(r.name + "-rev");
      for (const std::string& n : names) {
        auto [it, fresh] = seen.try_emplace(n, r.file, r.line);
        if (!fresh)
          fail(r.file, ":", r.line, ":", r.column, ": duplicate rule name '", n, "' (first defined at ", it->second.first, ":",
               it->second.second, ")");
      }
      all.push_back(std::move(r));
    }
  }
  return all;
}

std::vector<Rule> expand_bidirectional(const std::vector<Rule>& rules) {
  std::vector<Rule> out;
  out.reserve(rules.size());
  for (const Rule& r : rules) {
    if (!r.bidirectional) {
      out.push_back(r);
      continue;
    }
    Rule fwd = r;
    fwd.bidirectional = false;
    fwd.text = fwd.patterns_str();
    Rule rev = r;
    rev.bidirectional = false;
    rev.name = r.name + "-rev";
    std::swap(rev.lhs, rev.rhs);
    rev.text = rev.patterns_str();
    out.push_back(std::move(fwd));
    out.push_back(std::move(rev));
  }
  return out;
}

}  // namespace eqopt::rules
