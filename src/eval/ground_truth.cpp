#include "tagclip/eval/ground_truth.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "tagclip/core/vocabularies.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

// classify.py skips these 1-based ids ("id + 1 in [...]") when it numbers the 171 classes.
constexpr int kCocoStuffUnusedIds[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91};
constexpr int kCocoStuffIds = 182;

std::vector<int> make_cocostuff_map() {
  std::vector<int> map(kCocoStuffIds, -1);
  int next = 0;
  for (int id = 0; id < kCocoStuffIds; ++id) {
    const bool unused = std::find(std::begin(kCocoStuffUnusedIds), std::end(kCocoStuffUnusedIds),
                                  id + 1) != std::end(kCocoStuffUnusedIds);
    if (!unused) map[id] = next++;
  }
  return map;
}

}  // namespace

Dataset parse_dataset(const std::string& name) {
  if (name == "voc2007") return Dataset::kVoc2007;
  if (name == "voc2012") return Dataset::kVoc2012;
  if (name == "coco2014") return Dataset::kCoco2014;
  if (name == "coco2017") return Dataset::kCoco2017;
  if (name == "cocostuff") return Dataset::kCocoStuff;
  throw UsageError("unknown dataset '" + name +
                   "': expected voc2007, voc2012, coco2014, coco2017 or cocostuff");
}

std::string dataset_name(Dataset dataset) {
  switch (dataset) {
    case Dataset::kVoc2007:
      return "voc2007";
    case Dataset::kVoc2012:
      return "voc2012";
    case Dataset::kCoco2014:
      return "coco2014";
    case Dataset::kCoco2017:
      return "coco2017";
    case Dataset::kCocoStuff:
      return "cocostuff";
  }
  return "";
}

ClassList resolve_class_list(const ClassList& classes, Dataset dataset) {
  if (!classes.names.empty()) return classes;
  const std::string name = dataset_vocabulary(dataset);
  return {name, builtin_vocabulary(name).classes};
}

std::string describe_class_list(const ClassList& classes) {
  const std::string count = std::to_string(classes.names.size());
  if (classes.source == "voc") return "the " + count + " VOC classes";
  if (classes.source == "coco") return "the " + count + " COCO classes";
  if (classes.source == "cocostuff") return "the " + count + " COCO-Stuff classes";
  return "the " + count + " classes of " + classes.source;
}

std::unordered_map<std::string, int> class_index_map(const ClassList& classes) {
  std::unordered_map<std::string, int> index;
  for (size_t k = 0; k < classes.names.size(); ++k)
    index.emplace(classes.names[k], static_cast<int>(k));
  return index;
}

std::string dataset_vocabulary(Dataset dataset) {
  switch (dataset) {
    case Dataset::kVoc2007:
    case Dataset::kVoc2012:
      return "voc";
    case Dataset::kCoco2014:
    case Dataset::kCoco2017:
      return "coco";
    case Dataset::kCocoStuff:
      return "cocostuff";
  }
  return "";
}

double dataset_threshold(Dataset dataset) { return dataset == Dataset::kCocoStuff ? 0.1 : 0.5; }

int cocostuff_171_index(int id_182) {
  static const std::vector<int> map = make_cocostuff_map();
  if (id_182 < 0 || id_182 >= kCocoStuffIds) return -1;
  return map[id_182];
}

void finish_ground_truth(GroundTruth& truth) {
  std::unordered_set<std::string> seen;
  seen.reserve(truth.images.size());
  for (GroundTruthImage& image : truth.images) {
    if (!seen.insert(image.id).second)
      throw GroundTruthError(truth.source, "image '" + image.id + "' is listed twice");
    std::sort(image.labels.begin(), image.labels.end());
    image.labels.erase(std::unique(image.labels.begin(), image.labels.end()), image.labels.end());
  }
}

GroundTruth read_split_ground_truth(const std::string& split_file, Dataset dataset,
                                    const std::string& image_root, const std::string& extension,
                                    const ClassList& classes) {
  std::ifstream in(split_file);
  if (!in) throw GroundTruthError(split_file, "cannot read the split file");
  GroundTruth truth;
  truth.dataset = dataset;
  truth.source = split_file;
  const ClassList class_list = resolve_class_list(classes, dataset);
  truth.classes = class_list.names;
  const int class_count = static_cast<int>(truth.classes.size());
  const bool cocostuff = dataset == Dataset::kCocoStuff && classes.names.empty();

  size_t without_labels = 0;
  std::string line, token;
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    std::istringstream tokens(line);
    GroundTruthImage image;
    if (!(tokens >> image.id)) continue;  // blank line
    const std::string where = "line " + std::to_string(line_number) + " ('" + image.id + "')";
    while (tokens >> token) {
      int label = -1;
      const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), label);
      if (error != std::errc() || end != token.data() + token.size())
        throw GroundTruthError(split_file, where + ": label '" + token + "' is not an integer");
      if (cocostuff) {
        const int mapped = cocostuff_171_index(label);
        if (mapped < 0)
          throw GroundTruthError(split_file, where + ": " + token +
                                                 " is not one of the 171 COCO-Stuff class ids "
                                                 "classify.py evaluates (0-181 without the 11 "
                                                 "unused ones)");
        label = mapped;
      } else if (label < 0 || label >= class_count) {
        throw GroundTruthError(split_file, where + ": label " + token + " is outside 0.." +
                                               std::to_string(class_count - 1) + " (" +
                                               describe_class_list(class_list) + ")");
      }
      image.labels.push_back(label);
    }
    if (image.labels.empty()) ++without_labels;
    image.image_path = (fs::path(image_root) / (image.id + extension)).string();
    truth.images.push_back(std::move(image));
  }
  if (truth.images.empty()) throw GroundTruthError(split_file, "the split file lists no images");
  if (without_labels > 0)
    truth.warnings.push_back(std::to_string(without_labels) +
                             " images have no labels (kept as all-negative)");
  finish_ground_truth(truth);
  return truth;
}

}  // namespace tagclip
