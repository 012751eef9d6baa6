// open_clip's CLIP ViTs: OpenAI's tensor names, with what the names cannot say (activation,
// head width) in an open_clip_config.json or the model's name. Private to src/model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tagclip/model/checkpoint.h"

namespace tagclip {

// Names as open_clip saves them, brought to OpenAI's: a training checkpoint's "module."
// prefix (DistributedDataParallel) and CustomTextCLIP's "text." prefix are removed. Tensors of
// features tagclip does not implement (timm towers, attentional pooling, LayerScale, SigLIP's
// logit_bias, Hugging Face text towers, CoCa's decoder) are a ModelError naming the feature.
StateDict open_clip_to_openai(const StateDict& state, const std::string& path);

// Head widths and activations, from the first of:
//   1. open_clip_config.json in the weights' folder (the Hugging Face hub's open_clip
//      repositories): model_cfg.quick_gelu, vision_cfg.head_width, text_cfg.heads, checked
//      against the tensors; settings tagclip does not implement are refused;
//   2. a file name "open_clip_<model>..." (open_clip_ViT-B-16.safetensors): GELU, open_clip's
//      default, unless the model name says quickgelu;
//   3. otherwise QuickGELU, as OpenAI's own weights saved as a state dict.
// Without a config, the vision head width is open_clip's for the width (80 for 1280, 88
// for 1408, 104 for 1664; 64 otherwise). `config_files` receives the config's path when one
// was read. One evidence line per decision.
ArchitectureHints open_clip_hints(const StateDict& openai_state, const std::string& weights_path,
                                  std::vector<std::string>& evidence,
                                  std::vector<std::string>& config_files);

// The open_clip_config.json that describes `arch` (model_cfg and preprocess_cfg).
nlohmann::json open_clip_config(const StateDict& openai_state, const ClipArchitecture& arch);

}  // namespace tagclip
