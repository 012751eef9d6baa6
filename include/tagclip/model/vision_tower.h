// CLIP's ViT image encoder, returning every token and the attention maps TagCLIP needs.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <optional>
#include <vector>

#include "tagclip/model/checkpoint.h"
#include "tagclip/model/clip_architecture.h"
#include "tagclip/model/transformer_block.h"

namespace tagclip {

struct VisionForwardOptions {
  // The reference's last block: an additive -100 off the diagonal, so each token attends
  // to itself alone and the output tokens keep their local meaning.
  bool self_only_last_block = false;
  double self_only_penalty = -100.0;
  // Additive masks, one entry per block (or empty for none); an entry may be undefined
  // (no mask), [T, T] or [B, T, T] with T = 1 + number of patches. CWR uses this to let
  // the class token see only the candidate's patches.
  std::vector<at::Tensor> block_masks;
  // For grids other than the checkpoint's, the reference rounds the resized positional
  // embedding to float16 before use; false keeps it in the compute dtype.
  bool round_resized_positional_to_fp16 = true;
  // CLIP-ES resizes (and so rounds to float16) even at the checkpoint's own grid; that
  // matters only for a checkpoint stored in float32.
  bool round_native_positional_to_fp16 = false;
  // Blocks whose head-averaged attention probabilities to return (indices 0..L-1).
  std::vector<int64_t> attention_blocks;
  // When set, called after each block, in order, with its head-averaged attention
  // probabilities [B, 1 + N, 1 + N] computed without its mask. The map is dropped after the
  // call, so a caller that reduces it (DMAR's AttentionVotes) holds no map per block.
  std::function<void(int64_t block, const at::Tensor& attention)> attention_observer;
  // Blocks to run, from the first (0..L); -1 runs all L. CLIP-ES stops before the last block
  // and reruns it with autograd for Grad-CAM.
  int64_t block_count = -1;
  // true: the last block computes the class token alone (every token is still its key and
  // value), so VisionOutput::tokens is [B, 1, E] and the last block's attention [B, 1, 1 + N]:
  // for callers that read only the class token.
  bool class_token_only = false;
  // true: VisionOutput::tokens is the residual stream after the blocks run, [B, 1 + N, W],
  // without ln_post and proj.
  bool tokens_before_ln_post = false;
};

struct VisionOutput {
  at::Tensor tokens;  // [B, 1 + N, E]: class token then patches (row-major), after ln_post and proj
  std::vector<at::Tensor> attention;  // per requested block, [B, 1 + N, 1 + N], unmasked
};

class VisionTower {
 public:
  // options: dtype and device of the weights and of the residual stream; product_dtype:
  // the blocks' linear weights' dtype, when lower (--precision bf16 or fp16).
  VisionTower(const StateDict& state, const ClipArchitecture& arch,
              const at::TensorOptions& options, std::optional<at::ScalarType> product_dtype = {});

  // images: [B, 3, H, W] normalised, H and W multiples of the patch size. Timed in the stage
  // profile as "patch embedding", "block NN attention" / "mlp" and "ln_post + projection".
  VisionOutput forward(const at::Tensor& images, const VisionForwardOptions& options) const;

  // Positional embedding [1 + gh * gw, W] for a gh x gw patch grid: the checkpoint's own
  // for its grid, else the patch part resized bilinearly (align_corners false).
  at::Tensor positional_embedding_for(int64_t grid_h, int64_t grid_w, bool round_to_fp16) const;

  int64_t patch_size() const { return arch_.patch_size; }
  int64_t layers() const { return arch_.vision_layers; }
  int64_t heads() const { return arch_.vision_heads; }

  // Read-only weights, for callers that run part of the tower themselves (CLIP-ES's
  // Grad-CAM reruns the last block with autograd). index: 0..L-1.
  const ResidualBlockWeights& block(int64_t index) const { return blocks_.at(index); }
  const at::Tensor& ln_post_weight() const { return ln_post_weight_; }  // [W]
  const at::Tensor& ln_post_bias() const { return ln_post_bias_; }      // [W]
  const at::Tensor& proj() const { return proj_; }                      // [W, E]

 private:
  ClipArchitecture arch_;
  at::Tensor conv1_weight_;                                                 // [W, 3, p, p]
  at::Tensor class_embedding_;                                              // [W]
  at::Tensor positional_embedding_;                                         // [1 + g*g, W]
  at::Tensor ln_pre_weight_, ln_pre_bias_, ln_post_weight_, ln_post_bias_;  // [W]
  at::Tensor proj_;                                                         // [W, E]
  std::vector<ResidualBlockWeights> blocks_;
};

}  // namespace tagclip
