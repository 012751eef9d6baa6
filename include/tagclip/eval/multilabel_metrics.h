// Multi-label classification metrics with the definitions of the authors' utils.py
// (compute_AP, compute_F1), on plain row-major arrays so scoring 40,000 images needs no
// LibTorch. Where the reference's float32 tensors and the order torch sorts ties in change a
// number, these functions reproduce it; sums are kept in double (the reference's float32
// sums differ from them by about 1e-7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tagclip {

// Scores and ground truth of N images over C classes.
struct MultilabelData {
  size_t images = 0;            // N
  size_t classes = 0;           // C
  std::vector<float> scores;    // [N, C] row-major: scores[i * C + c]
  std::vector<uint8_t> labels;  // [N, C] row-major, 1 = class c is in image i

  // Throws UsageError when the arrays do not hold N x C entries or a label is not 0/1.
  void validate() const;
};

// The images ranked by their score for class `c`, highest first, in exactly the order
// torch 1.13's CPU `sort(descending=True)` returns: it calls std::sort (an unstable
// introsort) on (value, index) pairs, so tied scores come out in an order that depends on
// the whole column, neither by index nor reversed. libstdc++'s std::sort is deterministic,
// so the same call on the same column gives the same order. [N] image indices.
std::vector<uint32_t> ranking_for_class(const MultilabelData& data, size_t c);

// Per-class average precision as compute_AP: walk the ranking, add the precision at each
// positive, divide by the number of positives. A class without positives gets 0 (the
// reference skips it but leaves its 0 in the tensor, and the mean runs over all classes).
// [C] fractions in [0, 1].
std::vector<double> average_precision(const MultilabelData& data);

// torch.mean(ap): over every class, including those without positives.
double mean_average_precision(const std::vector<double>& ap);

// Precision and recall after each ranked image of class `c` (the curve compute_AP
// integrates). Both [N]; empty when the class has no positives.
struct PrecisionRecallCurve {
  std::vector<float> precision;
  std::vector<float> recall;
};
PrecisionRecallCurve precision_recall_curve(const MultilabelData& data, size_t c);

// compute_F1's relative binarisation: image i predicts class c when
// s > min_i + ratio * (max_i - min_i), the threshold computed in float32 as the reference.
// The reference binarises in place (first `> t` becomes 1, then `<= t` becomes 0), so a row
// whose threshold is >= 1 (scores above 1) predicts nothing; that is reproduced. [N, C].
std::vector<uint8_t> predict_relative(const MultilabelData& data, double ratio);

// compute_F1 with an integer k_val: the k highest scores of each row, ties broken as
// torch.topk does on CPU (std::partial_sort when 64 k <= C, else std::nth_element).
// Throws UsageError unless 1 <= k <= C. [N, C].
std::vector<uint8_t> predict_top_k(const MultilabelData& data, int k);

// How compute_F1 pools true/false positives: 'overall' over all entries (micro),
// 'category' per class then the mean P and mean R, 'sample' per image likewise.
enum class F1Average { kOverall, kCategory, kSample };

struct F1Score {
  double f1 = 0.0;  // 2PR / (P + R) of the pooled P and R; NaN when P = R = 0, as the reference
  double precision = 0.0;
  double recall = 0.0;
};

// P = TP / (TP + FP + 1e-9), R = TP / (TP + FN + 1e-9) per pool, then means, then F1.
// `predicted`: [N, C] 0/1 from predict_relative or predict_top_k.
F1Score f1_score(const std::vector<uint8_t>& predicted, const MultilabelData& data,
                 F1Average average);

// P, R and F1 of every class on its own (the terms of the 'category' mean). [C].
std::vector<F1Score> per_class_f1(const std::vector<uint8_t>& predicted,
                                  const MultilabelData& data);

}  // namespace tagclip
