#include "tagclip/pipeline/preprocess.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "tagclip/pipeline/pil_resize.h"

namespace tagclip {

at::Tensor image_to_normalized_tensor(const cv::Mat& rgb8) {
  if (rgb8.empty() || rgb8.type() != CV_8UC3) {
    throw std::invalid_argument("image_to_normalized_tensor: expected a non-empty CV_8UC3 image");
  }
  // A view of the pixels as (H, W, 3) uint8, honouring the row stride of a sub-image.
  const at::Tensor hwc = at::from_blob(rgb8.data, {rgb8.rows, rgb8.cols, 3},
                                       {static_cast<std::int64_t>(rgb8.step[0]), 3, 1}, at::kByte);
  const at::Tensor mean = at::tensor(at::ArrayRef<float>(kClipPixelMean)).view({3, 1, 1});
  const at::Tensor stddev = at::tensor(at::ArrayRef<float>(kClipPixelStd)).view({3, 1, 1});
  // ToTensor: (3, H, W) float32 / 255; Normalize: sub then div by per-channel tensors.
  at::Tensor chw = hwc.permute({2, 0, 1}).to(at::kFloat).contiguous().div_(255);
  return chw.sub_(mean).div_(stddev).unsqueeze(0);
}

std::pair<int, int> patch_aligned_size(int height, int width, int patch_size, int min_patches) {
  if (height <= 0 || width <= 0 || patch_size <= 0 || min_patches <= 0) {
    throw std::invalid_argument("patch_aligned_size: non-positive argument (height " +
                                std::to_string(height) + ", width " + std::to_string(width) +
                                ", patch " + std::to_string(patch_size) + ", min patches " +
                                std::to_string(min_patches) + ")");
  }
  auto round_up = [patch_size, min_patches](int n) {
    return std::max((n + patch_size - 1) / patch_size, min_patches) * patch_size;
  };
  return {round_up(height), round_up(width)};
}

std::pair<int, int> bounded_size(int height, int width, std::optional<int> max_side) {
  if (height <= 0 || width <= 0 || (max_side && *max_side <= 0))
    throw std::invalid_argument("bounded_size: non-positive argument (height " +
                                std::to_string(height) + ", width " + std::to_string(width) +
                                ", max side " + std::to_string(max_side.value_or(0)) + ")");
  const int longer = std::max(height, width);
  if (!max_side || longer <= *max_side) return {height, width};
  const double scale = static_cast<double>(*max_side) / longer;
  auto scaled = [&](int side) {
    return side == longer ? *max_side : std::max(1, static_cast<int>(std::lround(side * scale)));
  };
  return {scaled(height), scaled(width)};
}

at::Tensor preprocess_for_clip(const cv::Mat& rgb8, int patch_size, std::optional<int> max_side,
                               int min_patches) {
  if (rgb8.empty())
    throw std::invalid_argument("preprocess_for_clip: expected a non-empty CV_8UC3 image");
  const auto [bounded_height, bounded_width] = bounded_size(rgb8.rows, rgb8.cols, max_side);
  const auto [height, width] =
      patch_aligned_size(bounded_height, bounded_width, patch_size, min_patches);
  if (height == rgb8.rows && width == rgb8.cols) return image_to_normalized_tensor(rgb8);
  return image_to_normalized_tensor(pil_bicubic_resize(rgb8, height, width));
}

}  // namespace tagclip
