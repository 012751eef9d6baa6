// CWR, class-wise reidentification: each candidate class is looked at again on a crop of
// the image around its refined map, with the class token allowed to see only the patches
// of that class, and its score becomes the mean of the local and this global score.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "tagclip/model/clip_model.h"

namespace tagclip {

struct CwrOptions {
  // Candidates: foreground classes whose local score exceeds min + ratio (max - min) of the
  // whole refined matrix (0.5; the reference uses 0.1 for COCO-Stuff).
  double candidate_ratio = 0.5;
  // Clip the box's exclusive ends to grid - 1, as the reference does (so a class whose
  // region lies in the last row or column only has an empty box).
  bool clip_box_ends = true;
  // The reference returns the scores as they are at the first candidate with an empty box,
  // skipping the remaining candidates; false skips only that candidate.
  bool early_stop = true;
  // Additive mask that hides the other patches from the class token, in every block.
  double class_token_penalty = -1000.0;
  // Weight of the local score in the fused score (the rest goes to the global score).
  double local_weight = 0.5;
  // Encode the candidates' crops together, max_batch at a time, instead of one by one.
  // Same numbers up to float rounding (tests/test_cwr.cpp checks 1e-5).
  bool batched = true;
  int64_t max_batch = 16;
};

// A box on the patch grid, ends exclusive.
struct PatchBox {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  bool empty() const { return y1 <= y0 || x1 <= x0; }
};

// Foreground classes in index order whose local score exceeds
// min(refined) + ratio * (max(refined) - min(refined)).
//   refined: [N, K]; local: [K_fg].
std::vector<int64_t> cwr_candidates(const at::Tensor& refined, const at::Tensor& local,
                                    double ratio);
// The same for a batch, each image against its own min and max, with one copy to the CPU.
//   refined: [B, N, K]; local: [B, K_fg]. Returns each image's candidates.
std::vector<std::vector<int64_t>> cwr_candidates_batch(const at::Tensor& refined,
                                                        const at::Tensor& local, double ratio);

// Where CWR looks for one class.
struct CandidateRegion {
  PatchBox box;       // rows and columns holding a set patch; ends clipped if asked
  at::Tensor inside;  // bool [grid_h, grid_w]: min-max normalised column > 0.5
};

// column: [grid_h * grid_w] refined scores of one class. A constant column normalises to
// NaN, holds no set patch and gives an empty box, as in the reference.
CandidateRegion candidate_region(const at::Tensor& column, int64_t grid_h, int64_t grid_w,
                                 bool clip_box_ends);

// Nearest-neighbour resize of a bool mask [h, w] to [out_h, out_w], source index
// floor(i * h / out_h) as torch's interpolate(mode="nearest"). Returns bool [out_h, out_w].
at::Tensor nearest_resize_mask(const at::Tensor& mask, int64_t out_h, int64_t out_w);

// The additive mask [1 + P, 1 + P] that lets the class token attend only to the patches
// where keep ([P] bool) is true (penalty elsewhere); patch rows are unmasked.
at::Tensor class_token_mask(const at::Tensor& keep, double penalty);

// The crop of image [1, 3, H, W] to box (grid units, scaled by patch_size), resized
// bilinearly (align_corners false, no antialias) to resolution x resolution.
// Returns [1, 3, resolution, resolution].
at::Tensor crop_to_box(const at::Tensor& image, const PatchBox& box, int64_t patch_size,
                       int64_t resolution);

struct CwrResult {
  at::Tensor scores;                // [K_fg] float32 on the CPU: fused scores
  std::vector<int64_t> candidates;  // classes that passed the candidate threshold
  std::vector<int64_t> rescored;    // candidates whose crop was encoded
  bool stopped_early = false;       // an empty box ended the step (early_stop)
};

// The whole stage.
//   image: [1, 3, H, W] normalised, H = grid_h * patch, W = grid_w * patch;
//   text_embeddings: [K, E] L2-normalised; refined: [N, K] (DMAR's); local: [K_fg].
// Crops are resized to the model's input resolution and the candidate's mask to its grid,
// so any ViT patch size and resolution works (the reference hard-codes 224 and 16).
CwrResult cwr_rescore(const ClipModel& model, const at::Tensor& image,
                      const at::Tensor& text_embeddings, const at::Tensor& refined,
                      const at::Tensor& local, const CwrOptions& options);

// The same for a batch of images of one size: images [B, 3, H, W], refined [B, N, K],
// local [B, K_fg]. The crops of all the images' candidates are encoded together,
// options.max_batch at a time, so a GPU sees few large forwards instead of many small
// ones; image b's result equals cwr_rescore on it alone up to float rounding.
std::vector<CwrResult> cwr_rescore_batch(const ClipModel& model, const at::Tensor& images,
                                         const at::Tensor& text_embeddings,
                                         const at::Tensor& refined, const at::Tensor& local,
                                         const CwrOptions& options);

}  // namespace tagclip
