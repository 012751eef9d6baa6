// `tagclip tag` on phone-sized photos: scaled to --max-side before the pipeline (so time and
// memory stay bounded), VOC/COCO sizes untouched, and an allocation that fails is one error
// record, not the end of the run.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tagclip/io/image_io.h"
#include "tagclip/pipeline/pil_resize.h"
#include "test_support.h"

namespace tagclip {
namespace {

class TagLargeImages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::make_scratch_dir("tag-large-images");
    // A 12-megapixel photo: a test photo scaled up to 4000 x 3000.
    const cv::Mat photo = cv::imread(testing::data_path("images/messi.jpg"));
    cv::Mat large;
    cv::resize(photo, large, cv::Size(4000, 3000), 0, 0, cv::INTER_CUBIC);
    large_ = dir_ + "/phone_4000x3000.jpg";
    ASSERT_TRUE(cv::imwrite(large_, large, {cv::IMWRITE_JPEG_QUALITY, 95}));
  }

  static std::string dir_, large_;
};
std::string TagLargeImages::dir_, TagLargeImages::large_;

// The default --max-side gives the scores of the same photo scaled to 640 x 480 beforehand
// (Pillow's bicubic, saved losslessly), and the record keeps the photo's own size.
TEST_F(TagLargeImages, PhonePhotoIsTaggedAtTheMaxSide) {
  const cv::Mat scaled = pil_bicubic_resize(decode_image(large_), 480, 640);
  const std::string small = dir_ + "/scaled_640x480.png";
  cv::Mat scaled_bgr;
  cv::cvtColor(scaled, scaled_bgr, cv::COLOR_RGB2BGR);
  ASSERT_TRUE(cv::imwrite(small, scaled_bgr));

  const auto result = testing::run_tag(large_ + " " + small);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto records = testing::parse_json_lines(result.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["width"], 4000);
  EXPECT_EQ(records[0]["height"], 3000);
  EXPECT_EQ(records[1]["width"], 640);
  EXPECT_FALSE(records[0]["tags"].empty());
  EXPECT_EQ(records[0]["scores"], records[1]["scores"]);
  EXPECT_EQ(records[0]["tags"], records[1]["tags"]);
}

// A smaller bound changes the numbers; an image already within it is not touched.
TEST_F(TagLargeImages, MaxSideIsAppliedOnlyAboveIt) {
  const std::string small = testing::data_path("images/messi.jpg");  // 250 x 156
  const auto at_default = testing::run_tag(small + " " + large_);
  const auto bounded = testing::run_tag("--max-side 200 " + small + " " + large_);
  const auto unbounded = testing::run_tag("--max-side none " + small);
  ASSERT_EQ(at_default.exit_code, 0) << at_default.err;
  ASSERT_EQ(bounded.exit_code, 0) << bounded.err;
  ASSERT_EQ(unbounded.exit_code, 0) << unbounded.err;
  const auto default_records = testing::parse_json_lines(at_default.out);
  const auto bounded_records = testing::parse_json_lines(bounded.out);
  EXPECT_EQ(default_records[0]["scores"], testing::parse_json_lines(unbounded.out)[0]["scores"]);
  EXPECT_NE(default_records[0]["scores"], bounded_records[0]["scores"]);
  EXPECT_NE(default_records[1]["scores"], bounded_records[1]["scores"]);
}

// Without a bound the photo's attention maps ([2 heads, 47001, 47001] floats, 17.7 GB) cannot
// be allocated under a 6 GB address-space limit: that image becomes an error record and the
// next one is still tagged.
TEST_F(TagLargeImages, AllocationFailureIsOneErrorRecord) {
  const auto result = testing::run_command("ulimit -v 6000000 && " + testing::tagclip_binary() +
                                           " tag --model " + testing::fidelity_checkpoint_path() +
                                           " --bpe " + testing::bpe_vocabulary_path() +
                                           " --no-cache --threads 2 --max-side none " + large_ +
                                           " " + testing::data_path("images/squirrel_small.jpg"));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const auto records = testing::parse_json_lines(result.out);
  ASSERT_EQ(records.size(), 2u) << result.err;
  ASSERT_TRUE(records[0].contains("error")) << records[0];
  EXPECT_NE(records[0]["error"].get<std::string>().find("memory"), std::string::npos) << records[0];
  EXPECT_TRUE(records[1].contains("tags")) << records[1];
  EXPECT_NE(result.err.find("failed 1"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace tagclip
