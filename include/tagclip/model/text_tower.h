// CLIP's text encoder: causal transformer, feature at the end token, projection.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "tagclip/model/checkpoint.h"
#include "tagclip/model/clip_architecture.h"
#include "tagclip/model/transformer_block.h"

namespace tagclip {

class TextTower {
 public:
  TextTower(const StateDict& state, const ClipArchitecture& arch, const at::TensorOptions& options);

  // token_ids: [P, C] int64 (start, BPE ids, end, zero padding; C = context length).
  // Returns [P, E], not normalised. The end token has the largest id in each row, so the
  // feature is read at argmax, as the reference does.
  //
  // With the causal mask, position t depends only on positions <= t, so the sequence is
  // cut after the last end token of the batch: same numbers, a fraction of the work.
  // `crop_to_longest` = false runs all C positions (used to test that claim).
  at::Tensor encode(const at::Tensor& token_ids, bool crop_to_longest = true) const;

 private:
  ClipArchitecture arch_;
  at::Tensor token_embedding_;                  // [V, W]
  at::Tensor positional_embedding_;             // [C, W]
  at::Tensor ln_final_weight_, ln_final_bias_;  // [W]
  at::Tensor text_projection_;                  // [W, E]
  std::vector<ResidualBlockWeights> blocks_;
};

}  // namespace tagclip
