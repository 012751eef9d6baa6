// The loop behind `tagclip segment`: for each image, labels (given, or from tagging it with
// the Tagger in the same run), maps and mask from the Segmenter, then the sinks: CAM files,
// mask PNGs, pictures, the JSON Lines record and the progress display.
#pragma once

#include <string>
#include <vector>

#include "tagclip/io/segmentation_inputs.h"
#include "tagclip/segmenter.h"
#include "tagclip/tagclip.h"

namespace tagclip::cli {

struct SegmentRunOptions {
  std::string output = "-";  // JSON Lines; "-" = standard output
  // Skip images whose requested files all exist (each is written whole by a rename, so an
  // existing file is a finished one) and, with an output file, that it records; append.
  bool resume = false;
  std::string cams_dir;       // <dir>/<id>.npz: keys, attn_highres, highres
  std::string masks_dir;      // <dir>/<id>.png: palette PNG of class indices
  std::string visualize_dir;  // <dir>/<id>.png: image, mask overlay, one heat map per key
  bool quiet = false;
  bool interactive = false;
};

struct SegmentRunSummary {
  size_t segmented = 0;
  size_t failed = 0;
  size_t skipped = 0;
  double seconds = 0.0;
};

// Segments every image in order, one record each (errors included). `tagger` labels the
// images whose labels are unknown; it may be null when every image has labels.
SegmentRunSummary run_segmentation(const std::vector<LabelledImage>& images,
                                   const Segmenter& segmenter, const Tagger* tagger,
                                   const SegmentRunOptions& options);

}  // namespace tagclip::cli
