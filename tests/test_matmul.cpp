// The oneDNN products against ATen's own on seeded input (ncnn's pattern: the fast path
// against the plain one, within a stated tolerance), and the lower-precision products
// against float32.
#include <gtest/gtest.h>

#include "tagclip/model/matmul.h"

#include <ATen/Context.h>

#include <thread>

#include "tagclip/model/device.h"

namespace tagclip {
namespace {

// Restores the process-wide switch whatever a test does.
class MatmulTest : public ::testing::Test {
 protected:
  void TearDown() override { set_onednn_float32_matmul(true); }
};

double max_relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

TEST_F(MatmulTest, LinearThroughOnednnMatchesAten) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({2, 197, 768});
  const at::Tensor weight = at::randn({3072, 768}) * 0.02;
  const at::Tensor bias = at::randn({3072});
  ASSERT_TRUE(onednn_float32_matmul());
  const at::Tensor fast = linear_in_weight_dtype(x, weight, bias);
  const at::Tensor plain = at::linear(x, weight, bias);
  EXPECT_EQ(fast.sizes(), plain.sizes());
  EXPECT_EQ(fast.scalar_type(), at::kFloat);
  // Same float32 products, sums in another order.
  EXPECT_LT(max_relative_difference(fast, plain), 1e-5);
  set_onednn_float32_matmul(false);
  EXPECT_TRUE(at::equal(linear_in_weight_dtype(x, weight, bias), plain));
}

TEST_F(MatmulTest, LinearWithoutBiasAndOnTwoDimensions) {
  at::manual_seed(2);
  const at::Tensor x = at::randn({5, 64});
  const at::Tensor weight = at::randn({7, 64});
  const at::Tensor fast = linear_in_weight_dtype(x, weight, at::Tensor());
  EXPECT_EQ(fast.sizes(), (at::IntArrayRef{5, 7}));
  EXPECT_LT(max_relative_difference(fast, at::linear(x, weight)), 1e-5);
}

TEST_F(MatmulTest, BatchedTransposedProductMatchesAten) {
  at::manual_seed(3);
  const at::Tensor a = at::randn({2, 12, 50, 64});
  const at::Tensor b = at::randn({2, 12, 70, 64});
  const at::Tensor fast = matmul_transposed(a, b);
  const at::Tensor plain = at::matmul(a, b.transpose(-2, -1));
  EXPECT_EQ(fast.sizes(), (at::IntArrayRef{2, 12, 50, 70}));
  EXPECT_LT(max_relative_difference(fast, plain), 1e-5);
  // A transposed view as the second operand (the attention's values).
  const at::Tensor v = at::randn({2, 12, 70, 64});
  const at::Tensor probabilities = at::softmax(fast, -1);
  EXPECT_LT(max_relative_difference(matmul_transposed(probabilities, v.transpose(-2, -1)),
                                    at::matmul(probabilities, v)),
            1e-5);
}

TEST_F(MatmulTest, AutogradTakesTheAtenPathAndGivesGradients) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({3, 16}).requires_grad_(true);
  const at::Tensor weight = at::randn({8, 16});
  const at::Tensor y = linear_in_weight_dtype(x, weight, at::Tensor());
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  // d(sum(x W^T))/dx = column sums of W, for each row.
  EXPECT_TRUE(at::allclose(x.grad(), weight.sum(0).expand({3, 16})));
}

TEST_F(MatmulTest, Float64StaysExact) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({4, 16}, at::kDouble);
  const at::Tensor weight = at::randn({8, 16}, at::kDouble);
  const at::Tensor bias = at::randn({8}, at::kDouble);
  EXPECT_TRUE(at::equal(linear_in_weight_dtype(x, weight, bias), at::linear(x, weight, bias)));
}

TEST_F(MatmulTest, BFloat16WeightsComputeInBFloat16AndReturnFloat32) {
  at::manual_seed(6);
  const at::Tensor x = at::randn({1, 100, 768});
  const at::Tensor weight = at::randn({768, 768}) * 0.03;
  const at::Tensor bias = at::randn({768});
  const at::Tensor low = linear_in_weight_dtype(x, weight.to(at::kBFloat16), bias);
  EXPECT_EQ(low.scalar_type(), at::kFloat);
  const at::Tensor exact = at::linear(x, weight, bias);
  // bfloat16 keeps 8 significant bits: inputs and weights rounded by up to 2^-9 each.
  const double difference = max_relative_difference(low, exact);
  EXPECT_GT(difference, 0.0);
  EXPECT_LT(difference, 2e-2);
}

// Threads started after the call inherit the setting: LibTorch's OpenMP workers do the
// masked blocks' products, so they are the ones that must flush.
TEST(FlushDenormals, HoldsInThisThreadAndInThreadsStartedLater) {
  ASSERT_TRUE(flush_denormals_to_zero());
  volatile float tiny = 1e-30f;
  volatile float product = tiny * 1e-10f;  // 1e-40 is a float32 denormal
  EXPECT_EQ(product, 0.0f);
  float in_thread = -1.0f;
  std::thread([&] {
    volatile float t = 1e-30f;
    in_thread = t * 1e-10f;
  }).join();
  EXPECT_EQ(in_thread, 0.0f);
  at::globalContext().setFlushDenormal(false);
  product = tiny * 1e-10f;
  EXPECT_GT(product, 0.0f);
}

}  // namespace
}  // namespace tagclip
