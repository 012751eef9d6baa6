#include "info_command.h"

#include <iostream>
#include <memory>

#include "exit_codes.h"
#include "tagclip/model/checkpoint_layouts.h"
#include "tagclip/model/default_paths.h"
#include "tagclip/model/device.h"

namespace tagclip::cli {
namespace {

struct InfoOptions {
  std::string model_path = default_model_path();
  bool json = false;
};

}  // namespace

void register_info_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* info = app.add_subcommand(
      "info",
      "Print the architecture of a CLIP ViT checkpoint (layout, width, layers, heads, "
      "activation, patch, input size, embedding size, context, vocabulary, parameters, stored "
      "dtype) and how each was recognised.");
  info->add_option("-m,--model", options->model_path,
                   "CLIP ViT: OpenAI's TorchScript .pt, a Hugging Face folder (config.json + "
                   "model.safetensors or pytorch_model.bin), or an open_clip state dict "
                   "(.safetensors, .bin). Default: $TAGCLIP_MODEL or models/ViT-B-16.pt")
      ->capture_default_str();
  info->add_flag("--json", options->json, "Print one JSON object instead of a table");
  info->callback([options, &exit_code] {
    const LoadedCheckpoint loaded = load_checkpoint(options->model_path);
    const CheckpointSource& source = loaded.source;
    if (options->json) {
      nlohmann::json out = loaded.arch.to_json();
      out["model"] = options->model_path;
      out["layout"] = source.layout;
      out["files"] = source.files;
      out["recognised_by"] = source.evidence;
      out["cuda_compiled_in"] = cuda_compiled_in();
      std::cout << out.dump(2) << std::endl;
    } else {
      std::cout << "model             " << options->model_path << "\n"
                << "layout            " << source.layout << "\n"
                << loaded.arch.to_string();
      for (size_t i = 0; i < source.evidence.size(); ++i)
        std::cout << (i == 0 ? "recognised by     " : "                  ") << source.evidence[i]
                  << "\n";
    }
    exit_code = kExitOk;
  });
}

}  // namespace tagclip::cli
