#include "tagclip/model/text_tower.h"

#include <limits>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {

TextTower::TextTower(const StateDict& state, const ClipArchitecture& arch,
                     const at::TensorOptions& options)
    : arch_(arch) {
  auto load = [&](const std::string& name) { return state.at(name).to(options).contiguous(); };
  token_embedding_ = load("token_embedding.weight");
  positional_embedding_ = load("positional_embedding");
  ln_final_weight_ = load("ln_final.weight");
  ln_final_bias_ = load("ln_final.bias");
  text_projection_ = load("text_projection");
  for (int64_t i = 0; i < arch.text_layers; ++i)
    blocks_.push_back(
        ResidualBlockWeights::from_state(state, "transformer.resblocks." + std::to_string(i) + ".",
                                         options, std::nullopt, arch.text_activation));
}

at::Tensor TextTower::encode(const at::Tensor& token_ids, bool crop_to_longest) const {
  const at::InferenceMode guard;  // no autograd state kept
  if (token_ids.dim() != 2 || token_ids.size(1) != arch_.context_length)
    throw ShapeError("text input must be [P, " + std::to_string(arch_.context_length) +
                     "] token ids, got " + c10::str(token_ids.sizes()));
  const at::Tensor ids = token_ids.to(at::kLong).to(token_embedding_.device());
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= arch_.vocab_size))
    throw ShapeError("token id outside the model's vocabulary of " +
                     std::to_string(arch_.vocab_size));
  const at::Tensor end_positions = ids.argmax(1);  // [P]
  const int64_t length =
      crop_to_longest ? end_positions.max().item<int64_t>() + 1 : arch_.context_length;

  const at::Tensor used_ids = ids.slice(1, 0, length);  // [P, T]
  at::Tensor x = at::embedding(token_embedding_, used_ids) +
                 positional_embedding_.slice(0, 0, length);  // [P, T, W]
  // Causal mask [T, T]: -inf above the diagonal.
  const at::Tensor causal =
      at::full({length, length}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);
  for (const ResidualBlockWeights& block : blocks_)
    x = residual_block_forward(x, block, arch_.text_heads, causal, nullptr);
  x = at::layer_norm(x.to(at::kFloat), {arch_.text_width}, ln_final_weight_.to(at::kFloat),
                     ln_final_bias_.to(at::kFloat), 1e-5)
          .to(x.scalar_type());
  const at::Tensor rows = at::arange(ids.size(0), ids.options());
  const at::Tensor at_end = x.index({rows, end_positions});  // [P, W]
  return at::matmul(at_end, text_projection_);
}

}  // namespace tagclip
