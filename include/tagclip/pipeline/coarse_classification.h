// Coarse patch classification: every token of the vision tower scored against every class
// (foreground and background), as the first thing TagCLIP computes from one forward pass.
#pragma once

#include <ATen/ATen.h>

namespace tagclip {

// Zero-shot class probabilities of image features.
//   features: [M, E] (any float dtype, any device), not necessarily normalised;
//   text_embeddings: [K, E], L2-normalised rows (foreground classes, then background);
//   logit_scale: exp(logit_scale) of the checkpoint (ClipModel::logit_scale()).
// Returns float32 [M, K]: softmax over all K of logit_scale * cosine(feature, class).
// Throws UsageError when the shapes do not fit.
at::Tensor class_probabilities(const at::Tensor& features, const at::Tensor& text_embeddings,
                               double logit_scale);

// The coarse patch classification C of one image.
//   tokens: [1 + N, E], the class token first and then the N patches row-major, after ln_post
//   and the projection (VisionOutput::tokens[0]).
// Returns float32 [N, K]: class_probabilities() of the patches; the class token is dropped.
at::Tensor coarse_patch_probabilities(const at::Tensor& tokens, const at::Tensor& text_embeddings,
                                      double logit_scale);

}  // namespace tagclip
