#include "tagclip/pipeline/tagclip_pipeline.h"

#include <cmath>
#include <set>
#include <sstream>

#include "tagclip/core/stage_profile.h"
#include "tagclip/errors.h"
#include "tagclip/pipeline/coarse_classification.h"
#include "tagclip/pipeline/cwr.h"
#include "tagclip/pipeline/dmar.h"
#include "tagclip/pipeline/labels.h"

namespace tagclip {
namespace {

int64_t resolve_block(int64_t block, int64_t layers) { return block < 0 ? layers + block : block; }

void check_ratio(double value, const char* name) {
  if (!(value >= 0.0 && value <= 1.0))
    throw OptionError(name, std::to_string(value) + " is outside [0, 1]");
}

// [N, K_fg] patch scores -> [K_fg, grid_h, grid_w] on the CPU, for visualisation.
at::Tensor as_patch_maps(const at::Tensor& patch_scores, int64_t num_foreground, int64_t grid_h,
                         int64_t grid_w) {
  return patch_scores.slice(1, 0, num_foreground)
      .t()
      .reshape({num_foreground, grid_h, grid_w})
      .to(at::kCPU, at::kFloat)
      .contiguous();
}

}  // namespace

std::string to_string(TagclipMethod method) {
  switch (method) {
    case TagclipMethod::kGlobal:
      return "global";
    case TagclipMethod::kCoarse:
      return "coarse";
    case TagclipMethod::kDmar:
      return "dmar";
    case TagclipMethod::kTagclip:
      return "tagclip";
  }
  return "unknown";
}

TagclipMethod parse_tagclip_method(const std::string& name) {
  for (TagclipMethod m : {TagclipMethod::kGlobal, TagclipMethod::kCoarse, TagclipMethod::kDmar,
                          TagclipMethod::kTagclip})
    if (to_string(m) == name) return m;
  throw UsageError("unknown method '" + name + "' (expected global, coarse, dmar or tagclip)");
}

void TagclipOptions::validate(int64_t vision_layers) const {
  if (vision_layers < 1) throw UsageError("the vision tower has no blocks");
  if (refinement_blocks.empty()) throw UsageError("refinement_blocks must name at least one block");
  std::set<int64_t> seen;
  for (int64_t block : refinement_blocks) {
    const int64_t resolved = resolve_block(block, vision_layers);
    if (resolved < 0 || resolved >= vision_layers)
      throw UsageError("refinement block " + std::to_string(block) + " is out of range for " +
                       std::to_string(vision_layers) + " blocks (0.." +
                       std::to_string(vision_layers - 1) + ", or -" +
                       std::to_string(vision_layers) + "..-1 from the end)");
    if (!seen.insert(resolved).second)
      throw UsageError("refinement block " + std::to_string(block) + " is given twice");
  }
  if (vote_count && *vote_count < 0)
    throw OptionError("vote_count", std::to_string(*vote_count) + " is negative");
  if (vote_count && *vote_count > vision_layers)
    throw OptionError("vote_count", std::to_string(*vote_count) + " is more than the " +
                                        std::to_string(vision_layers) + " blocks of this model");
  check_ratio(candidate_ratio, "candidate_ratio");
  check_ratio(label_ratio, "label_ratio");
  if (!std::isfinite(self_only_penalty) || self_only_penalty > 0.0)
    throw UsageError("self_only_penalty must be finite and <= 0, got " +
                     std::to_string(self_only_penalty));
  if (cwr_max_batch < 1)
    throw UsageError("cwr_max_batch must be at least 1, got " + std::to_string(cwr_max_batch));
}

int TagclipOptions::min_grid_side() const {
  const bool uses_dmar = method == TagclipMethod::kDmar || method == TagclipMethod::kTagclip;
  return uses_dmar && clip_box_ends ? 2 : 1;
}

std::string TagclipOptions::to_string() const {
  std::ostringstream os;
  os << "TagclipOptions(method=" << tagclip::to_string(method) << ", refinement_blocks=[";
  for (size_t i = 0; i < refinement_blocks.size(); ++i)
    os << (i ? "," : "") << refinement_blocks[i];
  os << "], vote_count=" << (vote_count ? std::to_string(*vote_count) : "auto")
     << ", candidate_ratio=" << candidate_ratio << ", label_ratio=" << label_ratio
     << ", self_only_penalty=" << self_only_penalty << std::boolalpha
     << ", self_only_last_block=" << self_only_last_block
     << ", round_resized_positional_to_fp16=" << round_resized_positional_to_fp16
     << ", clip_box_ends=" << clip_box_ends << ", cwr_early_stop=" << cwr_early_stop
     << ", batched_cwr=" << batched_cwr << ", cwr_max_batch=" << cwr_max_batch
     << ", keep_patch_maps=" << keep_patch_maps << ")";
  return os.str();
}

TagclipOptions cocostuff_options(int64_t vision_layers) {
  TagclipOptions options;
  options.refinement_blocks.clear();
  for (int64_t i = 0; i + 1 < vision_layers; ++i) options.refinement_blocks.push_back(i);
  options.candidate_ratio = 0.1;
  options.label_ratio = 0.1;
  return options;
}

TagclipPipeline::TagclipPipeline(std::shared_ptr<const ClipModel> model,
                                 const at::Tensor& text_embeddings, int64_t num_foreground,
                                 TagclipOptions options)
    : model_(std::move(model)), num_foreground_(num_foreground), options_(std::move(options)) {
  if (!model_) throw UsageError("TagclipPipeline needs a model");
  const ClipArchitecture& arch = model_->architecture();
  if (text_embeddings.dim() != 2 || text_embeddings.size(1) != arch.embed_dim)
    throw ShapeError("text embeddings must be [K, " + std::to_string(arch.embed_dim) + "], got " +
                     c10::str(text_embeddings.sizes()));
  if (num_foreground < 1 || num_foreground > text_embeddings.size(0))
    throw ShapeError("num_foreground must lie in 1.." + std::to_string(text_embeddings.size(0)) +
                     ", got " + std::to_string(num_foreground));
  options_.validate(arch.vision_layers);
  const at::InferenceMode guard;
  const at::Tensor text = text_embeddings.to(model_->device(), at::kFloat);
  text_embeddings_ = text / text.norm(2, -1, /*keepdim=*/true);
  for (int64_t block : options_.refinement_blocks)
    refinement_blocks_.push_back(resolve_block(block, arch.vision_layers));
  vote_count_ = options_.vote_count ? *options_.vote_count
                                    : std::lround(static_cast<double>(arch.vision_layers) / 3.0);
}

TagResult TagclipPipeline::run(const at::Tensor& image) const {
  if (image.dim() != 4 || image.size(0) != 1)
    throw ShapeError("the pipeline takes one normalised image [1, 3, H, W], got " +
                     c10::str(image.sizes()));
  return run_batch(image).front();
}

std::vector<TagResult> TagclipPipeline::run_batch(const at::Tensor& images) const {
  const ClipArchitecture& arch = model_->architecture();
  const int64_t patch = arch.patch_size;
  if (images.dim() != 4 || images.size(0) < 1 || images.size(1) != 3 || images.size(2) == 0 ||
      images.size(3) == 0 || images.size(2) % patch != 0 || images.size(3) % patch != 0)
    throw ShapeError(
        "the pipeline takes normalised images [B, 3, H, W] with H and W multiples of " +
        std::to_string(patch) + ", got " + c10::str(images.sizes()));
  const at::InferenceMode guard;
  if (options_.method == TagclipMethod::kGlobal) return run_global(images);

  const int64_t count = images.size(0);
  const int64_t grid_h = images.size(2) / patch, grid_w = images.size(3) / patch;
  const bool needs_attention = options_.method != TagclipMethod::kCoarse;
  const at::Tensor input = images.to(model_->device());

  // 1. One pass at full resolution. Each block's attention, without its mask, goes into
  // DMAR's votes as soon as it is computed: its [B, N, N] patch part (class token dropped).
  VisionForwardOptions forward;
  forward.self_only_last_block = options_.self_only_last_block;
  forward.self_only_penalty = options_.self_only_penalty;
  forward.round_resized_positional_to_fp16 = options_.round_resized_positional_to_fp16;
  AttentionVotes votes(refinement_blocks_);
  if (needs_attention)
    forward.attention_observer = [&votes](int64_t block, const at::Tensor& attention) {
      const StageTimer timer("dmar votes");
      votes.add(block, attention.slice(1, 1).slice(2, 1));
    };
  const VisionOutput encoded = model_->vision().forward(input, forward);

  // 2. Coarse patch classification C [B, N, K].
  StageTimer coarse_timer("coarse patch scores");
  const at::Tensor patch_tokens = encoded.tokens.slice(1, 1);  // [B, N, E]
  const at::Tensor coarse =
      class_probabilities(patch_tokens.reshape({-1, patch_tokens.size(2)}), text_embeddings_,
                          model_->logit_scale())
          .view({count, patch_tokens.size(1), -1});
  coarse_timer.stop();

  std::vector<TagResult> results(static_cast<size_t>(count));
  at::Tensor patch_scores = coarse;  // [B, N, K], whose max over patches is the local score
  at::Tensor scores;                 // [B, K_fg]
  if (options_.method == TagclipMethod::kCoarse) {
    scores = local_scores(coarse, num_foreground_).to(at::kCPU);
  } else {
    // 3. DMAR on the patch-to-patch attention gathered above.
    DmarOptions dmar;
    dmar.refinement_blocks = refinement_blocks_;
    dmar.vote_count = vote_count_;
    dmar.clip_box_ends = options_.clip_box_ends;
    StageTimer dmar_timer("dmar refine");
    const DmarResult refined = dmar_refine(votes, coarse, grid_h, grid_w, num_foreground_, dmar);
    dmar_timer.stop();
    patch_scores = refined.refined;
    scores = refined.local_scores.to(at::kCPU);

    // 4. CWR on the candidates, the crops of the whole batch encoded together.
    if (options_.method == TagclipMethod::kTagclip) {
      CwrOptions cwr;
      cwr.candidate_ratio = options_.candidate_ratio;
      cwr.clip_box_ends = options_.clip_box_ends;
      cwr.early_stop = options_.cwr_early_stop;
      cwr.batched = options_.batched_cwr;
      cwr.max_batch = options_.cwr_max_batch * count;
      // Opaque: the crops run the same blocks, which would otherwise add to their rows.
      StageTimer cwr_timer("cwr (crops encoded and rescored)", /*opaque=*/true);
      std::vector<CwrResult> rescored = cwr_rescore_batch(
          *model_, input, text_embeddings_, refined.refined, refined.local_scores, cwr);
      for (size_t b = 0; b < results.size(); ++b) {
        results[b].scores = rescored[b].scores;
        results[b].cwr_candidates = std::move(rescored[b].candidates);
        results[b].cwr_rescored = std::move(rescored[b].rescored);
        results[b].cwr_stopped_early = rescored[b].stopped_early;
      }
    }
  }
  // 5. Labels.
  const StageTimer labels_timer("labels");
  for (size_t b = 0; b < results.size(); ++b) {
    TagResult& result = results[b];
    const int64_t index = static_cast<int64_t>(b);
    if (!result.scores.defined()) result.scores = scores[index].contiguous();
    result.labels = select_labels(result.scores, options_.label_ratio);
    if (options_.keep_patch_maps)
      result.patch_maps = as_patch_maps(patch_scores[index], num_foreground_, grid_h, grid_w);
  }
  return results;
}

std::vector<TagResult> TagclipPipeline::run_global(const at::Tensor& images) const {
  const int64_t resolution = model_->architecture().input_resolution;
  const at::Tensor resized =
      at::upsample_bilinear2d(images.to(model_->device(), at::kFloat), {resolution, resolution},
                              /*align_corners=*/false);
  VisionForwardOptions forward;
  forward.class_token_only = true;  // plain CLIP reads the class token alone
  const VisionOutput encoded = model_->vision().forward(resized, forward);
  const at::Tensor probabilities =
      class_probabilities(encoded.tokens.select(1, 0), text_embeddings_, model_->logit_scale())
          .slice(1, 0, num_foreground_)
          .to(at::kCPU);  // [B, K_fg]
  std::vector<TagResult> results(static_cast<size_t>(images.size(0)));
  for (size_t b = 0; b < results.size(); ++b) {
    results[b].scores = probabilities[static_cast<int64_t>(b)].contiguous();
    results[b].labels = select_labels(results[b].scores, options_.label_ratio);
  }
  return results;
}

}  // namespace tagclip
