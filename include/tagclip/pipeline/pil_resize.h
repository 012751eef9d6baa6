// Pillow's bicubic resize (Image.resize(size, Image.BICUBIC) on an 8-bit image), which is
// what torchvision's Resize(..., BICUBIC) does to the PIL image in the reference. Matching
// it pixel for pixel keeps the network's input identical to the authors' code.
#pragma once

#include <opencv2/core.hpp>

namespace tagclip {

// Resizes an 8-bit image (CV_8UC1..CV_8UC4, any channel order; channels are independent)
// to out_height x out_width the way Pillow's ImagingResample does with its bicubic filter:
//   - Keys cubic kernel with a = -0.5 and support 2; when shrinking, the kernel is widened
//     by the scale factor, which is Pillow's antialiasing;
//   - weights normalised per output sample, then rounded to fixed point with 22 fractional
//     bits (32 - 8 - 2); sums start at one half and are shifted back and clipped to 0..255;
//   - two separable passes, horizontal first, each rounded to 8 bits; a pass whose
//     dimension does not change is skipped (both unchanged: a copy).
// Returns a new CV_8UC(n) image of out_height rows and out_width columns.
// Throws std::invalid_argument for an empty or non-8-bit input or a non-positive size.
cv::Mat pil_bicubic_resize(const cv::Mat& image8, int out_height, int out_width);

}  // namespace tagclip
