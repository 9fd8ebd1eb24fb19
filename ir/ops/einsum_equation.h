// Parsing of Einsum equations, shared by inference (ir/ops/math.cpp) and the kernel
// (interp/kernels/math.cpp) so that both read an equation the same way.
#pragma once
#include <string>
#include <vector>

namespace eqopt::einsum {

// Labels 0..51 stand for the letters a-z, A-Z.
inline int label_of(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// One term of the equation: its letters' labels, and where "..." stood (-1: nowhere).
struct Term {
  std::vector<int> labels;
  int ellipsis_at = -1;  // index into labels before which the ellipsis dims go
};

struct Equation {
  std::string text;         // without spaces
  std::vector<Term> inputs;
  bool has_output = false;  // "->" present; otherwise the output is implicit
  Term output;
};

// Ctx is an InferContext or a KernelContext: anything with fail(...) that names the node.
template <class Ctx>
Term parse_term(const Ctx& ctx, const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "...") == 0) {
      if (t.ellipsis_at >= 0) ctx.fail("equation term '", s, "' has more than one ellipsis");
      t.ellipsis_at = int(t.labels.size());
      i += 2;
      continue;
    }
    const int l = label_of(s[i]);
    if (l < 0) ctx.fail("equation term '", s, "' has an invalid character '", s[i], "'");
    t.labels.push_back(l);
  }
  return t;
}

// Parses the node's equation and checks it names one term per input.
template <class Ctx>
Equation parse_equation(const Ctx& ctx, const std::string& attr, size_t num_inputs) {
  Equation eq;
  for (char c : attr)
    if (c != ' ') eq.text += c;
  const size_t arrow = eq.text.find("->");
  const std::string lhs = eq.text.substr(0, arrow);
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    eq.inputs.push_back(parse_term(ctx, lhs.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (eq.inputs.size() != num_inputs)
    ctx.fail("equation '", eq.text, "' has ", eq.inputs.size(), " operands, the node ", num_inputs, " inputs");
  if (arrow != std::string::npos) {
    eq.has_output = true;
    eq.output = parse_term(ctx, eq.text.substr(arrow + 2));
  }
  return eq;
}

}  // namespace eqopt::einsum
