// End-to-end runs of `tagclip eval-seg` on tests/data/seg_eval_golden: the report's numbers
// equal the authors' eval_cam.py / eval_cam_cocostuff.py scores() within 1e-6 for CAM files
// (power, constant and sweep backgrounds) and PNG masks; --with-crf equals the library's CRF
// path; missing files, size mismatches and bad options fail with the file named.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tagclip/eval/segmentation_metrics.h"
#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/dense_crf.h"
#include "tagclip/segment/label_mask.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

std::string golden(const std::string& relative) {
  return testing::data_path("seg_eval_golden/" + relative);
}

const nlohmann::json& expected() {
  static const nlohmann::json json = [] {
    std::ifstream in(golden("expected.json"));
    return nlohmann::json::parse(in);
  }();
  return json;
}

class EvalSegCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("eval-seg-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    report_ = dir_ + "/report.json";
  }

  // Runs eval-seg on a golden dataset's folder; `predictions` relative to the dataset.
  testing::CommandResult eval_seg(const std::string& dataset, const std::string& predictions,
                                  const std::string& extra = "") {
    return invoke(testing::tagclip_binary() + " eval-seg --threads 2 --predictions " +
                  golden(dataset + "/" + predictions) + " --gt-root " + golden(dataset + "/gt") +
                  " --split-file " + golden(dataset + "/split.txt") + " --report-json " + report_ +
                  " " + extra);
  }

  // Runs a command, keeping what it printed on stderr for stderr_text().
  testing::CommandResult invoke(const std::string& command) {
    testing::CommandResult result = testing::run_command(command);
    last_stderr_ = result.err;
    return result;
  }
  const std::string& stderr_text() const { return last_stderr_; }

  nlohmann::json report() const {
    std::ifstream in(report_);
    return nlohmann::json::parse(in);
  }

  // The report's numbers against one case of the reference's scores().
  void expect_reference_scores(const nlohmann::json& reference) {
    const nlohmann::json r = report();
    EXPECT_NEAR(r["mIoU"].get<double>(), reference["mIoU"].get<double>(), 1e-6);
    EXPECT_NEAR(r["pixel_accuracy"].get<double>(), reference["pixel_accuracy"].get<double>(), 1e-6);
    EXPECT_NEAR(r["mean_accuracy"].get<double>(), reference["mean_accuracy"].get<double>(), 1e-6);
    EXPECT_NEAR(r["fw_iou"].get<double>(), reference["fw_iou"].get<double>(), 1e-6);
    ASSERT_EQ(r["per_class"].size(), reference["class_iou"].size());
    for (size_t c = 0; c < r["per_class"].size(); ++c) {
      const nlohmann::json& ours = r["per_class"][c]["iou"];
      const nlohmann::json& theirs = reference["class_iou"][c];
      ASSERT_EQ(ours.is_null(), theirs.is_null()) << "class " << c;
      if (!ours.is_null()) EXPECT_NEAR(ours.get<double>(), theirs.get<double>(), 1e-6) << c;
    }
  }

  std::string dir_, report_, last_stderr_;
};

TEST_F(EvalSegCommand, CamFilesScoreAsTheReference) {
  for (const std::string dataset : {"voc", "coco", "cocostuff"}) {
    SCOPED_TRACE(dataset);
    const testing::CommandResult run = eval_seg(dataset, "cams", "--dataset " + dataset);
    ASSERT_EQ(run.exit_code, 0) << stderr_text();
    expect_reference_scores(expected()[dataset]["attn_highres"]);
    EXPECT_EQ(report()["images"], 4);
    EXPECT_EQ(report()["kind"], "cams");
    EXPECT_NE(run.out.find("mIoU"), std::string::npos) << run.out;
  }
  // The table names the classes.
  const testing::CommandResult run = eval_seg("voc", "cams", "--dataset voc");
  EXPECT_NE(run.out.find("background"), std::string::npos) << run.out;
  EXPECT_EQ(report()["per_class"][0]["name"], "background");
  EXPECT_EQ(report()["per_class"][15]["name"], "person");
  EXPECT_EQ(report()["per_class"][0]["gt_pixels"].get<int64_t>() > 0, true);
}

TEST_F(EvalSegCommand, PngMasksScoreAsTheReference) {
  for (const std::string dataset : {"voc", "coco", "cocostuff"}) {
    SCOPED_TRACE(dataset);
    ASSERT_EQ(eval_seg(dataset, "masks", "--dataset " + dataset).exit_code, 0) << stderr_text();
    expect_reference_scores(expected()[dataset]["png"]);
    EXPECT_EQ(report()["kind"], "masks");
  }
  ASSERT_EQ(eval_seg("voc", "masks", "--num-classes 21").exit_code, 0) << stderr_text();
  expect_reference_scores(expected()["voc"]["png"]);
  EXPECT_EQ(report()["per_class"][3]["name"], "class 3");
}

TEST_F(EvalSegCommand, BackgroundPowerConstantAndSweep) {
  for (const std::string dataset : {"voc", "coco"}) {
    SCOPED_TRACE(dataset);
    ASSERT_EQ(eval_seg(dataset, "cams", "--dataset " + dataset + " --cam-key highres --bg-power 3")
                  .exit_code,
              0)
        << stderr_text();
    expect_reference_scores(expected()[dataset]["highres_p3"]);
    EXPECT_EQ(report()["background"]["power"], 3.0);

    ASSERT_EQ(eval_seg(dataset, "cams", "--dataset " + dataset + " --bg-constant 0.3").exit_code, 0)
        << stderr_text();
    expect_reference_scores(expected()[dataset]["attn_highres_c0.3"]);

    // eval_cam.py's sweep: the first power with the best mIoU (2 on this data).
    const testing::CommandResult run =
        eval_seg(dataset, "cams", "--dataset " + dataset + " --cam-key highres --bg-sweep");
    ASSERT_EQ(run.exit_code, 0) << stderr_text();
    int best = 0;
    double best_miou = 0;
    for (int t = 1; t <= 10; ++t) {
      const double miou = expected()[dataset]["highres_p" + std::to_string(t)]["mIoU"];
      EXPECT_NEAR(report()["sweep"][t - 1]["mIoU"].get<double>(), miou, 1e-6) << t;
      if (miou > best_miou) best_miou = miou, best = t;
    }
    EXPECT_EQ(best, 2);
    EXPECT_EQ(report()["background"]["power"], best);
    expect_reference_scores(expected()[dataset]["highres_p" + std::to_string(best)]);
    EXPECT_NE(run.out.find("best bg power: 2"), std::string::npos) << run.out;
  }
}

// A folder holding copies of the VOC golden files, to break one of them.
std::string copy_of(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from))
    fs::copy_file(entry.path(), fs::path(to) / entry.path().filename());
  return to;
}

TEST_F(EvalSegCommand, MissingAndMismatchedFilesAreNamed) {
  const std::string cams = copy_of(golden("voc/cams"), dir_ + "/cams");
  fs::remove(cams + "/voc_0003.npz");
  const std::string base = testing::tagclip_binary() + " eval-seg --dataset voc --split-file " +
                           golden("voc/split.txt") + " --report-json " + report_ +
                           " --predictions ";
  testing::CommandResult run = invoke(base + cams + " --gt-root " + golden("voc/gt"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(stderr_text().find(cams + "/voc_0003.npz"), std::string::npos) << stderr_text();
  EXPECT_FALSE(fs::exists(report_));

  run = invoke(base + cams + " --gt-root " + golden("voc/gt") + " --allow-missing");
  ASSERT_EQ(run.exit_code, 0) << stderr_text();
  EXPECT_EQ(report()["images"], 3);
  EXPECT_EQ(report()["missing"], 1);

  const std::string gt = copy_of(golden("voc/gt"), dir_ + "/gt");
  fs::remove(gt + "/voc_0002.png");
  run = invoke(base + golden("voc/cams") + " --gt-root " + gt);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(stderr_text().find(gt + "/voc_0002.png"), std::string::npos) << stderr_text();

  // voc_0002's ground truth (31x48) in place of voc_0001's (53x37).
  fs::copy_file(golden("voc/gt/voc_0002.png"), gt + "/voc_0001.png",
                fs::copy_options::overwrite_existing);
  fs::copy_file(golden("voc/gt/voc_0002.png"), gt + "/voc_0002.png");
  run = invoke(base + golden("voc/cams") + " --gt-root " + gt);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(stderr_text().find(golden("voc/cams/voc_0001.npz") + " is 53x37, " + gt +
                               "/voc_0001.png 31x48"),
            std::string::npos)
      << stderr_text();
}

TEST_F(EvalSegCommand, UsageErrors) {
  EXPECT_EQ(eval_seg("voc", "cams", "").exit_code, 2);  // no --dataset, no --num-classes
  EXPECT_NE(stderr_text().find("--dataset"), std::string::npos) << stderr_text();
  EXPECT_EQ(eval_seg("voc", "cams", "--dataset voc --num-classes 21").exit_code, 2);
  EXPECT_EQ(eval_seg("voc", "cams", "--dataset voc --with-crf").exit_code, 2);
  EXPECT_NE(stderr_text().find("--image-root"), std::string::npos) << stderr_text();
  EXPECT_EQ(eval_seg("voc", "masks", "--dataset voc --bg-sweep").exit_code, 2);
  EXPECT_EQ(eval_seg("voc", "cams", "--dataset voc --bg-sweep --bg-power 2").exit_code, 2);
  EXPECT_EQ(eval_seg("cocostuff", "cams", "--dataset cocostuff --bg-power 2").exit_code, 2);
  EXPECT_EQ(eval_seg("voc", "cams", "--dataset pascal").exit_code, 2);
}

// Images for the CAM files' sizes: smooth colours with an edge, so the bilateral kernel
// has something to follow.
std::string write_images(const std::string& dir, const std::vector<std::string>& ids) {
  fs::create_directories(dir);
  for (const std::string& id : ids) {
    const ClassCams cams = read_cam_file(golden("voc/cams/" + id + ".npz"));
    cv::Mat image(cams.height, cams.width, CV_8UC3);
    for (int y = 0; y < cams.height; ++y)
      for (int x = 0; x < cams.width; ++x)
        image.at<cv::Vec3b>(y, x) =
            x < cams.width / 2 ? cv::Vec3b(20 + 3 * y, 90, 200) : cv::Vec3b(180, 40 + 2 * x, 30);
    cv::imwrite(dir + "/" + id + ".png", image);
  }
  return dir;
}

TEST_F(EvalSegCommand, WithCrfScoresTheLibrarysCrfMasks) {
  const std::vector<std::string> ids = {"voc_0001", "voc_0002", "voc_0003", "voc_0004"};
  const std::string images = write_images(dir_ + "/images", ids);
  for (const bool quirk : {true, false}) {
    SCOPED_TRACE(quirk ? "reference image quirk" : "plain image");
    ConfusionMatrix matrix(21);
    size_t changed = 0;
    for (const std::string& id : ids) {
      const ClassCams cams = read_cam_file(golden("voc/cams/" + id + ".npz"));
      const cv::Mat bgr = cv::imread(images + "/" + id + ".png", cv::IMREAD_COLOR);
      DenseCrfOptions options;
      options.reference_image_quirk = quirk;
      const std::vector<uint8_t> channels =
          dense_crf_labels(bgr, crf_probabilities(cams, cams.attn_highres, true),
                           static_cast<int>(cams.keys.size()) + 1, options);
      const LabelMask mask = mask_from_channels(cams, channels, true);
      const LabelMask plain = mask_from_cams(cams);
      for (size_t p = 0; p < mask.labels.size(); ++p) changed += mask.labels[p] != plain.labels[p];
      matrix.add(read_label_mask_png(golden("voc/gt/" + id + ".png")).labels, mask.labels);
    }
    EXPECT_GT(changed, 0u);  // the CRF did something, so the comparison below means something
    const SegmentationScores scores = segmentation_scores(matrix);
    const testing::CommandResult run =
        eval_seg("voc", "cams",
                 "--dataset voc --with-crf --ext .png --image-root " + images +
                     (quirk ? "" : " --crf-plain-image"));
    ASSERT_EQ(run.exit_code, 0) << stderr_text();
    EXPECT_DOUBLE_EQ(report()["mIoU"].get<double>(), scores.mean_iou);
    EXPECT_DOUBLE_EQ(report()["pixel_accuracy"].get<double>(), scores.pixel_accuracy);
    EXPECT_EQ(report()["crf"], true);
    EXPECT_EQ(report()["crf_reference_image_quirk"], quirk);
  }
  // An image that is not there is named.
  fs::remove(images + "/voc_0004.png");
  EXPECT_EQ(eval_seg("voc", "cams", "--dataset voc --with-crf --ext .png --image-root " + images)
                .exit_code,
            1);
  EXPECT_NE(stderr_text().find(images + "/voc_0004.png"), std::string::npos) << stderr_text();
}

}  // namespace
}  // namespace tagclip
