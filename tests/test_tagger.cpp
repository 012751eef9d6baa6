// The library API (tagclip.h) on the fidelity checkpoint: configuration checks, records of
// good and bad images, decoded pixels, streaming several files, and one Tagger shared by
// threads.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "tagclip/model/random_checkpoint.h"
#include "tagclip/tagclip.h"
#include "test_support.h"

namespace tagclip {
namespace {

class TaggerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TaggerConfig config;
    config.model_path = testing::fidelity_checkpoint_path();
    config.bpe_path = testing::bpe_vocabulary_path();
    config.cache_dir = testing::make_scratch_dir("tagger-cache");
    config.threads = 2;
    tagger_ = std::make_unique<Tagger>(Tagger::load(config));
  }
  static void TearDownTestSuite() { tagger_.reset(); }
  static std::unique_ptr<Tagger> tagger_;
};
std::unique_ptr<Tagger> TaggerTest::tagger_;

std::string photo(const std::string& name) { return testing::data_path("images/" + name); }

TEST(TaggerConfig, ValidateNamesTheField) {
  auto field_of = [](const TaggerConfig& config) {
    try {
      config.validate();
    } catch (const OptionError& e) {
      return e.option();
    }
    return std::string("valid");
  };
  EXPECT_EQ(field_of(TaggerConfig()), "valid");
  const std::vector<std::pair<std::string, std::function<void(TaggerConfig&)>>> cases = {
      {"threads", [](TaggerConfig& c) { c.threads = 0; }},
      {"label_ratio", [](TaggerConfig& c) { c.label_ratio = 1.5; }},
      {"candidate_ratio", [](TaggerConfig& c) { c.candidate_ratio = -0.1; }},
      {"top_k", [](TaggerConfig& c) { c.top_k = 0; }},
      {"max_side", [](TaggerConfig& c) { c.max_side = 0; }},
      {"vote_count", [](TaggerConfig& c) { c.vote_count = -1; }}};
  for (const auto& [field, spoil] : cases) {
    TaggerConfig config;
    spoil(config);
    EXPECT_EQ(field_of(config), field);
  }
  EXPECT_NE(TaggerConfig().to_string().find("classes=voc"), std::string::npos);
}

TEST(TaggerConfig, LoadRefusesAVoteCountAboveTheModelsDepth) {
  TaggerConfig config;
  config.model_path = testing::fidelity_checkpoint_path();
  config.bpe_path = testing::bpe_vocabulary_path();
  config.cache_dir.reset();
  config.vote_count = 13;
  try {
    Tagger::load(config);
    FAIL() << "accepted";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "vote_count");
    EXPECT_EQ(e.problem(), "13 is more than the 12 blocks of this model");
  }
}

// The fidelity checkpoint with `edit` applied to its weights, saved under `name`, as a
// config for Tagger::load (no cache, two threads).
TaggerConfig config_with_edited_weights(const std::string& name,
                                        const std::function<void(StateDict&)>& edit) {
  StateDict state = random_state_dict(testing::fidelity_spec());
  edit(state);
  TaggerConfig config;
  config.model_path = testing::make_scratch_dir("edited-weights-" + name) + "/" + name + ".pt";
  save_state_dict(state, config.model_path);
  config.bpe_path = testing::bpe_vocabulary_path();
  config.cache_dir.reset();
  config.threads = 2;
  return config;
}

// A checkpoint whose projection is NaN scores every class NaN: each image is an error record,
// not a record with null scores and an invented tag.
TEST(TaggerNonFinite, NanWeightsGiveErrorRecords) {
  TaggerConfig config = config_with_edited_weights("nan", [](StateDict& state) {
    state["visual.proj"].fill_(std::numeric_limits<float>::quiet_NaN());
  });
  for (const TagclipMethod method : {TagclipMethod::kGlobal, TagclipMethod::kTagclip}) {
    config.method = method;
    const TagRecord record = Tagger::load(config).tag_file(photo("squirrel_small.jpg"));
    EXPECT_FALSE(record.tagged()) << to_json(record);
    EXPECT_EQ(record.error, "the model gave non-finite scores (NaN or infinite weights?)");
    EXPECT_TRUE(record.tags.empty());
  }
}

// Images one patch high or wide (16 pixels under patch 16): DMAR's boxes lose the grid's
// last row and column, so the reference scores every class 0 there and its label rule then
// invents class 0. dmar and tagclip encode such images two patches high and wide, and
// scores that still all tie are an error record.
class TaggerTinyImages : public ::testing::Test {
 protected:
  static Tagger demo_tagger(TagclipMethod method) {
    TaggerConfig config;
    config.model_path = testing::committed_file("models/demo-clip.pt");
    config.classes = testing::committed_file("models/demo_classes.txt");
    config.bpe_path = testing::bpe_vocabulary_path();
    config.cache_dir.reset();
    config.threads = 2;
    config.method = method;
    return Tagger::load(config);
  }
  static cv::Mat scene(int height, int width) {
    const cv::Mat bgr =
        cv::imread(testing::data_path("synthetic_voc/JPEGImages/000001.jpg"), cv::IMREAD_COLOR);
    cv::Mat small, rgb;
    cv::resize(bgr, small, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    cv::cvtColor(small, rgb, cv::COLOR_BGR2RGB);
    return rgb;
  }
};

TEST_F(TaggerTinyImages, DmarMethodsGiveRealScoresOnOnePatchHighImages) {
  for (const TagclipMethod method : {TagclipMethod::kDmar, TagclipMethod::kTagclip}) {
    const Tagger tagger = demo_tagger(method);
    for (const auto& [height, width] : {std::pair{16, 16}, {12, 12}, {16, 96}, {80, 9}}) {
      const std::string name = std::to_string(height) + "x" + std::to_string(width);
      const TagRecord record = tagger.tag_image(scene(height, width), name);
      ASSERT_TRUE(record.tagged()) << name << ": " << record.error;
      double lowest = record.scores[0].second, highest = lowest;
      for (const auto& [label, score] : record.scores) {
        lowest = std::min(lowest, score);
        highest = std::max(highest, score);
      }
      EXPECT_GT(highest, lowest) << name << " under " << to_string(method);
      ASSERT_FALSE(record.tags.empty()) << name;
      EXPECT_GT(record.tags[0].score, 0.0) << name << " under " << to_string(method);
    }
  }
}

// A checkpoint whose text tower ends in a zero LayerNorm gain embeds every class alike (its
// bias, projected): every class scores alike, which the label rule would have turned into
// a tag for class 0.
TEST(TaggerTies, ScoresThatAllTieAreAnErrorRecordNotATag) {
  TaggerConfig config = config_with_edited_weights(
      "alike-classes", [](StateDict& state) { state["ln_final.weight"].zero_(); });
  config.method = TagclipMethod::kGlobal;
  const TagRecord record = Tagger::load(config).tag_file(photo("squirrel_small.jpg"));
  EXPECT_FALSE(record.tagged()) << to_json(record);
  EXPECT_NE(record.error.find("the method found nothing to rank"), std::string::npos)
      << record.error;
  EXPECT_TRUE(record.tags.empty());
}

TEST_F(TaggerTest, TagsAFileAndReportsABadOneAsARecord) {
  const TagRecord record = tagger_->tag_file(photo("squirrel_small.jpg"));
  ASSERT_TRUE(record.tagged()) << record.error;
  EXPECT_EQ(record.image, photo("squirrel_small.jpg"));
  EXPECT_GT(record.width, 0);
  EXPECT_EQ(record.scores.size(), 20u);
  ASSERT_FALSE(record.tags.empty());
  EXPECT_EQ(record.tags[0].label, record.scores[record.tags[0].index].first);
  EXPECT_EQ(record.tags[0].score, record.scores[record.tags[0].index].second);

  const TagRecord missing = tagger_->tag_file("/no/such/photo.jpg");
  EXPECT_FALSE(missing.tagged());
  EXPECT_EQ(missing.error, "no such file");  // the path is data, not part of the message
  EXPECT_EQ(tagger_->tag_file(photo("empty.jpg")).error, "file is empty (0 bytes)");
}

TEST_F(TaggerTest, DecodedPixelsGiveTheFilesRecord) {
  const TagRecord from_file = tagger_->tag_file(photo("messi.jpg"));
  const TagRecord from_pixels = tagger_->tag_image(decode_image(photo("messi.jpg")), "messi");
  EXPECT_EQ(from_pixels.image, "messi");
  EXPECT_EQ(from_pixels.scores, from_file.scores);
  EXPECT_EQ(to_json(from_pixels)["tags"], to_json(from_file)["tags"]);
  const TagRecord bad = tagger_->tag_image(cv::Mat(4, 4, CV_8UC1), "gray-bytes");
  EXPECT_FALSE(bad.tagged());
}

TEST_F(TaggerTest, TagFilesStreamsEveryRecordInOrder) {
  const std::vector<std::string> paths = {photo("gray.png"), photo("not_an_image.png"),
                                          photo("fruits.jpg")};
  std::vector<std::string> seen;
  tagger_->tag_files(paths, [&](const TagRecord& record, size_t done, size_t total) {
    EXPECT_EQ(done, seen.size() + 1);
    EXPECT_EQ(total, 3u);
    seen.push_back(record.image);
    EXPECT_EQ(record.tagged(), record.image != photo("not_an_image.png"));
  });
  EXPECT_EQ(seen, paths);
}

// One Tagger, four threads: every thread's records equal the single-threaded ones.
TEST_F(TaggerTest, OneTaggerServesSeveralThreads) {
  const std::vector<std::string> names = {"squirrel_small.jpg", "messi.jpg", "gray.png",
                                          "fruits.jpg"};
  std::vector<nlohmann::ordered_json> expected, got(names.size());
  for (const std::string& name : names) expected.push_back(to_json(tagger_->tag_file(photo(name))));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i)
    threads.emplace_back([&, i] { got[i] = to_json(tagger_->tag_file(photo(names[i]))); });
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(got[i]["tags"], expected[i]["tags"]) << names[i];
    for (const auto& [label, score] : expected[i]["scores"].items())
      EXPECT_NEAR(got[i]["scores"][label].get<double>(), score.get<double>(), 1e-5) << label;
  }
}

}  // namespace
}  // namespace tagclip
