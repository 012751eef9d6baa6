#include "tagclip/pipeline/clip_es_cams.h"

#include <algorithm>
#include <string>

#include "tagclip/errors.h"
#include "tagclip/model/text_embeddings.h"
#include "tagclip/pipeline/affinity_refinement.h"
#include "tagclip/pipeline/grad_cam.h"

namespace tagclip {

std::pair<int64_t, int64_t> refinement_slice(int64_t entries, int from_end, bool excludes_last) {
  const int64_t first = std::max<int64_t>(0, entries - from_end);
  const int64_t last = excludes_last ? entries - 1 : entries;
  return {first, std::max(first, last)};
}

ClipEsCamGenerator::ClipEsCamGenerator(std::shared_ptr<const ClipModel> model,
                                       const ClipTokenizer& tokenizer, ClipEsVocabulary vocabulary)
    : model_(std::move(model)), vocabulary_(std::move(vocabulary)) {
  if (!model_) throw UsageError("ClipEsCamGenerator needs a model");
  if (vocabulary_.class_prompts.empty()) throw UsageError("CLIP-ES vocabulary has no classes");
  if (vocabulary_.refinement_blocks_from_end < 1)
    throw UsageError("refinement_blocks_from_end must be at least 1");
  const std::vector<std::string> templates = {vocabulary_.prompt_template};
  class_features_ =
      encode_class_embeddings(*model_, tokenizer, vocabulary_.class_prompts, templates);
  background_features_ =
      encode_class_embeddings(*model_, tokenizer, vocabulary_.background_words, templates);
  last_block_ = LastVisionBlock::from(model_->vision());
}

ClipEsCams ClipEsCamGenerator::generate(const at::Tensor& image, int original_height,
                                        int original_width,
                                        const std::vector<int64_t>& labels) const {
  const VisionTower& vision = model_->vision();
  const int64_t p = vision.patch_size();
  if (labels.empty()) throw UsageError("CLIP-ES CAMs need at least one label");
  const int64_t classes = class_features_.size(0);
  for (int64_t label : labels)
    if (label < 0 || label >= classes)
      throw UsageError("label " + std::to_string(label) + " out of range 0.." +
                       std::to_string(classes - 1));
  if (image.dim() != 4 || image.size(0) != 1 || image.size(1) != 3 || image.size(2) == 0 ||
      image.size(3) == 0 || image.size(2) % p != 0 || image.size(3) % p != 0)
    throw ShapeError("CLIP-ES image must be [1, 3, h, w] with h and w positive multiples of " +
                     std::to_string(p) + ", got " + c10::str(image.sizes()));
  if (original_height <= 0 || original_width <= 0)
    throw UsageError("original image size must be positive, got " +
                     std::to_string(original_height) + "x" + std::to_string(original_width));
  const int64_t grid_h = image.size(2) / p, grid_w = image.size(3) / p;
  const int64_t layers = vision.layers();

  // The reference's encoder takes a sequence of 77 tokens for text and runs every block
  // then; the last block is then run a second time by Grad-CAM.
  const int64_t encoder_blocks = 1 + grid_h * grid_w == 77 ? layers : layers - 1;
  // Attention list: encoder_blocks maps, then the rerun last block's.
  const auto [first, last] =
      refinement_slice(encoder_blocks + 1, vocabulary_.refinement_blocks_from_end,
                       vocabulary_.refinement_excludes_last_block);
  if (first == last) throw UsageError("the model has too few blocks for the affinity slice");

  VisionForwardOptions options;
  options.block_count = encoder_blocks;
  options.tokens_before_ln_post = true;
  options.round_native_positional_to_fp16 = true;
  for (int64_t i = first; i < std::min(last, encoder_blocks); ++i)
    options.attention_blocks.push_back(i);
  const VisionOutput encoded = vision.forward(image.to(model_->tensor_options()), options);

  // Text rows: the labels in line order, then the background words. A repeated label
  // targets its first row.
  const at::Tensor label_index = at::tensor(labels, at::kLong).to(class_features_.device());
  const at::Tensor text = at::cat({class_features_.index_select(0, label_index),
                                   background_features_.to(class_features_.device())},
                                  0);
  // One backward per distinct label: a repeat gets the very same map.
  std::vector<int64_t> targets, target_of_label;
  for (int64_t label : labels) {
    const int64_t first_row = std::find(labels.begin(), labels.end(), label) - labels.begin();
    const auto known = std::find(targets.begin(), targets.end(), first_row);
    target_of_label.push_back(known - targets.begin());
    if (known == targets.end()) targets.push_back(first_row);
  }
  const LastBlockGradients pass =
      last_block_gradients(last_block_, encoded.tokens, text, model_->logit_scale(), targets);

  const at::InferenceMode guard;
  const at::Tensor distinct_cams =
      grad_cam_maps(pass.activation, pass.gradients, grid_h, grid_w).cpu();
  const at::Tensor cams = distinct_cams.index_select(0, at::tensor(target_of_label, at::kLong));

  // Mean attention over the slice, class token dropped: [n, n].
  std::vector<at::Tensor> maps(encoded.attention.begin(), encoded.attention.end());
  for (at::Tensor& map : maps) map = map[0].to(at::kFloat);
  if (last == encoder_blocks + 1) maps.push_back(pass.attention);
  const at::Tensor attention = at::stack(maps, 0).mean(0).slice(0, 1).slice(1, 1);
  const at::Tensor transition = affinity_transition(attention.cpu());

  std::vector<at::Tensor> refined;
  for (int64_t k = 0; k < cams.size(0); ++k) {
    const at::Tensor mask = box_mask(cams[k], vocabulary_.box_threshold);
    refined.push_back(refine_cam(transition, cams[k], mask));
  }
  ClipEsCams out;
  out.keys = labels;
  out.highres = resize_maps_linear(cams, original_height, original_width);
  out.attn_highres =
      resize_maps_linear(scale_cam_maps(at::stack(refined, 0)), original_height, original_width);
  return out;
}

}  // namespace tagclip
