#include "egraph/sexpr.h"

#include <cctype>

#include "support/error.h"

namespace eqopt::eg {

namespace {

class Parser {
 public:
  explicit Parser(std::string_view t) : text_(t) {}

  SExpr parse_all() {
    skip_space();
    SExpr e = parse();
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the expression");
    return e;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail("bad expression '", text_, "': ", what, " at column ", pos_ + 1);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string token() {
    const size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '(' &&
           text_[pos_] != ')' && text_[pos_] != '{' && text_[pos_] != '}')
      ++pos_;
    if (pos_ == start) error("expected a name");
    return std::string(text_.substr(start, pos_ - start));
  }
  void maybe_payload(SExpr& e) {
    if (pos_ < text_.size() && text_[pos_] == '{') {
      int depth = 0;
      const size_t start = ++pos_;
      while (pos_ < text_.size() && (text_[pos_] != '}' || depth > 0)) {
        if (text_[pos_] == '{') ++depth;
        if (text_[pos_] == '}') --depth;
        ++pos_;
      }
      if (pos_ >= text_.size()) error("unclosed '{'");
      e.payload = std::string(text_.substr(start, pos_ - start));
      e.has_payload = true;
      ++pos_;
    }
  }
  SExpr parse() {
    skip_space();
    if (pos_ >= text_.size()) error("unexpected end");
    SExpr e;
    if (text_[pos_] == '(') {
      ++pos_;
      skip_space();
      e.is_list = true;
      e.head = token();
      maybe_payload(e);
      if (e.head[0] == '?') error("an operator cannot be a variable");
      for (;;) {
        skip_space();
        if (pos_ >= text_.size()) error("missing ')'");
        if (text_[pos_] == ')') {
          ++pos_;
          break;
        }
        e.children.push_back(parse());
      }
      return e;
    }
    if (text_[pos_] == ')') error("unexpected ')'");
    e.head = token();
    maybe_payload(e);
    if (e.head == "?") error("a variable needs a name");
    return e;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

SExpr parse_sexpr(std::string_view text) { return Parser(text).parse_all(); }

std::string SExpr::str() const {
  std::string s = head;
  if (has_payload) s += "{" + payload + "}";
  if (!is_list) return s;
  s = "(" + s;
  for (const SExpr& c : children) s += " " + c.str();
  return s + ")";
}

}  // namespace eqopt::eg
