#include "tagclip/model/checkpoint_layouts.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "hugging_face_layout.h"
#include "layout_support.h"
#include "open_clip_layout.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"
#include "tagclip/model/random_checkpoint.h"
#include "tagclip/model/safetensors.h"

namespace tagclip {
namespace {

namespace fs = std::filesystem;

// CLIP's BPE: 49,152 merges + 256 byte tokens + start and end of text.
constexpr int64_t kClipVocabulary = 49408;

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// A safetensors file starts with an 8-byte header length and then the JSON header's '{'.
bool looks_like_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char start[9] = {};
  return in.read(start, 9) && start[8] == '{';
}

// Scalars OpenAI's archives carry beside the weights (its loader deletes them); a state dict
// saved from OpenAI's model may keep them.
const std::set<std::string> kOpenAiBookkeeping = {"input_resolution", "context_length",
                                                  "vocab_size"};

// The tensors a CLIP ViT of `arch` has, in OpenAI's names: what the towers read.
std::set<std::string> expected_tensors(const ClipArchitecture& arch) {
  std::set<std::string> names = {"visual.conv1.weight",
                                 "visual.class_embedding",
                                 "visual.positional_embedding",
                                 "visual.ln_pre.weight",
                                 "visual.ln_pre.bias",
                                 "visual.ln_post.weight",
                                 "visual.ln_post.bias",
                                 "visual.proj",
                                 "token_embedding.weight",
                                 "positional_embedding",
                                 "ln_final.weight",
                                 "ln_final.bias",
                                 "text_projection",
                                 "logit_scale"};
  const char* parts[] = {"attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                         "attn.out_proj.bias",  "ln_1.weight",       "ln_1.bias",
                         "mlp.c_fc.weight",     "mlp.c_fc.bias",     "mlp.c_proj.weight",
                         "mlp.c_proj.bias",     "ln_2.weight",       "ln_2.bias"};
  for (const auto& [prefix, layers] :
       {std::pair{std::string("visual.transformer.resblocks."), arch.vision_layers},
        std::pair{std::string("transformer.resblocks."), arch.text_layers}})
    for (int64_t i = 0; i < layers; ++i)
      for (const char* part : parts) names.insert(prefix + std::to_string(i) + "." + part);
  return names;
}

// Hugging Face and open_clip files carry only the model's tensors: one the towers would not
// read is a feature tagclip does not implement, refused rather than ignored.
void refuse_unused_tensors(const StateDict& state, const ClipArchitecture& arch,
                           const std::string& path) {
  const std::set<std::string> expected = expected_tensors(arch);
  for (const auto& entry : state)
    if (!expected.count(entry.first) && !kOpenAiBookkeeping.count(entry.first))
      throw ModelError(path, entry.first,
                       "is not part of a CLIP ViT as tagclip runs it (a feature tagclip does "
                       "not implement)");
  if (arch.vocab_size != kClipVocabulary)
    throw ModelError(path, "token_embedding.weight",
                     "a vocabulary of " + std::to_string(arch.vocab_size) +
                         " tokens is not CLIP's BPE (49408): its tokenizer is not supported");
}

LoadedCheckpoint read_hugging_face(const std::string& weights, const std::string& config,
                                   StateDict stored) {
  if (!is_file(config))
    throw ModelError(weights, "",
                     "has Hugging Face tensor names, but no config.json beside it to give the "
                     "heads and the activation (" +
                         config + ")");
  LoadedCheckpoint loaded;
  loaded.source.layout = "Hugging Face";
  loaded.source.files = {weights, config};
  loaded.source.evidence.push_back(
      "layout Hugging Face: transformers' tensor names "
      "(vision_model.*, text_model.*) with " +
      config);
  loaded.state = hugging_face_to_openai(stored, weights);
  const ArchitectureHints hints =
      hugging_face_hints(read_json_file(config), config, loaded.state, loaded.source.evidence);
  loaded.arch = infer_architecture(loaded.state, weights, hints);
  refuse_unused_tensors(loaded.state, loaded.arch, weights);
  return loaded;
}

LoadedCheckpoint read_open_clip(const std::string& weights, const StateDict& stored,
                                const std::string& format) {
  LoadedCheckpoint loaded;
  loaded.source.layout = "open_clip";
  loaded.source.files = {weights};
  loaded.source.evidence.push_back("layout open_clip: a " + format +
                                   " state dict with OpenAI's tensor names");
  loaded.state = open_clip_to_openai(stored, weights);
  const ArchitectureHints hints =
      open_clip_hints(loaded.state, weights, loaded.source.evidence, loaded.source.files);
  loaded.arch = infer_architecture(loaded.state, weights, hints);
  refuse_unused_tensors(loaded.state, loaded.arch, weights);
  return loaded;
}

// A file's tensors in whichever layout its names say.
LoadedCheckpoint read_weights_file(const std::string& path) {
  std::string format;
  StateDict stored;
  if (looks_like_safetensors(path)) {
    stored = read_safetensors(path);
    format = "safetensors";
  } else {
    stored = load_state_dict(path, &format);
  }
  if (stored.empty()) throw ModelError(path, "", "holds no tensors");
  if (has_hugging_face_names(stored))
    return read_hugging_face(path, (fs::path(path).parent_path() / "config.json").string(),
                             std::move(stored));
  if (format == "TorchScript") {
    LoadedCheckpoint loaded;
    loaded.source.layout = "OpenAI TorchScript";
    loaded.source.files = {path};
    loaded.source.evidence.push_back(
        "layout OpenAI: a TorchScript archive; heads width / 64, QuickGELU, as OpenAI's CLIP");
    loaded.arch = infer_architecture(stored, path);
    loaded.state = std::move(stored);
    return loaded;
  }
  return read_open_clip(path, stored, format);
}

// The weights file of a model folder: Hugging Face's names first, then the hub's open_clip ones.
std::string weights_in_folder(const fs::path& folder) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors",
                           "open_clip_pytorch_model.bin"})
    if (is_file(folder / name)) return (folder / name).string();
  if (is_file(folder / "model.safetensors.index.json"))
    throw ModelError(folder.string(), "",
                     "holds a sharded checkpoint (model.safetensors.index.json), which tagclip "
                     "does not read; CLIP ViTs up to ViT-H/14 come as one file");
  throw ModelError(folder.string(), "",
                   "is a folder without model.safetensors, pytorch_model.bin, "
                   "open_clip_model.safetensors or open_clip_pytorch_model.bin");
}

}  // namespace

LoadedCheckpoint load_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_weights_file(weights_in_folder(path));
  // A missing, dangling or empty file is not safetensors-shaped, so load_state_dict reports it.
  return read_weights_file(path);
}

void write_checkpoint_layout(const StateDict& state, const ClipArchitecture& arch,
                             const std::string& layout, const std::string& path) {
  if (layout == "openai") {
    if (arch.vision_activation != Activation::kQuickGelu ||
        arch.text_activation != Activation::kQuickGelu)
      throw UsageError("OpenAI's layout cannot say GELU (its models are all QuickGELU): " + path);
    if (arch.vision_heads * 64 != arch.vision_width || arch.text_heads * 64 != arch.text_width)
      throw UsageError("OpenAI's layout cannot say heads other than width / 64: " + path);
    save_state_dict(state, path);
  } else if (layout == "hugging-face") {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) throw Error(path + ": cannot create the folder (" + ec.message() + ")");
    write_safetensors((fs::path(path) / "model.safetensors").string(),
                      openai_to_hugging_face(state));
    write_file_atomically((fs::path(path) / "config.json").string(),
                          hugging_face_config(state, arch).dump(2) + "\n");
  } else if (layout == "open_clip") {
    StateDict weights = state;
    for (const std::string& name : kOpenAiBookkeeping) weights.erase(name);
    write_safetensors(path, weights);
    write_file_atomically((fs::path(path).parent_path() / "open_clip_config.json").string(),
                          open_clip_config(state, arch).dump(2) + "\n");
  } else {
    throw UsageError("unknown layout '" + layout + "' (openai, hugging-face or open_clip)");
  }
}

}  // namespace tagclip
