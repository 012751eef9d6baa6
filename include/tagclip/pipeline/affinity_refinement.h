// CLIP-ES's class-aware attention-based affinity (CAA): the mean attention of the last
// blocks, made doubly stochastic and symmetric, squared, restricted to the boxes around a
// CAM's strong regions, propagates that CAM over the patch grid.
#pragma once

#include <ATen/ATen.h>

namespace tagclip {

// The box mask of one CAM, as the reference's scoremap2bbox builds it:
// u = uint8(trunc(255 cam)), thr = int(threshold * max u), binary = u > thr; every contour
// cv::findContours finds (RETR_TREE, CHAIN_APPROX_SIMPLE) contributes its bounding rect
// (x, y, w, h) as rows y .. min(y + h, gh - 1) - 1 and columns x .. min(x + w, gw - 1) - 1,
// so a box reaching the right or bottom edge loses that column or row. No region: all zero.
// cam: [gh, gw] float32 in [0, 1]. Returns [gh, gw] float32 of 0 and 1.
at::Tensor box_mask(const at::Tensor& cam, double threshold);

// The transition matrix from a mean attention map A [n, n] (class token dropped): divide by
// the column sums, then by the row sums, three rounds in all; T = (T + T^T) / 2; T = T T.
// Returns [n, n] float32.
at::Tensor affinity_transition(const at::Tensor& attention);

// The refined CAM before scaling: (T with column j times mask[j]) times vec(cam), row-major,
// back as [gh, gw]. transition: [n, n], cam and mask: [gh, gw] with n = gh * gw.
at::Tensor refine_cam(const at::Tensor& transition, const at::Tensor& cam, const at::Tensor& mask);

// cv::resize with INTER_LINEAR (half-pixel centres, no antialias) of every map to
// height x width. maps: [K, h, w] float32 -> [K, height, width] float32 on the CPU.
at::Tensor resize_maps_linear(const at::Tensor& maps, int height, int width);

}  // namespace tagclip
