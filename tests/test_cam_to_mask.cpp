// CAM -> mask against the authors' eval_cam.py / eval_cam_cocostuff.py (masks recorded by
// scripts/golden/make_seg_metrics_golden.py from the CAM files in tests/data/seg_eval_golden),
// and the float16 arithmetic, tie and NaN rules that decide single pixels.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <sstream>

#include "tagclip/errors.h"
#include "tagclip/eval/segmentation_metrics.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/npz.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::vector<std::string> split_ids(const std::string& dataset) {
  std::ifstream in(testing::data_path("seg_eval_golden/" + dataset + "/split.txt"));
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) ids.push_back(line.substr(0, line.find(' ')));
  return ids;
}

// The reference's predicted masks, "<dataset>__<case>__<id>" -> [H * W].
const std::map<std::string, std::string>& reference_masks() {
  static const std::map<std::string, std::string> masks = [] {
    std::map<std::string, std::string> out;
    for (const NpyArray& array : read_npz(testing::data_path("seg_eval_golden/expected_masks.npz")))
      out[array.name] = array.bytes;
    return out;
  }();
  return masks;
}

std::vector<uint8_t> reference_mask(const std::string& dataset, const std::string& name,
                                    const std::string& id) {
  const std::string key = dataset + "__" + name + "__" + id;
  const auto found = reference_masks().find(key);
  if (found == reference_masks().end()) throw std::runtime_error("no reference mask " + key);
  return std::vector<uint8_t>(found->second.begin(), found->second.end());
}

ClassCams golden_cams(const std::string& dataset, const std::string& id) {
  return read_cam_file(testing::data_path("seg_eval_golden/" + dataset + "/cams/" + id + ".npz"),
                       /*need_highres=*/true);
}

size_t differing(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t k = 0; k < a.size(); ++k) n += a[k] != b[k];
  return n;
}

TEST(CamToMask, MasksEqualTheReferencesForVocAndCoco) {
  for (const std::string dataset : {"voc", "coco"}) {
    for (const std::string& id : split_ids(dataset)) {
      SCOPED_TRACE(dataset + " " + id);
      const ClassCams cams = golden_cams(dataset, id);
      EXPECT_EQ(differing(mask_from_cams(cams).labels, reference_mask(dataset, "attn_highres", id)),
                0u);
      for (int t = 1; t <= 10; ++t)
        EXPECT_EQ(differing(mask_from_cams(cams, cams.highres, BackgroundScore::power(t)).labels,
                            reference_mask(dataset, "highres_p" + std::to_string(t), id)),
                  0u)
            << "power " << t;
      EXPECT_EQ(
          differing(mask_from_cams(cams, cams.attn_highres, BackgroundScore::constant(0.3)).labels,
                    reference_mask(dataset, "attn_highres_c0.3", id)),
          0u);
    }
  }
}

TEST(CamToMask, CocoStuffMasksMapToTheReferencesCoarseIds) {
  const std::array<uint8_t, 256>& coarse = cocostuff_fine171_to_coarse();
  for (const std::string& id : split_ids("cocostuff")) {
    SCOPED_TRACE(id);
    const ClassCams cams = golden_cams("cocostuff", id);
    const LabelMask mask = mask_from_cams_without_background(cams, cams.attn_highres);
    std::vector<uint8_t> coarse_mask;
    for (uint8_t label : mask.labels) {
      ASSERT_GE(label, 1);  // k + 1: no background
      coarse_mask.push_back(coarse[label - 1]);
    }
    EXPECT_EQ(differing(coarse_mask, reference_mask("cocostuff", "attn_highres", id)), 0u);
  }
}

ClassCams two_class_pixel(float a, float b, bool float16 = true) {
  ClassCams cams;
  cams.keys = {4, 9};
  cams.height = 1;
  cams.width = 1;
  cams.attn_highres = {a, b};
  cams.float16 = float16;
  return cams;
}

TEST(CamToMask, TiesGoToTheFirstMaximumAndBackgroundComesFirst) {
  EXPECT_EQ(mask_from_cams(two_class_pixel(0.5f, 0.25f)).labels[0], 0);  // bg 0.5 ties
  EXPECT_EQ(mask_from_cams(two_class_pixel(0.625f, 0.625f)).labels[0], 5);
  EXPECT_EQ(mask_from_cams(two_class_pixel(0.25f, 0.75f)).labels[0], 10);
  // numpy's argmax: a NaN is the maximum; np.max propagates it into the background too, so
  // the background row (first) is NaN and wins.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(mask_from_cams(two_class_pixel(0.2f, nan)).labels[0], 0);
  EXPECT_TRUE(std::isnan(background_scores(two_class_pixel(0.2f, nan), {0.2f, nan})[0]));
  // Constant background (eval_cam.py's T < 1), rounded to float16: 0.3 -> 0.300048828125.
  EXPECT_EQ(background_scores(two_class_pixel(0.2f, 0.1f), {0.2f, 0.1f},
                              BackgroundScore::constant(0.3))[0],
            0.300048828125f);
  EXPECT_EQ(mask_from_cams(two_class_pixel(0.300048828125f, 0.1f), {0.300048828125f, 0.1f},
                           BackgroundScore::constant(0.3))
                .labels[0],
            0);
}

TEST(CamToMask, BackgroundPowerIsFloat16Arithmetic) {
  // A float16 max m with fp16(fp16(1 - m)^T) == m while the unrounded power is below m:
  // numpy's float16 arithmetic ties (background wins), float32 maps pick the class.
  bool found = false;
  for (uint16_t bits = 0x3000; bits < 0x3c00 && !found; ++bits) {
    const float m = static_cast<float>(cv::float16_t::fromBits(bits));
    for (int t = 2; t <= 10 && !found; ++t) {
      // numpy rounds 1 - m to float16 first, then powf, then rounds again; on float32
      // maps nothing is rounded.
      const float complement = static_cast<float>(cv::float16_t(1.0f - m));
      const float power16 = static_cast<float>(cv::float16_t(std::pow(complement, float(t))));
      if (power16 != m || std::pow(1.0f - m, static_cast<float>(t)) >= m) continue;
      found = true;
      SCOPED_TRACE("m = " + std::to_string(m) + ", T = " + std::to_string(t));
      EXPECT_EQ(mask_from_cams(two_class_pixel(m, 0.0f), t).labels[0], 0);
      EXPECT_EQ(mask_from_cams(two_class_pixel(m, 0.0f, /*float16=*/false), t).labels[0], 5);
    }
  }
  EXPECT_TRUE(found);
  // 1 - max rounds to float16 before the power: max 2^-14 gives 1 - 2^-14 in float32 but
  // exactly 1 in float16.
  const float tiny = 1.0f / 16384;
  EXPECT_EQ(background_scores(two_class_pixel(tiny, 0), {tiny, 0})[0], 1.0f);
  EXPECT_EQ(background_scores(two_class_pixel(tiny, 0, false), {tiny, 0})[0], 1.0f - tiny);
}

TEST(CamToMask, CrfProbabilitiesAndChannelLabels) {
  ClassCams cams;
  cams.keys = {0, 6};
  cams.height = 1;
  cams.width = 3;
  cams.attn_highres = {0.25f, 0.5f, 0.0f, 0.75f, 0.125f, 0.0f};
  const std::vector<float> with_bg = crf_probabilities(cams, cams.attn_highres, true);
  const std::vector<float> expected = {0.25f, 0.5f, 1.0f, 0.25f, 0.5f, 0.0f, 0.75f, 0.125f, 0.0f};
  EXPECT_EQ(with_bg, expected);
  EXPECT_EQ(crf_probabilities(cams, cams.attn_highres, false), cams.attn_highres);
  EXPECT_EQ(mask_from_channels(cams, {0, 1, 2}, true).labels, (std::vector<uint8_t>{0, 1, 7}));
  EXPECT_EQ(mask_from_channels(cams, {1, 0, 1}, false).labels, (std::vector<uint8_t>{7, 1, 7}));
  EXPECT_THROW(mask_from_channels(cams, {0, 3, 0}, true), ShapeError);
  EXPECT_THROW(mask_from_channels(cams, {0, 1}, true), ShapeError);
  EXPECT_EQ(mask_from_cams_without_background(cams, cams.attn_highres).labels,
            (std::vector<uint8_t>{7, 1, 1}));
}

TEST(CamToMask, NoMapsIsAllBackgroundAndBadShapesThrow) {
  ClassCams empty;
  empty.height = 2;
  empty.width = 2;
  EXPECT_EQ(mask_from_cams(empty).labels, std::vector<uint8_t>(4, 0));
  EXPECT_THROW(mask_from_cams_without_background(empty, {}), ShapeError);
  ClassCams cams = two_class_pixel(0.1f, 0.9f);
  EXPECT_THROW(mask_from_cams(cams, {0.1f}, {}), ShapeError);
  EXPECT_THROW(cam_maps(cams, CamKind::kHighres), ShapeError);
  cams.keys = {4, 254};  // 255 is the ignore label
  EXPECT_THROW(mask_from_cams(cams), ShapeError);
}

}  // namespace
}  // namespace tagclip
