// One pre-LayerNorm residual attention block of CLIP, shared by both towers.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "tagclip/model/checkpoint.h"
#include "tagclip/model/clip_architecture.h"

namespace tagclip {

// Field names follow the checkpoint's tensor names under "...resblocks.N.".
struct ResidualBlockWeights {
  at::Tensor ln_1_weight, ln_1_bias;               // [W]
  at::Tensor in_proj_weight, in_proj_bias;         // [3W, W], [3W]  (q, k, v stacked)
  at::Tensor out_proj_weight, out_proj_bias;       // [W, W], [W]
  at::Tensor ln_2_weight, ln_2_bias;               // [W]
  at::Tensor c_fc_weight, c_fc_bias;               // [H, W], [H]; H = 4W in OpenAI's models
  at::Tensor c_proj_weight, c_proj_bias;           // [W, H], [W]
  Activation activation = Activation::kQuickGelu;  // between c_fc and c_proj

  // Reads "<prefix>ln_1.weight" etc., converted to `options` (dtype and device); the output
  // projection's and the MLP's weights to product_dtype when given (bfloat16 or float16 for
  // a lower precision). The q, k, v projection keeps `options`: see precision.h.
  static ResidualBlockWeights from_state(const StateDict& state, const std::string& prefix,
                                         const at::TensorOptions& options,
                                         std::optional<at::ScalarType> product_dtype = {},
                                         Activation activation = Activation::kQuickGelu);
};

// The block split at the output of ln_1, so a caller can differentiate with respect to that
// activation (CLIP-ES's Grad-CAM hooks the last block's ln_1); residual_block_forward is
// residual_block_after_ln_1(x, residual_block_ln_1(x)).
// x: [B, T, W] -> ln_1(x) [B, T, W]; LayerNorm in float32 for float16 and float32 inputs, as
// CLIP's LayerNorm subclass, float64 for float64 ones; the result in x's dtype.
at::Tensor residual_block_ln_1(const at::Tensor& x, const ResidualBlockWeights& weights);

// The rest of the block: x + attention(normed_1), then the MLP residual. normed_1: [B, T, W],
// residual_block_ln_1(x) or a tensor standing in for it (a leaf with requires_grad); mask and
// `attention` as for residual_block_forward. Records autograd when the inputs require grad
// (call it outside inference mode for that).
at::Tensor residual_block_after_ln_1(const at::Tensor& x, const at::Tensor& normed_1,
                                     const ResidualBlockWeights& weights, int64_t heads,
                                     const at::Tensor& additive_mask, at::Tensor* attention,
                                     int64_t profiled_block = -1, int64_t query_tokens = -1);

// x: [B, T, W]. additive_mask: undefined, [T, T] or [B, T, T], added to the attention
// logits of every head. heads: W / 64 for CLIP.
// When `attention` is non-null it receives the head-averaged attention probabilities
// [B, T, T] computed WITHOUT the mask (what the reference reports whenever it adds one).
// query_tokens >= 0 computes only the first query_tokens outputs (every token still serves
// as key and value): the output is [B, Q, W] and the attention [B, Q, T]. The last block
// of a pass whose caller reads only the class token needs Q = 1 (CWR's crops, the global
// method): a twelfth of the pass saved, the class token's numbers unchanged.
// profiled_block >= 0 times the attention and MLP halves as "block NN attention" / "mlp" in
// the stage profile (core/stage_profile.h).
// The linear weights' dtype is the products' (a lower --precision stores them in bfloat16 or
// float16); LayerNorm, softmax, the reported attention and the residual stream keep x's.
// Returns the block output [B, T, W].
at::Tensor residual_block_forward(const at::Tensor& x, const ResidualBlockWeights& weights,
                                  int64_t heads, const at::Tensor& additive_mask,
                                  at::Tensor* attention, int64_t profiled_block = -1,
                                  int64_t query_tokens = -1);

}  // namespace tagclip
