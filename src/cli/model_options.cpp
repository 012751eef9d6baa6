#include "model_options.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "tagclip/errors.h"
#include "tagclip/model/default_paths.h"
#include "tagclip/model/device.h"
#include "tagclip/model/embedding_cache.h"
#include "tagclip/model/prompt_templates.h"
#include "tagclip/model/tokenizer.h"

namespace tagclip::cli {
namespace {

// More LibTorch threads than this only make them wait on each other (and thousands hang
// the process); no machine this runs on has more cores.
constexpr int kMaxThreads = 1024;

std::vector<std::string> templates_for(const std::string& spec) {
  if (spec == "reference") return reference_prompt_templates();
  if (spec == "single") return {"a photo of a {}."};
  std::error_code ec;
  if (std::filesystem::exists(spec, ec)) return load_prompt_templates(spec);
  if (spec.find("{}") != std::string::npos) return {spec};
  throw UsageError("--templates '" + spec +
                   "': not 'reference', 'single', a file, nor a template containing {}");
}

TagclipOptions pipeline_options(const ModelSetup& s, const Vocabulary& vocabulary,
                                int64_t vision_layers) {
  TagclipOptions o = vocabulary.is_cocostuff ? cocostuff_options(vision_layers) : TagclipOptions{};
  o.method = parse_tagclip_method(s.method);
  if (!s.refine_blocks.empty()) o.refinement_blocks = s.refine_blocks;
  if (s.vote_count) {
    // The model's depth is known only now: name the flag, not the library's field.
    if (*s.vote_count > vision_layers)
      throw UsageError("--vote-count " + std::to_string(*s.vote_count) + ": this model has " +
                       std::to_string(vision_layers) + " blocks, so at most " +
                       std::to_string(vision_layers) + " can vote");
    o.vote_count = s.vote_count;
  }
  if (s.threshold) o.label_ratio = *s.threshold;
  if (s.candidate_ratio) o.candidate_ratio = *s.candidate_ratio;
  o.self_only_last_block = !s.no_self_only_mask;
  o.round_resized_positional_to_fp16 = !s.no_fp16_positional_rounding;
  o.clip_box_ends = !s.no_box_end_clipping;
  o.cwr_early_stop = !s.no_cwr_early_stop;
  o.batched_cwr = !s.sequential_cwr;
  o.keep_patch_maps = s.keep_patch_maps;
  o.validate(vision_layers);
  return o;
}

}  // namespace

void add_model_options(CLI::App& cmd, ModelSetup& s) {
  s.model_path = default_model_path();
  s.bpe_path = default_bpe_path();
  s.cache_dir = default_cache_dir();
  cmd.add_option("-m,--model", s.model_path,
                 "OpenAI CLIP ViT checkpoint (TorchScript .pt); env TAGCLIP_MODEL")
      ->capture_default_str()
      ->group("Model");
  cmd.add_option("--bpe", s.bpe_path, "CLIP's BPE vocabulary file; env TAGCLIP_BPE")
      ->capture_default_str()
      ->group("Model");
  cmd.add_option("--device", s.device, "cpu, cuda or cuda:N")
      ->capture_default_str()
      ->group("Model");
  cmd.add_option("--threads", s.threads, "CPU threads for LibTorch (default: every core)")
      ->check(CLI::Range(1, kMaxThreads))
      ->group("Model");

  cmd.add_option("-c,--classes", s.classes,
                 "Vocabulary: voc (20), coco (80), cocostuff (171), or a UTF-8 file with one "
                 "class per line (blank lines and # comments ignored)")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_option("--background", s.background,
                 "Background words, scored but never reported: default (voc/coco: their "
                 "reference lists; cocostuff: none; a class file: the VOC words minus its own "
                 "classes), voc, coco, none, or a file")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_option("--templates", s.templates,
                 "Prompt ensemble: reference (the 85 templates), single ('a photo of a {}.'), "
                 "a file of templates with {}, or one template with {}")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_flag("--truncate-prompts", s.truncate_prompts,
               "Cut prompts longer than the context instead of failing")
      ->group("Vocabulary");
  cmd.add_option("--cache-dir", s.cache_dir, "Where class embeddings are cached")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_flag("--no-cache", s.no_cache, "Neither read nor write the embedding cache")
      ->group("Vocabulary");

  cmd.add_option("--method", s.method,
                 "global (plain CLIP on the whole image), coarse (patch classification), dmar "
                 "(without CWR), tagclip (all stages)")
      ->capture_default_str()
      ->check(CLI::IsMember({"global", "coarse", "dmar", "tagclip"}))
      ->group("Method");
  cmd.add_option("--refine-blocks", s.refine_blocks,
                 "Blocks whose attention DMAR averages, 0-based, negative from the end "
                 "(default -4 -3 -2: 8 9 10 of 12; cocostuff: all but the last)")
      ->expected(1, 256)
      ->group("Method");
  cmd.add_option("--vote-count", s.vote_count,
                 "Blocks in which an attention entry must lie above the block's mean to be kept "
                 "(0 keeps every entry; at most the model's depth; default: a third of the "
                 "blocks, rounded)")
      ->check(CLI::Range(0, 255))
      ->group("Method");
  cmd.add_option("--threshold", s.threshold,
                 "Relative label threshold in [0,1]: tag s_k > min + t (max - min) "
                 "(default 0.5; 0.1 for cocostuff)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Method");
  cmd.add_option("--candidate-ratio", s.candidate_ratio,
                 "Relative threshold in [0,1] for CWR candidates (default 0.5; 0.1 for "
                 "cocostuff)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Method");
  cmd.add_flag("--no-self-only-mask", s.no_self_only_mask,
               "Quirk off: no -100 self-only attention mask in the last block")
      ->group("Method");
  cmd.add_flag("--no-fp16-positional-rounding", s.no_fp16_positional_rounding,
               "Quirk off: keep resized positional embeddings in fp32")
      ->group("Method");
  cmd.add_flag("--no-box-end-clipping", s.no_box_end_clipping,
               "Quirk off: boxes may include the last patch row and column")
      ->group("Method");
  cmd.add_flag("--no-cwr-early-stop", s.no_cwr_early_stop,
               "Quirk off: an empty CWR box skips that class instead of ending CWR")
      ->group("Method");
  cmd.add_flag("--sequential-cwr", s.sequential_cwr,
               "Encode CWR crops one at a time (same numbers as the batched default)")
      ->group("Method");
}

LoadedSetup load_setup(const ModelSetup& s) {
  const int threads = set_thread_count(s.threads);
  spdlog::debug("{} CPU threads", threads);
  LoadedSetup loaded;
  ModelOptions model_options;
  model_options.device = s.device;
  parse_device(s.device);  // usage errors before the slow load
  loaded.model = ClipModel::load(s.model_path, model_options);
  const ClipArchitecture& arch = loaded.model->architecture();
  spdlog::info("model {}: {}, input {}px", s.model_path, arch.release_name(),
               arch.input_resolution);

  loaded.vocabulary = load_vocabulary(s.classes);
  set_background(loaded.vocabulary, s.background);
  const TagclipOptions options = pipeline_options(s, loaded.vocabulary, arch.vision_layers);

  const ClipTokenizer tokenizer(s.bpe_path);
  const std::vector<std::string> templates = templates_for(s.templates);
  TextEncodingOptions text_options;
  text_options.truncate_long_prompts = s.truncate_prompts;
  std::unique_ptr<EmbeddingCache> cache;
  if (!s.no_cache) cache = std::make_unique<EmbeddingCache>(s.cache_dir);
  const CachedEmbeddings text =
      class_embeddings_with_cache(*loaded.model, tokenizer, loaded.vocabulary.all_names(),
                                  templates, text_options, cache.get());
  spdlog::info("vocabulary {}: {} classes + {} background words, {} templates{}",
               loaded.vocabulary.name, loaded.vocabulary.classes.size(),
               loaded.vocabulary.background.size(), templates.size(),
               text.status == EmbeddingCache::Status::kHit ? " (embeddings from cache)" : "");
  loaded.pipeline = std::make_unique<TagclipPipeline>(
      loaded.model, text.embeddings, static_cast<int64_t>(loaded.vocabulary.classes.size()),
      options);
  return loaded;
}

}  // namespace tagclip::cli
