// ClipModel against the authors' code: golden numbers in tests/data/golden/model_fidelity.*
// come from scripts/golden/make_model_golden.py, which runs the reference (fp32, CPU) on the
// checkpoint that `tagclip random-checkpoint --seed 0` writes (= fidelity_spec() here).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "golden_arrays.h"
#include "tagclip/errors.h"
#include "tagclip/model/clip_model.h"
#include "test_support.h"

namespace tagclip {
namespace {

using testing::GoldenArrays;

constexpr double kFeatureTolerance = 1e-4;    // normalised features
constexpr double kAttentionTolerance = 1e-5;  // attention probabilities

class ClipModelFidelity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(2);
    model_ = ClipModel::load(testing::fidelity_checkpoint_path());
    golden_ = std::make_unique<GoldenArrays>(testing::data_path("golden/model_fidelity"));
  }
  static void TearDownTestSuite() {
    model_.reset();
    golden_.reset();
  }

  // Runs the vision tower like the reference's encode_image_tagclip and compares the
  // normalised tokens and every block's (sampled) attention map.
  void expect_vision_case(const std::string& name, int64_t height, int64_t width,
                          VisionForwardOptions options) {
    for (int64_t i = 0; i < model_->architecture().vision_layers; ++i)
      options.attention_blocks.push_back(i);
    const at::InferenceMode guard;
    const VisionOutput out =
        model_->vision().forward(testing::synthetic_image(height, width), options);
    const at::Tensor tokens = out.tokens[0] / out.tokens[0].norm(2, -1, true);
    const at::Tensor expected_tokens = golden_->array(name + ".tokens");
    ASSERT_EQ(tokens.sizes(), expected_tokens.sizes()) << name;
    const double token_error = (tokens - expected_tokens).abs().max().item<double>();
    EXPECT_LE(token_error, kFeatureTolerance) << name;

    const int64_t stride = golden_->scalars().at("sample_stride");
    double worst_attention = 0.0;
    for (size_t i = 0; i < out.attention.size(); ++i) {
      const at::Tensor got = testing::every_nth(out.attention[i][0], stride);
      const at::Tensor expected = golden_->array(name + ".attention." + std::to_string(i));
      ASSERT_EQ(got.sizes(), expected.sizes()) << name << " block " << i;
      worst_attention = std::max(worst_attention, (got - expected).abs().max().item<double>());
    }
    EXPECT_LE(worst_attention, kAttentionTolerance) << name;
    std::cout << "[ fidelity ] " << name << ": max |token diff| " << token_error
              << ", max |attention diff| " << worst_attention << std::endl;
  }

  static std::shared_ptr<const ClipModel> model_;
  static std::unique_ptr<GoldenArrays> golden_;
};
std::shared_ptr<const ClipModel> ClipModelFidelity::model_;
std::unique_ptr<GoldenArrays> ClipModelFidelity::golden_;

TEST_F(ClipModelFidelity, LogitScaleMatchesReference) {
  EXPECT_NEAR(model_->logit_scale(), golden_->scalars().at("logit_scale_exp").get<double>(), 1e-4);
}

TEST_F(ClipModelFidelity, SquareWithoutMasks) { expect_vision_case("square_plain", 224, 224, {}); }

TEST_F(ClipModelFidelity, SquareWithSelfOnlyLastBlock) {
  VisionForwardOptions options;
  options.self_only_last_block = true;
  expect_vision_case("square_self_only", 224, 224, options);
}

TEST_F(ClipModelFidelity, WideImageResizesPositionalEmbedding) {
  VisionForwardOptions options;
  options.self_only_last_block = true;
  expect_vision_case("wide_self_only", 224, 320, options);
}

TEST_F(ClipModelFidelity, TallImageResizesPositionalEmbedding) {
  VisionForwardOptions options;
  options.self_only_last_block = true;
  expect_vision_case("tall_self_only", 288, 176, options);
}

TEST_F(ClipModelFidelity, ClassTokenMaskInEveryBlock) {
  const at::Tensor keep = golden_->array("cwr_keep").to(at::kBool);  // [196]
  const int64_t tokens = keep.size(0) + 1;
  at::Tensor mask = at::zeros({tokens, tokens});
  mask.index_put_({0, at::indexing::Slice(1, at::indexing::None)},
                  at::where(keep, at::zeros({}), at::full({}, -1000.0f)));
  VisionForwardOptions options;
  options.block_masks.assign(model_->architecture().vision_layers, mask);
  expect_vision_case("square_cwr_mask", 224, 224, options);
}

TEST_F(ClipModelFidelity, RawPromptFeatures) {
  const at::InferenceMode guard;
  const at::Tensor ids = golden_->array("raw_prompt_tokens");
  const at::Tensor expected = golden_->array("raw_prompt_features");
  const at::Tensor got = model_->text().encode(ids);
  ASSERT_EQ(got.sizes(), expected.sizes());
  // Unnormalised features: compare relative to their size.
  const double scale = expected.abs().max().item<double>();
  EXPECT_LE((got - expected).abs().max().item<double>(), kFeatureTolerance * scale);
}

TEST_F(ClipModelFidelity, CroppedTextSequenceEqualsFullContext) {
  const at::InferenceMode guard;
  const at::Tensor ids = golden_->array("raw_prompt_tokens");
  const at::Tensor cropped = model_->text().encode(ids, /*crop_to_longest=*/true);
  const at::Tensor full = model_->text().encode(ids, /*crop_to_longest=*/false);
  EXPECT_LE((cropped - full).abs().max().item<double>(), 1e-5);
}

TEST_F(ClipModelFidelity, RoundingSwitchChangesOnlyResizedGrids) {
  const at::Tensor rounded = model_->vision().positional_embedding_for(14, 20, true);
  const at::Tensor exact = model_->vision().positional_embedding_for(14, 20, false);
  EXPECT_EQ(rounded.sizes(), (at::IntArrayRef{1 + 14 * 20, 128}));
  EXPECT_GT((rounded - exact).abs().max().item<double>(), 0.0);
  EXPECT_TRUE(at::equal(rounded, rounded.to(at::kHalf).to(at::kFloat)));
  EXPECT_TRUE(at::equal(model_->vision().positional_embedding_for(14, 14, true),
                        model_->vision().positional_embedding_for(14, 14, false)));
}

TEST_F(ClipModelFidelity, BatchedImagesMatchOneByOne) {
  const at::InferenceMode guard;
  const at::Tensor a = testing::synthetic_image(224, 224);
  const at::Tensor b = a.flip(-1);
  VisionForwardOptions options;
  options.self_only_last_block = true;
  const at::Tensor batched = model_->vision().forward(at::cat({a, b}), options).tokens;
  const at::Tensor single = model_->vision().forward(b, options).tokens;
  EXPECT_LE((batched[1] - single[0]).abs().max().item<double>(), 1e-5);
}

TEST_F(ClipModelFidelity, OutputsCarryNoAutogradState) {
  // Called without a guard: the towers enter inference mode themselves.
  const VisionOutput out = model_->vision().forward(testing::synthetic_image(224, 224), {});
  EXPECT_TRUE(out.tokens.is_inference());
  EXPECT_FALSE(out.tokens.requires_grad());
  const at::Tensor text = model_->text().encode(golden_->array("raw_prompt_tokens"));
  EXPECT_TRUE(text.is_inference());
}

TEST_F(ClipModelFidelity, RejectsInputNotMultipleOfPatch) {
  EXPECT_THROW(model_->vision().forward(at::zeros({1, 3, 100, 224}), {}), ShapeError);
}

}  // namespace
}  // namespace tagclip
