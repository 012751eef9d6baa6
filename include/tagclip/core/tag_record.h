// The record of one tagged image, and its JSON form: the one definition that `tagclip tag`'s
// output, --resume, --labels-out and `tagclip eval --predictions` all read and write.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tagclip/errors.h"

namespace tagclip {

// A class an image is tagged with.
struct Tag {
  std::string label;
  int64_t index = 0;  // into the vocabulary's foreground classes
  double score = 0.0;
};

struct TagRecord {
  std::string image;  // the path as given
  int width = 0;      // of the decoded image, before any resizing
  int height = 0;
  std::vector<Tag> tags;  // reported tags, highest score first
  // Every foreground class's score, in vocabulary order. (JSON has no NaN: a NaN score is
  // written as null, which tag_record_from_json refuses as not a number.)
  std::vector<std::pair<std::string, double>> scores;
  std::string error;  // why the image could not be tagged; empty when it was

  bool tagged() const { return error.empty(); }
  // The tags' class indices, in tag order.
  std::vector<int64_t> tag_indices() const;
  // Index of the highest score (the first on ties): the label the reference's split format
  // falls back to when no tag passes. nullopt without scores.
  std::optional<int64_t> arg_max() const;
  // The labels the authors' split format gives this record (classify.py --save_file, what
  // CLIP-ES reads): the tags' indices in ascending order, or the arg max alone when no tag
  // passed. Empty for a record with an error.
  std::vector<int64_t> split_labels() const;
};

// A JSON value that is not a record: `what()` says which field, e.g. 'no "image" string'.
class RecordError : public Error {
 public:
  using Error::Error;
};

// {"image", "width", "height", "tags": [{"label", "index", "score"}...], "scores": {class:
// score, ...}} for a tagged image; {"image", "error"} for one that failed. A path that is
// not UTF-8 also gets "image_hex", its bytes in hex, after "image" (which shows them with
// U+FFFD, as JSON holds only UTF-8).
nlohmann::ordered_json to_json(const TagRecord& record);

// {"image": path}, plus "image_hex" when the path is not UTF-8 (see to_json): the fields
// every JSON Lines output of tagclip names its image with.
nlohmann::ordered_json image_fields(const std::string& image);

// The path a record names: "image_hex" decoded when present, else "image"; nullopt for a
// value that is not an object with an "image" string. Throws RecordError for an
// "image_hex" that is not hex digit pairs.
std::optional<std::string> record_image(const nlohmann::ordered_json& json);

// The inverse of to_json. Throws RecordError for a value without an "image" string, a
// tagged record without a "scores" object or with a score that is not a number, or a tag
// without a string "label", an integer "index" and a numeric "score". "image_hex", when
// present, gives the image's path (and must be hex digit pairs).
TagRecord tag_record_from_json(const nlohmann::ordered_json& json);

// One line of the authors' split format, "id idx idx ...\n": what `tag --labels-out` and
// `merge --labels-out` write and CLIP-ES reads.
std::string split_file_line(const std::string& id, const std::vector<int64_t>& labels);

}  // namespace tagclip
