// Sharded runs end to end with the demo CLIP: tag, eval -o and segment split by --shard or
// by the scheduler's variables, `tagclip merge` joining them, and the result compared byte
// for byte with one process doing the whole list.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;
using testing::read_all;

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class ShardCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("shard-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    static const std::string cache = testing::make_scratch_dir("shard-command-cache");
    model_args_ = " --model " + testing::committed_file("models/demo-clip.pt") + " --bpe " +
                  testing::bpe_vocabulary_path() + " --classes " +
                  testing::committed_file("models/demo_classes.txt") + " --threads 2 --cache-dir " +
                  cache + " ";
    images_ = testing::data_path("synthetic_voc/JPEGImages");
    // 12 images, listed out of name order: the partition must not care.
    std::ofstream list(dir_ + "/images.txt");
    for (int id : {12, 3, 7, 1, 9, 11, 2, 5, 10, 4, 8, 6}) {
      char name[16];
      std::snprintf(name, sizeof name, "%06d.jpg", id);
      list << images_ << "/" << name << "\n";
    }
    inputs_ = " @" + dir_ + "/images.txt ";
  }

  testing::CommandResult tagclip(const std::string& command, const std::string& args,
                                 const std::string& environment = "") {
    const bool models = command != "merge";
    return testing::run_command(environment + " " + testing::tagclip_binary() + " " + command +
                                (models ? model_args_ : " ") + args);
  }

  // The whole list by one process: what every sharded run must reproduce.
  std::string whole_run(const std::string& extra = "") {
    const auto result = tagclip("tag", inputs_ + "-o " + dir_ + "/whole.jsonl" + extra);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return read_all(dir_ + "/whole.jsonl");
  }

  std::string dir_, model_args_, images_, inputs_;
};

TEST_F(ShardCommand, ThreeShardsMergeIntoTheSingleProcessOutputByteForByte) {
  const std::string whole = whole_run(" --labels-out " + dir_ + "/whole.txt");
  ASSERT_EQ(line_count(whole), 12u);
  for (int index = 0; index < 3; ++index) {
    const auto shard =
        tagclip("tag", inputs_ + "--shard " + std::to_string(index) + "/3 -o " + dir_ +
                           "/out/tags.jsonl --labels-out " + dir_ + "/out/labels.txt");
    ASSERT_EQ(shard.exit_code, 0) << shard.err;
    EXPECT_NE(shard.err.find("shard " + std::to_string(index) + "/3 (--shard): 4 of 12 images"),
              std::string::npos)
        << shard.err;
    EXPECT_EQ(
        line_count(read_all(dir_ + "/out/tags.0000" + std::to_string(index) + "-of-00003.jsonl")),
        4u);
  }
  const auto merged =
      tagclip("merge", inputs_ + "--shards 3 -o " + dir_ + "/out/tags.jsonl --labels-out " + dir_ +
                           "/out/labels.txt");
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(read_all(dir_ + "/out/tags.jsonl"), whole);
  EXPECT_EQ(read_all(dir_ + "/out/labels.txt"), read_all(dir_ + "/whole.txt"));
}

TEST_F(ShardCommand, SlurmAndKubernetesVariablesPickTheShard) {
  const auto slurm =
      tagclip("tag", inputs_ + "-o " + dir_ + "/tags.jsonl",
              "SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_COUNT=4");
  ASSERT_EQ(slurm.exit_code, 0) << slurm.err;
  EXPECT_NE(slurm.err.find("shard 1/4 (SLURM_ARRAY_TASK_ID): 3 of 12 images"), std::string::npos)
      << slurm.err;
  const auto explicit_shard = tagclip("tag", inputs_ + "--shard 1/4");
  EXPECT_EQ(read_all(dir_ + "/tags.00001-of-00004.jsonl"), explicit_shard.out);

  const auto kubernetes =
      tagclip("tag", inputs_ + "--shards 4 -o " + dir_ + "/k8s.jsonl", "JOB_COMPLETION_INDEX=1");
  ASSERT_EQ(kubernetes.exit_code, 0) << kubernetes.err;
  EXPECT_EQ(read_all(dir_ + "/k8s.00001-of-00004.jsonl"), explicit_shard.out);

  const auto off = tagclip("tag", inputs_ + "--shard off -o " + dir_ + "/off.jsonl",
                           "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4");
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(line_count(read_all(dir_ + "/off.jsonl")), 12u);
}

TEST_F(ShardCommand, AKilledShardResumedEqualsAnUninterruptedOne) {
  const auto uninterrupted = tagclip("tag", inputs_ + "--shard 1/2");
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.err;
  const std::string command = testing::tagclip_binary() + " tag" + model_args_ + inputs_ +
                              "--shard 1/2 -o " + dir_ + "/tags.jsonl";
  const std::string shard_file = dir_ + "/tags.00001-of-00002.jsonl";
  const testing::KilledRun killed = testing::kill_when_output_holds(command, shard_file, 2);
  ASSERT_TRUE(killed.killed) << "the shard ended before the kill";
  EXPECT_LT(killed.lines_at_kill, 6);
  const auto resumed = tagclip("tag", inputs_ + "--shard 1/2 --resume -o " + dir_ + "/tags.jsonl");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming: " + std::to_string(killed.lines_at_kill) + " images"),
            std::string::npos)
      << resumed.err;
  EXPECT_EQ(read_all(shard_file), uninterrupted.out);
}

TEST_F(ShardCommand, MergeListsMissingAndRepeatedRecordsAndWritesNothing) {
  for (int index = 0; index < 3; ++index)
    ASSERT_EQ(tagclip("tag", inputs_ + "--shard " + std::to_string(index) + "/3 -o " + dir_ +
                                 "/tags.jsonl")
                  .exit_code,
              0);
  const std::string shard2 = dir_ + "/tags.00002-of-00003.jsonl";
  fs::rename(shard2, dir_ + "/moved.jsonl");
  const auto missing = tagclip("merge", inputs_ + "--shards 3 -o " + dir_ + "/tags.jsonl");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("1 shard files are missing"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find(shard2), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("4 inputs have no record"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(dir_ + "/tags.jsonl"));

  const auto partial =
      tagclip("merge", inputs_ + "--shards 3 --allow-incomplete -o " + dir_ + "/tags.jsonl");
  EXPECT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_EQ(line_count(read_all(dir_ + "/tags.jsonl")), 8u);

  // The first shard given twice: each of its images has a second record.
  const auto repeated =
      tagclip("merge", inputs_ + "--parts " + dir_ + "/tags.00000-of-00003.jsonl '" + dir_ +
                           "/tags.0000[01]-of-00003.jsonl' " + dir_ + "/moved.jsonl -o " + dir_ +
                           "/repeated.jsonl");
  EXPECT_EQ(repeated.exit_code, 1);
  EXPECT_NE(repeated.err.find("4 inputs have more records"), std::string::npos) << repeated.err;
  EXPECT_FALSE(fs::exists(dir_ + "/repeated.jsonl"));
}

TEST_F(ShardCommand, MergeRefusesShardsMadeWithDifferentSetups) {
  // Shard 1 with another prompt template: its scores are not comparable with the others'.
  for (int index = 0; index < 3; ++index)
    ASSERT_EQ(tagclip("tag", inputs_ + "--shard " + std::to_string(index) + "/3 -o " + dir_ +
                                 "/tags.jsonl" + (index == 1 ? " --templates single" : ""))
                  .exit_code,
              0);
  const auto merged = tagclip("merge", inputs_ + "--shards 3 -o " + dir_ + "/tags.jsonl");
  EXPECT_EQ(merged.exit_code, 2);
  EXPECT_NE(merged.err.find("tags.00001-of-00003.jsonl were written with different setups"),
            std::string::npos)
      << merged.err;
  EXPECT_NE(merged.err.find("templates"), std::string::npos) << merged.err;
  EXPECT_FALSE(fs::exists(dir_ + "/tags.jsonl"));

  // The same setup everywhere: merged, and the setup kept beside the merged file.
  ASSERT_EQ(tagclip("tag", inputs_ + "--shard 1/3 -o " + dir_ + "/tags.jsonl").exit_code, 0);
  const auto agreed = tagclip("merge", inputs_ + "--shards 3 -o " + dir_ + "/tags.jsonl");
  ASSERT_EQ(agreed.exit_code, 0) << agreed.err;
  EXPECT_EQ(read_all(dir_ + "/tags.jsonl.setup.json"),
            read_all(dir_ + "/tags.00000-of-00003.jsonl.setup.json"));
}

TEST_F(ShardCommand, EvalTagsOneShardAndScoresShardFilesTogether) {
  const std::string truth =
      " --dataset voc2007 --root " + testing::data_path("synthetic_voc") + " --split regression ";
  for (int index = 0; index < 3; ++index) {
    const auto shard = tagclip("eval", truth + "--shard " + std::to_string(index) + "/3 -o " +
                                           dir_ + "/predictions.jsonl");
    ASSERT_EQ(shard.exit_code, 0) << shard.err;
    EXPECT_EQ(shard.out.find("mAP"), std::string::npos) << "one shard is not scored";
    EXPECT_NE(shard.err.find("16 of 48 images"), std::string::npos) << shard.err;
  }
  const std::string classes = " --classes " + testing::committed_file("models/demo_classes.txt");
  const auto from_shards = testing::run_command(
      testing::tagclip_binary() + " eval" + truth + classes + " --predictions '" + dir_ +
      "/predictions.*-of-00003.jsonl' --report-json " + dir_ + "/shards.json");
  ASSERT_EQ(from_shards.exit_code, 0) << from_shards.err;
  const auto whole =
      tagclip("eval", truth + "-o " + dir_ + "/whole.jsonl --report-json " + dir_ + "/whole.json");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const nlohmann::json sharded_report = nlohmann::json::parse(read_all(dir_ + "/shards.json"));
  const nlohmann::json whole_report = nlohmann::json::parse(read_all(dir_ + "/whole.json"));
  EXPECT_EQ(sharded_report["images"], 48);
  EXPECT_EQ(sharded_report["prediction_files"].size(), 3u);
  EXPECT_EQ(sharded_report["mAP"], whole_report["mAP"]);
  EXPECT_EQ(sharded_report["F1"], whole_report["F1"]);
}

TEST_F(ShardCommand, SegmentShardsMergeIntoTheSingleProcessOutput) {
  const std::string labels = dir_ + "/labels.txt";
  std::ofstream(labels) << "000001 3\n000002 1 3 13 14\n000003 4 6\n000004 0\n000005 2 5\n";
  const std::string common =
      "--labels " + labels + " --image-root " + images_ + " --masks-out " + dir_ + "/masks ";
  const auto whole = tagclip("segment", common + "-o " + dir_ + "/whole.jsonl");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const std::string mask = read_all(dir_ + "/masks/000003.png");
  fs::remove_all(dir_ + "/masks");
  for (int index = 0; index < 2; ++index)
    ASSERT_EQ(tagclip("segment",
                      common + "--shard " + std::to_string(index) + "/2 -o " + dir_ + "/seg.jsonl")
                  .exit_code,
              0);
  EXPECT_EQ(line_count(read_all(dir_ + "/seg.00000-of-00002.jsonl")), 3u);
  EXPECT_EQ(read_all(dir_ + "/masks/000003.png"), mask);
  const auto merged = tagclip("merge", "--split-file " + labels + " --image-root " + images_ +
                                           " --shards 2 -o " + dir_ + "/seg.jsonl");
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(read_all(dir_ + "/seg.jsonl"), read_all(dir_ + "/whole.jsonl"));
}

TEST_F(ShardCommand, ShardingMistakesAreUsageErrors) {
  const auto out_of_range = tagclip("tag", inputs_ + "--shard 3/3");
  EXPECT_EQ(out_of_range.exit_code, 2);
  EXPECT_NE(out_of_range.err.find("not below the count 3"), std::string::npos) << out_of_range.err;
  const auto no_index = tagclip("tag", inputs_ + "--shards 3");
  EXPECT_EQ(no_index.exit_code, 2);
  EXPECT_NE(no_index.err.find("JOB_COMPLETION_INDEX"), std::string::npos) << no_index.err;
  const auto which_files = tagclip("merge", inputs_ + "-o " + dir_ + "/m.jsonl");
  EXPECT_EQ(which_files.exit_code, 2);
  EXPECT_NE(which_files.err.find("--shards N"), std::string::npos) << which_files.err;
  const auto stepped = tagclip("tag", inputs_,
                               "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=0 "
                               "SLURM_ARRAY_TASK_MAX=2 SLURM_ARRAY_TASK_COUNT=2");
  EXPECT_EQ(stepped.exit_code, 2);
  EXPECT_NE(stepped.err.find("one contiguous range"), std::string::npos) << stepped.err;
}

}  // namespace
}  // namespace tagclip
