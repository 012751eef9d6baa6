// Writes a tiny checkpoint (about 120 KB: one block per tower, width 64, 4-pixel patches, MLPs
// as wide as the blocks, 16-token vocabulary) as the checkpoint fuzzer's seed, in OpenAI's
// layout, and, given a folder, as the safetensors fuzzer's seeds in open_clip's and Hugging
// Face's names. Whole seeds must fit under scripts/fuzz.sh's -max_len for these targets
// (libFuzzer cuts longer ones, and a cut archive never gets past its zip directory); the
// committed demo model is far too large.
#include <iostream>

#include "tagclip/model/checkpoint_layouts.h"
#include "tagclip/model/random_checkpoint.h"
#include "tagclip/model/safetensors.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::cerr << "usage: make_checkpoint_seed OUT.pt [SAFETENSORS_SEED_FOLDER]\n";
    return 2;
  }
  tagclip::RandomCheckpointSpec spec;
  spec.vision_width = 64;
  spec.vision_layers = 1;
  spec.patch_size = 4;
  spec.grid_size = 2;
  spec.embed_dim = 16;
  spec.text_width = 64;
  spec.text_layers = 1;
  spec.context_length = 8;
  spec.vocab_size = 16;
  // The MLP width is read from c_fc, so hidden = width is a valid CLIP ViT a quarter the size.
  tagclip::StateDict state = tagclip::random_state_dict(spec);
  const auto ends_with = [](const std::string& name, const std::string& tail) {
    return name.size() >= tail.size() &&
           name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (auto& entry : state) {
    at::Tensor& tensor = entry.second;
    if (ends_with(entry.first, "mlp.c_fc.weight") || ends_with(entry.first, "mlp.c_fc.bias"))
      tensor = tensor.narrow(0, 0, tensor.size(0) / 4).clone();  // [4w, w] -> [w, w]
    else if (ends_with(entry.first, "mlp.c_proj.weight"))
      tensor = tensor.narrow(1, 0, tensor.size(1) / 4).clone();  // [w, 4w] -> [w, w]
  }
  tagclip::save_state_dict(state, argv[1]);
  if (argc == 3) {
    const tagclip::ClipArchitecture arch = tagclip::infer_architecture(state, argv[1]);
    const std::string folder = argv[2];
    tagclip::write_checkpoint_layout(state, arch, "open_clip", folder + "/open_clip.safetensors");
    tagclip::write_checkpoint_layout(state, arch, "hugging-face", folder + "/hf");
  }
  return 0;
}
