#include "tagclip/pipeline/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <opencv2/core/utility.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace tagclip {
namespace {

// Fixed-point weights leave 8 bits for the sample and 2 for the kernel's overshoot.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kBicubicSupport = 2.0;

// Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), Pillow's BICUBIC.
double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For each output sample along one axis: the first input sample it reads, how many it
// reads, and their fixed-point weights (`taps` slots per output, unused ones zero).
struct AxisWeights {
  int taps = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;  // [out_size * taps]
};

AxisWeights compute_axis_weights(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);  // widen the kernel only when shrinking
  const double support = kBicubicSupport * filter_scale;
  const double inv_filter_scale = 1.0 / filter_scale;

  AxisWeights axis;
  axis.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weights.assign(static_cast<std::size_t>(out_size) * axis.taps, 0);
  std::vector<double> raw(axis.taps);
  for (int out = 0; out < out_size; ++out) {
    const double center = (out + 0.5) * scale;
    // Truncation toward zero (not floor) before clamping, as in Pillow.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double total = 0.0;
    for (int k = 0; k < n; ++k) {
      raw[k] = bicubic_kernel((k + lo - center + 0.5) * inv_filter_scale);
      total += raw[k];
    }
    std::int32_t* fixed = &axis.weights[static_cast<std::size_t>(out) * axis.taps];
    for (int k = 0; k < n; ++k) {
      const double w = total != 0.0 ? raw[k] / total : raw[k];
      // Round half away from zero, then truncate to int.
      fixed[k] = static_cast<std::int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits)
                                                 : 0.5 + w * (1 << kPrecisionBits));
    }
    axis.first[out] = lo;
    axis.count[out] = n;
  }
  return axis;
}

// Sum (with its 0.5 rounding bias already added) -> 8-bit sample.
inline std::uint8_t clip_to_8bit(std::int32_t sum) {
  if (sum <= 0) return 0;
  if (sum >= (256 << kPrecisionBits)) return 255;
  return static_cast<std::uint8_t>(sum >> kPrecisionBits);
}

constexpr std::int32_t kHalf = 1 << (kPrecisionBits - 1);

// [rows, in_cols, ch] -> [rows, out_cols, ch]
cv::Mat resample_horizontal(const cv::Mat& in, int out_cols) {
  const AxisWeights axis = compute_axis_weights(in.cols, out_cols);
  const int channels = in.channels();
  cv::Mat out(in.rows, out_cols, in.type());
  cv::parallel_for_(cv::Range(0, in.rows), [&](const cv::Range& rows) {
    for (int y = rows.start; y < rows.end; ++y) {
      const std::uint8_t* src = in.ptr<std::uint8_t>(y);
      std::uint8_t* dst = out.ptr<std::uint8_t>(y);
      for (int x = 0; x < out_cols; ++x) {
        const std::int32_t* w = &axis.weights[static_cast<std::size_t>(x) * axis.taps];
        const std::uint8_t* first = src + axis.first[x] * channels;
        for (int c = 0; c < channels; ++c) {
          std::int32_t sum = kHalf;
          for (int k = 0; k < axis.count[x]; ++k) sum += first[k * channels + c] * w[k];
          dst[x * channels + c] = clip_to_8bit(sum);
        }
      }
    }
  });
  return out;
}

// [in_rows, cols, ch] -> [out_rows, cols, ch]
cv::Mat resample_vertical(const cv::Mat& in, int out_rows) {
  const AxisWeights axis = compute_axis_weights(in.rows, out_rows);
  const int row_len = in.cols * in.channels();
  cv::Mat out(out_rows, in.cols, in.type());
  cv::parallel_for_(cv::Range(0, out_rows), [&](const cv::Range& rows) {
    // Accumulate whole rows so the inner loop runs over contiguous memory.
    std::vector<std::int32_t> sums(row_len);
    for (int y = rows.start; y < rows.end; ++y) {
      const std::int32_t* w = &axis.weights[static_cast<std::size_t>(y) * axis.taps];
      std::fill(sums.begin(), sums.end(), kHalf);
      for (int k = 0; k < axis.count[y]; ++k) {
        const std::uint8_t* src = in.ptr<std::uint8_t>(axis.first[y] + k);
        const std::int32_t weight = w[k];
        for (int i = 0; i < row_len; ++i) sums[i] += src[i] * weight;
      }
      std::uint8_t* dst = out.ptr<std::uint8_t>(y);
      for (int i = 0; i < row_len; ++i) dst[i] = clip_to_8bit(sums[i]);
    }
  });
  return out;
}

}  // namespace

cv::Mat pil_bicubic_resize(const cv::Mat& image8, int out_height, int out_width) {
  if (image8.empty() || image8.depth() != CV_8U || image8.channels() > 4) {
    throw std::invalid_argument(
        "pil_bicubic_resize: expected a non-empty 8-bit image with 1-4 "
        "channels");
  }
  if (out_height <= 0 || out_width <= 0) {
    throw std::invalid_argument("pil_bicubic_resize: output size " + std::to_string(out_height) +
                                "x" + std::to_string(out_width) + " is not positive");
  }
  const bool need_horizontal = out_width != image8.cols;
  const bool need_vertical = out_height != image8.rows;
  if (!need_horizontal && !need_vertical) return image8.clone();
  const cv::Mat after_horizontal =
      need_horizontal ? resample_horizontal(image8, out_width) : image8;
  return need_vertical ? resample_vertical(after_horizontal, out_height) : after_horizontal;
}

}  // namespace tagclip
