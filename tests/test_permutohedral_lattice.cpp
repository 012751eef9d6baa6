// The permutohedral lattice against exact O(N^2) Gaussian filtering, and a whole dense CRF run
// with either filter. The lattice is an approximation (Adams et al. 2010 report errors of a
// few per cent on the filter); the tolerances below are measured bounds with some margin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/segment/dense_crf.h"
#include "tagclip/segment/permutohedral_lattice.h"

namespace tagclip {
namespace {

// out_i = sum_j exp(-|f_i - f_j|^2 / 2) in_j, the kernel the lattice approximates.
class BruteForceGaussian : public GaussianFilter {
 public:
  BruteForceGaussian(std::vector<float> features, int num_points, int dims)
      : features_(std::move(features)), num_points_(num_points), dims_(dims) {}
  int num_points() const override { return num_points_; }
  void filter(const float* in_place, float* out, int value_size) const override {
    // The mean field filters in place: read from a copy.
    const std::vector<float> copy(in_place,
                                  in_place + static_cast<size_t>(num_points_) * value_size);
    const float* in = copy.data();
    std::fill(out, out + static_cast<size_t>(num_points_) * value_size, 0.0f);
    for (int i = 0; i < num_points_; ++i) {
      for (int j = 0; j < num_points_; ++j) {
        double d2 = 0.0;
        for (int k = 0; k < dims_; ++k) {
          const double d = features_[i * dims_ + k] - features_[j * dims_ + k];
          d2 += d * d;
        }
        const float w = static_cast<float>(std::exp(-0.5 * d2));
        for (int c = 0; c < value_size; ++c) out[i * value_size + c] += w * in[j * value_size + c];
      }
    }
  }

 private:
  std::vector<float> features_;
  int num_points_;
  int dims_;
};

// A 24 x 20 picture of two colour regions (a disc on a background) with pixel noise.
cv::Mat disc_image(std::mt19937& rng) {
  cv::Mat image(20, 24, CV_8UC3);
  std::normal_distribution<float> noise(0.0f, 6.0f);
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const bool inside = (x - 14) * (x - 14) + (y - 9) * (y - 9) < 49;
      const cv::Vec3f base = inside ? cv::Vec3f(40, 160, 220) : cv::Vec3f(200, 120, 60);
      for (int c = 0; c < 3; ++c) {
        image.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uint8_t>(base[c] + noise(rng));
      }
    }
  }
  return image;
}

// N K N v with N = 1 / sqrt(K 1), the normalised filter the dense CRF applies; the lattice's
// constant factor cancels in it.
std::vector<float> normalised_filter(const GaussianFilter& filter, const std::vector<float>& v,
                                     int value_size) {
  const int n = filter.num_points();
  std::vector<float> ones(n, 1.0f), norm(n), scaled(v.size()), out(v.size());
  filter.filter(ones.data(), norm.data(), 1);
  for (float& x : norm) x = 1.0f / std::sqrt(x);
  for (size_t i = 0; i < v.size(); ++i) scaled[i] = v[i] * norm[i / value_size];
  filter.filter(scaled.data(), out.data(), value_size);
  for (size_t i = 0; i < v.size(); ++i) out[i] *= norm[i / value_size];
  return out;
}

struct Comparison {
  double max_relative = 0.0;   // max |a - b| / max |b|
  double mean_relative = 0.0;  // mean |a - b| / mean |b|
};

Comparison compare(const std::vector<float>& approx, const std::vector<float>& exact) {
  double max_diff = 0.0, max_exact = 0.0, sum_diff = 0.0, sum_exact = 0.0;
  for (size_t i = 0; i < exact.size(); ++i) {
    const double diff = std::abs(approx[i] - exact[i]);
    max_diff = std::max(max_diff, diff);
    max_exact = std::max(max_exact, std::abs(static_cast<double>(exact[i])));
    sum_diff += diff;
    sum_exact += std::abs(exact[i]);
  }
  return {max_diff / max_exact, sum_diff / sum_exact};
}

TEST(PermutohedralLattice, BilateralFilterApproximatesExactGaussian) {
  std::mt19937 rng(3);
  const cv::Mat image = disc_image(rng);
  const int n = static_cast<int>(image.total());
  // Spatial 4 px and colour 20 levels: every point has a few dozen close neighbours.
  const std::vector<float> features = bilateral_crf_features(image, 4.0f, 20.0f);
  const PermutohedralLattice lattice(features, n, 5);
  const BruteForceGaussian exact(features, n, 5);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(n) * 3);
  for (float& v : values) v = uniform(rng);

  // Unnormalised, the lattice is the exact filter times one constant (up to the error): fit
  // it on the filter of ones, then compare.
  std::vector<float> ones(n, 1.0f);
  const std::vector<float> lattice_ones = lattice.filter(ones, 1);
  std::vector<float> exact_ones(n);
  exact.filter(ones.data(), exact_ones.data(), 1);
  double ratio_sum = 0.0;
  for (int i = 0; i < n; ++i) ratio_sum += lattice_ones[i] / exact_ones[i];
  const double scale = ratio_sum / n;
  for (float& v : exact_ones) v = static_cast<float>(v * scale);
  const Comparison on_ones = compare(lattice_ones, exact_ones);
  // Measured: 0.165 and 0.052 (the lattice's constant is about 0.555 here).
  EXPECT_LT(on_ones.max_relative, 0.25);
  EXPECT_LT(on_ones.mean_relative, 0.08);

  const Comparison normalised =
      compare(normalised_filter(lattice, values, 3), normalised_filter(exact, values, 3));
  RecordProperty("normalised_max_relative", std::to_string(normalised.max_relative));
  RecordProperty("normalised_mean_relative", std::to_string(normalised.mean_relative));
  // Measured: 0.077 and 0.020.
  EXPECT_LT(normalised.max_relative, 0.12);
  EXPECT_LT(normalised.mean_relative, 0.035);
}

TEST(PermutohedralLattice, GaussianPositionFilterApproximatesExactGaussian) {
  // The CRF's first kernel: positions / 1 px on a 30 x 25 grid, values a smooth ramp.
  const int height = 25, width = 30, n = height * width;
  const std::vector<float> features = gaussian_crf_features(height, width, 1.0f);
  const PermutohedralLattice lattice(features, n, 2);
  const BruteForceGaussian exact(features, n, 2);
  std::vector<float> values(static_cast<size_t>(n) * 2);
  for (int i = 0; i < n; ++i) {
    values[2 * i] = static_cast<float>((i % width) + 1) / width;
    values[2 * i + 1] = (i % 7 == 0) ? 1.0f : 0.0f;  // isolated spikes: the worst case
  }
  const Comparison normalised =
      compare(normalised_filter(lattice, values, 2), normalised_filter(exact, values, 2));
  // Measured: 0.047 and 0.016.
  EXPECT_LT(normalised.max_relative, 0.08);
  EXPECT_LT(normalised.mean_relative, 0.03);
}

TEST(PermutohedralLattice, DistantClustersDoNotMix) {
  // Two clusters 100 standard deviations apart share no lattice vertex: the filter of one
  // cluster's values must be exactly zero on the other.
  std::vector<float> features;
  for (int i = 0; i < 10; ++i) features.insert(features.end(), {0.1f * i, 0.05f * i, 0.0f});
  for (int i = 0; i < 10; ++i) features.insert(features.end(), {100.0f + 0.1f * i, 0.0f, 50.0f});
  const PermutohedralLattice lattice(features, 20, 3);
  std::vector<float> values(20, 0.0f);
  std::fill(values.begin(), values.begin() + 10, 1.0f);
  const std::vector<float> out = lattice.filter(values, 1);
  for (int i = 0; i < 10; ++i) EXPECT_GT(out[i], 0.5f) << i;
  for (int i = 10; i < 20; ++i) EXPECT_EQ(out[i], 0.0f) << i;
  EXPECT_GT(lattice.num_vertices(), 8);
}

TEST(PermutohedralLattice, CoincidentPointsFilterAlike) {
  // Points with equal features sit in the same simplex with the same weights.
  const std::vector<float> features = {0.3f, 0.7f, 0.3f, 0.7f, 2.0f, -1.0f, 0.3f, 0.7f};
  const PermutohedralLattice lattice(features, 4, 2);
  const std::vector<float> out = lattice.filter({1.0f, 2.0f, 3.0f, 4.0f}, 1);
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(out[0], out[3]);
  EXPECT_GT(out[0], out[2]);  // three coincident points outweigh the lone one
}

TEST(PermutohedralLattice, MeanFieldWithLatticeMatchesExactFiltering) {
  // A whole dense CRF (the reference's weights and 10 iterations, spatial scale shrunk to the
  // small image) with lattice filters and with exact ones: the labels must agree.
  std::mt19937 rng(5);
  const cv::Mat image = disc_image(rng);
  const int n = static_cast<int>(image.total()), channels = 3;
  std::vector<float> probabilities(static_cast<size_t>(channels) * n);
  std::uniform_real_distribution<float> uniform(0.05f, 1.0f);
  for (int i = 0; i < n; ++i) {
    const bool inside = image.at<cv::Vec3b>(i / image.cols, i % image.cols)[0] < 120;
    float p[3] = {uniform(rng), uniform(rng), uniform(rng)};
    p[inside ? 1 : 0] += 0.4f;  // noisy evidence for the right label
    const float total = p[0] + p[1] + p[2];
    for (int c = 0; c < channels; ++c) probabilities[static_cast<size_t>(c) * n + i] = p[c] / total;
  }
  const std::vector<float> unary = dense_crf_unary(probabilities);
  const std::vector<float> position = gaussian_crf_features(image.rows, image.cols, 1.0f);
  const std::vector<float> bilateral = bilateral_crf_features(image, 6.0f, 13.0f);
  const PermutohedralLattice position_lattice(position, n, 2);
  const PermutohedralLattice bilateral_lattice(bilateral, n, 5);
  const BruteForceGaussian position_exact(position, n, 2);
  const BruteForceGaussian bilateral_exact(bilateral, n, 5);
  const std::vector<float> fast = mean_field_marginals(
      unary, channels, {{&position_lattice, 3.0f}, {&bilateral_lattice, 4.0f}}, 10);
  const std::vector<float> slow = mean_field_marginals(
      unary, channels, {{&position_exact, 3.0f}, {&bilateral_exact, 4.0f}}, 10);

  const auto labels = [&](const std::vector<float>& q) {
    std::vector<int> out(n);
    for (int i = 0; i < n; ++i) {
      int best = 0;
      for (int c = 1; c < channels; ++c) {
        if (q[static_cast<size_t>(c) * n + i] > q[static_cast<size_t>(best) * n + i]) best = c;
      }
      out[i] = best;
    }
    return out;
  };
  const std::vector<int> fast_labels = labels(fast), slow_labels = labels(slow);
  const std::vector<int> unary_labels = labels(probabilities);
  int agree = 0, changed = 0;
  for (int i = 0; i < n; ++i) {
    agree += fast_labels[i] == slow_labels[i];
    changed += slow_labels[i] != unary_labels[i];
  }
  // The CRF must do something here (else agreement proves nothing), and both agree on it.
  // Measured: 121 of 480 labels changed by the CRF, 480 agree, marginals within 0.0063.
  EXPECT_GT(changed, n / 20);
  EXPECT_GE(agree, n * 99 / 100) << agree << " of " << n;
  double max_diff = 0.0;
  for (size_t i = 0; i < fast.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::abs(fast[i] - slow[i])));
  }
  EXPECT_LT(max_diff, 0.03);
}

TEST(PermutohedralLattice, FiltersInPlaceAsOutOfPlace) {
  std::mt19937 rng(9);
  const cv::Mat image = disc_image(rng);
  const int n = static_cast<int>(image.total());
  const PermutohedralLattice lattice(bilateral_crf_features(image, 5.0f, 10.0f), n, 5);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int value_size : {1, 2, 3, 7}) {
    std::vector<float> values(static_cast<size_t>(n) * value_size);
    for (float& v : values) v = uniform(rng);
    const std::vector<float> expected = lattice.filter(values, value_size);
    lattice.filter(values.data(), values.data(), value_size);
    EXPECT_EQ(values, expected) << value_size;
  }
}

TEST(PermutohedralLattice, RejectsMisshapenInput) {
  testing::expect_throw_with<ShapeError>(
      [] {
        PermutohedralLattice({1.0f, 2.0f, 3.0f}, 2, 2);
      },
      "features hold 3 values");
  testing::expect_throw_with<ShapeError>(
      [] { PermutohedralLattice(std::vector<float>(17), 1, 17); }, "dims");
  // 16-bit lattice keys: a 40000-pixel-wide position feature at 1 px does not fit.
  testing::expect_throw_with<ShapeError>(
      [] {
        PermutohedralLattice({0.0f, 0.0f, 40000.0f, 0.0f}, 2, 2);
      },
      "16-bit lattice keys");
  testing::expect_throw_with<ShapeError>(
      [] {
        PermutohedralLattice({0.0f, std::nanf("")}, 2, 1);
      },
      "not finite");
  const PermutohedralLattice lattice({0.0f, 1.0f}, 2, 1);
  testing::expect_throw_with<ShapeError>(
      [&] {
        lattice.filter({1.0f, 2.0f, 3.0f}, 2);
      },
      "values hold 3 floats");
}

}  // namespace
}  // namespace tagclip
