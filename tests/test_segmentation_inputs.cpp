// Where `tagclip segment` gets its images and labels: split files with labels and the
// records of an earlier `tagclip tag` run.
#include <gtest/gtest.h>

#include <fstream>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/io/segmentation_inputs.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(SegmentationInputsTest, SplitFileGivesLabelsInLineOrderWithRepeats) {
  const std::string dir = testing::make_scratch_dir("seg_inputs_split");
  write_file(dir, "a.jpg", "x");
  const std::string split = write_file(dir, "labels.txt", "a 14 0 14\n\nb\nc 3\n");
  const std::vector<LabelledImage> images = read_labelled_split_file(split, dir, ".jpg");
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(images[0].input.id, "a");
  EXPECT_EQ(images[0].input.path, dir + "/a.jpg");
  EXPECT_EQ(images[0].input.problem, "");
  EXPECT_EQ(*images[0].labels, (std::vector<int64_t>{14, 0, 14}));
  // A line without labels keeps an empty list: reported later, not dropped here.
  EXPECT_EQ(images[1].input.id, "b");
  ASSERT_TRUE(images[1].labels.has_value());
  EXPECT_TRUE(images[1].labels->empty());
  EXPECT_NE(images[1].input.problem.find("no such file"), std::string::npos);
  EXPECT_EQ(*images[2].labels, (std::vector<int64_t>{3}));
}

TEST(SegmentationInputsTest, SplitFileRefusesNonIndicesNamingTheLine) {
  const std::string dir = testing::make_scratch_dir("seg_inputs_bad");
  const std::string split = write_file(dir, "labels.txt", "a 1\nb 2 cat\n");
  testing::expect_throw_with<UsageError>([&] { read_labelled_split_file(split, dir); },
                                         "labels.txt:2: label 'cat' is not a class index");
  const std::string negative = write_file(dir, "negative.txt", "a -1\n");
  testing::expect_throw_with<UsageError>([&] { read_labelled_split_file(negative, dir); },
                                         "negative.txt:1: label '-1'");
  testing::expect_throw_with<UsageError>([&] { read_labelled_split_file(dir + "/none", dir); },
                                         "none: cannot read the labels file");
}

TEST(SegmentationInputsTest, TagRecordsGiveTagsOrTheBestClass) {
  const std::string dir = testing::make_scratch_dir("seg_inputs_jsonl");
  const std::string jsonl = write_file(
      dir, "tags.jsonl",
      R"({"image":"p/one.jpg","width":4,"height":3,"tags":[{"label":"dog","index":11,"score":0.9},{"label":"cat","index":7,"score":0.5}],"scores":{"cat":0.5,"dog":0.9}}
{"image":"p/two.png","width":4,"height":3,"tags":[],"scores":{"a":0.1,"b":0.7,"c":0.2}}
{"image":"p/three.jpg","error":"cannot decode"}
)");
  const std::vector<LabelledImage> images = read_labels_from_tag_records(jsonl);
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(images[0].input.path, "p/one.jpg");
  EXPECT_EQ(images[0].input.id, "one");
  EXPECT_EQ(*images[0].labels, (std::vector<int64_t>{7, 11}));  // ascending, as --labels-out
  EXPECT_EQ(*images[1].labels, (std::vector<int64_t>{1}));      // "b", the highest score
  EXPECT_EQ(images[2].input.problem, "not tagged in " + jsonl + ": cannot decode");
}

TEST(SegmentationInputsTest, TagRecordsRefuseOtherLinesNamingThem) {
  const std::string dir = testing::make_scratch_dir("seg_inputs_jsonl_bad");
  const std::string jsonl =
      write_file(dir, "tags.jsonl", "{\"image\":\"a.jpg\",\"error\":\"x\"}\nnot json\n");
  testing::expect_throw_with<UsageError>([&] { read_labels_from_tag_records(jsonl); },
                                         "tags.jsonl:2: not a tag record");
}

}  // namespace
}  // namespace tagclip
