// CLIP ViT checkpoints in the layouts people hold them in, read into OpenAI's tensor names:
//   OpenAI      a TorchScript archive (ViT-B-16.pt), as OpenAI publishes them;
//   Hugging Face  a folder with config.json and model.safetensors (or pytorch_model.bin),
//               as transformers' CLIPModel saves it (openai/clip-vit-base-patch16);
//   open_clip   a state dict in a .safetensors file or a torch.save file (.bin, .pt),
//               OpenAI's names under open_clip's model classes, optionally beside an
//               open_clip_config.json (the Hugging Face hub's open_clip repositories).
// Every family uses CLIP's BPE tokenizer with 49,408 tokens; other text towers are refused.
#pragma once

#include <string>
#include <vector>

#include "tagclip/model/checkpoint.h"

namespace tagclip {

struct CheckpointSource {
  std::string layout;              // "OpenAI TorchScript", "Hugging Face", "open_clip"
  std::vector<std::string> files;  // the files whose bytes define the model: weights first
  // How the layout, the heads and the activations were recognised, one line each, for
  // `tagclip info` ("activation GELU: config.json vision_config.hidden_act = gelu").
  std::vector<std::string> evidence;
};

struct LoadedCheckpoint {
  StateDict state;        // OpenAI's names: visual.transformer.resblocks.N.attn.in_proj_weight, ...
  ClipArchitecture arch;  // infer_architecture with the layout's hints
  CheckpointSource source;
};

// Recognises the layout of `path` (a file or a Hugging Face folder) by its contents, reads
// it, renames its tensors to OpenAI's (q, k and v projections stacked, projections
// transposed) and infers the architecture. Throws ModelError naming the file and the
// problem: an unknown layout, a missing config.json, a Hugging Face or open_clip tensor that
// a CLIP ViT as tagclip runs it does not have (a feature tagclip does not implement), a
// vocabulary other than CLIP's BPE.
LoadedCheckpoint load_checkpoint(const std::string& path);

// Writes an OpenAI-named state of architecture `arch` in `layout` ("openai",
// "hugging-face", "open_clip") to `path`: a TorchScript file; a folder with config.json and
// model.safetensors; a .safetensors file with an open_clip_config.json in its folder. Tests
// and `random-checkpoint --layout` write one set of weights in every layout with it. Throws
// UsageError for what the layout cannot say (GELU in OpenAI's), Error naming the path on
// a failed write.
void write_checkpoint_layout(const StateDict& state, const ClipArchitecture& arch,
                             const std::string& layout, const std::string& path);

}  // namespace tagclip
