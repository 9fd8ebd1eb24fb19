#include <gtest/gtest.h>

#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;

TEST(Elementwise, AddBroadcasts) {
  auto out = run_op("Add", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({3}, {10, 20, 30})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_f(out[0]), (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(Elementwise, AddRejectsIncompatibleShapes) {
  EXPECT_THROW(run_op("Add", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({2}, {1, 2})}), Error);
}

TEST(Elementwise, AddInfersSymbolicBroadcast) {
  auto t = infer_op("Add", {TensorType{DType::Float, Dims{Dim::symbol("N"), Dim::of(3)}},
                            TensorType{DType::Float, Dims{Dim::of(1), Dim::of(3)}}});
  EXPECT_EQ(t[0].str(), "float32[N,3]");
}
