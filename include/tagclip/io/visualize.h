// Pictures of a result: why an image got its tags (tag --visualize), and what its
// segmentation drew (segment --visualize).
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "tagclip/pipeline/labels.h"
#include "tagclip/pipeline/tagclip_pipeline.h"
#include "tagclip/segment/label_mask.h"

namespace tagclip {

struct VisualizationOptions {
  int panel_height = 256;     // every panel is scaled to this height
  double heat_weight = 0.55;  // share of the heat map in the blend
};

// Why an image got its tags: the image, then one panel per tag with that class's refined
// patch map (the map whose maximum gave its local score) as a heat map.
// rgb: the decoded image (8-bit RGB). result: with patch_maps kept ([K_fg, gh, gw]).
// Returns a BGR image ready for cv::imwrite. Without patch maps (method global), the
// panels show the tags' names and scores only.
cv::Mat render_tag_visualization(const cv::Mat& rgb, const TagResult& result,
                                 const std::vector<ScoredLabel>& tags,
                                 const std::vector<std::string>& class_names,
                                 const VisualizationOptions& options = {});

// The picture of a segmentation: the image, the mask over it in the VOC colours, then one
// panel per key with its map as a heat map. rgb: the decoded image (8-bit RGB, H x W);
// mask: H x W; maps: [K, H, W] values in [0, 1] (ClassCams::attn_highres) for `keys`.
// Returns a BGR image ready for cv::imwrite.
cv::Mat render_segmentation_visualization(const cv::Mat& rgb, const LabelMask& mask,
                                          const std::vector<int64_t>& keys,
                                          const std::vector<float>& maps,
                                          const std::vector<std::string>& class_names,
                                          const VisualizationOptions& options = {});

// Writes a picture as PNG, whole or not at all (temporary file, then rename): what both
// commands' --visualize do with the sheets above. Throws OutputError naming `path` when it
// cannot be encoded or written.
void write_picture_png(const std::string& path, const cv::Mat& picture);

}  // namespace tagclip
