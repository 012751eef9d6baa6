#include "tagclip/pipeline/dmar.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// [L, N, N] float32 from the per-block maps, checking they agree in shape.
at::Tensor stack_blocks(const std::vector<at::Tensor>& patch_attention) {
  if (patch_attention.empty()) throw ShapeError("DMAR needs the attention of at least one block");
  const auto sizes = patch_attention.front().sizes();
  for (const at::Tensor& map : patch_attention)
    if (map.dim() != 2 || map.size(0) != map.size(1) || map.sizes() != sizes)
      throw ShapeError("DMAR: every block's patch attention must be the same [N, N], got " +
                       c10::str(map.sizes()));
  return at::stack(patch_attention, 0).to(at::kFloat);
}

void check_grid(int64_t rows, int64_t grid_h, int64_t grid_w, const char* what) {
  if (grid_h <= 0 || grid_w <= 0 || rows != grid_h * grid_w)
    throw ShapeError(std::string(what) + ": " + std::to_string(rows) + " patches do not form a " +
                     std::to_string(grid_h) + "x" + std::to_string(grid_w) + " grid");
}

}  // namespace

at::Tensor vote_mask(const std::vector<at::Tensor>& patch_attention, int64_t vote_count) {
  const at::Tensor maps = stack_blocks(patch_attention);  // [L, N, N]
  const int64_t blocks = maps.size(0);
  // Each block votes with its own mean over all N * N entries.
  const at::Tensor block_mean = maps.reshape({blocks, -1}).mean(-1).view({blocks, 1, 1});
  const at::Tensor votes = (maps > block_mean).to(at::kFloat).sum(0);  // [N, N]
  return votes >= static_cast<double>(vote_count);
}

AttentionVotes::AttentionVotes(std::vector<int64_t> refinement_blocks)
    : refinement_blocks_(std::move(refinement_blocks)) {
  if (refinement_blocks_.empty()) throw UsageError("DMAR needs at least one refinement block");
}

void AttentionVotes::add(int64_t block, const at::Tensor& patch_attention) {
  if (patch_attention.dim() < 2 || patch_attention.dim() > 3 ||
      patch_attention.size(-2) != patch_attention.size(-1) ||
      (votes_.defined() && patch_attention.sizes() != votes_.sizes()))
    throw ShapeError(
        "DMAR: every block's patch attention must be the same [N, N] or [B, N, N], got " +
        c10::str(patch_attention.sizes()));
  if (std::find(added_.begin(), added_.end(), block) != added_.end())
    throw ShapeError("DMAR: the attention of block " + std::to_string(block) + " came twice");
  if (added_.size() >= 255) throw UsageError("DMAR counts the votes of at most 255 blocks");
  const at::Tensor map = patch_attention.to(at::kFloat);
  // Each block votes with its own mean over all N * N entries of each image's map.
  const at::Tensor above = map > map.mean({-2, -1}, /*keepdim=*/true);
  if (!votes_.defined()) votes_ = at::zeros(map.sizes(), map.options().dtype(at::kByte));
  votes_.add_(above);
  if (std::find(refinement_blocks_.begin(), refinement_blocks_.end(), block) !=
      refinement_blocks_.end()) {
    if (refinement_sum_.defined())
      refinement_sum_.add_(map);
    else
      refinement_sum_ = map.clone();
    ++refinement_added_;
  }
  added_.push_back(block);
}

at::Tensor AttentionVotes::vote_mask(int64_t vote_count) const {
  if (!votes_.defined()) throw ShapeError("DMAR needs the attention of at least one block");
  return votes_ >= vote_count;
}

at::Tensor AttentionVotes::refinement_attention(int64_t vote_count) const {
  if (refinement_added_ != static_cast<int64_t>(refinement_blocks_.size()))
    throw ShapeError("DMAR: " + std::to_string(refinement_added_) + " of the " +
                     std::to_string(refinement_blocks_.size()) +
                     " refinement blocks' attention arrived");
  return (refinement_sum_ / static_cast<double>(refinement_added_)) *
         vote_mask(vote_count).to(at::kFloat);
}

at::Tensor refinement_attention(const std::vector<at::Tensor>& patch_attention,
                                const std::vector<int64_t>& refinement_blocks,
                                const at::Tensor& vote_mask) {
  if (refinement_blocks.empty()) throw UsageError("DMAR needs at least one refinement block");
  std::vector<at::Tensor> chosen;
  for (int64_t block : refinement_blocks) {
    if (block < 0 || block >= static_cast<int64_t>(patch_attention.size()))
      throw UsageError("refinement block " + std::to_string(block) + " out of range 0.." +
                       std::to_string(patch_attention.size() - 1));
    chosen.push_back(patch_attention[block]);
  }
  const at::Tensor mean = stack_blocks(chosen).mean(0);  // [N, N]
  if (vote_mask.sizes() != mean.sizes())
    throw ShapeError("vote mask " + c10::str(vote_mask.sizes()) + " does not match attention " +
                     c10::str(mean.sizes()));
  return mean * vote_mask.to(mean.options());
}

namespace {

// scoremap2bbox for many class maps at once. The arithmetic (min-max normalisation, the
// uint8 image, the threshold) runs as whole-tensor operations, the contours per map in
// OpenCV; a VOC-sized batch has thousands of maps, and a dozen small tensor operations
// each would cost more CPU time than the GPU spends on the images.
//   columns: [M, N] float32 on the CPU, one class map per row (N = grid_h * grid_w);
//   wanted: [M] bool, the rows to box (others stay empty).
// Returns float32 [M, N] of 0 and 1: row m is the box mask of row m.
at::Tensor box_masks(const at::Tensor& columns, const at::Tensor& wanted, int64_t grid_h,
                     int64_t grid_w, bool clip_box_ends) {
  at::Tensor boxes = at::zeros(columns.sizes(), at::kFloat);
  if (columns.size(0) == 0) return boxes;
  const at::Tensor shifted = columns - columns.amin(-1, /*keepdim=*/true);
  const at::Tensor peak = shifted.amax(-1, /*keepdim=*/true);  // [M, 1]
  // A constant row (peak 0) normalises to NaN; it is skipped below, as the reference would
  // fail on it.
  const at::Tensor scores = shifted / peak;
  // float32 * 255 truncated to uint8 and a float32 threshold truncated to int, as numpy
  // and torch compute them in the reference.
  const at::Tensor image8 = (scores * 255).to(at::kByte).contiguous();  // [M, N]
  const at::Tensor threshold =
      (scores.mean(-1) * image8.amax(-1).to(at::kFloat)).contiguous();  // [M]
  const at::Tensor usable = at::logical_and(wanted, peak.squeeze(1) > 0).contiguous();
  const bool* use = usable.data_ptr<bool>();
  const float* thresholds = threshold.data_ptr<float>();
  float* out = boxes.data_ptr<float>();
  for (int64_t m = 0; m < columns.size(0); ++m) {
    if (!use[m]) continue;
    const cv::Mat gray(static_cast<int>(grid_h), static_cast<int>(grid_w), CV_8UC1,
                       image8.data_ptr<uint8_t>() + m * grid_h * grid_w);
    cv::Mat binary;
    cv::threshold(gray, binary, static_cast<int>(thresholds[m]), 255, cv::THRESH_BINARY);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(binary, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    float* box = out + m * grid_h * grid_w;
    for (const auto& contour : contours) {
      const cv::Rect rect = cv::boundingRect(contour);
      int64_t x1 = rect.x + rect.width, y1 = rect.y + rect.height;
      if (clip_box_ends) {
        x1 = std::min<int64_t>(x1, grid_w - 1);
        y1 = std::min<int64_t>(y1, grid_h - 1);
      }
      for (int64_t y = rect.y; y < y1; ++y)
        std::fill(box + y * grid_w + rect.x, box + y * grid_w + std::max<int64_t>(x1, rect.x),
                  1.0f);
    }
  }
  return boxes;
}

}  // namespace

at::Tensor class_box_mask(const at::Tensor& column, int64_t grid_h, int64_t grid_w,
                          bool clip_box_ends) {
  check_grid(column.numel(), grid_h, grid_w, "class_box_mask");
  const at::Tensor row = column.to(at::kCPU, at::kFloat).reshape({1, -1});
  return box_masks(row, at::ones({1}, at::kBool), grid_h, grid_w, clip_box_ends)
      .reshape({grid_h, grid_w});
}

at::Tensor first_refinement(const at::Tensor& attention, const at::Tensor& coarse) {
  if (attention.dim() < 2 || attention.dim() > 3 || coarse.dim() != attention.dim() ||
      attention.size(-1) != coarse.size(-2) ||
      (attention.dim() == 3 && attention.size(0) != coarse.size(0)))
    throw ShapeError(
        "first_refinement: attention [N, N] and coarse [N, K] (or [B, N, N] and [B, N, K]) "
        "expected, got " +
        c10::str(attention.sizes()) + " and " + c10::str(coarse.sizes()));
  return at::matmul(attention.to(at::kFloat), coarse.to(at::kFloat));
}

at::Tensor second_refinement(const at::Tensor& attention, const at::Tensor& coarse,
                             const at::Tensor& first, int64_t grid_h, int64_t grid_w,
                             bool clip_box_ends) {
  if (first.sizes() != coarse.sizes() || attention.dim() != coarse.dim() ||
      attention.dim() < 2 || attention.dim() > 3 || attention.size(-1) != coarse.size(-2))
    throw ShapeError(
        "second_refinement: attention [N, N], coarse and first [N, K] (or all with a leading "
        "batch) expected");
  check_grid(first.size(-2), grid_h, grid_w, "second_refinement");
  const bool batched = first.dim() == 3;
  // [B, N, K] in one copy: the boxes are found on the CPU (OpenCV's contours).
  const at::Tensor first_cpu = (batched ? first : first.unsqueeze(0)).to(at::kCPU, at::kFloat);
  const at::Tensor positive = first_cpu.amax(1) > 0;  // [B, K]: the reference's candidates
  // Every image's and class's box at once: rows [B * K, N], then back to [B, N, K].
  const int64_t images = first_cpu.size(0), classes = first_cpu.size(2);
  const at::Tensor rows = first_cpu.transpose(1, 2).reshape({images * classes, -1});
  at::Tensor box_mask =
      box_masks(rows, positive.reshape({-1}), grid_h, grid_w, clip_box_ends)
          .view({images, classes, -1})
          .transpose(1, 2)
          .to(first.device());  // [B, N, K]
  at::Tensor keep_refined = positive.to(first.device()).unsqueeze(1);  // [B, 1, K]
  if (!batched) {
    box_mask = box_mask[0];
    keep_refined = keep_refined[0];
  }
  // A diag(B_k) C[:, k] for all k at once: masking the columns of A is masking C's rows.
  const at::Tensor refined = at::matmul(attention.to(at::kFloat), box_mask * coarse.to(at::kFloat));
  return at::where(keep_refined, refined, first.to(at::kFloat));
}

at::Tensor local_scores(const at::Tensor& refined, int64_t num_foreground) {
  if (refined.dim() < 2 || refined.dim() > 3 || num_foreground < 1 ||
      num_foreground > refined.size(-1))
    throw ShapeError("local_scores: refined [N, K] or [B, N, K] with K >= " +
                     std::to_string(num_foreground) + " expected, got " +
                     c10::str(refined.sizes()));
  return std::get<0>(refined.slice(-1, 0, num_foreground).max(-2)).to(at::kFloat);
}

namespace {

DmarResult refine_with(const at::Tensor& attention, const at::Tensor& coarse, int64_t grid_h,
                       int64_t grid_w, int64_t num_foreground, const DmarOptions& options) {
  const at::Tensor first = first_refinement(attention, coarse);
  DmarResult result;
  result.refined =
      second_refinement(attention, coarse, first, grid_h, grid_w, options.clip_box_ends);
  result.local_scores = local_scores(result.refined, num_foreground);
  return result;
}

}  // namespace

DmarResult dmar_refine(const std::vector<at::Tensor>& patch_attention, const at::Tensor& coarse,
                       int64_t grid_h, int64_t grid_w, int64_t num_foreground,
                       const DmarOptions& options) {
  const at::Tensor votes = vote_mask(patch_attention, options.vote_count);
  const at::Tensor attention =
      refinement_attention(patch_attention, options.refinement_blocks, votes);
  return refine_with(attention, coarse, grid_h, grid_w, num_foreground, options);
}

DmarResult dmar_refine(const AttentionVotes& votes, const at::Tensor& coarse, int64_t grid_h,
                       int64_t grid_w, int64_t num_foreground, const DmarOptions& options) {
  return refine_with(votes.refinement_attention(options.vote_count), coarse, grid_h, grid_w,
                     num_foreground, options);
}

}  // namespace tagclip
