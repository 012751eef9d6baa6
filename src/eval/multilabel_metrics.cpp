#include "tagclip/eval/multilabel_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// What torch's CPU sort and topk compare: NaN ranks first, then larger first. Using the
// same comparator with the same std algorithm reproduces their order of ties exactly.
template <typename Value>
struct RankedEntry {
  Value value;
  int64_t index;
};

template <typename Value>
bool ranks_before(const RankedEntry<Value>& a, const RankedEntry<Value>& b) {
  return (std::isnan(a.value) && !std::isnan(b.value)) || a.value > b.value;
}

// The pooled counts compute_F1 divides; eps keeps 0/0 at 0 as the reference's 1e-9 does.
constexpr double kF1Epsilon = 1e-9;

struct Counts {
  int64_t tp = 0, fp = 0, fn = 0;
  double precision() const { return tp / (static_cast<double>(tp + fp) + kF1Epsilon); }
  double recall() const { return tp / (static_cast<double>(tp + fn) + kF1Epsilon); }
};

// 2PR / (P + R) without a guard: the reference yields NaN when both are 0.
F1Score harmonic(double precision, double recall) {
  return {2.0 * precision * recall / (precision + recall), precision, recall};
}

void check_predicted(const std::vector<uint8_t>& predicted, const MultilabelData& data) {
  if (predicted.size() != data.images * data.classes)
    throw UsageError("predicted labels hold " + std::to_string(predicted.size()) +
                     " entries, expected " + std::to_string(data.images) + " x " +
                     std::to_string(data.classes));
}

}  // namespace

void MultilabelData::validate() const {
  const size_t expected = images * classes;
  if (scores.size() != expected || labels.size() != expected)
    throw UsageError("multi-label data: " + std::to_string(scores.size()) + " scores and " +
                     std::to_string(labels.size()) + " labels for " + std::to_string(images) +
                     " images x " + std::to_string(classes) + " classes");
  for (uint8_t label : labels)
    if (label > 1) throw UsageError("multi-label data: labels must be 0 or 1");
}

std::vector<uint32_t> ranking_for_class(const MultilabelData& data, size_t c) {
  std::vector<RankedEntry<float>> column(data.images);
  for (size_t i = 0; i < data.images; ++i)
    column[i] = {data.scores[i * data.classes + c], static_cast<int64_t>(i)};
  std::sort(column.begin(), column.end(), ranks_before<float>);
  std::vector<uint32_t> order(data.images);
  for (size_t r = 0; r < data.images; ++r) order[r] = static_cast<uint32_t>(column[r].index);
  return order;
}

std::vector<double> average_precision(const MultilabelData& data) {
  data.validate();
  std::vector<double> ap(data.classes, 0.0);
  for (size_t c = 0; c < data.classes; ++c) {
    int64_t positives = 0;
    for (size_t i = 0; i < data.images; ++i) positives += data.labels[i * data.classes + c];
    if (positives == 0) continue;
    int64_t true_positives = 0;
    double precision_sum = 0.0;
    const std::vector<uint32_t> order = ranking_for_class(data, c);
    for (size_t r = 0; r < order.size(); ++r) {
      if (!data.labels[order[r] * data.classes + c]) continue;
      ++true_positives;
      precision_sum += static_cast<double>(true_positives) / static_cast<double>(r + 1);
    }
    ap[c] = precision_sum / static_cast<double>(positives);
  }
  return ap;
}

double mean_average_precision(const std::vector<double>& ap) {
  if (ap.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  for (double value : ap) sum += value;
  return sum / static_cast<double>(ap.size());
}

PrecisionRecallCurve precision_recall_curve(const MultilabelData& data, size_t c) {
  data.validate();
  PrecisionRecallCurve curve;
  int64_t positives = 0;
  for (size_t i = 0; i < data.images; ++i) positives += data.labels[i * data.classes + c];
  if (positives == 0) return curve;
  const std::vector<uint32_t> order = ranking_for_class(data, c);
  curve.precision.resize(order.size());
  curve.recall.resize(order.size());
  int64_t true_positives = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    true_positives += data.labels[order[r] * data.classes + c];
    curve.precision[r] = static_cast<float>(static_cast<double>(true_positives) / (r + 1));
    curve.recall[r] = static_cast<float>(static_cast<double>(true_positives) / positives);
  }
  return curve;
}

std::vector<uint8_t> predict_relative(const MultilabelData& data, double ratio) {
  data.validate();
  std::vector<uint8_t> predicted(data.scores.size(), 0);
  const float ratio_f = static_cast<float>(ratio);  // torch multiplies float32 by float(ratio)
  for (size_t i = 0; i < data.images; ++i) {
    const float* row = data.scores.data() + i * data.classes;
    const auto [low, high] = std::minmax_element(row, row + data.classes);
    const float step = *high - *low;
    const float threshold = *low + ratio_f * step;
    // In place, the 1s written for `> threshold` are then compared again by `<= threshold`.
    if (threshold >= 1.0f) continue;
    for (size_t c = 0; c < data.classes; ++c)
      predicted[i * data.classes + c] = row[c] > threshold ? 1 : 0;
  }
  return predicted;
}

std::vector<uint8_t> predict_top_k(const MultilabelData& data, int k) {
  data.validate();
  if (k < 1 || static_cast<size_t>(k) > data.classes)
    throw UsageError("top-k: k = " + std::to_string(k) + " must be between 1 and the " +
                     std::to_string(data.classes) + " classes");
  std::vector<uint8_t> predicted(data.scores.size(), 0);
  // torch.topk queues (value as accscalar_t = double, index) pairs and picks the algorithm
  // by size; which of several tied scores get in depends on that algorithm.
  const bool partial_sort = static_cast<size_t>(k) * 64 <= data.classes;
  std::vector<RankedEntry<double>> queue(data.classes);
  for (size_t i = 0; i < data.images; ++i) {
    for (size_t c = 0; c < data.classes; ++c)
      queue[c] = {static_cast<double>(data.scores[i * data.classes + c]), static_cast<int64_t>(c)};
    if (partial_sort) {
      std::partial_sort(queue.begin(), queue.begin() + k, queue.end(), ranks_before<double>);
    } else {
      std::nth_element(queue.begin(), queue.begin() + (k - 1), queue.end(), ranks_before<double>);
    }
    for (int r = 0; r < k; ++r) predicted[i * data.classes + queue[r].index] = 1;
  }
  return predicted;
}

F1Score f1_score(const std::vector<uint8_t>& predicted, const MultilabelData& data,
                 F1Average average) {
  data.validate();
  check_predicted(predicted, data);
  const size_t n = data.images, k = data.classes;
  // One pool for 'overall', one per class or per image for the means.
  const size_t pools = average == F1Average::kOverall ? 1 : average == F1Average::kCategory ? k : n;
  std::vector<Counts> counts(pools);
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < k; ++c) {
      const size_t pool = average == F1Average::kOverall    ? 0
                          : average == F1Average::kCategory ? c
                                                            : i;
      const bool p = predicted[i * k + c] != 0, t = data.labels[i * k + c] != 0;
      counts[pool].tp += p && t;
      counts[pool].fp += p && !t;
      counts[pool].fn += !p && t;
    }
  }
  double precision = 0.0, recall = 0.0;
  for (const Counts& pool : counts) {
    precision += pool.precision();
    recall += pool.recall();
  }
  if (pools > 0) {
    precision /= static_cast<double>(pools);
    recall /= static_cast<double>(pools);
  } else {
    precision = recall = std::numeric_limits<double>::quiet_NaN();  // torch's mean of nothing
  }
  return harmonic(precision, recall);
}

std::vector<F1Score> per_class_f1(const std::vector<uint8_t>& predicted,
                                  const MultilabelData& data) {
  data.validate();
  check_predicted(predicted, data);
  std::vector<Counts> counts(data.classes);
  for (size_t i = 0; i < data.images; ++i) {
    for (size_t c = 0; c < data.classes; ++c) {
      const bool p = predicted[i * data.classes + c] != 0;
      const bool t = data.labels[i * data.classes + c] != 0;
      counts[c].tp += p && t;
      counts[c].fp += p && !t;
      counts[c].fn += !p && t;
    }
  }
  std::vector<F1Score> scores;
  scores.reserve(counts.size());
  for (const Counts& c : counts) scores.push_back(harmonic(c.precision(), c.recall()));
  return scores;
}

}  // namespace tagclip
