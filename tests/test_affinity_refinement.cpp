// The attention-affinity refinement of CLIP-ES (pipeline/affinity_refinement.h): box masks
// as scoremap2bbox builds them (8-connected regions, boxes losing the last row and column,
// the uint8 threshold), the normalisation rounds, the masked propagation, the resize.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

#include "tagclip/errors.h"
#include "tagclip/pipeline/affinity_refinement.h"

namespace tagclip {
namespace {

// A CAM whose pixel (y, x) truncates to the uint8 value u[y][x] (255 u lies in [u, u + 1)).
at::Tensor cam_from_uint8(const std::vector<std::vector<int>>& u) {
  const int64_t h = static_cast<int64_t>(u.size()), w = static_cast<int64_t>(u[0].size());
  at::Tensor cam = at::zeros({h, w});
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) cam[y][x] = (u[y][x] + 0.5f) / 255.0f;
  return cam;
}

// The mask as rows of 0/1 ints, for readable comparisons.
std::vector<std::vector<int>> rows(const at::Tensor& mask) {
  std::vector<std::vector<int>> out(mask.size(0), std::vector<int>(mask.size(1)));
  for (int64_t y = 0; y < mask.size(0); ++y)
    for (int64_t x = 0; x < mask.size(1); ++x)
      out[y][x] = static_cast<int>(mask[y][x].item<float>());
  return out;
}

TEST(BoxMask, InteriorRegionGivesItsBoundingBox) {
  const at::Tensor cam = cam_from_uint8({{0, 0, 0, 0, 0, 0},
                                         {0, 200, 0, 0, 0, 0},
                                         {0, 200, 254, 0, 0, 0},
                                         {0, 0, 0, 0, 0, 0},
                                         {0, 0, 0, 0, 0, 0}});
  // (1,1), (2,1), (2,2) above 101: box x 1..2, y 1..2, inside the grid.
  EXPECT_EQ(rows(box_mask(cam, 0.4)), (std::vector<std::vector<int>>{{0, 0, 0, 0, 0, 0},
                                                                     {0, 1, 1, 0, 0, 0},
                                                                     {0, 1, 1, 0, 0, 0},
                                                                     {0, 0, 0, 0, 0, 0},
                                                                     {0, 0, 0, 0, 0, 0}}));
}

TEST(BoxMask, DiagonalNeighboursAreOneRegion) {
  // 8-connected: (1,1) and (2,2) form one contour whose box also covers (1,2) and (2,1).
  const at::Tensor cam = cam_from_uint8(
      {{0, 0, 0, 0, 0}, {0, 254, 0, 0, 0}, {0, 0, 254, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}});
  EXPECT_EQ(
      rows(box_mask(cam, 0.4)),
      (std::vector<std::vector<int>>{
          {0, 0, 0, 0, 0}, {0, 1, 1, 0, 0}, {0, 1, 1, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}));
}

TEST(BoxMask, BoxesReachingTheRightOrBottomEdgeLoseThatColumnOrRow) {
  // Region at columns 3..4 of a 5-wide grid, rows 3..4 of a 5-high one: x + w = 5 is cut
  // to 4, so only column 3 and row 3 stay. A single pixel in the corner vanishes entirely.
  const at::Tensor cam = cam_from_uint8({{254, 0, 0, 0, 0},
                                         {0, 0, 0, 0, 0},
                                         {0, 0, 0, 0, 0},
                                         {0, 0, 0, 254, 254},
                                         {0, 0, 0, 254, 254}});
  EXPECT_EQ(
      rows(box_mask(cam, 0.4)),
      (std::vector<std::vector<int>>{
          {1, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 1, 0}, {0, 0, 0, 0, 0}}));
  const at::Tensor corner = cam_from_uint8({{0, 0, 0}, {0, 0, 0}, {0, 0, 254}});
  EXPECT_EQ(box_mask(corner, 0.4).sum().item<float>(), 0.0f);
}

TEST(BoxMask, ThresholdIsTakenOnTheUint8MaximumAndIsStrict) {
  // max u = 254 (what the twice-scaled Grad-CAM gives): thr = int(0.4 * 254) = 101, so 102
  // is in and 101 is out (with a maximum of 255 the threshold would be 102).
  const at::Tensor cam = cam_from_uint8({{254, 0, 102, 0, 101, 0}, {0, 0, 0, 0, 0, 0}});
  EXPECT_EQ(rows(box_mask(cam, 0.4)),
            (std::vector<std::vector<int>>{{1, 0, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0}}));
  // COCO's 0.7: int(177.8) = 177.
  const at::Tensor coco = cam_from_uint8({{254, 0, 178, 0, 177, 0}, {0, 0, 0, 0, 0, 0}});
  EXPECT_EQ(rows(box_mask(coco, 0.7)),
            (std::vector<std::vector<int>>{{1, 0, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0}}));
  // The scaled Grad-CAM maximum, 1 - 2^-23, truncates to 254.
  at::Tensor top = at::zeros({3, 3});
  top[0][0] = 1.0f - std::ldexp(1.0f, -23);
  top[0][1] = 102.5f / 255.0f;
  EXPECT_EQ(box_mask(top, 0.4).sum().item<float>(), 2.0f);
}

TEST(BoxMask, HolesDoNotShrinkTheOuterBoxAndAnEmptyMapGivesNoBox) {
  // A ring (RETR_TREE also returns the hole's contour, whose box lies inside).
  const at::Tensor ring = cam_from_uint8({{0, 0, 0, 0, 0, 0},
                                          {0, 254, 254, 254, 0, 0},
                                          {0, 254, 0, 254, 0, 0},
                                          {0, 254, 254, 254, 0, 0},
                                          {0, 0, 0, 0, 0, 0},
                                          {0, 0, 0, 0, 0, 0}});
  const at::Tensor mask = box_mask(ring, 0.4);
  EXPECT_EQ(mask.sum().item<float>(), 9.0f);
  EXPECT_EQ(mask.slice(0, 1, 4).slice(1, 1, 4).sum().item<float>(), 9.0f);
  EXPECT_EQ(box_mask(at::zeros({4, 4}), 0.4).sum().item<float>(), 0.0f);
}

// The reference's steps in float64 with explicit loops.
std::vector<std::vector<double>> transition_by_hand(const at::Tensor& a) {
  const int64_t n = a.size(0);
  std::vector<std::vector<double>> t(n, std::vector<double>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) t[i][j] = a[i][j].item<double>();
  for (int round = 0; round < 3; ++round) {
    for (int64_t j = 0; j < n; ++j) {
      double column = 0;
      for (int64_t i = 0; i < n; ++i) column += t[i][j];
      for (int64_t i = 0; i < n; ++i) t[i][j] /= column;
    }
    for (int64_t i = 0; i < n; ++i) {
      double row = 0;
      for (int64_t j = 0; j < n; ++j) row += t[i][j];
      for (int64_t j = 0; j < n; ++j) t[i][j] /= row;
    }
  }
  std::vector<std::vector<double>> s(n, std::vector<double>(n)), out(n, std::vector<double>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) s[i][j] = (t[i][j] + t[j][i]) / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) out[i][j] += s[i][k] * s[k][j];
  return out;
}

TEST(AffinityTransition, ThreeNormalisationRoundsSymmetrisedAndSquared) {
  at::manual_seed(11);
  // Like an attention map: positive rows summing to one, far from doubly stochastic.
  const at::Tensor attention = at::softmax(3 * at::randn({6, 6}), 1);
  const at::Tensor t = affinity_transition(attention);
  const auto expected = transition_by_hand(attention);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j) EXPECT_NEAR(t[i][j].item<double>(), expected[i][j], 1e-6);
  EXPECT_TRUE(at::allclose(t, t.t(), 0, 1e-6));
  EXPECT_THROW(affinity_transition(at::ones({2, 3})), ShapeError);
}

TEST(RefineCam, PropagatesOnlyFromMaskedColumns) {
  at::manual_seed(12);
  const at::Tensor transition = at::rand({6, 6});
  const at::Tensor cam = at::rand({2, 3});
  const at::Tensor mask = at::tensor({1.f, 0.f, 1.f, 0.f, 0.f, 1.f}).view({2, 3});
  const at::Tensor refined = refine_cam(transition, cam, mask);
  ASSERT_EQ(refined.sizes(), (at::IntArrayRef{2, 3}));
  for (int64_t i = 0; i < 6; ++i) {
    double expected = 0;
    for (int64_t j : {0, 2, 5})
      expected += transition[i][j].item<double>() * cam.view(-1)[j].item<double>();
    EXPECT_NEAR(refined.view(-1)[i].item<double>(), expected, 1e-6);
  }
  EXPECT_EQ(refine_cam(transition, cam, at::zeros({2, 3})).abs().max().item<float>(), 0.0f);
  EXPECT_THROW(refine_cam(transition, at::rand({2, 2}), at::ones({2, 2})), ShapeError);
}

TEST(ResizeMapsLinear, HalfPixelCentresClampedAtTheBorder) {
  // 1x2 -> 1x4: source x = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped).
  const at::Tensor maps = at::tensor({0.f, 1.f}).view({1, 1, 2});
  const at::Tensor resized = resize_maps_linear(maps, 1, 4);
  ASSERT_EQ(resized.sizes(), (at::IntArrayRef{1, 1, 4}));
  EXPECT_FLOAT_EQ(resized[0][0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(resized[0][0][1].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(resized[0][0][2].item<float>(), 0.75f);
  EXPECT_FLOAT_EQ(resized[0][0][3].item<float>(), 1.0f);
  // Several maps, each resized on its own; the same size is a copy.
  const at::Tensor two = at::rand({2, 3, 5});
  EXPECT_TRUE(at::equal(resize_maps_linear(two, 3, 5), two));
  EXPECT_EQ(resize_maps_linear(two, 7, 4).sizes(), (at::IntArrayRef{2, 7, 4}));
  EXPECT_THROW(resize_maps_linear(two, 0, 4), ShapeError);
}

}  // namespace
}  // namespace tagclip
