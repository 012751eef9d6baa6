// Joining shard outputs: input order, byte-exact lines, and the missing, repeated and
// unexpected records a merge must report. Also the pattern expansion and the streaming
// atomic writer the merge relies on.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "expect_throw.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"
#include "tagclip/io/file_patterns.h"
#include "tagclip/io/shard_merge.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

// A tag record line: "c" scores highest; tags as given.
std::string tag_line(const std::string& image, const std::string& tags = "") {
  return R"({"image":")" + image + R"(","width":4,"height":3,"tags":[)" + tags +
         R"(],"scores":{"a":0.1,"b":0.2,"c":0.7}})" + "\n";
}

class ShardMerge : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        testing::make_scratch_dir(std::string("shard-merge-") +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static std::vector<ImageInput> inputs(const std::vector<std::string>& paths) {
    std::vector<ImageInput> images;
    for (const std::string& path : paths) images.push_back({path, image_id_of(path), ""});
    return images;
  }

  std::string dir_;
};

TEST_F(ShardMerge, WritesEveryRecordInInputOrderByteForByte) {
  // Shard 0 holds b and d, shard 1 holds a and c; one record keeps unusual spacing.
  const std::string d_line = R"({"image": "d.jpg",  "error": "cannot decode"})"
                             "\n";
  const std::string shard0 = write("s0.jsonl", tag_line("b.jpg") + d_line);
  const std::string shard1 = write("s1.jsonl", tag_line("a.jpg") + "\n" + tag_line("c.jpg"));
  const MergePlan plan =
      plan_shard_merge(inputs({"a.jpg", "b.jpg", "c.jpg", "d.jpg"}), {shard0, shard1});
  EXPECT_TRUE(plan.complete());
  EXPECT_EQ(plan.records_read, 4u);
  write_shard_merge(plan, dir_ + "/merged.jsonl");
  EXPECT_EQ(testing::read_all(dir_ + "/merged.jsonl"),
            tag_line("a.jpg") + tag_line("b.jpg") + tag_line("c.jpg") + d_line);
  EXPECT_EQ(plan.records[1].line_number, 1u);  // b: s0, line 1
  EXPECT_EQ(plan.records[2].line_number, 3u);  // c: s1, after the blank line
}

TEST_F(ShardMerge, KeepsEachTagRecordsSplitLabels) {
  const std::string tagged = tag_line("a.jpg", R"({"label":"b","index":1,"score":0.2})");
  const std::string untagged = tag_line("b.jpg");  // no tag passed: the arg max, "c"
  const std::string failed = R"({"image":"c.jpg","error":"no such file"})"
                             "\n";
  const std::string segmented = R"({"image":"d.jpg","keys":[0],"labels":["a"]})"
                                "\n";
  const MergePlan plan =
      plan_shard_merge(inputs({"a.jpg", "b.jpg", "c.jpg", "d.jpg"}),
                       {write("s.jsonl", tagged + untagged + failed + segmented)});
  EXPECT_EQ(plan.records[0].split_labels, (std::vector<int64_t>{1}));
  EXPECT_EQ(plan.records[1].split_labels, (std::vector<int64_t>{2}));
  EXPECT_TRUE(plan.records[2].tag_record);
  EXPECT_TRUE(plan.records[2].split_labels.empty());
  EXPECT_FALSE(plan.records[3].tag_record);
}

TEST_F(ShardMerge, ListsMissingDuplicatedAndUnexpectedRecords) {
  const std::string shard0 = write("s0.jsonl", tag_line("a.jpg") + tag_line("x.jpg"));
  const std::string shard1 = write("s1.jsonl", tag_line("a.jpg") + tag_line("b.jpg"));
  const MergePlan plan = plan_shard_merge(inputs({"a.jpg", "b.jpg", "c.jpg"}), {shard0, shard1});
  EXPECT_FALSE(plan.complete());
  EXPECT_EQ(plan.missing, (std::vector<std::string>{"c.jpg"}));
  ASSERT_EQ(plan.duplicated.size(), 1u);
  EXPECT_EQ(plan.duplicated[0], "a.jpg (" + shard0 + ":1, " + shard1 + ":1)");
  ASSERT_EQ(plan.unexpected.size(), 1u);
  EXPECT_EQ(plan.unexpected[0], "x.jpg (" + shard0 + ":2)");
  // Written anyway (--allow-incomplete): the first record of a, then b; c is left out.
  write_shard_merge(plan, dir_ + "/merged.jsonl");
  EXPECT_EQ(testing::read_all(dir_ + "/merged.jsonl"), tag_line("a.jpg") + tag_line("b.jpg"));
}

TEST_F(ShardMerge, AnInputListedTwiceTakesTwoRecords) {
  const MergePlan plan =
      plan_shard_merge(inputs({"a.jpg", "b.jpg", "a.jpg"}),
                       {write("s0.jsonl", tag_line("a.jpg")),
                        write("s1.jsonl", tag_line("b.jpg") + tag_line("a.jpg"))});
  EXPECT_TRUE(plan.complete());
  EXPECT_EQ(plan.records[0].file, 0u);
  EXPECT_EQ(plan.records[2].file, 1u);
}

TEST_F(ShardMerge, RefusesAnUnfinishedLastRecordNamingFileAndLine) {
  const std::string shard = write("s.jsonl", tag_line("a.jpg") + R"({"image":"b.jpg","wid)");
  testing::expect_throw_with<Error>(
      [&] {
        plan_shard_merge(inputs({"a.jpg", "b.jpg"}), {shard});
      },
      shard + ":2: unfinished last record");
}

TEST_F(ShardMerge, RefusesLinesThatAreNotRecordsAndUnreadableFiles) {
  const std::string shard = write("s.jsonl", tag_line("a.jpg") + "[1, 2]\n");
  testing::expect_throw_with<Error>([&] { plan_shard_merge(inputs({"a.jpg"}), {shard}); },
                                    shard + ":2: not a record");
  testing::expect_throw_with<Error>(
      [&] { plan_shard_merge(inputs({"a.jpg"}), {dir_ + "/absent.jsonl"}); },
      dir_ + "/absent.jsonl: cannot read");
}

TEST_F(ShardMerge, FilePatternsExpandSortedAndPlainNamesStay) {
  write("tags.00001-of-00002.jsonl", "");
  write("tags.00000-of-00002.jsonl", "");
  EXPECT_EQ(expand_file_patterns({dir_ + "/tags.*-of-00002.jsonl", "plain.jsonl"}),
            (std::vector<std::string>{dir_ + "/tags.00000-of-00002.jsonl",
                                      dir_ + "/tags.00001-of-00002.jsonl", "plain.jsonl"}));
  testing::expect_throw_with<UsageError>([&] { expand_file_patterns({dir_ + "/none.*.jsonl"}); },
                                         "no file matches");
}

TEST_F(ShardMerge, AtomicWriterLeavesNothingUntilCommitted) {
  const std::string path = dir_ + "/out.jsonl";
  write("out.jsonl", "old\n");
  {
    AtomicFileWriter writer(path);
    writer.write("new\n");
  }  // destroyed uncommitted, as when a merge throws half-way
  EXPECT_EQ(testing::read_all(path), "old\n");
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1u) << "the temporary file is removed";
  AtomicFileWriter writer(path);
  writer.write("new\n");
  writer.commit();
  EXPECT_EQ(testing::read_all(path), "new\n");
}

}  // namespace
}  // namespace tagclip
