#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "tagclip/core/log.h"
#include "tagclip/core/stage_profile.h"
#include "tagclip/model/default_paths.h"
#include "tagclip/model/cuda_support.h"
#include "tagclip/model/device.h"
#include "tagclip/model/embedding_cache.h"
#include "tagclip/model/prompt_templates.h"
#include "tagclip/model/tokenizer.h"
#include "tagclip/pipeline/labels.h"
#include "tagclip/tagclip.h"

namespace tagclip {
namespace {

std::vector<std::string> templates_for(const std::string& spec) {
  if (spec == "reference") return reference_prompt_templates();
  if (spec == "single") return {"a photo of a {}."};
  std::error_code ec;
  if (std::filesystem::exists(spec, ec)) return load_prompt_templates(spec);
  if (spec.find("{}") != std::string::npos) return {spec};
  throw OptionError("templates", "'" + spec +
                                     "' is not 'reference', 'single', a file, nor a template "
                                     "containing {}");
}

void check_ratio(const std::optional<double>& ratio, const char* field) {
  if (ratio && !(*ratio >= 0.0 && *ratio <= 1.0))
    throw OptionError(field, std::to_string(*ratio) + " is outside [0, 1]");
}

// The vocabulary's defaults (the reference's COCO-Stuff settings for cocostuff), then each
// value the config sets.
TagclipOptions pipeline_options(const TaggerConfig& c, const Vocabulary& vocabulary,
                                int64_t vision_layers) {
  TagclipOptions o = vocabulary.is_cocostuff ? cocostuff_options(vision_layers) : TagclipOptions{};
  o.method = c.method;
  if (!c.refinement_blocks.empty()) o.refinement_blocks = c.refinement_blocks;
  if (c.vote_count) o.vote_count = c.vote_count;
  if (c.label_ratio) o.label_ratio = *c.label_ratio;
  if (c.candidate_ratio) o.candidate_ratio = *c.candidate_ratio;
  o.self_only_last_block = c.self_only_last_block;
  o.round_resized_positional_to_fp16 = c.round_resized_positional_to_fp16;
  o.clip_box_ends = c.clip_box_ends;
  o.cwr_early_stop = c.cwr_early_stop;
  o.batched_cwr = c.batched_cwr;
  o.keep_patch_maps = c.keep_patch_maps;
  o.validate(vision_layers);
  return o;
}

// The record of an image that could not be tagged, and why.
TaggedImage failed_image(const std::string& image, const std::string& error) {
  TaggedImage failed;
  failed.record.image = image;
  failed.record.error = error;
  return failed;
}

}  // namespace

TaggerConfig::TaggerConfig()
    : model_path(default_model_path()),
      bpe_path(default_bpe_path()),
      cache_dir(default_cache_dir()) {}

void TaggerConfig::validate() const {
  if (threads && *threads < 1) throw OptionError("threads", "must be at least 1");
  if (batch_size && *batch_size < 1) throw OptionError("batch_size", "must be at least 1");
  parse_device(device);
  if (vote_count && *vote_count < 0)
    throw OptionError("vote_count", std::to_string(*vote_count) + " is negative");
  check_ratio(label_ratio, "label_ratio");
  check_ratio(candidate_ratio, "candidate_ratio");
  if (top_k && *top_k < 1) throw OptionError("top_k", "must be at least 1");
  // NaN compares false with every score, so it would silently keep every tag.
  if (std::isnan(min_score)) throw OptionError("min_score", "is not a number");
  if (max_side && *max_side < 1) throw OptionError("max_side", "must be at least 1");
  if (decode.max_pixels && *decode.max_pixels < 1)
    throw OptionError("max_pixels", "must be at least 1");
}

std::string TaggerConfig::to_string() const {
  auto optional_text = [](const auto& value) {
    std::ostringstream os;
    if (value)
      os << *value;
    else
      os << "default";
    return os.str();
  };
  std::ostringstream os;
  os << "TaggerConfig(model_path=" << model_path << ", bpe_path=" << bpe_path
     << ", device=" << device << ", precision=" << tagclip::to_string(precision)
     << ", threads=" << optional_text(threads)
     << ", batch_size=" << optional_text(batch_size) << ", classes=" << classes
     << ", background=" << background << ", templates=" << templates
     << ", cache_dir=" << cache_dir.value_or("none") << ", method=" << tagclip::to_string(method)
     << ", refinement_blocks=[";
  for (size_t i = 0; i < refinement_blocks.size(); ++i)
    os << (i ? "," : "") << refinement_blocks[i];
  os << "], vote_count=" << optional_text(vote_count)
     << ", label_ratio=" << optional_text(label_ratio)
     << ", candidate_ratio=" << optional_text(candidate_ratio)
     << ", max_side=" << (max_side ? std::to_string(*max_side) : "none")
     << ", max_pixels=" << (decode.max_pixels ? std::to_string(*decode.max_pixels) : "none")
     << ", top_k=" << (top_k ? std::to_string(*top_k) : "all") << ", min_score=" << min_score
     << ")";
  return os.str();
}

struct Tagger::State {
  TaggerConfig config;
  std::shared_ptr<const ClipModel> model;
  Vocabulary vocabulary;
  std::unique_ptr<TagclipPipeline> pipeline;
  bool embeddings_from_cache = false;
};

Tagger::Tagger(std::shared_ptr<const State> state) : state_(std::move(state)) {}

Tagger Tagger::load(const TaggerConfig& config) {
  config.validate();
  const int threads =
      set_thread_count(config.threads ? config.threads
                                      : default_thread_count(parse_device(config.device)));
  logger().debug("{} CPU threads", threads);
  auto state = std::make_shared<State>();
  state->config = config;
  ModelOptions model_options;
  model_options.device = config.device;
  model_options.precision = config.precision;
  StageTimer model_timer("model load");
  state->model = ClipModel::load(config.model_path, model_options);
  model_timer.stop();
  const ClipArchitecture& arch = state->model->architecture();
  logger().info("model {}: {}, input {}px, {} products", config.model_path, arch.release_name(),
                arch.input_resolution, tagclip::to_string(config.precision));

  state->vocabulary = load_vocabulary(config.classes);
  set_background(state->vocabulary, config.background);
  const TagclipOptions options = pipeline_options(config, state->vocabulary, arch.vision_layers);

  const ClipTokenizer tokenizer(config.bpe_path);
  const std::vector<std::string> templates = templates_for(config.templates);
  TextEncodingOptions text_options;
  text_options.truncate_long_prompts = config.truncate_prompts;
  std::unique_ptr<EmbeddingCache> cache;
  if (config.cache_dir) cache = std::make_unique<EmbeddingCache>(*config.cache_dir);
  StageTimer text_timer("text embeddings (load)", /*opaque=*/true);
  const CachedEmbeddings text =
      class_embeddings_with_cache(*state->model, tokenizer, state->vocabulary.all_names(),
                                  templates, text_options, cache.get());
  text_timer.stop();
  state->embeddings_from_cache = text.status == EmbeddingCache::Status::kHit;
  logger().info("vocabulary {}: {} classes + {} background words, {} templates{}",
                state->vocabulary.name, state->vocabulary.classes.size(),
                state->vocabulary.background.size(), templates.size(),
                state->embeddings_from_cache ? " (embeddings from cache)" : "");
  state->pipeline = std::make_unique<TagclipPipeline>(
      state->model, text.embeddings, static_cast<int64_t>(state->vocabulary.classes.size()),
      options);
  return Tagger(std::move(state));
}

PreparedImage Tagger::prepare(const std::string& image,
                              const std::function<cv::Mat()>& pixels) const {
  PreparedImage prepared;
  prepared.image = image;
  try {
    prepared.rgb = pixels();
    const StageTimer timer("resize + normalise");
    const int patch_size = static_cast<int>(state_->model->architecture().patch_size);
    prepared.input = preprocess_for_clip(prepared.rgb, patch_size, state_->config.max_side,
                                         options().min_grid_side());
  } catch (const std::exception& e) {
    prepared.rgb = cv::Mat();
    prepared.input = at::Tensor();
    prepared.error = image_problem(e);
  }
  return prepared;
}

PreparedImage Tagger::prepare_file(const std::string& path) const {
  return prepare(path, [&] {
    const StageTimer timer("decode");
    return decode_image(path, state_->config.decode);
  });
}

TaggedImage Tagger::tag_prepared(const PreparedImage& prepared) const {
  std::string error = prepared.error;
  if (error.empty()) {
    try {
      return tag_input(prepared);
    } catch (const std::exception& e) {
      error = image_problem(e);
      // The caching allocator keeps what the failed image took in reserve, split to its
      // sizes; giving it back lets the next image's blocks be laid out afresh.
      if (is_out_of_memory(e)) release_cached_memory(state_->model->device());
    }
  }
  return failed_image(prepared.image, error);
}

TaggedImage Tagger::tag_input(const PreparedImage& prepared) const {
  return tagged_from(prepared, state_->pipeline->run(prepared.input));
}

std::vector<TaggedImage> Tagger::tag_prepared_batch(
    const std::vector<PreparedImage>& prepared) const {
  std::vector<TaggedImage> tagged(prepared.size());
  // Indices of the images that decoded, grouped by input size in order of first sight.
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (!prepared[i].error.empty()) {
      tagged[i] = tag_prepared(prepared[i]);
      continue;
    }
    auto same_size = std::find_if(groups.begin(), groups.end(), [&](const auto& group) {
      return prepared[group.front()].input.sizes() == prepared[i].input.sizes();
    });
    if (same_size == groups.end())
      groups.push_back({i});
    else
      same_size->push_back(i);
  }
  for (const std::vector<size_t>& group : groups) {
    std::vector<TagResult> results;
    if (group.size() > 1) {
      try {
        std::vector<at::Tensor> inputs;
        for (size_t i : group) inputs.push_back(prepared[i].input);
        results = state_->pipeline->run_batch(at::cat(inputs, 0));
      } catch (const std::exception& e) {
        // The first line only: CUDA's out-of-memory message runs to several.
        const std::string why = e.what();
        logger().debug("a batch of {} images failed ({}); tagging them one at a time",
                       group.size(), why.substr(0, why.find('\n')));
        if (is_out_of_memory(e)) release_cached_memory(state_->model->device());
      }
    }
    for (size_t g = 0; g < group.size(); ++g) {
      const PreparedImage& image = prepared[group[g]];
      if (results.empty()) {
        tagged[group[g]] = tag_prepared(image);
        continue;
      }
      try {
        tagged[group[g]] = tagged_from(image, std::move(results[g]));
      } catch (const std::exception& e) {
        tagged[group[g]] = failed_image(image.image, image_problem(e));
      }
    }
  }
  return tagged;
}

int Tagger::batch_size() const {
  if (state_->config.batch_size) return *state_->config.batch_size;
  return state_->model->device().is_cuda() ? kDefaultGpuBatch : 1;
}

TaggedImage Tagger::tagged_from(const PreparedImage& prepared, TagResult result) const {
  const State& s = *state_;
  TaggedImage tagged;
  tagged.rgb = prepared.rgb;
  tagged.record.image = prepared.image;
  tagged.record.width = prepared.rgb.cols;
  tagged.record.height = prepared.rgb.rows;
  tagged.result = std::move(result);
  const StageTimer record_timer("scores to record");

  const at::Tensor scores = tagged.result.scores.to(at::kCPU).to(at::kFloat).contiguous();
  // NaN or infinite weights (a damaged checkpoint) give scores no threshold can rank: an
  // error record, never tags picked among NaNs.
  if (!at::isfinite(scores).all().item<bool>())
    throw ImageError(prepared.image, "the model gave non-finite scores (NaN or infinite weights?)");
  // Every class scoring alike ranks nothing, and the label rule would invent class 0 as
  // the arg max: an error record instead. (A one-class vocabulary always ties with itself.)
  if (scores.numel() > 1 && scores.max().item<float>() == scores.min().item<float>())
    throw ImageError(prepared.image, "every class scored " +
                                         std::to_string(scores.max().item<float>()) +
                                         ": the method found nothing to rank");
  const float* values = scores.data_ptr<float>();
  for (size_t k = 0; k < s.vocabulary.classes.size(); ++k)
    tagged.record.scores.emplace_back(s.vocabulary.classes[k], static_cast<double>(values[k]));
  for (const ScoredLabel& label : sorted_tags(scores, tagged.result.labels)) {
    if (s.config.top_k && static_cast<int>(tagged.record.tags.size()) >= *s.config.top_k) break;
    if (label.score < s.config.min_score) continue;
    tagged.record.tags.push_back(
        {s.vocabulary.classes[label.index], label.index, static_cast<double>(label.score)});
  }
  return tagged;
}

TaggedImage Tagger::tag_file_in_detail(const std::string& path) const {
  return tag_prepared(prepare_file(path));
}

TagRecord Tagger::tag_file(const std::string& path) const {
  return tag_file_in_detail(path).record;
}

TagRecord Tagger::tag_image(const cv::Mat& rgb8, const std::string& image) const {
  return tag_prepared(prepare(image, [&] { return rgb8; })).record;
}

void Tagger::tag_files(const std::vector<std::string>& paths,
                       const RecordCallback& on_record) const {
  for (size_t i = 0; i < paths.size(); ++i) {
    const TagRecord record = tag_file(paths[i]);
    if (on_record) on_record(record, i + 1, paths.size());
  }
}

const TaggerConfig& Tagger::config() const { return state_->config; }
const Vocabulary& Tagger::vocabulary() const { return state_->vocabulary; }
const ClipModel& Tagger::model() const { return *state_->model; }
std::shared_ptr<const ClipModel> Tagger::shared_model() const { return state_->model; }
const TagclipOptions& Tagger::options() const { return state_->pipeline->options(); }
bool Tagger::embeddings_from_cache() const { return state_->embeddings_from_cache; }

}  // namespace tagclip
