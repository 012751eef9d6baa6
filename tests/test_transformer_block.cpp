// The residual block's MLP activation: QuickGELU for OpenAI's weights, the exact (erf) GELU
// that open_clip's LAION models and Hugging Face configs with hidden_act "gelu" use.
#include <gtest/gtest.h>

#include <cmath>

#include "tagclip/model/transformer_block.h"

namespace tagclip {
namespace {

// A block whose attention adds nothing (zero projections), so its output is
// x + c_proj(act(c_fc(ln_2(x)))): the MLP alone, checked against written-out formulas.
ResidualBlockWeights mlp_only_block(int64_t width, Activation activation) {
  at::manual_seed(5);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  ResidualBlockWeights w;
  w.ln_1_weight = at::ones({width}, f64);
  w.ln_1_bias = at::zeros({width}, f64);
  w.in_proj_weight = at::zeros({3 * width, width}, f64);
  w.in_proj_bias = at::zeros({3 * width}, f64);
  w.out_proj_weight = at::zeros({width, width}, f64);
  w.out_proj_bias = at::zeros({width}, f64);
  w.ln_2_weight = at::ones({width}, f64);
  w.ln_2_bias = at::zeros({width}, f64);
  w.c_fc_weight = at::randn({4 * width, width}, f64);
  w.c_fc_bias = at::randn({4 * width}, f64);
  w.c_proj_weight = at::randn({width, 4 * width}, f64);
  w.c_proj_bias = at::randn({width}, f64);
  w.activation = activation;
  return w;
}

TEST(TransformerBlock, MlpActivationIsQuickGeluOrTheExactGelu) {
  const int64_t width = 8;
  const at::Tensor x = at::randn({1, 3, width}, at::kDouble);  // [B, T, W]
  for (const Activation activation : {Activation::kQuickGelu, Activation::kGelu}) {
    const ResidualBlockWeights w = mlp_only_block(width, activation);
    const at::Tensor normed = at::layer_norm(x, {width}, w.ln_2_weight, w.ln_2_bias, 1e-5);
    const at::Tensor hidden = at::linear(normed, w.c_fc_weight, w.c_fc_bias);  // [1, 3, 4W]
    const at::Tensor activated =
        activation == Activation::kGelu
            ? 0.5 * hidden * (1 + at::erf(hidden / std::sqrt(2.0)))  // the exact GELU
            : hidden * at::sigmoid(1.702 * hidden);                  // QuickGELU
    const at::Tensor expected = x + at::linear(activated, w.c_proj_weight, w.c_proj_bias);
    const at::Tensor out = residual_block_forward(x, w, /*heads=*/1, at::Tensor(), nullptr);
    EXPECT_LT((out - expected).abs().max().item<double>(), 1e-10) << activation_name(activation);
  }
  // The two differ by far more than rounding (QuickGELU is an approximation).
  const at::Tensor quick = residual_block_forward(x, mlp_only_block(width, Activation::kQuickGelu),
                                                  1, at::Tensor(), nullptr);
  const at::Tensor gelu =
      residual_block_forward(x, mlp_only_block(width, Activation::kGelu), 1, at::Tensor(), nullptr);
  EXPECT_GT((quick - gelu).abs().max().item<double>(), 1e-3);
}

}  // namespace
}  // namespace tagclip
