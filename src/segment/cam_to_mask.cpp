#include "tagclip/segment/cam_to_mask.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// The value numpy stores after one operation on arrays of the maps' dtype.
float in_dtype(float value, bool float16) {
  return float16 ? static_cast<float>(cv::float16_t(value)) : value;
}

size_t plane_size(const ClassCams& cams) {
  return static_cast<size_t>(cams.height) * static_cast<size_t>(cams.width);
}

void check_maps(const ClassCams& cams, const std::vector<float>& maps) {
  const size_t expected = cams.keys.size() * plane_size(cams);
  if (cams.height < 0 || cams.width < 0 || maps.size() != expected)
    throw ShapeError("class maps must hold K * H * W = " + std::to_string(cams.keys.size()) +
                     " * " + std::to_string(cams.height) + " * " + std::to_string(cams.width) +
                     " values, got " + std::to_string(maps.size()));
}

// key + 1 as an 8-bit label (255 is ignore, so keys 0..253).
uint8_t label_of_key(int64_t key) {
  if (key < 0 || key > 253)
    throw ShapeError("class key " + std::to_string(key) + " does not fit an 8-bit mask (0..253)");
  return static_cast<uint8_t>(key + 1);
}

// numpy's arg max: the first maximum, and the first NaN if any.
bool beats(float candidate, float best) {
  return !std::isnan(best) && (std::isnan(candidate) || candidate > best);
}

// max over the K maps per pixel, NaN-propagating like np.max (beats lets a NaN in and never
// out); 0 for K = 0.
std::vector<float> max_over_maps(const ClassCams& cams, const std::vector<float>& maps) {
  const size_t plane = plane_size(cams), K = cams.keys.size();
  std::vector<float> best(plane, 0.0f);
  if (K == 0) return best;
  std::copy(maps.begin(), maps.begin() + static_cast<std::ptrdiff_t>(plane), best.begin());
  for (size_t k = 1; k < K; ++k) {
    const float* map = maps.data() + k * plane;
    for (size_t p = 0; p < plane; ++p)
      if (beats(map[p], best[p])) best[p] = map[p];
  }
  return best;
}

// The arg max step of eval_cam.py: maps first..K-1 in order replace `best` ([H * W], the
// running maximum) where they beat it, and their key + 1 goes into the mask.
void take_larger_maps(const ClassCams& cams, const std::vector<float>& maps, size_t first,
                      std::vector<float>& best, LabelMask& mask) {
  const size_t plane = plane_size(cams);
  for (size_t k = first; k < cams.keys.size(); ++k) {
    const uint8_t label = label_of_key(cams.keys[k]);
    const float* map = maps.data() + k * plane;
    for (size_t p = 0; p < plane; ++p)
      if (beats(map[p], best[p])) {
        best[p] = map[p];
        mask.labels[p] = label;
      }
  }
}

}  // namespace

const char* cam_kind_name(CamKind kind) {
  return kind == CamKind::kAttnHighres ? "attn_highres" : "highres";
}

const std::vector<float>& cam_maps(const ClassCams& cams, CamKind kind) {
  const std::vector<float>& maps = kind == CamKind::kAttnHighres ? cams.attn_highres : cams.highres;
  if (maps.empty() && !cams.keys.empty() && plane_size(cams) > 0)
    throw ShapeError(std::string("the CAMs hold no '") + cam_kind_name(kind) + "' maps");
  return maps;
}

std::vector<float> background_scores(const ClassCams& cams, const std::vector<float>& maps,
                                     const BackgroundScore& background) {
  check_maps(cams, maps);
  const bool half = cams.float16;
  if (background.kind == BackgroundScore::Kind::kConstant)
    return std::vector<float>(plane_size(cams),
                              in_dtype(static_cast<float>(background.value), half));
  std::vector<float> scores = max_over_maps(cams, maps);
  const float power = static_cast<float>(background.value);
  if (half && power != 1.0f) {
    // A float16 complement has at most 65536 values: each powf is computed once (the
    // sweep's ten powers over a VOC image would otherwise be ~2 million powf calls).
    std::vector<float> power_of(1 << 16);
    std::vector<bool> known(1 << 16, false);
    for (float& score : scores) {
      const cv::float16_t complement(1.0f - score);
      const uint16_t bits = complement.bits();
      if (!known[bits]) {
        power_of[bits] = in_dtype(std::pow(static_cast<float>(complement), power), true);
        known[bits] = true;
      }
      score = power_of[bits];
    }
    return scores;
  }
  for (float& score : scores) {
    // 1 - max: one numpy operation, rounded to the dtype; then np.power (powf, rounded).
    const float complement = in_dtype(1.0f - score, half);
    score = power == 1.0f ? complement : in_dtype(std::pow(complement, power), half);
  }
  return scores;
}

LabelMask mask_from_cams(const ClassCams& cams, const std::vector<float>& maps,
                         const BackgroundScore& background) {
  // Background is row 0 of the arg max: it wins every tie.
  std::vector<float> best = background_scores(cams, maps, background);
  LabelMask mask{cams.height, cams.width, std::vector<uint8_t>(plane_size(cams), 0)};
  take_larger_maps(cams, maps, 0, best, mask);
  return mask;
}

LabelMask mask_from_cams(const ClassCams& cams, double bg_power) {
  return mask_from_cams(cams, cams.attn_highres, BackgroundScore::power(bg_power));
}

LabelMask mask_from_cams_without_background(const ClassCams& cams, const std::vector<float>& maps) {
  check_maps(cams, maps);
  const size_t plane = plane_size(cams);
  if (cams.keys.empty())
    throw ShapeError("no class maps: a mask without background needs at least one");
  LabelMask mask{cams.height, cams.width, std::vector<uint8_t>(plane, label_of_key(cams.keys[0]))};
  std::vector<float> best(maps.begin(), maps.begin() + static_cast<std::ptrdiff_t>(plane));
  take_larger_maps(cams, maps, 1, best, mask);
  return mask;
}

std::vector<float> crf_probabilities(const ClassCams& cams, const std::vector<float>& maps,
                                     bool with_background) {
  check_maps(cams, maps);
  if (!with_background) return maps;
  std::vector<float> probabilities = background_scores(cams, maps, BackgroundScore::power(1));
  probabilities.insert(probabilities.end(), maps.begin(), maps.end());
  return probabilities;
}

LabelMask mask_from_channels(const ClassCams& cams, const std::vector<uint8_t>& channels,
                             bool with_background) {
  const size_t plane = plane_size(cams), K = cams.keys.size();
  if (channels.size() != plane)
    throw ShapeError("channel labels must hold H * W = " + std::to_string(plane) + " values, got " +
                     std::to_string(channels.size()));
  const size_t offset = with_background ? 1 : 0;
  std::vector<uint8_t> channel_labels(K + offset, 0);
  for (size_t k = 0; k < K; ++k) channel_labels[k + offset] = label_of_key(cams.keys[k]);
  LabelMask mask{cams.height, cams.width, std::vector<uint8_t>(plane)};
  for (size_t p = 0; p < plane; ++p) {
    if (channels[p] >= channel_labels.size())
      throw ShapeError("channel label " + std::to_string(channels[p]) +
                       " out of range: " + std::to_string(channel_labels.size()) + " channels");
    mask.labels[p] = channel_labels[channels[p]];
  }
  return mask;
}

}  // namespace tagclip
