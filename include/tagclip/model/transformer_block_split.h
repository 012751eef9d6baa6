// residual_block_forward split at the output of ln_1, so that a caller can differentiate with
// respect to that activation (CLIP-ES's Grad-CAM hooks the last block's ln_1). Together the
// two functions compute what residual_block_forward computes without a mask, op for op
// (for float16 and float32; with float64 inputs the LayerNorms stay in float64 here).
#pragma once

#include <ATen/ATen.h>

#include "tagclip/model/transformer_block.h"

namespace tagclip {

// x: [B, T, W] -> ln_1(x) [B, T, W], LayerNorm in float32 (or float64), in x's dtype.
at::Tensor residual_block_ln_1(const at::Tensor& x, const ResidualBlockWeights& weights);

// The rest of the block: x + attention(normed_1), then the MLP residual. x: [B, T, W] the
// block input, normed_1: [B, T, W] = residual_block_ln_1(x) (or a tensor standing in for it,
// e.g. a leaf with requires_grad). When `attention` is non-null it receives the head-averaged
// attention probabilities [B, T, T]. Returns the block output [B, T, W]. Records autograd
// when the inputs require grad (call it outside inference mode for that).
at::Tensor residual_block_after_ln_1(const at::Tensor& x, const at::Tensor& normed_1,
                                     const ResidualBlockWeights& weights, int64_t heads,
                                     at::Tensor* attention);

}  // namespace tagclip
