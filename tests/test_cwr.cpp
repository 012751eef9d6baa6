// CWR's pieces on hand-made tensors (candidate rule, boxes, nearest resize, masks, crops),
// and the stage on the random fidelity checkpoint: the early stop, its switch, and the
// batched fast path against the one-crop-at-a-time path.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "golden_arrays.h"
#include "tagclip/errors.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/pipeline/coarse_classification.h"
#include "tagclip/pipeline/cwr.h"
#include "test_support.h"

namespace tagclip {
namespace {

// at::tensor has no bool overload in LibTorch 1.13.
at::Tensor bools(std::vector<int> values) { return at::tensor(values).to(at::kBool); }

using at::indexing::Slice;

TEST(CwrCandidates, ThresholdOverTheWholeRefinedMatrix) {
  // min 0, max 10 over all classes (background included): threshold 5 at ratio 0.5.
  const at::Tensor refined = at::tensor({0.f, 1.f, 10.f, 2.f, 3.f, 4.f}).view({2, 3});
  const at::Tensor local = at::tensor({6.f, 5.f});
  EXPECT_EQ(cwr_candidates(refined, local, 0.5), (std::vector<int64_t>{0}));  // 5 is not > 5
  EXPECT_EQ(cwr_candidates(refined, local, 0.1), (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(cwr_candidates(refined, at::tensor({4.f, 1.f}), 0.5).empty());
}

TEST(CandidateRegion, BoxSpansSetRowsAndColumns) {
  // Normalised > 0.5 at (0, 0) and (1, 1) of a 3x3 grid: rows [0, 2), columns [0, 2).
  const at::Tensor column = at::tensor({1.f, 0.f, 0.f, 0.f, 0.9f, 0.f, 0.f, 0.f, 0.5f});
  const CandidateRegion region = candidate_region(column, 3, 3, true);
  EXPECT_EQ(region.box.y0, 0);
  EXPECT_EQ(region.box.y1, 2);
  EXPECT_EQ(region.box.x0, 0);
  EXPECT_EQ(region.box.x1, 2);
  EXPECT_EQ(region.inside.sum().item<int64_t>(), 2);  // 0.5 is not > 0.5
}

TEST(CandidateRegion, LastColumnOnlyIsEmptyOnceClipped) {
  // Set only in column 2: x0 = 2, x1 = min(3, 2) = 2, an empty box; unclipped [2, 3).
  const at::Tensor column = at::tensor({0.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f});
  EXPECT_TRUE(candidate_region(column, 3, 3, true).box.empty());
  const PatchBox unclipped = candidate_region(column, 3, 3, false).box;
  EXPECT_FALSE(unclipped.empty());
  EXPECT_EQ(unclipped.x0, 2);
  EXPECT_EQ(unclipped.x1, 3);
  EXPECT_EQ(unclipped.y1, 2);
}

TEST(CandidateRegion, ConstantColumnHasNoRegion) {
  const CandidateRegion region = candidate_region(at::full({6}, 2.0f), 2, 3, true);
  EXPECT_TRUE(region.box.empty());
  EXPECT_FALSE(region.inside.any().item<bool>());
}

TEST(NearestResizeMask, PicksFloorOfScaledIndex) {
  // [2, 3] -> [4, 4]: source rows floor(i * 2 / 4) = 0 0 1 1, columns floor(j * 3 / 4) =
  // 0 0 1 2.
  const at::Tensor mask = bools({1, 0, 1, 0, 1, 0}).view({2, 3});
  const at::Tensor resized = nearest_resize_mask(mask, 4, 4);
  const int64_t rows[] = {0, 0, 1, 1}, cols[] = {0, 0, 1, 2};
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j)
      EXPECT_EQ(resized[i][j].item<bool>(), mask[rows[i]][cols[j]].item<bool>()) << i << "," << j;
  // [5, 5] -> [2, 2] keeps rows and columns 0 and floor(5 / 2) = 2.
  const at::Tensor big = at::arange(25).view({5, 5}) == 12;  // only (2, 2)
  EXPECT_TRUE(nearest_resize_mask(big, 2, 2).equal(bools({0, 0, 0, 1}).view({2, 2})));
}

TEST(ClassTokenMask, HidesOtherPatchesFromTheClassTokenOnly) {
  const at::Tensor mask = class_token_mask(bools({1, 0, 0, 1}), -1000.0);
  ASSERT_EQ(mask.sizes(), (at::IntArrayRef{5, 5}));
  EXPECT_TRUE(mask[0].equal(at::tensor({0.f, 0.f, -1000.f, -1000.f, 0.f})));
  EXPECT_EQ(mask.slice(0, 1).abs().sum().item<float>(), 0.0f);
}

TEST(CropToBox, CropsInPixelsAndResizes) {
  const at::Tensor image = at::arange(3 * 8 * 8, at::kFloat).view({1, 3, 8, 8});
  // Box rows [1, 3), columns [0, 2) of a patch-2 grid: pixels [2, 6) x [0, 4); resizing to
  // the same size (4) is the identity.
  const PatchBox box{1, 3, 0, 2};
  EXPECT_TRUE(crop_to_box(image, box, 2, 4)
                  .equal(image.index({Slice(), Slice(), Slice(2, 6), Slice(0, 4)})));
  EXPECT_EQ(crop_to_box(image, box, 2, 6).sizes(), (at::IntArrayRef{1, 3, 6, 6}));
  EXPECT_THROW(crop_to_box(image, PatchBox{1, 1, 0, 2}, 2, 4), ShapeError);
}

// The stage on the fidelity checkpoint (grid 14, 224 px) with a 4x4-grid image.
class CwrRescore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = ClipModel::load(testing::fidelity_checkpoint_path()); }
  static void TearDownTestSuite() { model_.reset(); }

  void SetUp() override {
    at::manual_seed(0);
    image_ = testing::synthetic_image(64, 64);
    text_ = at::randn({5, model_->architecture().embed_dim});
    text_ = text_ / text_.norm(2, -1, true);
    // Refined maps on the 4x4 grid, classes 0-2 foreground: 1 where listed, else 0;
    // background columns 0.2. Threshold 0.5, so all three foreground classes are candidates.
    //  class 0: (0, 0), (0, 1) -> box rows [0, 1), columns [0, 2)
    //  class 1: (1, 3) only    -> last column: empty once clipped
    //  class 2: (2, 1), (2, 2) -> box rows [2, 3), columns [1, 3)
    refined_ = at::zeros({16, 5});
    for (const auto& [patch, cls] :
         std::vector<std::pair<int, int>>{{0, 0}, {1, 0}, {7, 1}, {9, 2}, {10, 2}})
      refined_[patch][cls] = 1.0f;
    refined_.slice(1, 3).fill_(0.2f);
    local_ = at::tensor({1.0f, 1.0f, 1.0f});
  }

  static std::shared_ptr<const ClipModel> model_;
  at::Tensor image_, text_, refined_, local_;
};
std::shared_ptr<const ClipModel> CwrRescore::model_;

TEST_F(CwrRescore, EarlyStopKeepsScoresAsTheyAre) {
  const at::InferenceMode guard;
  CwrOptions options;
  options.batched = false;
  const CwrResult result = cwr_rescore(*model_, image_, text_, refined_, local_, options);
  EXPECT_EQ(result.candidates, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(result.rescored, (std::vector<int64_t>{0}));
  EXPECT_TRUE(result.stopped_early);
  // Class 0 was fused before the stop; classes 1 and 2 keep their local scores.
  EXPECT_NE(result.scores[0].item<float>(), 1.0f);
  EXPECT_EQ(result.scores[1].item<float>(), 1.0f);
  EXPECT_EQ(result.scores[2].item<float>(), 1.0f);
}

TEST_F(CwrRescore, FusedScoreIsMeanOfLocalAndMaskedClassToken) {
  const at::InferenceMode guard;
  CwrOptions options;
  options.batched = false;
  const CwrResult result = cwr_rescore(*model_, image_, text_, refined_, local_, options);
  // Class 0 by hand: crop rows [0, 16) x columns [0, 32) px, resized to 224; the class token
  // may see the patches where nearest-resizing the 1x2 region (both set) to 14x14 is set,
  // i.e. all of them.
  const at::Tensor crop = at::upsample_bilinear2d(
      image_.index({Slice(), Slice(), Slice(0, 16), Slice(0, 32)}), {224, 224}, false);
  VisionForwardOptions forward;
  forward.block_masks.assign(12, class_token_mask(at::ones({196}, at::kBool), -1000.0));
  const at::Tensor tokens = model_->vision().forward(crop, forward).tokens;
  const float global =
      class_probabilities(tokens.select(1, 0), text_, model_->logit_scale())[0][0].item<float>();
  EXPECT_NEAR(result.scores[0].item<float>(), 0.5f * 1.0f + 0.5f * global, 1e-6);
}

TEST_F(CwrRescore, WithoutEarlyStopOnlyTheEmptyCandidateIsSkipped) {
  const at::InferenceMode guard;
  CwrOptions options;
  options.batched = false;
  options.early_stop = false;
  const CwrResult result = cwr_rescore(*model_, image_, text_, refined_, local_, options);
  EXPECT_EQ(result.rescored, (std::vector<int64_t>{0, 2}));
  EXPECT_FALSE(result.stopped_early);
  EXPECT_EQ(result.scores[1].item<float>(), 1.0f);
  EXPECT_NE(result.scores[2].item<float>(), 1.0f);
}

TEST_F(CwrRescore, BatchedEqualsSequential) {
  const at::InferenceMode guard;
  for (bool early_stop : {true, false}) {
    for (bool clip : {true, false}) {
      CwrOptions sequential;
      sequential.batched = false;
      sequential.early_stop = early_stop;
      sequential.clip_box_ends = clip;
      CwrOptions batched = sequential;
      batched.batched = true;
      batched.max_batch = 2;  // two chunks when three candidates are encoded
      const CwrResult a = cwr_rescore(*model_, image_, text_, refined_, local_, sequential);
      const CwrResult b = cwr_rescore(*model_, image_, text_, refined_, local_, batched);
      EXPECT_EQ(a.rescored, b.rescored);
      EXPECT_EQ(a.stopped_early, b.stopped_early);
      EXPECT_LE((a.scores - b.scores).abs().max().item<double>(), 1e-5)
          << "early_stop " << early_stop << " clip " << clip;
    }
  }
}

TEST_F(CwrRescore, RejectsMismatchedShapes) {
  const at::InferenceMode guard;
  EXPECT_THROW(cwr_rescore(*model_, image_, text_, refined_.slice(0, 1), local_, {}), ShapeError);
  EXPECT_THROW(cwr_rescore(*model_, at::zeros({1, 3, 60, 64}), text_, refined_, local_, {}),
               ShapeError);
}

}  // namespace
}  // namespace tagclip
