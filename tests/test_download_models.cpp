// scripts/download_models.sh knows the common model names and where each comes from; its
// --dry-run prints the URLs and files without touching the network.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

namespace tagclip {
namespace {

std::string script() {
  return (std::filesystem::path(TAGCLIP_SOURCE_DIR) / "scripts/download_models.sh").string();
}

TEST(DownloadModels, ListsOpenAiHuggingFaceAndOpenClipNames) {
  const auto list = testing::run_command(script() + " --list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* line :
       {"ViT-B/16  OpenAI TorchScript", "hf/ViT-B/16  hf:openai/clip-vit-base-patch16",
        "laion/ViT-H-14  open_clip:laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
        "datacomp/ViT-L-14  open_clip:laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K"})
    EXPECT_NE(list.out.find(line), std::string::npos) << line << "\n" << list.out;
}

TEST(DownloadModels, DryRunNamesEachFileAndTheModelPathToUse) {
  const std::string dest = testing::make_scratch_dir("download-dry-run");
  const auto run = testing::run_command("TAGCLIP_MODELS_DIR=" + dest + " " + script() +
                                        " --dry-run laion/ViT-B-16 hf:someone/clip-x ViT-L/14");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string laion = dest + "/laion--CLIP-ViT-B-16-laion2B-s34B-b88K";
  for (const std::string& line :
       {"https://huggingface.co/laion/CLIP-ViT-B-16-laion2B-s34B-b88K/resolve/main/"
        "open_clip_model.safetensors -> " +
            laion + "/open_clip_model.safetensors",
        "use: --model " + laion,
        "https://huggingface.co/someone/clip-x/resolve/main/config.json -> " + dest +
            "/someone--clip-x/config.json",
        "/ViT-L-14.pt -> " + dest + "/ViT-L-14.pt"})
    EXPECT_NE(run.out.find(line), std::string::npos) << line << "\n" << run.out;
  EXPECT_FALSE(std::filesystem::exists(laion)) << "a dry run created the model folder";

  const auto unknown = testing::run_command(script() + " --dry-run ViT-Q/99");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown model 'ViT-Q/99'"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace tagclip
