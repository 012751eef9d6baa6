// The CRF pseudo-mask shared by segment --crf and eval-seg --with-crf: the composition of
// crf_probabilities, dense_crf_labels and mask_from_channels, and its size check.
#include <gtest/gtest.h>

#include <cmath>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/crf_mask.h"

namespace tagclip {
namespace {

// Two keys (VOC's dog 11 and person 14) over a 12 x 16 image: dog on the left, person on
// the right, values float16-representable; the image has a matching colour edge.
ClassCams two_maps() {
  ClassCams cams;
  cams.keys = {11, 14};
  cams.height = 12;
  cams.width = 16;
  for (int k = 0; k < 2; ++k)
    for (int y = 0; y < 12; ++y)
      for (int x = 0; x < 16; ++x) {
        const float left = x < 7 ? 0.75f : 0.125f;
        cams.attn_highres.push_back(k == 0 ? left : 0.875f - left);
      }
  return cams;
}

cv::Mat split_image() {
  cv::Mat bgr(12, 16, CV_8UC3, cv::Scalar(30, 60, 90));
  bgr(cv::Rect(8, 0, 8, 12)).setTo(cv::Scalar(200, 180, 20));
  return bgr;
}

TEST(CrfMaskTest, IsTheCrfOfTheProbabilitiesMappedToKeys) {
  const ClassCams cams = two_maps();
  const cv::Mat bgr = split_image();
  for (const bool background : {true, false}) {
    const std::vector<uint8_t> channels = dense_crf_labels(
        bgr, crf_probabilities(cams, cams.attn_highres, background), background ? 3 : 2);
    const LabelMask mask = crf_mask_from_cams(bgr, cams, cams.attn_highres, background);
    EXPECT_EQ(mask.labels, mask_from_channels(cams, channels, background).labels);
    // Dog (12) on the left edge, person (15) on the right: the maps decide there.
    EXPECT_EQ(mask.labels[0], 12);
    EXPECT_EQ(mask.labels[15], 15);
  }
}

TEST(CrfMaskTest, RefusesAnImageOfAnotherSize) {
  const ClassCams cams = two_maps();
  testing::expect_throw_with<ShapeError>(
      [&] { crf_mask_from_cams(cv::Mat(12, 15, CV_8UC3), cams, cams.attn_highres, true); },
      "the CRF's image is 15x12, its maps 16x12");
}

}  // namespace
}  // namespace tagclip
