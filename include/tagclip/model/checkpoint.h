// Reading an OpenAI CLIP checkpoint (a TorchScript archive) into named tensors.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "tagclip/model/clip_architecture.h"

namespace tagclip {

// Tensor name ("visual.conv1.weight") -> tensor, as stored (often float16).
using StateDict = std::map<std::string, at::Tensor>;

// Loads every parameter and buffer of a TorchScript archive, by dotted name, or the tensors
// of a torch.save'd dict of tensors (or of its "state_dict" entry, as in open_clip's training
// checkpoints). Only the pickled data and tensor records are read; an archive's TorchScript
// code is never compiled. `format`, when given, receives "TorchScript" or "torch.save".
// Throws ModelError naming the file when it is missing, damaged or neither.
StateDict load_state_dict(const std::string& path, std::string* format = nullptr);

// What the tensors' shapes cannot say, from a checkpoint's configuration or name
// (model/checkpoint_layouts.h): OpenAI's weights need none of it.
struct ArchitectureHints {
  int64_t vision_head_width = 64;  // vision heads = vision width / this
  int64_t text_head_width = 64;
  Activation vision_activation = Activation::kQuickGelu;
  Activation text_activation = Activation::kQuickGelu;
};

// Infers the ViT architecture from tensor shapes (in OpenAI's names), as the official
// loader does. Throws ModelError for a ResNet CLIP, a missing tensor or a tensor of the
// wrong shape, naming `path` and the tensor. Extra entries (input_resolution,
// context_length, vocab_size, anything unknown) are tolerated. The MLP's hidden width is
// read from each block's c_fc (4 x width in OpenAI's models, more in some open_clip ones).
ClipArchitecture infer_architecture(const StateDict& state, const std::string& path,
                                    const ArchitectureHints& hints = {});

// A short identity of the weights: SHA-256 over every tensor's name, dtype, shape and first
// 4 KiB of data, in name order (7 ms for a ViT-B/16-sized state of 305 tensors on the
// project's 2-core VM; the whole 335 MB file would take about 2 s at that rate). Any
// retrained or fine-tuned tensor changes it; it is what a resumed run compares to tell
// another checkpoint from the same one moved.
std::string weights_fingerprint(const StateDict& state);

// Returns state[name] after checking it exists and has `expected_shape`; throws
// ModelError naming `path` and `name` otherwise.
at::Tensor require_tensor(const StateDict& state, const std::string& name,
                          at::IntArrayRef expected_shape, const std::string& path);

}  // namespace tagclip
