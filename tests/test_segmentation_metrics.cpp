// Segmentation scores against the authors' scores() (eval_cam.py, eval_cam_cocostuff.py):
// the reference's own predicted masks and ground truth of tests/data/seg_eval_golden give
// its numbers within 1e-6, and hand-counted cases pin each formula and the ignore rules.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tagclip/errors.h"
#include "tagclip/eval/segmentation_metrics.h"
#include "tagclip/segment/label_mask.h"
#include "tagclip/segment/npz.h"
#include "test_support.h"

namespace tagclip {
namespace {

nlohmann::json expected_scores() {
  std::ifstream in(testing::data_path("seg_eval_golden/expected.json"));
  return nlohmann::json::parse(in);
}

std::vector<std::string> split_ids(const std::string& dataset) {
  std::ifstream in(testing::data_path("seg_eval_golden/" + dataset + "/split.txt"));
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) ids.push_back(line.substr(0, line.find(' ')));
  return ids;
}

// NaN in our scores is null in the reference's JSON.
void expect_score(double ours, const nlohmann::json& reference, const std::string& what) {
  if (reference.is_null()) {
    EXPECT_TRUE(std::isnan(ours)) << what << ": " << ours;
  } else {
    EXPECT_NEAR(ours, reference.get<double>(), 1e-6) << what;
  }
}

void expect_scores(const SegmentationScores& s, const nlohmann::json& reference) {
  expect_score(s.mean_iou, reference["mIoU"], "mIoU");
  expect_score(s.pixel_accuracy, reference["pixel_accuracy"], "pixel accuracy");
  expect_score(s.mean_accuracy, reference["mean_accuracy"], "mean accuracy");
  expect_score(s.fw_iou, reference["fw_iou"], "fwIoU");
  ASSERT_EQ(s.class_iou.size(), reference["class_iou"].size());
  for (size_t c = 0; c < s.class_iou.size(); ++c)
    expect_score(s.class_iou[c], reference["class_iou"][c], "IoU of class " + std::to_string(c));
}

TEST(SegmentationMetrics, ReferenceMasksGiveTheReferencesScores) {
  const nlohmann::json expected = expected_scores();
  std::map<std::string, std::string> masks;
  for (const NpyArray& array : read_npz(testing::data_path("seg_eval_golden/expected_masks.npz")))
    masks[array.name] = array.bytes;
  int cases = 0;
  for (const std::string dataset : {"voc", "coco", "cocostuff"}) {
    const bool cocostuff = dataset == "cocostuff";
    for (const auto& [name, reference] : expected[dataset].items()) {
      SCOPED_TRACE(dataset + " " + name);
      ConfusionMatrix matrix(reference["n_class"].get<int>());
      for (const std::string& id : split_ids(dataset)) {
        LabelMask truth = read_label_mask_png(
            testing::data_path("seg_eval_golden/" + dataset + "/gt/" + id + ".png"));
        if (cocostuff)
          for (uint8_t& v : truth.labels) v = cocostuff_fine182_to_coarse()[v];
        const std::string& predicted = masks.at(dataset + "__" + name + "__" + id);
        ASSERT_EQ(predicted.size(), truth.labels.size());
        matrix.add(truth.labels.data(), reinterpret_cast<const uint8_t*>(predicted.data()),
                   predicted.size());
      }
      expect_scores(segmentation_scores(matrix), reference);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 13 + 13 + 2);
}

TEST(SegmentationMetrics, HandCountedThreeClasses) {
  // Ground truth row by row; 255 and 3 (>= n) are not scored.
  const std::vector<uint8_t> truth = {0, 0, 0, 1, 1, 2, 255, 3, 0, 1};
  const std::vector<uint8_t> prediction = {0, 0, 1, 1, 0, 2, 1, 0, 2, 1};
  ConfusionMatrix matrix(3);
  matrix.add(truth, prediction);
  // Rows (truth) x columns: 0:[2,1,1] 1:[1,2,0] 2:[0,0,1]
  EXPECT_EQ(matrix.count(0, 0), 2);
  EXPECT_EQ(matrix.count(0, 2), 1);
  EXPECT_EQ(matrix.count(1, 0), 1);
  EXPECT_EQ(matrix.total(), 8);
  const SegmentationScores s = segmentation_scores(matrix);
  EXPECT_DOUBLE_EQ(s.pixel_accuracy, 5.0 / 8);
  EXPECT_DOUBLE_EQ(s.mean_accuracy, (2.0 / 4 + 2.0 / 3 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(s.class_iou[0], 2.0 / (4 + 3 - 2));
  EXPECT_DOUBLE_EQ(s.class_iou[1], 2.0 / (3 + 3 - 2));
  EXPECT_DOUBLE_EQ(s.class_iou[2], 1.0 / (1 + 2 - 1));
  EXPECT_DOUBLE_EQ(s.mean_iou, (0.4 + 0.5 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(s.fw_iou, 4.0 / 8 * 0.4 + 3.0 / 8 * 0.5 + 1.0 / 8 * 0.5);
  EXPECT_EQ(s.ground_truth_pixels, (std::vector<int64_t>{4, 3, 1}));
  EXPECT_EQ(s.predicted_pixels, (std::vector<int64_t>{3, 3, 2}));
}

TEST(SegmentationMetrics, ClassesAbsentFromTheGroundTruthNeverCount) {
  // Class 2 is predicted but never true: IoU 0 in the per-class list, left out of mIoU,
  // mean accuracy and fwIoU (the reference's `valid` and nanmean). Class 1 is neither: NaN.
  ConfusionMatrix matrix(3);
  matrix.add(std::vector<uint8_t>{0, 0, 0, 0}, std::vector<uint8_t>{0, 0, 0, 2});
  const SegmentationScores s = segmentation_scores(matrix);
  EXPECT_DOUBLE_EQ(s.class_iou[0], 0.75);
  EXPECT_TRUE(std::isnan(s.class_iou[1]));
  EXPECT_EQ(s.class_iou[2], 0.0);
  EXPECT_DOUBLE_EQ(s.mean_iou, 0.75);
  EXPECT_DOUBLE_EQ(s.mean_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(s.fw_iou, 0.75);
  EXPECT_TRUE(std::isnan(segmentation_scores(ConfusionMatrix(3)).mean_iou));
}

TEST(SegmentationMetrics, PredictedIgnoreIsAMissAndOtherValuesAreRefused) {
  ConfusionMatrix matrix(2);
  matrix.add(std::vector<uint8_t>{0, 0, 1, 1}, std::vector<uint8_t>{0, 255, 1, 1});
  EXPECT_EQ(matrix.unpredicted(0), 1);
  EXPECT_EQ(matrix.ground_truth_pixels(0), 2);
  EXPECT_EQ(matrix.predicted_pixels(0), 1);
  const SegmentationScores s = segmentation_scores(matrix);
  EXPECT_DOUBLE_EQ(s.pixel_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(s.class_iou[0], 0.5);
  EXPECT_DOUBLE_EQ(s.class_iou[1], 1.0);
  EXPECT_THROW(matrix.add(std::vector<uint8_t>{0}, std::vector<uint8_t>{2}), Error);
  EXPECT_THROW(matrix.add(std::vector<uint8_t>{0}, std::vector<uint8_t>{0, 0}), ShapeError);
  ConfusionMatrix sum(2);
  sum += matrix;
  sum += matrix;
  EXPECT_EQ(sum.total(), 8);
  EXPECT_THROW(sum += ConfusionMatrix(3), ShapeError);
  EXPECT_THROW(ConfusionMatrix(0), UsageError);
}

TEST(SegmentationMetrics, CocoStuffCoarseMaps) {
  const auto& fine182 = cocostuff_fine182_to_coarse();
  const auto& fine171 = cocostuff_fine171_to_coarse();
  EXPECT_EQ(fine182[0], 9);     // person -> person-other (things)
  EXPECT_EQ(fine182[11], 8);    // id 12 (unused by the 171 classes) still maps
  EXPECT_EQ(fine182[181], 24);  // wood
  EXPECT_EQ(fine182[182], 255);
  EXPECT_EQ(fine182[255], 255);
  EXPECT_EQ(fine171[0], 9);
  EXPECT_EQ(fine171[11], fine182[12]);  // the 171 classes skip id 12 (0-based 11)
  EXPECT_EQ(fine171[170], 24);
  EXPECT_EQ(fine171[171], 255);
  for (int v = 0; v < 171; ++v) EXPECT_LT(fine171[v], kCocoStuffCoarseClasses) << v;
  // Names follow the ids: person (fine 0) is coarse 9, the walls (fine 171..177) 18.
  ASSERT_EQ(cocostuff_coarse_names().size(), size_t{kCocoStuffCoarseClasses});
  EXPECT_EQ(cocostuff_coarse_names()[fine182[0]], "person-things");
  EXPECT_EQ(cocostuff_coarse_names()[fine182[171]], "wall-stuff");
  EXPECT_EQ(cocostuff_coarse_names()[fine182[156]], "sky-stuff");  // sky-other
}

}  // namespace
}  // namespace tagclip
