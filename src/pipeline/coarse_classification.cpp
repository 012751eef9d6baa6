#include "tagclip/pipeline/coarse_classification.h"

#include "tagclip/errors.h"

namespace tagclip {

at::Tensor class_probabilities(const at::Tensor& features, const at::Tensor& text_embeddings,
                               double logit_scale) {
  if (features.dim() != 2 || text_embeddings.dim() != 2 ||
      features.size(1) != text_embeddings.size(1))
    throw ShapeError("class_probabilities: features [M, E] and text [K, E] expected, got " +
                     c10::str(features.sizes()) + " and " + c10::str(text_embeddings.sizes()));
  const at::Tensor f = features.to(at::kFloat);
  const at::Tensor normalised = f / f.norm(2, -1, /*keepdim=*/true);
  // Scale first, then the product, in the reference's order of operations.
  const at::Tensor logits = at::matmul(normalised * logit_scale,
                                       text_embeddings.to(f.options()).t());  // [M, K]
  return at::softmax(logits, -1);
}

at::Tensor coarse_patch_probabilities(const at::Tensor& tokens, const at::Tensor& text_embeddings,
                                      double logit_scale) {
  if (tokens.dim() != 2 || tokens.size(0) < 2)
    throw ShapeError("coarse_patch_probabilities: tokens [1 + N, E] expected, got " +
                     c10::str(tokens.sizes()));
  return class_probabilities(tokens.slice(0, 1), text_embeddings, logit_scale);
}

}  // namespace tagclip
