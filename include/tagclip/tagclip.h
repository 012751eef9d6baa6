// tagclip's library API: load a CLIP ViT and a vocabulary once, then tag images with every
// class of the vocabulary they contain (TagCLIP, Lin et al., AAAI 2024).
//
//   tagclip::TaggerConfig config;
//   config.model_path = "models/ViT-B-16.pt";
//   config.classes = "coco";
//   const tagclip::Tagger tagger = tagclip::Tagger::load(config);  // throws typed errors
//   const tagclip::TagRecord record = tagger.tag_file("photo.jpg");  // never throws for a bad
//   image for (const tagclip::Tag& tag : record.tags) std::cout << tag.label << " " << tag.score <<
//   "\n";
//
// A Tagger's state (weights, text embeddings, vocabulary) is read-only after load, and each
// call keeps its own buffers, so one Tagger serves several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/core/tag_record.h"
#include "tagclip/core/vocabulary.h"
#include "tagclip/errors.h"
#include "tagclip/io/image_io.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/pipeline/preprocess.h"
#include "tagclip/pipeline/tagclip_pipeline.h"

namespace tagclip {

// Images per batch beside a GPU when none is asked for (README "On a GPU").
constexpr int kDefaultGpuBatch = 32;

struct TaggerConfig {
  // The model and CLIP's BPE vocabulary. Defaults: $TAGCLIP_MODEL, else models/ViT-B-16.pt;
  // $TAGCLIP_BPE, else the committed models/bpe_simple_vocab_16e6.txt.gz (looked for in the
  // working folder, beside the executable and in the source tree).
  std::string model_path;
  std::string bpe_path;
  std::string device = "cpu";  // cpu, cuda or cuda:N
  std::optional<int> threads;  // LibTorch's intra-op threads; nullopt: every core
  // Images tag takes at a time, those of one size encoded together
  // (Tagger::tag_prepared_batch); nullopt: 1 on the CPU, where batching gains nothing, and
  // kDefaultGpuBatch beside a GPU, which a single image leaves mostly idle.
  std::optional<int> batch_size;
  // The vision tower's matrix products: fp32 (faithful), bf16 (CPUs with AVX-512 BF16 or
  // AMX, GPUs) or fp16 (CUDA only); see model/precision.h.
  Precision precision = Precision::kFloat32;

  // Vocabulary: voc, coco, cocostuff or a class file; background: default, voc, coco, none
  // or a file; templates: reference (the authors' 85), single, a file, or one template
  // with {}.
  std::string classes = "voc";
  std::string background = "default";
  std::string templates = "reference";
  bool truncate_prompts = false;  // cut over-long prompts instead of failing
  // Where class embeddings are cached; nullopt: no cache. Default: $XDG_CACHE_HOME/tagclip.
  std::optional<std::string> cache_dir;

  // The method. Each unset value follows the vocabulary's and the model's default
  // (TagclipOptions; cocostuff_options for COCO-Stuff).
  TagclipMethod method = TagclipMethod::kTagclip;
  std::vector<int64_t> refinement_blocks;  // empty: default
  std::optional<int64_t> vote_count;
  std::optional<double> label_ratio;
  std::optional<double> candidate_ratio;
  bool self_only_last_block = true;  // the reference's quirks, on by default
  bool round_resized_positional_to_fp16 = true;
  bool clip_box_ends = true;
  bool cwr_early_stop = true;
  bool batched_cwr = true;
  bool keep_patch_maps = false;  // TaggedImage::result.patch_maps, for visualisation

  // Images: decoding limits and the longer side larger images are scaled down to.
  ImageDecodeOptions decode;
  std::optional<int> max_side = kDefaultMaxSide;

  // Which labels a record reports as tags: at most top_k (nullopt: all), none below
  // min_score. Every class's score is in the record regardless.
  std::optional<int> top_k;
  double min_score = -std::numeric_limits<double>::infinity();

  TaggerConfig();  // the defaults above, paths and cache folder included

  // Throws UsageError naming the field for values no model could accept (a threads, top_k or
  // max_side below 1, ratios outside [0, 1], a negative vote count, an unknown device).
  // Values that depend on the model (blocks, vote count above its depth) are checked by load.
  void validate() const;
  std::string to_string() const;
};

// A record together with what produced it, for callers that draw it (tag --visualize).
struct TaggedImage {
  TagRecord record;
  TagResult result;  // undefined tensors when the image failed
  cv::Mat rgb;       // the decoded 8-bit RGB image; empty when it failed
};

// An image decoded and resized for the encoder, or why it could not be: Tagger's first
// half, which uses no model and may run on another thread while the encoder works.
struct PreparedImage {
  std::string image;  // the name the record carries
  cv::Mat rgb;        // decoded 8-bit RGB; empty on failure
  at::Tensor input;   // [1, 3, H, W] normalised, H and W multiples of the patch size
  std::string error;  // non-empty: the record's error
};

class Tagger {
 public:
  // Loads the model, tokenizer, vocabulary and text embeddings (from the cache when it holds
  // them) and builds the pipeline. Throws UsageError for a bad option value, ModelError,
  // TokenizerError or VocabularyError for a file that cannot be used.
  static Tagger load(const TaggerConfig& config);

  // Decodes and tags one image file. Never throws for a bad image: a missing, undecodable
  // or too-large file, or an allocation that fails, is a record whose `error` says why.
  TagRecord tag_file(const std::string& path) const;

  // Tags decoded pixels (8-bit RGB, CV_8UC3); `image` is the name the record carries.
  // Never throws for bad pixels either.
  TagRecord tag_image(const cv::Mat& rgb8, const std::string& image = "") const;

  // Tags `paths` in order and hands each record to `on_record` as soon as it is made, with
  // how many are done and how many there are: write it, count it, draw progress. Records
  // are not kept, so a folder of any size streams through.
  using RecordCallback = std::function<void(const TagRecord& record, size_t done, size_t total)>;
  void tag_files(const std::vector<std::string>& paths, const RecordCallback& on_record) const;

  // tag_file, keeping the pipeline's result and the decoded image.
  TaggedImage tag_file_in_detail(const std::string& path) const;

  // tag_file_in_detail in two halves, so a caller can decode the next images while the
  // encoder works (tag does, on one background thread). Neither throws for a bad image.
  PreparedImage prepare_file(const std::string& path) const;
  TaggedImage tag_prepared(const PreparedImage& prepared) const;

  // tag_prepared for several images, in the order given. Images of one size go through the
  // pipeline together (TagclipPipeline::run_batch): the same tags and, up to float
  // rounding, the same scores as one at a time. A batch that fails as a whole (out of GPU
  // memory, say) is retried one image at a time, so only the image at fault gets an error
  // record. Never throws for a bad image.
  std::vector<TaggedImage> tag_prepared_batch(const std::vector<PreparedImage>& prepared) const;

  // The batch size in force: config().batch_size, else its default for the device.
  int batch_size() const;

  const TaggerConfig& config() const;
  const Vocabulary& vocabulary() const;
  const ClipModel& model() const;
  // The same model, for a component that shares its weights (tagclip segment tags and
  // segments with one copy of the weights in memory).
  std::shared_ptr<const ClipModel> shared_model() const;
  const TagclipOptions& options() const;  // resolved for this model and vocabulary
  bool embeddings_from_cache() const;

 private:
  struct State;
  explicit Tagger(std::shared_ptr<const State> state);
  // Decodes with `pixels` and resizes; any exception becomes PreparedImage::error.
  PreparedImage prepare(const std::string& image, const std::function<cv::Mat()>& pixels) const;
  // The pipeline and the record for a prepared image; throws for a failure.
  TaggedImage tag_input(const PreparedImage& prepared) const;
  // The record for a prepared image from the pipeline's result; throws ImageError for
  // scores no label can be picked from.
  TaggedImage tagged_from(const PreparedImage& prepared, TagResult result) const;

  std::shared_ptr<const State> state_;
};

}  // namespace tagclip
