#include "tagger_options.h"

#include <map>

#include "limit_option.h"

namespace tagclip::cli {
namespace {

// More LibTorch threads than this only make them wait on each other (and thousands hang
// the process); no machine this runs on has more cores.
constexpr int kMaxThreads = 1024;
// A batch holds every image's attention maps at once; past this no GPU has the memory.
constexpr int kMaxBatch = 4096;

void add_model_group(CLI::App& cmd, TaggerConfig& c, bool batches) {
  cmd.add_option("-m,--model", c.model_path,
                 "CLIP ViT: OpenAI's TorchScript .pt, a Hugging Face folder (config.json + "
                 "model.safetensors or pytorch_model.bin), or an open_clip state dict "
                 "(.safetensors, .bin); env TAGCLIP_MODEL")
      ->capture_default_str()
      ->group("Model");
  cmd.add_option("--bpe", c.bpe_path, "CLIP's BPE vocabulary file; env TAGCLIP_BPE")
      ->capture_default_str()
      ->group("Model");
  cmd.add_option("--device", c.device,
                 "cpu, cuda or cuda:N; tag and eval also take a list (cuda:0,cuda:1) or "
                 "cuda:all: batches spread over them, records still in input order; a device "
                 "named twice gets two workers on one copy of the model (beside a GPU a lone "
                 "device gets two anyway)")
      ->capture_default_str()
      ->group("Model");
  cmd.add_option_function<std::string>(
         "--precision", [&c](const std::string& name) { c.precision = parse_precision(name); },
         "Image encoder arithmetic: fp32 (faithful to the authors' numbers), bf16 (attention "
         "output projection and MLP in bfloat16, the rest fp32: about 1.5x fp32's speed on "
         "CPUs with AVX-512 BF16 or AMX) or fp16 (the same in float16, CUDA only)")
      ->default_str(to_string(c.precision))
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->group("Model");
  cmd.add_option("--threads", c.threads, "CPU threads for LibTorch (default: every core; 1 with --device cuda, which measured "
                 "fastest there)")
      ->check(CLI::Range(1, kMaxThreads))
      ->group("Model");
  if (!batches) return;
  cmd.add_option("--batch-size", c.batch_size,
                 "Images taken at a time; those of one size are encoded together, with "
                 "the same tags (default: 1 on the CPU, where batching gains nothing; " +
                     std::to_string(kDefaultGpuBatch) +
                     " with --device cuda, which one image leaves mostly idle)")
      ->check(CLI::Range(1, kMaxBatch))
      ->group("Model");
}

void add_vocabulary_group(CLI::App& cmd, TaggerConfig& c) {
  cmd.add_option("-c,--classes", c.classes,
                 "Vocabulary: voc (20), coco (80), cocostuff (171), or a UTF-8 file with one "
                 "class per line (blank lines and # comments ignored)")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_option("--background", c.background,
                 "Background words, scored but never reported: default (voc/coco: their "
                 "reference lists; cocostuff: none; a class file: the VOC words minus its own "
                 "classes), voc, coco, none, or a file")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_option("--templates", c.templates,
                 "Prompt ensemble: reference (the 85 templates), single ('a photo of a {}.'), "
                 "a file of templates with {}, or one template with {}")
      ->capture_default_str()
      ->group("Vocabulary");
  cmd.add_flag("--truncate-prompts", c.truncate_prompts,
               "Cut prompts longer than the context instead of failing")
      ->group("Vocabulary");
  cmd.add_option_function<std::string>(
         "--cache-dir", [&c](const std::string& dir) { c.cache_dir = dir; },
         "Where class embeddings are cached")
      ->default_str(c.cache_dir.value_or(""))
      ->group("Vocabulary");
  cmd.add_flag_callback(
         "--no-cache", [&c] { c.cache_dir.reset(); }, "Neither read nor write the embedding cache")
      ->group("Vocabulary");
}

void add_method_group(CLI::App& cmd, TaggerConfig& c) {
  cmd.add_option_function<std::string>(
         "--method", [&c](const std::string& name) { c.method = parse_tagclip_method(name); },
         "global (plain CLIP on the whole image), coarse (patch classification), dmar "
         "(without CWR), tagclip (all stages)")
      ->default_str(to_string(c.method))
      ->check(CLI::IsMember({"global", "coarse", "dmar", "tagclip"}))
      ->group("Method");
  cmd.add_option("--refine-blocks", c.refinement_blocks,
                 "Blocks whose attention DMAR averages, 0-based, negative from the end "
                 "(default -4 -3 -2: 8 9 10 of 12; cocostuff: all but the last)")
      ->expected(1, 256)
      ->group("Method");
  cmd.add_option("--vote-count", c.vote_count,
                 "Blocks in which an attention entry must lie above the block's mean to be kept "
                 "(0 keeps every entry; at most the model's depth; default: a third of the "
                 "blocks, rounded)")
      ->check(CLI::Range(0, 255))
      ->group("Method");
  cmd.add_option("--threshold", c.label_ratio,
                 "Relative label threshold in [0,1]: tag s_k > min + t (max - min) "
                 "(default 0.5; 0.1 for cocostuff)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Method");
  cmd.add_option("--candidate-ratio", c.candidate_ratio,
                 "Relative threshold in [0,1] for CWR candidates (default 0.5; 0.1 for "
                 "cocostuff)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Method");
  cmd.add_flag_callback(
         "--no-self-only-mask", [&c] { c.self_only_last_block = false; },
         "Quirk off: no -100 self-only attention mask in the last block")
      ->group("Method");
  cmd.add_flag_callback(
         "--no-fp16-positional-rounding", [&c] { c.round_resized_positional_to_fp16 = false; },
         "Quirk off: keep resized positional embeddings in fp32")
      ->group("Method");
  cmd.add_flag_callback(
         "--no-box-end-clipping", [&c] { c.clip_box_ends = false; },
         "Quirk off: boxes may include the last patch row and column")
      ->group("Method");
  cmd.add_flag_callback(
         "--no-cwr-early-stop", [&c] { c.cwr_early_stop = false; },
         "Quirk off: an empty CWR box skips that class instead of ending CWR")
      ->group("Method");
  cmd.add_flag_callback(
         "--sequential-cwr", [&c] { c.batched_cwr = false; },
         "Encode CWR crops one at a time (same numbers as the batched default)")
      ->group("Method");
}

void add_image_group(CLI::App& cmd, TaggerConfig& c) {
  cmd.add_flag("--apply-exif", c.decode.apply_exif_orientation,
               "Rotate images by their EXIF orientation (the reference does not)")
      ->group("Images");
  add_limit_option(cmd, "--max-pixels", c.decode.max_pixels,
                   "Refuse images whose header announces more pixels than this (decompression "
                   "bombs); they become error records")
      ->group("Images");
  add_limit_option(cmd, "--max-side", c.max_side,
                   "Scale an image whose longer side exceeds this many pixels down to it before "
                   "tagging (one bicubic resize, aspect kept). Bounds time and memory: the ViT's "
                   "cost grows with the square of the pixel count. VOC and COCO images (at most "
                   "640 px) are never scaled at the default")
      ->group("Images");
}

}  // namespace

void add_tagger_options(CLI::App& command, TaggerConfig& config, bool batches) {
  add_model_group(command, config, batches);
  add_vocabulary_group(command, config);
  add_method_group(command, config);
  add_image_group(command, config);
}

std::string flag_for_option(const std::string& option) {
  static const std::map<std::string, std::string> renamed = {
      {"label_ratio", "--threshold"},
      {"refinement_blocks", "--refine-blocks"},
      {"model_path", "--model"},
      {"bpe_path", "--bpe"}};
  if (const auto it = renamed.find(option); it != renamed.end()) return it->second;
  std::string flag = "--" + option;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

}  // namespace tagclip::cli
