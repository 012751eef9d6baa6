// One image's contribution to the segmentation scores of `tagclip eval-seg`, as the authors'
// eval_cam.py, eval_cam_cocostuff.py and eval_cam_with_crf*.py --eval_only count it: the
// ground truth against a mask file, or against the mask made from a CAM file (plain, with
// each background rule of a sweep, or through the dense CRF).
#pragma once

#include <string>
#include <vector>

#include "tagclip/eval/segmentation_metrics.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/dense_crf.h"

namespace tagclip {

// What is scored and how, fixed before the first image.
struct SegmentationScoring {
  std::string predictions_dir;  // <id>.npz CAM files (cams) or <id>.png masks
  std::string gt_root;          // <id>.png ground truth: class indices, 255 ignored
  bool cams = false;
  CamKind cam_kind = CamKind::kAttnHighres;
  // One confusion matrix each (several for a sweep); masks and CRF use only the first.
  std::vector<BackgroundScore> backgrounds = {BackgroundScore::power(1.0)};
  // 182-id ground truth and 171-class predictions (k + 1), both scored on 27 coarse ids.
  bool cocostuff = false;
  bool with_crf = false;  // CAM files through the dense CRF, on image_root/<id> + extension
  std::string image_root;
  std::string image_extension = ".jpg";
  DenseCrfOptions crf;

  std::string prediction_path(const std::string& id) const;
  std::string ground_truth_path(const std::string& id) const;
};

// Adds image `id`'s pixels to `matrices` (one per background rule, each of the ground
// truth's class count). Throws Error naming the files for a missing or unreadable file, or
// a prediction whose size differs from the ground truth's (both sizes named).
void score_segmentation_image(const SegmentationScoring& scoring, const std::string& id,
                              std::vector<ConfusionMatrix>& matrices);

}  // namespace tagclip
