#include <iostream>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>

#include "targets/cost_model.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "interp/interpreter.h"
#include "ir/model_stats.h"
#include "onnx_io/onnx_io.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt info MODEL [--json] [--input-shape NAME=DIMS]...

Prints the model's inputs and outputs with their shapes (after shape inference), the op histogram
(nodes inside If/Loop bodies included), the parameter count (initializer elements, plus float
Constant tensors of more than one element), and FLOPs of one run (a multiply-add counts 2,
elementwise ops 1 per output element, data movement 0).

  --json                 machine-readable output
  --input-shape NAME=DIMS  fix a dynamic input shape, e.g. x=1x3x224x224 (repeatable)
  --target NAME          also estimate the model's time on a built-in target (cpu, gpu, npu),
                         in total and per op class (targets/cost_model.h)
  --target-file FILE     the same for a target description file
)";

std::string human_count(int64_t n) {
  char buf[64];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.2f G", double(n) / 1e9);
  else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2f M", double(n) / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.2f K", double(n) / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  Args args("info", argv, {{"help"}, {"json"}, {"input-shape", true, true}, {"target", true}, {"target-file", true}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "MODEL");
  const Model model = load_model(args.positional()[0]);
  InferOptions opt;
  opt.input_dims = parse_input_shapes(args.values("input-shape"));
  InterpreterFolder folder;
  opt.folder = &folder;
  const InferenceResult types = infer_model(model, opt);
  const ModelStats stats = compute_stats(model, types);
  if (args.flag("target") && args.flag("target-file")) fail("give --target or --target-file, not both");
  std::shared_ptr<const tgt::CostModel> target;
  if (auto name = args.value("target")) target = tgt::make_cost_model(*name);
  if (auto file = args.value("target-file")) target = tgt::make_cost_model_from_file(*file);
  std::optional<tgt::ModelCost> estimate;
  if (target) estimate = tgt::estimate_model(*target, model, opt);

  auto type_of = [&](const ValueInfo& v) -> TensorType {
    const TensorType* t = types.type_of(v.name);
    return t ? refine_type(v.type, *t) : v.type;
  };
  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["model"] = args.positional()[0];
    j["ir_version"] = model.ir_version;
    nlohmann::ordered_json opsets = nlohmann::ordered_json::object();
    for (const auto& o : model.opset_imports) opsets[o.domain.empty() ? "ai.onnx" : o.domain] = o.version;
    j["opsets"] = opsets;
    j["producer"] = model.producer_name;
    auto values = [&](const std::vector<const ValueInfo*>& list) {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const ValueInfo* v : list) {
        const TensorType t = type_of(*v);
        nlohmann::ordered_json e;
        e["name"] = v->name;
        e["dtype"] = std::string(dtype_short_name(t.dtype));
        if (t.dims) {
          nlohmann::ordered_json dims = nlohmann::ordered_json::array();
          for (const Dim& d : *t.dims)
            if (d.known()) dims.push_back(d.value);
            else dims.push_back(d.param.empty() ? "?" : d.param);
          e["shape"] = dims;
        } else {
          e["shape"] = nullptr;
        }
        arr.push_back(e);
      }
      return arr;
    };
    std::vector<const ValueInfo*> outs;
    for (const ValueInfo& v : model.graph.outputs) outs.push_back(&v);
    j["inputs"] = values(model.graph.runtime_inputs());
    j["outputs"] = values(outs);
    j["nodes"] = stats.node_count;
    j["subgraphs"] = stats.subgraph_count;
    j["ops"] = stats.op_histogram;
    j["parameters"] = stats.parameter_count;
    j["parameter_bytes"] = stats.parameter_bytes;
    j["flops"] = stats.flops;
    j["flops_unknown_nodes"] = stats.flops_unknown_nodes;
    if (estimate) {
      j["target"] = target->name();
      j["estimated_time_ms"] = estimate->total_s * 1e3;
      nlohmann::ordered_json by_class = nlohmann::ordered_json::object();
      for (const auto& [k, v] : estimate->by_class) by_class[k] = v * 1e3;
      j["estimated_time_by_class_ms"] = by_class;
      j["host_fallback_ops"] = estimate->host_ops;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model:      " << args.positional()[0] << "\n";
  std::cout << "ir_version: " << model.ir_version << ", opsets:";
  for (const auto& o : model.opset_imports)
    std::cout << " " << (o.domain.empty() ? "ai.onnx" : o.domain) << "=" << o.version;
  std::cout << (model.producer_name.empty() ? "" : ", producer: " + model.producer_name) << "\n";
  std::cout << "inputs:\n";
  for (const ValueInfo* v : model.graph.runtime_inputs())
    std::cout << "  " << v->name << "  " << type_of(*v).str() << "\n";
  std::cout << "outputs:\n";
  for (const ValueInfo& v : model.graph.outputs) std::cout << "  " << v.name << "  " << type_of(v).str() << "\n";
  std::cout << "nodes:      " << stats.node_count;
  if (stats.subgraph_count) std::cout << " (in the main graph and " << stats.subgraph_count << " subgraphs)";
  std::cout << "\nops:\n";
  std::vector<std::pair<int64_t, std::string>> hist;
  for (const auto& [op, n] : stats.op_histogram) hist.emplace_back(-n, op);
  std::sort(hist.begin(), hist.end());
  for (const auto& [n, op] : hist) std::cout << "  " << op << std::string(op.size() < 24 ? 24 - op.size() : 1, ' ') << -n << "\n";
  std::cout << "parameters: " << stats.parameter_count << " (" << human_count(stats.parameter_count) << ", "
            << human_count(stats.parameter_bytes) << "B)\n";
  std::cout << "FLOPs:      " << stats.flops << " (" << human_count(stats.flops) << ")";
  if (stats.flops_unknown_nodes)
    std::cout << "; " << stats.flops_unknown_nodes << " nodes with unknown shapes not counted (see --input-shape)";
  std::cout << "\n";
  if (estimate) {
    std::cout << "estimated time on " << target->name() << ": " << estimate->total_s * 1e3 << " ms";
    if (estimate->host_ops) std::cout << " (" << estimate->host_ops << " ops fall back to the host)";
    std::cout << "\n";
    for (const auto& [k, v] : estimate->by_class)
      std::cout << "  " << k << std::string(k.size() < 24 ? 24 - k.size() : 1, ' ') << v * 1e3 << " ms\n";
  }
  for (const std::string& w : types.warnings) std::cout << "warning: " << w << "\n";
  return 0;
}

}  // namespace eqopt::cli
