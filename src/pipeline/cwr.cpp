#include "tagclip/pipeline/cwr.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tagclip/errors.h"
#include "tagclip/pipeline/coarse_classification.h"

namespace tagclip {
namespace {

using at::indexing::Slice;

// One candidate ready to encode: its crop [1, 3, R, R] and class-token mask [T, T].
struct PreparedCandidate {
  size_t image = 0;  // index in the batch
  int64_t cls = 0;
  at::Tensor crop;
  at::Tensor mask;
};

// First and one-past-last index where `any` ([n] bool) is true; {0, 0} when none is.
std::pair<int64_t, int64_t> true_span(const at::Tensor& any) {
  const at::Tensor where = at::nonzero(any).flatten();
  if (where.numel() == 0) return {0, 0};
  return {where[0].item<int64_t>(), where[-1].item<int64_t>() + 1};
}

// Global scores of `cls` for each crop: softmax over all classes of the class token.
// Returns one float per entry of `batch`.
std::vector<float> global_scores(const ClipModel& model,
                                 const std::vector<PreparedCandidate>& batch,
                                 const at::Tensor& text_embeddings) {
  std::vector<at::Tensor> crops, masks;
  for (const PreparedCandidate& c : batch) {
    crops.push_back(c.crop);
    masks.push_back(c.mask);
  }
  VisionForwardOptions forward;
  // [T, T] for one crop, [B, T, T] for several; the same mask in every block and no
  // self-only mask, as the reference's CWR forward.
  const at::Tensor mask =
      (batch.size() == 1 ? masks.front() : at::stack(masks, 0)).to(model.device());
  forward.block_masks.assign(model.architecture().vision_layers, mask);
  forward.class_token_only = true;  // only the class token is scored
  const at::Tensor tokens = model.vision().forward(at::cat(crops, 0), forward).tokens;  // [B,T,E]
  const at::Tensor probabilities =
      class_probabilities(tokens.select(1, 0), text_embeddings, model.logit_scale())
          .to(at::kCPU);  // [B, K]
  std::vector<float> out;
  for (size_t i = 0; i < batch.size(); ++i)
    out.push_back(probabilities[static_cast<int64_t>(i)][batch[i].cls].item<float>());
  return out;
}

}  // namespace

std::vector<std::vector<int64_t>> cwr_candidates_batch(const at::Tensor& refined,
                                                        const at::Tensor& local, double ratio) {
  if (refined.dim() != 3 || local.dim() != 2 || local.size(0) != refined.size(0) ||
      local.size(1) > refined.size(2))
    throw ShapeError("cwr_candidates: refined [B, N, K] and local [B, K_fg] expected, got " +
                     c10::str(refined.sizes()) + " and " + c10::str(local.sizes()));
  const at::Tensor r = refined.to(at::kFloat);
  const at::Tensor lowest = r.amin({1, 2}), highest = r.amax({1, 2});  // [B]
  // float32 throughout, like the reference's tensor arithmetic.
  const at::Tensor threshold = lowest + (highest - lowest) * ratio;
  // [B, K_fg] in one copy to the CPU.
  const at::Tensor passed =
      (local.to(at::kFloat) > threshold.unsqueeze(1)).to(at::kCPU).contiguous();
  const auto access = passed.accessor<bool, 2>();
  std::vector<std::vector<int64_t>> out(passed.size(0));
  for (int64_t b = 0; b < passed.size(0); ++b)
    for (int64_t k = 0; k < passed.size(1); ++k)
      if (access[b][k]) out[b].push_back(k);
  return out;
}

std::vector<int64_t> cwr_candidates(const at::Tensor& refined, const at::Tensor& local,
                                    double ratio) {
  if (refined.dim() != 2 || local.dim() != 1 || local.size(0) > refined.size(1))
    throw ShapeError("cwr_candidates: refined [N, K] and local [K_fg] expected, got " +
                     c10::str(refined.sizes()) + " and " + c10::str(local.sizes()));
  return cwr_candidates_batch(refined.unsqueeze(0), local.unsqueeze(0), ratio).front();
}

CandidateRegion candidate_region(const at::Tensor& column, int64_t grid_h, int64_t grid_w,
                                 bool clip_box_ends) {
  if (grid_h <= 0 || grid_w <= 0 || column.numel() != grid_h * grid_w)
    throw ShapeError("candidate_region: " + std::to_string(column.numel()) +
                     " scores do not form a " + std::to_string(grid_h) + "x" +
                     std::to_string(grid_w) + " grid");
  at::Tensor scores = column.to(at::kCPU, at::kFloat).reshape({-1});
  scores = scores - scores.min();
  scores = scores / scores.max();
  CandidateRegion region;
  region.inside = (scores > 0.5).reshape({grid_h, grid_w});
  std::tie(region.box.x0, region.box.x1) = true_span(region.inside.any(0));
  std::tie(region.box.y0, region.box.y1) = true_span(region.inside.any(1));
  if (clip_box_ends) {
    region.box.y1 = std::min(region.box.y1, grid_h - 1);
    region.box.x1 = std::min(region.box.x1, grid_w - 1);
  }
  return region;
}

at::Tensor nearest_resize_mask(const at::Tensor& mask, int64_t out_h, int64_t out_w) {
  if (mask.dim() != 2 || mask.numel() == 0)
    throw ShapeError("nearest_resize_mask: non-empty [h, w] mask expected, got " +
                     c10::str(mask.sizes()));
  const at::Tensor as_image = mask.to(at::kFloat).unsqueeze(0).unsqueeze(0);  // [1, 1, h, w]
  return at::upsample_nearest2d(as_image, {out_h, out_w})[0][0] > 0.5;
}

at::Tensor class_token_mask(const at::Tensor& keep, double penalty) {
  const int64_t patches = keep.numel();
  at::Tensor mask = at::zeros({1 + patches, 1 + patches}, at::kFloat);
  const at::Tensor hidden = at::logical_not(keep.to(at::kCPU, at::kBool).reshape({-1}));
  mask.index_put_({0, Slice(1, at::indexing::None)},
                  at::where(hidden, at::full({}, penalty, at::kFloat), at::zeros({}, at::kFloat)));
  return mask;
}

at::Tensor crop_to_box(const at::Tensor& image, const PatchBox& box, int64_t patch_size,
                       int64_t resolution) {
  if (box.empty()) throw ShapeError("crop_to_box: empty box");
  const at::Tensor crop =
      image.index({Slice(), Slice(), Slice(box.y0 * patch_size, box.y1 * patch_size),
                   Slice(box.x0 * patch_size, box.x1 * patch_size)});
  return at::upsample_bilinear2d(crop, {resolution, resolution}, /*align_corners=*/false);
}

std::vector<CwrResult> cwr_rescore_batch(const ClipModel& model, const at::Tensor& images,
                                         const at::Tensor& text_embeddings,
                                         const at::Tensor& refined, const at::Tensor& local,
                                         const CwrOptions& options) {
  const ClipArchitecture& arch = model.architecture();
  const int64_t patch = arch.patch_size;
  if (images.dim() != 4 || images.size(0) < 1 || images.size(2) % patch != 0 ||
      images.size(3) % patch != 0)
    throw ShapeError("cwr_rescore: images [B, 3, H, W] with H, W multiples of " +
                     std::to_string(patch) + " expected, got " + c10::str(images.sizes()));
  const int64_t count = images.size(0);
  const int64_t grid_h = images.size(2) / patch, grid_w = images.size(3) / patch;
  if (refined.dim() != 3 || refined.size(0) != count || refined.size(1) != grid_h * grid_w ||
      refined.size(2) != text_embeddings.size(0))
    throw ShapeError("cwr_rescore: refined must be [" + std::to_string(count) + ", " +
                     std::to_string(grid_h * grid_w) + ", " +
                     std::to_string(text_embeddings.size(0)) + "], got " +
                     c10::str(refined.sizes()));
  if (local.dim() != 2 || local.size(0) != count)
    throw ShapeError("cwr_rescore: local must be [" + std::to_string(count) + ", K_fg], got " +
                     c10::str(local.sizes()));
  if (options.max_batch < 1) throw UsageError("cwr_rescore: max_batch must be at least 1");

  const std::vector<std::vector<int64_t>> candidates =
      cwr_candidates_batch(refined, local, options.candidate_ratio);
  const at::Tensor refined_cpu = refined.to(at::kCPU, at::kFloat);  // [B, N, K], one copy
  const at::Tensor local_cpu = local.to(at::kCPU, at::kFloat);      // [B, K_fg]
  const at::Tensor images_on_device = images.to(model.device());

  // Regions are decided up front in candidate order; the reference's early stop only
  // depends on them, so encoding the kept ones together, across the images of the batch,
  // gives the same scores.
  std::vector<CwrResult> results(static_cast<size_t>(count));
  std::vector<PreparedCandidate> prepared;
  for (int64_t b = 0; b < count; ++b) {
    CwrResult& result = results[static_cast<size_t>(b)];
    result.scores = local_cpu[b].clone();
    result.candidates = candidates[static_cast<size_t>(b)];
    const at::Tensor image = images_on_device.slice(0, b, b + 1);  // [1, 3, H, W]
    for (int64_t cls : result.candidates) {
      const CandidateRegion region =
          candidate_region(refined_cpu[b].select(1, cls), grid_h, grid_w, options.clip_box_ends);
      if (region.box.empty()) {
        if (options.early_stop) {
          result.stopped_early = true;
          break;
        }
        continue;
      }
      const at::Tensor kept_patches =
          nearest_resize_mask(region.inside.index({Slice(region.box.y0, region.box.y1),
                                                   Slice(region.box.x0, region.box.x1)}),
                              arch.grid_size, arch.grid_size);
      prepared.push_back({static_cast<size_t>(b), cls,
                          crop_to_box(image, region.box, patch, arch.input_resolution),
                          class_token_mask(kept_patches, options.class_token_penalty)});
      result.rescored.push_back(cls);
    }
  }

  const size_t batch = options.batched ? static_cast<size_t>(options.max_batch) : 1;
  const float local_weight = static_cast<float>(options.local_weight);
  const float global_weight = static_cast<float>(1.0 - options.local_weight);
  for (size_t start = 0; start < prepared.size(); start += batch) {
    const std::vector<PreparedCandidate> chunk(
        prepared.begin() + start, prepared.begin() + std::min(prepared.size(), start + batch));
    const std::vector<float> global = global_scores(model, chunk, text_embeddings);
    for (size_t i = 0; i < chunk.size(); ++i) {
      auto scores = results[chunk[i].image].scores.accessor<float, 1>();
      scores[chunk[i].cls] = local_weight * scores[chunk[i].cls] + global_weight * global[i];
    }
  }
  return results;
}

CwrResult cwr_rescore(const ClipModel& model, const at::Tensor& image,
                      const at::Tensor& text_embeddings, const at::Tensor& refined,
                      const at::Tensor& local, const CwrOptions& options) {
  const int64_t patch = model.architecture().patch_size;
  if (image.dim() != 4 || image.size(0) != 1 || image.size(2) % patch != 0 ||
      image.size(3) % patch != 0)
    throw ShapeError("cwr_rescore: image [1, 3, H, W] with H, W multiples of " +
                     std::to_string(patch) + " expected, got " + c10::str(image.sizes()));
  if (refined.dim() != 2)
    throw ShapeError("cwr_rescore: refined must be [N, K], got " + c10::str(refined.sizes()));
  return cwr_rescore_batch(model, image, text_embeddings, refined.unsqueeze(0),
                           local.unsqueeze(0), options)
      .front();
}

}  // namespace tagclip
