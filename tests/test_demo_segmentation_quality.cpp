// Quality floor of the segmentation half with the committed demo model: `tagclip segment`
// draws CLIP-ES maps for the true labels of the 48 regression images of the synthetic VOC
// benchmark (tests/data/synthetic_voc, ImageSets/Segmentation/regression.txt), and
// `tagclip eval-seg` scores them against SegmentationClass, plain and through the dense CRF.
// A change that breaks the maps (a wrong gradient, a swapped affinity, masks off by a class)
// or the CRF drops mIoU below the floors here, whatever the unit tests say.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace tagclip {
namespace {

// Measured with the committed model (README "Classify, then segment": 35.7 mIoU plain, 37.2
// with the CRF on these 48 images) and set a little under, so float drift across machines
// and thread counts passes and a real loss does not. Retrain the model or change the
// benchmark: measure again and move these.
constexpr double kMapsMiouFloor = 0.34;
constexpr double kCrfMiouFloor = 0.35;

TEST(DemoSegmentationQuality, MapsAndCrfKeepTheirMiouOnTheSyntheticSubset) {
  const std::string dir = testing::make_scratch_dir("demo-segmentation-quality");
  const std::string root = testing::data_path("synthetic_voc");
  // The authors' split format for the regression ids: the first 48 lines of test_cls.txt.
  std::ifstream all(root + "/test_cls.txt");
  std::ofstream labels(dir + "/labels.txt");
  std::string line;
  for (int i = 0; i < 48 && std::getline(all, line); ++i) labels << line << "\n";
  labels.close();

  const auto segmented = testing::run_command(
      testing::tagclip_binary() + " -q segment --labels " + dir + "/labels.txt --image-root " +
      root + "/JPEGImages --classes " + testing::committed_file("models/demo_classes.txt") +
      " --model " + testing::committed_file("models/demo-clip.pt") + " --bpe " +
      testing::bpe_vocabulary_path() + " --threads 2 --cams-out " + dir + "/cams -o " + dir +
      "/segment.jsonl");
  ASSERT_EQ(segmented.exit_code, 0) << segmented.err;

  auto score = [&](const std::string& name, const std::string& extra) {
    const auto result = testing::run_command(
        testing::tagclip_binary() + " -q eval-seg --predictions " + dir + "/cams --gt-root " +
        root + "/SegmentationClass --split-file " + root +
        "/ImageSets/Segmentation/regression.txt --num-classes 17 --threads 2 --report-json " + dir +
        "/" + name + ".json" + extra);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::ifstream in(dir + "/" + name + ".json");
    return in ? nlohmann::json::parse(in) : nlohmann::json::object();
  };
  const nlohmann::json plain = score("plain", "");
  const nlohmann::json crf = score("crf", " --with-crf --image-root " + root + "/JPEGImages");
  ASSERT_TRUE(plain.contains("mIoU") && crf.contains("mIoU"));
  const double plain_miou = plain["mIoU"], crf_miou = crf["mIoU"];
  RecordProperty("mIoU", std::to_string(plain_miou));
  RecordProperty("mIoU_crf", std::to_string(crf_miou));
  EXPECT_GE(plain_miou, kMapsMiouFloor) << "mIoU of the demo maps fell to " << plain_miou;
  EXPECT_GE(crf_miou, kCrfMiouFloor) << "mIoU after the CRF fell to " << crf_miou;
  // The CRF snaps masks to the drawn shapes' edges: on these images it is worth 1.5 points (the
  // committed model's maps already follow the shapes more closely than earlier models' did).
  EXPECT_GE(crf_miou, plain_miou + 0.01) << "CRF " << crf_miou << ", plain " << plain_miou;
}

}  // namespace
}  // namespace tagclip
