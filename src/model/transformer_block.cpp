#include "tagclip/model/transformer_block.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tagclip/core/stage_profile.h"
#include "tagclip/model/matmul.h"

namespace tagclip {
namespace {

at::Tensor load(const StateDict& state, const std::string& name, const at::TensorOptions& options) {
  return state.at(name).to(options).contiguous();
}

}  // namespace

ResidualBlockWeights ResidualBlockWeights::from_state(const StateDict& state,
                                                      const std::string& prefix,
                                                      const at::TensorOptions& options,
                                                      std::optional<at::ScalarType> product_dtype,
                                                      Activation activation) {
  ResidualBlockWeights w;
  w.activation = activation;
  const at::TensorOptions products =
      options.dtype(product_dtype.value_or(c10::typeMetaToScalarType(options.dtype())));
  w.ln_1_weight = load(state, prefix + "ln_1.weight", options);
  w.ln_1_bias = load(state, prefix + "ln_1.bias", options);
  // q and k feed the attention logits: rounding them to bfloat16 moved the scores more than
  // any other layer (see precision.h), so the q, k, v projection keeps the model's dtype.
  w.in_proj_weight = load(state, prefix + "attn.in_proj_weight", options);
  w.in_proj_bias = load(state, prefix + "attn.in_proj_bias", options);
  w.out_proj_weight = load(state, prefix + "attn.out_proj.weight", products);
  w.out_proj_bias = load(state, prefix + "attn.out_proj.bias", options);
  w.ln_2_weight = load(state, prefix + "ln_2.weight", options);
  w.ln_2_bias = load(state, prefix + "ln_2.bias", options);
  w.c_fc_weight = load(state, prefix + "mlp.c_fc.weight", products);
  w.c_fc_bias = load(state, prefix + "mlp.c_fc.bias", options);
  w.c_proj_weight = load(state, prefix + "mlp.c_proj.weight", products);
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

// "block 03 attention": a block's row in the stage profile.
std::string stage_name(int64_t block, const char* part) {
  char name[48];
  std::snprintf(name, sizeof name, "block %02lld %s", static_cast<long long>(block), part);
  return name;
}

}  // namespace

at::Tensor residual_block_ln_1(const at::Tensor& x, const ResidualBlockWeights& w) {
  return layer_norm_at_least_fp32(x, w.ln_1_weight, w.ln_1_bias);
}

at::Tensor residual_block_after_ln_1(const at::Tensor& x, const at::Tensor& normed_1,
                                     const ResidualBlockWeights& w, int64_t heads,
                                     const at::Tensor& additive_mask, at::Tensor* attention,
                                     int64_t profiled_block, int64_t query_tokens) {
  const bool profiled = profiled_block >= 0;
  StageTimer attention_timer =
      profiled ? StageTimer::named([&] { return stage_name(profiled_block, "attention"); })
               : StageTimer::idle();
  const int64_t batch = x.size(0), tokens = x.size(1), width = x.size(2);
  const int64_t head_dim = width / heads;
  const int64_t queries = query_tokens < 0 ? tokens : std::min(query_tokens, tokens);
  // The linear layers run in their weights' dtype (for a lower precision: bfloat16 or
  // float16 for the output projection and the MLP); everything else stays in x's. The two
  // attention products stay there too: in bfloat16 they moved the demo model's scores 5 to
  // 8 times as far from float32's as the linear layers do, for an eighth of the work at
  // VOC sizes.
  // [B, T, 3W] -> three [B, heads, T, head_dim]
  const at::Tensor qkv = linear_in_weight_dtype(normed_1, w.in_proj_weight, w.in_proj_bias)
                             .view({batch, tokens, 3, heads, head_dim})
                             .permute({2, 0, 3, 1, 4});
  // The query is scaled before the product, as torch's multi-head attention does.
  const at::Tensor q =
      qkv[0].slice(2, 0, queries) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  const at::Tensor k = qkv[1];
  const at::Tensor v = qkv[2];

  // [B, heads, Q, T]
  at::Tensor logits = matmul_transposed(q, k);
  at::Tensor probabilities;
  if (additive_mask.defined()) {
    // [T, T] broadcasts over batch and heads; [B, T, T] over heads.
    const at::Tensor mask = (additive_mask.dim() == 2 ? additive_mask : additive_mask.unsqueeze(1))
                                .slice(-2, 0, queries);
    if (attention != nullptr) *attention = at::softmax(logits, -1).mean(1);
    probabilities = at::softmax(logits + mask.to(logits.options()), -1);
  } else {
    probabilities = at::softmax(logits, -1);
    if (attention != nullptr) *attention = probabilities.mean(1);
  }
  // [B, heads, Q, T] x [B, heads, head_dim, T]^T -> [B, heads, Q, head_dim] -> [B, Q, W]
  const at::Tensor context = matmul_transposed(probabilities, v.transpose(-2, -1))
                                 .transpose(1, 2)
                                 .reshape({batch, queries, width});
  const at::Tensor out =
      x.slice(1, 0, queries) + linear_in_weight_dtype(context, w.out_proj_weight, w.out_proj_bias);
  attention_timer.stop();

  StageTimer mlp_timer = profiled
                             ? StageTimer::named([&] { return stage_name(profiled_block, "mlp"); })
                             : StageTimer::idle();
  const at::Tensor normed_2 = layer_norm_at_least_fp32(out, w.ln_2_weight, w.ln_2_bias);
  at::Tensor hidden = linear_in_weight_dtype(normed_2, w.c_fc_weight, w.c_fc_bias);
  hidden = w.activation == Activation::kGelu ? at::gelu(hidden)  // exact (erf), as torch's GELU
                                             : hidden * at::sigmoid(hidden * 1.702);  // QuickGELU
  return out + linear_in_weight_dtype(hidden, w.c_proj_weight, w.c_proj_bias);
}

at::Tensor residual_block_forward(const at::Tensor& x, const ResidualBlockWeights& w, int64_t heads,
                                  const at::Tensor& additive_mask, at::Tensor* attention,
                                  int64_t profiled_block, int64_t query_tokens) {
  return residual_block_after_ln_1(x, residual_block_ln_1(x, w), w, heads, additive_mask, attention,
                                   profiled_block, query_tokens);
}

}  // namespace tagclip
