// End-to-end runs of `tagclip tag` on the fidelity checkpoint, reading back its JSON Lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

using testing::read_all;
std::vector<nlohmann::json> parse_lines(const std::string& text) {
  return testing::parse_json_lines(text);
}

std::string image(const std::string& name) { return testing::data_path("images/" + name); }

class TagCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    bpe_ = testing::bpe_vocabulary_path();
    dir_ =
        testing::make_scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  testing::CommandResult tag(const std::string& args) { return testing::run_tag(args); }

  std::string bpe_, dir_;
};

TEST_F(TagCommand, WritesOneRecordPerImageInInputOrder) {
  const auto result =
      tag(image("squirrel_small.jpg") + " " + image("gray.png") + " " + image("messi.jpg"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto records = parse_lines(result.out);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["image"], image("squirrel_small.jpg"));
  EXPECT_EQ(records[1]["image"], image("gray.png"));
  EXPECT_EQ(records[2]["image"], image("messi.jpg"));
  for (const auto& record : records) {
    EXPECT_GT(record["width"].get<int>(), 0);
    EXPECT_GT(record["height"].get<int>(), 0);
    ASSERT_EQ(record["scores"].size(), 20u);
    // scores keep vocabulary order
    EXPECT_EQ(record["scores"].begin().key(), "aeroplane");
    ASSERT_FALSE(record["tags"].empty());
    double previous = 2.0;
    for (const auto& tag : record["tags"]) {
      const double score = tag["score"];
      EXPECT_LE(score, previous);
      previous = score;
      EXPECT_EQ(record["scores"][tag["label"].get<std::string>()].get<double>(), score);
    }
  }
  EXPECT_NE(result.err.find("images 3, tagged 3, failed 0"), std::string::npos) << result.err;
}

TEST_F(TagCommand, BadImagesGiveErrorRecordsAndExitOne) {
  const std::string bomb = dir_ + "/bomb.png";
  const std::vector<unsigned char> png = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1A, '\n', 0,    0, 0,
                                          13,   'I',  'H', 'D', 'R',  0,    0,    0x4E, 0x20, 0, 0,
                                          0x4E, 0x20, 8,   2,   0,    0,    0,    0,    0,    0, 0};
  std::ofstream(bomb, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), png.size());
  const auto result =
      tag(image("empty.jpg") + " " + image("truncated.jpg") + " " + image("not_an_image.png") +
          " " + bomb + " /no/such.jpg " + image("squirrel_small.jpg"));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const auto records = parse_lines(result.out);
  ASSERT_EQ(records.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(records[i].contains("error")) << records[i];
    EXPECT_FALSE(records[i].contains("tags")) << records[i];
  }
  EXPECT_NE(records[3]["error"].get<std::string>().find("20000x20000"), std::string::npos);
  EXPECT_EQ(records[4]["error"], "no such file or folder");
  EXPECT_TRUE(records[5].contains("tags"));
  EXPECT_NE(result.err.find("failed 5"), std::string::npos) << result.err;
}

// The inputs of the resume tests: six photos, so a run killed after a few records has more
// to do.
std::string resume_inputs() {
  std::string inputs;
  for (const char* name : {"squirrel_small.jpg", "gray.png", "messi.jpg", "basketball_gray.jpg",
                           "fruits.jpg", "building_portrait.jpg"})
    inputs += image(name) + " ";
  return inputs;
}

// A run cut mid-record (the writer emits each record with one write(2), so only a crash of the
// machine or a full disk leaves half a line): cut inside each of the first three records.
TEST_F(TagCommand, ResumeAfterACutMidRecordGivesTheUninterruptedRecords) {
  const auto full = tag(resume_inputs() + " -o " + dir_ + "/full.jsonl");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string expected = read_all(dir_ + "/full.jsonl");
  size_t line_start = 0;
  for (int record = 0; record < 3; ++record) {
    const size_t line_end = expected.find('\n', line_start) + 1;
    for (const size_t cut : {line_start + 1, (line_start + line_end) / 2, line_end - 1}) {
      SCOPED_TRACE("cut at byte " + std::to_string(cut) + " of record " + std::to_string(record));
      std::ofstream(dir_ + "/cut.jsonl", std::ios::trunc) << expected.substr(0, cut);
      const auto resumed = tag(resume_inputs() + " --resume -o " + dir_ + "/cut.jsonl");
      ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
      EXPECT_EQ(read_all(dir_ + "/cut.jsonl"), expected);
      EXPECT_NE(resumed.err.find("skipped " + std::to_string(record)), std::string::npos)
          << resumed.err;
    }
    line_start = line_end;
  }
}

// Real SIGKILLs at chosen points: as soon as the output exists (no record yet), and once it
// holds its first, second and third complete record; each run is then resumed.
TEST_F(TagCommand, ResumeAfterKillGivesTheUninterruptedRecords) {
  const auto full = tag(resume_inputs() + " -o " + dir_ + "/full.jsonl");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string expected = read_all(dir_ + "/full.jsonl");
  const std::string command = testing::tagclip_binary() + " tag --model " +
                              testing::fidelity_checkpoint_path() + " --bpe " + bpe_ +
                              " --threads 2 --no-cache " + resume_inputs();
  for (int records = 0; records <= 3; ++records) {
    SCOPED_TRACE("killed at " + std::to_string(records) + " records");
    const std::string killed = dir_ + "/killed-" + std::to_string(records) + ".jsonl";
    const testing::KilledRun run =
        testing::kill_when_output_holds(command + " -o " + killed, killed, records);
    ASSERT_TRUE(run.killed) << "the run ended before the kill";
    EXPECT_GE(run.lines_at_kill, records);
    EXPECT_LT(run.lines_at_kill, 6);
    const auto after_kill = tag(resume_inputs() + " --resume -o " + killed);
    ASSERT_EQ(after_kill.exit_code, 0) << after_kill.err;
    EXPECT_EQ(read_all(killed), expected);
    EXPECT_NE(after_kill.err.find("skipped " + std::to_string(run.lines_at_kill)),
              std::string::npos)
        << after_kill.err;
  }
}

TEST_F(TagCommand, LabelsOutInReferenceSplitFormat) {
  const auto result = tag(image("squirrel_small.jpg") + " " + image("messi.jpg") +
                          " --labels-out " + dir_ + "/labels.txt -o " + dir_ + "/out.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto records = parse_lines(read_all(dir_ + "/out.jsonl"));
  std::istringstream labels(read_all(dir_ + "/labels.txt"));
  std::string line;
  for (const auto& record : records) {
    ASSERT_TRUE(std::getline(labels, line));
    std::istringstream fields(line);
    std::string id;
    fields >> id;
    EXPECT_EQ(id, fs::path(record["image"].get<std::string>()).stem().string());
    std::vector<int> from_file;
    std::set<int> from_json;
    for (int index; fields >> index;) from_file.push_back(index);
    for (const auto& tag : record["tags"]) from_json.insert(tag["index"].get<int>());
    // The tags' classes in ascending order, as classify.py --save_file writes them.
    EXPECT_EQ(from_file, std::vector<int>(from_json.begin(), from_json.end()));
  }
}

TEST_F(TagCommand, LabelsOutAfterResumeFallsBackToTheRecordsArgMax) {
  // Every tag filtered out, then a resumed run: labels must be each record's arg max.
  const std::string out = dir_ + "/filtered.jsonl";
  ASSERT_EQ(tag(image("squirrel_small.jpg") + " --min-score 2 -o " + out).exit_code, 0);
  const auto resumed = tag(image("squirrel_small.jpg") + " --min-score 2 --resume -o " + out +
                           " --labels-out " + dir_ + "/labels.txt");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  // ordered_json: "scores" in file order, which is vocabulary order.
  const auto record = nlohmann::ordered_json::parse(read_all(out));
  ASSERT_TRUE(record["tags"].empty());
  int arg_max = 0, index = 0;
  double best = -1.0;
  for (const auto& entry : record["scores"].items()) {
    if (entry.value().get<double>() > best) {
      best = entry.value().get<double>();
      arg_max = index;
    }
    ++index;
  }
  EXPECT_EQ(read_all(dir_ + "/labels.txt"), "squirrel_small " + std::to_string(arg_max) + "\n");
}

TEST_F(TagCommand, FoldersStdinListsAndSplitFiles) {
  fs::create_directories(dir_ + "/photos/sub");
  fs::copy_file(image("gray.png"), dir_ + "/photos/sub/B.PNG");
  fs::copy_file(image("squirrel_small.jpg"), dir_ + "/photos/a.jpg");
  std::ofstream(dir_ + "/photos/notes.txt") << "not an image";
  const auto folder = tag(dir_ + "/photos");
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  const auto records = parse_lines(folder.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["image"], dir_ + "/photos/a.jpg");
  EXPECT_EQ(records[1]["image"], dir_ + "/photos/sub/B.PNG");

  // An empty list on stdin is tagclip's usage error (the file must exist: a missing one
  // would be the shell's exit 2, not tagclip's).
  std::ofstream(dir_ + "/list.txt").close();
  const auto from_stdin = tag("- < " + dir_ + "/list.txt");
  EXPECT_EQ(from_stdin.exit_code, 2) << from_stdin.err;
  EXPECT_NE(from_stdin.err.find("tagclip: no images to tag"), std::string::npos) << from_stdin.err;
  std::ofstream(dir_ + "/list.txt") << dir_ << "/photos/a.jpg\n";
  const auto listed = tag("- < " + dir_ + "/list.txt");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(parse_lines(listed.out).size(), 1u);

  std::ofstream(dir_ + "/split.txt") << "a 14\n";
  const auto split = tag("--split-file " + dir_ + "/split.txt --image-root " + dir_ + "/photos");
  ASSERT_EQ(split.exit_code, 0) << split.err;
  EXPECT_EQ(parse_lines(split.out)[0]["image"], dir_ + "/photos/a.jpg");

  fs::create_directories(dir_ + "/empty");
  const auto empty = tag(dir_ + "/empty");
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("holds no images"), std::string::npos) << empty.err;
}

// The fidelity checkpoint's seeded weights score fruits.jpg, on this vocabulary, traffic light
// 0.045 > sky 0.020 > cat 0.0017 > teddy bear 0.0005 (the same on every machine); with
// --threshold 0 every class above the minimum is a tag.
TEST_F(TagCommand, CustomVocabularyTopKAndMinScore) {
  std::ofstream(dir_ + "/classes.txt") << "# custom\ntraffic light\nteddy bear\nsky\ncat\n";
  auto labels = [&](const std::string& options) {
    const auto result = tag("--classes " + dir_ + "/classes.txt --threshold 0 " + options + " " +
                            image("fruits.jpg"));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto record = parse_lines(result.out).at(0);
    EXPECT_EQ(record["scores"].size(), 4u);
    std::vector<std::string> names;
    for (const auto& tag : record["tags"]) names.push_back(tag["label"]);
    return names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(labels(""), (Names{"traffic light", "sky", "cat"}));
  EXPECT_EQ(labels("--top-k 2"), (Names{"traffic light", "sky"}));
  EXPECT_EQ(labels("--min-score 0.01"), (Names{"traffic light", "sky"}));
  EXPECT_EQ(labels("--top-k 1 --min-score 0.01"), (Names{"traffic light"}));
  EXPECT_EQ(labels("--min-score 2"), Names{});
}

TEST_F(TagCommand, VocabularyAndModelProblemsExitThree) {
  std::ofstream(dir_ + "/dup.txt") << "cat\ndog\ncat\n";
  const auto dup = tag("--classes " + dir_ + "/dup.txt " + image("gray.png"));
  EXPECT_EQ(dup.exit_code, 3);
  EXPECT_NE(dup.err.find(dir_ + "/dup.txt:3: duplicate class 'cat'"), std::string::npos) << dup.err;
  EXPECT_TRUE(dup.out.empty()) << "no partial JSON line: " << dup.out;

  std::ofstream(dir_ + "/empty.txt") << "\n# only a comment\n";
  EXPECT_EQ(tag("--classes " + dir_ + "/empty.txt " + image("gray.png")).exit_code, 3);

  const auto no_model = testing::run_command(testing::tagclip_binary() + " tag --model " + dir_ +
                                             "/absent.pt --bpe " + bpe_ + " " + image("gray.png"));
  EXPECT_EQ(no_model.exit_code, 3);
  EXPECT_NE(no_model.err.find(dir_ + "/absent.pt: no such file"), std::string::npos)
      << no_model.err;

  const auto bad_option = tag("--method nonsense " + image("gray.png"));
  EXPECT_EQ(bad_option.exit_code, 2);
  const auto cuda = tag("--device cuda:7 " + image("gray.png"));
  EXPECT_EQ(cuda.exit_code, 2);
  EXPECT_NE(cuda.err.find("cuda"), std::string::npos);
}

TEST_F(TagCommand, VisualizeWritesOnePngPerTaggedImage) {
  const auto result = tag(image("squirrel_small.jpg") + " " + image("empty.jpg") + " --visualize " +
                          dir_ + "/vis -o " + dir_ + "/o.jsonl");
  EXPECT_EQ(result.exit_code, 1) << result.err;  // empty.jpg fails
  EXPECT_TRUE(fs::exists(dir_ + "/vis/squirrel_small.png"));
  EXPECT_FALSE(fs::exists(dir_ + "/vis/empty.png"));
  const cv::Mat sheet = cv::imread(dir_ + "/vis/squirrel_small.png");
  const auto record = parse_lines(read_all(dir_ + "/o.jsonl")).at(0);
  EXPECT_EQ(sheet.rows, 256);
  // The image panel and one panel per tag, all the image's aspect ratio.
  EXPECT_NEAR(sheet.cols,
              (1 + record["tags"].size()) * 256.0 * record["width"].get<double>() /
                  record["height"].get<double>(),
              1.0 + record["tags"].size());
}

TEST_F(TagCommand, MetaOutDescribesTheRun) {
  const auto result =
      tag(image("gray.png") + " --meta-out " + dir_ + "/meta.json -o " + dir_ + "/o.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto meta = nlohmann::json::parse(read_all(dir_ + "/meta.json"));
  EXPECT_EQ(meta["vocabulary"], "voc");
  EXPECT_EQ(meta["images_tagged"], 1);
  EXPECT_EQ(meta["classes"].size(), 20u);
  EXPECT_EQ(parse_lines(read_all(dir_ + "/o.jsonl")).size(), 1u);  // metadata not in the stream
}

// Another model file at the same path with the same size and modification time (a copy
// with cp -p, a re-download with its server time) must not reuse the first model's cached
// text embeddings: the cached run equals a --no-cache run.
TEST_F(TagCommand, ACachedRunOfAnotherModelWithTheSameSizeAndTimeEqualsNoCache) {
  RandomCheckpointSpec other = testing::fidelity_spec();
  other.seed = 1;
  const std::string first = testing::fidelity_checkpoint_path();
  const std::string second = testing::random_checkpoint_path(other, "fidelity");
  ASSERT_EQ(fs::file_size(first), fs::file_size(second)) << "the case needs equal sizes";
  const std::string model = dir_ + "/model.pt", cache = dir_ + "/cache";
  const std::string common = testing::tagclip_binary() + " tag --bpe " + bpe_ +
                             " --threads 2 --model " + model + " " + image("messi.jpg");
  fs::copy_file(first, model);
  const auto stamp = fs::last_write_time(model);
  ASSERT_EQ(testing::run_command(common + " --cache-dir " + cache).exit_code, 0);
  fs::copy_file(second, model, fs::copy_options::overwrite_existing);
  fs::last_write_time(model, stamp);
  const auto cached = testing::run_command(common + " --cache-dir " + cache);
  const auto uncached = testing::run_command(common + " --no-cache");
  ASSERT_EQ(cached.exit_code, 0) << cached.err;
  EXPECT_EQ(cached.out, uncached.out);
}

// A file-hashes.json with the wrong value types is recomputed, not the end of every run.
TEST_F(TagCommand, ADamagedCacheIndexIsRebuilt) {
  const std::string cache = dir_ + "/cache";
  const std::string command = testing::tagclip_binary() + " tag --bpe " + bpe_ +
                              " --threads 2 --model " + testing::fidelity_checkpoint_path() +
                              " --cache-dir " + cache + " " + image("messi.jpg");
  const auto first = testing::run_command(command);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  nlohmann::json index = nlohmann::json::parse(read_all(cache + "/file-hashes.json"));
  for (auto& entry : index) entry = {{"size", "large"}, {"mtime_ns", nullptr}, {"sha256", 7}};
  std::ofstream(cache + "/file-hashes.json", std::ios::trunc) << index.dump();
  const auto second = testing::run_command(command);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
}

}  // namespace
}  // namespace tagclip
