#include "tagclip/pipeline/grad_cam.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <string>

#include "tagclip/errors.h"
#include "tagclip/model/transformer_block.h"

namespace tagclip {

namespace {

at::Tensor usable_by_autograd(const at::Tensor& weight) {
  return weight.is_inference() ? weight.clone() : weight.detach();
}

}  // namespace

LastVisionBlock LastVisionBlock::from(const VisionTower& vision) {
  const c10::InferenceMode autograd_on(false);
  const ResidualBlockWeights& source = vision.block(vision.layers() - 1);
  LastVisionBlock last;
  ResidualBlockWeights& b = last.block;
  b.ln_1_weight = usable_by_autograd(source.ln_1_weight);
  b.ln_1_bias = usable_by_autograd(source.ln_1_bias);
  b.in_proj_weight = usable_by_autograd(source.in_proj_weight);
  b.in_proj_bias = usable_by_autograd(source.in_proj_bias);
  b.out_proj_weight = usable_by_autograd(source.out_proj_weight);
  b.out_proj_bias = usable_by_autograd(source.out_proj_bias);
  b.ln_2_weight = usable_by_autograd(source.ln_2_weight);
  b.ln_2_bias = usable_by_autograd(source.ln_2_bias);
  b.c_fc_weight = usable_by_autograd(source.c_fc_weight);
  b.c_fc_bias = usable_by_autograd(source.c_fc_bias);
  b.c_proj_weight = usable_by_autograd(source.c_proj_weight);
  b.c_proj_bias = usable_by_autograd(source.c_proj_bias);
  last.heads = vision.heads();
  last.ln_post_weight = usable_by_autograd(vision.ln_post_weight());
  last.ln_post_bias = usable_by_autograd(vision.ln_post_bias());
  last.proj = usable_by_autograd(vision.proj());
  return last;
}

at::Tensor last_block_probabilities(const LastVisionBlock& last, const at::Tensor& tokens,
                                    const at::Tensor& normed_1, const at::Tensor& text_features,
                                    double logit_scale, at::Tensor* attention) {
  if (tokens.dim() != 3 || tokens.size(0) != 1 || tokens.size(1) < 2 ||
      normed_1.sizes() != tokens.sizes())
    throw ShapeError(
        "last block input must be [1, 1 + n, W] with n >= 1 and ln_1's output of "
        "the same shape, got " +
        c10::str(tokens.sizes()) + " and " + c10::str(normed_1.sizes()));
  const int64_t width = tokens.size(2);
  at::Tensor block_attention;
  at::Tensor x = residual_block_after_ln_1(tokens, normed_1, last.block, last.heads, at::Tensor(),
                                           attention != nullptr ? &block_attention : nullptr);
  if (attention != nullptr) *attention = block_attention[0].to(at::kFloat);
  // ln_post and the similarities in float32 at least (float64 when the model runs in it).
  const at::ScalarType wide_type = at::promote_types(tokens.scalar_type(), at::kFloat);
  // ln_post on every token, then the mean of the patch tokens: [1, W] -> [1, E].
  x = at::layer_norm(x.to(wide_type), {width}, last.ln_post_weight.to(wide_type),
                     last.ln_post_bias.to(wide_type), 1e-5)
          .to(tokens.scalar_type());
  at::Tensor image = at::matmul(x.slice(1, 1).mean(1), last.proj).to(wide_type);
  image = image / image.norm(2, 1, true);
  const at::Tensor text = text_features.to(image.options());
  const at::Tensor logits = logit_scale * at::matmul(image, (text / text.norm(2, 1, true)).t());
  return at::softmax(logits, -1)[0];  // [C]
}

LastBlockGradients last_block_gradients(const LastVisionBlock& last, const at::Tensor& tokens,
                                        const at::Tensor& text_features, double logit_scale,
                                        const std::vector<int64_t>& targets) {
  const int64_t rows = text_features.dim() == 2 ? text_features.size(0) : 0;
  for (int64_t target : targets)
    if (target < 0 || target >= rows)
      throw UsageError("Grad-CAM target " + std::to_string(target) + " out of range for " +
                       std::to_string(rows) + " text rows");
  // Autograd must be on even when the caller runs under inference mode; the tokens come
  // from an inference-mode forward, so a normal copy of them enters the graph.
  const c10::InferenceMode autograd_on(false);
  const c10::AutoGradMode grad_on(true);
  const at::Tensor x = tokens.clone();
  // The activation is a leaf: the residual path from x does not pass through it, so the
  // gradient with respect to it equals the reference's hook on ln_1's output.
  const at::Tensor normed_1 =
      residual_block_ln_1(x.detach(), last.block).detach().requires_grad_(true);

  LastBlockGradients out;
  const at::Tensor probabilities =
      last_block_probabilities(last, x, normed_1, text_features, logit_scale, &out.attention);
  std::vector<at::Tensor> gradients;
  for (size_t k = 0; k < targets.size(); ++k) {
    const bool final_target = k + 1 == targets.size();
    const at::Tensor grad = torch::autograd::grad({probabilities[targets[k]]}, {normed_1}, {},
                                                  /*retain_graph=*/!final_target)
                                .at(0);
    gradients.push_back(grad[0].slice(0, 1).to(at::kFloat));  // [n, D]
  }
  out.gradients = gradients.empty() ? at::empty({0, tokens.size(1) - 1, tokens.size(2)})
                                    : at::stack(gradients, 0).detach();
  out.activation = normed_1.detach()[0].slice(0, 1).to(at::kFloat).contiguous();
  out.probabilities = probabilities.detach().to(at::kFloat);
  out.attention = out.attention.detach();
  return out;
}

at::Tensor scale_cam_maps(const at::Tensor& maps) {
  if (maps.dim() != 3) throw ShapeError("CAMs must be [K, h, w], got " + c10::str(maps.sizes()));
  const at::Tensor values = maps.to(at::kFloat);
  const at::Tensor shifted = values - std::get<0>(values.flatten(1).min(1)).view({-1, 1, 1});
  // numpy adds the Python float 1e-7 to the float32 maximum in double, and the array
  // division rounds that denominator to float32.
  const at::Tensor top = std::get<0>(shifted.flatten(1).max(1)).to(at::kDouble);
  const at::Tensor denominator = (top + 1e-7).to(at::kFloat).view({-1, 1, 1});
  return (shifted / denominator).contiguous();
}

at::Tensor grad_cam_maps(const at::Tensor& activation, const at::Tensor& gradients, int64_t grid_h,
                         int64_t grid_w) {
  if (activation.dim() != 2 || gradients.dim() != 3 || activation.size(0) != grid_h * grid_w ||
      gradients.size(1) != activation.size(0) || gradients.size(2) != activation.size(1))
    throw ShapeError("Grad-CAM needs activation [n, D] and gradients [K, n, D] with n = " +
                     std::to_string(grid_h * grid_w) + ", got " + c10::str(activation.sizes()) +
                     " and " + c10::str(gradients.sizes()));
  const at::Tensor weights = gradients.to(at::kFloat).mean(1);  // [K, D]
  // sum_c w_c A_c per position: [K, D] x [D, n] -> [K, n]
  const at::Tensor cam = at::relu(at::matmul(weights, activation.to(at::kFloat).t()));
  return scale_cam_maps(scale_cam_maps(cam.view({-1, grid_h, grid_w})));
}

}  // namespace tagclip
