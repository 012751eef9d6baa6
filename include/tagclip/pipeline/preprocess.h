// Preprocessing: decoded RGB pixels -> the normalised tensor CLIP's image encoder takes,
// as the reference builds it (PIL bicubic resize to a patch-aligned size, ToTensor,
// Normalize with CLIP's mean and std).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <opencv2/core.hpp>
#include <optional>
#include <utility>

namespace tagclip {

// Per-channel statistics of CLIP's training images, RGB order.
inline constexpr std::array<float, 3> kClipPixelMean = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr std::array<float, 3> kClipPixelStd = {0.26862954f, 0.26130258f, 0.27577711f};

// 8-bit RGB image (CV_8UC3, H x W) -> float32 tensor of shape (1, 3, H, W) on the CPU:
// (v / 255 - mean[c]) / std[c], computed with the same float32 tensor operations as
// torchvision's ToTensor and Normalize so the values agree bit for bit.
// Throws std::invalid_argument unless the image is a non-empty CV_8UC3.
at::Tensor image_to_normalized_tensor(const cv::Mat& rgb8);

// (height, width) rounded up to multiples of patch_size: (ceil(H/p)*p, ceil(W/p)*p), each
// side at least min_patches patches (a side below that is stretched on its own).
// Throws std::invalid_argument for non-positive arguments.
std::pair<int, int> patch_aligned_size(int height, int width, int patch_size, int min_patches = 1);

// Longest side an image is encoded at by default. The reference runs at full resolution,
// and VOC's and COCO's images (at most 500 and 640 pixels) stay untouched below this, so the
// paper's numbers hold; a larger photo is scaled down to it. The ViT's cost and memory grow
// with the square of the patch count (a 12-megapixel photo under ViT-B/16 would need 8.8 GB
// per attention map); README "Large images" gives the measurements behind the choice.
inline constexpr int kDefaultMaxSide = 640;

// The size an image of height x width is encoded at before patch alignment: unchanged when
// max_side is nullopt or the longer side is at most *max_side; else the longer side becomes
// *max_side and the shorter one keeps the aspect ratio (rounded, at least 1).
// Throws std::invalid_argument for non-positive sizes or max_side.
std::pair<int, int> bounded_size(int height, int width, std::optional<int> max_side);

// Resizes to patch_aligned_size(bounded_size(...), min_patches) with pil_bicubic_resize, in
// one resize (none when the image is already that size: Pillow's Image.resize returns an
// unchanged copy then), and normalises. Returns a float32 tensor of shape (1, 3, H', W')
// with H', W' multiples of patch_size.
at::Tensor preprocess_for_clip(const cv::Mat& rgb8, int patch_size,
                               std::optional<int> max_side = std::nullopt, int min_patches = 1);

}  // namespace tagclip
