#include "tagclip/model/random_checkpoint.h"

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

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

// Fills each tensor with center + spread * u, u uniform in [-sqrt(3), sqrt(3)) (unit
// variance), with the standard deviations of CLIP's own initialisation.
class RandomStateBuilder {
 public:
  explicit RandomStateBuilder(const RandomCheckpointSpec& spec) : spec_(spec) {}

  StateDict build() {
    const RandomCheckpointSpec& s = spec_;
    const int64_t vw = s.vision_width, tw = s.text_width;
    const double vscale = std::pow(vw, -0.5);
    add("visual.conv1.weight", {vw, 3, s.patch_size, s.patch_size},
        std::pow(3.0 * s.patch_size * s.patch_size, -0.5));
    add("visual.class_embedding", {vw}, vscale);
    add("visual.positional_embedding", {s.grid_size * s.grid_size + 1, vw}, vscale);
    add_layer_norm("visual.ln_pre", vw);
    for (int64_t i = 0; i < s.vision_layers; ++i)
      add_block("visual.transformer.resblocks." + std::to_string(i) + ".", vw, s.vision_layers);
    add_layer_norm("visual.ln_post", vw);
    add("visual.proj", {vw, s.embed_dim}, vscale);

    for (int64_t i = 0; i < s.text_layers; ++i)
      add_block("transformer.resblocks." + std::to_string(i) + ".", tw, s.text_layers);
    add("token_embedding.weight", {s.vocab_size, tw}, 0.02);
    add("positional_embedding", {s.context_length, tw}, 0.01);
    add_layer_norm("ln_final", tw);
    add("text_projection", {tw, s.embed_dim}, std::pow(tw, -0.5));
    // log(100): the temperature released CLIP models converged to.
    state_["logit_scale"] = at::full({}, std::log(100.0), at::kFloat);
    // The releases carry these three integers as extra state-dict entries.
    state_["input_resolution"] = at::full({}, s.patch_size * s.grid_size, at::kLong);
    state_["context_length"] = at::full({}, s.context_length, at::kLong);
    state_["vocab_size"] = at::full({}, s.vocab_size, at::kLong);
    return std::move(state_);
  }

 private:
  void add(const std::string& name, at::IntArrayRef shape, double spread, double center = 0.0) {
    at::Tensor out = at::empty(shape, at::kFloat);
    float* data = out.data_ptr<float>();
    const uint64_t stream = splitmix64(spec_.seed ^ fnv1a(name));
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) {
      const double unit = static_cast<double>(splitmix64(stream + static_cast<uint64_t>(i)) >> 11) *
                          (1.0 / 9007199254740992.0);
      data[i] = static_cast<float>(center + spread * std::sqrt(3.0) * (2.0 * unit - 1.0));
    }
    state_[name] = spec_.store_float16 ? out.to(at::kHalf) : out;
  }

  // Weights near 1 and non-zero biases, so a wrong LayerNorm in the loader shows.
  void add_layer_norm(const std::string& name, int64_t width) {
    add(name + ".weight", {width}, 0.1, 1.0);
    add(name + ".bias", {width}, 0.05);
  }

  void add_block(const std::string& p, int64_t width, int64_t layers) {
    const double attn_std = std::pow(width, -0.5);
    const double proj_std = attn_std * std::pow(2.0 * layers, -0.5);
    const double fc_std = std::pow(2.0 * width, -0.5);
    add(p + "attn.in_proj_weight", {3 * width, width}, attn_std);
    add(p + "attn.in_proj_bias", {3 * width}, 0.02);
    add(p + "attn.out_proj.weight", {width, width}, proj_std);
    add(p + "attn.out_proj.bias", {width}, 0.02);
    add_layer_norm(p + "ln_1", width);
    add(p + "mlp.c_fc.weight", {4 * width, width}, fc_std);
    add(p + "mlp.c_fc.bias", {4 * width}, 0.02);
    add(p + "mlp.c_proj.weight", {width, 4 * width}, proj_std);
    add(p + "mlp.c_proj.bias", {width}, 0.02);
    add_layer_norm(p + "ln_2", width);
  }

  const RandomCheckpointSpec& spec_;
  StateDict state_;
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
  save_state_dict(random_state_dict(spec), path);
}

StateDict random_state_dict(const RandomCheckpointSpec& spec) {
  return RandomStateBuilder(spec).build();
}

void save_state_dict(const StateDict& state, const std::string& path) {
  // Dotted names become nested submodules ("visual.conv1.weight" -> visual / conv1 /
  // weight), which is how TorchScript archives of nn.Modules name their tensors.
  torch::jit::Module root("__torch__.CLIP");
  std::map<std::string, torch::jit::Module> modules;  // dotted prefix -> module
  std::vector<std::string> prefixes;                  // creation order, parents first
  auto module_for = [&](const std::string& prefix) -> torch::jit::Module& {
    auto it = modules.find(prefix);
    if (it == modules.end()) {
      it = modules.emplace(prefix, torch::jit::Module("__torch__.Module")).first;
      prefixes.push_back(prefix);
    }
    return it->second;
  };
  for (const auto& [name, tensor] : state) {
    const auto dot = name.rfind('.');
    std::string parent = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    // Every ancestor prefix ("visual", "visual.conv1") gets its module.
    for (size_t dot_at = parent.find('.'); dot_at != std::string::npos;
         dot_at = parent.find('.', dot_at + 1))
      module_for(parent.substr(0, dot_at));
    if (!parent.empty()) module_for(parent);
    torch::jit::Module& owner = parent.empty() ? root : module_for(parent);
    if (tensor.is_floating_point())
      owner.register_parameter(leaf, tensor, /*is_buffer=*/false);
    else
      owner.register_buffer(leaf, tensor);
  }
  // Attach children to parents, deepest first, so each child is complete when copied in.
  std::sort(prefixes.begin(), prefixes.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '.') > std::count(b.begin(), b.end(), '.');
  });
  for (const std::string& prefix : prefixes) {
    const auto dot = prefix.rfind('.');
    torch::jit::Module& parent =
        dot == std::string::npos ? root : modules.at(prefix.substr(0, dot));
    parent.register_module(dot == std::string::npos ? prefix : prefix.substr(dot + 1),
                           modules.at(prefix));
  }
  try {
    root.save(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
}

}  // namespace tagclip
