// The eval report's numbers, table and JSON on a hand-checked four-image case.
#include <gtest/gtest.h>

#include <cmath>

#include "tagclip/errors.h"
#include "tagclip/eval/eval_report.h"

namespace tagclip {
namespace {

// Class "a": ranking 0.9 (+), 0.8 (-), 0.7 (+): AP (1 + 2/3) / 2. Class "b": no positives.
// Class "c": its only positive ranked first: AP 1.
MultilabelData four_images() {
  MultilabelData data;
  data.images = 4;
  data.classes = 3;
  data.scores = {0.9f, 0.1f, 0.3f, 0.8f, 0.2f, 0.0f, 0.7f, 0.1f, 0.2f, 0.0f, 0.1f, 0.6f};
  data.labels = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  return data;
}

TEST(EvalReport, ComputesApMeanAndThresholdScores) {
  EvalOptions options;
  options.top_k = {1};
  const EvalReport report = evaluate(four_images(), {"a", "b", "c"}, options);
  EXPECT_EQ(report.images, 4u);
  EXPECT_NEAR(report.classes[0].ap, (1.0 + 2.0 / 3.0) / 2.0, 1e-12);
  EXPECT_EQ(report.classes[1].ap, 0.0);
  EXPECT_EQ(report.classes[2].ap, 1.0);
  EXPECT_NEAR(report.mean_ap, (5.0 / 6.0 + 1.0) / 3.0, 1e-12);
  EXPECT_EQ(report.classes_without_positives, 1u);
  EXPECT_EQ(report.classes[0].positives, 2u);
  // Threshold 0.5 per row predicts a, a, a, c: three right, one wrong (image 1), none missed.
  EXPECT_NEAR(report.overall.precision, 0.75, 1e-8);
  EXPECT_NEAR(report.overall.recall, 1.0, 1e-8);
  EXPECT_NEAR(report.overall.f1, 6.0 / 7.0, 1e-8);
  EXPECT_TRUE(std::isnan(report.classes[1].at_threshold.f1));  // 0/0 as the reference
  ASSERT_EQ(report.top_k.size(), 1u);
  EXPECT_EQ(report.top_k[0].k, 1);
}

TEST(EvalReport, TableShowsPercentagesAndJsonFractions) {
  const EvalReport report = evaluate(four_images(), {"a", "b", "c"}, {});
  const std::string table = format_report_table(report, {true, true});
  EXPECT_NE(table.find("\na       83.33"), std::string::npos) << table;
  EXPECT_NE(table.find("mAP 61.11   over 3 classes (1 without positives count as 0)"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("F1 85.71  P 75.00  R 100.00   overall, relative threshold 0.5"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("mean over images"), std::string::npos);
  EXPECT_NE(table.find("images 4\n"), std::string::npos);

  const nlohmann::ordered_json json = report_json(report);
  EXPECT_EQ(json.begin().key(), "mAP");
  EXPECT_NEAR(json["mAP"].get<double>(), 0.6111111, 1e-6);
  EXPECT_EQ(json["images"], 4);
  EXPECT_EQ(json["per_class"]["c"]["AP"], 1.0);
  EXPECT_EQ(json["per_class"]["b"]["positives"], 0);
  EXPECT_NE(json["per_class"]["b"].dump().find("\"F1\":null"), std::string::npos);
}

TEST(EvalReport, EmptyOrMislabelledInputIsAUsageError) {
  MultilabelData empty;
  empty.classes = 2;
  EXPECT_THROW(evaluate(empty, {"a", "b"}, {}), UsageError);
  EXPECT_THROW(evaluate(four_images(), {"a", "b"}, {}), UsageError);
  EvalOptions options;
  options.top_k = {4};
  EXPECT_THROW(evaluate(four_images(), {"a", "b", "c"}, options), UsageError);
}

}  // namespace
}  // namespace tagclip
