// Class activation maps for an image's labels, as the authors' CLIP-ES copy
// (generate_cams_{voc,coco,cocostuff}.py) computes them: Grad-CAM on the last ViT block
// against the labels' and the background words' prompts, refined by the attention affinity.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tagclip/core/clip_es_vocabularies.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/model/tokenizer.h"
#include "tagclip/pipeline/grad_cam.h"

namespace tagclip {

struct ClipEsCams {
  std::vector<int64_t> keys;  // the labels, in the order given (repeats kept)
  at::Tensor attn_highres;    // [K, H, W] float32, CPU: refined CAMs at the original size
  at::Tensor highres;         // [K, H, W] float32, CPU: the unrefined Grad-CAMs, same size
};

class ClipEsCamGenerator {
 public:
  // Encodes the vocabulary's class prompts and background words once (one template:
  // encode, L2-normalise, mean, normalise, as the reference's zeroshot_classifier).
  ClipEsCamGenerator(std::shared_ptr<const ClipModel> model, const ClipTokenizer& tokenizer,
                     ClipEsVocabulary vocabulary);

  // image: [1, 3, h, w] normalised, h and w multiples of the patch size (preprocess_for_clip).
  // original_height / original_width: the decoded image's size; the CAMs are resized to it.
  // labels: 0-based class indices, in line order; a repeated label repeats its key and its
  // target is the first occurrence, as in the reference. Throws UsageError for an empty label
  // list or an index out of range, ShapeError for a bad image tensor.
  ClipEsCams generate(const at::Tensor& image, int original_height, int original_width,
                      const std::vector<int64_t>& labels) const;

  const ClipEsVocabulary& vocabulary() const { return vocabulary_; }
  // [classes, E] and [background words, E] float32 on the model's device.
  const at::Tensor& class_features() const { return class_features_; }
  const at::Tensor& background_features() const { return background_features_; }

 private:
  std::shared_ptr<const ClipModel> model_;
  ClipEsVocabulary vocabulary_;
  at::Tensor class_features_;
  at::Tensor background_features_;
  LastVisionBlock last_block_;  // what Grad-CAM reruns with autograd
};

// The positions in the list (encoder blocks' maps, then the rerun last block's; `entries`
// long) that CLIP-ES averages for the affinity: Python's [-from_end:] or [-from_end:-1].
// Returns [first, last) clamped as Python slices are.
std::pair<int64_t, int64_t> refinement_slice(int64_t entries, int from_end, bool excludes_last);

}  // namespace tagclip
