// The generic per-op kernel registry backends keep (ir/kernel_registry.h), and the reference
// interpreter's, which is one.
#include <gtest/gtest.h>

#include <string>

#include "interp/kernel.h"
#include "ir/kernel_registry.h"

namespace eqopt {
namespace {

TEST(KernelRegistry, FindsKernelsByOpId) {
  KernelRegistry<std::string> r;
  r.add("", "Relu", "relu kernel");
  r.add(OpId::parse("eqopt.FusedConv"), "fused conv kernel");
  r.add("ai.onnx", "Add", "add kernel");  // the default domain by its long name
  ASSERT_TRUE(r.find(OpId::parse("Relu")));
  EXPECT_EQ(*r.find(OpId::parse("Relu")), "relu kernel");
  EXPECT_EQ(*r.find(OpId("", "Add")), "add kernel");
  EXPECT_EQ(*r.find(OpId("eqopt", "FusedConv")), "fused conv kernel");
  EXPECT_EQ(r.find(OpId("", "FusedConv")), nullptr);  // the domain is part of the identity
  Node n;
  n.domain = "ai.onnx";
  n.op_type = "Relu";
  EXPECT_EQ(*r.find(n), "relu kernel");
  r.add("", "Relu", "faster relu kernel");  // a later registration replaces
  EXPECT_EQ(*r.find(OpId("", "Relu")), "faster relu kernel");
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.ops(), (std::vector<OpId>{OpId("", "Add"), OpId("", "Relu"), OpId("eqopt", "FusedConv")}));
}

TEST(KernelRegistry, ReportsWhatABackendCannotRun) {
  KernelRegistry<int> r;
  r.add("", "Relu", 1);
  r.add("", "NoSuchOp", 2);
  const OpRegistry& schemas = OpRegistry::global();
  const auto own = [](const OpSchema& s) { return s.domain == "eqopt"; };
  size_t own_ops = 0;
  for (const OpSchema* s : schemas.all()) own_ops += own(*s);
  EXPECT_GE(own_ops, 5u);
  EXPECT_EQ(r.missing(schemas, own).size(), own_ops);  // no kernel for any own op
  const std::vector<OpId> missing = r.missing(schemas);
  EXPECT_EQ(missing.size(), schemas.all().size() - 1);
  EXPECT_EQ(r.unknown(schemas), std::vector<OpId>{OpId("", "NoSuchOp")});
}

TEST(KernelRegistry, EveryInterpreterKernelHasASchema) {
  const InterpreterKernels& k = interpreter_kernels();
  EXPECT_GT(k.size(), 100u);
  EXPECT_TRUE(k.unknown(OpRegistry::global()).empty());
  // What the interpreter has no kernel for runs otherwise: through inference (Shape, Size,
  // Constant) or the op's definition (eqopt's own ops).
  for (const OpId& op : k.missing(OpRegistry::global())) {
    const OpSchema* s = OpRegistry::global().find(op);
    EXPECT_TRUE(s->infer_computes_values || s->expand) << op.str();
  }
}

}  // namespace
}  // namespace eqopt
