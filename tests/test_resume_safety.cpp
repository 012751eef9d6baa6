// --resume never loses or duplicates records: damaged middle lines stop it instead of
// cutting the records after them, paths that are not UTF-8 are recognised by their bytes,
// and a second run on the same output is refused by the file's lock.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "expect_throw.h"
#include "tagclip/core/tag_record.h"
#include "tagclip/errors.h"
#include "tagclip/io/jsonl_output.h"
#include "tagclip/model/random_checkpoint.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

using testing::read_all;

const char* const kRecordA = "{\"image\":\"a.jpg\",\"error\":\"x\"}\n";
const char* const kRecordB = "{\"image\":\"b.jpg\",\"error\":\"y\"}\n";

TEST(ResumeSafety, ADamagedLineWithRecordsAfterItStopsTheResumeAndKeepsTheFile) {
  const std::string path = testing::make_scratch_dir("resume-middle") + "/out.jsonl";
  for (const std::string damaged : {"{\"image\":\"half", "not json at all", "[1, 2]", ""}) {
    SCOPED_TRACE(damaged);
    const std::string text = std::string(kRecordA) + damaged + "\n" + kRecordB;
    std::ofstream(path, std::ios::trunc) << text;
    testing::expect_throw_with<UsageError>(
        [&] { prepare_resume(path); },
        path + ": line 2 is " + (damaged.rfind("[", 0) == 0 ? "not a tag record" : "not JSON") +
            ", but records follow it (line 3 and on); --resume would lose them");
    EXPECT_EQ(read_all(path), text);  // the file was cut after line 1 before the fix
  }
}

TEST(ResumeSafety, DamagedLastLinesAreCutAndNamed) {
  const std::string path = testing::make_scratch_dir("resume-last") + "/out.jsonl";
  std::ofstream(path) << kRecordA << kRecordB << "garbage\n{\"image\":\"c.j";
  const ResumeState state = prepare_resume(path);
  EXPECT_EQ(state.complete_records, 2u);
  EXPECT_TRUE(state.dropped_partial_line);
  EXPECT_EQ(state.dropped_line_number, 3u);
  EXPECT_EQ(state.dropped_line_reason, "not JSON");
  EXPECT_EQ(read_all(path), std::string(kRecordA) + kRecordB);
}

TEST(ResumeSafety, PathsThatAreNotUtf8RoundTripThroughImageHex) {
  TagRecord record;
  record.image = "photos/caf\xe9.jpg";  // Latin-1 e-acute: not UTF-8
  record.error = "x";
  const nlohmann::ordered_json json = to_json(record);
  EXPECT_EQ(json["image_hex"], "70686f746f732f636166e92e6a7067");
  EXPECT_EQ(tag_record_from_json(json).image, record.image);
  const std::string line = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  EXPECT_EQ(record_image(nlohmann::ordered_json::parse(line)), record.image);
  // UTF-8 names keep the record as it always was.
  record.image = "photos/caf\xc3\xa9.jpg";
  EXPECT_FALSE(to_json(record).contains("image_hex"));
  // Damaged hex is not a record.
  testing::expect_throw_with<RecordError>(
      [] {
        tag_record_from_json({{"image", "a"}, {"image_hex", "zz"}, {"error", "x"}});
      },
      "\"image_hex\" is not a string of hex digit pairs");
}

class ResumeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("resume-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::string dir_;
};

// A file named in Latin-1 was written with U+FFFD, so --resume did not know it and tagged
// it again: a duplicate record.
TEST_F(ResumeCommand, ANameThatIsNotUtf8IsNotTaggedTwice) {
  const std::string folder = dir_ + "/photos";
  fs::create_directories(folder);
  fs::copy_file(testing::data_path("images/gray.png"), folder + "/caf\xe9.png");
  fs::copy_file(testing::data_path("images/gray.png"), folder + "/plain.png");
  const std::string out = dir_ + "/tags.jsonl";
  const auto first = testing::run_tag(folder + " -o " + out);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string written = read_all(out);
  EXPECT_NE(written.find("\"image_hex\""), std::string::npos) << written;

  const auto resumed = testing::run_tag(folder + " --resume -o " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_all(out), written);
  EXPECT_NE(resumed.err.find("skipped 2"), std::string::npos) << resumed.err;
}

// Two runs on one output interleaved and duplicated records. The output's lock now refuses
// the second run before it changes a byte, with or without --resume.
TEST_F(ResumeCommand, ASecondRunOnALockedOutputIsRefused) {
  const std::string out = dir_ + "/tags.jsonl";
  std::ofstream(out) << kRecordA;
  const int fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as a running tagclip holds it
  for (const std::string resume : {" --resume", ""}) {
    const auto second =
        testing::run_tag(testing::data_path("images/gray.png") + resume + " -o " + out);
    EXPECT_EQ(second.exit_code, 2) << second.err;
    EXPECT_NE(second.err.find(out + ": another tagclip run is writing this file"),
              std::string::npos)
        << second.err;
    EXPECT_EQ(read_all(out), kRecordA);
  }
  ::close(fd);  // the first run ends: the file is free again
  const auto later =
      testing::run_tag(testing::data_path("images/gray.png") + " --resume -o " + out);
  EXPECT_EQ(later.exit_code, 0) << later.err;
}

// Resuming with another vocabulary, model or method appended records that did not fit the
// file without a word. The setup is recorded beside the output and a mismatch is refused.
TEST_F(ResumeCommand, ResumingWithAnotherSetupIsRefused) {
  const std::string out = dir_ + "/tags.jsonl";
  const std::string photo = testing::data_path("images/gray.png") + " ";
  const auto first = testing::run_tag(photo + "-o " + out);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(fs::exists(out + ".setup.json"));
  const std::string written = read_all(out);

  RandomCheckpointSpec other = testing::fidelity_spec();
  other.seed = 7;  // the same shapes and file size, other weights
  const std::string other_model = testing::random_checkpoint_path(other, "other-weights");
  for (const auto& [args, differing] :
       {std::pair<std::string, std::string>{"--classes coco", "vocabulary, classes, background"},
        {"--method global", "options"},
        {"--top-k 1", "top_k"},
        {"--model " + other_model, "weights"}}) {
    SCOPED_TRACE(args);
    const std::string command =
        args.rfind("--model", 0) == 0
            ? testing::tagclip_binary() + " tag --no-cache --bpe " +
                  testing::bpe_vocabulary_path() + " " + args + " "
            : testing::tagclip_binary() + " tag --model " + testing::fidelity_checkpoint_path() +
                  " --no-cache --bpe " + testing::bpe_vocabulary_path() + " " + args + " ";
    const auto resumed = testing::run_command(command + photo + "--resume -o " + out);
    EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
    EXPECT_NE(resumed.err.find(out + " was written with another setup (" + differing + " differ"),
              std::string::npos)
        << resumed.err;
    EXPECT_EQ(read_all(out), written);
  }
  const auto same = testing::run_tag(photo + "--resume -o " + out);
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(read_all(out), written);

  // An output from before setups were recorded is checked by its records' classes.
  fs::remove(out + ".setup.json");
  const auto coco = testing::run_tag(photo + "--classes coco --resume -o " + out);
  EXPECT_EQ(coco.exit_code, 2) << coco.err;
  EXPECT_NE(coco.err.find(out + " holds records of other classes (20, the first 'aeroplane')"),
            std::string::npos)
      << coco.err;
  EXPECT_EQ(read_all(out), written);
}

}  // namespace
}  // namespace tagclip
