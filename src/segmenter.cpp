#include "tagclip/segmenter.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tagclip/core/clip_es_vocabularies.h"
#include "tagclip/core/log.h"
#include "tagclip/core/vocabulary.h"
#include "tagclip/errors.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/model/cuda_support.h"
#include "tagclip/model/default_paths.h"
#include "tagclip/model/device.h"
#include "tagclip/model/tokenizer.h"
#include "tagclip/pipeline/clip_es_cams.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/crf_mask.h"
#include "tagclip/segment/cv2_imread.h"

namespace tagclip {
namespace {

// [K, H, W] float32 tensor -> its values rounded to float16, as the reference stores them
// and everything downstream reads them.
std::vector<float> float16_values(const at::Tensor& maps) {
  const at::Tensor rounded = maps.to(at::kCPU).to(at::kHalf).to(at::kFloat).contiguous();
  return std::vector<float>(rounded.data_ptr<float>(), rounded.data_ptr<float>() + rounded.numel());
}

std::string labels_problem(const std::vector<int64_t>& labels, size_t classes) {
  if (labels.empty()) return "no labels to segment (the image has no class to draw a map for)";
  for (int64_t label : labels)
    if (label < 0 || static_cast<size_t>(label) >= classes)
      return "label " + std::to_string(label) + " is outside the vocabulary's " +
             std::to_string(classes) + " classes (0.." + std::to_string(classes - 1) + ")";
  return {};
}

}  // namespace

struct Segmenter::State {
  SegmenterConfig config;
  std::shared_ptr<const ClipModel> model;
  Vocabulary vocabulary;
  bool has_background = true;
  std::unique_ptr<ClipEsCamGenerator> generator;
};

SegmenterConfig::SegmenterConfig()
    : model_path(default_model_path()), bpe_path(default_bpe_path()) {}

void SegmenterConfig::validate() const {
  if (threads && *threads < 1) throw OptionError("threads", "must be at least 1");
  parse_device(device);
  if (max_side && *max_side < 1) throw OptionError("max_side", "must be at least 1");
  if (!(bg_power > 0.0)) throw OptionError("bg_power", "must be a positive number");
  if (crf_options.iterations < 1) throw OptionError("crf_iterations", "must be at least 1");
}

Segmenter::Segmenter(std::shared_ptr<const State> state) : state_(std::move(state)) {}

Segmenter Segmenter::load(const SegmenterConfig& config, std::shared_ptr<const ClipModel> model) {
  config.validate();
  auto state = std::make_shared<State>();
  state->config = config;
  if (!model) {
    set_thread_count(config.threads);
    ModelOptions model_options;
    model_options.device = config.device;
    model_options.precision = config.precision;
    model = ClipModel::load(config.model_path, model_options);
  }
  state->model = model;
  state->vocabulary = load_vocabulary(config.classes);
  const bool built_in =
      config.classes == "voc" || config.classes == "coco" || config.classes == "cocostuff";
  ClipEsVocabulary prompts = built_in ? clip_es_vocabulary(config.classes)
                                      : clip_es_vocabulary_for_classes(state->vocabulary.classes);
  state->has_background = !state->vocabulary.is_cocostuff;
  const ClipTokenizer tokenizer(config.bpe_path);
  logger().info("segmentation prompts: {} classes + {} background words, template \"{}\"",
                prompts.class_prompts.size(), prompts.background_words.size(),
                prompts.prompt_template);
  state->generator = std::make_unique<ClipEsCamGenerator>(model, tokenizer, std::move(prompts));
  return Segmenter(std::move(state));
}

SegmentedImage Segmenter::segment_decoded(const cv::Mat& rgb8, const std::vector<int64_t>& labels,
                                          const std::string& image, const cv::Mat& crf_bgr) const {
  const State& s = *state_;
  SegmentedImage out;
  out.image = image;
  out.rgb = rgb8;
  out.width = rgb8.cols;
  out.height = rgb8.rows;
  if (std::string problem = labels_problem(labels, s.vocabulary.classes.size()); !problem.empty())
    throw ImageError(image, problem);

  // Maps: [K, H, W] at the decoded size, from the ViT at the patch-aligned (bounded) size.
  const int patch_size = static_cast<int>(s.model->architecture().patch_size);
  const ClipEsCams maps = s.generator->generate(
      preprocess_for_clip(rgb8, patch_size, s.config.max_side), rgb8.rows, rgb8.cols, labels);
  out.cams.keys = maps.keys;
  out.cams.height = rgb8.rows;
  out.cams.width = rgb8.cols;
  out.cams.attn_highres = float16_values(maps.attn_highres);
  out.cams.highres = float16_values(maps.highres);

  if (!s.config.crf) {
    out.mask = s.has_background
                   ? mask_from_cams(out.cams, s.config.bg_power)
                   : mask_from_cams_without_background(out.cams, out.cams.attn_highres);
    return out;
  }
  cv::Mat bgr = crf_bgr;
  if (bgr.empty() || bgr.rows != rgb8.rows || bgr.cols != rgb8.cols)
    cv::cvtColor(rgb8, bgr, cv::COLOR_RGB2BGR);
  out.mask = crf_mask_from_cams(bgr, out.cams, out.cams.attn_highres, s.has_background,
                                s.config.crf_options);
  return out;
}

SegmentedImage Segmenter::segment_image(const cv::Mat& rgb8, const std::vector<int64_t>& labels,
                                        const std::string& image, const cv::Mat& crf_bgr) const {
  try {
    return segment_decoded(rgb8, labels, image, crf_bgr);
  } catch (const std::exception& e) {
    // As in Tagger::tag_prepared: an image that did not fit leaves no reserve behind.
    if (is_out_of_memory(e)) release_cached_memory(state_->model->device());
    SegmentedImage failed;
    failed.image = image;
    failed.error = image_problem(e);
    return failed;
  }
}

SegmentedImage Segmenter::segment_file(const std::string& path,
                                       const std::vector<int64_t>& labels) const {
  cv::Mat rgb;
  try {
    rgb = decode_image(path, state_->config.decode);
  } catch (const std::exception& e) {
    SegmentedImage failed;
    failed.image = path;
    failed.error = image_problem(e);
    return failed;
  }
  return segment_decoded_file(rgb, labels, path);
}

SegmentedImage Segmenter::segment_decoded_file(const cv::Mat& rgb8,
                                               const std::vector<int64_t>& labels,
                                               const std::string& path) const {
  // The authors' CRF reads the file with cv2.imread: BGR, EXIF orientation applied.
  const cv::Mat crf_bgr = state_->config.crf ? cv2_imread(path, cv::IMREAD_COLOR) : cv::Mat();
  return segment_image(rgb8, labels, path, crf_bgr);
}

const SegmenterConfig& Segmenter::config() const { return state_->config; }
const ClipModel& Segmenter::model() const { return *state_->model; }
const std::vector<std::string>& Segmenter::class_names() const {
  return state_->vocabulary.classes;
}
bool Segmenter::has_background() const { return state_->has_background; }

}  // namespace tagclip
