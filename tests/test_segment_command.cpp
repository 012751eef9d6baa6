// `tagclip segment` end to end with the committed demo model on the synthetic VOC images:
// the three sources of labels, the files it writes and how they agree with each other,
// failures that do not stop the run, --resume after a kill, and usage errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/dense_crf.h"
#include "tagclip/segment/label_mask.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;
using testing::read_all;

class SegmentCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("segment-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    model_args_ = " --model " + testing::committed_file("models/demo-clip.pt") + " --bpe " +
                  testing::bpe_vocabulary_path() + " --classes " +
                  testing::committed_file("models/demo_classes.txt") + " --threads 2 --cache-dir " +
                  dir_ + "/cache ";
    images_ = testing::data_path("synthetic_voc/JPEGImages");
  }

  testing::CommandResult segment(const std::string& args) {
    return testing::run_command(testing::tagclip_binary() + " segment" + model_args_ + args);
  }

  std::string labels_file(const std::string& text) {
    const std::string path = dir_ + "/labels.txt";
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_, model_args_, images_;
};

TEST_F(SegmentCommand, LabelsFileGivesMapsMasksAndRecordsThatAgree) {
  // 000002 holds square, star, flower, seven (1 3 13 14); the repeat keeps its key twice.
  const std::string labels = labels_file("000001 3\n000002 1 3 13 14 3\n");
  const auto result =
      segment("--labels " + labels + " --image-root " + images_ + " --cams-out " + dir_ +
              "/cams --masks-out " + dir_ + "/masks -o " + dir_ + "/out.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto records = testing::parse_json_lines(read_all(dir_ + "/out.jsonl"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["image"], images_ + "/000002.jpg");
  EXPECT_EQ(records[1]["width"], 224);
  EXPECT_EQ(records[1]["keys"], nlohmann::json::parse("[1, 3, 13, 14, 3]"));
  EXPECT_EQ(records[1]["labels"],
            nlohmann::json::parse(R"(["square", "star", "flower", "seven", "star"])"));
  EXPECT_EQ(records[1]["cams"], dir_ + "/cams/000002.npz");
  EXPECT_EQ(records[1]["mask"], dir_ + "/masks/000002.png");

  const ClassCams cams = read_cam_file(dir_ + "/cams/000002.npz", /*need_highres=*/true);
  EXPECT_EQ(cams.keys, (std::vector<int64_t>{1, 3, 13, 14, 3}));
  ASSERT_EQ(cams.height, 224);
  ASSERT_EQ(cams.width, 224);
  ASSERT_EQ(cams.attn_highres.size(), 5u * 224 * 224);
  ASSERT_EQ(cams.highres.size(), 5u * 224 * 224);
  const size_t plane = 224 * 224;
  for (size_t k = 0; k < 5; ++k) {
    const auto first = cams.attn_highres.begin() + k * plane;
    const auto [low, high] = std::minmax_element(first, first + plane);
    EXPECT_GE(*low, 0.0f);
    EXPECT_LE(*high, 1.0f);
    EXPECT_GT(*high, 0.9f) << "a refined map is scaled to reach 1 at its peak";
  }
  // A repeated label repeats its map (its target is the first occurrence).
  EXPECT_TRUE(std::equal(cams.attn_highres.begin() + plane, cams.attn_highres.begin() + 2 * plane,
                         cams.attn_highres.begin() + 4 * plane));

  // The mask is eval_cam.py's prediction from the very maps in the CAM file.
  const LabelMask mask = read_label_mask_png(dir_ + "/masks/000002.png");
  EXPECT_EQ(mask.labels, mask_from_cams(cams, 1.0).labels);
  std::set<int> values(mask.labels.begin(), mask.labels.end());
  for (int value : values)
    EXPECT_TRUE(value == 0 || value == 2 || value == 4 || value == 14 || value == 15) << value;
  EXPECT_GT(values.size(), 1u);
}

TEST_F(SegmentCommand, CrfMasksAreTheCrfOfTheWrittenMaps) {
  const std::string labels = labels_file("000003 4 6\n");
  const auto result =
      segment("--labels " + labels + " --image-root " + images_ + " --cams-out " + dir_ +
              "/cams --masks-out " + dir_ + "/masks --crf -o " + dir_ + "/out.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const ClassCams cams = read_cam_file(dir_ + "/cams/000003.npz");
  const cv::Mat bgr = cv::imread(images_ + "/000003.jpg", cv::IMREAD_COLOR);
  const std::vector<uint8_t> channels =
      dense_crf_labels(bgr, crf_probabilities(cams, cams.attn_highres, true), 3);
  const LabelMask expected = mask_from_channels(cams, channels, true);
  EXPECT_EQ(read_label_mask_png(dir_ + "/masks/000003.png").labels, expected.labels);
  // And the CRF changed something: the plain argmax differs on some pixels.
  EXPECT_NE(mask_from_cams(cams, 1.0).labels, expected.labels);
}

TEST_F(SegmentCommand, ImagesWithoutUsableLabelsAreReportedAndTheRunGoesOn) {
  const std::string labels = labels_file("000001\n000404 3\n000002 99\n000003 4\n");
  const auto result = segment("--labels " + labels + " --image-root " + images_ + " --masks-out " +
                              dir_ + "/masks -o " + dir_ + "/out.jsonl");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const auto records = testing::parse_json_lines(read_all(dir_ + "/out.jsonl"));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_NE(records[0]["error"].get<std::string>().find("no labels"), std::string::npos);
  EXPECT_NE(records[1]["error"].get<std::string>().find("no such file"), std::string::npos);
  EXPECT_NE(records[2]["error"].get<std::string>().find("label 99 is outside"), std::string::npos);
  EXPECT_EQ(records[3]["keys"], nlohmann::json::parse("[4]"));
  EXPECT_FALSE(fs::exists(dir_ + "/masks/000001.png"));
  EXPECT_TRUE(fs::exists(dir_ + "/masks/000003.png"));
  EXPECT_NE(result.err.find("segmented 1, failed 3"), std::string::npos) << result.err;
}

// Tagging first in the same run, or tagging with `tag` and segmenting its records, gives the
// same labels and byte-identical maps.
TEST_F(SegmentCommand, TaggingFirstEqualsSegmentingTagRecords) {
  const std::string inputs = images_ + "/000002.jpg " + images_ + "/000005.jpg";
  const auto tagged = testing::run_command(testing::tagclip_binary() + " tag" + model_args_ +
                                           inputs + " -o " + dir_ + "/tags.jsonl");
  ASSERT_EQ(tagged.exit_code, 0) << tagged.err;
  const auto from_records = segment("--labels-from " + dir_ + "/tags.jsonl --cams-out " + dir_ +
                                    "/a -o " + dir_ + "/a.jsonl");
  ASSERT_EQ(from_records.exit_code, 0) << from_records.err;
  const auto in_one_run = segment(inputs + " --cams-out " + dir_ + "/b -o " + dir_ + "/b.jsonl");
  ASSERT_EQ(in_one_run.exit_code, 0) << in_one_run.err;

  const auto tags = testing::parse_json_lines(read_all(dir_ + "/tags.jsonl"));
  const auto a = testing::parse_json_lines(read_all(dir_ + "/a.jsonl"));
  const auto b = testing::parse_json_lines(read_all(dir_ + "/b.jsonl"));
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    // The labels --labels-out writes: the tags' indices ascending (the best class when none).
    std::vector<int64_t> tag_indices;
    for (const auto& tag : tags[i]["tags"]) tag_indices.push_back(tag["index"]);
    std::sort(tag_indices.begin(), tag_indices.end());
    if (!tag_indices.empty()) EXPECT_EQ(a[i]["keys"], nlohmann::json(tag_indices));
    EXPECT_EQ(b[i]["tags"], tags[i]["tags"]);
  }
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(a[i]["keys"], b[i]["keys"]);
  for (const char* id : {"000002", "000005"})
    EXPECT_EQ(read_all(dir_ + "/a/" + id + ".npz"), read_all(dir_ + "/b/" + id + ".npz")) << id;
}

TEST_F(SegmentCommand, ResumeWithAnotherSetupIsRefusedBeforeAnyRecord) {
  const std::string labels = labels_file("000001 3\n000002 1 3\n");
  const std::string common = "--labels " + labels + " --image-root " + images_ +
                             " --masks-out " + dir_ + "/masks -o " + dir_ + "/out.jsonl ";
  ASSERT_EQ(segment(common).exit_code, 0);
  const std::string before = read_all(dir_ + "/out.jsonl");
  ASSERT_TRUE(fs::exists(dir_ + "/out.jsonl.setup.json"));
  // The CRF changes every mask: its records must not be appended to a run without it.
  const auto crf = segment(common + "--resume --crf");
  EXPECT_EQ(crf.exit_code, 2) << crf.err;
  EXPECT_NE(crf.err.find("written with another setup (crf"), std::string::npos) << crf.err;
  EXPECT_EQ(read_all(dir_ + "/out.jsonl"), before);
  // The same setup resumes.
  EXPECT_EQ(segment(common + "--resume").exit_code, 0);
  EXPECT_EQ(read_all(dir_ + "/out.jsonl"), before);
}

TEST_F(SegmentCommand, ResumeAfterKillFinishesWithTheSameFiles) {
  const std::string labels = labels_file("000001 3\n000002 1 3\n000003 4 6\n000004 2\n");
  const std::string common = "--labels " + labels + " --image-root " + images_ + " --masks-out ";
  const auto full = segment(common + dir_ + "/full -o " + dir_ + "/full.jsonl");
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string killed_out = dir_ + "/killed.jsonl";
  const testing::KilledRun run =
      testing::kill_when_output_holds(testing::tagclip_binary() + " segment" + model_args_ +
                                          common + dir_ + "/killed -o " + killed_out,
                                      killed_out, 2);
  ASSERT_TRUE(run.killed) << "the run ended before the kill";
  const auto resumed = segment(common + dir_ + "/killed --resume -o " + killed_out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  // Same records in the same order, only the folder named in them differs.
  std::string expected = read_all(dir_ + "/full.jsonl");
  for (size_t at; (at = expected.find(dir_ + "/full/")) != std::string::npos;)
    expected.replace(at, dir_.size() + 6, dir_ + "/killed/");
  EXPECT_EQ(read_all(killed_out), expected);
  for (const char* id : {"000001", "000002", "000003", "000004"})
    EXPECT_EQ(read_all(dir_ + "/killed/" + id + ".png"), read_all(dir_ + "/full/" + id + ".png"))
        << id;
  EXPECT_NE(resumed.err.find("skipped " + std::to_string(run.lines_at_kill)), std::string::npos)
      << resumed.err;
  // No temporary file is left behind by the kill.
  for (const auto& entry : fs::directory_iterator(dir_ + "/killed"))
    EXPECT_EQ(entry.path().extension(), ".png") << entry.path();
}

TEST_F(SegmentCommand, VisualizeDrawsImageMaskAndOneMapPerLabel) {
  const std::string labels = labels_file("000003 4 6\n");
  const auto result = segment("--labels " + labels + " --image-root " + images_ + " --visualize " +
                              dir_ + "/vis -o " + dir_ + "/out.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const cv::Mat picture = cv::imread(dir_ + "/vis/000003.png");
  EXPECT_EQ(picture.rows, 256);
  EXPECT_EQ(picture.cols, 4 * 256);  // image, mask, cross, arrow
}

TEST_F(SegmentCommand, UsageErrorsNameWhatIsMissing) {
  const std::string labels = labels_file("000001 3\n");
  const std::string from_labels = "--labels " + labels + " --image-root " + images_;
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {from_labels, "nothing to write"},
           {from_labels + " --cams-out " + dir_ + "/c --crf", "--crf refines the masks"},
           {"--labels " + labels + " --masks-out " + dir_ + "/m", "--labels needs --image-root"},
           {from_labels + " " + images_ + "/000001.jpg --masks-out " + dir_ + "/m",
            "give one source of images"},
           {"--masks-out " + dir_ + "/m", "nothing to segment"},
           {from_labels + " --masks-out " + dir_ + "/m --bg-power 0", "--bg-power"},
       }) {
    const auto result = segment(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.args << "\n" << result.err;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << c.args << "\n" << result.err;
  }
}

}  // namespace
}  // namespace tagclip
