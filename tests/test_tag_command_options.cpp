// Option values of `tagclip tag`: every option has an explicit "unset" (its default), so a
// value such as 0 means itself or is a usage error naming the flag, never "default".
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"

namespace tagclip {
namespace {

const std::string& photo() {
  static const std::string path = testing::data_path("images/squirrel_small.jpg");
  return path;
}

TEST(TagCommandOptions, ValuesTheLibraryWouldRejectAreUsageErrorsNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--vote-count -1", "--vote-count"},
      {"--vote-count 13", "--vote-count: 13 is more than the 12 blocks"},
      {"--threads 0", "--threads"},
      {"--threads 100000", "--threads"},
      {"--top-k 0", "--top-k"},
      {"--threshold 1.5", "--threshold"},
      {"--candidate-ratio -0.1", "--candidate-ratio"},
      {"--threshold nan", "--threshold"},
      {"--candidate-ratio nan", "--candidate-ratio"},
      {"--min-score nan", "--min-score: is not a number"},
      {"--max-side 0", "--max-side"},
      {"--max-side big", "--max-side"},
      {"--max-pixels 0", "--max-pixels"},
      {"--max-pixels -5", "--max-pixels"},
      {"--precision int8", "--precision"},
      {"--precision fp16", "--precision fp16 needs a CUDA device"}};
  for (const auto& [args, flag] : cases) {
    SCOPED_TRACE(args);
    const auto result = testing::run_tag(args + " " + photo());
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(flag), std::string::npos) << result.err;
    EXPECT_TRUE(result.out.empty()) << result.out;
  }
}

// --vote-count 0 keeps every attention entry: a real setting, not "the default of 4".
TEST(TagCommandOptions, VoteCountZeroMeansZero) {
  const auto by_default = testing::run_tag(photo());
  const auto explicit_default = testing::run_tag("--vote-count 4 " + photo());
  const auto zero = testing::run_tag("--vote-count 0 " + photo());
  ASSERT_EQ(by_default.exit_code, 0) << by_default.err;
  ASSERT_EQ(zero.exit_code, 0) << zero.err;
  const auto default_scores = testing::parse_json_lines(by_default.out).at(0)["scores"];
  EXPECT_EQ(testing::parse_json_lines(explicit_default.out).at(0)["scores"], default_scores);
  EXPECT_NE(testing::parse_json_lines(zero.out).at(0)["scores"], default_scores);
}

// --threshold 0 tags every class scoring above the image's minimum: all but the lowest.
TEST(TagCommandOptions, ThresholdZeroMeansZero) {
  const auto result = testing::run_tag("--threshold 0 " + photo());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto record = testing::parse_json_lines(result.out).at(0);
  double lowest = 2.0;
  size_t at_lowest = 0;
  for (const auto& [name, score] : record["scores"].items()) {
    if (score.get<double>() < lowest) {
      lowest = score.get<double>();
      at_lowest = 0;
    }
    if (score.get<double>() == lowest) ++at_lowest;
  }
  EXPECT_EQ(record["tags"].size(), record["scores"].size() - at_lowest);
}

TEST(TagCommandOptions, HelpExplainsTheUnsetDefaults) {
  const auto help = testing::run_command(testing::tagclip_binary() + " tag --help");
  ASSERT_EQ(help.exit_code, 0);
  for (const std::string& text :
       {"--max-side N|none", "'none': no limit", "640", "default: every core", "default: every tag",
        "0 keeps every entry"})
    EXPECT_NE(help.out.find(text), std::string::npos) << text;
}

// --profile: a table on stderr with a row per stage, each block's halves among them, and
// the records on stdout as without it.
TEST(TagCommandOptions, ProfilePrintsEveryStageAndLeavesTheRecordsAlone) {
  const auto plain = testing::run_tag(photo() + " " + photo());
  const auto profiled = testing::run_tag("--profile " + photo() + " " + photo());
  ASSERT_EQ(profiled.exit_code, 0) << profiled.err;
  EXPECT_EQ(profiled.out, plain.out);
  for (const std::string& row :
       {"stage profile (fp32,", "ms/image", "model load", "text embeddings", "decode",
        "resize + normalise", "patch embedding", "block 00 attention", "block 00 mlp",
        "block 11 mlp", "dmar votes", "dmar refine", "cwr (crops encoded", "labels", "write record",
        "(no stage)", "wall"})
    EXPECT_NE(profiled.err.find(row), std::string::npos) << row << "\n" << profiled.err;
  // Two images, each stage of the image pass timed once per image.
  EXPECT_NE(profiled.err.find("2 img"), std::string::npos) << profiled.err;
  EXPECT_EQ(plain.err.find("stage profile"), std::string::npos);
}

// bf16 runs, says so in the metadata, and keeps the record format (float32 scores).
TEST(TagCommandOptions, PrecisionBf16IsRecordedInTheMetadata) {
  const std::string dir = testing::make_scratch_dir("precision-meta");
  const auto result =
      testing::run_tag("--precision bf16 --meta-out " + dir + "/meta.json " + photo());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto record = testing::parse_json_lines(result.out).at(0);
  EXPECT_EQ(record["scores"].size(), 20u);
  EXPECT_FALSE(record["tags"].empty());
  const auto meta = nlohmann::json::parse(testing::read_all(dir + "/meta.json"));
  EXPECT_EQ(meta["precision"], "bf16");
  EXPECT_NE(result.err.find("bf16 products"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace tagclip
