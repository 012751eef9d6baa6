// Reading `tagclip tag` output and matching it to a ground truth.
#include <gtest/gtest.h>

#include <fstream>

#include "tagclip/eval/eval_predictions.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = testing::make_scratch_dir("predictions-" + name) + "/tags.jsonl";
  std::ofstream(path) << text;
  return path;
}

GroundTruth three_class_truth() {
  GroundTruth truth;
  truth.classes = {"cat", "dog", "bird"};
  truth.images = {{"a", "", {0}}, {"b", "", {1, 2}}, {"c", "", {}}};
  return truth;
}

TEST(EvalPredictions, ReadsScoresByClassNameAndKeepsFailures) {
  const std::string path = write_file(
      "read",
      R"({"image": "x/a.jpg", "tags": [], "scores": {"dog": 0.25, "cat": 0.5, "bird": 0.125}})"
      "\n\n"
      R"({"image": "y/b.png", "error": "truncated"})"
      "\n"
      R"({"image": "c.jpg", "error": "no such file"})"
      "\n"
      R"({"image": "z/b.jpg", "scores": {"bird": 1, "cat": 0.1, "dog": 0.3}})"
      "\n"
      R"({"image": "a.jpg", "scores": {"bird": 9, "cat": 9, "dog": 9}})");
  const Predictions predictions = read_predictions(path);
  EXPECT_EQ(predictions.records, 5u);
  EXPECT_EQ(predictions.classes, (std::vector<std::string>{"dog", "cat", "bird"}));
  EXPECT_EQ(predictions.ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(predictions.failed_ids, (std::vector<std::string>{"c"}));  // b was scored later
  EXPECT_EQ(predictions.duplicates, 1u);
  // Columns follow the first record's key order.
  EXPECT_EQ(predictions.scores, (std::vector<float>{0.25f, 0.5f, 0.125f, 0.3f, 0.1f, 1.0f}));

  const MatchedPredictions matched = match_predictions(three_class_truth(), predictions);
  EXPECT_EQ(matched.image_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(matched.missing, (std::vector<std::string>{"c"}));
  EXPECT_EQ(matched.failed, (std::vector<std::string>{"c"}));
  EXPECT_TRUE(matched.unexpected.empty());
  // Reordered to the ground truth's classes: cat, dog, bird.
  EXPECT_EQ(matched.data.scores, (std::vector<float>{0.5f, 0.25f, 0.125f, 0.1f, 0.3f, 1.0f}));
  EXPECT_EQ(matched.data.labels, (std::vector<uint8_t>{1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(matched.data.images, 2u);
  EXPECT_EQ(matched.data.classes, 3u);
}

TEST(EvalPredictions, DifferentClassSetsAreRefused) {
  const std::string path =
      write_file("vocabulary", R"({"image": "a.jpg", "scores": {"cat": 0.5, "cow": 0.1}})");
  try {
    match_predictions(three_class_truth(), read_predictions(path));
    ADD_FAILURE() << "no error";
  } catch (const PredictionsError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("missing 'dog', 'bird'"), std::string::npos) << what;
    EXPECT_NE(what.find("not in the ground truth 'cow'"), std::string::npos) << what;
  }
}

void expect_error(const std::string& text, const std::string& fragment) {
  const std::string path = write_file("bad", text);
  try {
    read_predictions(path);
    ADD_FAILURE() << "no error for " << text;
  } catch (const PredictionsError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(EvalPredictions, MalformedRecordsNameTheLine) {
  const std::string good = R"({"image": "a.jpg", "scores": {"cat": 0.5, "dog": 0.1}})";
  expect_error(good + "\n{\"image\": \"b.jpg\", \"sc", "line 2: not valid JSON");
  expect_error(R"({"scores": {"cat": 1}})", "line 1: no \"image\" string");
  expect_error(R"({"image": "a.jpg", "tags": []})", "line 1: no \"scores\" object");
  expect_error(R"({"image": "a.jpg", "scores": {}})", "line 1: \"scores\" is empty");
  expect_error(good + "\n" + R"({"image": "b.jpg", "scores": {"cat": 0.5}})",
               "line 2: scores 1 classes, the first record 2");
  expect_error(good + "\n" + R"({"image": "b.jpg", "scores": {"cat": 0.5, "cow": 1}})",
               "line 2: class 'cow' is not among the first record's classes");
  expect_error(R"({"image": "a.jpg", "scores": {"cat": null}})",
               "the score of 'cat' is not a number");
  EXPECT_THROW(read_predictions("/no/such/tags.jsonl"), PredictionsError);
}

}  // namespace
}  // namespace tagclip
