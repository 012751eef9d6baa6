// Final labels: the relative threshold, the arg-max fallback, and the sorted tag list.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tagclip/errors.h"
#include "tagclip/pipeline/labels.h"

namespace tagclip {
namespace {

TEST(SelectLabels, ScoresStrictlyAboveTheRelativeThreshold) {
  // min 0.25, max 1: threshold 0.625 at ratio 0.5 (exact in float); 0.625 itself fails.
  const at::Tensor scores = at::tensor({0.25f, 1.0f, 0.625f, 0.75f});
  EXPECT_EQ(select_labels(scores, 0.5), (std::vector<int64_t>{1, 3}));
  // Ratio 0.1 (COCO-Stuff): threshold 0.325.
  EXPECT_EQ(select_labels(scores, 0.1), (std::vector<int64_t>{1, 2, 3}));
}

TEST(SelectLabels, FallsBackToTheFirstArgMax) {
  // All equal: nothing is above min + ratio * 0, so the first maximum is the label.
  EXPECT_EQ(select_labels(at::full({4}, 0.3f), 0.5), (std::vector<int64_t>{0}));
  EXPECT_EQ(select_labels(at::tensor({0.7f}), 0.5), (std::vector<int64_t>{0}));
  // Ratio 1 leaves nothing above max either.
  EXPECT_EQ(select_labels(at::tensor({0.1f, 0.9f, 0.9f}), 1.0), (std::vector<int64_t>{1}));
}

TEST(SelectLabels, AcceptsDoubleScores) {
  EXPECT_EQ(select_labels(at::tensor({0.0, 1.0}), 0.5), (std::vector<int64_t>{1}));
}

TEST(SelectLabels, RejectsEmptyOrMatrix) {
  EXPECT_THROW(select_labels(at::zeros({0}), 0.5), ShapeError);
  EXPECT_THROW(select_labels(at::zeros({2, 2}), 0.5), ShapeError);
}

TEST(SortedTags, HighestScoreFirstTiesByIndex) {
  const at::Tensor scores = at::tensor({0.5f, 0.9f, 0.5f, 0.1f});
  const std::vector<ScoredLabel> tags = sorted_tags(scores, {0, 1, 2});
  ASSERT_EQ(tags.size(), 3u);
  EXPECT_EQ(tags[0].index, 1);
  EXPECT_FLOAT_EQ(tags[0].score, 0.9f);
  EXPECT_EQ(tags[1].index, 0);
  EXPECT_EQ(tags[2].index, 2);
  EXPECT_THROW(sorted_tags(scores, {4}), ShapeError);
}

}  // namespace
}  // namespace tagclip
