// Conformance of the reference interpreter: ONNX's official node tests and the shared real models.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "interp/conformance.h"
#include "tests/test_util.h"

using namespace eqopt;
using namespace eqopt::test;
namespace fs = std::filesystem;

TEST(Conformance, OnnxNodeTests) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  CheckOptions opt;  // ONNX's defaults: rtol 1e-3, atol 1e-7
  const CheckSummary s = run_check(shared_dir() + "/onnx-node-tests", opt);
  for (const CheckOutcome& o : s.outcomes)
    EXPECT_NE(o.status, CheckOutcome::Status::Fail) << o.name << ": " << o.detail;
  EXPECT_EQ(s.failed, 0);
  EXPECT_GE(s.passed, 370);
  EXPECT_EQ(s.passed + s.failed + s.skipped, 380);
}

class SharedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedModel, MatchesReferenceOutputs) {
  if (shared_dir().empty()) GTEST_SKIP() << "../shared is not present";
  CheckOptions opt;
  opt.tol.rtol = 1e-3;
  opt.tol.atol = 1e-4;
  const CheckSummary s = run_check(shared_dir() + "/models/" + GetParam() + ".onnx", opt);
  ASSERT_EQ(s.outcomes.size(), 1u);
  EXPECT_EQ(s.outcomes[0].status, CheckOutcome::Status::Pass) << s.outcomes[0].detail;
}

INSTANTIATE_TEST_SUITE_P(All, SharedModel,
                         ::testing::Values("ch_PP-OCRv4_det_infer", "ch_ppocr_mobile_v2.0_cls_infer",
                                           "densenet121", "mobilenet_v2", "mobilenet_v3_small",
                                           "mobilenet_v3_small_op17_extdata", "openwakeword_embedding_model",
                                           "openwakeword_melspectrogram", "resnet18", "silero_vad_v5",
                                           "tiny_gpt_decoder"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(Conformance, CompareTensorsFollowsTheOnnxRule) {
  Tolerance tol;
  EXPECT_TRUE(compare_tensors(floats({2}, {1.0f, 0.0f}), floats({2}, {1.0009f, 0.0f}), tol).ok);
  EXPECT_FALSE(compare_tensors(floats({2}, {1.0f, 0.0f}), floats({2}, {1.0011f, 0.0f}), tol).ok);
  EXPECT_FALSE(compare_tensors(floats({1}, {1e-6f}), floats({1}, {0.0f}), tol).ok);  // atol 1e-7
  EXPECT_TRUE(compare_tensors(floats({1}, {NAN}), floats({1}, {NAN}), tol).ok);
  EXPECT_FALSE(compare_tensors(floats({1}, {INFINITY}), floats({1}, {-INFINITY}), tol).ok);
  EXPECT_FALSE(compare_tensors(floats({2}, {1, 2}), floats({1, 2}, {1, 2}), tol).ok);  // shape
  EXPECT_FALSE(compare_tensors(ints({1}, {1}), floats({1}, {1}), tol).ok);             // dtype
  EXPECT_FALSE(compare_tensors(ints({1}, {5}), ints({1}, {6}), tol).ok);               // ints exact
}
