#include "tagclip/segment/segmentation_scoring.h"

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "tagclip/errors.h"
#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/crf_mask.h"
#include "tagclip/segment/cv2_imread.h"
#include "tagclip/segment/label_mask.h"

namespace tagclip {
namespace fs = std::filesystem;

std::string SegmentationScoring::prediction_path(const std::string& id) const {
  return (fs::path(predictions_dir) / (id + (cams ? ".npz" : ".png"))).string();
}

std::string SegmentationScoring::ground_truth_path(const std::string& id) const {
  return (fs::path(gt_root) / (id + ".png")).string();
}

void score_segmentation_image(const SegmentationScoring& scoring, const std::string& id,
                              std::vector<ConfusionMatrix>& matrices) {
  const std::string truth_path = scoring.ground_truth_path(id);
  LabelMask truth = read_label_mask_png(truth_path);
  if (scoring.cocostuff)
    for (uint8_t& v : truth.labels) v = cocostuff_fine182_to_coarse()[v];
  const std::string prediction_path = scoring.prediction_path(id);
  auto check_size = [&](int height, int width, const std::string& path) {
    if (height != truth.height || width != truth.width)
      throw Error(path + " is " + std::to_string(width) + "x" + std::to_string(height) + ", " +
                  truth_path + " " + std::to_string(truth.width) + "x" +
                  std::to_string(truth.height));
  };
  auto add = [&](ConfusionMatrix& matrix, const LabelMask& mask) {
    try {
      matrix.add(truth.labels, mask.labels);
    } catch (const Error& e) {
      throw Error(prediction_path + ": " + e.what());
    }
  };
  // COCO-Stuff masks and maps give class k as k + 1: the 171 classes -> 27 coarse ids.
  auto coarse = [&](LabelMask mask) {
    for (uint8_t& v : mask.labels) v = v == 0 ? 255 : cocostuff_fine171_to_coarse()[v - 1];
    return mask;
  };

  if (!scoring.cams) {
    const LabelMask mask = read_label_mask_png(prediction_path);
    check_size(mask.height, mask.width, prediction_path);
    add(matrices[0], scoring.cocostuff ? coarse(mask) : mask);
    return;
  }
  const ClassCams cams = read_cam_file(prediction_path, scoring.cam_kind == CamKind::kHighres);
  check_size(cams.height, cams.width, prediction_path);
  const std::vector<float>& maps = cam_maps(cams, scoring.cam_kind);
  if (scoring.with_crf) {
    const std::string image_path =
        (fs::path(scoring.image_root) / (id + scoring.image_extension)).string();
    // As cv2.imread(path, IMREAD_COLOR): BGR, EXIF orientation applied.
    const cv::Mat bgr = cv2_imread(image_path, cv::IMREAD_COLOR);
    if (bgr.empty()) throw ImageError(image_path, "cannot read the image");
    check_size(bgr.rows, bgr.cols, image_path);
    const LabelMask mask = crf_mask_from_cams(bgr, cams, maps, !scoring.cocostuff, scoring.crf);
    add(matrices[0], scoring.cocostuff ? coarse(mask) : mask);
    return;
  }
  if (scoring.cocostuff) {
    add(matrices[0], coarse(mask_from_cams_without_background(cams, maps)));
    return;
  }
  for (size_t b = 0; b < scoring.backgrounds.size(); ++b)
    add(matrices[b], mask_from_cams(cams, maps, scoring.backgrounds[b]));
}

}  // namespace tagclip
