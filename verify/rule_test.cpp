#include "verify/rule_test.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "interp/interpreter.h"

namespace eqopt::verify {

namespace {

// Random float32 values for every graph input; integer and bool inputs never occur (an instance
// gives those known values, which are initializers).
std::map<std::string, Tensor> random_feeds(const Model& m, std::mt19937& rng, float lo, float hi) {
  std::map<std::string, Tensor> feeds;
  std::uniform_real_distribution<float> dist(lo, hi);
  for (const ValueInfo* in : m.graph.runtime_inputs()) {
    const auto shape = in->type.static_shape();
    if (!shape) fail("rule test: input '", in->name, "' has no static shape");
    Tensor t(in->type.dtype, *shape);
    if (in->type.dtype == DType::Float) {
      float* p = t.mutable_data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
    } else if (in->type.dtype == DType::Bool) {
      bool* p = t.mutable_data<bool>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng() % 2 == 0;
    } else {
      fail("rule test: input '", in->name, "' of type ", in->type.str(), " has no known value");
    }
    feeds[in->name] = t;
  }
  return feeds;
}

struct Comparison {
  double error = 0;
  int64_t element = -1;
  double left = 0, right = 0;
};

// The error of one output: max over elements of |L - R| / (atol + rtol * scale), scale being the
// largest finite |R| of the output but at least 1. Relative to the output's scale rather than to
// each element's own magnitude, so that an element that nearly cancels (a sum of large terms of
// both signs, where reassociation legitimately moves the rounding) is judged by the size of the
// numbers that produced it, while small outputs are compared absolutely. NaN or an infinity on
// one side only (or infinities of opposite signs) is an infinite error; NaN at the same element
// on both sides counts as equal.
Comparison compare(const Tensor& l, const Tensor& r, double rtol, double atol) {
  Comparison c;
  double scale = 1;
  for (int64_t k = 0; k < r.numel(); ++k) {
    const double v = r.as_double(k);
    if (std::isfinite(v)) scale = std::max(scale, std::fabs(v));
  }
  for (int64_t k = 0; k < l.numel(); ++k) {
    const double a = l.as_double(k), b = r.as_double(k);
    double err;
    if (std::isnan(a) && std::isnan(b)) err = 0;
    else if (std::isfinite(a) && std::isfinite(b)) err = std::fabs(a - b) / (atol + rtol * scale);
    else err = a == b ? 0 : std::numeric_limits<double>::infinity();
    if (c.element < 0 || err > c.error) {
      c.error = err;
      c.element = k;
      c.left = a;
      c.right = b;
    }
  }
  return c;
}

}  // namespace

RuleTestResult test_rule(const rules::Rule& directed, const InstanceSearch& search, const RuleTestOptions& options) {
  RuleTestResult res;
  res.instances = search.instances.size();
  if (search.instances.empty()) {
    res.note = "no instance" + (search.note.empty() ? std::string() : ": " + search.note);
    return res;
  }
  const double rtol = directed.has_tag("real") ? std::max(options.rtol, 1e-3) : options.rtol;
  const size_t np = directed.lhs.size();
  std::mt19937 rng(options.seed);
  for (const Instance& inst : search.instances) {
    Model m;
    try {
      m = instance_model(directed, inst);
    } catch (const Error& e) {
      res.note = "instance " + inst.str() + ": " + e.what();
      return res;
    }
    for (size_t trial = 0; trial < options.trials; ++trial) {
      const bool positive = trial % 2 == 1;
      std::vector<Tensor> out;
      try {
        const std::map<std::string, Tensor> feeds = random_feeds(m, rng, positive ? 0.5f : -2.0f, 2.0f);
        out = Interpreter(m).run(feeds);
      } catch (const Error& e) {
        res.note = "instance " + inst.str() + ": " + e.what();
        return res;
      }
      ++res.runs;
      for (size_t i = 0; i < np; ++i) {
        const Tensor &l = out[i], &r = out[np + i];
        std::ostringstream where;
        where << "instance " << inst.str() << ", trial " << trial << ", output " << i;
        if (l.shape() != r.shape() || l.dtype() != r.dtype()) {
          res.max_rel_error = std::numeric_limits<double>::infinity();
          res.worst = where.str() + ": left " + l.type_str() + ", right " + r.type_str();
          continue;
        }
        const Comparison c = compare(l, r, rtol, options.atol);
        if (c.element >= 0 && (c.error > res.max_rel_error || res.worst.empty())) {
          res.max_rel_error = std::max(res.max_rel_error, c.error);
          where << ", element " << c.element << ": left " << c.left << ", right " << c.right;
          res.worst = where.str();
        }
      }
    }
  }
  res.passed = res.runs > 0 && res.max_rel_error <= 1;
  return res;
}

}  // namespace eqopt::verify
