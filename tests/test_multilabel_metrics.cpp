// The metrics against the authors' compute_AP / compute_F1, run by
// scripts/golden/make_metrics_golden.py on the same score arrays (random, ties, classes
// without positives, one image, scores above 1).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "golden_arrays.h"
#include "tagclip/errors.h"
#include "tagclip/eval/multilabel_metrics.h"
#include "test_support.h"

namespace tagclip {
namespace {

// The reference sums in float32; these functions in double.
constexpr double kTolerance = 2e-6;

const testing::GoldenArrays& golden() {
  static const testing::GoldenArrays arrays(testing::data_path("golden/metrics_reference"));
  return arrays;
}

MultilabelData golden_case(const std::string& name) {
  const at::Tensor scores = golden().array(name + "/scores").contiguous();
  const at::Tensor labels = golden().array(name + "/labels").contiguous();
  MultilabelData data;
  data.images = scores.size(0);
  data.classes = scores.size(1);
  data.scores.assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  const float* label_values = labels.data_ptr<float>();
  for (int64_t i = 0; i < labels.numel(); ++i) data.labels.push_back(label_values[i] > 0.5f);
  return data;
}

std::vector<std::string> case_names() {
  return golden().scalars().at("cases").get<std::vector<std::string>>();
}

void expect_near_or_both_nan(double actual, double expected, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual;
  } else {
    EXPECT_NEAR(actual, expected, kTolerance) << what;
  }
}

TEST(MultilabelMetrics, AveragePrecisionMatchesTheReference) {
  for (const std::string& name : case_names()) {
    const MultilabelData data = golden_case(name);
    const std::vector<double> ap = average_precision(data);
    const at::Tensor expected = golden().array(name + "/ap");
    ASSERT_EQ(ap.size(), static_cast<size_t>(expected.numel())) << name;
    for (size_t c = 0; c < ap.size(); ++c)
      EXPECT_NEAR(ap[c], expected[c].item<float>(), kTolerance) << name << " class " << c;
    EXPECT_NEAR(mean_average_precision(ap), golden().array(name + "/map")[0].item<float>(),
                kTolerance)
        << name;
  }
}

TEST(MultilabelMetrics, TiesAreRankedAsTorchSortsThem) {
  // In "ties" a stable (by index) order changes some class's AP by 0.06, so this holds only
  // with torch's own order of ties.
  const MultilabelData data = golden_case("ties");
  const std::vector<double> ap = average_precision(data);
  const at::Tensor expected = golden().array("ties/ap");
  for (size_t c = 0; c < ap.size(); ++c) EXPECT_NEAR(ap[c], expected[c].item<float>(), 1e-6);
  // Up to 16 entries torch's introsort is an insertion sort: ties keep index order.
  MultilabelData small;
  small.images = 5;
  small.classes = 1;
  small.scores = {0.5f, 0.9f, 0.5f, 0.9f, 0.5f};
  small.labels = {0, 0, 1, 1, 0};
  EXPECT_EQ(ranking_for_class(small, 0), (std::vector<uint32_t>{1, 3, 0, 2, 4}));
}

TEST(MultilabelMetrics, ClassesWithoutPositivesCountAsZeroInTheMean) {
  const MultilabelData data = golden_case("random");
  const std::vector<double> ap = average_precision(data);
  EXPECT_EQ(ap[7], 0.0);
  EXPECT_NEAR(mean_average_precision(ap), std::accumulate(ap.begin(), ap.end(), 0.0) / 20, 1e-12);
}

TEST(MultilabelMetrics, F1PrecisionRecallMatchTheReferenceInEveryMode) {
  const std::pair<const char*, F1Average> modes[] = {{"overall", F1Average::kOverall},
                                                     {"category", F1Average::kCategory},
                                                     {"sample", F1Average::kSample}};
  for (const std::string& name : case_names()) {
    const MultilabelData data = golden_case(name);
    for (const auto& [mode, average] : modes) {
      const std::vector<std::pair<std::string, std::vector<uint8_t>>> binarised = {
          {"rel0.5", predict_relative(data, 0.5)}, {"rel0.1", predict_relative(data, 0.1)}};
      std::vector<std::pair<std::string, std::vector<uint8_t>>> all = binarised;
      for (int k : {1, 3})
        if (static_cast<size_t>(k) <= data.classes)
          all.push_back({"top" + std::to_string(k), predict_top_k(data, k)});
      for (const auto& [tag, predicted] : all) {
        const std::string key = name + "/" + mode + "_" + tag;
        const at::Tensor expected = golden().array(key);
        const F1Score score = f1_score(predicted, data, average);
        expect_near_or_both_nan(score.f1, expected[0].item<float>(), key + " F1");
        expect_near_or_both_nan(score.precision, expected[1].item<float>(), key + " P");
        expect_near_or_both_nan(score.recall, expected[2].item<float>(), key + " R");
      }
    }
  }
}

TEST(MultilabelMetrics, RelativeThresholdReproducesTheInPlaceBinarisation) {
  MultilabelData data;
  data.images = 3;
  data.classes = 3;
  // Row 0: threshold 1.5 >= 1, so the reference zeroes its 1s again: nothing predicted.
  // Row 1: constant, nothing above the threshold. Row 2: ordinary.
  data.scores = {1.0f, 2.0f, 3.0f, 0.4f, 0.4f, 0.4f, 0.1f, 0.6f, 0.2f};
  data.labels = {0, 0, 1, 1, 0, 0, 0, 1, 0};
  EXPECT_EQ(predict_relative(data, 0.25), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 1, 0}));
}

TEST(MultilabelMetrics, PerClassScoresAreTheTermsOfTheCategoryMean) {
  const MultilabelData data = golden_case("softmax80");
  const std::vector<uint8_t> predicted = predict_relative(data, 0.5);
  const std::vector<F1Score> per_class = per_class_f1(predicted, data);
  ASSERT_EQ(per_class.size(), 80u);
  double precision = 0, recall = 0;
  for (const F1Score& s : per_class) {
    precision += s.precision;
    recall += s.recall;
  }
  const F1Score category = f1_score(predicted, data, F1Average::kCategory);
  EXPECT_NEAR(precision / 80, category.precision, 1e-12);
  EXPECT_NEAR(recall / 80, category.recall, 1e-12);
}

TEST(MultilabelMetrics, CurveEndsAtFullRecallAndAveragesToTheAp) {
  const MultilabelData data = golden_case("random");
  const std::vector<double> ap = average_precision(data);
  const PrecisionRecallCurve curve = precision_recall_curve(data, 3);
  ASSERT_EQ(curve.recall.size(), data.images);
  EXPECT_FLOAT_EQ(curve.recall.back(), 1.0f);
  double area = 0, previous_recall = 0;
  for (size_t r = 0; r < curve.recall.size(); ++r) {
    area += (curve.recall[r] - previous_recall) * curve.precision[r];
    previous_recall = curve.recall[r];
  }
  EXPECT_NEAR(area, ap[3], 1e-5);
  EXPECT_TRUE(precision_recall_curve(data, 7).recall.empty());  // no positives
}

TEST(MultilabelMetrics, BadShapesAndKAreUsageErrors) {
  MultilabelData data;
  data.images = 2;
  data.classes = 2;
  data.scores = {0.1f, 0.2f, 0.3f};
  data.labels = {0, 1, 0, 1};
  EXPECT_THROW(average_precision(data), UsageError);
  data.scores.push_back(0.4f);
  EXPECT_THROW(predict_top_k(data, 3), UsageError);
  EXPECT_THROW(predict_top_k(data, 0), UsageError);
  EXPECT_THROW(f1_score({1, 0}, data, F1Average::kOverall), UsageError);
  data.labels[0] = 2;
  EXPECT_THROW(data.validate(), UsageError);
}

}  // namespace
}  // namespace tagclip
