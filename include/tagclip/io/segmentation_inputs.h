// Which images `tagclip segment` draws maps for, and with which labels: the authors' split
// format with labels, the records of an earlier `tagclip tag` run, or plain images (labels
// then come from tagging them in the same run).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/io/image_inputs.h"

namespace tagclip {

struct LabelledImage {
  ImageInput input;  // path, id and, when it cannot be segmented, the problem
  // 0-based class indices in map order; nullopt: not known yet (tag the image first).
  std::optional<std::vector<int64_t>> labels;
};

// "id idx idx ..." per line (the format `tag --labels-out` writes and CLIP-ES reads); the
// image is image_root/id + extension. A line without an index keeps an empty label list
// (reported, not segmented). Throws UsageError naming the file and line for an unreadable
// file or an index that is not a non-negative integer.
std::vector<LabelledImage> read_labelled_split_file(const std::string& split_file,
                                                    const std::string& image_root,
                                                    const std::string& extension = ".jpg");

// The JSON Lines of `tagclip tag`: each record's image with the labels `tag --labels-out`
// would write for it (TagRecord::split_labels: its tags' indices ascending, or its highest
// score's when no tag passed). A record with an error keeps it as the input's problem.
// Throws UsageError naming the file and line for an unreadable file or a line that is not
// a tag record.
std::vector<LabelledImage> read_labels_from_tag_records(const std::string& jsonl_path);

}  // namespace tagclip
