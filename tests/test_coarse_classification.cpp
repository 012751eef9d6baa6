// Coarse patch classification on hand-made features whose answers follow from the formula:
// softmax over all classes of logit_scale * cosine(feature, text).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tagclip/errors.h"
#include "tagclip/pipeline/coarse_classification.h"

namespace tagclip {
namespace {

// Two orthogonal classes in a 2-D embedding space.
at::Tensor two_classes() { return at::eye(2, at::kFloat); }

TEST(ClassProbabilities, SoftmaxOfScaledCosines) {
  // (3, 4) has cosines 0.6 and 0.8; scaled by 10: logits 6 and 8.
  const at::Tensor features = at::tensor({3.0f, 4.0f}).view({1, 2});
  const at::Tensor p = class_probabilities(features, two_classes(), 10.0);
  ASSERT_EQ(p.sizes(), (at::IntArrayRef{1, 2}));
  const double e2 = std::exp(2.0);
  EXPECT_NEAR(p[0][0].item<double>(), 1.0 / (1.0 + e2), 1e-6);
  EXPECT_NEAR(p[0][1].item<double>(), e2 / (1.0 + e2), 1e-6);
}

TEST(ClassProbabilities, FeatureLengthDoesNotMatter) {
  const at::Tensor features = at::tensor({3.0f, 4.0f, 30.0f, 40.0f}).view({2, 2});
  const at::Tensor p = class_probabilities(features, two_classes(), 100.0);
  EXPECT_TRUE(at::allclose(p[0], p[1], 0, 1e-7));
}

TEST(ClassProbabilities, RowsSumToOneOverAllClasses) {
  const at::Tensor features = at::randn({5, 8}, at::TensorOptions().dtype(at::kFloat));
  at::Tensor text = at::randn({7, 8});
  text = text / text.norm(2, -1, true);
  const at::Tensor p = class_probabilities(features, text, 100.0);
  ASSERT_EQ(p.sizes(), (at::IntArrayRef{5, 7}));
  EXPECT_TRUE(at::allclose(p.sum(-1), at::ones({5}), 0, 1e-5));
}

TEST(CoarsePatchProbabilities, DropsTheClassToken) {
  // Class token along class 0; patches along class 1 and class 0.
  const at::Tensor tokens = at::tensor({1.0f, 0.0f, 0.0f, 2.0f, 5.0f, 0.0f}).view({3, 2});
  const at::Tensor c = coarse_patch_probabilities(tokens, two_classes(), 1.0);
  ASSERT_EQ(c.sizes(), (at::IntArrayRef{2, 2}));
  const double e = std::exp(1.0);
  EXPECT_NEAR(c[0][1].item<double>(), e / (1.0 + e), 1e-6);  // patch 0: cosines (0, 1)
  EXPECT_NEAR(c[1][0].item<double>(), e / (1.0 + e), 1e-6);  // patch 1: cosines (1, 0)
  EXPECT_EQ(c.scalar_type(), at::kFloat);
}

TEST(CoarsePatchProbabilities, ComputesInFloatForHalfTokens) {
  const at::Tensor tokens = at::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2}).to(at::kHalf);
  const at::Tensor c = coarse_patch_probabilities(tokens, two_classes(), 1.0);
  EXPECT_EQ(c.scalar_type(), at::kFloat);
}

TEST(CoarsePatchProbabilities, RejectsMismatchedShapes) {
  EXPECT_THROW(coarse_patch_probabilities(at::ones({3, 4}), two_classes(), 1.0), ShapeError);
  EXPECT_THROW(coarse_patch_probabilities(at::ones({1, 2}), two_classes(), 1.0), ShapeError);
  EXPECT_THROW(class_probabilities(at::ones({2}), two_classes(), 1.0), ShapeError);
}

}  // namespace
}  // namespace tagclip
