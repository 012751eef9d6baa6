#include "random_checkpoint_command.h"

#include <iostream>
#include <memory>
#include <optional>

#include "exit_codes.h"
#include "tagclip/errors.h"
#include "tagclip/model/checkpoint_layouts.h"
#include "tagclip/model/random_checkpoint.h"

namespace tagclip::cli {
namespace {

struct RandomCheckpointOptions {
  std::string output;
  std::string preset = "small";
  RandomCheckpointSpec spec;
  // Each nullopt: the preset's value.
  std::optional<int64_t> width, layers, patch, grid, embed, text_width, text_layers;
  bool float32 = false;
  std::string layout = "openai";
  bool gelu = false;
};

RandomCheckpointSpec spec_for(const RandomCheckpointOptions& o) {
  RandomCheckpointSpec spec;
  if (o.preset == "vit-b16") {
    spec = RandomCheckpointSpec::vit_b16();
  } else if (o.preset != "small") {
    throw UsageError("unknown preset '" + o.preset + "' (small or vit-b16)");
  }
  auto set_if = [](const std::optional<int64_t>& value, int64_t& field) {
    if (value) field = *value;
  };
  set_if(o.width, spec.vision_width);
  set_if(o.layers, spec.vision_layers);
  set_if(o.patch, spec.patch_size);
  set_if(o.grid, spec.grid_size);
  set_if(o.embed, spec.embed_dim);
  set_if(o.text_width, spec.text_width);
  set_if(o.text_layers, spec.text_layers);
  spec.seed = o.spec.seed;
  spec.store_float16 = !o.float32;
  return spec;
}

}  // namespace

void register_random_checkpoint_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RandomCheckpointOptions>();
  CLI::App* cmd = app.add_subcommand(
      "random-checkpoint",
      "Write a CLIP ViT checkpoint with seeded random weights (fp16), in OpenAI's layout or "
      "another. Its tags mean nothing; it exists for tests and benchmarks.");
  cmd->add_option("output", o->output,
                  "Path to write: the .pt file (openai), the folder (hugging-face) or the "
                  ".safetensors file (open_clip, with open_clip_config.json beside it)")
      ->required();
  cmd->add_option("--layout", o->layout,
                  "openai: a TorchScript archive; hugging-face: config.json + model.safetensors "
                  "as transformers saves CLIPModel; open_clip: an open_clip state dict. The same "
                  "seed gives the same weights in every layout")
      ->check(CLI::IsMember({"openai", "hugging-face", "open_clip"}))
      ->capture_default_str();
  cmd->add_flag("--gelu", o->gelu,
                "Declare the exact GELU activation (most LAION models) instead of QuickGELU "
                "(hugging-face and open_clip layouts only)");
  cmd->add_option("--preset", o->preset,
                  "small: 12 blocks of width 128, patch 16, 224 px, 2 text blocks of width 64; "
                  "vit-b16: the sizes of OpenAI's ViT-B/16")
      ->capture_default_str();
  cmd->add_option("--seed", o->spec.seed, "Seed of the weights")->capture_default_str();
  const auto size = CLI::Range(int64_t{1}, int64_t{1} << 16);
  cmd->add_option("--width", o->width, "Vision width (multiple of 64), overrides the preset")
      ->check(size);
  cmd->add_option("--layers", o->layers, "Vision blocks, overrides the preset")->check(size);
  cmd->add_option("--patch", o->patch, "Patch size, overrides the preset")->check(size);
  cmd->add_option("--grid", o->grid, "Patches per side at the input resolution")->check(size);
  cmd->add_option("--embed", o->embed, "Joint embedding size")->check(size);
  cmd->add_option("--text-width", o->text_width, "Text width (multiple of 64)")->check(size);
  cmd->add_option("--text-layers", o->text_layers, "Text blocks")->check(size);
  cmd->add_flag("--float32", o->float32, "Store float32 instead of float16");
  cmd->callback([o, &exit_code] {
    const RandomCheckpointSpec spec = spec_for(*o);
    if (o->layout == "openai" && !o->gelu) {
      write_random_checkpoint(o->output, spec);
    } else {
      if (spec.vision_width % 64 != 0 || spec.text_width % 64 != 0)
        throw UsageError("random checkpoint widths must be multiples of 64");
      const StateDict state = random_state_dict(spec);
      ClipArchitecture arch = infer_architecture(state, o->output);
      arch.vision_activation = arch.text_activation =
          o->gelu ? Activation::kGelu : Activation::kQuickGelu;
      write_checkpoint_layout(state, arch, o->layout, o->output);
    }
    std::cerr << "wrote " << o->output << std::endl;
    exit_code = kExitOk;
  });
}

}  // namespace tagclip::cli
