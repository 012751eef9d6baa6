// DMAR on hand-made attention maps and class maps whose answers are worked out by hand in
// the comments (vote counting, the box mask's threshold, contours, clipped far corners).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

#include "tagclip/errors.h"
#include "tagclip/pipeline/dmar.h"

namespace tagclip {
namespace {

// at::tensor has no bool overload in LibTorch 1.13.
at::Tensor bools(std::vector<int> values) { return at::tensor(values).to(at::kBool); }

at::Tensor grid(std::vector<float> values, int64_t h, int64_t w) {
  return at::tensor(values).view({h, w});
}

// The set cells of a [h, w] 0/1 mask, row-major, as a string "r,c r,c ...".
std::string set_cells(const at::Tensor& mask) {
  std::string out;
  for (int64_t y = 0; y < mask.size(0); ++y)
    for (int64_t x = 0; x < mask.size(1); ++x)
      if (mask[y][x].item<float>() != 0.0f)
        out += (out.empty() ? "" : " ") + std::to_string(y) + "," + std::to_string(x);
  return out;
}

TEST(VoteMask, CountsEntriesAboveEachBlocksOwnMean) {
  // Every block has mean 1. Above it: block 0 (0,0); block 1 (0,1); block 2 (0,0), (0,1);
  // block 3 nothing (equal to the mean is not above). Counts: (0,0) 2, (0,1) 2, others 0.
  const std::vector<at::Tensor> blocks = {grid({4, 0, 0, 0}, 2, 2), grid({1, 3, 0, 0}, 2, 2),
                                          grid({2, 2, 0, 0}, 2, 2), grid({1, 1, 1, 1}, 2, 2)};
  EXPECT_TRUE(vote_mask(blocks, 2).equal(bools({1, 1, 0, 0}).view({2, 2})));
  EXPECT_FALSE(vote_mask(blocks, 3).any().item<bool>());
  EXPECT_TRUE(vote_mask(blocks, 0).all().item<bool>());
  EXPECT_TRUE(vote_mask(blocks, 1).equal(vote_mask(blocks, 2)));
}

TEST(VoteMask, RejectsMismatchedBlocks) {
  EXPECT_THROW(vote_mask({}, 1), ShapeError);
  EXPECT_THROW(vote_mask({at::ones({2, 2}), at::ones({3, 3})}, 1), ShapeError);
}

TEST(RefinementAttention, MeanOfChosenBlocksTimesVoteMask) {
  const std::vector<at::Tensor> blocks = {grid({9, 9, 9, 9}, 2, 2), grid({1, 2, 3, 4}, 2, 2),
                                          grid({3, 4, 5, 6}, 2, 2)};
  const at::Tensor votes = bools({1, 0, 1, 1}).view({2, 2});
  const at::Tensor a = refinement_attention(blocks, {1, 2}, votes);
  EXPECT_TRUE(a.equal(grid({2, 0, 4, 5}, 2, 2)));
  EXPECT_THROW(refinement_attention(blocks, {3}, votes), UsageError);
  EXPECT_THROW(refinement_attention(blocks, {}, votes), UsageError);
}

// The block-by-block path the pipeline takes against the plain one on kept maps (ncnn
// style): seeded softmax-like maps, several depths, vote counts and refinement blocks.
TEST(AttentionVotes, MatchesVoteMaskAndRefinementAttentionOfTheKeptMaps) {
  at::manual_seed(7);
  for (const int64_t depth : {1, 4, 12}) {
    std::vector<at::Tensor> maps;
    for (int64_t i = 0; i < depth; ++i) maps.push_back(at::softmax(at::randn({30, 30}) * 3, -1));
    const std::vector<int64_t> refinement =
        depth == 1 ? std::vector<int64_t>{0} : std::vector<int64_t>{depth - 3, depth - 2};
    AttentionVotes votes(refinement);
    for (int64_t i = 0; i < depth; ++i) votes.add(i, maps[i]);
    EXPECT_EQ(votes.blocks_added(), depth);
    for (int64_t count = 0; count <= depth; ++count) {
      SCOPED_TRACE("depth " + std::to_string(depth) + ", vote count " + std::to_string(count));
      const at::Tensor expected_mask = vote_mask(maps, count);
      EXPECT_TRUE(votes.vote_mask(count).equal(expected_mask));
      const at::Tensor expected = refinement_attention(maps, refinement, expected_mask);
      EXPECT_LE((votes.refinement_attention(count) - expected).abs().max().item<float>(), 1e-7f);
    }
  }
}

TEST(AttentionVotes, RejectsRepeatedBlocksMismatchedMapsAndMissingRefinementBlocks) {
  EXPECT_THROW(AttentionVotes({}), UsageError);
  AttentionVotes votes({1, 2});
  EXPECT_THROW(votes.vote_mask(1), ShapeError);  // nothing added yet
  votes.add(0, at::ones({3, 3}));
  EXPECT_THROW(votes.add(0, at::ones({3, 3})), ShapeError);
  EXPECT_THROW(votes.add(1, at::ones({4, 4})), ShapeError);
  EXPECT_THROW(votes.add(1, at::ones({3, 4})), ShapeError);
  votes.add(1, at::ones({3, 3}));
  EXPECT_THROW(votes.refinement_attention(1), ShapeError);  // block 2 never came
  votes.add(2, at::ones({3, 3}));
  EXPECT_TRUE(votes.refinement_attention(0).equal(at::ones({3, 3})));
}

TEST(ClassBoxMask, FillsTheBoundingRectangleOfAnInteriorBlob) {
  // Normalised: 1 on rows 0-1, cols 1-2. uint8 255/0, threshold int(0.25 * 255) = 63.
  const at::Tensor column =
      at::tensor({0.f, 3.f, 3.f, 0.f, 0.f, 3.f, 3.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});
  EXPECT_EQ(set_cells(class_box_mask(column, 4, 4, true)), "0,1 0,2 1,1 1,2");
}

TEST(ClassBoxMask, ClipsTheFarCornerOfABlobTouchingTheBorder) {
  // Blob on rows 2-3, cols 2-3: rectangle (2, 2)-(4, 4), far corner clipped to (3, 3),
  // filled [2, 3) x [2, 3): the last row and column are never set.
  at::Tensor column = at::zeros({16});
  for (int64_t i : {10, 11, 14, 15}) column[i] = 1.0f;
  EXPECT_EQ(set_cells(class_box_mask(column, 4, 4, true)), "2,2");
  EXPECT_EQ(set_cells(class_box_mask(column, 4, 4, false)), "2,2 2,3 3,2 3,3");
}

TEST(ClassBoxMask, WholeGridBlobNeverSetsLastRowOrColumn) {
  // All high but (0, 0): one contour spanning the grid, rectangle [0, 4) x [0, 4) clipped to
  // [0, 3) x [0, 3): nine cells, (0, 0) included although it is below the threshold.
  at::Tensor column = at::ones({16});
  column[0] = 0.0f;
  const at::Tensor box = class_box_mask(column, 4, 4, true);
  EXPECT_EQ(box.sum().item<float>(), 9.0f);
  EXPECT_EQ(box[0][0].item<float>(), 1.0f);
  EXPECT_EQ(box.select(0, 3).sum().item<float>(), 0.0f);
  EXPECT_EQ(box.select(1, 3).sum().item<float>(), 0.0f);
}

TEST(ClassBoxMask, OneBoxPerExternalContour) {
  // Two single-cell blobs at (0, 0) and (2, 2): threshold int(0.125 * 255) = 31.
  at::Tensor column = at::zeros({16});
  column[0] = 1.0f;
  column[10] = 1.0f;
  EXPECT_EQ(set_cells(class_box_mask(column, 4, 4, true)), "0,0 2,2");
}

TEST(ClassBoxMask, BinarisesStrictlyAboveTheTruncatedThreshold) {
  // 2x4 grid, values 1 at (0, 0) and x at (0, 3). For x = 1/7: uint8 trunc(36.43) = 36 and
  // threshold int(mean 0.142857 * 255) = 36, so (0, 3) is not above it. For x = 0.16:
  // 40 > int(0.145 * 255) = 36. Unclipped so that column 3 can be set.
  at::Tensor column = at::zeros({8});
  column[0] = 1.0f;
  column[3] = 1.0f / 7.0f;
  EXPECT_EQ(set_cells(class_box_mask(column, 2, 4, false)), "0,0");
  column[3] = 0.16f;
  EXPECT_EQ(set_cells(class_box_mask(column, 2, 4, false)), "0,0 0,3");
}

TEST(ClassBoxMask, ConstantColumnGivesEmptyMask) {
  EXPECT_EQ(class_box_mask(at::full({9}, 0.3f), 3, 3, true).sum().item<float>(), 0.0f);
  EXPECT_THROW(class_box_mask(at::ones({8}), 3, 3, true), ShapeError);
}

TEST(SecondRefinement, MasksEachClassToItsBoxes) {
  // A = I, so R1 = C and R2[:, k] = B_k * C[:, k].
  //  class 0: 0.9, 0.8 at (0, 0), (0, 1) and 0.05 at (2, 2): uint8 255, 226, 14, threshold
  //           int(0.216 * 255) = 55, box [0, 1) x [0, 2): the 0.05 is masked out;
  //  class 1: only (2, 2): its box is clipped to nothing, the column becomes 0;
  //  class 2: max(R1) = -1 <= 0, so the column is left as R1.
  const at::Tensor a = at::eye(9);
  at::Tensor c = at::zeros({9, 3});
  c[0][0] = 0.9f;
  c[1][0] = 0.8f;
  c[8][0] = 0.05f;
  c[8][1] = 1.0f;
  c.select(1, 2).fill_(-1.0f);
  const at::Tensor r1 = first_refinement(a, c);
  EXPECT_TRUE(r1.equal(c));
  const at::Tensor r2 = second_refinement(a, c, r1, 3, 3, true);
  at::Tensor expected = c.clone();
  expected[8][0] = 0.0f;
  expected[8][1] = 0.0f;
  EXPECT_TRUE(r2.equal(expected)) << r2;
  // Unclipped, class 1 keeps its patch.
  EXPECT_EQ(second_refinement(a, c, r1, 3, 3, false)[8][1].item<float>(), 1.0f);
}

TEST(SecondRefinement, EqualsThePerClassMaskedProduct) {
  // Against the obvious per-class loop (A * B_k as a column mask) @ C[:, k].
  at::manual_seed(3);
  const at::Tensor a = at::rand({20, 20});
  const at::Tensor c = at::softmax(at::randn({20, 6}) * 3, -1);
  const at::Tensor r1 = first_refinement(a, c);
  const at::Tensor r2 = second_refinement(a, c, r1, 4, 5, true);
  for (int64_t k = 0; k < 6; ++k) {
    const at::Tensor b = class_box_mask(r1.select(1, k), 4, 5, true).reshape({1, 20});
    const at::Tensor expected = at::matmul(a * b, c.slice(1, k, k + 1)).squeeze(1);
    EXPECT_TRUE(at::allclose(r2.select(1, k), expected, 1e-6, 1e-7)) << "class " << k;
  }
}

TEST(LocalScores, ColumnMaxOfForegroundClasses) {
  const at::Tensor refined = at::tensor({1.f, 5.f, 9.f, 3.f, 2.f, 0.f}).view({2, 3});
  EXPECT_TRUE(local_scores(refined, 2).equal(at::tensor({3.f, 5.f})));
  EXPECT_THROW(local_scores(refined, 4), ShapeError);
}

TEST(DmarRefine, ChainsTheStages) {
  at::manual_seed(5);
  std::vector<at::Tensor> blocks;
  for (int i = 0; i < 6; ++i) blocks.push_back(at::softmax(at::randn({12, 12}), -1));
  const at::Tensor c = at::softmax(at::randn({12, 5}) * 2, -1);
  DmarOptions options;
  options.refinement_blocks = {3, 4};
  options.vote_count = 2;
  const DmarResult result = dmar_refine(blocks, c, 3, 4, 3, options);
  const at::Tensor a = refinement_attention(blocks, {3, 4}, vote_mask(blocks, 2));
  const at::Tensor expected = second_refinement(a, c, first_refinement(a, c), 3, 4, true);
  EXPECT_TRUE(result.refined.equal(expected));
  EXPECT_TRUE(result.local_scores.equal(local_scores(expected, 3)));
  EXPECT_THROW(dmar_refine(blocks, c, 3, 3, 3, options), ShapeError);
}

}  // namespace
}  // namespace tagclip
