// Writes that fail (a full disk, simulated with a file-size limit of 0 so every write to a
// regular file fails with EFBIG) must end the run with exit 4, name the file and leave no
// empty or half-written file behind; the JSON Lines stream stops at its last whole record.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "expect_throw.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

class OutputFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        testing::make_scratch_dir(std::string("output-failures-") +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    model_args_ = " --model " + testing::committed_file("models/demo-clip.pt") + " --bpe " +
                  testing::bpe_vocabulary_path() + " --classes " +
                  testing::committed_file("models/demo_classes.txt") + " --threads 2 --no-cache ";
    image_ = testing::data_path("synthetic_voc/JPEGImages/000002.jpg");
  }

  // `tagclip ARGS` with every write to a regular file failing. Its stderr goes through a
  // pipe (pipes have no size limit) so the messages survive; SIGXFSZ is ignored, so a
  // write returns EFBIG as it returns ENOSPC on a full disk.
  testing::CommandResult on_full_disk(const std::string& args) {
    return testing::run_command("bash -c 'set -o pipefail; (trap \"\" XFSZ; ulimit -f 0; exec " +
                                testing::tagclip_binary() + " " + args + ") 2>&1 | cat >&2'");
  }

  void expect_refused(const testing::CommandResult& result, const std::string& file) {
    EXPECT_EQ(result.exit_code, 4) << result.err;
    EXPECT_NE(result.err.find(file), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(file)) << file << " was left behind";
    for (const auto& entry : fs::directory_iterator(fs::path(file).parent_path()))
      EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos)
          << entry.path() << ": a temporary file was left behind";
  }

  std::string dir_, model_args_, image_;
};

TEST_F(OutputFailures, MetaOutLabelsOutAndVisualizeAreCheckedWrites) {
  const std::string meta = dir_ + "/meta.json";
  expect_refused(on_full_disk("tag" + model_args_ + image_ + " -o /dev/null --meta-out " + meta),
                 meta);
  const std::string labels = dir_ + "/labels.txt";
  expect_refused(
      on_full_disk("tag" + model_args_ + image_ + " -o /dev/null --labels-out " + labels), labels);
  fs::create_directories(dir_ + "/why");
  const std::string picture = dir_ + "/why/000002.png";
  expect_refused(
      on_full_disk("tag" + model_args_ + image_ + " -o /dev/null --visualize " + dir_ + "/why"),
      picture);
}

// The run's first write to a full disk is the setup beside the output (tags.jsonl.setup.json,
// for --resume), then the records: either failing is exit 4, never a load error, and leaves
// no partial record.
TEST_F(OutputFailures, TheRecordStreamFailingIsExitFourNotALoadError) {
  const std::string output = dir_ + "/tags.jsonl";
  const auto result = on_full_disk("tag" + model_args_ + image_ + " -o " + output);
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_NE(result.err.find("tagclip: " + output + ".setup.json: cannot write the file"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(testing::read_all(output), "") << "no partial record";
  EXPECT_FALSE(fs::exists(output + ".setup.json"));
  // The record stream itself: /dev/full fails every write with ENOSPC and, as a device,
  // gets no setup file.
  const auto full = testing::run_command(testing::tagclip_binary() + " tag" + model_args_ + image_ +
                                         " -o /dev/full");
  EXPECT_EQ(full.exit_code, 4) << full.err;
  EXPECT_NE(full.err.find("/dev/full: write failed: No space left on device"), std::string::npos)
      << full.err;
}

TEST_F(OutputFailures, EvalReportPlotAndMergeAreCheckedWrites) {
  const std::string predictions = dir_ + "/predictions.jsonl";
  const auto tagged = testing::run_command(testing::tagclip_binary() + " tag" + model_args_ +
                                           image_ + " -o " + predictions);
  ASSERT_EQ(tagged.exit_code, 0) << tagged.err;
  const std::string split = dir_ + "/split.txt";
  std::ofstream(split) << "000002 1 3 13 14\n";
  const std::string eval = "eval --dataset voc2007 --split-file " + split + " --image-root " +
                           fs::path(image_).parent_path().string() + " --classes " +
                           testing::committed_file("models/demo_classes.txt") + " --predictions " +
                           predictions;
  const std::string report = dir_ + "/report.json";
  expect_refused(on_full_disk(eval + " --report-json " + report), report);
  const std::string plot = dir_ + "/plot.png";
  expect_refused(on_full_disk(eval + " --plot " + plot), plot);
  const std::string merged = dir_ + "/merged.jsonl";
  expect_refused(on_full_disk("merge " + image_ + " --parts " + predictions + " -o " + merged),
                 merged);
}

// A --meta-out or --report-json that can never be written is a usage error before any image
// is tagged or scored, not a failure after the whole run.
TEST_F(OutputFailures, UnusableOutputPathsAreRefusedBeforeTheRun) {
  const std::string not_a_folder = dir_ + "/file";
  std::ofstream(not_a_folder) << "a file, not a folder\n";
  const std::string records = dir_ + "/tags.jsonl";
  const std::string tag =
      testing::tagclip_binary() + " tag" + model_args_ + image_ + " -o " + records;
  const auto meta = testing::run_command(tag + " --meta-out " + not_a_folder + "/meta.json");
  EXPECT_EQ(meta.exit_code, 2) << meta.err;
  EXPECT_NE(meta.err.find("--meta-out " + not_a_folder + "/meta.json: cannot create its folder"),
            std::string::npos)
      << meta.err;
  EXPECT_FALSE(fs::exists(records)) << "the run started before the check";
  const auto labels = testing::run_command(tag + " --labels-out " + dir_);
  EXPECT_EQ(labels.exit_code, 2) << labels.err;
  EXPECT_NE(labels.err.find("is a folder"), std::string::npos) << labels.err;
  EXPECT_FALSE(fs::exists(records));

  const auto report = testing::run_command(
      testing::tagclip_binary() + " eval --dataset voc2007 --split-file " + not_a_folder +
      " --predictions " + records + " --report-json " + not_a_folder + "/report.json");
  EXPECT_EQ(report.exit_code, 2) << report.err;
  EXPECT_NE(report.err.find("--report-json"), std::string::npos) << report.err;
}

// A rename that fails says why in the system's words; an older cache writer said
// "cannot move cache file into place: Success", reading errno after it had been reset.
TEST(AtomicFile, AFailedRenameSaysWhy) {
  const std::string dir = testing::make_scratch_dir("atomic-rename");
  const std::string target = dir + "/entry";
  fs::create_directories(target + "/inside");  // a non-empty folder where the file should go
  testing::expect_throw_with<OutputError>(
      [&] { write_file_atomically(target, "bytes"); },
      target + ": cannot move the finished file into place: Is a directory");
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename(), "entry") << "a temporary file was left behind";
}

}  // namespace
}  // namespace tagclip
