// pil_bicubic_resize against Pillow's own output (goldens written by
// scripts/golden/make_pil_resize_golden.py) and against a plain double-precision resampler.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tagclip/io/image_io.h"
#include "tagclip/pipeline/pil_resize.h"
#include "test_support.h"

namespace tagclip {
namespace {

using tagclip::testing::data_path;

struct ResizeCase {
  std::string name;
  std::string input;
  bool gray = false;
  int out_height = 0;
  int out_width = 0;
  std::string expected;
};

std::vector<ResizeCase> load_resize_cases() {
  std::ifstream in(data_path("pil_resize_golden/cases.json"));
  if (!in) return {};
  const nlohmann::json manifest = nlohmann::json::parse(in);
  std::vector<ResizeCase> cases;
  for (const auto& entry : manifest.at("resize")) {
    cases.push_back({entry.at("name"), entry.at("input"), entry.at("gray"), entry.at("out_height"),
                     entry.at("out_width"), entry.at("expected")});
  }
  return cases;
}

// Colour files are decoded to RGB, as the pipeline does; gray ones stay one channel.
cv::Mat load(const std::string& relative, bool gray) {
  if (gray) return cv::imread(data_path(relative), cv::IMREAD_GRAYSCALE);
  return decode_image(data_path(relative));
}

int max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a.reshape(1), b.reshape(1), diff);
  double max_value = 0;
  cv::minMaxLoc(diff, nullptr, &max_value);
  return static_cast<int>(max_value);
}

class PilResizeGolden : public ::testing::TestWithParam<ResizeCase> {};

TEST_P(PilResizeGolden, MatchesPillowWithinOneGreyLevel) {
  const ResizeCase& c = GetParam();
  const cv::Mat input = load(c.input, c.gray);
  const cv::Mat expected = load(c.expected, c.gray);
  ASSERT_FALSE(input.empty()) << c.input;
  ASSERT_EQ(expected.rows, c.out_height);
  ASSERT_EQ(expected.cols, c.out_width);

  const cv::Mat actual = pil_bicubic_resize(input, c.out_height, c.out_width);
  ASSERT_EQ(actual.type(), expected.type());
  ASSERT_EQ(actual.size(), expected.size());
  const int max_diff = max_abs_diff(actual, expected);
  std::cout << "[ golden   ] " << c.name << " (" << input.rows << "x" << input.cols << " -> "
            << c.out_height << "x" << c.out_width << "): max |ours - Pillow| = " << max_diff
            << " grey levels\n";
  RecordProperty("max_abs_diff", max_diff);
  EXPECT_LE(max_diff, 1) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Pillow, PilResizeGolden, ::testing::ValuesIn(load_resize_cases()),
                         [](const ::testing::TestParamInfo<ResizeCase>& info) {
                           return info.param.name;
                         });

TEST(PilResize, ManifestIsPresent) { EXPECT_GE(load_resize_cases().size(), 15u); }

// The obvious formulation: the same kernel, weights and pass order, in double precision
// with round-half-up, so only the fixed-point weights of the fast path can differ.
cv::Mat plain_resize_pass(const cv::Mat& in, int out_size, bool horizontal) {
  const int in_size = horizontal ? in.cols : in.rows;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  auto kernel = [](double x) {
    x = std::fabs(x);
    if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
    if (x < 2) return ((-0.5 * x + 2.5) * x - 4) * x + 2;
    return 0.0;
  };
  cv::Mat out =
      horizontal ? cv::Mat(in.rows, out_size, in.type()) : cv::Mat(out_size, in.cols, in.type());
  const int channels = in.channels();
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    std::vector<double> w;
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      w.push_back(kernel((i - center + 0.5) / filter_scale));
      total += w.back();
    }
    const int lines = horizontal ? in.rows : in.cols;
    for (int line = 0; line < lines; ++line) {
      for (int c = 0; c < channels; ++c) {
        double sum = 0;
        for (int i = lo; i < hi; ++i) {
          const cv::Point at = horizontal ? cv::Point(i, line) : cv::Point(line, i);
          sum += in.ptr<uchar>(at.y)[at.x * channels + c] * w[i - lo] / total;
        }
        const cv::Point at = horizontal ? cv::Point(o, line) : cv::Point(line, o);
        out.ptr<uchar>(at.y)[at.x * channels + c] =
            static_cast<uchar>(std::clamp(std::floor(sum + 0.5), 0.0, 255.0));
      }
    }
  }
  return out;
}

TEST(PilResize, AgreesWithPlainResamplerOnRandomSizes) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> size(1, 70);
  int worst = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int in_h = size(rng), in_w = size(rng), out_h = size(rng), out_w = size(rng);
    cv::Mat input(in_h, in_w, CV_8UC3);
    cv::randu(input, 0, 256);
    cv::Mat expected = input;
    if (out_w != in_w) expected = plain_resize_pass(expected, out_w, true);
    if (out_h != in_h) expected = plain_resize_pass(expected, out_h, false);
    const cv::Mat actual = pil_bicubic_resize(input, out_h, out_w);
    const int diff = max_abs_diff(actual, expected.clone());
    worst = std::max(worst, diff);
    EXPECT_LE(diff, 1) << in_h << "x" << in_w << " -> " << out_h << "x" << out_w;
  }
  std::cout << "[ plain    ] worst |fixed point - double| over 60 random resizes: " << worst
            << "\n";
}

TEST(PilResize, SameSizeReturnsAnIndependentCopy) {
  cv::Mat input(16, 32, CV_8UC3);
  cv::randu(input, 0, 256);
  const cv::Mat output = pil_bicubic_resize(input, 16, 32);
  EXPECT_EQ(max_abs_diff(input, output), 0);
  EXPECT_NE(input.data, output.data);
}

TEST(PilResize, ChannelsAreIndependent) {
  cv::Mat input(21, 13, CV_8UC3);
  cv::randu(input, 0, 256);
  const cv::Mat colour = pil_bicubic_resize(input, 40, 7);
  std::vector<cv::Mat> planes;
  cv::split(input, planes);
  for (int c = 0; c < 3; ++c) {
    cv::Mat colour_plane;
    cv::extractChannel(colour, colour_plane, c);
    EXPECT_EQ(max_abs_diff(pil_bicubic_resize(planes[c], 40, 7), colour_plane), 0) << c;
  }
}

TEST(PilResize, HonoursTheRowStrideOfASubImage) {
  cv::Mat big(50, 60, CV_8UC3);
  cv::randu(big, 0, 256);
  const cv::Mat view = big(cv::Rect(5, 7, 33, 29));
  ASSERT_FALSE(view.isContinuous());
  EXPECT_EQ(
      max_abs_diff(pil_bicubic_resize(view, 48, 48), pil_bicubic_resize(view.clone(), 48, 48)), 0);
}

TEST(PilResize, RejectsBadArguments) {
  const cv::Mat image(4, 4, CV_8UC3, cv::Scalar::all(0));
  EXPECT_THROW(pil_bicubic_resize(cv::Mat(), 4, 4), std::invalid_argument);
  EXPECT_THROW(pil_bicubic_resize(cv::Mat(4, 4, CV_32FC3), 4, 4), std::invalid_argument);
  EXPECT_THROW(pil_bicubic_resize(image, 0, 4), std::invalid_argument);
  EXPECT_THROW(pil_bicubic_resize(image, 4, -1), std::invalid_argument);
}

TEST(PilResize, LargeImageShapes) {
  cv::Mat input(1080, 1440, CV_8UC3);
  cv::randu(input, 0, 256);
  const cv::Mat output = pil_bicubic_resize(input, 1088, 1440 + 16);
  const cv::Mat shrink = pil_bicubic_resize(input, 224, 304);
  EXPECT_EQ(output.rows, 1088);
  EXPECT_EQ(output.cols, 1456);
  EXPECT_EQ(shrink.rows, 224);
  EXPECT_EQ(shrink.cols, 304);
  EXPECT_EQ(shrink.type(), CV_8UC3);
}

}  // namespace
}  // namespace tagclip
