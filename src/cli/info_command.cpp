#include "info_command.h"

#include <iostream>
#include <memory>

#include "exit_codes.h"
#include "tagclip/model/checkpoint.h"
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
      "Print the architecture of a CLIP ViT checkpoint (width, layers, heads, patch, "
      "input size, embedding size, context, vocabulary, parameters, stored dtype).");
  info->add_option("-m,--model", options->model_path,
                   "OpenAI CLIP ViT checkpoint (TorchScript .pt). Default: $TAGCLIP_MODEL or "
                   "models/ViT-B-16.pt")
      ->capture_default_str();
  info->add_flag("--json", options->json, "Print one JSON object instead of a table");
  info->callback([options, &exit_code] {
    const StateDict state = load_state_dict(options->model_path);
    const ClipArchitecture arch = infer_architecture(state, options->model_path);
    if (options->json) {
      nlohmann::json out = arch.to_json();
      out["model"] = options->model_path;
      out["cuda_compiled_in"] = cuda_compiled_in();
      std::cout << out.dump(2) << std::endl;
    } else {
      std::cout << "model             " << options->model_path << "\n" << arch.to_string();
    }
    exit_code = kExitOk;
  });
}

}  // namespace tagclip::cli
