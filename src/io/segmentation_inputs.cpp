#include "tagclip/io/segmentation_inputs.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tagclip/core/tag_record.h"
#include "tagclip/core/text_util.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace fs = std::filesystem;

std::vector<LabelledImage> read_labelled_split_file(const std::string& split_file,
                                                    const std::string& image_root,
                                                    const std::string& extension) {
  std::ifstream in(split_file);
  if (!in) throw UsageError(split_file + ": cannot read the labels file");
  std::vector<LabelledImage> images;
  std::string line;
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    std::istringstream fields(line);
    std::string id, field;
    if (!(fields >> id)) continue;  // blank line
    std::vector<int64_t> labels;
    while (fields >> field) {
      size_t used = 0;
      long long index = -1;
      try {
        index = std::stoll(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != field.size() || index < 0)
        throw UsageError(split_file + ":" + std::to_string(line_number) + ": label '" + field +
                         "' is not a class index (a non-negative integer)");
      labels.push_back(index);
    }
    const std::string path = (fs::path(image_root) / (id + extension)).string();
    std::error_code ec;
    ImageInput input{path, id,
                     fs::exists(path, ec) ? "" : "no such file (from " + split_file + ")"};
    images.push_back({std::move(input), std::move(labels)});
  }
  return images;
}

std::vector<LabelledImage> read_labels_from_tag_records(const std::string& jsonl_path) {
  std::ifstream in(jsonl_path);
  if (!in) throw UsageError(jsonl_path + ": cannot read the tag records");
  std::vector<LabelledImage> images;
  std::string line;
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    if (trim_whitespace(line).empty()) continue;
    TagRecord record;
    try {
      record = tag_record_from_json(nlohmann::ordered_json::parse(line));
    } catch (const std::exception& e) {
      throw UsageError(jsonl_path + ":" + std::to_string(line_number) +
                       ": not a tag record: " + e.what());
    }
    LabelledImage image;
    image.input.path = record.image;
    image.input.id = image_id_of(record.image);
    if (!record.tagged()) {
      image.input.problem = "not tagged in " + jsonl_path + ": " + record.error;
      image.labels = std::vector<int64_t>{};
    } else {
      image.labels = record.split_labels();
    }
    images.push_back(std::move(image));
  }
  return images;
}

}  // namespace tagclip
