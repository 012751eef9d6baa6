// The README's first command after setup: scripts/tag_samples.sh tags the sample images with
// ViT-B/16 when models/ has it, else with the committed demo CLIP, and prints one line per
// image. Run from the checkout with its output redirected to a scratch folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

std::set<std::string> stems_in(const fs::path& folder) {
  std::set<std::string> stems;
  for (const auto& entry : fs::directory_iterator(folder)) stems.insert(entry.path().stem());
  return stems;
}

TEST(TagSamples, TagsEverySampleImageAndDrawsItsHeatMaps) {
  const fs::path source(TAGCLIP_SOURCE_DIR);
  const bool real_model = fs::exists(source / "models/ViT-B-16.pt");
  const fs::path samples = source / (real_model ? "samples/photos" : "samples/synthetic");
  const std::string out = testing::make_scratch_dir("tag-samples");
  const auto result = testing::run_command(
      "cd " + source.string() + " && XDG_CACHE_HOME=" + out + "/cache TAGCLIP_BUILD_DIR=" +
      fs::path(testing::tagclip_binary()).parent_path().string() + " TAGCLIP_SAMPLES_OUT=" + out +
      " scripts/tag_samples.sh");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(real_model ? "using OpenAI CLIP ViT-B/16" : "using the demo CLIP"),
            std::string::npos)
      << result.err;

  // "samples/synthetic/01_heart_diamond.jpg heart (0.229)": one line per image, a tag or more.
  const std::set<std::string> images = stems_in(samples);
  std::set<std::string> printed;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto space = line.find(' ');
    ASSERT_NE(space, std::string::npos) << "no tags: " << line;
    printed.insert(fs::path(line.substr(0, space)).stem());
    EXPECT_NE(line.find(" ("), std::string::npos) << "no score: " << line;
  }
  EXPECT_EQ(printed, images);
  EXPECT_EQ(stems_in(out + "/samples-why"), images);
  EXPECT_TRUE(fs::exists(out + "/samples-tags.jsonl"));
}

}  // namespace
}  // namespace tagclip
