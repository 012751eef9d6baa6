#include "tagclip/model/clip_architecture.h"

#include <sstream>

namespace tagclip {

const char* activation_name(Activation activation) {
  return activation == Activation::kGelu ? "GELU" : "QuickGELU";
}

std::string ClipArchitecture::release_name() const {
  const char* size = vision_width == 768 && vision_layers == 12    ? "B"
                     : vision_width == 1024 && vision_layers == 24 ? "L"
                     : vision_width == 1280 && vision_layers == 32 ? "H"
                                                                   : nullptr;
  if (size == nullptr) return "custom ViT";
  std::string name = std::string("ViT-") + size + "/" + std::to_string(patch_size);
  if (input_resolution != 224) name += "@" + std::to_string(input_resolution) + "px";
  return name;
}

nlohmann::json ClipArchitecture::to_json() const {
  return {{"architecture", release_name()},
          {"vision",
           {{"width", vision_width},
            {"layers", vision_layers},
            {"heads", vision_heads},
            {"activation", activation_name(vision_activation)},
            {"patch_size", patch_size},
            {"grid_size", grid_size},
            {"input_resolution", input_resolution}}},
          {"text",
           {{"width", text_width},
            {"layers", text_layers},
            {"heads", text_heads},
            {"activation", activation_name(text_activation)},
            {"context_length", context_length},
            {"vocab_size", vocab_size}}},
          {"embed_dim", embed_dim},
          {"parameters", parameter_count},
          {"stored_dtype", stored_dtype}};
}

std::string ClipArchitecture::to_string() const {
  std::ostringstream out;
  out << "architecture      " << release_name() << "\n"
      << "vision            width " << vision_width << ", layers " << vision_layers << ", heads "
      << vision_heads << ", " << activation_name(vision_activation) << ", patch " << patch_size
      << ", grid " << grid_size << "x" << grid_size << ", input " << input_resolution << "x"
      << input_resolution << "\n"
      << "text              width " << text_width << ", layers " << text_layers << ", heads "
      << text_heads << ", " << activation_name(text_activation) << ", context " << context_length
      << ", vocabulary " << vocab_size << "\n"
      << "embedding size    " << embed_dim << "\n"
      << "parameters        " << parameter_count << "\n"
      << "stored dtype      " << stored_dtype << "\n";
  return out.str();
}

}  // namespace tagclip
