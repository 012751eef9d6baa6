// DMAR, dual-masking attention refinement: the coarse patch probabilities are propagated
// along the ViT's own patch-to-patch attention, first through a vote mask over all blocks,
// then, per class, only from the patches inside that class's boxes.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace tagclip {

struct DmarOptions {
  // Blocks (0-based, resolved: no negative indices) whose attention maps are averaged.
  std::vector<int64_t> refinement_blocks;
  // An entry survives the vote when it is above its block's mean in at least this many
  // blocks (0 keeps every entry).
  int64_t vote_count = 4;
  // The reference clips a box's far corner to (width - 1, height - 1), so the last patch
  // row and column never enter a box; false keeps the full bounding rectangle.
  bool clip_box_ends = true;
};

// patch_attention: one [N, N] patch-to-patch map per block (class token dropped), all blocks
// of the tower. Returns bool [N, N]: entries above their block's mean in >= vote_count blocks.
at::Tensor vote_mask(const std::vector<at::Tensor>& patch_attention, int64_t vote_count);

// What DMAR needs of the attention, gathered one block at a time while the ViT runs, so that
// memory holds two [N, N] maps whatever the depth instead of one per block (a 640x480 image
// under ViT-B/16 has N = 1200; a 4000x3000 one would have N = 47,000, 8.8 GB per map):
//   votes: uint8 [N, N], the number of blocks whose entry lies above that block's mean;
//   refinement sum: float32 [N, N], the sum of the refinement blocks' maps.
// Gives the same vote mask and, up to float rounding of the mean, the same refinement
// attention as vote_mask() and refinement_attention() on the kept maps (tests/test_dmar.cpp).
class AttentionVotes {
 public:
  // refinement_blocks: 0-based, resolved. Throws UsageError when empty.
  explicit AttentionVotes(std::vector<int64_t> refinement_blocks);

  // patch_attention: [N, N] of block `block`, or [B, N, N] for a batch of images of one
  // size (each image's map votes with its own mean), any dtype and device; each block
  // once. Throws UsageError for a repeated block or a map whose shape differs from the first.
  // The results below then carry the same leading batch dimension.
  void add(int64_t block, const at::Tensor& patch_attention);

  int64_t blocks_added() const { return static_cast<int64_t>(added_.size()); }

  // bool [N, N]: entries above their block's mean in >= vote_count of the added blocks.
  at::Tensor vote_mask(int64_t vote_count) const;

  // float32 [N, N]: the mean of the refinement blocks' maps, zeroed where
  // vote_mask(vote_count) is false. Throws UsageError unless every refinement block was added.
  at::Tensor refinement_attention(int64_t vote_count) const;

 private:
  std::vector<int64_t> refinement_blocks_;
  std::vector<int64_t> added_;  // blocks seen, in order
  at::Tensor votes_;            // uint8 [N, N]
  at::Tensor refinement_sum_;   // float32 [N, N]
  int64_t refinement_added_ = 0;
};

// The attention DMAR propagates with: the mean of the refinement blocks' maps, zeroed where
// the vote mask is false. Returns float32 [N, N].
at::Tensor refinement_attention(const std::vector<at::Tensor>& patch_attention,
                                const std::vector<int64_t>& refinement_blocks,
                                const at::Tensor& vote_mask);

// The box mask of one class map, the reference's scoremap2bbox on a grid:
//   column: [grid_h * grid_w] scores of one class, row-major;
// min-max normalised, scaled by 255 and truncated to uint8, binarised above
// int(mean * max) (the mean of the normalised values, the max of the uint8 image), external
// contours' bounding rectangles filled as [y0, y1) x [x0, x1), the far corner clipped to
// (grid_w - 1, grid_h - 1) when clip_box_ends. No contour, or a constant column (where the
// reference would fail on a NaN threshold), gives an empty mask.
// Returns float32 [grid_h, grid_w] of 0 and 1 on the CPU.
at::Tensor class_box_mask(const at::Tensor& column, int64_t grid_h, int64_t grid_w,
                          bool clip_box_ends);

// First refinement R1 = A C.  attention: [N, N]; coarse: [N, K]. Returns [N, K].
// Every refinement below also takes a leading batch dimension on all its tensors
// ([B, N, N], [B, N, K]), image b's result being what it alone would give.
at::Tensor first_refinement(const at::Tensor& attention, const at::Tensor& coarse);

// Second refinement: for every class k with max(R1[:, k]) > 0, R[:, k] = A diag(B_k) C[:, k]
// with B_k = class_box_mask(R1[:, k]) flattened; other classes keep R1[:, k].
// attention: [N, N]; coarse, first: [N, K]. Returns float32 [N, K].
at::Tensor second_refinement(const at::Tensor& attention, const at::Tensor& coarse,
                             const at::Tensor& first, int64_t grid_h, int64_t grid_w,
                             bool clip_box_ends);

// Per-class local scores: the max over patches of refined[:, k] for the first
// num_foreground classes. refined: [N, K] (or [B, N, K]). Returns float32 [num_foreground]
// (or [B, num_foreground]).
at::Tensor local_scores(const at::Tensor& refined, int64_t num_foreground);

struct DmarResult {
  at::Tensor refined;       // [N, K] float32, R after both refinements ([B, N, K] batched)
  at::Tensor local_scores;  // [K_fg] float32 ([B, K_fg] batched)
};

// The whole stage. patch_attention: every block's [N, N] map; coarse: [N, K].
DmarResult dmar_refine(const std::vector<at::Tensor>& patch_attention, const at::Tensor& coarse,
                       int64_t grid_h, int64_t grid_w, int64_t num_foreground,
                       const DmarOptions& options);

// The same from attention gathered during the forward pass (every block added to `votes`,
// whose refinement blocks are options.refinement_blocks).
DmarResult dmar_refine(const AttentionVotes& votes, const at::Tensor& coarse, int64_t grid_h,
                       int64_t grid_w, int64_t num_foreground, const DmarOptions& options);

}  // namespace tagclip
