// The fully connected CRF the reference runs on its class activation maps before writing
// pseudo-masks (CLIP-ES eval_cam_with_crf.py: pydensecrf's DenseCRF2D, Krähenbühl and Koltun
// 2011), natively: unary -log(p) from float16 probabilities, a Gaussian kernel on position
// and a bilateral kernel on position and colour, Potts compatibilities, symmetric
// normalisation, mean-field inference, filtering on the permutohedral lattice.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "tagclip/segment/permutohedral_lattice.h"

namespace tagclip {

// The reference's settings (DenseCRF(iter_max=10, pos_w=3, pos_xy_std=1, bi_w=4,
// bi_xy_std=67, bi_rgb_std=3)).
struct DenseCrfOptions {
  int iterations = 10;
  float gaussian_sxy = 1.0f;
  float gaussian_weight = 3.0f;
  float bilateral_sxy = 67.0f;
  float bilateral_srgb = 3.0f;
  float bilateral_weight = 4.0f;
  // The reference subtracts the BGR mean (104.008, 116.669, 122.675) and casts the float
  // image to uint8, which wraps (trunc(v - mean) mod 256); its bilateral kernel sees that.
  // false: the plain image, as a CRF is normally meant to.
  bool reference_image_quirk = true;

  // Throws UsageError naming the field when iterations < 0 or a standard deviation is not
  // positive and finite or a weight is not finite.
  void validate() const;
};

// The image the CRF's bilateral kernel sees, from 8-bit BGR (as cv2.imread gives it, EXIF
// applied): with the quirk, each byte v of channel c becomes trunc(v - mean_c) mod 256
// (mean_bgr = 104.008, 116.669, 122.675), exactly numpy's astype(np.uint8) on x86-64;
// without it, a copy of the image. Returns CV_8UC3 of the same size. Throws ShapeError
// unless bgr8 is a non-empty CV_8UC3.
cv::Mat crf_reference_image(const cv::Mat& bgr8, bool reference_image_quirk);

// The reference's unary energy from probabilities [C, N]: -log(clip(p, 1e-5, 1)) computed in
// float16 as numpy does on a float16 array (p rounded to float16 first, the lower bound
// float16(1e-5) = 1.0014e-5, the log rounded to float16), widened to float32. Returns [C, N].
std::vector<float> dense_crf_unary(const std::vector<float>& probabilities);

// Kernel features per pixel of a height x width image, divided by their standard deviations
// as pydensecrf's DenseCRF2D does: Gaussian [H*W, 2] = (x, y) / sxy; bilateral [H*W, 5] =
// (x / sxy, y / sxy, b / srgb, g / srgb, r / srgb) from `crf_image` (CV_8UC3, any channel
// order: its bytes are used as they lie, as pydensecrf does with the reference's BGR).
std::vector<float> gaussian_crf_features(int height, int width, float sxy);
std::vector<float> bilateral_crf_features(const cv::Mat& crf_image, float sxy, float srgb);

// One pairwise term: a filter (any GaussianFilter over the N pixels) and its Potts weight.
struct CrfKernel {
  const GaussianFilter* filter = nullptr;
  float weight = 0.0f;
};

// Mean-field inference as pydensecrf's DenseCRF::inference with DenseKernel (diagonal,
// NORMALIZE_SYMMETRIC) and PottsCompatibility(w), whose apply gives -w * filtered:
//   norm_k = 1 / sqrt(filter_k(1) + 1e-20)
//   Q = softmax(-U);  repeat: Q = softmax(-U + sum_k w_k * norm_k * filter_k(norm_k * Q))
// The filter keeps each pixel's own term, as pydensecrf's does. unary: [C, N]; returns the
// marginals Q [C, N]. Throws ShapeError on mismatched sizes.
std::vector<float> mean_field_marginals(const std::vector<float>& unary, int channels,
                                        const std::vector<CrfKernel>& kernels, int iterations);

// Marginals Q [C, H*W] of the reference's CRF on `bgr8` (CV_8UC3 BGR, H x W) with
// probabilities [C, H, W] row-major.
std::vector<float> dense_crf_marginals(const cv::Mat& bgr8, const std::vector<float>& probabilities,
                                       int channels, const DenseCrfOptions& options = {});

// probabilities: [C, H, W] float32 row-major (values representable in float16, as the
// reference's are: bg = 1 - max, then the CAMs; others are rounded to float16 first). Returns
// the arg max of the marginals per pixel (channel index 0..C-1; the first on ties, as
// np.argmax), [H*W] row-major. C may be 1..256 (COCO-Stuff's 171 fit a byte). Throws
// ShapeError on mismatched sizes, a bad image or one too large for the lattice's 16-bit keys
// (sides beyond about 10000 pixels, as pydensecrf), UsageError on bad options.
// Single-threaded; a 500x375 image takes about 50 MB of memory at 3 classes, 180 MB at 21.
std::vector<uint8_t> dense_crf_labels(const cv::Mat& bgr8, const std::vector<float>& probabilities,
                                      int channels, const DenseCrfOptions& options = {});

}  // namespace tagclip
