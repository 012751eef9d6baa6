// `tagclip tag`, `segment` and `info` on the committed demo CLIP written in OpenAI's, Hugging
// Face's and open_clip's layouts: the same tags, scores and maps to the last bit; a GELU
// declaration changes them; a cached run of renamed bytes never reuses another activation's
// embeddings.
#include <gtest/gtest.h>

#include <filesystem>

#include "tagclip/model/checkpoint_layouts.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

class LayoutsEndToEnd : public ::testing::Test {
 protected:
  // The demo CLIP in each layout, written once for the suite.
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::make_scratch_dir("layouts-end-to-end"));
    const LoadedCheckpoint demo = load_checkpoint(testing::committed_file("models/demo-clip.pt"));
    ClipArchitecture gelu = demo.arch;
    gelu.vision_activation = gelu.text_activation = Activation::kGelu;
    fs::create_directories(*dir_ + "/open_clip");
    fs::create_directories(*dir_ + "/open_clip_gelu");
    write_checkpoint_layout(demo.state, demo.arch, "hugging-face", *dir_ + "/hf");
    write_checkpoint_layout(demo.state, demo.arch, "open_clip",
                            *dir_ + "/open_clip/demo.safetensors");
    write_checkpoint_layout(demo.state, gelu, "open_clip",
                            *dir_ + "/open_clip_gelu/demo.safetensors");
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string model(const std::string& which) {
    if (which == "openai") return testing::committed_file("models/demo-clip.pt");
    if (which == "hf") return *dir_ + "/hf";
    return *dir_ + "/" + which + "/demo.safetensors";
  }

  // "tagclip COMMAND --model MODEL_PATH" with the demo vocabulary and 2 threads, ending in a
  // space for the rest of the arguments.
  static std::string command_line(const std::string& command, const std::string& model_path) {
    return testing::tagclip_binary() + " " + command + " --model " + model_path + " --bpe " +
           testing::bpe_vocabulary_path() + " --classes " +
           testing::committed_file("models/demo_classes.txt") + " --threads 2 ";
  }

  // `tagclip COMMAND` with the demo vocabulary on `which` model; returns the output file.
  static std::string run(const std::string& command, const std::string& which,
                         const std::string& args, const std::string& cache = "--no-cache") {
    const std::string out = *dir_ + "/" + command + "-" + which + "-" + std::to_string(runs_++);
    const auto result = testing::run_command(command_line(command, model(which)) + cache + " " +
                                             args + " -o " + out + ".jsonl");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return out;
  }

  static std::string samples() {
    return (fs::path(TAGCLIP_SOURCE_DIR) / "samples/synthetic").string();
  }

  static std::string* dir_;
  static int runs_;
};
std::string* LayoutsEndToEnd::dir_ = nullptr;
int LayoutsEndToEnd::runs_ = 0;

TEST_F(LayoutsEndToEnd, TagGivesTheSameRecordsInEveryLayout) {
  const std::string openai = testing::read_all(run("tag", "openai", samples()) + ".jsonl");
  const auto records = testing::parse_json_lines(openai);
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[0]["tags"][0]["label"], "heart");
  EXPECT_EQ(testing::read_all(run("tag", "hf", samples()) + ".jsonl"), openai);
  EXPECT_EQ(testing::read_all(run("tag", "open_clip", samples()) + ".jsonl"), openai);
}

TEST_F(LayoutsEndToEnd, GeluChangesTheScoresAndTheCacheKeepsThemApart) {
  const std::string cache = "--cache-dir " + *dir_ + "/cache";
  const auto quick = testing::parse_json_lines(
      testing::read_all(run("tag", "open_clip", samples(), cache) + ".jsonl"));
  const auto gelu = testing::parse_json_lines(
      testing::read_all(run("tag", "open_clip_gelu", samples(), cache) + ".jsonl"));
  ASSERT_EQ(quick.size(), gelu.size());
  for (size_t i = 0; i < quick.size(); ++i) {
    const double a = quick[i]["scores"]["heart"], b = gelu[i]["scores"]["heart"];
    EXPECT_NE(a, b) << "GELU and QuickGELU gave the same score on image " << i;
  }
  // One file without a config, under a name that reads as GELU and one that reads as
  // QuickGELU: the same bytes, so a cache keyed by bytes alone would serve the second run the
  // first one's embeddings. A cache hit must give what --no-cache gives.
  const std::string renamed = *dir_ + "/renamed";
  fs::create_directories(renamed);
  for (const char* name : {"open_clip_ViT-B-16.safetensors", "demo.safetensors"})
    fs::copy_file(model("open_clip"), renamed + "/" + name, fs::copy_options::overwrite_existing);
  const auto run_renamed = [&](const std::string& name, const std::string& cache_args) {
    const std::string out = renamed + "/tags-" + std::to_string(runs_++) + ".jsonl";
    const auto result = testing::run_command(command_line("tag", renamed + "/" + name) +
                                             cache_args + " " + samples() + " -o " + out);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return testing::read_all(out);
  };
  const std::string renamed_cache = "--cache-dir " + renamed + "/cache";
  const std::string as_gelu = run_renamed("open_clip_ViT-B-16.safetensors", renamed_cache);
  const std::string as_quick = run_renamed("demo.safetensors", renamed_cache);
  EXPECT_NE(as_gelu, as_quick);
  EXPECT_EQ(as_quick, run_renamed("demo.safetensors", "--no-cache"));

  // Nor may a resumed run append QuickGELU records to a GELU run's output.
  const std::string out = renamed + "/resumed.jsonl";
  ASSERT_EQ(testing::run_command(command_line("tag", renamed + "/open_clip_ViT-B-16.safetensors") +
                                 "--no-cache -o " + out + " " + samples() + "/01_heart_diamond.jpg")
                .exit_code,
            0);
  const auto resumed = testing::run_command(command_line("tag", renamed + "/demo.safetensors") +
                                            "--no-cache --resume -o " + out + " " + samples());
  EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
  EXPECT_NE(resumed.err.find("weights"), std::string::npos) << resumed.err;
}

TEST_F(LayoutsEndToEnd, SegmentWritesTheSameMapsInEveryLayout) {
  const std::string image = samples() + "/04_arrow_bolt.jpg";
  auto maps = [&](const std::string& which) {
    run("segment", which, image + " --cams-out " + *dir_ + "/cams-" + which);
    return testing::read_all(*dir_ + "/cams-" + which + "/04_arrow_bolt.npz");
  };
  const std::string openai = maps("openai");
  ASSERT_FALSE(openai.empty());
  EXPECT_EQ(maps("hf"), openai);
  EXPECT_EQ(maps("open_clip"), openai);
}

TEST_F(LayoutsEndToEnd, InfoSaysTheLayoutAndHowItWasRecognised) {
  const auto text = testing::run_command(testing::tagclip_binary() + " info -m " + model("hf"));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("layout            Hugging Face"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("config.json vision_config.hidden_act = quick_gelu"), std::string::npos)
      << text.out;
  const auto json_out = testing::run_command(testing::tagclip_binary() + " info --json -m " +
                                             model("open_clip_gelu"));
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  const auto info = nlohmann::json::parse(json_out.out);
  EXPECT_EQ(info["layout"], "open_clip");
  EXPECT_EQ(info["vision"]["activation"], "GELU");
  EXPECT_EQ(info["files"].size(), 2u);
  const auto bad =
      testing::run_command(testing::tagclip_binary() + " tag --model " + *dir_ + " " + samples());
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("is a folder without model.safetensors"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace tagclip
