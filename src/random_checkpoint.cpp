#include "tagclip/random_checkpoint.h"

#include <cmath>
#include <vector>

#include <torch/script.h>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

// Builds the module tree of an OpenAI checkpoint and fills each tensor with
// center + spread * u, u uniform in [-sqrt(3), sqrt(3)) (unit variance).
class CheckpointBuilder {
 public:
  explicit CheckpointBuilder(const RandomCheckpointSpec& spec) : spec_(spec) {}

  at::Tensor values(const std::string& name, at::IntArrayRef shape, double spread,
                    double center = 0.0) const {
    at::Tensor out = at::empty(shape, at::kFloat);
    float* data = out.data_ptr<float>();
    const uint64_t stream = splitmix64(spec_.seed ^ fnv1a(name));
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) {
      const double unit = static_cast<double>(splitmix64(stream + static_cast<uint64_t>(i)) >> 11) *
                          (1.0 / 9007199254740992.0);
      data[i] = static_cast<float>(center + spread * std::sqrt(3.0) * (2.0 * unit - 1.0));
    }
    return spec_.store_float16 ? out.to(at::kHalf) : out;
  }

  void add_block(torch::jit::Module& parent, const std::string& prefix, int64_t index,
                 int64_t width, int64_t layers) const {
    const std::string p = prefix + std::to_string(index) + ".";
    const double attn_std = std::pow(width, -0.5);
    const double proj_std = attn_std * std::pow(2.0 * layers, -0.5);
    const double fc_std = std::pow(2.0 * width, -0.5);
    torch::jit::Module block("__torch__.ResidualAttentionBlock");
    torch::jit::Module attn("__torch__.MultiheadAttention");
    attn.register_parameter("in_proj_weight", values(p + "attn.in_proj_weight", {3 * width, width}, attn_std), false);
    attn.register_parameter("in_proj_bias", values(p + "attn.in_proj_bias", {3 * width}, 0.02), false);
    attn.register_module("out_proj", linear(p + "attn.out_proj", width, width, proj_std));
    block.register_module("attn", attn);
    block.register_module("ln_1", layer_norm(p + "ln_1", width));
    torch::jit::Module mlp("__torch__.Sequential");
    mlp.register_module("c_fc", linear(p + "mlp.c_fc", 4 * width, width, fc_std));
    mlp.register_module("c_proj", linear(p + "mlp.c_proj", width, 4 * width, proj_std));
    block.register_module("mlp", mlp);
    block.register_module("ln_2", layer_norm(p + "ln_2", width));
    parent.register_module(std::to_string(index), block);
  }

  torch::jit::Module linear(const std::string& name, int64_t out, int64_t in, double std) const {
    torch::jit::Module m("__torch__.Linear");
    m.register_parameter("weight", values(name + ".weight", {out, in}, std), false);
    m.register_parameter("bias", values(name + ".bias", {out}, 0.02), false);
    return m;
  }

  // Weights near 1 and non-zero biases, so a wrong LayerNorm in the loader shows.
  torch::jit::Module layer_norm(const std::string& name, int64_t width) const {
    torch::jit::Module m("__torch__.LayerNorm");
    m.register_parameter("weight", values(name + ".weight", {width}, 0.1, 1.0), false);
    m.register_parameter("bias", values(name + ".bias", {width}, 0.05), false);
    return m;
  }

  torch::jit::Module transformer(const std::string& prefix, int64_t width, int64_t layers) const {
    torch::jit::Module t("__torch__.Transformer");
    torch::jit::Module blocks("__torch__.Sequential");
    for (int64_t i = 0; i < layers; ++i) add_block(blocks, prefix + "resblocks.", i, width, layers);
    t.register_module("resblocks", blocks);
    return t;
  }

  torch::jit::Module build() const {
    const RandomCheckpointSpec& s = spec_;
    const int64_t vw = s.vision_width, tw = s.text_width;
    torch::jit::Module root("__torch__.CLIP");

    torch::jit::Module visual("__torch__.VisionTransformer");
    torch::jit::Module conv1("__torch__.Conv2d");
    conv1.register_parameter("weight",
                             values("visual.conv1.weight", {vw, 3, s.patch_size, s.patch_size},
                                    std::pow(3.0 * s.patch_size * s.patch_size, -0.5)),
                             false);
    visual.register_module("conv1", conv1);
    const double vscale = std::pow(vw, -0.5);
    visual.register_parameter("class_embedding", values("visual.class_embedding", {vw}, vscale), false);
    visual.register_parameter(
        "positional_embedding",
        values("visual.positional_embedding", {s.grid_size * s.grid_size + 1, vw}, vscale), false);
    visual.register_module("ln_pre", layer_norm("visual.ln_pre", vw));
    visual.register_module("transformer", transformer("visual.transformer.", vw, s.vision_layers));
    visual.register_module("ln_post", layer_norm("visual.ln_post", vw));
    visual.register_parameter("proj", values("visual.proj", {vw, s.embed_dim}, vscale), false);
    root.register_module("visual", visual);

    root.register_module("transformer", transformer("transformer.", tw, s.text_layers));
    torch::jit::Module token_embedding("__torch__.Embedding");
    token_embedding.register_parameter(
        "weight", values("token_embedding.weight", {s.vocab_size, tw}, 0.02), false);
    root.register_module("token_embedding", token_embedding);
    root.register_parameter("positional_embedding",
                            values("positional_embedding", {s.context_length, tw}, 0.01), false);
    root.register_module("ln_final", layer_norm("ln_final", tw));
    root.register_parameter("text_projection",
                            values("text_projection", {tw, s.embed_dim}, std::pow(tw, -0.5)), false);
    // log(100): the temperature released CLIP models converged to.
    root.register_parameter("logit_scale", at::full({}, std::log(100.0), at::kFloat), false);
    // The releases carry these three integers as extra state-dict entries.
    root.register_buffer("input_resolution", at::full({}, s.patch_size * s.grid_size, at::kLong));
    root.register_buffer("context_length", at::full({}, s.context_length, at::kLong));
    root.register_buffer("vocab_size", at::full({}, s.vocab_size, at::kLong));
    return root;
  }

 private:
  const RandomCheckpointSpec& spec_;
};

}  // namespace

RandomCheckpointSpec RandomCheckpointSpec::vit_b16() {
  RandomCheckpointSpec spec;
  spec.vision_width = 768;
  spec.vision_layers = 12;
  spec.patch_size = 16;
  spec.grid_size = 14;
  spec.embed_dim = 512;
  spec.text_width = 512;
  spec.text_layers = 12;
  return spec;
}

void write_random_checkpoint(const std::string& path, const RandomCheckpointSpec& spec) {
  if (spec.vision_width % 64 != 0 || spec.text_width % 64 != 0)
    throw UsageError("random checkpoint widths must be multiples of 64");
  try {
    CheckpointBuilder(spec).build().save(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
}

}  // namespace tagclip
