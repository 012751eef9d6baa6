// One image's pixels in eval-seg's confusion matrices: from a mask file, from a CAM file
// (one matrix per background rule), and the errors that name the files.
#include <gtest/gtest.h>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/label_mask.h"
#include "tagclip/segment/segmentation_scoring.h"
#include "test_support.h"

namespace tagclip {
namespace {

// 2 x 3 ground truth: background, class 1, ignore / class 2 twice, background.
const LabelMask kTruth{2, 3, {0, 1, 255, 2, 2, 0}};

class SegmentationScoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("scoring-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    scoring_.predictions_dir = dir_;
    scoring_.gt_root = dir_ + "/gt";
    std::filesystem::create_directories(scoring_.gt_root);
    write_label_mask_png(scoring_.gt_root + "/a.png", kTruth);
  }
  std::string dir_;
  SegmentationScoring scoring_;
};

TEST_F(SegmentationScoringTest, MaskFileCountsEveryPixelButTheIgnoredOnes) {
  write_label_mask_png(dir_ + "/a.png", LabelMask{2, 3, {0, 1, 1, 2, 1, 1}});
  std::vector<ConfusionMatrix> matrices(1, ConfusionMatrix(3));
  score_segmentation_image(scoring_, "a", matrices);
  EXPECT_EQ(matrices[0].total(), 5);
  EXPECT_EQ(matrices[0].count(0, 0), 1);
  EXPECT_EQ(matrices[0].count(0, 1), 1);
  EXPECT_EQ(matrices[0].count(1, 1), 1);
  EXPECT_EQ(matrices[0].count(2, 2), 1);
  EXPECT_EQ(matrices[0].count(2, 1), 1);
}

TEST_F(SegmentationScoringTest, CamFileGivesOneMatrixPerBackgroundRule) {
  // One map (key 1, so label 2): 0.5 everywhere but 0.875 at the two class-2 pixels. At power 1
  // the background 1 - max is 0.5 or 0.125: ties go to background; at a constant 0.25 the map
  // wins everywhere.
  ClassCams cams;
  cams.keys = {1};
  cams.height = 2;
  cams.width = 3;
  cams.attn_highres = {0.5f, 0.5f, 0.5f, 0.875f, 0.875f, 0.5f};
  write_cam_file(dir_ + "/a.npz", cams);
  scoring_.cams = true;
  scoring_.backgrounds = {BackgroundScore::power(1.0), BackgroundScore::constant(0.25)};
  std::vector<ConfusionMatrix> matrices(2, ConfusionMatrix(3));
  score_segmentation_image(scoring_, "a", matrices);
  EXPECT_EQ(matrices[0].count(0, 0), 2);  // ties: background
  EXPECT_EQ(matrices[0].count(1, 0), 1);
  EXPECT_EQ(matrices[0].count(2, 2), 2);
  EXPECT_EQ(matrices[1].count(0, 2), 2);
  EXPECT_EQ(matrices[1].count(1, 2), 1);
  EXPECT_EQ(matrices[1].count(2, 2), 2);
}

TEST_F(SegmentationScoringTest, ErrorsNameTheFiles) {
  std::vector<ConfusionMatrix> matrices(1, ConfusionMatrix(3));
  write_label_mask_png(dir_ + "/b.png", LabelMask{3, 2, std::vector<uint8_t>(6, 0)});
  write_label_mask_png(scoring_.gt_root + "/b.png", kTruth);
  testing::expect_throw_with<Error>([&] { score_segmentation_image(scoring_, "b", matrices); },
                                    "b.png is 2x3, " + scoring_.gt_root + "/b.png 3x2");
  testing::expect_throw_with<ImageError>(
      [&] { score_segmentation_image(scoring_, "missing", matrices); },
      scoring_.gt_root + "/missing.png: cannot open the file");
}

}  // namespace
}  // namespace tagclip
