#include "tagclip/segment/crf_mask.h"

#include <string>

#include "tagclip/errors.h"
#include "tagclip/segment/cam_to_mask.h"

namespace tagclip {

LabelMask crf_mask_from_cams(const cv::Mat& bgr8, const ClassCams& cams,
                             const std::vector<float>& maps, bool with_background,
                             const DenseCrfOptions& options) {
  if (bgr8.rows != cams.height || bgr8.cols != cams.width)
    throw ShapeError("the CRF's image is " + std::to_string(bgr8.cols) + "x" +
                     std::to_string(bgr8.rows) + ", its maps " + std::to_string(cams.width) + "x" +
                     std::to_string(cams.height));
  // [C, H, W] with C = K (+ 1 for background), float16 values as the reference's.
  const std::vector<float> probabilities = crf_probabilities(cams, maps, with_background);
  const int channels = static_cast<int>(cams.keys.size()) + (with_background ? 1 : 0);
  const std::vector<uint8_t> channel = dense_crf_labels(bgr8, probabilities, channels, options);
  return mask_from_channels(cams, channel, with_background);
}

}  // namespace tagclip
