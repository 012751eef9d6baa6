// The dense CRF against the reference's (CLIP-ES eval_cam_with_crf.py on pydensecrf), from
// tests/data/crf_golden/ (scripts/golden/make_crf_golden.py): masks on three real photos with
// synthetic CAMs, the float16 unary, the wrapped image.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "expect_throw.h"
#include "golden_arrays.h"
#include "tagclip/core/sha256.h"
#include "tagclip/errors.h"
#include "tagclip/segment/dense_crf.h"
#include "test_support.h"

namespace tagclip {
namespace {

using testing::data_path;

const testing::GoldenArrays& golden() {
  static const testing::GoldenArrays arrays(data_path("crf_golden/crf_golden"));
  return arrays;
}

std::vector<float> to_vector(const at::Tensor& tensor) {
  const at::Tensor flat = tensor.contiguous().to(at::kFloat).reshape({-1});
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

float to_float16(float value) { return static_cast<float>(cv::float16_t(value)); }

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

std::string mat_sha256(const cv::Mat& image) {
  Sha256 hash;
  for (int y = 0; y < image.rows; ++y) hash.update(image.ptr(y), image.cols * image.elemSize());
  return hash.hex_digest();
}

cv::Mat read_photo(const std::string& name) {
  const cv::Mat image = cv::imread(data_path("images/" + name + ".jpg"), cv::IMREAD_COLOR);
  if (image.empty()) throw std::runtime_error("cannot read images/" + name + ".jpg");
  return image;
}

// The generator's CAMs [K, H, W] (see make_crf_golden.py): float64 blobs plus a ripple, then
// float32, then float16.
std::vector<float> synthetic_cams(int height, int width, const nlohmann::json& blobs) {
  std::vector<float> cams;
  for (const auto& blob : blobs) {
    const double cx = blob[0], cy = blob[1], rx = blob[2], ry = blob[3], peak = blob[4],
                 floor = blob[5];
    for (int yi = 0; yi < height; ++yi) {
      for (int xi = 0; xi < width; ++xi) {
        const double x = xi, y = yi;
        const double ripple = std::fmod(x + 2.0 * y, 23.0) / 23.0 * 0.04;
        const double dx = (x - cx * width) / (rx * width);
        const double dy = (y - cy * height) / (ry * height);
        const double r2 = dx * dx + dy * dy;
        const double inside = 1.0 - r2;
        const double cam = (r2 < 1.0 ? floor + peak * (inside * inside) : floor) + ripple;
        cams.push_back(to_float16(static_cast<float>(cam)));
      }
    }
  }
  return cams;
}

// [1 + K, H, W]: bg = 1 - max over the CAMs (float16 arithmetic), then the CAMs.
std::vector<float> with_background(const std::vector<float>& cams, int points) {
  const size_t classes = cams.size() / points;
  std::vector<float> probabilities(points);
  for (int i = 0; i < points; ++i) {
    float top = cams[i];
    for (size_t k = 1; k < classes; ++k) top = std::max(top, cams[k * points + i]);
    probabilities[i] = to_float16(1.0f - top);
  }
  probabilities.insert(probabilities.end(), cams.begin(), cams.end());
  return probabilities;
}

struct PhotoCase {
  cv::Mat bgr;
  std::vector<float> probabilities;  // [1 + K, H, W]
  std::vector<int64_t> keys;
};

PhotoCase photo_case(const std::string& name) {
  PhotoCase photo{read_photo(name), {}, {}};
  const std::vector<float> cams =
      synthetic_cams(photo.bgr.rows, photo.bgr.cols, golden().scalars().at(name + "/blobs"));
  photo.probabilities = with_background(cams, static_cast<int>(photo.bgr.total()));
  const at::Tensor keys = golden().array(name + "/keys");
  photo.keys.assign(keys.data_ptr<int64_t>(), keys.data_ptr<int64_t>() + keys.numel());
  return photo;
}

double agreement(const std::vector<uint8_t>& labels, const cv::Mat& expected) {
  EXPECT_EQ(expected.type(), CV_8UC1);
  EXPECT_EQ(expected.total(), labels.size());
  size_t same = 0;
  for (size_t i = 0; i < labels.size(); ++i) same += labels[i] == expected.data[i];
  return static_cast<double>(same) / labels.size();
}

const char* const kPhotos[] = {"fruits", "squirrel", "messi"};

TEST(DenseCrf, Float16RoundingMatchesNumpy) {
  const std::vector<float> in = to_vector(golden().array("float16_in"));
  const std::vector<float> out = to_vector(golden().array("float16_out"));
  ASSERT_EQ(in.size(), 3250u);
  int ties = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_TRUE(same_bits(to_float16(in[i]), out[i])) << in[i] << " -> " << out[i];
    // A tie rounded to even lands on the nearer representable value of even mantissa.
    ties += in[i] != out[i] && i < 1000;
  }
  EXPECT_EQ(ties, 1000);
}

TEST(DenseCrf, UnaryMatchesPydensecrfForEveryFloat16InUnitRange) {
  const std::vector<float> expected = to_vector(golden().array("unary_all_halves"));
  ASSERT_EQ(expected.size(), 0x3C01u);
  std::vector<float> halves;
  for (int bits = 0; bits <= 0x3C00; ++bits) {
    halves.push_back(static_cast<float>(cv::float16_t::fromBits(static_cast<ushort>(bits))));
  }
  const std::vector<float> unary = dense_crf_unary(halves);
  int mismatches = 0;
  for (size_t i = 0; i < unary.size(); ++i) mismatches += !same_bits(unary[i], expected[i]);
  EXPECT_EQ(mismatches, 0);
  // The clip's bound is float16(1e-5): zero and tiny values all get -log(1.0014e-5).
  EXPECT_FLOAT_EQ(unary[0], to_float16(-std::log(to_float16(1e-5f))));
  EXPECT_EQ(unary[0], unary[1]);
  EXPECT_EQ(unary.back(), 0.0f);
}

TEST(DenseCrf, ReferenceImageWrapsLikeNumpy) {
  // trunc(v - mean) mod 256 per channel (B, G, R means 104.008, 116.669, 122.675).
  cv::Mat pixels(1, 4, CV_8UC3);
  pixels.at<cv::Vec3b>(0, 0) = {104, 117, 123};  // -0.008, 0.331, 0.325
  pixels.at<cv::Vec3b>(0, 1) = {103, 116, 122};  // -1.008, -0.669, -0.675
  pixels.at<cv::Vec3b>(0, 2) = {0, 0, 0};        // -104.008, -116.669, -122.675
  pixels.at<cv::Vec3b>(0, 3) = {255, 255, 255};  // 150.992, 138.331, 132.325
  const cv::Mat wrapped = crf_reference_image(pixels, true);
  EXPECT_EQ(wrapped.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(wrapped.at<cv::Vec3b>(0, 1), cv::Vec3b(255, 0, 0));
  EXPECT_EQ(wrapped.at<cv::Vec3b>(0, 2), cv::Vec3b(152, 140, 134));
  EXPECT_EQ(wrapped.at<cv::Vec3b>(0, 3), cv::Vec3b(150, 138, 132));
  const cv::Mat plain = crf_reference_image(pixels, false);
  EXPECT_EQ(cv::norm(plain, pixels, cv::NORM_INF), 0.0);

  for (const char* name : kPhotos) {
    const cv::Mat bgr = read_photo(name);
    // The same decoded bytes as the generator's cv2.imread, then numpy's wrapped image.
    EXPECT_EQ(mat_sha256(bgr), golden().scalars().at(std::string(name) + "/bgr_sha256")) << name;
    EXPECT_EQ(mat_sha256(crf_reference_image(bgr, true)),
              golden().scalars().at(std::string(name) + "/wrapped_sha256"))
        << name;
  }
}

TEST(DenseCrf, SyntheticCamsMatchTheGenerator) {
  for (const char* name : kPhotos) {
    const PhotoCase photo = photo_case(name);
    const std::vector<float> sample = to_vector(golden().array(std::string(name) + "/cam_sample"));
    const size_t points = photo.bgr.total();
    size_t index = 0;
    int mismatches = 0;
    for (size_t at = points; at < photo.probabilities.size(); at += 7, ++index) {
      ASSERT_LT(index, sample.size());
      mismatches += !same_bits(photo.probabilities[at], sample[index]);
    }
    EXPECT_EQ(index, sample.size()) << name;
    EXPECT_EQ(mismatches, 0) << name;
  }
}

TEST(DenseCrf, MasksAgreeWithTheReference) {
  for (const char* name : kPhotos) {
    const PhotoCase photo = photo_case(name);
    const int channels = static_cast<int>(photo.keys.size()) + 1;
    const std::vector<uint8_t> channel_labels =
        dense_crf_labels(photo.bgr, photo.probabilities, channels);
    // The reference writes 0 for background, key + 1 for CAM channel k.
    std::vector<uint8_t> mask(channel_labels.size());
    for (size_t i = 0; i < mask.size(); ++i) {
      mask[i] =
          channel_labels[i] == 0 ? 0 : static_cast<uint8_t>(photo.keys[channel_labels[i] - 1] + 1);
    }
    const cv::Mat expected =
        cv::imread(data_path("crf_golden/" + std::string(name) + "_crf.png"), cv::IMREAD_UNCHANGED);
    const double agree = agreement(mask, expected);
    RecordProperty(std::string(name) + "_agreement", std::to_string(agree));
    EXPECT_GE(agree, 0.995) << name;

    // The CRF moved a fair share of pixels off the CAMs' arg max, so agreeing means something.
    DenseCrfOptions no_iterations;
    no_iterations.iterations = 0;
    const std::vector<uint8_t> before =
        dense_crf_labels(photo.bgr, photo.probabilities, channels, no_iterations);
    size_t moved = 0;
    for (size_t i = 0; i < before.size(); ++i) moved += before[i] != channel_labels[i];
    EXPECT_GT(moved, before.size() / 25) << name;
  }
}

TEST(DenseCrf, PlainImageMasksAgreeWithTheReference) {
  DenseCrfOptions options;
  options.reference_image_quirk = false;
  for (const char* name : kPhotos) {
    const PhotoCase photo = photo_case(name);
    const std::vector<uint8_t> labels = dense_crf_labels(
        photo.bgr, photo.probabilities, static_cast<int>(photo.keys.size()) + 1, options);
    const cv::Mat expected = cv::imread(data_path("crf_golden/" + std::string(name) + "_plain.png"),
                                        cv::IMREAD_UNCHANGED);
    EXPECT_GE(agreement(labels, expected), 0.995) << name;
  }
}

TEST(DenseCrf, ZeroIterationsGiveTheArgMaxOfTheProbabilities) {
  // Q = softmax(-U) = clipped probabilities, normalised: the arg max (first on ties).
  cv::Mat image(2, 3, CV_8UC3, cv::Scalar(10, 20, 30));
  const std::vector<float> probabilities = {0.5f, 0.1f, 0.2f, 0.3f, 0.0f, 0.25f,  // channel 0
                                            0.5f, 0.8f, 0.1f, 0.3f, 0.0f, 0.5f,   // channel 1
                                            0.0f, 0.1f, 0.7f, 0.4f, 0.0f, 0.25f};
  DenseCrfOptions options;
  options.iterations = 0;
  EXPECT_EQ(dense_crf_labels(image, probabilities, 3, options),
            (std::vector<uint8_t>{0, 1, 2, 2, 0, 1}));
}

TEST(DenseCrf, RejectsBadShapesAndOptions) {
  const cv::Mat image(4, 5, CV_8UC3, cv::Scalar(0, 0, 0));
  const std::vector<float> probabilities(2 * 20, 0.5f);
  testing::expect_throw_with<ShapeError>(
      [&] { dense_crf_labels(image, std::vector<float>(39, 0.5f), 2); }, "[2, 4, 5]");
  testing::expect_throw_with<ShapeError>(
      [&] { dense_crf_labels(cv::Mat(4, 5, CV_8UC1), probabilities, 2); }, "3-channel");
  testing::expect_throw_with<ShapeError>([&] { dense_crf_labels(image, {}, 0); }, "1 <= C <= 256");
  testing::expect_throw_with<ShapeError>(
      [&] { dense_crf_labels(image, std::vector<float>(257 * 20, 0.5f), 257); }, "1 <= C <= 256");
  DenseCrfOptions options;
  options.bilateral_srgb = 0.0f;
  testing::expect_throw_with<UsageError>(
      [&] { dense_crf_labels(image, probabilities, 2, options); }, "bilateral_srgb");
  options = {};
  options.iterations = -1;
  testing::expect_throw_with<UsageError>(
      [&] { dense_crf_labels(image, probabilities, 2, options); }, "iterations");
  // 256 channels fit the byte labels.
  std::vector<float> wide(256 * 20, 0.001f);
  for (int i = 0; i < 20; ++i) wide[255 * 20 + i] = 0.9f;
  options = {};
  options.iterations = 2;
  EXPECT_EQ(dense_crf_labels(image, wide, 256, options), std::vector<uint8_t>(20, 255));
}

}  // namespace
}  // namespace tagclip
