#include "tagclip/segment/dense_crf.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// The reference's mean_bgr in eval_cam_with_crf.py.
constexpr double kMeanBgr[3] = {104.008, 116.669, 122.675};
constexpr int kMaxChannels = 256;

float to_float16(float value) { return static_cast<float>(cv::float16_t(value)); }

void check_image(const cv::Mat& bgr8) {
  if (bgr8.empty() || bgr8.type() != CV_8UC3) {
    throw ShapeError("dense CRF: the image must be a non-empty 8-bit 3-channel (BGR) image, got " +
                     std::to_string(bgr8.rows) + "x" + std::to_string(bgr8.cols) + " of type " +
                     std::to_string(bgr8.type()));
  }
}

using Float4 = PermutohedralLattice::Float4;
using Int4 = int32_t __attribute__((vector_size(16)));

// exp(x) for x <= 0 (0 above) within 2 ulp, four at a time (expf is a call per value, a fifth of
// the CRF's time; and a scalar version does not vectorise, as GCC branches on the clamp): Cephes'
// expf, x = n ln 2 + r, |r| <= ln 2 / 2, a degree-6 polynomial for e^r, 2^n through the exponent
// bits. Below -87 it gives e^-87 (~1.6e-38), not 0 or a denormal, which no softmax here can tell
// apart. (pydensecrf's Eigen exp is another approximation of the same accuracy.)
Float4 exp_nonpositive(Float4 x) {
  const Float4 lowest = {-87.0f, -87.0f, -87.0f, -87.0f};
  const Float4 zero = {0.0f, 0.0f, 0.0f, 0.0f};
  x = x < lowest ? lowest : x;
  x = x > zero ? zero : x;               // keeps the exponent bits in range for lanes we do not use
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const Float4 n = (x * 1.44269504088896341f + kShift) - kShift;
  const Float4 r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  Float4 p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const Int4 bits = (__builtin_convertvector(n, Int4) + 127) << 23;
  Float4 scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// Rows of [N, C] arrays that softmax_row reads four floats at a time may end up to three
// floats before the end: arrays get this many floats of slack.
constexpr size_t kRowSlack = 3;

// In place: row[0..C) becomes softmax(row), pydensecrf's expAndNormalize. Reads (never
// writes) up to kRowSlack floats past the row: gathering a partial block lane by lane and
// loading it whole stalls on store forwarding, which cost more than the exps.
void softmax_row(float* row, int channels) {
  float top = row[0];
  for (int c = 1; c < channels; ++c) top = std::max(top, row[c]);
  float sum = 0.0f;
  for (int c = 0; c < channels; c += 4) {
    const int count = std::min(4, channels - c);
    Float4 v;
    std::memcpy(&v, row + c, sizeof(v));
    // Lanes past the row hold the next row's values; their exps are never used.
    v = exp_nonpositive(v - top);
    float lanes[4];
    std::memcpy(lanes, &v, sizeof(v));
    for (int k = 0; k < count; ++k) {
      row[c + k] = lanes[k];
      sum += lanes[k];
    }
  }
  for (int c = 0; c < channels; ++c) row[c] /= sum;
}

// -log(clip(p, 1e-5, 1)) in float16 arithmetic (see dense_crf_unary).
float unary_energy(float probability) {
  constexpr float kLower = 1.0013580322265625e-05f;  // float16(1e-5), exactly
  const float p = std::min(std::max(to_float16(probability), kLower), 1.0f);
  return -to_float16(std::log(p));
}

void check_kernels(const std::vector<CrfKernel>& kernels, int points) {
  for (const CrfKernel& kernel : kernels) {
    if (kernel.filter == nullptr || kernel.filter->num_points() != points) {
      throw ShapeError("mean field: a kernel filters " +
                       std::to_string(kernel.filter ? kernel.filter->num_points() : 0) +
                       " points, the unary has " + std::to_string(points));
    }
  }
}

// Mean field on pixel-major arrays: negative_unary [N, C] = -U in, Q [N, C] out (see
// mean_field_marginals). Pixel-major so each filter call splats contiguous label vectors;
// four arrays of N x C in all, as the filters work in place.
std::vector<float> mean_field_pixel_major(std::vector<float> negative_unary, int channels,
                                          const std::vector<CrfKernel>& kernels, int iterations) {
  const int points = static_cast<int>(negative_unary.size() / channels);
  // Symmetric normalisation, N = 1 / sqrt(K 1): double then float, as pydensecrf.
  std::vector<std::vector<float>> norms;
  for (const CrfKernel& kernel : kernels) {
    std::vector<float> norm(points, 1.0f);
    kernel.filter->filter(norm.data(), norm.data(), 1);
    for (float& n : norm) n = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n) + 1e-20));
    norms.push_back(std::move(norm));
  }

  const size_t size = negative_unary.size();
  std::vector<float> q(size + kRowSlack, 0.0f);
  std::copy(negative_unary.begin(), negative_unary.end(), q.begin());
  for (int i = 0; i < points; ++i) softmax_row(&q[static_cast<size_t>(i) * channels], channels);
  std::vector<float> energy(size + kRowSlack, 0.0f);
  std::vector<float> work(size);
  const auto scale_rows = [&](const std::vector<float>& from, const std::vector<float>& norm) {
    for (int i = 0; i < points; ++i) {
      for (int c = 0; c < channels; ++c) {
        const size_t at = static_cast<size_t>(i) * channels + c;
        work[at] = from[at] * norm[i];
      }
    }
  };
  if (kernels.empty()) {
    // No pairwise term: every step gives softmax(-U) again.
    return std::vector<float>(q.begin(), q.begin() + size);
  }
  // Passes over N x C arrays are most of the time outside the filters: the last kernel's pass
  // also takes the softmax and the next step's N_0 Q, row by row.
  scale_rows(q, norms[0]);
  for (int it = 0; it < iterations; ++it) {
    for (size_t k = 0; k < kernels.size(); ++k) {
      const float* norm = norms[k].data();
      if (k > 0) scale_rows(q, norms[k]);
      kernels[k].filter->filter(work.data(), work.data(), channels);
      // pydensecrf's order: energy = -U, then minus each kernel's PottsCompatibility output
      // -w * N filter(N Q).
      const float potts = -kernels[k].weight;
      const float* base = k == 0 ? negative_unary.data() : energy.data();
      const bool last = k + 1 == kernels.size();
      for (int i = 0; i < points; ++i) {
        const size_t row = static_cast<size_t>(i) * channels;
        for (int c = 0; c < channels; ++c) {
          energy[row + c] = base[row + c] - potts * (work[row + c] * norm[i]);
        }
        if (last) {
          softmax_row(&energy[row], channels);
          for (int c = 0; c < channels; ++c) work[row + c] = energy[row + c] * norms[0][i];
        }
      }
    }
    q.swap(energy);
  }
  q.resize(size);
  return q;
}

// [N, C] -> [C, N] or back: `rows` x `cols` row-major to its transpose.
std::vector<float> transposed(const std::vector<float>& values, int rows, int cols) {
  std::vector<float> out(values.size());
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      out[static_cast<size_t>(c) * rows + r] = values[static_cast<size_t>(r) * cols + c];
    }
  }
  return out;
}

void check_option(bool ok, const char* field, const std::string& problem) {
  if (!ok) throw UsageError(std::string("dense CRF option ") + field + ": " + problem);
}

}  // namespace

void DenseCrfOptions::validate() const {
  check_option(iterations >= 0, "iterations", "must be >= 0");
  const auto positive = [](float v) { return std::isfinite(v) && v > 0.0f; };
  check_option(positive(gaussian_sxy), "gaussian_sxy", "must be positive");
  check_option(positive(bilateral_sxy), "bilateral_sxy", "must be positive");
  check_option(positive(bilateral_srgb), "bilateral_srgb", "must be positive");
  check_option(std::isfinite(gaussian_weight), "gaussian_weight", "must be finite");
  check_option(std::isfinite(bilateral_weight), "bilateral_weight", "must be finite");
}

cv::Mat crf_reference_image(const cv::Mat& bgr8, bool reference_image_quirk) {
  check_image(bgr8);
  if (!reference_image_quirk) return bgr8.clone();
  // As numpy computes it: the float32 image minus the float64 means, stored back as float32,
  // then astype(np.uint8), which x86-64 does as a truncating int conversion keeping the low
  // byte (-0.5 -> 0, -1.5 -> 255).
  uint8_t table[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      const int truncated = static_cast<int>(std::trunc(static_cast<float>(v - kMeanBgr[c])));
      table[c][v] = static_cast<uint8_t>(truncated & 0xff);
    }
  }
  cv::Mat out(bgr8.size(), CV_8UC3);
  for (int y = 0; y < bgr8.rows; ++y) {
    const uint8_t* in = bgr8.ptr<uint8_t>(y);
    uint8_t* row = out.ptr<uint8_t>(y);
    for (int x = 0; x < 3 * bgr8.cols; ++x) row[x] = table[x % 3][in[x]];
  }
  return out;
}

std::vector<float> dense_crf_unary(const std::vector<float>& probabilities) {
  std::vector<float> unary(probabilities.size());
  for (size_t i = 0; i < probabilities.size(); ++i) unary[i] = unary_energy(probabilities[i]);
  return unary;
}

std::vector<float> gaussian_crf_features(int height, int width, float sxy) {
  std::vector<float> features(static_cast<size_t>(height) * width * 2);
  float* f = features.data();
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      *f++ = static_cast<float>(x) / sxy;
      *f++ = static_cast<float>(y) / sxy;
    }
  }
  return features;
}

std::vector<float> bilateral_crf_features(const cv::Mat& crf_image, float sxy, float srgb) {
  check_image(crf_image);
  std::vector<float> features(crf_image.total() * 5);
  float* f = features.data();
  for (int y = 0; y < crf_image.rows; ++y) {
    const uint8_t* row = crf_image.ptr<uint8_t>(y);
    for (int x = 0; x < crf_image.cols; ++x) {
      *f++ = static_cast<float>(x) / sxy;
      *f++ = static_cast<float>(y) / sxy;
      for (int c = 0; c < 3; ++c) *f++ = static_cast<float>(row[3 * x + c]) / srgb;
    }
  }
  return features;
}

std::vector<float> mean_field_marginals(const std::vector<float>& unary, int channels,
                                        const std::vector<CrfKernel>& kernels, int iterations) {
  if (channels < 1 || unary.size() % static_cast<size_t>(channels) != 0) {
    throw ShapeError("mean field: unary of " + std::to_string(unary.size()) +
                     " values is not [C, N] with C = " + std::to_string(channels));
  }
  const int points = static_cast<int>(unary.size() / channels);
  check_kernels(kernels, points);
  std::vector<float> negative_unary = transposed(unary, channels, points);
  for (float& u : negative_unary) u = -u;
  return transposed(
      mean_field_pixel_major(std::move(negative_unary), channels, kernels, iterations), points,
      channels);
}

namespace {

// Q [N, C] of the reference's CRF (see dense_crf_marginals).
std::vector<float> dense_crf_pixel_major(const cv::Mat& bgr8,
                                         const std::vector<float>& probabilities, int channels,
                                         const DenseCrfOptions& options) {
  options.validate();
  check_image(bgr8);
  const size_t points = bgr8.total();
  if (channels < 1 || channels > kMaxChannels ||
      probabilities.size() != points * static_cast<size_t>(channels)) {
    throw ShapeError("dense CRF: probabilities hold " + std::to_string(probabilities.size()) +
                     " values, expected [C, H, W] = [" + std::to_string(channels) + ", " +
                     std::to_string(bgr8.rows) + ", " + std::to_string(bgr8.cols) +
                     "] with 1 <= C <= " + std::to_string(kMaxChannels));
  }
  const int n = static_cast<int>(points);
  // -U [N, C] straight from the probabilities [C, N].
  std::vector<float> negative_unary(probabilities.size());
  for (int c = 0; c < channels; ++c) {
    const float* p = &probabilities[static_cast<size_t>(c) * n];
    for (int i = 0; i < n; ++i) {
      negative_unary[static_cast<size_t>(i) * channels + c] = -unary_energy(p[i]);
    }
  }
  // Kernels in the reference's order: Gaussian first, then bilateral.
  const PermutohedralLattice gaussian(
      gaussian_crf_features(bgr8.rows, bgr8.cols, options.gaussian_sxy), n, 2);
  const cv::Mat crf_image = crf_reference_image(bgr8, options.reference_image_quirk);
  const PermutohedralLattice bilateral(
      bilateral_crf_features(crf_image, options.bilateral_sxy, options.bilateral_srgb), n, 5);
  return mean_field_pixel_major(
      std::move(negative_unary), channels,
      {{&gaussian, options.gaussian_weight}, {&bilateral, options.bilateral_weight}},
      options.iterations);
}

}  // namespace

std::vector<float> dense_crf_marginals(const cv::Mat& bgr8, const std::vector<float>& probabilities,
                                       int channels, const DenseCrfOptions& options) {
  return transposed(dense_crf_pixel_major(bgr8, probabilities, channels, options),
                    static_cast<int>(bgr8.total()), channels);
}

std::vector<uint8_t> dense_crf_labels(const cv::Mat& bgr8, const std::vector<float>& probabilities,
                                      int channels, const DenseCrfOptions& options) {
  const std::vector<float> q = dense_crf_pixel_major(bgr8, probabilities, channels, options);
  // The first channel of the largest marginal, as np.argmax.
  std::vector<uint8_t> labels(bgr8.total(), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = &q[i * channels];
    int best = 0;
    for (int c = 1; c < channels; ++c) {
      if (row[c] > row[best]) best = c;
    }
    labels[i] = static_cast<uint8_t>(best);
  }
  return labels;
}

}  // namespace tagclip
