#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tagclip/io/jsonl_output.h"
#include "test_support.h"

namespace tagclip {
namespace {

using testing::read_all;

TEST(JsonlOutput, WritesOneFlushedLinePerRecordAndAppends) {
  const std::string path = testing::make_scratch_dir("jsonl-write") + "/out.jsonl";
  {
    JsonlWriter writer(path, false);
    writer.write({{"image", "a.jpg"}, {"tags", nlohmann::json::array()}});
    EXPECT_EQ(read_all(path), "{\"image\":\"a.jpg\",\"tags\":[]}\n");  // flushed already
  }
  {
    JsonlWriter writer(path, true);
    writer.write({{"image", "b.jpg"}, {"error", "bad"}});
  }
  EXPECT_EQ(read_all(path),
            "{\"image\":\"a.jpg\",\"tags\":[]}\n{\"image\":\"b.jpg\",\"error\":\"bad\"}\n");
}

TEST(JsonlOutput, ResumeCutsAnUnfinishedLastLine) {
  const std::string path = testing::make_scratch_dir("jsonl-resume") + "/out.jsonl";
  const std::string a =
      "{\"image\":\"a.jpg\",\"tags\":[{\"label\":\"d\",\"index\":3,\"score\":0.5},{\"label\":"
      "\"b\",\"index\":1,\"score\":0.4}],\"scores\":{\"a\":0,\"b\":0.4,\"c\":0,\"d\":0.5}}\n";
  std::ofstream(path) << a << "{\"image\":\"b.jpg\",\"error\":\"x\"}\n{\"image\":\"c.j";
  const ResumeState state = prepare_resume(path);
  EXPECT_EQ(state.complete_records, 2u);
  EXPECT_EQ(state.recorded_images, (std::set<std::string>{"a.jpg", "b.jpg"}));
  EXPECT_TRUE(state.dropped_partial_line);
  EXPECT_EQ(state.recorded_labels.at("a.jpg"), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(state.recorded_labels.count("b.jpg"), 0u);
  EXPECT_EQ(read_all(path), a + "{\"image\":\"b.jpg\",\"error\":\"x\"}\n");
}

TEST(JsonlOutput, ResumeRemembersEachRecordsArgMaxInVocabularyOrder) {
  const std::string path = testing::make_scratch_dir("jsonl-argmax") + "/out.jsonl";
  std::ofstream(path) << "{\"image\":\"a.jpg\",\"tags\":[],\"scores\":{\"zebra\":0.1,"
                         "\"cat\":0.7,\"ant\":0.2}}\n";
  const ResumeState state = prepare_resume(path);
  EXPECT_EQ(state.recorded_arg_max.at("a.jpg"), 1);  // "cat", second in file order
  EXPECT_TRUE(state.recorded_labels.at("a.jpg").empty());
}

TEST(JsonlOutput, ResumeOfMissingFileIsEmpty) {
  const ResumeState state = prepare_resume("/tmp/tagclip-no-such-output.jsonl");
  EXPECT_EQ(state.complete_records, 0u);
  EXPECT_FALSE(state.dropped_partial_line);
}

TEST(JsonlOutput, FloatsKeepFullPrecision) {
  const std::string path = testing::make_scratch_dir("jsonl-float") + "/out.jsonl";
  const float score = 0.123456789f;
  {
    JsonlWriter writer(path, false);
    writer.write({{"score", static_cast<double>(score)}});
  }
  const nlohmann::json back = nlohmann::json::parse(read_all(path));
  EXPECT_EQ(static_cast<float>(back["score"].get<double>()), score);
}

}  // namespace
}  // namespace tagclip
