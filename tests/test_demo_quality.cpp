// Quality floor of the committed demo model: `tagclip eval` with models/demo-clip.pt and
// models/demo_classes.txt on a fixed subset of the synthetic VOC benchmark
// (tests/data/synthetic_voc, ImageSets/Main/regression.txt: 48 images, 1-4 objects each).
// A change that breaks the pipeline's quality (a stage that stops finding the objects, a
// wrong mask, a swapped block, a ground-truth reader that shifts classes) drops the figures
// below the floors and fails here, although every shape-level test may still pass.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

// Measured with the committed model on the 48 images of regression.txt (mAP 51.2, F1 37.8
// with --method tagclip; README "Demo ablation") and set a little under, so float drift
// across machines and thread counts passes and a real loss of quality does not (without the
// self-only mask of the last block, for one, mAP falls to 46.2). Retrain the model or change
// the benchmark: measure again and move these.
constexpr double kTagclipMapFloor = 0.49;
constexpr double kTagclipF1Floor = 0.35;

class DemoQuality : public ::testing::Test {
 protected:
  void SetUp() override {
    bpe_ = testing::bpe_vocabulary_path();
    model_ = testing::committed_file("models/demo-clip.pt");
    classes_ = testing::committed_file("models/demo_classes.txt");
    root_ = testing::data_path("synthetic_voc");
  }

  // `tagclip eval` of `method` on the regression subset: its --report-json.
  nlohmann::json evaluate(const std::string& method) {
    const std::string dir = testing::make_scratch_dir("demo-quality-" + method);
    const auto result = testing::run_command(
        testing::tagclip_binary() + " -q eval --dataset voc2007 --root " + root_ +
        " --split regression --classes " + classes_ + " --model " + model_ + " --bpe " + bpe_ +
        " --method " + method + " --threads 2 --cache-dir " + dir + "/cache -o " + dir +
        "/predictions.jsonl --report-json " + dir + "/report.json");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::ifstream in(dir + "/report.json");
    if (!in) {
      ADD_FAILURE() << "no report from: " << result.err;
      return {};
    }
    return nlohmann::json::parse(in);
  }

  std::string bpe_, model_, classes_, root_;
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

// The paper's first observation, on the demo model: classifying patches finds objects the
// class token misses. On the subset coarse recalls 40.5% of the image-class pairs and global
// 30.6%. A patch path that stops telling objects apart closes the gap.
TEST_F(DemoQuality, PatchClassificationFindsMoreObjectsThanTheClassToken) {
  const nlohmann::json global = evaluate("global"), coarse = evaluate("coarse");
  ASSERT_TRUE(global.contains("recall") && coarse.contains("recall"));
  const double global_recall = global["recall"], coarse_recall = coarse["recall"];
  EXPECT_GE(coarse_recall, global_recall + 0.05)
      << "coarse recall " << coarse_recall << ", global " << global_recall;
}

}  // namespace
}  // namespace tagclip
