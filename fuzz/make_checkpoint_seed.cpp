// Writes a tiny checkpoint (a few hundred KB, 16-token vocabulary) as the checkpoint
// fuzzer's seed, in OpenAI's layout, and, given a folder, as the safetensors fuzzer's seeds
// in open_clip's and Hugging Face's names: the committed demo model is too large to mutate
// quickly.
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
  spec.patch_size = 32;
  spec.grid_size = 2;
  spec.embed_dim = 16;
  spec.text_width = 64;
  spec.text_layers = 1;
  spec.context_length = 8;
  spec.vocab_size = 16;
  tagclip::write_random_checkpoint(argv[1], spec);
  if (argc == 3) {
    const tagclip::StateDict state = tagclip::random_state_dict(spec);
    const tagclip::ClipArchitecture arch = tagclip::infer_architecture(state, argv[1]);
    const std::string folder = argv[2];
    tagclip::write_checkpoint_layout(state, arch, "open_clip", folder + "/open_clip.safetensors");
    tagclip::write_checkpoint_layout(state, arch, "hugging-face", folder + "/hf");
  }
  return 0;
}
