#include "hugging_face_layout.h"

#include <cmath>
#include <map>
#include <regex>

#include "layout_support.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

// Names outside the blocks: Hugging Face's -> OpenAI's. The two projections are nn.Linear
// in transformers ([E, W]) and a plain matrix in OpenAI's model ([W, E]).
const std::map<std::string, std::string>& plain_names() {
  static const std::map<std::string, std::string> names = {
      {"vision_model.embeddings.class_embedding", "visual.class_embedding"},
      {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"},
      {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"},
      {"vision_model.pre_layrnorm.weight", "visual.ln_pre.weight"},  // sic: transformers' name
      {"vision_model.pre_layrnorm.bias", "visual.ln_pre.bias"},
      {"vision_model.post_layernorm.weight", "visual.ln_post.weight"},
      {"vision_model.post_layernorm.bias", "visual.ln_post.bias"},
      {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
      {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
      {"text_model.final_layer_norm.weight", "ln_final.weight"},
      {"text_model.final_layer_norm.bias", "ln_final.bias"},
      {"logit_scale", "logit_scale"}};
  return names;
}
const std::map<std::string, std::string>& transposed_names() {
  static const std::map<std::string, std::string> names = {
      {"visual_projection.weight", "visual.proj"}, {"text_projection.weight", "text_projection"}};
  return names;
}
// Inside a block: "<tower>.encoder.layers.N.<part>" -> "<openai block prefix>N.<part>".
const std::map<std::string, std::string>& block_parts() {
  static const std::map<std::string, std::string> parts = {
      {"self_attn.out_proj.weight", "attn.out_proj.weight"},
      {"self_attn.out_proj.bias", "attn.out_proj.bias"},
      {"layer_norm1.weight", "ln_1.weight"},
      {"layer_norm1.bias", "ln_1.bias"},
      {"layer_norm2.weight", "ln_2.weight"},
      {"layer_norm2.bias", "ln_2.bias"},
      {"mlp.fc1.weight", "mlp.c_fc.weight"},
      {"mlp.fc1.bias", "mlp.c_fc.bias"},
      {"mlp.fc2.weight", "mlp.c_proj.weight"},
      {"mlp.fc2.bias", "mlp.c_proj.bias"}};
  return parts;
}
const char* kTowers[][2] = {{"vision_model.encoder.layers.", "visual.transformer.resblocks."},
                            {"text_model.encoder.layers.", "transformer.resblocks."}};

}  // namespace

bool has_hugging_face_names(const StateDict& state) {
  return state.count("vision_model.embeddings.patch_embedding.weight") > 0;
}

StateDict hugging_face_to_openai(const StateDict& state, const std::string& path) {
  static const std::regex block_name(
      R"(^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$)");
  static const std::regex qkv_name(R"(^self_attn\.([qkv])_proj\.(weight|bias)$)");
  StateDict out;
  // "<openai prefix>N.attn.in_proj_weight" -> {"q": tensor, "k": ..., "v": ...}
  std::map<std::string, std::map<std::string, at::Tensor>> projections;
  for (const auto& [name, tensor] : state) {
    if (name == "vision_model.embeddings.position_ids" ||
        name == "text_model.embeddings.position_ids")
      continue;  // a buffer of 0..N-1, not a weight
    if (const auto it = plain_names().find(name); it != plain_names().end()) {
      out[it->second] = tensor;
      continue;
    }
    if (const auto it = transposed_names().find(name); it != transposed_names().end()) {
      if (tensor.dim() != 2) throw ModelError(path, name, "expected a matrix");
      out[it->second] = tensor.t().contiguous();
      continue;
    }
    std::smatch match;
    if (std::regex_match(name, match, block_name)) {
      const std::string prefix =
          std::string(kTowers[match[1] == "vision_model" ? 0 : 1][1]) + match[2].str() + ".";
      const std::string part = match[3];
      if (const auto it = block_parts().find(part); it != block_parts().end()) {
        out[prefix + it->second] = tensor;
        continue;
      }
      std::smatch qkv;
      if (std::regex_match(part, qkv, qkv_name)) {
        projections[prefix + "attn.in_proj_" + qkv[2].str()][qkv[1]] = tensor;
        continue;
      }
    }
    throw ModelError(path, name,
                     "not part of a CLIP ViT as tagclip runs it (a feature this Hugging Face "
                     "model adds, which tagclip does not implement)");
  }
  for (auto& [target, parts] : projections) {
    for (const char* which : {"q", "k", "v"})
      if (!parts.count(which))
        throw ModelError(path, target, std::string("the ") + which + "_proj part is missing");
    out[target] = at::cat({parts["q"], parts["k"], parts["v"]}, 0);
  }
  return out;
}

StateDict openai_to_hugging_face(const StateDict& state) {
  StateDict out;
  for (const auto& [hf, openai] : plain_names()) out[hf] = state.at(openai);
  for (const auto& [hf, openai] : transposed_names()) out[hf] = state.at(openai).t().contiguous();
  for (const auto& tower : kTowers) {
    const std::string openai_prefix = tower[1];
    const int64_t blocks = consecutive_blocks(state, openai_prefix);
    for (int64_t i = 0; i < blocks; ++i) {
      const std::string from = openai_prefix + std::to_string(i) + ".";
      const std::string to = tower[0] + std::to_string(i) + ".";
      for (const auto& [hf, openai] : block_parts()) out[to + hf] = state.at(from + openai);
      for (const char* kind : {"weight", "bias"}) {
        const auto qkv = state.at(from + "attn.in_proj_" + kind).chunk(3, 0);
        out[to + "self_attn.q_proj." + kind] = qkv[0].contiguous();
        out[to + "self_attn.k_proj." + kind] = qkv[1].contiguous();
        out[to + "self_attn.v_proj." + kind] = qkv[2].contiguous();
      }
    }
  }
  return out;
}

namespace {

Activation parse_activation(const nlohmann::json& tower, const char* tower_name,
                            const std::string& path, std::vector<std::string>& evidence) {
  // transformers' CLIP{Vision,Text}Config default.
  const std::string act = tower.value("hidden_act", std::string("quick_gelu"));
  Activation activation;
  if (act == "quick_gelu") {
    activation = Activation::kQuickGelu;
  } else if (act == "gelu") {
    activation = Activation::kGelu;
  } else {
    throw ModelError(path, "",
                     std::string(tower_name) + ".hidden_act '" + act +
                         "' is not supported (quick_gelu or gelu)");
  }
  evidence.push_back(std::string(tower_name) + " activation " + activation_name(activation) +
                     ": config.json " + tower_name + ".hidden_act = " + act +
                     (tower.contains("hidden_act") ? "" : " (transformers' default)"));
  return activation;
}

// The tower's section: "vision_config", or "vision_config_dict" in older configs.
nlohmann::json tower_config(const nlohmann::json& config, const std::string& name,
                            const std::string& path) {
  for (const std::string& key : {name, name + "_dict"}) {
    const auto it = config.find(key);
    if (it != config.end() && it->is_object()) return *it;
    if (it != config.end() && !it->is_null()) throw ModelError(path, "", key + " is not an object");
  }
  return nlohmann::json::object();
}

}  // namespace

ArchitectureHints hugging_face_hints(const nlohmann::json& config, const std::string& path,
                                     const StateDict& state, std::vector<std::string>& evidence) {
  if (!config.is_object()) throw ModelError(path, "", "is not a JSON object");
  const std::string type = config.value("model_type", std::string("clip"));
  if (type != "clip")
    throw ModelError(path, "",
                     "model_type '" + type +
                         "' is not supported (tagclip runs CLIP: model_type "
                         "clip, as in openai/clip-vit-base-patch16)");
  ArchitectureHints hints;
  struct Tower {
    const char* name;
    const char* width_tensor;  // OpenAI name whose dim 0 is the width
    const char* block_prefix;
    int64_t default_width, default_layers, default_heads;  // transformers' defaults
    int64_t* head_width;
    Activation* activation;
  };
  Tower towers[] = {{"vision_config", "visual.conv1.weight", "visual.transformer.resblocks.", 768,
                     12, 12, &hints.vision_head_width, &hints.vision_activation},
                    {"text_config", "ln_final.weight", "transformer.resblocks.", 512, 12, 8,
                     &hints.text_head_width, &hints.text_activation}};
  for (const Tower& t : towers) {
    const nlohmann::json tower = tower_config(config, t.name, path);
    const int64_t width = positive_int_field(tower, t.name, "hidden_size", t.default_width, path);
    const int64_t layers =
        positive_int_field(tower, t.name, "num_hidden_layers", t.default_layers, path);
    const int64_t heads =
        positive_int_field(tower, t.name, "num_attention_heads", t.default_heads, path);
    const int64_t tensor_width = width_of(state, t.width_tensor);
    const int64_t tensor_layers = consecutive_blocks(state, t.block_prefix);
    if (width != tensor_width || layers != tensor_layers)
      throw ModelError(path, "",
                       std::string(t.name) + " says width " + std::to_string(width) + " and " +
                           std::to_string(layers) + " layers, the weights have width " +
                           std::to_string(tensor_width) + " and " + std::to_string(tensor_layers) +
                           " (config.json of another model?)");
    if (width % heads != 0)
      throw ModelError(path, "",
                       std::string(t.name) + ".num_attention_heads " + std::to_string(heads) +
                           " does not divide hidden_size " + std::to_string(width));
    *t.head_width = width / heads;
    evidence.push_back(std::string(t.name) + " heads " + std::to_string(heads) + ": config.json " +
                       t.name + ".num_attention_heads");
    *t.activation = parse_activation(tower, t.name, path, evidence);
    const double eps = tower.value("layer_norm_eps", 1e-5);
    if (std::abs(eps - 1e-5) > 1e-12)
      throw ModelError(path, "",
                       std::string(t.name) + ".layer_norm_eps " + std::to_string(eps) +
                           " is not supported (CLIP's LayerNorm uses 1e-5)");
  }
  const nlohmann::json text = tower_config(config, "text_config", path);
  if (text.contains("eos_token_id")) {
    const auto& eos = text["eos_token_id"];
    if (!eos.is_number_integer() || (eos.get<int64_t>() != 49407 && eos.get<int64_t>() != 2))
      throw ModelError(path, "",
                       "text_config.eos_token_id " + eos.dump() +
                           " is not CLIP's end of text (49407, or 2 in older configs)");
  }
  return hints;
}

nlohmann::json hugging_face_config(const StateDict& state, const ClipArchitecture& arch) {
  auto act = [](Activation a) { return a == Activation::kGelu ? "gelu" : "quick_gelu"; };
  const int64_t vision_mlp = state.at("visual.transformer.resblocks.0.mlp.c_fc.weight").size(0);
  const int64_t text_mlp = state.at("transformer.resblocks.0.mlp.c_fc.weight").size(0);
  return {{"architectures", {"CLIPModel"}},
          {"model_type", "clip"},
          {"projection_dim", arch.embed_dim},
          {"logit_scale_init_value", 2.6592},
          {"text_config",
           {{"hidden_size", arch.text_width},
            {"intermediate_size", text_mlp},
            {"num_attention_heads", arch.text_heads},
            {"num_hidden_layers", arch.text_layers},
            {"max_position_embeddings", arch.context_length},
            {"vocab_size", arch.vocab_size},
            {"hidden_act", act(arch.text_activation)},
            {"layer_norm_eps", 1e-5},
            {"projection_dim", arch.embed_dim},
            {"bos_token_id", 49406},
            {"eos_token_id", 49407},
            {"pad_token_id", 1}}},
          {"vision_config",
           {{"hidden_size", arch.vision_width},
            {"intermediate_size", vision_mlp},
            {"num_attention_heads", arch.vision_heads},
            {"num_hidden_layers", arch.vision_layers},
            {"image_size", arch.input_resolution},
            {"patch_size", arch.patch_size},
            {"num_channels", 3},
            {"hidden_act", act(arch.vision_activation)},
            {"layer_norm_eps", 1e-5},
            {"projection_dim", arch.embed_dim}}}};
}

}  // namespace tagclip
