#include "tagclip/model/vision_tower.h"

#include <string>

#include "tagclip/core/stage_profile.h"
#include "tagclip/errors.h"

namespace tagclip {

VisionTower::VisionTower(const StateDict& state, const ClipArchitecture& arch,
                         const at::TensorOptions& options,
                         std::optional<at::ScalarType> product_dtype)
    : arch_(arch) {
  auto load = [&](const std::string& name) { return state.at(name).to(options).contiguous(); };
  conv1_weight_ = load("visual.conv1.weight");
  class_embedding_ = load("visual.class_embedding");
  positional_embedding_ = load("visual.positional_embedding");
  ln_pre_weight_ = load("visual.ln_pre.weight");
  ln_pre_bias_ = load("visual.ln_pre.bias");
  ln_post_weight_ = load("visual.ln_post.weight");
  ln_post_bias_ = load("visual.ln_post.bias");
  proj_ = load("visual.proj");
  for (int64_t i = 0; i < arch.vision_layers; ++i)
    blocks_.push_back(ResidualBlockWeights::from_state(
        state, "visual.transformer.resblocks." + std::to_string(i) + ".", options, product_dtype,
        arch.vision_activation));
}

at::Tensor VisionTower::positional_embedding_for(int64_t grid_h, int64_t grid_w,
                                                 bool round_to_fp16) const {
  const int64_t g = arch_.grid_size;
  if (grid_h == g && grid_w == g) return positional_embedding_;
  const int64_t width = positional_embedding_.size(1);
  // [g*g, W] -> [1, W, g, g] -> resized [1, W, gh, gw] -> [gh*gw, W]
  const at::Tensor patch_part =
      positional_embedding_.slice(0, 1).to(at::kFloat).t().reshape({1, width, g, g});
  const at::Tensor resized = at::upsample_bilinear2d(patch_part, {grid_h, grid_w},
                                                     /*align_corners=*/false)
                                 .reshape({width, grid_h * grid_w})
                                 .t();
  at::Tensor full = at::cat({positional_embedding_.slice(0, 0, 1).to(at::kFloat), resized}, 0);
  // The reference stores the resized table as an fp16 parameter, class row included.
  if (round_to_fp16) full = full.to(at::kHalf);
  return full.to(positional_embedding_.options()).contiguous();
}

VisionOutput VisionTower::forward(const at::Tensor& images,
                                  const VisionForwardOptions& options) const {
  // No autograd state: the outputs are inference tensors whatever the caller does.
  const at::InferenceMode guard;
  const int64_t p = arch_.patch_size;
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) % p != 0 ||
      images.size(3) % p != 0 || images.size(2) == 0 || images.size(3) == 0)
    throw ShapeError("vision input must be [B, 3, H, W] with H and W positive multiples of " +
                     std::to_string(p) + ", got " + c10::str(images.sizes()));
  const int64_t layers = arch_.vision_layers;
  if (options.block_count < -1 || options.block_count > layers)
    throw UsageError("block_count " + std::to_string(options.block_count) + " out of range -1.." +
                     std::to_string(layers));
  const int64_t blocks_run = options.block_count == -1 ? layers : options.block_count;
  if (!options.block_masks.empty() && static_cast<int64_t>(options.block_masks.size()) != layers)
    throw ShapeError("block_masks must be empty or hold one entry per block (" +
                     std::to_string(layers) + ")");

  const int64_t batch = images.size(0);
  const int64_t grid_h = images.size(2) / p, grid_w = images.size(3) / p;
  const int64_t tokens = 1 + grid_h * grid_w;
  const int64_t width = arch_.vision_width;

  StageTimer embedding_timer("patch embedding");
  // Patchify: [B, W, gh, gw] -> [B, gh*gw, W], then prepend the class token.
  at::Tensor x = at::conv2d(images.to(conv1_weight_.options()), conv1_weight_, {}, {p, p});
  x = x.flatten(2).transpose(1, 2);
  const at::Tensor cls = class_embedding_.view({1, 1, width}).expand({batch, 1, width});
  x = at::cat({cls, x}, 1);
  at::Tensor positional =
      positional_embedding_for(grid_h, grid_w, options.round_resized_positional_to_fp16);
  if (options.round_native_positional_to_fp16 && grid_h == arch_.grid_size &&
      grid_w == arch_.grid_size)
    positional = positional.to(at::kHalf).to(positional.options());
  x = x + positional;
  x = at::layer_norm(x.to(at::kFloat), {width}, ln_pre_weight_.to(at::kFloat),
                     ln_pre_bias_.to(at::kFloat), 1e-5)
          .to(x.scalar_type());
  embedding_timer.stop();

  std::vector<bool> keep(layers, false);
  for (int64_t block : options.attention_blocks) {
    if (block < 0 || block >= blocks_run)
      throw UsageError("attention block " + std::to_string(block) + " out of range 0.." +
                       std::to_string(blocks_run - 1));
    keep[block] = true;
  }
  std::vector<at::Tensor> attention_by_block(layers);

  for (int64_t i = 0; i < blocks_run; ++i) {
    at::Tensor mask = options.block_masks.empty() ? at::Tensor() : options.block_masks[i];
    if (options.self_only_last_block && i == layers - 1) {
      // [T, T]: 0 on the diagonal, penalty elsewhere.
      const at::Tensor self_only = (1 - at::eye(tokens, x.options())) * options.self_only_penalty;
      mask = mask.defined() ? mask.to(x.options()) + self_only : self_only;
    }
    const bool observed = static_cast<bool>(options.attention_observer);
    at::Tensor attention;
    x = residual_block_forward(x, blocks_[i], arch_.vision_heads, mask,
                               keep[i] || observed ? &attention : nullptr, i,
                               options.class_token_only && i == layers - 1 ? 1 : -1);
    if (observed) options.attention_observer(i, attention);
    if (keep[i]) attention_by_block[i] = std::move(attention);
  }

  StageTimer head_timer("ln_post + projection");
  VisionOutput out;
  if (options.tokens_before_ln_post) {
    out.tokens = x;
  } else {
    x = at::layer_norm(x.to(at::kFloat), {width}, ln_post_weight_.to(at::kFloat),
                       ln_post_bias_.to(at::kFloat), 1e-5)
            .to(x.scalar_type());
    out.tokens = at::matmul(x, proj_);
  }
  for (int64_t block : options.attention_blocks) out.attention.push_back(attention_by_block[block]);
  return out;
}

}  // namespace tagclip
