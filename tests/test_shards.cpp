// Shard partition, shard file names and the scheduler variables that pick a shard.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "expect_throw.h"
#include "tagclip/core/shards.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

EnvironmentLookup environment(const std::map<std::string, std::string>& variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> image_paths(size_t count) {
  std::vector<std::string> paths;
  for (size_t k = 0; k < count; ++k) paths.push_back("photos/img_" + std::to_string(k) + ".jpg");
  return paths;
}

TEST(ParseShard, ReadsIndexAndCount) {
  const Shard shard = parse_shard("3/16");
  EXPECT_EQ(shard.index, 3u);
  EXPECT_EQ(shard.count, 16u);
  EXPECT_EQ(shard.source, "--shard");
  EXPECT_EQ(parse_shard("0/1").count, 1u);
}

TEST(ParseShard, RefusesMalformedAndOutOfRangeValues) {
  for (const char* text : {"16/16", "3", "3/", "/4", "a/4", "-1/4", "3/0", "1/2/3", " 1/2"})
    testing::expect_throw_with<UsageError>([&] { parse_shard(text); }, "--shard");
  testing::expect_throw_with<UsageError>([&] { parse_shard("16/16"); }, "not below the count 16");
}

TEST(ShardSuffix, PadsBothNumbersToTheCountsWidth) {
  EXPECT_EQ((Shard{3, 16, ""}.suffix()), "00003-of-00016");
  EXPECT_EQ((Shard{3, 16, ""}.to_string()), "3/16");
  EXPECT_EQ((Shard{7, 123456, ""}.suffix()), "000007-of-123456");
}

TEST(ShardOutputPath, InsertsTheSuffixBeforeTheExtension) {
  const Shard shard{3, 16, ""};
  EXPECT_EQ(shard_output_path("out/tags.jsonl", shard), "out/tags.00003-of-00016.jsonl");
  EXPECT_EQ(shard_output_path("tags", shard), "tags.00003-of-00016");
  EXPECT_EQ(shard_output_path("run.v2/tags", shard), "run.v2/tags.00003-of-00016");
  EXPECT_EQ(shard_output_path("out/{shard}/tags.jsonl", shard), "out/00003-of-00016/tags.jsonl");
  EXPECT_EQ(shard_output_path("{shard}-{shard}.txt", shard), "00003-of-00016-00003-of-00016.txt");
  EXPECT_EQ(shard_output_path("-", shard), "-");
  EXPECT_EQ(shard_output_path("", shard), "");
}

TEST(ShardOutputPath, PatternMatchesEveryShardsFile) {
  EXPECT_EQ(shard_files_pattern("out/tags.jsonl", 16), "out/tags.*-of-00016.jsonl");
  EXPECT_EQ(shard_files_pattern("out/{shard}/tags.jsonl", 4), "out/*-of-00004/tags.jsonl");
}

TEST(ShardMembers, CoverEveryInputOnceWithBalancedCounts) {
  const std::vector<std::string> paths = image_paths(103);
  std::vector<int> times_taken(paths.size(), 0);
  for (size_t index = 0; index < 16; ++index) {
    const std::vector<size_t> members = shard_members(paths, Shard{index, 16, ""});
    EXPECT_TRUE(members.size() == 6 || members.size() == 7) << members.size();
    EXPECT_TRUE(std::is_sorted(members.begin(), members.end())) << "input order kept";
    for (size_t k : members) ++times_taken.at(k);
  }
  EXPECT_EQ(std::count(times_taken.begin(), times_taken.end(), 1), 103);
}

TEST(ShardMembers, DependOnTheSetOfPathsNotOnTheirOrder) {
  const std::vector<std::string> paths = image_paths(50);
  std::vector<std::string> shuffled = paths;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  for (size_t index = 0; index < 4; ++index) {
    std::set<std::string> listed, reordered;
    for (size_t k : shard_members(paths, Shard{index, 4, ""})) listed.insert(paths[k]);
    for (size_t k : shard_members(shuffled, Shard{index, 4, ""})) reordered.insert(shuffled[k]);
    EXPECT_EQ(listed, reordered) << "shard " << index;
  }
}

TEST(ShardMembers, MoreShardsThanImagesLeavesSomeEmpty) {
  const std::vector<std::string> paths = image_paths(3);
  EXPECT_EQ(shard_members(paths, Shard{2, 5, ""}).size(), 1u);
  EXPECT_TRUE(shard_members(paths, Shard{4, 5, ""}).empty());
}

TEST(ResolveShard, NothingGivenIsNoSharding) {
  EXPECT_FALSE(resolve_shard("", std::nullopt, environment({})).has_value());
}

TEST(ResolveShard, OptionWinsAndOffIgnoresTheScheduler) {
  const auto slurm = environment({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "8"}});
  EXPECT_EQ(resolve_shard("1/4", std::nullopt, slurm)->to_string(), "1/4");
  EXPECT_FALSE(resolve_shard("off", std::nullopt, slurm).has_value());
  testing::expect_throw_with<UsageError>([&] { resolve_shard("1/4", 5, environment({})); },
                                         "disagree");
}

TEST(ResolveShard, SlurmArrayIndexCountsFromTheArraysMinimum) {
  const auto from_zero = resolve_shard("", std::nullopt,
                                       environment({{"SLURM_ARRAY_TASK_ID", "5"},
                                                    {"SLURM_ARRAY_TASK_MIN", "0"},
                                                    {"SLURM_ARRAY_TASK_COUNT", "16"}}));
  EXPECT_EQ(from_zero->to_string(), "5/16");
  EXPECT_EQ(from_zero->source, "SLURM_ARRAY_TASK_ID");
  // --array=1-16 without SLURM_ARRAY_TASK_COUNT (older Slurm): MAX - MIN + 1 tasks.
  const auto from_one = resolve_shard("", std::nullopt,
                                      environment({{"SLURM_ARRAY_TASK_ID", "6"},
                                                   {"SLURM_ARRAY_TASK_MIN", "1"},
                                                   {"SLURM_ARRAY_TASK_MAX", "16"}}));
  EXPECT_EQ(from_one->to_string(), "5/16");
  // Only the task id: --shards gives the count.
  EXPECT_EQ(resolve_shard("", 4, environment({{"SLURM_ARRAY_TASK_ID", "2"}}))->to_string(), "2/4");
}

TEST(ResolveShard, SlurmArraysWithStepsOrDisagreeingCountsAreRefused) {
  auto refused = [](const std::map<std::string, std::string>& variables,
                    std::optional<size_t> shards, const std::string& fragment) {
    testing::expect_throw_with<UsageError>(
        [&] { resolve_shard("", shards, environment(variables)); }, fragment);
  };
  // --array=0-4:2 runs ids 0, 2 and 4 as 3 tasks: id - min is not a shard index.
  refused({{"SLURM_ARRAY_TASK_ID", "4"},
           {"SLURM_ARRAY_TASK_MIN", "0"},
           {"SLURM_ARRAY_TASK_MAX", "4"},
           {"SLURM_ARRAY_TASK_COUNT", "3"}},
          std::nullopt, "one contiguous range");
  refused({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "16"}}, 8, "disagrees");
  refused({{"SLURM_ARRAY_TASK_ID", "1"}}, std::nullopt, "give --shards N");
  refused({{"SLURM_ARRAY_TASK_ID", "x1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, std::nullopt,
          "SLURM_ARRAY_TASK_ID='x1'");
}

TEST(ResolveShard, KubernetesIndexedJobNeedsTheCompletionsCount) {
  const auto indexed = environment({{"JOB_COMPLETION_INDEX", "3"}});
  const auto shard = resolve_shard("", 4, indexed);
  EXPECT_EQ(shard->to_string(), "3/4");
  EXPECT_EQ(shard->source, "JOB_COMPLETION_INDEX");
  testing::expect_throw_with<UsageError>([&] { resolve_shard("", std::nullopt, indexed); },
                                         "--shards N");
  testing::expect_throw_with<UsageError>([&] { resolve_shard("", 3, indexed); },
                                         "not below the count 3");
}

TEST(ResolveShard, ShardsWithoutAnIndexIsAUsageError) {
  testing::expect_throw_with<UsageError>([&] { resolve_shard("", 4, environment({})); },
                                         "needs this process's index");
}

}  // namespace
}  // namespace tagclip
