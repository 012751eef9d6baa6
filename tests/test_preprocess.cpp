// preprocess_for_clip against the reference's own pipeline (PIL open, stack gray, torchvision
// Resize BICUBIC + ToTensor + Normalize), written by scripts/golden/make_pil_resize_golden.py.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tagclip/io/image_io.h"
#include "tagclip/pipeline/pil_resize.h"
#include "tagclip/pipeline/preprocess.h"
#include "test_support.h"

namespace tagclip {
namespace {

using tagclip::testing::data_path;

at::Tensor read_f32(const std::string& path, const std::vector<std::int64_t>& shape) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  const at::Tensor flat = at::empty({static_cast<std::int64_t>(bytes.size() / sizeof(float))});
  std::memcpy(flat.data_ptr<float>(), bytes.data(), bytes.size());  // little-endian host
  return flat.view(shape);
}

TEST(PatchAlignedSize, RoundsEachSideUp) {
  EXPECT_EQ(patch_aligned_size(224, 224, 16), std::make_pair(224, 224));
  EXPECT_EQ(patch_aligned_size(375, 500, 16), std::make_pair(384, 512));
  EXPECT_EQ(patch_aligned_size(1, 17, 16), std::make_pair(16, 32));
  EXPECT_EQ(patch_aligned_size(33, 32, 32), std::make_pair(64, 32));
  // A side below min_patches patches is stretched on its own.
  EXPECT_EQ(patch_aligned_size(16, 200, 16, 2), std::make_pair(32, 208));
  EXPECT_EQ(patch_aligned_size(1, 1, 16, 2), std::make_pair(32, 32));
  EXPECT_EQ(patch_aligned_size(375, 500, 16, 2), std::make_pair(384, 512));
  EXPECT_THROW(patch_aligned_size(10, 10, 16, 0), std::invalid_argument);
  EXPECT_THROW(patch_aligned_size(0, 10, 16), std::invalid_argument);
  EXPECT_THROW(patch_aligned_size(10, 10, 0), std::invalid_argument);
}

TEST(ImageToNormalizedTensor, ShapeAndValues) {
  cv::Mat rgb(2, 3, CV_8UC3, cv::Scalar(0, 128, 255));
  const at::Tensor t = image_to_normalized_tensor(rgb);
  ASSERT_EQ(t.sizes(), at::IntArrayRef({1, 3, 2, 3}));
  EXPECT_EQ(t.scalar_type(), at::kFloat);
  EXPECT_TRUE(t.is_contiguous());
  const float expected[3] = {(0.0f - kClipPixelMean[0]) / kClipPixelStd[0],
                             (128.0f / 255.0f - kClipPixelMean[1]) / kClipPixelStd[1],
                             (1.0f - kClipPixelMean[2]) / kClipPixelStd[2]};
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(t[0][c][1][2].item<float>(), expected[c], 1e-6) << c;
  }
  EXPECT_THROW(image_to_normalized_tensor(cv::Mat(2, 2, CV_8UC1)), std::invalid_argument);
}

TEST(ImageToNormalizedTensor, HonoursTheRowStrideOfASubImage) {
  cv::Mat big(20, 30, CV_8UC3);
  cv::randu(big, 0, 256);
  const cv::Mat view = big(cv::Rect(3, 4, 10, 7));
  EXPECT_TRUE(image_to_normalized_tensor(view).equal(image_to_normalized_tensor(view.clone())));
}

TEST(PreprocessForClip, AlignedImageIsNotResized) {
  cv::Mat rgb(32, 48, CV_8UC3);
  cv::randu(rgb, 0, 256);
  EXPECT_TRUE(preprocess_for_clip(rgb, 16).equal(image_to_normalized_tensor(rgb)));
}

TEST(BoundedSize, LeavesVocAndCocoSizesAloneAndScalesLargerImagesToTheLongerSide) {
  using Size = std::pair<int, int>;                                    // (height, width)
  EXPECT_EQ(bounded_size(375, 500, kDefaultMaxSide), Size(375, 500));  // VOC
  EXPECT_EQ(bounded_size(480, 640, kDefaultMaxSide), Size(480, 640));  // COCO's largest
  EXPECT_EQ(bounded_size(640, 427, kDefaultMaxSide), Size(640, 427));
  EXPECT_EQ(bounded_size(3000, 4000, kDefaultMaxSide), Size(480, 640));  // 12 MP photo
  EXPECT_EQ(bounded_size(4000, 3000, kDefaultMaxSide), Size(640, 480));
  EXPECT_EQ(bounded_size(1200, 1600, 800), Size(600, 800));
  EXPECT_EQ(bounded_size(1000, 1001, 640), Size(639, 640));  // 639.36 rounds down
  EXPECT_EQ(bounded_size(1, 5000, 640), Size(1, 640));       // never below one pixel
  EXPECT_EQ(bounded_size(3000, 4000, std::nullopt), Size(3000, 4000));
  EXPECT_THROW(bounded_size(0, 10, 640), std::invalid_argument);
  EXPECT_THROW(bounded_size(10, 10, 0), std::invalid_argument);
}

// A large image is resized once, straight to the bounded, patch-aligned size: the same
// tensor as bicubic-resizing it to that size first and preprocessing the result.
TEST(PreprocessForClip, MaxSideScalesInOneBicubicResize) {
  cv::Mat rgb(900, 1300, CV_8UC3);
  cv::randu(rgb, 0, 256);
  const at::Tensor bounded = preprocess_for_clip(rgb, 16, 640);
  ASSERT_EQ(bounded.sizes(), at::IntArrayRef({1, 3, 448, 640}));  // 443 rounded up to 448
  EXPECT_TRUE(bounded.equal(image_to_normalized_tensor(pil_bicubic_resize(rgb, 448, 640))));
  EXPECT_TRUE(preprocess_for_clip(rgb, 16, std::nullopt).equal(preprocess_for_clip(rgb, 16)));
  EXPECT_EQ(preprocess_for_clip(rgb, 16, std::nullopt).sizes(), at::IntArrayRef({1, 3, 912, 1312}));
}

TEST(PreprocessForClip, MatchesReferencePipeline) {
  std::ifstream in(data_path("pil_resize_golden/cases.json"));
  ASSERT_TRUE(in) << "missing pil_resize_golden/cases.json";
  const nlohmann::json manifest = nlohmann::json::parse(in);
  ASSERT_GE(manifest.at("preprocess").size(), 3u);
  for (const auto& entry : manifest.at("preprocess")) {
    const std::string name = entry.at("name");
    SCOPED_TRACE(name);
    const std::vector<std::int64_t> shape = entry.at("shape");
    const at::Tensor expected = read_f32(data_path(entry.at("expected")), shape);
    const at::Tensor actual =
        preprocess_for_clip(decode_image(data_path(entry.at("input"))), entry.at("patch_size"));
    ASSERT_EQ(actual.sizes(), expected.sizes());
    // One grey level, in normalised units, per channel: 1 / 255 / std[c].
    const at::Tensor stddev = at::tensor(at::ArrayRef<float>(kClipPixelStd)).view({1, 3, 1, 1});
    const at::Tensor grey_levels = ((actual - expected).abs() * stddev * 255.0).max();
    const float max_diff = (actual - expected).abs().max().item<float>();
    std::cout << "[ golden   ] " << name << " " << actual.sizes()
              << ": max |ours - reference| = " << max_diff << " (" << grey_levels.item<float>()
              << " grey levels)\n";
    EXPECT_LE(grey_levels.item<float>(), 1.0f + 1e-4f);
  }
}

}  // namespace
}  // namespace tagclip
