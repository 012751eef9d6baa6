#include "tagclip/pipeline/labels.h"

#include <algorithm>

#include "tagclip/errors.h"

namespace tagclip {

std::vector<int64_t> select_labels(const at::Tensor& scores, double ratio) {
  if (scores.dim() != 1 || scores.numel() == 0)
    throw ShapeError("select_labels: a non-empty [K] score vector expected, got " +
                     c10::str(scores.sizes()));
  const at::Tensor s = scores.to(at::kCPU, at::kFloat);
  const at::Tensor lowest = s.min(), highest = s.max();
  const at::Tensor threshold = lowest + (highest - lowest) * ratio;  // float32, as the reference
  const at::Tensor passed = at::nonzero(s > threshold).flatten();
  std::vector<int64_t> labels(passed.data_ptr<int64_t>(),
                              passed.data_ptr<int64_t>() + passed.numel());
  // Equal scores pass nothing; the reference then writes np.argmax (the first maximum).
  if (labels.empty()) labels.push_back(s.argmax().item<int64_t>());
  return labels;
}

std::vector<ScoredLabel> sorted_tags(const at::Tensor& scores, const std::vector<int64_t>& labels) {
  const at::Tensor s = scores.to(at::kCPU, at::kFloat).contiguous();
  std::vector<ScoredLabel> tags;
  for (int64_t index : labels) {
    if (index < 0 || index >= s.numel())
      throw ShapeError("sorted_tags: label " + std::to_string(index) + " outside 0.." +
                       std::to_string(s.numel() - 1));
    tags.push_back({index, s[index].item<float>()});
  }
  std::stable_sort(tags.begin(), tags.end(), [](const ScoredLabel& a, const ScoredLabel& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  });
  return tags;
}

}  // namespace tagclip
