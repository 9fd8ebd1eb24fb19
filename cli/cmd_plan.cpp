// `eqopt plan DIR|FILE`: a compiled plan as text: its kernels with their parameters and the layouts
// and places of their tensors, and the memory plan.
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/cpu_backend.h"
#include "support/error.h"

namespace eqopt::cli {

namespace {

constexpr const char* kHelp = R"(usage: eqopt plan DIR|FILE [--values]

Prints a compiled plan (eqopt MODEL --target cpu -o DIR writes DIR/model.plan): its header, then one
line per kernel (implementation, op, name, inputs -> outputs with their layouts and arena offsets,
attributes). --values also lists every value with its shape, layout, storage, offset and size.
)";

std::string value_str(const rt::Plan& p, int32_t v) {
  if (v < 0) return "-";
  const rt::PlanValue& x = p.values[size_t(v)];
  std::string s = x.name + ":" + std::string(dtype_short_name(x.dtype)) + shape_str(x.shape);
  if (!x.layout.empty()) s += ":" + x.layout;
  s += x.storage == rt::Storage::Constant ? "@const" : "@" + std::to_string(x.offset);
  return s;
}

std::string attr_str(const Attribute& a) {
  switch (a.kind) {
    case Attribute::Kind::Int: return a.name + "=" + std::to_string(a.i);
    case Attribute::Kind::Float: return a.name + "=" + std::to_string(a.f);
    case Attribute::Kind::String: return a.name + "=" + a.s;
    case Attribute::Kind::Ints: {
      std::string s = a.name + "=[";
      for (size_t i = 0; i < a.ints.size(); ++i) s += (i ? "," : "") + std::to_string(a.ints[i]);
      return s + "]";
    }
    default: return a.name + "=<" + std::string(attribute_kind_name(a.kind)) + ">";
  }
}

}  // namespace

int cmd_plan(const std::vector<std::string>& argv) {
  Args args("plan", argv, {{"help"}, {"values"}});
  if (args.flag("help")) {
    std::cout << kHelp;
    return 0;
  }
  args.expect_positional(1, "DIR|FILE");
  const std::string path = plan_path_of(args.positional()[0]);
  if (path.empty()) fail(args.positional()[0], ": not a plan file or a folder with model.plan");
  const rt::Plan p = rt::load_plan(path);
  std::printf("plan %s: %s, for %s, opset %lld\n", path.c_str(), p.producer.c_str(), p.machine.c_str(), (long long)p.opset);
  std::printf("arena %llu bytes, constants %zu bytes, %zu values, %zu kernels\n", (unsigned long long)p.arena_bytes,
              p.constants.size(), p.values.size(), p.kernels.size());
  std::string ins, outs;
  for (int32_t v : p.inputs) ins += (ins.empty() ? "" : ", ") + value_str(p, v);
  for (int32_t v : p.outputs) outs += (outs.empty() ? "" : ", ") + value_str(p, v);
  std::printf("inputs: %s\noutputs: %s\n", ins.c_str(), outs.c_str());
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    const rt::PlanKernel& pk = p.kernels[k];
    std::string line = std::to_string(k) + " " + pk.impl + " " + OpId::of(pk.node).str() + " '" + pk.node.name + "': ";
    for (size_t i = 0; i < pk.inputs.size(); ++i) line += (i ? ", " : "") + value_str(p, pk.inputs[i]);
    line += " -> ";
    for (size_t i = 0; i < pk.outputs.size(); ++i) line += (i ? ", " : "") + value_str(p, pk.outputs[i]);
    std::string attrs;
    for (const Attribute& a : pk.node.attributes) attrs += (attrs.empty() ? "" : " ") + attr_str(a);
    if (!attrs.empty()) line += "  {" + attrs + "}";
    std::puts(line.c_str());
  }
  if (args.flag("values"))
    for (size_t v = 0; v < p.values.size(); ++v)
      std::printf("value %zu %s bytes %llu\n", v, value_str(p, int32_t(v)).c_str(), (unsigned long long)p.values[v].bytes);
  return 0;
}

}  // namespace eqopt::cli
