#include "tagclip/core/tag_record.h"

#include <algorithm>

#include "tagclip/core/text_util.h"

namespace tagclip {

std::vector<int64_t> TagRecord::tag_indices() const {
  std::vector<int64_t> indices;
  for (const Tag& tag : tags) indices.push_back(tag.index);
  return indices;
}

std::optional<int64_t> TagRecord::arg_max() const {
  std::optional<int64_t> best;
  for (size_t k = 0; k < scores.size(); ++k)
    if (!best || scores[k].second > scores[*best].second) best = static_cast<int64_t>(k);
  return best;
}

std::vector<int64_t> TagRecord::split_labels() const {
  if (!tagged()) return {};
  std::vector<int64_t> labels = tag_indices();
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.empty())
    if (const auto best = arg_max()) labels.push_back(*best);
  return labels;
}

std::string split_file_line(const std::string& id, const std::vector<int64_t>& labels) {
  std::string line = id;
  for (int64_t index : labels) line += " " + std::to_string(index);
  return line + "\n";
}

nlohmann::ordered_json image_fields(const std::string& image) {
  if (is_valid_utf8(image)) return {{"image", image}};
  return {{"image", image}, {"image_hex", to_hex(image)}};
}

std::optional<std::string> record_image(const nlohmann::ordered_json& json) {
  if (!json.is_object()) return std::nullopt;
  const auto image = json.find("image");
  if (image == json.end() || !image->is_string()) return std::nullopt;
  std::string path = image->get<std::string>();
  if (const auto hex = json.find("image_hex"); hex != json.end())
    if (!hex->is_string() || !from_hex(hex->get<std::string>(), path))
      throw RecordError("\"image_hex\" is not a string of hex digit pairs");
  return path;
}

nlohmann::ordered_json to_json(const TagRecord& record) {
  nlohmann::ordered_json json = image_fields(record.image);
  if (!record.tagged()) {
    json["error"] = record.error;
    return json;
  }
  nlohmann::ordered_json tags = nlohmann::ordered_json::array();
  for (const Tag& tag : record.tags)
    tags.push_back({{"label", tag.label}, {"index", tag.index}, {"score", tag.score}});
  nlohmann::ordered_json scores = nlohmann::ordered_json::object();
  for (const auto& [label, score] : record.scores) scores[label] = score;
  json["width"] = record.width;
  json["height"] = record.height;
  json["tags"] = tags;
  json["scores"] = scores;
  return json;
}

TagRecord tag_record_from_json(const nlohmann::ordered_json& json) {
  TagRecord record;
  const std::optional<std::string> image = record_image(json);
  if (!image) throw RecordError("no \"image\" string");
  record.image = *image;
  if (const auto error = json.find("error"); error != json.end()) {
    record.error = error->is_string() ? error->get<std::string>() : error->dump();
    return record;
  }
  const auto scores = json.find("scores");
  if (scores == json.end() || !scores->is_object())
    throw RecordError("no \"scores\" object (not `tagclip tag` output?)");
  for (const auto& [label, value] : scores->items()) {
    if (!value.is_number()) throw RecordError("the score of '" + label + "' is not a number");
    record.scores.emplace_back(label, value.get<double>());
  }
  if (const auto width = json.find("width"); width != json.end() && width->is_number_integer())
    record.width = width->get<int>();
  if (const auto height = json.find("height"); height != json.end() && height->is_number_integer())
    record.height = height->get<int>();
  if (const auto tags = json.find("tags"); tags != json.end()) {
    if (!tags->is_array()) throw RecordError("\"tags\" is not an array");
    for (const auto& tag : *tags) {
      if (!tag.is_object() || !tag.contains("label") || !tag["label"].is_string() ||
          !tag.contains("index") || !tag["index"].is_number_integer() || !tag.contains("score") ||
          !tag["score"].is_number())
        throw RecordError("a tag without a string \"label\", an integer \"index\" and a score");
      record.tags.push_back({tag["label"].get<std::string>(), tag["index"].get<int64_t>(),
                             tag["score"].get<double>()});
    }
  }
  return record;
}

}  // namespace tagclip
