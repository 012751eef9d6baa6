#include "open_clip_layout.h"

#include <cmath>
#include <filesystem>

#include "layout_support.h"
#include "tagclip/errors.h"
#include "tagclip/pipeline/preprocess.h"

namespace tagclip {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A tensor name that belongs to a feature tagclip does not implement: the feature's name.
std::string unsupported_feature(const std::string& name) {
  if (starts_with(name, "visual.trunk.")) return "a timm image tower";
  if (starts_with(name, "visual.attn_pool") || starts_with(name, "attn_pool"))
    return "attentional pooling (CoCa)";
  if (starts_with(name, "text_decoder.")) return "CoCa's text decoder";
  if (name == "logit_bias") return "SigLIP's sigmoid loss (logit_bias)";
  if (starts_with(name, "text.transformer.embeddings") ||
      starts_with(name, "text.transformer.encoder") || starts_with(name, "text.proj"))
    return "a Hugging Face text tower, which has another tokenizer";
  if (contains(name, ".ls_1.") || contains(name, ".ls_2.")) return "LayerScale (ls_1, ls_2)";
  if (contains(name, ".ln_attn.") || contains(name, ".mlp.ln."))
    return "NormFormer norms (scale_attn, scale_fc)";
  if (contains(name, ".head_scale")) return "head scaling (scale_heads)";
  return "";
}

// Settings of open_clip's model classes that change the computation and that tagclip does
// not implement: refused by name rather than silently run as plain CLIP.
void refuse_unsupported_settings(const nlohmann::json& vision, const nlohmann::json& text,
                                 const nlohmann::json& model, const std::string& path) {
  auto refuse = [&](const std::string& setting) {
    throw ModelError(path, "", setting + " is not supported by tagclip");
  };
  if (vision.contains("timm_model_name") && !vision["timm_model_name"].is_null())
    refuse("vision_cfg.timm_model_name (a timm image tower)");
  if (text.contains("hf_model_name") && !text["hf_model_name"].is_null())
    refuse("text_cfg.hf_model_name (a Hugging Face text tower)");
  for (const char* flag : {"attentional_pool", "final_ln_after_pool", "no_ln_pre"})
    if (vision.value(flag, false)) refuse(std::string("vision_cfg.") + flag);
  for (const char* flag : {"embed_cls", "no_causal_mask"})
    if (text.value(flag, false)) refuse(std::string("text_cfg.") + flag);
  if (vision.value("pool_type", std::string("tok")) != "tok")
    refuse("vision_cfg.pool_type '" + vision["pool_type"].get<std::string>() + "'");
  if (text.value("pool_type", std::string("argmax")) != "argmax")
    refuse("text_cfg.pool_type '" + text["pool_type"].get<std::string>() + "'");
  if (vision.value("pos_embed_type", std::string("learnable")) != "learnable")
    refuse("vision_cfg.pos_embed_type '" + vision["pos_embed_type"].get<std::string>() + "'");
  for (const char* field : {"act_kwargs", "norm_kwargs"})
    for (const nlohmann::json* section : {&vision, &text, &model})
      if (section->contains(field) && !(*section)[field].empty())
        refuse(std::string(field) + " (another activation or LayerNorm setting)");
  const auto vocab = text.find("vocab_size");
  if (vocab != text.end() && (!vocab->is_number_integer() || vocab->get<int64_t>() != 49408))
    refuse("text_cfg.vocab_size " + vocab->dump() + " (CLIP's BPE has 49408 tokens)");
}

void check_preprocessing(const nlohmann::json& config, const std::string& path) {
  const auto pre = config.find("preprocess_cfg");
  if (pre == config.end() || !pre->is_object()) return;
  for (const auto& [field, expected] :
       {std::pair{"mean", kClipPixelMean}, std::pair{"std", kClipPixelStd}}) {
    const auto values = pre->find(field);
    if (values == pre->end()) continue;
    bool same = values->is_array() && values->size() == 3;
    for (size_t c = 0; same && c < 3; ++c)
      same = (*values)[c].is_number() &&
             std::abs((*values)[c].get<double>() - static_cast<double>(expected[c])) < 1e-6;
    if (!same)
      throw ModelError(path, "",
                       std::string("preprocess_cfg.") + field + " " + values->dump() +
                           " is not CLIP's; tagclip normalises images as OpenAI's CLIP does");
  }
}

ArchitectureHints hints_from_config(const nlohmann::json& config, const std::string& path,
                                    const StateDict& state, std::vector<std::string>& evidence) {
  if (!config.is_object()) throw ModelError(path, "", "is not a JSON object");
  const nlohmann::json model = config.value("model_cfg", config);
  if (!model.is_object()) throw ModelError(path, "", "model_cfg is not an object");
  const nlohmann::json vision = model.value("vision_cfg", nlohmann::json::object());
  const nlohmann::json text = model.value("text_cfg", nlohmann::json::object());
  if (!vision.is_object() || !text.is_object())
    throw ModelError(path, "", "model_cfg.vision_cfg or text_cfg is not an object");
  refuse_unsupported_settings(vision, text, model, path);
  check_preprocessing(config, path);

  const int64_t vision_width = width_of(state, "visual.conv1.weight");
  const int64_t text_width = width_of(state, "ln_final.weight");
  const int64_t vision_layers = consecutive_blocks(state, "visual.transformer.resblocks.");
  const int64_t text_layers = consecutive_blocks(state, "transformer.resblocks.");
  // open_clip's defaults (CLIPVisionCfg, CLIPTextCfg) for absent fields.
  const int64_t cfg_vision_width = positive_int_field(vision, "vision_cfg", "width", 768, path);
  const int64_t cfg_vision_layers = positive_int_field(vision, "vision_cfg", "layers", 12, path);
  const int64_t cfg_text_width = positive_int_field(text, "text_cfg", "width", 512, path);
  const int64_t cfg_text_layers = positive_int_field(text, "text_cfg", "layers", 12, path);
  if (cfg_vision_width != vision_width || cfg_vision_layers != vision_layers ||
      cfg_text_width != text_width || cfg_text_layers != text_layers)
    throw ModelError(path, "",
                     "describes widths " + std::to_string(cfg_vision_width) + "/" +
                         std::to_string(cfg_text_width) + " and layers " +
                         std::to_string(cfg_vision_layers) + "/" + std::to_string(cfg_text_layers) +
                         ", the weights have " + std::to_string(vision_width) + "/" +
                         std::to_string(text_width) + " and " + std::to_string(vision_layers) +
                         "/" + std::to_string(text_layers) + " (the config of another model?)");

  ArchitectureHints hints;
  hints.vision_head_width = positive_int_field(vision, "vision_cfg", "head_width", 64, path);
  const int64_t text_heads = positive_int_field(text, "text_cfg", "heads", 8, path);
  if (text_width % text_heads != 0)
    throw ModelError(path, "", "text_cfg.heads does not divide the text width");
  hints.text_head_width = text_width / text_heads;
  evidence.push_back("vision heads: open_clip_config.json vision_cfg.head_width " +
                     std::to_string(hints.vision_head_width));
  evidence.push_back("text heads " + std::to_string(text_heads) +
                     ": open_clip_config.json text_cfg.heads");
  const auto quick = model.find("quick_gelu");
  if (quick != model.end() && !quick->is_boolean())
    throw ModelError(path, "", "model_cfg.quick_gelu is not true or false");
  const bool quick_gelu = quick != model.end() && quick->get<bool>();
  hints.vision_activation = hints.text_activation =
      quick_gelu ? Activation::kQuickGelu : Activation::kGelu;
  evidence.push_back(std::string("activation ") + activation_name(hints.vision_activation) +
                     ": open_clip_config.json model_cfg.quick_gelu = " +
                     (quick == model.end() ? "absent (false)" : quick->dump()));
  return hints;
}

}  // namespace

StateDict open_clip_to_openai(const StateDict& state, const std::string& path) {
  bool all_module = !state.empty();
  for (const auto& entry : state) all_module = all_module && starts_with(entry.first, "module.");
  const bool custom_text = state.count("text.token_embedding.weight") ||
                           state.count("module.text.token_embedding.weight");
  StateDict out;
  for (const auto& [stored_name, tensor] : state) {
    std::string name = all_module ? stored_name.substr(7) : stored_name;
    if (const std::string feature = unsupported_feature(name); !feature.empty())
      throw ModelError(path, stored_name,
                       "belongs to " + feature + ", which tagclip does not implement");
    // CustomTextCLIP keeps the plain text transformer under "text.": same tensors otherwise.
    if (custom_text && starts_with(name, "text.")) {
      name = name.substr(5);
      if (name == "text_projection" || starts_with(name, "transformer.") ||
          starts_with(name, "token_embedding.") || starts_with(name, "ln_final.") ||
          name == "positional_embedding") {
        out[name] = tensor;
        continue;
      }
      throw ModelError(path, stored_name, "is not part of open_clip's text transformer");
    }
    out[name] = tensor;
  }
  return out;
}

ArchitectureHints open_clip_hints(const StateDict& state, const std::string& weights_path,
                                  std::vector<std::string>& evidence,
                                  std::vector<std::string>& config_files) {
  const fs::path weights(weights_path);
  const fs::path config = weights.parent_path() / "open_clip_config.json";
  std::error_code ec;
  if (fs::is_regular_file(config, ec)) {
    config_files.push_back(config.string());
    return hints_from_config(read_json_file(config.string()), config.string(), state, evidence);
  }
  ArchitectureHints hints;
  const std::string stem = weights.stem().string();
  const bool hub_name = stem == "open_clip_model" || stem == "open_clip_pytorch_model";
  if (starts_with(stem, "open_clip_") && !hub_name) {
    const std::string model = stem.substr(10);
    const bool quick = contains(model, "quickgelu");
    hints.vision_activation = hints.text_activation =
        quick ? Activation::kQuickGelu : Activation::kGelu;
    evidence.push_back(std::string("activation ") + activation_name(hints.vision_activation) +
                       ": the file name names open_clip model '" + model + "'" +
                       (quick ? " (-quickgelu)" : ", open_clip's default GELU"));
  } else {
    evidence.push_back(
        std::string("activation QuickGELU: no open_clip_config.json beside the file") +
        (hub_name ? " (the hub's repositories have one)" : "") +
        " and no open_clip_<model> file name, so taken as OpenAI's weights; for a LAION or "
        "DataComp model name it open_clip_<model>.safetensors (GELU unless -quickgelu)");
  }
  const int64_t width = width_of(state, "visual.conv1.weight");
  const int64_t head_width = width == 1280 ? 80 : width == 1408 ? 88 : width == 1664 ? 104 : 64;
  hints.vision_head_width = head_width;
  evidence.push_back("vision head width " + std::to_string(head_width) +
                     (head_width == 64
                          ? ": width / 64, as OpenAI's"
                          : ": open_clip's for vision width " + std::to_string(width)));
  return hints;
}

nlohmann::json open_clip_config(const StateDict& state, const ClipArchitecture& arch) {
  const double vision_mlp = state.at("visual.transformer.resblocks.0.mlp.c_fc.weight").size(0);
  const bool quick = arch.vision_activation == Activation::kQuickGelu;
  nlohmann::json model = {{"embed_dim", arch.embed_dim},
                          {"quick_gelu", quick},
                          {"vision_cfg",
                           {{"image_size", arch.input_resolution},
                            {"layers", arch.vision_layers},
                            {"width", arch.vision_width},
                            {"head_width", arch.vision_width / arch.vision_heads},
                            {"mlp_ratio", vision_mlp / static_cast<double>(arch.vision_width)},
                            {"patch_size", arch.patch_size}}},
                          {"text_cfg",
                           {{"context_length", arch.context_length},
                            {"vocab_size", arch.vocab_size},
                            {"width", arch.text_width},
                            {"heads", arch.text_heads},
                            {"layers", arch.text_layers}}}};
  return {{"model_cfg", model},
          {"preprocess_cfg",
           {{"mean", {kClipPixelMean[0], kClipPixelMean[1], kClipPixelMean[2]}},
            {"std", {kClipPixelStd[0], kClipPixelStd[1], kClipPixelStd[2]}}}}};
}

}  // namespace tagclip
