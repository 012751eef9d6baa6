// The authors' CRF pseudo-mask (eval_cam_with_crf.py), shared by `segment --crf` and
// `eval-seg --with-crf`: [background, maps] through the dense CRF, then the arg max.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/dense_crf.h"
#include "tagclip/segment/label_mask.h"

namespace tagclip {

// bgr8: the image as cv2.imread reads it (CV_8UC3, H x W, the maps' size). maps: [K, H, W]
// of `cams` (attn_highres or highres). with_background: a first channel 1 - max over the
// maps in float16 (false for COCO-Stuff). Returns 0 (background) or key + 1 per pixel.
// Throws ShapeError for sizes that do not match, UsageError for bad options.
LabelMask crf_mask_from_cams(const cv::Mat& bgr8, const ClassCams& cams,
                             const std::vector<float>& maps, bool with_background,
                             const DenseCrfOptions& options = {});

}  // namespace tagclip
