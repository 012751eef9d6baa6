// The authors' split-file ground truth and the COCO-Stuff 182 -> 171 mapping.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "expect_throw.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/eval/ground_truth.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::string write_split(const std::string& name, const std::string& text) {
  const std::string path = testing::make_scratch_dir("split-" + name) + "/split.txt";
  std::ofstream(path) << text;
  return path;
}

TEST(GroundTruth, DatasetsNameTheirVocabularyAndThreshold) {
  EXPECT_EQ(dataset_vocabulary(parse_dataset("voc2012")), "voc");
  EXPECT_EQ(dataset_vocabulary(parse_dataset("coco2014")), "coco");
  EXPECT_EQ(dataset_vocabulary(parse_dataset("cocostuff")), "cocostuff");
  EXPECT_EQ(dataset_name(Dataset::kCoco2017), "coco2017");
  EXPECT_EQ(dataset_threshold(Dataset::kVoc2007), 0.5);
  EXPECT_EQ(dataset_threshold(Dataset::kCocoStuff), 0.1);
  EXPECT_THROW(parse_dataset("imagenet"), UsageError);
}

TEST(GroundTruth, ReadsTheAuthorsSplitFormat) {
  const std::string path =
      write_split("voc", "000001 11 14\n000002 18\n\n000003 17 8 17\n000004\n");
  const GroundTruth truth = read_split_ground_truth(path, Dataset::kVoc2007, "/data/JPEGImages");
  ASSERT_EQ(truth.images.size(), 4u);
  EXPECT_EQ(truth.classes, builtin_vocabulary("voc").classes);
  EXPECT_EQ(truth.images[0].id, "000001");
  EXPECT_EQ(truth.images[0].image_path, "/data/JPEGImages/000001.jpg");
  EXPECT_EQ(truth.images[2].labels, (std::vector<int>{8, 17}));  // sorted, repeat removed
  EXPECT_TRUE(truth.images[3].labels.empty());
  ASSERT_EQ(truth.warnings.size(), 1u);
  EXPECT_EQ(truth.warnings[0], "1 images have no labels (kept as all-negative)");
}

TEST(GroundTruth, CocoStuffIdsMapAsClassifyPyMapsThem) {
  // 0-based ids: 0 person -> 0; 11 (1-based 12, street sign) is unused; 12 stop sign -> 11;
  // 181 wood -> 170.
  EXPECT_EQ(cocostuff_171_index(0), 0);
  EXPECT_EQ(cocostuff_171_index(11), -1);
  EXPECT_EQ(cocostuff_171_index(12), 11);
  EXPECT_EQ(cocostuff_171_index(181), 170);
  EXPECT_EQ(cocostuff_171_index(182), -1);
  EXPECT_EQ(cocostuff_171_index(-1), -1);
  const std::vector<std::string>& names = builtin_vocabulary("cocostuff").classes;
  ASSERT_EQ(names.size(), 171u);
  int used = 0;
  for (int id = 0; id < 182; ++id) used += cocostuff_171_index(id) >= 0;
  EXPECT_EQ(used, 171);
  EXPECT_EQ(names[cocostuff_171_index(12)], "stop sign");
  EXPECT_EQ(names[cocostuff_171_index(181)], "wood");
  EXPECT_EQ(names[cocostuff_171_index(62)], "couch");

  const std::string path = write_split("stuff", "000000000139 0 61 62 181\n");
  const GroundTruth truth = read_split_ground_truth(path, Dataset::kCocoStuff, "img", ".png");
  EXPECT_EQ(truth.images[0].image_path, "img/000000000139.png");
  std::vector<std::string> labelled;
  for (int label : truth.images[0].labels) labelled.push_back(names[label]);
  EXPECT_EQ(labelled, (std::vector<std::string>{"person", "chair", "couch", "wood"}));
}

TEST(GroundTruth, ACustomClassListIndexesTheSplitFileUnmapped) {
  const ClassList shapes{"shapes.txt", {"ring", "star", "moon"}};
  const std::string path = write_split("shapes", "a 2 0\nb 1\n");
  // COCO-Stuff's 182-id mapping is for its own vocabulary only.
  const GroundTruth truth = read_split_ground_truth(path, Dataset::kCocoStuff, "", ".jpg", shapes);
  EXPECT_EQ(truth.classes, shapes.names);
  EXPECT_EQ(truth.images[0].labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(truth.images[1].labels, (std::vector<int>{1}));
  const std::string bad = write_split("shapes-bad", "a 3\n");
  testing::expect_throw_with<GroundTruthError>(
      [&] { read_split_ground_truth(bad, Dataset::kVoc2007, "", ".jpg", shapes); },
      "label 3 is outside 0..2 (the 3 classes of shapes.txt)");
}

void expect_error(const std::string& text, Dataset dataset, const std::string& fragment) {
  const std::string path = write_split("bad", text);
  try {
    read_split_ground_truth(path, dataset, "");
    ADD_FAILURE() << "no error for '" << text << "'";
  } catch (const GroundTruthError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_EQ(e.path(), path);
  }
}

TEST(GroundTruth, BadSplitFilesNameTheLine) {
  expect_error("a 1\nb 20\n", Dataset::kVoc2007, "line 2 ('b'): label 20 is outside 0..19");
  expect_error("a 1x\n", Dataset::kCoco2014, "line 1 ('a'): label '1x' is not an integer");
  expect_error("a -1\n", Dataset::kCoco2014, "label -1 is outside 0..79");
  expect_error("a 11\n", Dataset::kCocoStuff, "11 is not one of the 171 COCO-Stuff class ids");
  expect_error("a 1\nb 2\na 3\n", Dataset::kVoc2012, "image 'a' is listed twice");
  expect_error("\n\n", Dataset::kVoc2007, "lists no images");
  EXPECT_THROW(read_split_ground_truth("/no/such/split.txt", Dataset::kVoc2007, ""),
               GroundTruthError);
}

}  // namespace
}  // namespace tagclip
