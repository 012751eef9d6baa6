#include "tagclip/eval/voc_ground_truth.h"

#include <tinyxml2.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tagclip/core/text_util.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

std::string element_text(const tinyxml2::XMLElement* element) {
  const char* text = element == nullptr ? nullptr : element->GetText();
  return text == nullptr ? "" : trim_whitespace(text);
}

std::string split_list_path(const VocOptions& options, Dataset dataset) {
  std::string split = options.split;
  if (split.empty()) split = dataset == Dataset::kVoc2012 ? "val" : "test";
  const fs::path sets = fs::path(options.root) / "ImageSets";
  return (split.find('/') == std::string::npos ? sets / "Main" / (split + ".txt")
                                               : sets / (split + ".txt"))
      .string();
}

// The first word of each line: ImageSets files hold "id" or, per class, "id  1".
std::vector<std::string> read_image_ids(const std::string& list_path) {
  std::ifstream in(list_path);
  if (!in)
    throw GroundTruthError(list_path, "cannot read the image set (wrong --root or --split?)");
  std::vector<std::string> ids;
  std::string line, id;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    if (words >> id) ids.push_back(id);
  }
  if (ids.empty()) throw GroundTruthError(list_path, "the image set lists no images");
  return ids;
}

}  // namespace

DifficultObjects parse_difficult_objects(const std::string& rule) {
  if (rule == "include") return DifficultObjects::kInclude;
  if (rule == "exclude") return DifficultObjects::kExclude;
  throw UsageError("--difficult '" + rule + "': expected include or exclude");
}

std::vector<VocObject> read_voc_annotation(const std::string& xml_path) {
  tinyxml2::XMLDocument document;
  if (document.LoadFile(xml_path.c_str()) != tinyxml2::XML_SUCCESS) {
    const std::string problem = document.ErrorID() == tinyxml2::XML_ERROR_FILE_NOT_FOUND
                                    ? "no such annotation file"
                                    : std::string("malformed XML: ") + document.ErrorStr();
    throw GroundTruthError(xml_path, problem);
  }
  const tinyxml2::XMLElement* root = document.FirstChildElement("annotation");
  if (root == nullptr) throw GroundTruthError(xml_path, "no <annotation> root element");
  std::vector<VocObject> objects;
  for (const tinyxml2::XMLElement* object = root->FirstChildElement("object"); object != nullptr;
       object = object->NextSiblingElement("object")) {
    VocObject parsed;
    parsed.name = element_text(object->FirstChildElement("name"));
    if (parsed.name.empty())
      throw GroundTruthError(
          xml_path, "line " + std::to_string(object->GetLineNum()) + ": <object> without a <name>");
    const tinyxml2::XMLElement* difficult = object->FirstChildElement("difficult");
    const std::string flag = element_text(difficult);
    if (difficult != nullptr && flag != "0" && flag != "1")
      throw GroundTruthError(xml_path, "line " + std::to_string(difficult->GetLineNum()) +
                                           ": <difficult> is '" + flag + "', expected 0 or 1");
    parsed.difficult = flag == "1";
    objects.push_back(std::move(parsed));
  }
  return objects;
}

GroundTruth read_voc_ground_truth(const VocOptions& options, Dataset dataset) {
  if (dataset != Dataset::kVoc2007 && dataset != Dataset::kVoc2012)
    throw UsageError("a VOC devkit folder goes with --dataset voc2007 or voc2012, not " +
                     dataset_name(dataset));
  const std::string list_path = split_list_path(options, dataset);
  GroundTruth truth;
  truth.dataset = dataset;
  truth.source = list_path;
  const ClassList classes = resolve_class_list(options.classes, dataset);
  truth.classes = classes.names;
  const auto class_index = class_index_map(classes);

  size_t without_objects = 0, only_difficult = 0, difficult_skipped = 0;
  const fs::path annotations = fs::path(options.root) / "Annotations";
  const fs::path images = fs::path(options.root) / "JPEGImages";
  for (const std::string& id : read_image_ids(list_path)) {
    const std::string xml_path = (annotations / (id + ".xml")).string();
    GroundTruthImage image;
    image.id = id;
    image.image_path = (images / (id + ".jpg")).string();
    const std::vector<VocObject> objects = read_voc_annotation(xml_path);
    for (const VocObject& object : objects) {
      const auto known = class_index.find(object.name);
      if (known == class_index.end())
        throw GroundTruthError(xml_path, "object class '" + object.name + "' is not one of " +
                                             describe_class_list(classes));
      if (object.difficult && options.difficult == DifficultObjects::kExclude) {
        ++difficult_skipped;
        continue;
      }
      image.labels.push_back(known->second);
    }
    if (objects.empty()) {
      ++without_objects;
    } else if (image.labels.empty()) {
      ++only_difficult;
    }
    truth.images.push_back(std::move(image));
  }
  if (without_objects > 0)
    truth.warnings.push_back(std::to_string(without_objects) +
                             " images have no objects (kept as all-negative)");
  if (only_difficult > 0)
    truth.warnings.push_back(std::to_string(only_difficult) +
                             " images have only difficult objects (kept as all-negative)");
  if (difficult_skipped > 0)
    truth.warnings.push_back(std::to_string(difficult_skipped) +
                             " difficult objects left out (--difficult exclude)");
  finish_ground_truth(truth);
  return truth;
}

}  // namespace tagclip
