// Writes a tiny OpenAI-layout checkpoint (a few hundred KB, 16-token vocabulary) as the
// checkpoint fuzzer's seed: the committed demo model is too large to mutate quickly.
#include <iostream>

#include "tagclip/model/random_checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_checkpoint_seed OUT.pt\n";
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
  return 0;
}
