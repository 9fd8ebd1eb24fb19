// S-expressions for patterns and terms: `(op child ...)`, leaves `x` or `-1`, variables `?a`,
// operators with an attribute payload `op{text}` or a payload variable `op{?p}`.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace eqopt::eg {

struct SExpr {
  std::string head;      // operator, leaf token or "?var"
  std::string payload;   // text between { } after the head ("" when none; "?p" for a variable)
  bool has_payload = false;
  bool is_list = false;  // written with parentheses (an operator applied to children)
  std::vector<SExpr> children;

  bool is_var() const { return !is_list && head.size() > 1 && head[0] == '?'; }
  std::string str() const;
};

// Parses one S-expression; throws eqopt::Error with the column of the problem.
SExpr parse_sexpr(std::string_view text);

}  // namespace eqopt::eg
