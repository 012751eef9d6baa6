// One set of weights in OpenAI's, Hugging Face's and open_clip's layouts reads back as the
// same model; each layout's configuration decides heads and activation; what tagclip does
// not implement is refused by name.
#include <gtest/gtest.h>
#include <torch/serialize.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/model/checkpoint_layouts.h"
#include "tagclip/model/random_checkpoint.h"
#include "tagclip/model/safetensors.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

RandomCheckpointSpec tiny_spec() {
  RandomCheckpointSpec spec;
  spec.vision_width = 128;
  spec.vision_layers = 2;
  spec.grid_size = 3;
  spec.text_layers = 1;
  spec.embed_dim = 32;
  spec.seed = 11;
  return spec;
}

struct Written {
  StateDict state;
  ClipArchitecture arch;
};

Written tiny_model(Activation activation = Activation::kQuickGelu) {
  Written w{random_state_dict(tiny_spec()), {}};
  w.arch = infer_architecture(w.state, "tiny");
  w.arch.vision_activation = w.arch.text_activation = activation;
  return w;
}

// "<the test's own scratch folder>/name"; the folder is made (emptied) once per test.
std::string scratch(const std::string& name) {
  static std::map<std::string, std::string> folders;
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  auto it = folders.find(test);
  if (it == folders.end())
    it = folders.emplace(test, testing::make_scratch_dir("layouts-" + test)).first;
  return it->second + "/" + name;
}

json read_json(const std::string& path) { return json::parse(testing::read_all(path)); }
void write_json(const std::string& path, const json& value) {
  std::ofstream(path) << value.dump(2);
}

void expect_same_weights(const StateDict& loaded, const StateDict& original) {
  for (const auto& [name, tensor] : original) {
    if (name == "input_resolution" || name == "context_length" || name == "vocab_size") continue;
    ASSERT_TRUE(loaded.count(name)) << name;
    EXPECT_TRUE(at::equal(loaded.at(name), tensor)) << name;
  }
}

TEST(CheckpointLayouts, EveryLayoutReadsBackTheSameWeightsAndArchitecture) {
  const Written model = tiny_model();
  const std::string openai = scratch("tiny.pt"), hf = scratch("hf"),
                    open_clip = scratch("oc.safetensors");
  write_checkpoint_layout(model.state, model.arch, "openai", openai);
  write_checkpoint_layout(model.state, model.arch, "hugging-face", hf);
  write_checkpoint_layout(model.state, model.arch, "open_clip", open_clip);

  const std::vector<std::pair<std::string, std::string>> layouts = {
      {openai, "OpenAI TorchScript"}, {hf, "Hugging Face"}, {open_clip, "open_clip"}};
  for (const auto& [path, layout] : layouts) {
    SCOPED_TRACE(path);
    const LoadedCheckpoint loaded = load_checkpoint(path);
    EXPECT_EQ(loaded.source.layout, layout);
    expect_same_weights(loaded.state, model.state);
    EXPECT_EQ(loaded.arch.to_json(), model.arch.to_json());
    EXPECT_FALSE(loaded.source.evidence.empty());
  }
  // Hugging Face keeps q, k and v apart and the projections as nn.Linear [E, W].
  const StateDict hf_state = read_safetensors(hf + "/model.safetensors");
  EXPECT_EQ(hf_state.at("vision_model.encoder.layers.0.self_attn.k_proj.weight").sizes(),
            (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(hf_state.at("visual_projection.weight").sizes(), (std::vector<int64_t>{32, 128}));
  EXPECT_EQ(load_checkpoint(hf).source.files,
            (std::vector<std::string>{hf + "/model.safetensors", hf + "/config.json"}));
}

TEST(CheckpointLayouts, HuggingFacePytorchModelBinAndTheWeightsFileAloneReadTheSame) {
  const Written model = tiny_model();
  const std::string hf = scratch("hf"), bin_folder = scratch("hf-bin");
  write_checkpoint_layout(model.state, model.arch, "hugging-face", hf);
  // pytorch_model.bin: transformers' torch.save of the same names, in a folder of its own.
  fs::create_directories(bin_folder);
  fs::copy_file(hf + "/config.json", bin_folder + "/config.json");
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : read_safetensors(hf + "/model.safetensors"))
    dict.insert(name, tensor);
  const std::vector<char> bytes = torch::pickle_save(dict);
  std::ofstream(bin_folder + "/pytorch_model.bin", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  for (const std::string& path : {bin_folder, hf + "/model.safetensors"}) {
    const LoadedCheckpoint loaded = load_checkpoint(path);
    EXPECT_EQ(loaded.source.layout, "Hugging Face") << path;
    expect_same_weights(loaded.state, model.state);
  }
}

TEST(CheckpointLayouts, HuggingFaceConfigDecidesHeadsAndActivation) {
  const Written model = tiny_model();
  const std::string hf = scratch("hf");
  write_checkpoint_layout(model.state, model.arch, "hugging-face", hf);
  json config = read_json(hf + "/config.json");
  config["vision_config"]["num_attention_heads"] = 4;  // head width 32 instead of 64
  config["vision_config"]["hidden_act"] = "gelu";
  config["text_config"]["eos_token_id"] = 2;  // older configs: pooled at the largest id
  write_json(hf + "/config.json", config);
  const LoadedCheckpoint loaded = load_checkpoint(hf);
  EXPECT_EQ(loaded.arch.vision_heads, 4);
  EXPECT_EQ(loaded.arch.vision_activation, Activation::kGelu);
  EXPECT_EQ(loaded.arch.text_activation, Activation::kQuickGelu);
  // Absent fields take transformers' defaults: quick_gelu.
  config["vision_config"].erase("hidden_act");
  write_json(hf + "/config.json", config);
  EXPECT_EQ(load_checkpoint(hf).arch.vision_activation, Activation::kQuickGelu);
}

TEST(CheckpointLayouts, HuggingFaceRefusesWhatItCannotRunNamingTheProblem) {
  const Written model = tiny_model();
  const std::string hf = scratch("hf");
  write_checkpoint_layout(model.state, model.arch, "hugging-face", hf);
  const json good = read_json(hf + "/config.json");
  auto with_config = [&](const std::function<void(json&)>& edit, const std::string& fragment) {
    json config = good;
    edit(config);
    write_json(hf + "/config.json", config);
    testing::expect_throw_with<ModelError>([&] { load_checkpoint(hf); }, fragment);
  };
  with_config([](json& c) { c["vision_config"]["hidden_act"] = "gelu_new"; },
              "'gelu_new' is not supported");
  with_config([](json& c) { c["model_type"] = "siglip"; }, "model_type 'siglip'");
  with_config([](json& c) { c["vision_config"]["hidden_size"] = 256; },
              "config.json of another model");
  with_config([](json& c) { c["text_config"]["num_hidden_layers"] = 5; },
              "config.json of another model");
  with_config([](json& c) { c["vision_config"]["num_attention_heads"] = 3; }, "does not divide");
  with_config([](json& c) { c["text_config"]["layer_norm_eps"] = 1e-6; }, "layer_norm_eps");
  with_config([](json& c) { c["text_config"]["eos_token_id"] = 7; }, "eos_token_id 7");
  write_json(hf + "/config.json", good);

  // An extra tensor (a feature of another model) and a missing k projection, by name.
  StateDict tensors = read_safetensors(hf + "/model.safetensors");
  StateDict extra = tensors;
  extra["vision_model.encoder.layers.0.layer_scale.weight"] = at::ones({128});
  write_safetensors(hf + "/model.safetensors", extra);
  testing::expect_throw_with<ModelError>([&] { load_checkpoint(hf); }, "layer_scale.weight");
  StateDict missing = tensors;
  missing.erase("text_model.encoder.layers.0.self_attn.k_proj.bias");
  write_safetensors(hf + "/model.safetensors", missing);
  testing::expect_throw_with<ModelError>([&] { load_checkpoint(hf); }, "k_proj part is missing");

  // The weights alone, without their config.json.
  write_safetensors(hf + "/model.safetensors", tensors);
  fs::remove(hf + "/config.json");
  testing::expect_throw_with<ModelError>([&] { load_checkpoint(hf + "/model.safetensors"); },
                                         "no config.json beside it");
  testing::expect_throw_with<ModelError>([&] { load_checkpoint(scratch("empty-folder-x")); },
                                         "empty-folder-x");
}

TEST(CheckpointLayouts, OpenClipActivationComesFromItsConfigThenItsName) {
  const Written model = tiny_model(Activation::kGelu);
  const std::string folder = scratch("oc");
  fs::create_directories(folder);
  write_checkpoint_layout(model.state, model.arch, "open_clip", folder + "/weights.safetensors");
  EXPECT_FALSE(read_json(folder + "/open_clip_config.json")["model_cfg"]["quick_gelu"].get<bool>());
  EXPECT_EQ(load_checkpoint(folder + "/weights.safetensors").arch.vision_activation,
            Activation::kGelu);

  // Without the config: the file name, else OpenAI's QuickGELU.
  fs::remove(folder + "/open_clip_config.json");
  const std::vector<std::pair<std::string, Activation>> names = {
      {"open_clip_ViT-B-16.safetensors", Activation::kGelu},
      {"open_clip_ViT-B-16-quickgelu.safetensors", Activation::kQuickGelu},
      {"open_clip_model.safetensors", Activation::kQuickGelu},  // the hub's name: no model named
      {"ViT-B-16.safetensors", Activation::kQuickGelu}};
  for (const auto& [name, activation] : names) {
    fs::rename(fs::directory_iterator(folder)->path(), folder + "/" + name);
    const LoadedCheckpoint loaded = load_checkpoint(folder + "/" + name);
    EXPECT_EQ(loaded.arch.vision_activation, activation) << name;
    EXPECT_EQ(loaded.arch.text_activation, activation) << name;
  }
}

TEST(CheckpointLayouts, OpenClipConfigSetsHeadWidthAndRefusesOtherModels) {
  const Written model = tiny_model();
  const std::string folder = scratch("oc");
  fs::create_directories(folder);
  const std::string weights = folder + "/w.safetensors";
  write_checkpoint_layout(model.state, model.arch, "open_clip", weights);
  const json good = read_json(folder + "/open_clip_config.json");
  json config = good;
  config["model_cfg"]["vision_cfg"]["head_width"] = 32;
  config["model_cfg"]["text_cfg"]["heads"] = 2;
  write_json(folder + "/open_clip_config.json", config);
  const LoadedCheckpoint loaded = load_checkpoint(weights);
  EXPECT_EQ(loaded.arch.vision_heads, 4);
  EXPECT_EQ(loaded.arch.text_heads, 2);
  EXPECT_EQ(loaded.source.files,
            (std::vector<std::string>{weights, folder + "/open_clip_config.json"}));

  auto refused = [&](const std::function<void(json&)>& edit, const std::string& fragment) {
    json c = good;
    edit(c);
    write_json(folder + "/open_clip_config.json", c);
    testing::expect_throw_with<ModelError>([&] { load_checkpoint(weights); }, fragment);
  };
  refused([](json& c) { c["model_cfg"]["vision_cfg"]["timm_model_name"] = "vit_base"; }, "timm");
  refused([](json& c) { c["model_cfg"]["text_cfg"]["hf_model_name"] = "xlm-roberta"; },
          "hf_model_name");
  refused([](json& c) { c["model_cfg"]["text_cfg"]["pool_type"] = "last"; }, "pool_type 'last'");
  refused([](json& c) { c["model_cfg"]["vision_cfg"]["layers"] = 24; }, "another model");
  refused([](json& c) { c["preprocess_cfg"]["mean"] = {0.5, 0.5, 0.5}; }, "preprocess_cfg.mean");
  refused([](json& c) { c["model_cfg"]["quick_gelu"] = "yes"; }, "quick_gelu");
}

TEST(CheckpointLayouts, OpenClipTrainingCheckpointsAndCustomTextNamesAreUnwrapped) {
  // torch.save({"epoch": 3, "state_dict": {"module.visual...": ...}}), as open_clip's trainer
  // writes it, with CustomTextCLIP's "text." prefix on the text transformer.
  const Written model = tiny_model();
  c10::impl::GenericDict inner(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : model.state) {
    if (name == "input_resolution" || name == "context_length" || name == "vocab_size") continue;
    const bool text = name.rfind("visual.", 0) != 0 && name != "logit_scale";
    inner.insert("module." + std::string(text ? "text." : "") + name, tensor);
  }
  c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
  outer.insert("epoch", int64_t{3});
  outer.insert("state_dict", inner);
  const std::vector<char> bytes = torch::pickle_save(outer);
  const std::string path = scratch("epoch_3.pt");
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const LoadedCheckpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.source.layout, "open_clip");
  expect_same_weights(loaded.state, model.state);
}

TEST(CheckpointLayouts, OpenClipFeaturesTagclipDoesNotRunAreRefusedByName) {
  const Written model = tiny_model();
  const std::vector<std::pair<std::string, std::string>> features = {
      {"logit_bias", "SigLIP"},
      {"visual.transformer.resblocks.0.ls_1.gamma", "LayerScale"},
      {"visual.attn_pool.query", "attentional pooling"},
      {"text.transformer.embeddings.word_embeddings.weight", "Hugging Face text tower"},
      {"visual.something_new", "not part of a CLIP ViT"}};
  for (const auto& [name, fragment] : features) {
    StateDict state = model.state;
    state[name] = at::ones({4});
    const std::string path = scratch("x.safetensors");
    write_safetensors(path, state);
    testing::expect_throw_with<ModelError>([&] { load_checkpoint(path); }, fragment);
  }
  StateDict small_vocabulary = random_state_dict([] {
    RandomCheckpointSpec spec = tiny_spec();
    spec.vocab_size = 500;
    return spec;
  }());
  const std::string path = scratch("vocab.safetensors");
  write_safetensors(path, small_vocabulary);
  testing::expect_throw_with<ModelError>([&] { load_checkpoint(path); }, "not CLIP's BPE");
}

}  // namespace
}  // namespace tagclip
