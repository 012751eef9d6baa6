// Quality floor of the committed demo model: `tagclip eval` with models/demo-clip.pt and
// models/demo_classes.txt on the synthetic VOC benchmark (tests/data/synthetic_voc,
// ImageSets/Main/regression.txt: 48 images, 1-4 objects each) and on its held-out split
// (tests/data/synthetic_voc_heldout: 400 images drawn with two other seeds, never seen in
// training). A change that breaks the pipeline's quality (a stage that stops finding the
// objects, a wrong mask, a swapped block, a ground-truth reader that shifts classes) drops
// the figures below the floors or breaks the stages' order and fails here, although every
// shape-level test may still pass.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace tagclip {
namespace {

// Measured with the committed model on the 48 images of regression.txt (mAP 74.1, F1 62.0
// with --method tagclip; README "The demo CLIP and the ablation") and set a little under, so
// float drift across machines and thread counts passes and a real loss of quality does not.
// Retrain the model or change the benchmark: measure again and move these.
constexpr double kTagclipMapFloor = 0.72;
constexpr double kTagclipF1Floor = 0.60;
// On the held-out split (400 images), measured: tagclip 14.5 mAP over global (95% bootstrap
// interval [+12.6, +16.4]); the coarse step's recall 24.9 points over the class token's.
constexpr double kTagclipGainOverGlobal = 0.12;
constexpr double kCoarseRecallGainOverGlobal = 0.20;

class DemoQuality : public ::testing::Test {
 protected:
  void SetUp() override {
    bpe_ = testing::bpe_vocabulary_path();
    model_ = testing::committed_file("models/demo-clip.pt");
    classes_ = testing::committed_file("models/demo_classes.txt");
  }

  // `tagclip eval` of `method` on `split` of the benchmark under `root`: its --report-json.
  nlohmann::json evaluate(const std::string& method, const std::string& root = "synthetic_voc",
                          const std::string& split = "regression") {
    const std::string dir = testing::make_scratch_dir("demo-quality-" + root + "-" + method);
    const auto result = testing::run_command(
        testing::tagclip_binary() + " -q eval --dataset voc2007 --root " +
        testing::data_path(root) + " --split " + split + " --classes " + classes_ + " --model " +
        model_ + " --bpe " + bpe_ + " --method " + method + " --threads 2 --cache-dir " + dir +
        "/cache -o " + dir + "/predictions.jsonl --report-json " + dir + "/report.json");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::ifstream in(dir + "/report.json");
    if (!in) {
      ADD_FAILURE() << "no report from: " << result.err;
      return {};
    }
    return nlohmann::json::parse(in);
  }

  std::string bpe_, model_, classes_;
};

TEST_F(DemoQuality, TagclipKeepsItsMapAndF1OnTheSyntheticSubset) {
  const nlohmann::json report = evaluate("tagclip");
  ASSERT_TRUE(report.contains("mAP"));
  EXPECT_EQ(report["images"], 48);
  EXPECT_EQ(report["classes"], 16);
  EXPECT_EQ(report["missing_predictions"], 0);
  const double map = report["mAP"], f1 = report["F1"];
  RecordProperty("mAP", std::to_string(map));
  RecordProperty("F1", std::to_string(f1));
  EXPECT_GE(map, kTagclipMapFloor) << "TagCLIP mAP on the demo subset fell to " << map;
  EXPECT_GE(f1, kTagclipF1Floor) << "TagCLIP F1 on the demo subset fell to " << f1 << " (P "
                                 << report["precision"] << ", R " << report["recall"] << ")";
}

// The paper's ablation on the held-out split (README: global 58.0, coarse 70.0, dmar 71.2,
// tagclip 72.5 mAP): each stage ranks the classes at least as well as the one before it
// (DMAR +1.1 over the coarse step, 95% bootstrap interval [+0.1, +2.3]; CWR +1.3 over DMAR,
// [+0.4, +2.2]), and the whole method beats plain CLIP by 12 mAP or more. Its first
// observation too: classifying patches finds objects the class token misses (recall 61.9%
// against 37.0%). A patch path that stops telling objects apart, a refinement that spreads a
// class's evidence onto other objects, or a reidentification that stops working breaks the
// order.
TEST_F(DemoQuality, EachStageRanksAtLeastAsWellAsTheOneBeforeOnTheHeldOutSplit) {
  const std::vector<std::string> stages = {"global", "coarse", "dmar", "tagclip"};
  std::vector<nlohmann::json> reports;
  for (const std::string& stage : stages) {
    reports.push_back(evaluate(stage, "synthetic_voc_heldout", "test"));
    ASSERT_TRUE(reports.back().contains("mAP") && reports.back().contains("recall")) << stage;
    EXPECT_EQ(reports.back()["images"], 400) << stage;
    RecordProperty(stage + "_mAP", std::to_string(double(reports.back()["mAP"])));
  }
  for (size_t i = 1; i < stages.size(); ++i) {
    const double before = reports[i - 1]["mAP"], now = reports[i]["mAP"];
    EXPECT_GE(now, before) << stages[i] << " mAP " << now << " under " << stages[i - 1] << "'s "
                           << before;
  }
  const double global_map = reports[0]["mAP"], tagclip_map = reports[3]["mAP"];
  EXPECT_GE(tagclip_map, global_map + kTagclipGainOverGlobal)
      << "tagclip " << tagclip_map << ", global " << global_map;
  const double global_recall = reports[0]["recall"], coarse_recall = reports[1]["recall"];
  EXPECT_GE(coarse_recall, global_recall + kCoarseRecallGainOverGlobal)
      << "coarse recall " << coarse_recall << ", global " << global_recall;
}

}  // namespace
}  // namespace tagclip
