#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tagclip/errors.h"
#include "tagclip/io/image_inputs.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

void touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
}

std::vector<std::string> paths_of(const ImageInputs& inputs) {
  std::vector<std::string> out;
  for (const auto& image : inputs.images) out.push_back(image.path);
  return out;
}

TEST(ImageInputs, FoldersAreRecursedSortedAndFilteredByExtension) {
  const std::string dir = testing::make_scratch_dir("inputs-folder");
  touch(dir + "/b.JPG");
  touch(dir + "/a.png");
  touch(dir + "/notes.txt");
  touch(dir + "/sub/c.jpeg");
  std::istringstream no_stdin;
  const ImageInputs inputs = collect_image_inputs({dir}, no_stdin);
  EXPECT_EQ(paths_of(inputs),
            (std::vector<std::string>{dir + "/a.png", dir + "/b.JPG", dir + "/sub/c.jpeg"}));
  EXPECT_EQ(inputs.images[1].id, "b");
  EXPECT_TRUE(inputs.warnings.empty());
}

TEST(ImageInputs, ListFilesStdinAndOrderArePreserved) {
  const std::string dir = testing::make_scratch_dir("inputs-lists");
  touch(dir + "/1.jpg");
  touch(dir + "/2.jpg");
  touch(dir + "/3.jpg");
  std::ofstream(dir + "/list.txt") << "# a comment\n"
                                   << dir << "/3.jpg\n\n  " << dir << "/1.jpg  \n";
  std::istringstream stdin_paths(dir + "/2.jpg\n");
  const ImageInputs inputs =
      collect_image_inputs({"@" + dir + "/list.txt", "-", dir + "/1.jpg"}, stdin_paths);
  EXPECT_EQ(paths_of(inputs), (std::vector<std::string>{dir + "/3.jpg", dir + "/1.jpg",
                                                        dir + "/2.jpg", dir + "/1.jpg"}));
}

TEST(ImageInputs, MissingPathIsKeptWithItsProblem) {
  std::istringstream no_stdin;
  const ImageInputs inputs = collect_image_inputs({"/no/such/image.jpg"}, no_stdin);
  ASSERT_EQ(inputs.images.size(), 1u);
  EXPECT_EQ(inputs.images[0].problem, "no such file or folder");
}

// A link loop or a dangling link given by name was "no such file or folder"; in a folder
// such entries were passed over without a word, and a link back up the tree was followed
// until the path was too long, listing each image again and again.
TEST(ImageInputs, LinksThatLeadNowhereSayWhy) {
  const std::string dir = testing::make_scratch_dir("inputs-links");
  fs::create_symlink(dir + "/loop_b.jpg", dir + "/loop_a.jpg");
  fs::create_symlink(dir + "/loop_a.jpg", dir + "/loop_b.jpg");
  fs::create_symlink(dir + "/gone.jpg", dir + "/dangling.jpg");
  std::istringstream no_stdin;
  const ImageInputs inputs =
      collect_image_inputs({dir + "/loop_a.jpg", dir + "/dangling.jpg"}, no_stdin);
  ASSERT_EQ(inputs.images.size(), 2u);
  EXPECT_EQ(inputs.images[0].problem, "a symbolic link loop (too many levels of links)");
  EXPECT_EQ(inputs.images[1].problem, "a dangling symbolic link (to '" + dir + "/gone.jpg')");
}

TEST(ImageInputs, AFolderScanCountsWhatItSkipsAndStopsAtLinkCycles) {
  const std::string dir = testing::make_scratch_dir("inputs-skipped") + "/photos";
  touch(dir + "/a.jpg");
  touch(dir + "/sub/b.png");
  fs::create_symlink(dir + "/loop_b.jpg", dir + "/loop_a.jpg");
  fs::create_symlink(dir + "/loop_a.jpg", dir + "/loop_b.jpg");
  fs::create_symlink(dir + "/gone.jpg", dir + "/dangling.jpg");
  fs::create_directory_symlink(dir, dir + "/sub/up");  // back to the top: a cycle
  ASSERT_EQ(::mkfifo((dir + "/pipe.jpg").c_str(), 0600), 0);
  std::istringstream no_stdin;
  const ImageInputs inputs = collect_image_inputs({dir}, no_stdin);
  EXPECT_EQ(paths_of(inputs), (std::vector<std::string>{dir + "/a.jpg", dir + "/sub/b.png"}));
  ASSERT_EQ(inputs.warnings.size(), 1u);
  EXPECT_EQ(inputs.warnings[0],
            dir +
                ": skipped 5 entries: 1 dangling symbolic link, 2 symbolic link loops, 1 link "
                "back to a folder already scanned, 1 FIFO, socket or device file");
}

TEST(ImageInputs, EmptyFolderIsAWarning) {
  const std::string dir = testing::make_scratch_dir("inputs-empty");
  touch(dir + "/readme.md");
  std::istringstream no_stdin;
  const ImageInputs inputs = collect_image_inputs({dir}, no_stdin);
  EXPECT_TRUE(inputs.images.empty());
  ASSERT_EQ(inputs.warnings.size(), 1u);
  EXPECT_NE(inputs.warnings[0].find(dir), std::string::npos);
  EXPECT_NE(inputs.warnings[0].find("no images"), std::string::npos);
}

TEST(ImageInputs, UnreadableListFileIsUsageError) {
  std::istringstream no_stdin;
  EXPECT_THROW(collect_image_inputs({"@/no/such/list.txt"}, no_stdin), UsageError);
}

TEST(SplitFile, ReferenceFormatMapsIdsToImagesUnderRoot) {
  const std::string dir = testing::make_scratch_dir("inputs-split");
  touch(dir + "/JPEGImages/000001.jpg");
  std::ofstream(dir + "/test_cls.txt") << "000001 11 14\n000002 0\n\n";
  const ImageInputs inputs = read_split_file(dir + "/test_cls.txt", dir + "/JPEGImages");
  ASSERT_EQ(inputs.images.size(), 2u);
  EXPECT_EQ(inputs.images[0].path, dir + "/JPEGImages/000001.jpg");
  EXPECT_EQ(inputs.images[0].id, "000001");
  EXPECT_TRUE(inputs.images[0].problem.empty());
  EXPECT_NE(inputs.images[1].problem.find("no such file"), std::string::npos);
  const ImageInputs png = read_split_file(dir + "/test_cls.txt", dir, ".png");
  EXPECT_EQ(png.images[0].path, dir + "/000001.png");
  EXPECT_THROW(read_split_file(dir + "/absent.txt", dir), UsageError);
}

TEST(ImageInputs, IdIsTheStem) {
  EXPECT_EQ(image_id_of("a/b/2007_000032.jpg"), "2007_000032");
  EXPECT_EQ(image_id_of("x.tar.png"), "x.tar");
}

}  // namespace
}  // namespace tagclip
