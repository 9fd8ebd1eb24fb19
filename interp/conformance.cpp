#include "interp/conformance.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "interp/interpreter.h"
#include "onnx_io/onnx_io.h"

namespace eqopt {

namespace fs = std::filesystem;

TensorComparison compare_tensors(const Tensor& actual, const Tensor& expected, const Tolerance& tol) {
  TensorComparison r;
  if (actual.dtype() != expected.dtype()) {
    r.ok = false;
    r.problem = "element type " + std::string(dtype_short_name(actual.dtype())) + ", expected " +
                std::string(dtype_short_name(expected.dtype()));
    return r;
  }
  if (actual.shape() != expected.shape()) {
    r.ok = false;
    r.problem = "shape " + shape_str(actual.shape()) + ", expected " + shape_str(expected.shape());
    return r;
  }
  const DType dt = actual.dtype();
  if (dt == DType::String) {
    if (actual.strings() != expected.strings()) {
      r.ok = false;
      r.problem = "string values differ";
    }
    return r;
  }
  const bool exact = !is_floating(dt);
  int64_t worst = -1;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    if (exact) {
      const int64_t a = actual.as_int64(i), e = expected.as_int64(i);
      if (a != e) {
        const double diff = std::fabs(double(a) - double(e));
        if (diff > r.max_abs) r.max_abs = diff;
        if (worst < 0) worst = i;
        r.ok = false;
      }
      continue;
    }
    const double a = actual.as_double(i), e = expected.as_double(i);
    if (std::isnan(a) || std::isnan(e)) {
      if (std::isnan(a) != std::isnan(e)) {
        r.ok = false;
        if (worst < 0) worst = i;
        r.max_abs = INFINITY;
      }
      continue;
    }
    if (std::isinf(a) || std::isinf(e)) {
      if (a != e) {
        r.ok = false;
        if (worst < 0) worst = i;
        r.max_abs = INFINITY;
      }
      continue;
    }
    const double diff = std::fabs(a - e);
    r.max_abs = std::max(r.max_abs, diff);
    if (e != 0) r.max_rel = std::max(r.max_rel, diff / std::fabs(e));
    const double excess = diff - (tol.atol + tol.rtol * std::fabs(e));
    if (excess > 0) {
      r.ok = false;
      if (worst < 0 || excess > r.worst_excess) {
        worst = i;
        r.worst_excess = excess;
      }
    }
  }
  if (!r.ok && worst >= 0) {
    std::ostringstream os;
    os.precision(7);
    os << "element " << worst << " is " << actual.as_double(worst) << ", expected "
       << expected.as_double(worst);
    r.problem = os.str();
  }
  return r;
}

namespace {

std::vector<fs::path> sorted_entries(const fs::path& dir, bool dirs, const std::string& prefix) {
  std::vector<fs::path> r;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (dirs ? !e.is_directory() : !e.is_regular_file()) continue;
    if (e.path().filename().string().rfind(prefix, 0) == 0) r.push_back(e.path());
  }
  std::sort(r.begin(), r.end());
  return r;
}

// input_0.pb, input_1.pb, ... in numeric order.
std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& stem) {
  std::vector<fs::path> r;
  for (int i = 0;; ++i) {
    fs::path p = dir / (stem + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    r.push_back(p);
  }
  return r;
}

std::string format_err(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

bool all_tensor_typed(const Graph& g, std::string* what) {
  for (const auto* list : {&g.inputs, &g.outputs})
    for (const ValueInfo& v : *list)
      if (!v.is_tensor) {
        *what = "value '" + v.name + "' is a sequence/map/optional, which the interpreter does not model";
        return false;
      }
  return true;
}

// A model that cannot be loaded is bad input when it is the only thing being checked (the caller
// reports it as an error); inside a folder of tests it counts as that test failing.
CheckOutcome check_one(const std::string& name, const fs::path& model_path, const fs::path& data_dir,
                       const CheckOptions& options, bool load_errors_are_fatal, const Model* given = nullptr) {
  CheckOutcome out;
  out.name = name;
  std::optional<Model> loaded;
  if (given) loaded = *given;
  if (load_errors_are_fatal && !loaded) loaded = load_model(model_path.string());
  try {
    if (!loaded) loaded = load_model(model_path.string());
    const Model& model = *loaded;
    std::string why;
    if (!all_tensor_typed(model.graph, &why)) {
      out.status = CheckOutcome::Status::Skip;
      out.detail = why;
      return out;
    }
    const std::vector<fs::path> sets = sorted_entries(data_dir, true, "test_data_set_");
    if (sets.empty()) fail("no test_data_set_* folder in '", data_dir.string(), "'");
    std::optional<Interpreter> interp;
    ModelRunner runner;
    if (!options.make_runner) {
      interp.emplace(model);
      runner = [&interp](const std::map<std::string, Tensor>& feeds) { return interp->run(feeds); };
    }
    for (const fs::path& set : sets) {
      std::map<std::string, Tensor> feeds;
      const auto inputs = numbered_files(set, "input");
      const auto& graph_inputs = model.graph.inputs;
      for (size_t i = 0; i < inputs.size(); ++i) {
        NamedTensor t = load_tensor_file(inputs[i].string());
        // The ONNX runner binds input_i to graph input i; a name that matches an input wins.
        std::string bind = t.name;
        if (!model.graph.find_input(bind)) {
          if (i >= graph_inputs.size())
            fail(inputs[i].string(), ": the model has only ", graph_inputs.size(), " inputs");
          bind = graph_inputs[i].name;
        }
        feeds[bind] = std::move(t.value);
      }
      if (!runner) runner = options.make_runner(model, feeds);
      const std::vector<Tensor> actual = runner(feeds);
      const auto outputs = numbered_files(set, "output");
      if (outputs.size() != actual.size())
        fail(set.filename().string(), " has ", outputs.size(), " expected outputs, the model produces ",
             actual.size());
      for (size_t k = 0; k < outputs.size(); ++k) {
        const NamedTensor expected = load_tensor_file(outputs[k].string());
        const TensorComparison c = compare_tensors(actual[k], expected.value, options.tol);
        out.max_abs = std::max(out.max_abs, c.max_abs);
        out.max_rel = std::max(out.max_rel, c.max_rel);
        if (!c.ok && out.status == CheckOutcome::Status::Pass) {
          out.status = CheckOutcome::Status::Fail;
          out.detail = set.filename().string() + " output '" + model.graph.outputs[k].name + "': " +
                       c.problem;
        }
      }
    }
    if (out.status == CheckOutcome::Status::Fail)
      out.detail += " (max abs err " + format_err(out.max_abs) + ", max rel err " + format_err(out.max_rel) + ")";
  } catch (const Error& e) {
    out.status = CheckOutcome::Status::Fail;
    out.detail = e.what();
  }
  return out;
}

}  // namespace

CheckSummary run_check(const std::string& path, const CheckOptions& options,
                       const std::function<void(const CheckOutcome&)>& on_outcome) {
  struct Case {
    std::string name;
    fs::path model, data;
  };
  std::vector<Case> cases;
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec)) fail("'", path, "' does not exist");
  if (fs::is_regular_file(p, ec)) {
    fs::path data = options.data_dir.empty() ? fs::path(p).replace_extension(".testdata") : fs::path(options.data_dir);
    if (!fs::is_directory(data, ec))
      fail("no reference data for '", path, "': '", data.string(), "' is not a folder (use --data DIR)");
    cases.push_back({p.filename().string(), p, data});
  } else if (fs::is_regular_file(p / "model.onnx", ec)) {
    cases.push_back({p.filename().string(), p / "model.onnx",
                     options.data_dir.empty() ? p : fs::path(options.data_dir)});
  } else {
    for (const fs::path& sub : sorted_entries(p, true, ""))
      if (fs::is_regular_file(sub / "model.onnx", ec)) cases.push_back({sub.filename().string(), sub / "model.onnx", sub});
    if (cases.empty()) fail("'", path, "' holds no ONNX tests (folders with model.onnx and test_data_set_*)");
  }
  CheckSummary s;
  for (const Case& c : cases) {
    CheckOutcome o = check_one(c.name, c.model, c.data, options, cases.size() == 1);
    switch (o.status) {
      case CheckOutcome::Status::Pass: ++s.passed; break;
      case CheckOutcome::Status::Fail: ++s.failed; break;
      case CheckOutcome::Status::Skip: ++s.skipped; break;
    }
    if (on_outcome) on_outcome(o);
    s.outcomes.push_back(std::move(o));
  }
  return s;
}

CheckOutcome check_model(const Model& model, const std::string& name, const std::string& data_dir,
                         const CheckOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) fail("no reference data: '", data_dir, "' is not a folder");
  return check_one(name, fs::path(), fs::path(data_dir), options, true, &model);
}

}  // namespace eqopt
