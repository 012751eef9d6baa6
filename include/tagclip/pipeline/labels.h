// Final labels: which classes of the score vector an image is tagged with.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace tagclip {

// Classes with s_k > min(s) + ratio * (max(s) - min(s)), ascending; when none passes (all
// scores equal), the arg max (the first maximum). The threshold is computed in float32 like
// the reference's --save_file. scores: [K_fg] float. ratio: 0.5 (0.1 for COCO-Stuff).
// Throws UsageError for an empty or non-1-D score vector.
std::vector<int64_t> select_labels(const at::Tensor& scores, double ratio);

struct ScoredLabel {
  int64_t index = 0;
  float score = 0.0f;
};

// The labels with their scores, highest score first (ties: lower index first).
std::vector<ScoredLabel> sorted_tags(const at::Tensor& scores, const std::vector<int64_t>& labels);

}  // namespace tagclip
