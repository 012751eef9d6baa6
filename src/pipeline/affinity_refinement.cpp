#include "tagclip/pipeline/affinity_refinement.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "tagclip/errors.h"

namespace tagclip {

at::Tensor box_mask(const at::Tensor& cam, double threshold) {
  if (cam.dim() != 2)
    throw ShapeError("box_mask needs a [gh, gw] CAM, got " + c10::str(cam.sizes()));
  const at::Tensor values = cam.to(at::kCPU, at::kFloat).contiguous();
  const int height = static_cast<int>(values.size(0)), width = static_cast<int>(values.size(1));
  // The reference multiplies in float32 and truncates to uint8.
  cv::Mat scores(height, width, CV_8UC1);
  const float* source = values.data_ptr<float>();
  int top = 0;
  for (int i = 0; i < height * width; ++i) {
    const auto u = static_cast<uint8_t>(static_cast<int>(source[i] * 255.0f));
    scores.data[i] = u;
    top = std::max(top, static_cast<int>(u));
  }
  const int thr = static_cast<int>(threshold * top);
  cv::Mat binary;
  cv::threshold(scores, binary, thr, 255, cv::THRESH_BINARY);
  std::vector<std::vector<cv::Point>> contours;
  std::vector<cv::Vec4i> hierarchy;
  cv::findContours(binary, contours, hierarchy, cv::RETR_TREE, cv::CHAIN_APPROX_SIMPLE);

  at::Tensor mask = at::zeros({height, width}, at::kFloat);
  auto m = mask.accessor<float, 2>();
  for (const auto& contour : contours) {
    const cv::Rect box = cv::boundingRect(contour);
    const int x1 = std::min(box.x + box.width, width - 1);
    const int y1 = std::min(box.y + box.height, height - 1);
    for (int y = box.y; y < y1; ++y)
      for (int x = box.x; x < x1; ++x) m[y][x] = 1.0f;
  }
  return mask;
}

at::Tensor affinity_transition(const at::Tensor& attention) {
  if (attention.dim() != 2 || attention.size(0) != attention.size(1))
    throw ShapeError("affinity needs a square [n, n] attention map, got " +
                     c10::str(attention.sizes()));
  at::Tensor t = attention.to(at::kFloat);
  for (int round = 0; round < 3; ++round) {
    t = t / t.sum(0, true);
    t = t / t.sum(1, true);
  }
  t = (t + t.t()) / 2;
  return at::matmul(t, t);
}

at::Tensor refine_cam(const at::Tensor& transition, const at::Tensor& cam, const at::Tensor& mask) {
  const int64_t n = transition.size(0);
  if (cam.dim() != 2 || cam.sizes() != mask.sizes() || cam.numel() != n)
    throw ShapeError(
        "refine_cam needs a [gh, gw] CAM and mask with gh * gw = " + std::to_string(n) + ", got " +
        c10::str(cam.sizes()) + " and " + c10::str(mask.sizes()));
  // (T diag(mask)) vec(cam) = T (mask * vec(cam)): the mask is 0 or 1, so every product the
  // reference sums is the same number.
  const at::Tensor masked = (cam.to(at::kFloat) * mask.to(at::kFloat)).reshape({n, 1});
  return at::matmul(transition.to(at::kFloat), masked.to(transition.device())).view(cam.sizes());
}

at::Tensor resize_maps_linear(const at::Tensor& maps, int height, int width) {
  if (maps.dim() != 3 || height <= 0 || width <= 0)
    throw ShapeError("resize_maps_linear needs [K, h, w] maps and a positive size, got " +
                     c10::str(maps.sizes()) + " to " + std::to_string(height) + "x" +
                     std::to_string(width));
  const at::Tensor source = maps.to(at::kCPU, at::kFloat).contiguous();
  const int rows = static_cast<int>(source.size(1)), cols = static_cast<int>(source.size(2));
  at::Tensor out = at::empty({source.size(0), height, width}, at::kFloat);
  for (int64_t k = 0; k < source.size(0); ++k) {
    const cv::Mat in(rows, cols, CV_32FC1, source[k].data_ptr<float>());
    cv::Mat resized(height, width, CV_32FC1, out[k].data_ptr<float>());
    cv::resize(in, resized, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  }
  return out;
}

}  // namespace tagclip
