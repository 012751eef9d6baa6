// Grad-CAM as CLIP-ES computes it on a ViT: the last block is rerun with autograd on the
// tokens the frozen blocks produced, the target is one class's softmax probability over the
// image's text rows, and the activation is the output of the last block's ln_1.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "tagclip/model/vision_tower.h"

namespace tagclip {

// The weights CLIP-ES's Grad-CAM reruns: the tower's last block, ln_post and proj, in a
// form autograd can record (a model loaded under inference mode holds inference tensors,
// which autograd refuses to save: those are cloned; other tensors are shared, detached).
struct LastVisionBlock {
  ResidualBlockWeights block;
  int64_t heads = 0;
  at::Tensor ln_post_weight, ln_post_bias;  // [W]
  at::Tensor proj;                          // [W, E]

  static LastVisionBlock from(const VisionTower& vision);
};

// What one rerun of the last block gives.
struct LastBlockGradients {
  at::Tensor activation;     // [n, D] float32: ln_1's output, patch rows (grid row-major)
  at::Tensor gradients;      // [K, n, D] float32: d probabilities[targets[k]] / d activation
  at::Tensor probabilities;  // [C] float32: softmax over the text rows
  at::Tensor attention;      // [1 + n, 1 + n] float32: the block's head-averaged attention
};

// The image-text probabilities of CLIP-ES's forward_last_layer, with the last block's ln_1
// output replaced by `normed_1`: the last block runs on (tokens, normed_1), then ln_post on
// every token, the mean of the patch tokens (not the class token), proj, L2 normalisation,
// exp(logit_scale) times the cosine with the L2-normalised text rows, softmax.
//   tokens: [1, 1 + n, W] the residual stream entering the last block (model dtype);
//   normed_1: [1, 1 + n, W], normally residual_block_ln_1(tokens, last.block);
//   text_features: [C, E] (labels then background words).
// Returns [C] float32 (float64 for a float64 model). `attention`, when non-null, receives [1 + n, 1
// + n].
at::Tensor last_block_probabilities(const LastVisionBlock& last, const at::Tensor& tokens,
                                    const at::Tensor& normed_1, const at::Tensor& text_features,
                                    double logit_scale, at::Tensor* attention = nullptr);

// Reruns the last block with autograd (only it: `tokens` carry no graph) and takes the
// gradient of each target probability with respect to ln_1's output. targets: indices into
// the C text rows. Throws UsageError for an index out of range, ShapeError for bad shapes.
LastBlockGradients last_block_gradients(const LastVisionBlock& last, const at::Tensor& tokens,
                                        const at::Tensor& text_features, double logit_scale,
                                        const std::vector<int64_t>& targets);

// CLIP-ES's scale_cam_image, per map: (x - min) / (max' + 1e-7) with max' taken after the
// subtraction and the denominator rounded to float32. maps: [K, h, w] float32 -> same shape.
at::Tensor scale_cam_maps(const at::Tensor& maps);

// Grad-CAM maps from one pass: channel weights = mean of the gradients over the grid,
// cam = ReLU(sum_c w_c A_c), then scaled twice (the reference scales per layer and again
// after averaging its one layer). activation: [n, D], gradients: [K, n, D] with
// n = grid_h * grid_w. Returns G [K, grid_h, grid_w] float32 in [0, 1).
at::Tensor grad_cam_maps(const at::Tensor& activation, const at::Tensor& gradients, int64_t grid_h,
                         int64_t grid_w);

}  // namespace tagclip
