// Tagging a list of images with a pipeline and writing the JSON Lines records: the loop
// behind `tagclip tag`, kept out of the CLI so tests and `tagclip eval` can call it.
#pragma once

#include <limits>
#include <optional>
#include <string>

#include "tagclip/core/vocabulary.h"
#include "tagclip/io/image_inputs.h"
#include "tagclip/io/image_io.h"
#include "tagclip/pipeline/labels.h"
#include "tagclip/pipeline/preprocess.h"
#include "tagclip/pipeline/tagclip_pipeline.h"

namespace tagclip {

struct TagRunOptions {
  std::string output = "-";  // JSON Lines; "-" = standard output
  bool resume = false;       // skip images already in `output`, append to it
  std::string labels_out;    // reference split format: "id idx idx ..." per image
  std::optional<int> top_k;  // keep at most this many tags (nullopt: no limit)
  double min_score = -std::numeric_limits<double>::infinity();  // drop tags scoring below
  ImageDecodeOptions decode;
  // Longer side an image is scaled down to before tagging (preprocess_for_clip); nullopt:
  // full resolution whatever the size.
  std::optional<int> max_side = kDefaultMaxSide;
  bool quiet = false;        // no progress, no summary
  bool interactive = false;  // draw a progress bar
  // Write <dir>/<id>.png per tagged image: the tags and their patch maps as heat maps
  // (the pipeline must keep patch maps: TagclipOptions::keep_patch_maps).
  std::string visualize_dir;
};

struct TagRunSummary {
  size_t tagged = 0;
  size_t failed = 0;
  size_t skipped = 0;  // already in the output (--resume)
  double seconds = 0.0;
};

// Tags every input in order, writing one record per image (errors included) and flushing
// each; a failing image yields {"image", "error"} and the run goes on.
TagRunSummary run_tagging(const ImageInputs& inputs, const TagclipPipeline& pipeline,
                          const Vocabulary& vocabulary, const TagRunOptions& options);

// The tags reported for a result: labels sorted by score, at most top_k, none below min_score.
std::vector<Tag> reported_tags(const TagResult& result, const TagRunOptions& options);

// The record of one tagged image: image, width, height, tags (sorted by score, at most
// top_k, none below min_score), and scores of every foreground class in vocabulary order.
nlohmann::ordered_json tag_record(const std::string& image, int width, int height,
                                  const TagResult& result, const Vocabulary& vocabulary,
                                  const TagRunOptions& options);

}  // namespace tagclip
