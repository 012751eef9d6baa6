#include "tagclip/io/visualize.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"

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

// The image scaled to the panel height, BGR.
cv::Mat panel_base(const cv::Mat& rgb, int height) {
  cv::Mat bgr, base;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const int width =
      std::max(1, static_cast<int>(bgr.cols * static_cast<double>(height) / bgr.rows));
  cv::resize(bgr, base, {width, height}, 0, 0, cv::INTER_AREA);
  return base;
}

}  // namespace

cv::Mat render_segmentation_visualization(const cv::Mat& rgb, const LabelMask& mask,
                                          const std::vector<int64_t>& keys,
                                          const std::vector<float>& maps,
                                          const std::vector<std::string>& class_names,
                                          const VisualizationOptions& options) {
  const cv::Mat base = panel_base(rgb, options.panel_height);
  std::vector<cv::Mat> panels;
  cv::Mat original = base.clone();
  put_caption(original, "image");
  panels.push_back(original);

  // Mask in the VOC colours (what the PNG shows), nearest-scaled so edges stay exact.
  const auto palette = voc_palette();
  cv::Mat colours(mask.height, mask.width, CV_8UC3);
  for (int i = 0; i < mask.height * mask.width; ++i) {
    const auto& rgb_colour = palette[mask.labels[i]];
    colours.at<cv::Vec3b>(i / mask.width, i % mask.width) =
        cv::Vec3b(rgb_colour[2], rgb_colour[1], rgb_colour[0]);
  }
  cv::Mat scaled, overlay;
  cv::resize(colours, scaled, base.size(), 0, 0, cv::INTER_NEAREST);
  cv::addWeighted(base, 1.0 - options.heat_weight, scaled, options.heat_weight, 0.0, overlay);
  put_caption(overlay, "mask");
  panels.push_back(overlay);

  // One heat map per key: maps holds [K, H, W] at the image's size, values in [0, 1].
  const size_t plane = static_cast<size_t>(rgb.rows) * rgb.cols;
  for (size_t k = 0; k < keys.size(); ++k) {
    cv::Mat map(rgb.rows, rgb.cols, CV_32F, const_cast<float*>(maps.data() + k * plane));
    cv::Mat small, map8, coloured, blended;
    cv::resize(map, small, base.size(), 0, 0, cv::INTER_AREA);
    small.convertTo(map8, CV_8U, 255.0);
    cv::applyColorMap(map8, coloured, cv::COLORMAP_JET);
    cv::addWeighted(base, 1.0 - options.heat_weight, coloured, options.heat_weight, 0.0, blended);
    const int64_t key = keys[k];
    put_caption(blended, key >= 0 && static_cast<size_t>(key) < class_names.size()
                             ? class_names[key]
                             : "class " + std::to_string(key));
    panels.push_back(blended);
  }
  cv::Mat sheet;
  cv::hconcat(panels, sheet);
  return sheet;
}

cv::Mat render_tag_visualization(const cv::Mat& rgb, const TagResult& result,
                                 const std::vector<ScoredLabel>& tags,
                                 const std::vector<std::string>& class_names,
                                 const VisualizationOptions& options) {
  const cv::Mat base = panel_base(rgb, options.panel_height);

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

void write_picture_png(const std::string& path, const cv::Mat& picture) {
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", picture, png)) throw OutputError(path + ": cannot encode the picture");
  write_file_atomically(path,
                        std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace tagclip
