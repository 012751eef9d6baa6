// Label-mask PNGs: palette indices written and read back, colours as the VOC devkit's.
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgcodecs.hpp>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/segment/label_mask.h"
#include "test_support.h"

namespace tagclip {
namespace {

LabelMask patterned_mask(int height, int width) {
  LabelMask mask{height, width, std::vector<uint8_t>(static_cast<size_t>(height) * width)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      mask.labels[y * width + x] = static_cast<uint8_t>(x < 2 ? 255 : (x * 7 + y * 13) % 21);
  return mask;
}

TEST(LabelMaskTest, VocPaletteMatchesTheDevkitColours) {
  const auto palette = voc_palette();
  EXPECT_EQ(palette[0], (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(palette[1], (std::array<uint8_t, 3>{128, 0, 0}));        // aeroplane
  EXPECT_EQ(palette[15], (std::array<uint8_t, 3>{192, 128, 128}));   // person
  EXPECT_EQ(palette[20], (std::array<uint8_t, 3>{0, 64, 128}));      // tvmonitor
  EXPECT_EQ(palette[255], (std::array<uint8_t, 3>{224, 224, 192}));  // ignore border
}

TEST(LabelMaskTest, WrittenPngReadsBackAsTheSameIndices) {
  const std::string dir = testing::make_scratch_dir("label_mask_roundtrip");
  const LabelMask mask = patterned_mask(37, 53);
  write_label_mask_png(dir + "/mask.png", mask);
  const LabelMask back = read_label_mask_png(dir + "/mask.png");
  EXPECT_EQ(back.height, 37);
  EXPECT_EQ(back.width, 53);
  EXPECT_EQ(back.labels, mask.labels);
}

// An independent decoder: OpenCV expands the palette, so every pixel must show its
// index's VOC colour.
TEST(LabelMaskTest, OpenCvSeesTheVocColoursOfTheIndices) {
  const std::string dir = testing::make_scratch_dir("label_mask_colours");
  const LabelMask mask = patterned_mask(9, 31);
  write_label_mask_png(dir + "/mask.png", mask);
  const cv::Mat bgr = cv::imread(dir + "/mask.png", cv::IMREAD_COLOR);
  ASSERT_EQ(bgr.rows, 9);
  ASSERT_EQ(bgr.cols, 31);
  const auto palette = voc_palette();
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 31; ++x) {
      const auto& rgb = palette[mask.labels[y * 31 + x]];
      EXPECT_EQ(bgr.at<cv::Vec3b>(y, x), cv::Vec3b(rgb[2], rgb[1], rgb[0])) << x << "," << y;
    }
}

// tests/data/images/palette.png was written by Pillow: four colours in quadrants.
TEST(LabelMaskTest, ReadsPillowPalettePngAsIndices) {
  const LabelMask mask = read_label_mask_png(testing::data_path("images/palette.png"));
  ASSERT_EQ(mask.width, 20);
  ASSERT_EQ(mask.height, 12);
  const cv::Mat bgr = cv::imread(testing::data_path("images/palette.png"), cv::IMREAD_COLOR);
  // Same index <=> same colour, and the four quadrants hold four different indices.
  std::map<uint8_t, cv::Vec3b> colour_of;
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < 20; ++x) {
      const uint8_t index = mask.labels[y * 20 + x];
      const auto [it, inserted] = colour_of.emplace(index, bgr.at<cv::Vec3b>(y, x));
      EXPECT_EQ(it->second, bgr.at<cv::Vec3b>(y, x));
    }
  EXPECT_EQ(colour_of.size(), 4u);
}

TEST(LabelMaskTest, ReadsGrayscalePngValues) {
  const std::string dir = testing::make_scratch_dir("label_mask_gray");
  cv::Mat gray(4, 5, CV_8UC1);
  for (int i = 0; i < 20; ++i) gray.data[i] = static_cast<uint8_t>(i * 12);
  ASSERT_TRUE(cv::imwrite(dir + "/gray.png", gray));
  const LabelMask mask = read_label_mask_png(dir + "/gray.png");
  EXPECT_EQ(mask.labels, std::vector<uint8_t>(gray.data, gray.data + 20));
}

TEST(LabelMaskTest, RefusesColourAndMissingFilesNamingThem) {
  const std::string dir = testing::make_scratch_dir("label_mask_colour");
  ASSERT_TRUE(cv::imwrite(dir + "/colour.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3))));
  testing::expect_throw_with<ImageError>(
      [&] { read_label_mask_png(dir + "/colour.png"); },
      "colour.png: a label PNG must be 8-bit grayscale or 8-bit palette");
  testing::expect_throw_with<ImageError>(
      [&] { read_label_mask_png(testing::data_path("images/fruits.jpg")); },
      "fruits.jpg: not a PNG file");
  testing::expect_throw_with<ImageError>([&] { read_label_mask_png("/nonexistent/mask.png"); },
                                         "/nonexistent/mask.png: cannot open the file");
}

TEST(LabelMaskTest, RefusesAMaskWhoseSizeDoesNotMatchItsLabels) {
  const LabelMask bad{3, 3, std::vector<uint8_t>(8)};
  testing::expect_throw_with<ShapeError>([&] { encode_palette_png(bad); }, "8 for 3x3");
}

}  // namespace
}  // namespace tagclip
