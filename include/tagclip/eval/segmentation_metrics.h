// Semantic-segmentation scores exactly as the authors' eval_cam.py scores() computes them:
// one confusion matrix (rows ground truth, columns prediction) summed over all pixels of
// all images, then pixel accuracy, mean class accuracy, per-class IoU, mIoU over the
// classes present in the ground truth, and frequency-weighted IoU.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tagclip {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes);

  // Adds one image's pixels ([pixels] each). Ground truth values >= num_classes (255,
  // ignore) are skipped, as the reference's mask does. A prediction of 255 (ignore: no
  // class predicted) counts as a miss of the pixel's ground-truth class: it adds to that
  // row's total but to no column (the reference has no such value). Throws Error for any
  // other prediction >= num_classes.
  void add(const uint8_t* truth, const uint8_t* prediction, size_t pixels);
  void add(const std::vector<uint8_t>& truth, const std::vector<uint8_t>& prediction);

  int num_classes() const { return num_classes_; }
  // Pixels of ground-truth class `truth` predicted as `predicted`.
  int64_t count(int truth, int predicted) const;
  // Pixels of ground-truth class `truth` predicted as 255 (no class).
  int64_t unpredicted(int truth) const { return unpredicted_[truth]; }
  int64_t ground_truth_pixels(int c) const;  // the row sum, unpredicted pixels included
  int64_t predicted_pixels(int c) const;     // the column sum
  int64_t total() const;                     // every scored pixel

  ConfusionMatrix& operator+=(const ConfusionMatrix& other);

 private:
  int num_classes_;
  std::vector<int64_t> counts_;       // [num_classes, num_classes], row-major
  std::vector<int64_t> unpredicted_;  // [num_classes]
};

struct SegmentationScores {
  double pixel_accuracy = 0;                 // trace / total
  double mean_accuracy = 0;                  // nanmean over classes of diag / row sum
  double mean_iou = 0;                       // mean IoU over the classes with ground-truth pixels
  double fw_iou = 0;                         // sum over those classes of (row sum / total) * IoU
  std::vector<double> class_iou;             // [C] diag / (row + column - diag); NaN when 0 / 0
  std::vector<double> class_accuracy;        // [C] diag / row; NaN when the row is empty
  std::vector<int64_t> ground_truth_pixels;  // [C] row sums
  std::vector<int64_t> predicted_pixels;     // [C] column sums
};

// The reference's scores() of `matrix`. With no scored pixel at all every mean is NaN.
SegmentationScores segmentation_scores(const ConfusionMatrix& matrix);

// COCO-Stuff's 27 coarse classes (eval_cam_cocostuff.py): the 182 fine ids of the ground
// truth PNGs (0..181) and the 171 class indices of the cocostuff vocabulary (the 182 ids
// without the 11 unused ones) map to 0..26; every other value maps to 255 (ignore).
constexpr int kCocoStuffCoarseClasses = 27;
const std::array<uint8_t, 256>& cocostuff_fine182_to_coarse();
const std::array<uint8_t, 256>& cocostuff_fine171_to_coarse();
// The 27 coarse classes' names, in id order: electronic-things ... vehicle-things (0..11),
// ceiling-stuff ... water-stuff (12..26).
const std::vector<std::string>& cocostuff_coarse_names();

}  // namespace tagclip
