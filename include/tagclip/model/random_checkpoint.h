// Writes a CLIP ViT checkpoint with random weights in the OpenAI layout (a TorchScript
// archive with the same tensor names, stored as float16 like the releases). Tests and
// benchmarks use it because the real weights cannot be shipped. The values come from a
// counter-based generator seeded per tensor name, so a given spec and seed give the same
// file on every machine and LibTorch version.
#pragma once

#include <cstdint>
#include <string>

#include "tagclip/model/checkpoint.h"

namespace tagclip {

struct RandomCheckpointSpec {
  int64_t vision_width = 128;  // multiple of 64; heads = width / 64
  int64_t vision_layers = 12;
  int64_t patch_size = 16;
  int64_t grid_size = 14;  // input resolution = patch_size * grid_size
  int64_t embed_dim = 64;
  int64_t text_width = 64;
  int64_t text_layers = 2;
  int64_t context_length = 77;
  int64_t vocab_size = 49408;
  bool store_float16 = true;
  uint64_t seed = 0;

  // ViT-B/16 sizes (86M vision + 38M text parameters), for benchmarks.
  static RandomCheckpointSpec vit_b16();
};

// Writes the archive to `path` (parent folder must exist). Throws tagclip::Error on I/O errors.
void write_random_checkpoint(const std::string& path, const RandomCheckpointSpec& spec);

// The named tensors write_random_checkpoint stores.
StateDict random_state_dict(const RandomCheckpointSpec& spec);

// Writes any named tensors as a TorchScript archive in the layout of the OpenAI releases
// (dotted names as nested modules; floating tensors as parameters, others as buffers).
void save_state_dict(const StateDict& state, const std::string& path);

}  // namespace tagclip
