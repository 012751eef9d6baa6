// The loop behind `tagclip tag` and `tagclip eval -o`: tag a list of images with a Tagger
// and feed every record to the sinks: the JSON Lines output (resumable), the labels file
// for CLIP-ES, the heat-map pictures and the progress display.
#pragma once

#include <string>
#include <vector>

#include "tagclip/io/image_inputs.h"
#include "tagclip/tagclip.h"

namespace tagclip::cli {

struct TagRunOptions {
  std::string output = "-";  // JSON Lines; "-" = standard output
  bool resume = false;       // skip images already in `output`, append to it
  std::string labels_out;    // reference split format: "id idx idx ..." per image
  // Write <dir>/<id>.png per tagged image: the tags and their patch maps as heat maps
  // (the tagger must keep patch maps: TaggerConfig::keep_patch_maps).
  std::string visualize_dir;
  bool quiet = false;        // no progress, no summary
  bool interactive = false;  // draw a progress bar
};

struct TagRunSummary {
  size_t tagged = 0;
  size_t failed = 0;
  size_t skipped = 0;  // already in the output (--resume)
  double seconds = 0.0;
};

// Tags every input in order, writing one record per image (errors included) and flushing
// each; a failing image yields {"image", "error"} and the run goes on. taggers: one per
// entry of --device (load_taggers); with several, batches go to whichever is free and
// records still come out in input order. They share every setting but the device; the
// first one's setup is recorded.
TagRunSummary run_tagging(const ImageInputs& inputs, const std::vector<Tagger>& taggers,
                          const TagRunOptions& options);

}  // namespace tagclip::cli
