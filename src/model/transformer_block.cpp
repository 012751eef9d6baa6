#include "tagclip/model/transformer_block.h"

#include <cmath>

namespace tagclip {
namespace {

at::Tensor load(const StateDict& state, const std::string& name, const at::TensorOptions& options) {
  return state.at(name).to(options).contiguous();
}

}  // namespace

ResidualBlockWeights ResidualBlockWeights::from_state(const StateDict& state,
                                                      const std::string& prefix,
                                                      const at::TensorOptions& options) {
  ResidualBlockWeights w;
  w.ln_1_weight = load(state, prefix + "ln_1.weight", options);
  w.ln_1_bias = load(state, prefix + "ln_1.bias", options);
  w.in_proj_weight = load(state, prefix + "attn.in_proj_weight", options);
  w.in_proj_bias = load(state, prefix + "attn.in_proj_bias", options);
  w.out_proj_weight = load(state, prefix + "attn.out_proj.weight", options);
  w.out_proj_bias = load(state, prefix + "attn.out_proj.bias", options);
  w.ln_2_weight = load(state, prefix + "ln_2.weight", options);
  w.ln_2_bias = load(state, prefix + "ln_2.bias", options);
  w.c_fc_weight = load(state, prefix + "mlp.c_fc.weight", options);
  w.c_fc_bias = load(state, prefix + "mlp.c_fc.bias", options);
  w.c_proj_weight = load(state, prefix + "mlp.c_proj.weight", options);
  w.c_proj_bias = load(state, prefix + "mlp.c_proj.bias", options);
  return w;
}

namespace {

// LayerNorm in float32 for float16 and float32 inputs, as CLIP's LayerNorm subclass does; a
// float64 input keeps float64, so gradients checked by finite differences are not drowned
// in float32 rounding.
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
                                     const at::Tensor& additive_mask, at::Tensor* attention) {
  const int64_t batch = x.size(0), tokens = x.size(1), width = x.size(2);
  const int64_t head_dim = width / heads;
  // [B, T, 3W] -> three [B, heads, T, head_dim]
  const at::Tensor qkv = at::linear(normed_1, w.in_proj_weight, w.in_proj_bias)
                             .view({batch, tokens, 3, heads, head_dim})
                             .permute({2, 0, 3, 1, 4});
  // The query is scaled before the product, as torch's multi-head attention does.
  const at::Tensor q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  const at::Tensor k = qkv[1];
  const at::Tensor v = qkv[2];

  at::Tensor logits = at::matmul(q, k.transpose(-2, -1));  // [B, heads, T, T]
  at::Tensor probabilities;
  if (additive_mask.defined()) {
    // [T, T] broadcasts over batch and heads; [B, T, T] over heads.
    const at::Tensor mask = additive_mask.dim() == 2 ? additive_mask : additive_mask.unsqueeze(1);
    if (attention != nullptr) *attention = at::softmax(logits, -1).mean(1);
    probabilities = at::softmax(logits + mask.to(logits.options()), -1);
  } else {
    probabilities = at::softmax(logits, -1);
    if (attention != nullptr) *attention = probabilities.mean(1);
  }
  // [B, heads, T, head_dim] -> [B, T, W]
  const at::Tensor context =
      at::matmul(probabilities, v).transpose(1, 2).reshape({batch, tokens, width});
  const at::Tensor out = x + at::linear(context, w.out_proj_weight, w.out_proj_bias);

  const at::Tensor normed_2 = layer_norm_at_least_fp32(out, w.ln_2_weight, w.ln_2_bias);
  at::Tensor hidden = at::linear(normed_2, w.c_fc_weight, w.c_fc_bias);
  hidden = hidden * at::sigmoid(hidden * 1.702);  // QuickGELU
  return out + at::linear(hidden, w.c_proj_weight, w.c_proj_bias);
}

at::Tensor residual_block_forward(const at::Tensor& x, const ResidualBlockWeights& w, int64_t heads,
                                  const at::Tensor& additive_mask, at::Tensor* attention) {
  return residual_block_after_ln_1(x, residual_block_ln_1(x, w), w, heads, additive_mask,
                                   attention);
}

}  // namespace tagclip
