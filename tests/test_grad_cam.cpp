// Grad-CAM on the last ViT block (pipeline/grad_cam.h) on a tiny random model in float64:
// the autograd gradients against central finite differences of the target probability
// with respect to ln_1's output, the split block against the whole one, and the scaling.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tagclip/errors.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/model/transformer_block.h"
#include "tagclip/pipeline/grad_cam.h"
#include "test_support.h"

namespace tagclip {
namespace {

// 3 blocks of width 64 (one head), patch 16, a 2x3 grid.
RandomCheckpointSpec tiny_spec() {
  RandomCheckpointSpec spec;
  spec.vision_width = 64;
  spec.vision_layers = 3;
  spec.grid_size = 3;
  spec.embed_dim = 16;
  spec.text_layers = 1;
  spec.seed = 7;
  return spec;
}

class GradCamTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelOptions options;
    options.dtype = at::kDouble;  // finite differences need the precision
    model_ =
        ClipModel::load(testing::random_checkpoint_path(tiny_spec(), "grad_cam_tiny"), options);
    at::manual_seed(3);
    const at::Tensor image = at::randn({1, 3, 32, 48}, at::kDouble);
    VisionForwardOptions forward;
    forward.block_count = model_->vision().layers() - 1;
    forward.tokens_before_ln_post = true;
    tokens_ = model_->vision().forward(image, forward).tokens;  // [1, 7, 64]
    text_ = at::randn({5, model_->architecture().embed_dim}, at::kDouble);
    last_ = LastVisionBlock::from(model_->vision());
  }

  const VisionTower& vision() const { return model_->vision(); }
  std::shared_ptr<const ClipModel> model_;
  at::Tensor tokens_, text_;
  LastVisionBlock last_;
};

TEST_F(GradCamTiny, GradientsMatchFiniteDifferences) {
  // A small logit scale keeps the probabilities away from 0 and 1, so the gradients are large.
  const double scale = 10.0;
  const std::vector<int64_t> targets = {2, 0};
  const LastBlockGradients pass = last_block_gradients(last_, tokens_, text_, scale, targets);
  ASSERT_EQ(pass.gradients.sizes(), (at::IntArrayRef{2, 6, 64}));
  ASSERT_EQ(pass.activation.sizes(), (at::IntArrayRef{6, 64}));
  EXPECT_NEAR(pass.probabilities.sum().item<double>(), 1.0, 1e-6);

  const ResidualBlockWeights& last = vision().block(vision().layers() - 1);
  const at::Tensor normed = residual_block_ln_1(tokens_, last);
  // ln_1's patch rows are the activation.
  EXPECT_LT((pass.activation - normed[0].slice(0, 1).to(at::kFloat)).abs().max().item<double>(),
            1e-6);
  const double h = 1e-6;
  double largest = 0.0;
  for (int64_t k = 0; k < 2; ++k) {
    for (const auto& [row, column] :
         std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {1, 5}, {2, 17}, {3, 40}, {5, 63}}) {
      // Copies: C++17 lambdas cannot capture structured bindings (clang refuses).
      const int64_t position = row, channel = column;
      auto probability = [&](double delta) {
        at::Tensor shifted = normed.clone();
        shifted[0][1 + position][channel] += delta;
        return last_block_probabilities(last_, tokens_, shifted, text_, scale)[targets[k]]
            .item<double>();
      };
      const double numeric = (probability(h) - probability(-h)) / (2 * h);
      const double analytic = pass.gradients[k][position][channel].item<double>();
      largest = std::max(largest, std::abs(numeric));
      // The gradients come back as float32.
      EXPECT_NEAR(analytic, numeric, 1e-9 + 1e-5 * std::abs(numeric))
          << "target " << k << " position " << position << " channel " << channel;
    }
  }
  EXPECT_GT(largest, 1e-4);  // the check is not vacuous
}

TEST(GradCamSplitBlock, EqualsTheWholeBlockInFloat32) {
  const auto model = ClipModel::load(testing::random_checkpoint_path(tiny_spec(), "grad_cam_tiny"));
  const VisionTower& vision = model->vision();
  at::manual_seed(5);
  const at::Tensor x = at::randn({1, 7, 64});
  const ResidualBlockWeights& last = vision.block(vision.layers() - 1);
  at::Tensor whole_attention, split_attention;
  const at::Tensor whole =
      residual_block_forward(x, last, vision.heads(), at::Tensor(), &whole_attention);
  const at::Tensor split = residual_block_after_ln_1(
      x, residual_block_ln_1(x, last), last, vision.heads(), at::Tensor(), &split_attention);
  EXPECT_TRUE(at::equal(whole, split));
  EXPECT_TRUE(at::equal(whole_attention, split_attention));
}

TEST_F(GradCamTiny, RejectsTargetsOutOfRange) {
  EXPECT_THROW(last_block_gradients(last_, tokens_, text_, 10.0, {5}), UsageError);
  EXPECT_THROW(last_block_gradients(last_, tokens_, text_, 10.0, {-1}), UsageError);
}

TEST(GradCamMaps, WeightsAreMeanGradientsAndTheMapIsScaledTwice) {
  // n = 4 positions (2x2), D = 2 channels.
  const at::Tensor activation = at::tensor({1.f, 0.f, 0.f, 1.f, 2.f, 2.f, -1.f, 0.f}).view({4, 2});
  // Mean gradients: channel 0 -> 0.5, channel 1 -> 0.25.
  const at::Tensor gradients = at::tensor({0.f, 1.f, 1.f, 0.f, 0.f, 0.f, 1.f, 0.f}).view({1, 4, 2});
  const at::Tensor maps = grad_cam_maps(activation, gradients, 2, 2);
  ASSERT_EQ(maps.sizes(), (at::IntArrayRef{1, 2, 2}));
  // cam = ReLU(0.5 a0 + 0.25 a1) = (0.5, 0.25, 1.5, 0) -> / 1.5 (twice, with the epsilons).
  const float once = 1.5f / static_cast<float>(1.5 + 1e-7);
  const float top = once / static_cast<float>(static_cast<double>(once) + 1e-7);
  EXPECT_FLOAT_EQ(maps[0][0][0].item<float>(), 0.5f / 1.5f);
  EXPECT_FLOAT_EQ(maps[0][0][1].item<float>(), 0.25f / 1.5f);
  EXPECT_EQ(maps[0][1][0].item<float>(), top);
  EXPECT_EQ(maps[0][1][1].item<float>(), 0.0f);
}

TEST(GradCamMaps, MaximumStaysJustBelowOneSoUint8GivesAtMost254) {
  const at::Tensor maps =
      scale_cam_maps(scale_cam_maps(at::tensor({3.f, 5.f, 7.f}).view({1, 1, 3})));
  // (x - min) / float32(max' + 1e-7): 1 / 1.0000001 = 1 - 2^-23, and the second pass keeps it.
  EXPECT_EQ(maps[0][0][2].item<float>(), 1.0f - std::ldexp(1.0f, -23));
  EXPECT_EQ(static_cast<int>(maps[0][0][2].item<float>() * 255.0f), 254);
  EXPECT_EQ(maps[0][0][0].item<float>(), 0.0f);
  // A map with no positive evidence stays zero (0 / 1e-7).
  const at::Tensor flat = grad_cam_maps(at::ones({4, 2}), -at::ones({1, 4, 2}), 2, 2);
  EXPECT_EQ(flat.abs().max().item<float>(), 0.0f);
}

}  // namespace
}  // namespace tagclip
