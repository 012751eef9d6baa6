// The paper's second half, "classify then segment": each image-level label becomes a class
// activation map (CLIP-ES: Grad-CAM through the last ViT block, refined by the encoder's
// attention affinity), and the maps become a pixel pseudo-mask, optionally through a dense
// CRF.
//
//   tagclip::SegmenterConfig config;
//   config.model_path = "models/ViT-B-16.pt";
//   const tagclip::Segmenter segmenter = tagclip::Segmenter::load(config);
//   const tagclip::SegmentedImage out = segmenter.segment_file("2007_000032.jpg", {0, 14});
//   // out.mask.labels: 0 background, k + 1 for class k; out.cams: the maps, float16 values
//
// Like the Tagger, a Segmenter is read-only after load and serves several threads.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/io/image_io.h"
#include "tagclip/model/precision.h"
#include "tagclip/pipeline/preprocess.h"
#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/dense_crf.h"
#include "tagclip/segment/label_mask.h"

namespace tagclip {

class ClipModel;

struct SegmenterConfig {
  // As TaggerConfig: empty paths take the same defaults ($TAGCLIP_MODEL, models/...).
  std::string model_path;
  std::string bpe_path;
  std::string device = "cpu";
  std::optional<int> threads;
  Precision precision = Precision::kFloat32;  // the image encoder's linear layers (precision.h)
  // voc, coco, cocostuff (CLIP-ES's prompt names, background words and refinement settings
  // for the dataset) or a class file (the names as written; see clip_es_vocabularies.h).
  std::string classes = "voc";
  ImageDecodeOptions decode;
  // Longer side the ViT sees at most; the maps are still resized to the full image. VOC and
  // COCO images are below the default, as for tagging.
  std::optional<int> max_side = kDefaultMaxSide;
  // Background score (1 - max over the class maps)^bg_power, in float16 as eval_cam.py.
  double bg_power = 1.0;
  // Dense CRF over [background, maps] before the argmax (the authors' eval_cam_with_crf).
  bool crf = false;
  DenseCrfOptions crf_options;

  SegmenterConfig();  // fills the default model and BPE paths
  // Throws OptionError naming the field (threads, max_side, bg_power, crf iterations).
  void validate() const;
};

struct SegmentedImage {
  std::string image;  // the path or name given
  int width = 0;
  int height = 0;
  ClassCams cams;     // keys (label order) and the maps at the image's size, float16 values
  LabelMask mask;     // 0 background, k + 1 for class k (COCO-Stuff: k + 1, no background)
  cv::Mat rgb;        // the decoded image (8-bit RGB), for drawing
  std::string error;  // non-empty: this image failed, and why; the rest is empty

  bool ok() const { return error.empty(); }
};

class Segmenter {
 public:
  // Loads the model (or shares `model`, e.g. the Tagger's, when given) and encodes the
  // vocabulary's CLIP-ES prompts. Throws as Tagger::load does.
  static Segmenter load(const SegmenterConfig& config,
                        std::shared_ptr<const ClipModel> model = nullptr);

  // Decodes and segments one image. labels: 0-based class indices in the order the maps
  // should have (repeats allowed, as the reference). Never throws for a bad image or bad
  // labels (none, or out of range): the result's `error` says why.
  SegmentedImage segment_file(const std::string& path, const std::vector<int64_t>& labels) const;

  // Segments pixels already decoded from the file at `path` (8-bit RGB, e.g. the Tagger's
  // TaggedImage::rgb): with the CRF on, the file is read again as the authors' CRF reads it.
  SegmentedImage segment_decoded_file(const cv::Mat& rgb8, const std::vector<int64_t>& labels,
                                      const std::string& path) const;

  // Segments decoded pixels (8-bit RGB). crf_bgr: the image the CRF sees, as cv2.imread
  // reads the file (EXIF applied, BGR); empty: the RGB pixels are used.
  SegmentedImage segment_image(const cv::Mat& rgb8, const std::vector<int64_t>& labels,
                               const std::string& image, const cv::Mat& crf_bgr = {}) const;

  const SegmenterConfig& config() const;
  const ClipModel& model() const;
  const std::vector<std::string>& class_names() const;  // the vocabulary, index order
  bool has_background() const;  // false for COCO-Stuff, whose masks have no background

 private:
  struct State;
  explicit Segmenter(std::shared_ptr<const State> state);
  SegmentedImage segment_decoded(const cv::Mat& rgb8, const std::vector<int64_t>& labels,
                                 const std::string& image, const cv::Mat& crf_bgr) const;
  std::shared_ptr<const State> state_;
};

}  // namespace tagclip
