// The numbers `tagclip eval` reports for one scored split, and their two renderings: the
// table on stdout (percentages, as papers print them) and the JSON report (fractions).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tagclip/eval/multilabel_metrics.h"

namespace tagclip {

struct EvalOptions {
  double threshold = 0.5;  // compute_F1's relative threshold (0.1 for COCO-Stuff)
  std::vector<int> top_k;  // also score the k best classes of each image, for each k
};

struct ClassEvaluation {
  std::string name;
  double ap = 0.0;
  size_t positives = 0;  // images that contain the class
  F1Score at_threshold;  // this class's P, R, F1 at the relative threshold
};

struct TopKEvaluation {
  int k = 0;
  F1Score overall;
};

struct EvalReport {
  size_t images = 0;
  double threshold = 0.5;
  double mean_ap = 0.0;                  // over all classes, as the reference
  std::vector<ClassEvaluation> classes;  // in vocabulary order
  F1Score overall;                       // the F1/P/R classify.py prints
  F1Score category;                      // compute_F1 'category': mean per-class P and R
  F1Score sample;                        // compute_F1 'sample': mean per-image P and R
  std::vector<TopKEvaluation> top_k;
  size_t classes_without_positives = 0;
};

// Scores `data` (rows: images, columns: `class_names`). Throws UsageError for an empty
// split, a name count that is not data.classes, or a k outside 1..C.
EvalReport evaluate(const MultilabelData& data, const std::vector<std::string>& class_names,
                    const EvalOptions& options);

struct TableOptions {
  bool per_class_f1 = false;   // P, R, F1 columns per class, and the 'category' means
  bool per_sample_f1 = false;  // the 'sample' means
};

// Per-class AP (and, optionally, P/R/F1) then mAP, overall F1/P/R, top-k and the image
// count, in percent with two decimals (mAP 92.80).
std::string format_report_table(const EvalReport& report, const TableOptions& options);

// Every number, as fractions in [0, 1]: mAP, F1, precision, recall, images, threshold,
// category {F1, precision, recall}, sample {...}, top_k {"k": {...}}, per_class {name: {AP,
// positives, precision, recall, F1}}. A NaN (F1 when P = R = 0) is written as null.
nlohmann::ordered_json report_json(const EvalReport& report);

}  // namespace tagclip
