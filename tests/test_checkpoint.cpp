// Loading checkpoints: architecture inference and the errors a user sees for bad files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tagclip/checkpoint.h"
#include "tagclip/errors.h"
#include "tagclip/random_checkpoint.h"
#include "test_support.h"

namespace tagclip {
namespace {

RandomCheckpointSpec tiny_spec() {
  RandomCheckpointSpec spec;
  spec.vision_width = 64;
  spec.vision_layers = 3;
  spec.patch_size = 32;
  spec.grid_size = 7;
  spec.embed_dim = 32;
  spec.text_width = 64;
  spec.text_layers = 1;
  spec.vocab_size = 500;
  return spec;
}

// Writes tiny_spec() after `edit` and returns the path.
std::string write_edited(const std::string& name, const std::function<void(StateDict&)>& edit) {
  StateDict state = random_state_dict(tiny_spec());
  edit(state);
  const std::string path = testing::make_scratch_dir("checkpoint-errors") + "/" + name + ".pt";
  save_state_dict(state, path);
  return path;
}

// Expects load + infer to throw ModelError whose message names `path` and `needle`.
void expect_model_error(const std::string& path, const std::string& needle) {
  try {
    infer_architecture(load_state_dict(path), path);
    FAIL() << "no error for " << path;
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, InfersArchitectureFromShapes) {
  const std::string path = write_edited("ok", [](StateDict&) {});
  const ClipArchitecture arch = infer_architecture(load_state_dict(path), path);
  EXPECT_EQ(arch.vision_width, 64);
  EXPECT_EQ(arch.vision_layers, 3);
  EXPECT_EQ(arch.vision_heads, 1);
  EXPECT_EQ(arch.patch_size, 32);
  EXPECT_EQ(arch.grid_size, 7);
  EXPECT_EQ(arch.input_resolution, 224);
  EXPECT_EQ(arch.embed_dim, 32);
  EXPECT_EQ(arch.text_layers, 1);
  EXPECT_EQ(arch.text_heads, 1);
  EXPECT_EQ(arch.context_length, 77);
  EXPECT_EQ(arch.vocab_size, 500);
  EXPECT_EQ(arch.stored_dtype, "float16");
  EXPECT_EQ(arch.release_name(), "custom ViT");
}

TEST(Checkpoint, NamesReleasedShapes) {
  ClipArchitecture arch;
  arch.vision_width = 768;
  arch.vision_layers = 12;
  arch.patch_size = 16;
  arch.input_resolution = 224;
  EXPECT_EQ(arch.release_name(), "ViT-B/16");
  arch.vision_width = 1024;
  arch.vision_layers = 24;
  arch.patch_size = 14;
  arch.input_resolution = 336;
  EXPECT_EQ(arch.release_name(), "ViT-L/14@336px");
}

TEST(Checkpoint, ToleratesExtraEntries) {
  const std::string path = write_edited("extra", [](StateDict& s) {
    s["some.unknown.tensor"] = at::zeros({3});
    s.erase("input_resolution");
  });
  EXPECT_NO_THROW(infer_architecture(load_state_dict(path), path));
}

TEST(Checkpoint, MissingTensorIsNamed) {
  const std::string path = write_edited(
      "missing", [](StateDict& s) { s.erase("visual.transformer.resblocks.1.mlp.c_fc.bias"); });
  expect_model_error(path, "visual.transformer.resblocks.1.mlp.c_fc.bias");
}

TEST(Checkpoint, MisShapedTensorIsNamedWithShapes) {
  const std::string path = write_edited("misshaped", [](StateDict& s) {
    s["text_projection"] = at::zeros({64, 31}, at::kHalf);
    s["visual.ln_post.weight"] = at::zeros({65});
  });
  expect_model_error(path, "visual.ln_post.weight");
  expect_model_error(path, "[65]");
}

TEST(Checkpoint, ResNetClipIsRejected) {
  const std::string path = write_edited("resnet", [](StateDict& s) {
    s.erase("visual.proj");
    s["visual.layer1.0.conv1.weight"] = at::zeros({64, 64, 1, 1});
    s["visual.attnpool.c_proj.weight"] = at::zeros({32, 64});
  });
  expect_model_error(path, "ResNet");
}

TEST(Checkpoint, NotAnArchive) {
  const std::string dir = testing::make_scratch_dir("checkpoint-bad-files");
  const std::string text_file = dir + "/notes.pt";
  std::ofstream(text_file) << "this is not a checkpoint\n";
  expect_model_error(text_file, "not a TorchScript archive");
  const std::string empty_file = dir + "/empty.pt";
  std::ofstream{empty_file};
  expect_model_error(empty_file, "empty");
  expect_model_error(dir + "/absent.pt", "no such file");
  expect_model_error(dir, "directory");
}

TEST(Checkpoint, WidenedWeightsEqualStoredHalves) {
  const std::string path = write_edited("widen", [](StateDict&) {});
  const StateDict state = load_state_dict(path);
  const at::Tensor stored = state.at("visual.proj");
  EXPECT_EQ(stored.scalar_type(), at::kHalf);
  EXPECT_TRUE(at::equal(stored.to(at::kFloat).to(at::kHalf), stored));
}

TEST(InfoCommand, PrintsArchitectureAsJson) {
  const std::string path = write_edited("info", [](StateDict&) {});
  const auto result =
      testing::run_command(testing::tagclip_binary() + " info --json --model " + path);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json info = nlohmann::json::parse(result.out);
  EXPECT_EQ(info["vision"]["width"], 64);
  EXPECT_EQ(info["vision"]["layers"], 3);
  EXPECT_EQ(info["vision"]["heads"], 1);
  EXPECT_EQ(info["vision"]["patch_size"], 32);
  EXPECT_EQ(info["vision"]["input_resolution"], 224);
  EXPECT_EQ(info["text"]["context_length"], 77);
  EXPECT_EQ(info["text"]["vocab_size"], 500);
  EXPECT_EQ(info["embed_dim"], 32);
  EXPECT_EQ(info["stored_dtype"], "float16");
  EXPECT_GT(info["parameters"].get<int64_t>(), 0);
}

TEST(InfoCommand, TableNamesEveryField) {
  const std::string path = write_edited("info-table", [](StateDict&) {});
  const auto result = testing::run_command(testing::tagclip_binary() + " info --model " + path);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* field : {"width 64", "layers 3", "heads 1", "patch 32", "input 224x224",
                            "embedding size    32", "context 77", "vocabulary 500", "float16"})
    EXPECT_NE(result.out.find(field), std::string::npos) << field << "\n" << result.out;
}

TEST(InfoCommand, BadModelExitsThreeWithOneLine) {
  const std::string dir = testing::make_scratch_dir("info-bad");
  std::ofstream(dir + "/bad.pt") << "garbage";
  const auto result =
      testing::run_command(testing::tagclip_binary() + " info --model " + dir + "/bad.pt");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find(dir + "/bad.pt"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("frame #"), std::string::npos) << "stack trace leaked: " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST(InfoCommand, UnknownOptionIsUsageError) {
  const auto result = testing::run_command(testing::tagclip_binary() + " info --no-such-option");
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace tagclip
