// The TagCLIP image pipeline, top to bottom as in the paper: one forward pass with every
// block's attention, coarse patch classification, DMAR, CWR, labels.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/model/clip_model.h"

namespace tagclip {

enum class TagclipMethod {
  kGlobal,   // plain CLIP zero-shot on the whole image (no masks): a baseline
  kCoarse,   // max over patches of the coarse patch probabilities
  kDmar,     // DMAR's local scores, no CWR
  kTagclip,  // DMAR + CWR: the method
};

// "global", "coarse", "dmar", "tagclip"; parse throws UsageError for anything else.
std::string to_string(TagclipMethod method);
TagclipMethod parse_tagclip_method(const std::string& name);

struct TagclipOptions {
  TagclipMethod method = TagclipMethod::kTagclip;
  // Blocks whose attention DMAR averages. Negative values count from the end (-1 = the last
  // block), so the default is the reference's blocks 8, 9, 10 on 12-block models and the
  // three before the last on any other. cocostuff_options() uses every block but the last.
  std::vector<int64_t> refinement_blocks = {-4, -3, -2};
  // DMAR's vote threshold; nullopt = a third of the blocks, rounded (4 of 12, 8 of 24).
  std::optional<int64_t> vote_count;
  double candidate_ratio = 0.5;  // CWR candidates (0.1 for COCO-Stuff)
  double label_ratio = 0.5;      // final labels (0.1 for COCO-Stuff)
  double self_only_penalty = -100.0;

  // The reference's quirks, each on by default so the numbers match its code.
  bool self_only_last_block = true;              // -100 off the diagonal in the last block
  bool round_resized_positional_to_fp16 = true;  // for grids other than the checkpoint's
  bool clip_box_ends = true;                     // DMAR and CWR boxes lose the last row/column
  bool cwr_early_stop = true;                    // an empty CWR box ends CWR

  // Encode CWR's crops in batches of cwr_max_batch (same numbers, see cwr.h).
  bool batched_cwr = true;
  int64_t cwr_max_batch = 16;
  // Keep the per-class patch maps in TagResult (for visualisation).
  bool keep_patch_maps = false;

  // Throws UsageError naming the option for values impossible with a tower of
  // `vision_layers` blocks (blocks out of range or repeated, vote count above the number
  // of blocks, ratios outside [0, 1], a non-finite or positive penalty, a batch < 1); for
  // the vote count and the ratios an OptionError whose option() is the field's name.
  void validate(int64_t vision_layers) const;
  std::string to_string() const;

  // Fewest patches an image's grid may have on a side. DMAR's boxes lose the grid's last
  // row and column (clip_box_ends), so on a grid one patch high or wide every box is empty
  // and every class scores 0, as in the reference. The methods that use DMAR therefore
  // encode an image at least two patches high and wide (a 16-pixel side is stretched to 32
  // under ViT-B/16); larger images are untouched.
  int min_grid_side() const;
};

// The reference's COCO-Stuff setting: every block but the last, thresholds 0.1.
TagclipOptions cocostuff_options(int64_t vision_layers);

struct TagResult {
  at::Tensor scores;            // [K_fg] float32, CPU: the method's final scores
  std::vector<int64_t> labels;  // ascending indices into the foreground classes
  // With keep_patch_maps (coarse, dmar, tagclip): [K_fg, grid_h, grid_w] float32 on the CPU,
  // the per-patch scores whose max over patches gave the local score (C or R).
  at::Tensor patch_maps;
  std::vector<int64_t> cwr_candidates;  // tagclip only
  std::vector<int64_t> cwr_rescored;
  bool cwr_stopped_early = false;
};

class TagclipPipeline {
 public:
  // text_embeddings: [K, E], the foreground classes first (num_foreground of them), then
  // the background words; rows are L2-normalised here. Throws UsageError for mismatched
  // shapes or invalid options.
  TagclipPipeline(std::shared_ptr<const ClipModel> model, const at::Tensor& text_embeddings,
                  int64_t num_foreground, TagclipOptions options = {});

  // image: [1, 3, H, W] normalised (preprocess_for_clip), H and W multiples of the patch.
  // `global` resizes it bilinearly (align_corners false) to the input resolution: the
  // pipeline only sees the tensor, and this is the same resize CWR applies to its crops.
  TagResult run(const at::Tensor& image) const;

  // images: [B, 3, H, W], images of one size, each as run() takes it. One forward pass,
  // DMAR and CWR serve the whole batch (CWR's crops encoded together, cwr_max_batch per
  // image per forward), which is what keeps a GPU busy; image b's result equals run() on
  // it alone up to float rounding (tests/test_pipeline_batch.cpp).
  std::vector<TagResult> run_batch(const at::Tensor& images) const;

  const TagclipOptions& options() const { return options_; }
  const ClipModel& model() const { return *model_; }
  int64_t num_foreground() const { return num_foreground_; }
  int64_t num_classes() const { return text_embeddings_.size(0); }

 private:
  std::vector<TagResult> run_global(const at::Tensor& images) const;

  std::shared_ptr<const ClipModel> model_;
  at::Tensor text_embeddings_;  // [K, E] float32 on the model's device
  int64_t num_foreground_ = 0;
  TagclipOptions options_;
  std::vector<int64_t> refinement_blocks_;  // resolved, 0-based
  int64_t vote_count_ = 0;                  // resolved
};

}  // namespace tagclip
