#include "tagclip/io/visualize.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>

namespace tagclip {
namespace {

// A caption bar above a panel: "label 0.41".
void put_caption(cv::Mat& panel, const std::string& text) {
  constexpr int kBar = 26;
  cv::rectangle(panel, {0, 0}, {panel.cols, kBar}, cv::Scalar(0, 0, 0), cv::FILLED);
  cv::putText(panel, text, {6, 18}, cv::FONT_HERSHEY_SIMPLEX, 0.55, cv::Scalar(255, 255, 255), 1,
              cv::LINE_AA);
}

// [gh, gw] float map -> heat map blended over `base` (BGR, panel size).
cv::Mat heat_overlay(const cv::Mat& base, const at::Tensor& map, double weight) {
  const at::Tensor values = map.to(at::kFloat).contiguous();
  cv::Mat grid(static_cast<int>(values.size(0)), static_cast<int>(values.size(1)), CV_32F,
               const_cast<float*>(values.data_ptr<float>()));
  double low, high;
  cv::minMaxLoc(grid, &low, &high);
  cv::Mat normalised;
  grid.convertTo(normalised, CV_8U, high > low ? 255.0 / (high - low) : 0.0,
                 high > low ? -255.0 * low / (high - low) : 0.0);
  cv::Mat upsampled, colored, blended;
  // Nearest keeps the patch grid visible: each cell is one patch the method scored.
  cv::resize(normalised, upsampled, base.size(), 0, 0, cv::INTER_NEAREST);
  cv::applyColorMap(upsampled, colored, cv::COLORMAP_JET);
  cv::addWeighted(base, 1.0 - weight, colored, weight, 0.0, blended);
  return blended;
}

}  // namespace

cv::Mat render_tag_visualization(const cv::Mat& rgb, const TagResult& result,
                                 const std::vector<ScoredLabel>& tags,
                                 const std::vector<std::string>& class_names,
                                 const VisualizationOptions& options) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const int height = options.panel_height;
  const int width =
      std::max(1, static_cast<int>(bgr.cols * static_cast<double>(height) / bgr.rows));
  cv::Mat base;
  cv::resize(bgr, base, {width, height}, 0, 0, cv::INTER_AREA);

  std::vector<cv::Mat> panels;
  cv::Mat original = base.clone();
  put_caption(original, tags.empty() ? "no tags" : "image");
  panels.push_back(original);
  const bool have_maps = result.patch_maps.defined() && result.patch_maps.dim() == 3;
  for (const ScoredLabel& tag : tags) {
    cv::Mat panel = have_maps
                        ? heat_overlay(base, result.patch_maps[tag.index], options.heat_weight)
                        : base.clone();
    char caption[160];
    std::snprintf(caption, sizeof(caption), "%s %.3f", class_names.at(tag.index).c_str(),
                  static_cast<double>(tag.score));
    put_caption(panel, caption);
    panels.push_back(panel);
  }
  cv::Mat sheet;
  cv::hconcat(panels, sheet);
  return sheet;
}

}  // namespace tagclip
