// `tagclip tag --batch-size N` and `--device a,b`: batches of same-size images through one
// forward pass, and batches spread over several copies of the model, must give the records
// of one image at a time on one device, in the same order, failures included. Two CPU
// copies stand in for two GPUs: the ordering and spreading logic is the same.
#include <gtest/gtest.h>

#include <ATen/Context.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tagclip/model/device.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

constexpr double kBatchTolerance = 1e-5;

class TagBatches : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        testing::make_scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    // Three sizes, the first one five times (two of them mirrored), and a broken file in
    // the middle: batches mix sizes, hold several images of one size, and a failure.
    const cv::Mat messi = cv::imread(testing::data_path("images/messi.jpg"));
    cv::Mat mirrored, upside_down;
    cv::flip(messi, mirrored, 1);
    cv::flip(messi, upside_down, 0);
    write("a_messi.png", messi);
    write("b_squirrel.png", cv::imread(testing::data_path("images/squirrel_small.jpg")));
    write("c_mirrored.png", mirrored);
    fs::copy_file(testing::data_path("images/not_an_image.png"), images_ + "/d_broken.png");
    write("e_upside_down.png", upside_down);
    write("f_fruits.png", cv::imread(testing::data_path("images/fruits.jpg")));
    write("g_messi_again.png", messi);
    write("h_mirrored_again.png", mirrored);
  }

  void write(const std::string& name, const cv::Mat& bgr) {
    ASSERT_FALSE(bgr.empty()) << name;
    ASSERT_TRUE(cv::imwrite(images_ + "/" + name, bgr)) << name;
  }

  std::vector<nlohmann::json> tag(const std::string& args, int expected_exit = 1) {
    const auto result = testing::run_tag(images_ + " --no-cache -q " + args);
    EXPECT_EQ(result.exit_code, expected_exit) << args << "\n" << result.err;
    return testing::parse_json_lines(result.out);
  }

  static void expect_same_records(const std::vector<nlohmann::json>& expected,
                                  const std::vector<nlohmann::json>& actual,
                                  const std::string& what) {
    ASSERT_EQ(actual.size(), expected.size()) << what;
    for (size_t i = 0; i < expected.size(); ++i) {
      const nlohmann::json &e = expected[i], &a = actual[i];
      EXPECT_EQ(a["image"], e["image"]) << what;
      EXPECT_EQ(a.contains("error"), e.contains("error")) << what << " " << e["image"];
      if (e.contains("error")) continue;
      std::vector<std::string> expected_tags, actual_tags;
      for (const auto& tag : e["tags"]) expected_tags.push_back(tag["label"]);
      for (const auto& tag : a["tags"]) actual_tags.push_back(tag["label"]);
      EXPECT_EQ(actual_tags, expected_tags) << what << " " << e["image"];
      for (const auto& [label, score] : e["scores"].items())
        EXPECT_NEAR(a["scores"][label].get<double>(), score.get<double>(), kBatchTolerance)
            << what << " " << e["image"] << " " << label;
    }
  }

  std::string dir_, images_;
};

TEST_F(TagBatches, BatchesGiveTheRecordsOfOneImageAtATime) {
  const auto one_at_a_time = tag("--batch-size 1");
  ASSERT_EQ(one_at_a_time.size(), 8u);
  ASSERT_TRUE(one_at_a_time[3].contains("error"));  // d_broken.png, in its place
  EXPECT_FALSE(one_at_a_time[2].contains("error"));
  for (const char* size : {"2", "3", "8", "50"})
    expect_same_records(one_at_a_time, tag(std::string("--batch-size ") + size),
                        std::string("--batch-size ") + size);
  // A mirrored copy scores unlike its original, well beyond the tolerance, so a batch that
  // handed one image's scores to its neighbour would fail the comparison above.
  double largest = 0.0;
  for (const auto& [label, score] : one_at_a_time[0]["scores"].items())
    largest = std::max(largest, std::abs(score.get<double>() -
                                         one_at_a_time[2]["scores"][label].get<double>()));
  EXPECT_GT(largest, 100 * kBatchTolerance);
}

TEST_F(TagBatches, SeveralDevicesKeepInputOrder) {
  const auto one_device = tag("--batch-size 1");
  // Batches of one over two copies: the same arithmetic, so the same bytes of JSON.
  const auto two_copies = tag("--batch-size 1 --device cpu,cpu");
  ASSERT_EQ(two_copies.size(), one_device.size());
  for (size_t i = 0; i < one_device.size(); ++i) EXPECT_EQ(two_copies[i], one_device[i]) << i;
  expect_same_records(one_device, tag("--batch-size 3 --device cpu,cpu,cpu"),
                      "three copies, batches of 3");
}

TEST_F(TagBatches, RejectsImpossibleBatchesAndDeviceLists) {
  auto usage_error = [&](const std::string& args, const std::string& message) {
    const auto result = testing::run_tag(images_ + " --no-cache " + args);
    EXPECT_EQ(result.exit_code, 2) << args << "\n" << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << args << "\n" << result.err;
  };
  usage_error("--batch-size 0", "--batch-size");
  usage_error("--device cpu,", "empty entry");
  usage_error("--device cpu,,cpu", "empty entry");
  usage_error("--device cpu,gpu", "unknown device 'gpu'");
  if (!(cuda_compiled_in() && at::hasCUDA())) usage_error("--device cuda:all", "cuda:all");
}

TEST_F(TagBatches, SegmentSaysItTakesOneDevice) {
  const auto result = testing::run_command(
      testing::tagclip_binary() + " segment " + images_ + "/a_messi.png --model " +
      testing::fidelity_checkpoint_path() + " --bpe " + testing::bpe_vocabulary_path() +
      " --no-cache --device cpu,cpu --masks-out " + dir_ + "/masks -o " + dir_ + "/seg.jsonl");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("only tag and eval spread images over several"), std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace tagclip
