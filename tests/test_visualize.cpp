#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "tagclip/io/visualize.h"

namespace tagclip {
namespace {

TEST(Visualize, OnePanelPerTagWithTheMapAsHeat) {
  const cv::Mat rgb(100, 200, CV_8UC3, cv::Scalar(128, 128, 128));
  TagResult result;
  result.scores = at::tensor({0.1f, 0.7f, 0.2f});
  result.patch_maps = at::zeros({3, 2, 4});
  result.patch_maps[1][0][3] = 1.0f;  // class 1 hot in the top-right patch only
  const std::vector<ScoredLabel> tags = {{1, 0.7f}, {2, 0.2f}};
  const cv::Mat sheet =
      render_tag_visualization(rgb, result, tags, {"zero", "one", "two"}, {/*panel_height=*/64});
  ASSERT_EQ(sheet.rows, 64);
  ASSERT_EQ(sheet.cols, 3 * 128);  // image + 2 tags, each 64 high and 128 wide
  ASSERT_EQ(sheet.type(), CV_8UC3);
  // Panel 1 (class "one"): the hot patch (top-right) is red in BGR, a cold one blue.
  const cv::Vec3b hot = sheet.at<cv::Vec3b>(30, 128 + 120);  // below the caption bar
  const cv::Vec3b cold = sheet.at<cv::Vec3b>(50, 128 + 10);
  EXPECT_GT(hot[2], hot[0]);
  EXPECT_GT(cold[0], cold[2]);
}

TEST(Visualize, WithoutMapsShowsNamesOnly) {
  const cv::Mat rgb(50, 50, CV_8UC3, cv::Scalar(10, 200, 30));
  TagResult result;
  result.scores = at::tensor({0.9f});
  const cv::Mat sheet = render_tag_visualization(rgb, result, {{0, 0.9f}}, {"only"}, {32});
  EXPECT_EQ(sheet.cols, 64);
  const cv::Vec3b pixel = sheet.at<cv::Vec3b>(31, 40);  // below the caption bar: the image
  EXPECT_EQ(pixel, cv::Vec3b(30, 200, 10));
}

}  // namespace
}  // namespace tagclip
