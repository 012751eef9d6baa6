#include "tagclip/eval/eval_predictions.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "tagclip/core/tag_record.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

// "a, b, c and 4 more"
std::string first_few(const std::vector<std::string>& names, size_t shown = 5) {
  std::string text;
  for (size_t k = 0; k < names.size() && k < shown; ++k) text += (k ? ", '" : "'") + names[k] + "'";
  if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

}  // namespace

namespace {

// Reads one or more files into one Predictions: shards of one run, each image in one of them.
class PredictionsReader {
 public:
  void read(const std::string& path);
  Predictions finish();

 private:
  Predictions out_;
  std::unordered_map<std::string, size_t> column_of_;  // class name -> column
  std::unordered_map<std::string, size_t> row_of_;     // scored id -> row
  std::unordered_set<std::string> failed_;
  std::vector<std::string> failed_order_;
};

void PredictionsReader::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw PredictionsError(path, "cannot read the predictions file");
  out_.files.push_back(path);
  std::string line;
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++out_.records;
    const std::string where = "line " + std::to_string(line_number);
    const nlohmann::ordered_json json = nlohmann::ordered_json::parse(line, nullptr, false);
    if (json.is_discarded())
      throw PredictionsError(path, where +
                                       ": not valid JSON (the cut-off last line of an "
                                       "interrupted run? `tagclip tag --resume` repairs it)");
    TagRecord record;
    try {
      record = tag_record_from_json(json);
    } catch (const RecordError& e) {
      throw PredictionsError(path, where + ": " + e.what());
    }
    const std::string id = fs::path(record.image).stem().string();
    if (!record.tagged()) {
      if (!row_of_.count(id) && failed_.insert(id).second) failed_order_.push_back(id);
      continue;
    }
    if (out_.classes.empty()) {
      for (const auto& [name, score] : record.scores) {
        column_of_.emplace(name, out_.classes.size());
        out_.classes.push_back(name);
      }
      if (out_.classes.empty()) throw PredictionsError(path, where + ": \"scores\" is empty");
    }
    if (row_of_.count(id)) {
      ++out_.duplicates;
      continue;
    }
    if (record.scores.size() != out_.classes.size())
      throw PredictionsError(path, where + ": scores " + std::to_string(record.scores.size()) +
                                       " classes, the first record " +
                                       std::to_string(out_.classes.size()));
    const size_t row = out_.ids.size();
    out_.scores.resize(out_.scores.size() + out_.classes.size());
    float* values = out_.scores.data() + row * out_.classes.size();
    for (const auto& [name, score] : record.scores) {
      const auto column = column_of_.find(name);
      if (column == column_of_.end())
        throw PredictionsError(
            path, where + ": class '" + name + "' is not among the first record's classes");
      values[column->second] = static_cast<float>(score);
    }
    row_of_.emplace(id, row);
    out_.ids.push_back(id);
    failed_.erase(id);
  }
}

Predictions PredictionsReader::finish() {
  for (const std::string& id : failed_order_)
    if (failed_.count(id)) out_.failed_ids.push_back(id);
  out_.path = out_.files.empty() ? "" : out_.files.front();
  if (out_.files.size() > 1)
    out_.path += " (+" + std::to_string(out_.files.size() - 1) + " more files)";
  return std::move(out_);
}

}  // namespace

Predictions read_predictions(const std::string& path) {
  return read_predictions(std::vector<std::string>{path});
}

Predictions read_predictions(const std::vector<std::string>& paths) {
  PredictionsReader reader;
  for (const std::string& path : paths) reader.read(path);
  return reader.finish();
}

MatchedPredictions match_predictions(const GroundTruth& truth, const Predictions& predictions) {
  MatchedPredictions matched;
  const size_t class_count = truth.classes.size();
  // Column of each ground-truth class in the predictions.
  std::vector<size_t> source_column(class_count, 0);
  if (!predictions.ids.empty()) {
    std::unordered_map<std::string, size_t> column_of;
    for (size_t k = 0; k < predictions.classes.size(); ++k)
      column_of.emplace(predictions.classes[k], k);
    std::vector<std::string> absent, extra;
    std::unordered_set<std::string> expected(truth.classes.begin(), truth.classes.end());
    for (size_t c = 0; c < class_count; ++c) {
      const auto it = column_of.find(truth.classes[c]);
      if (it == column_of.end()) {
        absent.push_back(truth.classes[c]);
      } else {
        source_column[c] = it->second;
      }
    }
    for (const std::string& name : predictions.classes)
      if (!expected.count(name)) extra.push_back(name);
    if (!absent.empty() || !extra.empty())
      throw PredictionsError(
          predictions.path,
          "the predictions score " + std::to_string(predictions.classes.size()) +
              " classes, not the " + std::to_string(class_count) + " " +
              dataset_vocabulary(truth.dataset) + " classes of the ground truth" +
              (absent.empty() ? "" : "; missing " + first_few(absent)) +
              (extra.empty() ? "" : "; not in the ground truth " + first_few(extra)) +
              " (tag with --classes " + dataset_vocabulary(truth.dataset) + ")");
  }

  std::unordered_map<std::string, size_t> row_of;
  row_of.reserve(predictions.ids.size());
  for (size_t row = 0; row < predictions.ids.size(); ++row)
    row_of.emplace(predictions.ids[row], row);
  const std::unordered_set<std::string> failed(predictions.failed_ids.begin(),
                                               predictions.failed_ids.end());
  std::unordered_set<std::string> truth_ids;
  truth_ids.reserve(truth.images.size());

  MultilabelData& data = matched.data;
  data.classes = class_count;
  for (const GroundTruthImage& image : truth.images) {
    truth_ids.insert(image.id);
    const auto row = row_of.find(image.id);
    if (row == row_of.end()) {
      matched.missing.push_back(image.id);
      if (failed.count(image.id)) matched.failed.push_back(image.id);
      continue;
    }
    const float* source = predictions.scores.data() + row->second * predictions.classes.size();
    for (size_t c = 0; c < class_count; ++c) data.scores.push_back(source[source_column[c]]);
    const size_t first_label = data.labels.size();
    data.labels.resize(first_label + class_count, 0);
    for (int label : image.labels) data.labels[first_label + label] = 1;
    matched.image_ids.push_back(image.id);
  }
  data.images = matched.image_ids.size();
  for (const std::string& id : predictions.ids)
    if (!truth_ids.count(id)) matched.unexpected.push_back(id);
  return matched;
}

}  // namespace tagclip
