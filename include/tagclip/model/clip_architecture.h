// The shape of an OpenAI CLIP ViT, inferred from its tensors the way the official
// loader does (no configuration file exists for these checkpoints).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace tagclip {

// The MLP's activation: QuickGELU (x * sigmoid(1.702 x)) in OpenAI's weights, the exact
// (erf) GELU in most LAION and DataComp open_clip models.
enum class Activation { kQuickGelu, kGelu };
const char* activation_name(Activation activation);  // "QuickGELU", "GELU"

struct ClipArchitecture {
  // Vision tower.
  int64_t vision_width = 0;   // visual.conv1.weight dim 0
  int64_t vision_layers = 0;  // count of visual.transformer.resblocks.N
  int64_t vision_heads = 0;   // vision_width / 64 unless the checkpoint's layout says
  Activation vision_activation = Activation::kQuickGelu;
  int64_t patch_size = 0;        // visual.conv1.weight kernel size
  int64_t grid_size = 0;         // sqrt(visual.positional_embedding rows - 1)
  int64_t input_resolution = 0;  // patch_size * grid_size
  // Shared embedding space.
  int64_t embed_dim = 0;  // text_projection dim 1
  // Text tower.
  int64_t context_length = 0;  // positional_embedding rows
  int64_t vocab_size = 0;      // token_embedding.weight rows
  int64_t text_width = 0;      // ln_final.weight size
  int64_t text_heads = 0;      // text_width / 64 unless the checkpoint's layout says
  Activation text_activation = Activation::kQuickGelu;
  int64_t text_layers = 0;  // count of transformer.resblocks.N
  // Bookkeeping.
  int64_t parameter_count = 0;  // elements of all floating-point tensors
  std::string stored_dtype;     // dtype of most stored weights, e.g. "float16"

  // A short human-readable name such as "ViT-B/16" when the shape matches a release.
  std::string release_name() const;
  nlohmann::json to_json() const;
  std::string to_string() const;
};

}  // namespace tagclip
