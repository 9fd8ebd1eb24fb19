#include "verify/rule_test.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "interp/interpreter.h"
#include "verify/instance_detail.h"

namespace eqopt::verify {

namespace {

// Random values for every graph input of trial `trial`: floats (float16 ones rounded) in [-2, 2]
// on even trials and in [0.5, 2] on odd ones; integers nonzero (a divisor may be among them), in
// [-8, 8], then in [1, 8], then anywhere in the type's range (where wrap-around shows); bools at
// random.
std::map<std::string, Tensor> random_feeds(const Model& m, std::mt19937& rng, size_t trial) {
  std::map<std::string, Tensor> feeds;
  const bool positive = trial % 2 == 1;
  std::uniform_real_distribution<double> real(positive ? 0.5 : -2.0, 2.0);
  std::uniform_int_distribution<int64_t> small(positive ? 1 : -8, 8);
  std::mt19937_64 wide(rng());
  for (const ValueInfo* in : m.graph.runtime_inputs()) {
    const auto shape = in->type.static_shape();
    if (!shape) fail("rule test: input '", in->name, "' has no static shape");
    const DType dtype = in->type.dtype;
    std::vector<double> v(size_t(shape_numel(*shape)));
    Tensor t;
    if (is_floating(dtype)) {
      for (double& x : v) x = real(rng);
      t = detail::tensor_of(dtype, *shape, v);
    } else if (dtype == DType::Bool) {
      for (double& x : v) x = double(rng() % 2);
      t = detail::tensor_of(dtype, *shape, v);
    } else if (is_integer(dtype)) {
      t = Tensor(dtype, *shape);
      const size_t bytes = dtype_size(dtype);
      auto* p = static_cast<uint8_t*>(t.raw_mutable_data());
      for (int64_t i = 0; i < t.numel(); ++i) {
        int64_t x = 0;
        while (x == 0) x = trial >= 2 ? int64_t(wide()) : small(rng);
        // The low bytes of the two's-complement value: the value itself when it fits the type.
        for (size_t b = 0; b < bytes; ++b) p[size_t(i) * bytes + b] = uint8_t(uint64_t(x) >> (8 * b));
      }
    } else {
      fail("rule test: input '", in->name, "' of type ", in->type.str(), " has no random values");
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
  if (!is_floating(l.dtype())) {
    // Integers and bools: equal or not.
    for (int64_t k = 0; k < l.numel(); ++k)
      if (l.as_int64(k) != r.as_int64(k)) {
        c.error = std::numeric_limits<double>::infinity();
        c.element = k;
        c.left = l.as_double(k);
        c.right = r.as_double(k);
        return c;
      }
    c.element = l.numel() > 0 ? 0 : -1;
    return c;
  }
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
  size_t skipped = 0;
  std::string skip_reason;
  for (const Instance& inst : search.instances) {
    Model m;
    try {
      m = instance_model(directed, inst);
    } catch (const Error& e) {
      res.note = "instance " + inst.str() + ": " + e.what();
      return res;
    }
    // The interpreter's kernels do not run every dtype an op allows (float16 in many of them): an
    // instance in another dtype than float32 that it refuses is skipped, not failed.
    const bool other_dtypes = std::any_of(inst.dtypes.begin(), inst.dtypes.end(),
                                          [](const auto& d) { return d.second != DType::Float; });
    for (size_t trial = 0; trial < options.trials; ++trial) {
      std::vector<Tensor> out;
      try {
        const std::map<std::string, Tensor> feeds = random_feeds(m, rng, trial);
        out = Interpreter(m).run(feeds);
      } catch (const Error& e) {
        if (other_dtypes && trial == 0) {
          ++skipped;
          if (skip_reason.empty()) skip_reason = e.what();
          break;
        }
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
        // float16 rounds every op's result to 11 significant bits.
        const bool half = l.dtype() == DType::Float16;
        const Comparison c = compare(l, r, half ? std::max(rtol, 4e-3) : rtol,
                                     half ? std::max(options.atol, 1e-3) : options.atol);
        if (c.element >= 0 && (c.error > res.max_rel_error || res.worst.empty())) {
          res.max_rel_error = std::max(res.max_rel_error, c.error);
          where << ", element " << c.element << ": left " << c.left << ", right " << c.right;
          res.worst = where.str();
        }
      }
    }
  }
  if (skipped > 0)
    res.note = std::to_string(skipped) + (skipped == 1 ? " instance" : " instances") +
               " not run by the interpreter (" + skip_reason + ")";
  res.passed = res.runs > 0 && res.max_rel_error <= 1;
  return res;
}

}  // namespace eqopt::verify
