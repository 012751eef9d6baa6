#include "tagclip/eval/segmentation_metrics.h"

#include <cmath>
#include <limits>

#include "tagclip/errors.h"
#include "tagclip/eval/ground_truth.h"

namespace tagclip {
namespace {

constexpr uint8_t kIgnore = 255;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// COCO-Stuff's coarse class of each of the 182 fine ids (the dataset's hierarchy: things
// 0..11, stuff 12..26), as eval_cam_cocostuff.py's fine_to_coarse_dic.
constexpr uint8_t kCocoStuffCoarseOf182[182] = {
    9,  11, 11, 11, 11, 11, 11, 11, 11, 8,  8,  8,  8,  8,  8,  7,  7,  7,  7,  7,  7,  7,  7,
    7,  7,  6,  6,  6,  6,  6,  6,  6,  6,  10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5,  5,  5,
    5,  5,  5,  5,  5,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  3,  3,  3,  3,  3,  3,  3,  3,
    3,  3,  0,  0,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  4,  4,  4,  4,  4,  4,  4,  4,  17,
    17, 22, 20, 20, 22, 15, 25, 16, 13, 12, 12, 17, 17, 23, 15, 15, 17, 15, 21, 15, 25, 13, 13,
    13, 13, 13, 22, 26, 14, 14, 15, 22, 21, 21, 24, 20, 22, 15, 17, 16, 15, 22, 24, 21, 17, 25,
    16, 21, 17, 22, 16, 21, 21, 25, 21, 26, 21, 24, 20, 17, 14, 21, 26, 15, 23, 20, 21, 24, 15,
    24, 22, 25, 15, 20, 17, 17, 22, 14, 18, 18, 18, 18, 18, 18, 18, 26, 26, 19, 19, 24};

std::array<uint8_t, 256> make_fine182_to_coarse() {
  std::array<uint8_t, 256> map;
  map.fill(kIgnore);
  for (int id = 0; id < 182; ++id) map[id] = kCocoStuffCoarseOf182[id];
  return map;
}

std::array<uint8_t, 256> make_fine171_to_coarse() {
  std::array<uint8_t, 256> map;
  map.fill(kIgnore);
  for (int id = 0; id < 182; ++id) {
    const int index = cocostuff_171_index(id);
    if (index >= 0) map[index] = kCocoStuffCoarseOf182[id];
  }
  return map;
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int num_classes)
    : num_classes_(num_classes),
      counts_(static_cast<size_t>(num_classes) * num_classes, 0),
      unpredicted_(num_classes, 0) {
  if (num_classes < 1 || num_classes > 255)
    throw UsageError("the number of classes must be 1..255 (8-bit labels, 255 ignore), got " +
                     std::to_string(num_classes));
}

void ConfusionMatrix::add(const uint8_t* truth, const uint8_t* prediction, size_t pixels) {
  const int n = num_classes_;
  for (size_t p = 0; p < pixels; ++p) {
    const int t = truth[p], q = prediction[p];
    if (t >= n) continue;
    if (q < n) {
      ++counts_[static_cast<size_t>(t) * n + q];
    } else if (q == kIgnore) {
      ++unpredicted_[t];
    } else {
      throw Error("predicted label " + std::to_string(q) + " is not a class index (0.." +
                  std::to_string(n - 1) + ") nor 255 (ignore)");
    }
  }
}

void ConfusionMatrix::add(const std::vector<uint8_t>& truth,
                          const std::vector<uint8_t>& prediction) {
  if (truth.size() != prediction.size())
    throw ShapeError("ground truth has " + std::to_string(truth.size()) +
                     " pixels, the prediction " + std::to_string(prediction.size()));
  add(truth.data(), prediction.data(), truth.size());
}

int64_t ConfusionMatrix::count(int truth, int predicted) const {
  return counts_[static_cast<size_t>(truth) * num_classes_ + predicted];
}

int64_t ConfusionMatrix::ground_truth_pixels(int c) const {
  int64_t sum = unpredicted_[c];
  for (int q = 0; q < num_classes_; ++q) sum += count(c, q);
  return sum;
}

int64_t ConfusionMatrix::predicted_pixels(int c) const {
  int64_t sum = 0;
  for (int t = 0; t < num_classes_; ++t) sum += count(t, c);
  return sum;
}

int64_t ConfusionMatrix::total() const {
  int64_t sum = 0;
  for (int64_t v : counts_) sum += v;
  for (int64_t v : unpredicted_) sum += v;
  return sum;
}

ConfusionMatrix& ConfusionMatrix::operator+=(const ConfusionMatrix& other) {
  if (other.num_classes_ != num_classes_)
    throw ShapeError("cannot add confusion matrices of " + std::to_string(num_classes_) + " and " +
                     std::to_string(other.num_classes_) + " classes");
  for (size_t k = 0; k < counts_.size(); ++k) counts_[k] += other.counts_[k];
  for (size_t k = 0; k < unpredicted_.size(); ++k) unpredicted_[k] += other.unpredicted_[k];
  return *this;
}

SegmentationScores segmentation_scores(const ConfusionMatrix& matrix) {
  const int n = matrix.num_classes();
  SegmentationScores s;
  s.class_iou.resize(n);
  s.class_accuracy.resize(n);
  s.ground_truth_pixels.resize(n);
  s.predicted_pixels.resize(n);
  // Counts are exact integers; the reference holds them in float64, which is exact too.
  const double total = static_cast<double>(matrix.total());
  double trace = 0, accuracy_sum = 0, iou_sum = 0, fw_sum = 0;
  int accuracy_count = 0, iou_count = 0;
  for (int c = 0; c < n; ++c) {
    const double diag = static_cast<double>(matrix.count(c, c));
    const int64_t row = matrix.ground_truth_pixels(c), column = matrix.predicted_pixels(c);
    s.ground_truth_pixels[c] = row;
    s.predicted_pixels[c] = column;
    trace += diag;
    s.class_accuracy[c] = row > 0 ? diag / static_cast<double>(row) : kNaN;
    const double union_size = static_cast<double>(row) + static_cast<double>(column) - diag;
    s.class_iou[c] = union_size > 0 ? diag / union_size : kNaN;
    if (row > 0) {
      accuracy_sum += s.class_accuracy[c];
      ++accuracy_count;
      iou_sum += s.class_iou[c];
      ++iou_count;
      fw_sum += (static_cast<double>(row) / total) * s.class_iou[c];
    }
  }
  s.pixel_accuracy = total > 0 ? trace / total : kNaN;
  s.mean_accuracy = accuracy_count > 0 ? accuracy_sum / accuracy_count : kNaN;
  s.mean_iou = iou_count > 0 ? iou_sum / iou_count : kNaN;
  s.fw_iou = total > 0 ? fw_sum : kNaN;
  return s;
}

const std::array<uint8_t, 256>& cocostuff_fine182_to_coarse() {
  static const std::array<uint8_t, 256> map = make_fine182_to_coarse();
  return map;
}

const std::array<uint8_t, 256>& cocostuff_fine171_to_coarse() {
  static const std::array<uint8_t, 256> map = make_fine171_to_coarse();
  return map;
}

const std::vector<std::string>& cocostuff_coarse_names() {
  static const std::vector<std::string> names = {
      "electronic-things", "appliance-things", "food-things",      "furniture-things",
      "indoor-things",     "kitchen-things",   "accessory-things", "animal-things",
      "outdoor-things",    "person-things",    "sports-things",    "vehicle-things",
      "ceiling-stuff",     "floor-stuff",      "food-stuff",       "furniture-stuff",
      "rawmaterial-stuff", "textile-stuff",    "wall-stuff",       "window-stuff",
      "building-stuff",    "ground-stuff",     "plant-stuff",      "sky-stuff",
      "solid-stuff",       "structural-stuff", "water-stuff"};
  return names;
}

}  // namespace tagclip
