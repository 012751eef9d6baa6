#include "tagclip/model/transformer_block_split.h"

#include <cmath>

namespace tagclip {
namespace {

// LayerNorm in float32 for float16 and float32 inputs, as CLIP's LayerNorm subclass (and
// residual_block_forward) does; a float64 input keeps float64, so gradients checked by
// finite differences are not drowned in float32 rounding.
at::Tensor layer_norm_at_least_fp32(const at::Tensor& x, const at::Tensor& weight,
                                    const at::Tensor& bias) {
  const at::ScalarType type = at::promote_types(x.scalar_type(), at::kFloat);
  return at::layer_norm(x.to(type), {x.size(-1)}, weight.to(type), bias.to(type), 1e-5)
      .to(x.scalar_type());
}

}  // namespace

at::Tensor residual_block_ln_1(const at::Tensor& x, const ResidualBlockWeights& w) {
  return layer_norm_at_least_fp32(x, w.ln_1_weight, w.ln_1_bias);
}

at::Tensor residual_block_after_ln_1(const at::Tensor& x, const at::Tensor& normed_1,
                                     const ResidualBlockWeights& w, int64_t heads,
                                     at::Tensor* attention) {
  const int64_t batch = x.size(0), tokens = x.size(1), width = x.size(2);
  const int64_t head_dim = width / heads;
  // [B, T, 3W] -> three [B, heads, T, head_dim]
  const at::Tensor qkv = at::linear(normed_1, w.in_proj_weight, w.in_proj_bias)
                             .view({batch, tokens, 3, heads, head_dim})
                             .permute({2, 0, 3, 1, 4});
  // The query is scaled before the product, as torch's multi-head attention does.
  const at::Tensor q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  const at::Tensor probabilities = at::softmax(at::matmul(q, qkv[1].transpose(-2, -1)), -1);
  if (attention != nullptr) *attention = probabilities.mean(1);  // [B, T, T]
  // [B, heads, T, head_dim] -> [B, T, W]
  const at::Tensor context =
      at::matmul(probabilities, qkv[2]).transpose(1, 2).reshape({batch, tokens, width});
  const at::Tensor out = x + at::linear(context, w.out_proj_weight, w.out_proj_bias);

  const at::Tensor normed_2 = layer_norm_at_least_fp32(out, w.ln_2_weight, w.ln_2_bias);
  at::Tensor hidden = at::linear(normed_2, w.c_fc_weight, w.c_fc_bias);
  hidden = hidden * at::sigmoid(hidden * 1.702);  // QuickGELU
  return out + at::linear(hidden, w.c_proj_weight, w.c_proj_bias);
}

}  // namespace tagclip
