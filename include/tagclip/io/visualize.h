// A picture of why an image got its tags: the image, then one panel per tag with that
// class's refined patch map (the map whose maximum gave its local score) as a heat map.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "tagclip/pipeline/labels.h"
#include "tagclip/pipeline/tagclip_pipeline.h"

namespace tagclip {

struct VisualizationOptions {
  int panel_height = 256;     // every panel is scaled to this height
  double heat_weight = 0.55;  // share of the heat map in the blend
};

// rgb: the decoded image (8-bit RGB). result: with patch_maps kept ([K_fg, gh, gw]).
// Returns a BGR image ready for cv::imwrite. Without patch maps (method global), the
// panels show the tags' names and scores only.
cv::Mat render_tag_visualization(const cv::Mat& rgb, const TagResult& result,
                                 const std::vector<ScoredLabel>& tags,
                                 const std::vector<std::string>& class_names,
                                 const VisualizationOptions& options = {});

}  // namespace tagclip
