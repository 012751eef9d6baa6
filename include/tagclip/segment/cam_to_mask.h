// From class activation maps to a label mask, exactly as the authors' eval_cam.py,
// eval_cam_cocostuff.py and eval_cam_with_crf*.py compute it on the float16 maps of a CAM
// file: a background row (1 - max_k cam)^T computed in float16 (every numpy half operation
// rounds its result to float16; np.power on float16 computes powf in float32 and rounds),
// then the arg max over [background, maps], the first maximum winning (so background wins
// ties, and a NaN, as numpy's argmax, wins over numbers).
#pragma once

#include <cstdint>
#include <vector>

#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/label_mask.h"

namespace tagclip {

// Which maps of a CAM file are scored (eval_cam.py's --cam_type).
enum class CamKind { kAttnHighres, kHighres };

// "attn_highres" or "highres".
const char* cam_kind_name(CamKind kind);

// cams.attn_highres or cams.highres ([K * H * W]). Throws ShapeError when the chosen maps
// are empty while K * H * W is not (highres not read).
const std::vector<float>& cam_maps(const ClassCams& cams, CamKind kind);

// The background row (eval_cam.py's --cam_eval_thres T).
struct BackgroundScore {
  enum class Kind {
    kPower,     // (1 - max_k cam)^value; the reference uses this for T >= 1
    kConstant,  // value at every pixel (rounded to the maps' dtype); the reference's T < 1
  };
  Kind kind = Kind::kPower;
  double value = 1.0;

  static BackgroundScore power(double t) { return {Kind::kPower, t}; }
  static BackgroundScore constant(double c) { return {Kind::kConstant, c}; }
};

// [H * W] background scores of `maps` ([K * H * W], the maps of `cams`), in float16
// arithmetic when cams.float16 (else float32, as numpy on float32 maps). With K = 0 the
// maximum of nothing is taken as 0 (numpy would raise): background 1 everywhere.
std::vector<float> background_scores(const ClassCams& cams, const std::vector<float>& maps,
                                     const BackgroundScore& background = {});

// eval_cam.py's prediction: arg max over [background, maps] -> 0 (background) or key + 1.
// Throws ShapeError when `maps` does not hold K * H * W values or a key + 1 is outside
// 1..254 (an 8-bit mask cannot hold it; 255 means ignore).
LabelMask mask_from_cams(const ClassCams& cams, const std::vector<float>& maps,
                         const BackgroundScore& background = {});

// mask_from_cams of cams.attn_highres with background (1 - max)^bg_power.
LabelMask mask_from_cams(const ClassCams& cams, double bg_power = 1.0);

// COCO-Stuff (eval_cam_cocostuff.py): no background row; arg max over the K maps -> key + 1,
// so the mask follows our convention (class k is k + 1) and 0 never occurs. The 27 coarse
// ids are the evaluation's business (segmentation_metrics.h).
LabelMask mask_from_cams_without_background(const ClassCams& cams, const std::vector<float>& maps);

// The probabilities the dense CRF starts from, as eval_cam_with_crf.py builds them:
// [1 + K, H, W] = [(1 - max_k cam)^1 in float16, maps] with a background row, or the maps
// themselves [K, H, W] without (COCO-Stuff).
std::vector<float> crf_probabilities(const ClassCams& cams, const std::vector<float>& maps,
                                     bool with_background);

// A mask from per-pixel channel indices into crf_probabilities' rows ([H * W]): channel 0
// is background (0) and channel c the key of map c - 1 (+1); without background channel c
// is map c (key + 1). Throws ShapeError for a size mismatch or a channel out of range.
LabelMask mask_from_channels(const ClassCams& cams, const std::vector<uint8_t>& channels,
                             bool with_background);

}  // namespace tagclip
