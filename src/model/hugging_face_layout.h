// Hugging Face transformers' CLIPModel: its tensor names and config.json, against OpenAI's.
// Private to src/model (checkpoint_layouts.cpp is the public entry).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tagclip/model/checkpoint.h"

namespace tagclip {

// True when `state` has transformers' names (vision_model.embeddings.patch_embedding.weight).
bool has_hugging_face_names(const StateDict& state);

// Renames to OpenAI's names: q, k, v projections [W, W] each stacked into in_proj [3W, W],
// visual_projection / text_projection [E, W] transposed to [W, E]. The position_ids buffers
// are dropped; any other tensor the mapping does not know is a ModelError naming it (a
// feature tagclip does not implement), as is a block missing one of q, k, v.
StateDict hugging_face_to_openai(const StateDict& state, const std::string& path);
StateDict openai_to_hugging_face(const StateDict& state);

// Heads and activations from config.json (transformers' defaults where a field is absent),
// checked against the converted tensors: widths and depths must agree, the model type must
// be "clip", the activations quick_gelu or gelu, LayerNorm's eps 1e-5 and the end-of-text
// id CLIP's (49407, or 2 in older configs, which pool at the largest id: the same token).
// One line of evidence per decision.
ArchitectureHints hugging_face_hints(const nlohmann::json& config, const std::string& config_path,
                                     const StateDict& openai_state,
                                     std::vector<std::string>& evidence);

// The config.json transformers would write for `arch` (the MLP width read from `state`).
nlohmann::json hugging_face_config(const StateDict& openai_state, const ClipArchitecture& arch);

}  // namespace tagclip
