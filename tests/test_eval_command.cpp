// End-to-end runs of `tagclip eval`: predictions files scored against split, VOC and COCO
// ground truth (numbers checked against the reference's golden metrics), missing images,
// vocabulary mismatches, and the tag-and-score mode with the fidelity checkpoint.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>

#include "golden_arrays.h"
#include "tagclip/core/vocabularies.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class EvalCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("eval-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  testing::CommandResult eval(const std::string& args) {
    return testing::run_command(testing::tagclip_binary() + " eval " + args);
  }

  // The golden "random" case (300 images x 20 VOC classes, class 7 without positives) as a
  // split file and a `tagclip tag`-style predictions file, records and classes shuffled.
  void write_golden_random_case() {
    const testing::GoldenArrays golden(testing::data_path("golden/metrics_reference"));
    const at::Tensor scores = golden.array("random/scores").contiguous();
    const at::Tensor labels = golden.array("random/labels").contiguous();
    expected_map_ = golden.array("random/map")[0].item<float>();
    const at::Tensor overall = golden.array("random/overall_rel0.5");
    expected_f1_ = overall[0].item<float>();
    expected_precision_ = overall[1].item<float>();
    expected_recall_ = overall[2].item<float>();
    expected_ap0_ = golden.array("random/ap")[0].item<float>();
    const std::vector<std::string>& classes = builtin_vocabulary("voc").classes;

    std::ofstream split(dir_ + "/split.txt");
    std::vector<nlohmann::ordered_json> records;
    std::mt19937 shuffle(7);
    for (int64_t i = 0; i < scores.size(0); ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "%06d", static_cast<int>(i + 1));
      ids_.push_back(id);
      split << id;
      for (int64_t c = 0; c < scores.size(1); ++c)
        if (labels[i][c].item<float>() > 0.5f) split << " " << c;
      split << "\n";
      std::vector<size_t> order(classes.size());
      for (size_t c = 0; c < order.size(); ++c) order[c] = c;
      std::shuffle(order.begin(), order.end(), shuffle);
      nlohmann::ordered_json record_scores = nlohmann::ordered_json::object();
      for (size_t c : order)
        record_scores[classes[c]] = static_cast<double>(scores[i][c].item<float>());
      records.push_back({{"image", "/photos/" + std::string(id) + ".jpg"},
                         {"width", 10},
                         {"height", 10},
                         {"tags", nlohmann::ordered_json::array()},
                         {"scores", record_scores}});
    }
    std::shuffle(records.begin(), records.end(), shuffle);
    std::ofstream predictions(dir_ + "/tags.jsonl");
    for (const auto& record : records) predictions << record.dump() << "\n";
  }

  std::string dir_;
  std::vector<std::string> ids_;
  double expected_map_ = 0, expected_f1_ = 0, expected_precision_ = 0, expected_recall_ = 0;
  double expected_ap0_ = 0;
};

TEST_F(EvalCommand, ScoresPredictionsAsTheReferenceDoes) {
  write_golden_random_case();
  const auto result = eval("--dataset voc2007 --split-file " + dir_ + "/split.txt --predictions " +
                           dir_ + "/tags.jsonl --report-json " + dir_ + "/report.json --top-k 1 3");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json report = read_json(dir_ + "/report.json");
  EXPECT_NEAR(report["mAP"].get<double>(), expected_map_, 2e-6);
  EXPECT_NEAR(report["F1"].get<double>(), expected_f1_, 2e-6);
  EXPECT_NEAR(report["precision"].get<double>(), expected_precision_, 2e-6);
  EXPECT_NEAR(report["recall"].get<double>(), expected_recall_, 2e-6);
  EXPECT_EQ(report["images"], 300);
  EXPECT_EQ(report["classes_without_positives"], 1);
  EXPECT_NEAR(report["per_class"]["aeroplane"]["AP"].get<double>(), expected_ap0_, 2e-6);
  EXPECT_EQ(report["per_class"]["cat"]["AP"], 0.0);  // class 7: no positives
  EXPECT_EQ(report["per_class"].size(), 20u);
  EXPECT_TRUE(report["top_k"].contains("3"));
  EXPECT_EQ(report["dataset"], "voc2007");

  // The table: one row per class, then mAP in percent.
  std::ostringstream map_text;
  map_text << "mAP " << std::fixed << std::setprecision(2) << 100 * expected_map_;
  EXPECT_NE(result.out.find(map_text.str()), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\ntvmonitor "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("top-3 per image"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("images 300"), std::string::npos) << result.out;
}

TEST_F(EvalCommand, MissingAndUnexpectedImagesFailUnlessAllowed) {
  write_golden_random_case();
  // Drop three records, turn one into an error record, add one the split does not list.
  std::ifstream in(dir_ + "/tags.jsonl");
  std::ofstream out(dir_ + "/partial.jsonl");
  std::string line, scored_line;
  while (std::getline(in, line)) {
    scored_line = line;
    const std::string id = nlohmann::json::parse(line)["image"].get<std::string>().substr(8, 6);
    if (id == ids_[0] || id == ids_[1] || id == ids_[2]) continue;
    if (id == ids_[3]) line = R"({"image": "/photos/)" + id + R"(.jpg", "error": "truncated"})";
    out << line << "\n";
  }
  out << R"({"image": "/photos/extra.jpg", "error": "x"})"
      << "\n";
  out << R"({"image": "/photos/999999.jpg", "scores": )"
      << nlohmann::json::parse(scored_line)["scores"].dump() << "}\n";
  out.close();
  const std::string common = "--dataset voc2007 --split-file " + dir_ +
                             "/split.txt --predictions " + dir_ + "/partial.jsonl";
  const auto strict = eval(common);
  EXPECT_EQ(strict.exit_code, 1) << strict.err;
  EXPECT_TRUE(strict.out.empty()) << strict.out;
  EXPECT_NE(strict.err.find("4 of 300 ground-truth images have no prediction (1 failed to tag): " +
                            ids_[0]),
            std::string::npos)
      << strict.err;
  EXPECT_NE(strict.err.find("1 predicted images are not in the ground truth: 999999"),
            std::string::npos)
      << strict.err;

  const auto allowed = eval(common + " --allow-missing --report-json " + dir_ + "/r.json");
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  const nlohmann::json report = read_json(dir_ + "/r.json");
  EXPECT_EQ(report["images"], 296);
  EXPECT_EQ(report["missing_predictions"], 4);
  EXPECT_EQ(report["failed_predictions"], 1);
  EXPECT_EQ(report["unexpected_predictions"], 1);
}

TEST_F(EvalCommand, AVocabularyMismatchIsAClearError) {
  write_golden_random_case();
  const auto result = eval("--dataset coco2014 --split-file " + dir_ + "/split.txt --predictions " +
                           dir_ + "/tags.jsonl");
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.err.find("the predictions score 20 classes, not the 80 coco classes of the "
                            "ground truth; missing 'truck'"),  // VOC's 20 are all COCO classes
            std::string::npos)
      << result.err;
  std::ofstream(dir_ + "/broken.jsonl") << R"({"image": "a.jpg", "scores": {"dog": 0.5}})"
                                        << "\n{\"image\": \"b.jpg\", \"sco";
  const auto broken = eval("--dataset voc2007 --split-file " + dir_ + "/split.txt --predictions " +
                           dir_ + "/broken.jsonl");
  EXPECT_EQ(broken.exit_code, 3);
  EXPECT_NE(broken.err.find("broken.jsonl: line 2: not valid JSON"), std::string::npos)
      << broken.err;
}

TEST_F(EvalCommand, ScoresCocoInstancesAndDrawsThePlot) {
  const std::vector<std::string>& classes = builtin_vocabulary("coco").classes;
  nlohmann::json categories = nlohmann::json::array();
  for (size_t k = 0; k < classes.size(); ++k)
    categories.push_back({{"id", 100 + k}, {"name", classes[k]}});  // reference names work too
  nlohmann::json file = {{"images", nlohmann::json::array()},
                         {"annotations", nlohmann::json::array()},
                         {"categories", categories}};
  std::ofstream predictions(dir_ + "/tags.jsonl");
  for (int i = 0; i < 12; ++i) {
    const std::string name = "COCO_val2014_" + std::to_string(1000 + i);
    file["images"].push_back({{"id", i}, {"file_name", name + ".jpg"}});
    if (i < 10) file["annotations"].push_back({{"image_id", i}, {"category_id", 100 + i % 7}});
    nlohmann::ordered_json scores;
    for (size_t k = 0; k < classes.size(); ++k)
      scores[classes[k]] = (k == static_cast<size_t>(i % 7)) ? 0.9 : 0.01 * ((k * 7 + i) % 13);
    predictions << nlohmann::ordered_json{{"image", name + ".jpg"}, {"scores", scores}}.dump()
                << "\n";
  }
  predictions.close();
  std::ofstream(dir_ + "/instances.json") << file.dump();
  const auto result = eval("--dataset coco2014 --annotations " + dir_ +
                           "/instances.json --predictions " + dir_ + "/tags.jsonl --plot " + dir_ +
                           "/plot.png --report-json " + dir_ + "/r.json --allow-missing");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("2 images have no annotations (left out"), std::string::npos);
  EXPECT_NE(result.err.find("2 predicted images are not in the ground truth"), std::string::npos);
  const nlohmann::json report = read_json(dir_ + "/r.json");
  EXPECT_EQ(report["images"], 10);
  EXPECT_NEAR(report["mAP"].get<double>(), 7.0 / 80, 1e-12);  // 7 perfect classes of 80
  EXPECT_EQ(report["classes_without_positives"], 73);
  const cv::Mat plot = cv::imread(dir_ + "/plot.png");
  ASSERT_FALSE(plot.empty());
  EXPECT_GT(plot.rows, 16 * 80);
  // Only the bars and curves are in colour (text is dark grey, the grid light grey). Left
  // panel: 7 classes at AP 1 draw full 300 x 12 px bars, the 73 without positives a 1 px
  // stub each. Right panel: the 7 perfect classes' precision-recall curves.
  cv::Mat hsv;
  cv::cvtColor(plot, hsv, cv::COLOR_BGR2HSV);
  cv::Mat saturation;
  cv::extractChannel(hsv, saturation, 1);
  const int panel_split = 570;  // the AP bars end at x = 40 + 170 + 300 + a label
  const int bar_pixels = cv::countNonZero(saturation.colRange(0, panel_split) > 100);
  EXPECT_EQ(bar_pixels, 7 * 300 * 12 + 73 * 1 * 12);
  EXPECT_GT(cv::countNonZero(saturation.colRange(panel_split, plot.cols) > 100), 560);
}

TEST_F(EvalCommand, AClassFileScoresAVocLayoutBenchmarkOfItsOwn) {
  const std::string root = dir_ + "/shapes";
  fs::create_directories(root + "/Annotations");
  fs::create_directories(root + "/ImageSets/Main");
  std::ofstream(dir_ + "/classes.txt") << "# shapes\nring\nstar\nmoon\n";
  // a: star and moon; b: ring. Perfect scores for star and ring, moon ranked below b.
  const std::vector<std::pair<std::string, std::vector<std::string>>> images = {
      {"a", {"star", "moon"}}, {"b", {"ring"}}};
  std::ofstream(root + "/ImageSets/Main/test.txt") << "a\nb\n";
  for (const auto& [id, names] : images) {
    std::ofstream xml(root + "/Annotations/" + id + ".xml");
    xml << "<annotation>";
    for (const std::string& name : names) xml << "<object><name>" << name << "</name></object>";
    xml << "</annotation>";
  }
  std::ofstream(dir_ + "/tags.jsonl")
      << R"({"image": "x/a.jpg", "scores": {"ring": 0.1, "star": 0.8, "moon": 0.1}})"
      << "\n"
      << R"({"image": "x/b.jpg", "scores": {"ring": 0.7, "star": 0.1, "moon": 0.2}})"
      << "\n";
  const std::string args = "--dataset voc2007 --root " + root + " --predictions " + dir_ +
                           "/tags.jsonl --report-json " + dir_ + "/r.json";
  const auto result = eval(args + " --classes " + dir_ + "/classes.txt");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json report = read_json(dir_ + "/r.json");
  EXPECT_EQ(report["classes"], 3);
  EXPECT_NEAR(report["mAP"].get<double>(), (1.0 + 1.0 + 0.5) / 3, 1e-12);

  // Without the class file the names are checked against VOC's 20 classes.
  const auto voc = eval(args);
  EXPECT_EQ(voc.exit_code, 3);
  EXPECT_NE(voc.err.find("object class 'star' is not one of the 20 VOC classes"), std::string::npos)
      << voc.err;
}

TEST_F(EvalCommand, UsageErrorsExitTwo) {
  EXPECT_EQ(eval("--dataset voc2007 --predictions x.jsonl").exit_code, 2);
  EXPECT_EQ(eval("--dataset cocostuff --predictions x.jsonl").exit_code, 2);
  EXPECT_EQ(eval("--dataset mnist --split-file x --predictions x.jsonl").exit_code, 2);
  std::ofstream(dir_ + "/s.txt") << "a 1\n";
  const auto both = eval("--dataset voc2007 --split-file " + dir_ + "/s.txt --predictions x -o y");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("give one or the other"), std::string::npos) << both.err;
  const auto no_output = eval("--dataset voc2007 --split-file " + dir_ + "/s.txt");
  EXPECT_EQ(no_output.exit_code, 2);
  EXPECT_NE(no_output.err.find("-o/--output"), std::string::npos) << no_output.err;
}

TEST_F(EvalCommand, TagsAVocDevkitAndScoresItResumably) {
  const std::string bpe = testing::bpe_vocabulary_path();
  const std::string root = dir_ + "/VOC2007";
  fs::create_directories(root + "/JPEGImages");
  fs::create_directories(root + "/Annotations");
  fs::create_directories(root + "/ImageSets/Main");
  const std::vector<std::pair<std::string, std::string>> images = {
      {"squirrel_small", "cat"}, {"messi", "person"}, {"basketball_gray", "person"}};
  std::ofstream list(root + "/ImageSets/Main/test.txt");
  for (const auto& [id, name] : images) {
    fs::copy_file(testing::data_path("images/" + id + ".jpg"), root + "/JPEGImages/" + id + ".jpg");
    std::ofstream(root + "/Annotations/" + id + ".xml")
        << "<annotation><object><name>" << name
        << "</name><difficult>0</difficult></object></annotation>";
    list << id << "\n";
  }
  list.close();
  static const std::string cache = testing::make_scratch_dir("eval-command-cache");
  const std::string command = "--dataset voc2007 --root " + root + " --model " +
                              testing::fidelity_checkpoint_path() + " --bpe " + bpe +
                              " --cache-dir " + cache + " --threads 2 -o " + dir_ +
                              "/tags.jsonl --report-json " + dir_ + "/r.json";
  const auto first = eval(command);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const nlohmann::json report = read_json(dir_ + "/r.json");
  EXPECT_EQ(report["images"], 3);
  EXPECT_EQ(report["classes_without_positives"], 18);
  std::ifstream written(dir_ + "/tags.jsonl");
  std::string line;
  int records = 0;
  while (std::getline(written, line)) {
    EXPECT_EQ(nlohmann::json::parse(line)["scores"].size(), 20u);
    ++records;
  }
  EXPECT_EQ(records, 3);

  const auto wrong_classes = eval(command + " --classes coco");
  EXPECT_EQ(wrong_classes.exit_code, 2) << wrong_classes.err;
  EXPECT_NE(wrong_classes.err.find("--classes coco is not the 20 voc classes"), std::string::npos)
      << wrong_classes.err;

  const auto resumed = eval(command + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("skipped 3"), std::string::npos) << resumed.err;
  EXPECT_EQ(read_json(dir_ + "/r.json")["mAP"], report["mAP"]);
}

// CLI11's PositiveNumber answered "-1 not in range 0.000000 to 1797693134862315708...": a
// range check names the flag and the real bounds in one short line.
TEST_F(EvalCommand, OutOfRangeCountsNameTheFlagAndTheirBounds) {
  const auto top_k = eval("--dataset voc2007 --top-k -1");
  EXPECT_EQ(top_k.exit_code, 2);
  EXPECT_NE(top_k.err.find("--top-k: Value -1 not in range 1 to 1000000"), std::string::npos)
      << top_k.err;
  EXPECT_LT(top_k.err.size(), 200u) << top_k.err;
  const auto threads = testing::run_command(testing::tagclip_binary() + " eval-seg --threads -1");
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_NE(threads.err.find("--threads: Value -1 not in range 1 to 1024"), std::string::npos)
      << threads.err;
  EXPECT_LT(threads.err.size(), 200u) << threads.err;
}

}  // namespace
}  // namespace tagclip
