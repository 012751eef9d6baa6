// The library as another project sees it: this build installed into a scratch prefix, then
// examples/ configured with find_package(tagclip) and built as a project of its own, and its
// records compared with those of `tagclip tag` on the same images.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

TEST(InstalledPackage, ExampleBuiltWithFindPackageTagsLikeTheCommand) {
  const std::string dir = testing::make_scratch_dir("install-package");
  const std::string prefix = dir + "/prefix", example_build = dir + "/example-build";
  const auto install = testing::run_command("cmake --install " + std::string(TAGCLIP_BUILD_DIR) +
                                            " --prefix " + prefix + " 2>&1");
  ASSERT_EQ(install.exit_code, 0) << install.out;
  EXPECT_TRUE(fs::exists(prefix + "/include/tagclip/tagclip.h"));
  EXPECT_TRUE(fs::exists(prefix + "/lib/cmake/tagclip/tagclipConfig.cmake") ||
              fs::exists(prefix + "/lib64/cmake/tagclip/tagclipConfig.cmake"));

  const auto configure = testing::run_command(
      "cmake -S " + std::string(TAGCLIP_SOURCE_DIR) + "/examples -B " + example_build +
      " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + prefix + " 2>&1");
  ASSERT_EQ(configure.exit_code, 0) << configure.out;
  const auto build = testing::run_command("cmake --build " + example_build + " 2>&1");
  ASSERT_EQ(build.exit_code, 0) << build.out;

  const std::string images = dir + "/images";
  fs::create_directories(images);
  for (const char* name : {"squirrel_small.jpg", "gray.png", "not_an_image.png"})
    fs::copy_file(testing::data_path("images/") + name, images + "/" + name);
  const std::string environment =
      "XDG_CACHE_HOME=" + dir + "/cache TAGCLIP_BPE=" + testing::bpe_vocabulary_path() + " ";
  const auto example = testing::run_command(environment + example_build + "/tag_folder " +
                                            testing::fidelity_checkpoint_path() + " " + images);
  ASSERT_EQ(example.exit_code, 0) << example.err;
  const auto command =
      testing::run_command(environment + testing::tagclip_binary() + " tag -q --model " +
                           testing::fidelity_checkpoint_path() + " " + images + "/gray.png " +
                           images + "/not_an_image.png " + images + "/squirrel_small.jpg");
  ASSERT_EQ(command.exit_code, 1) << command.err;  // not_an_image.png fails in both
  const auto from_example = testing::parse_json_lines(example.out);
  const auto from_command = testing::parse_json_lines(command.out);
  ASSERT_EQ(from_example.size(), 3u);
  EXPECT_EQ(from_example, from_command);
  EXPECT_TRUE(from_example[1].contains("error"));
  EXPECT_FALSE(from_example[2]["tags"].empty());
}

}  // namespace
}  // namespace tagclip
