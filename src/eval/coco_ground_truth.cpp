#include "tagclip/eval/coco_ground_truth.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

namespace tagclip {
namespace {
namespace fs = std::filesystem;

struct CocoImage {
  int64_t id = 0;
  std::string file_name;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

// What the stream keeps of an instances file.
struct CocoContent {
  std::vector<CocoImage> images;
  std::vector<std::pair<int64_t, int64_t>> annotations;  // (image_id, category_id)
  std::vector<CocoCategory> categories;
  bool saw_images = false, saw_annotations = false, saw_categories = false;
};

// Keeps the few fields of the entries of the three top-level arrays and skips everything
// else (polygons, boxes, RLE counts) as it streams past. Depth counts open containers: the
// root object is 1, a section array 2, an entry 3; scalars at depth 3 are entry fields.
class CocoSaxHandler : public nlohmann::json_sax<nlohmann::json> {
 public:
  CocoSaxHandler(std::string path, CocoContent& content)
      : path_(std::move(path)), content_(content) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t value) override { return integer(value); }
  bool number_unsigned(number_unsigned_t value) override {
    return integer(static_cast<int64_t>(value));
  }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }

  bool string(string_t& value) override {
    if (depth_ == 3 && ((section_ == Section::kImages && field_ == "file_name") ||
                        (section_ == Section::kCategories && field_ == "name")))
      text_ = value;
    return true;
  }

  bool start_object(std::size_t) override {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 2 && section_ != Section::kOther) {
      integers_.clear();
      text_.reset();
    }
    ++depth_;
    return true;
  }

  bool key(string_t& name) override {
    if (depth_ == 1) section_ = section_named(name);
    if (depth_ == 3) field_ = name;
    return true;
  }

  bool end_object() override {
    if (depth_ == 3 && section_ != Section::kOther) finish_entry();
    --depth_;
    return true;
  }

  bool start_array(std::size_t) override {
    if (depth_ == 0)
      throw GroundTruthError(path_, "not a COCO instances file: no top-level object");
    if (depth_ == 1) mark_section_seen();
    ++depth_;
    return true;
  }

  bool end_array() override {
    if (depth_ == 2) {
      section_ = Section::kOther;
      entry_ = 0;
    }
    --depth_;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    std::string what = error.what();
    const size_t colon = what.find("syntax error");
    if (colon != std::string::npos) what = what.substr(colon);
    throw GroundTruthError(path_,
                           "malformed JSON at byte " + std::to_string(position) + ": " + what);
  }

 private:
  enum class Section { kImages, kAnnotations, kCategories, kOther };

  static Section section_named(const std::string& name) {
    if (name == "images") return Section::kImages;
    if (name == "annotations") return Section::kAnnotations;
    if (name == "categories") return Section::kCategories;
    return Section::kOther;
  }

  void mark_section_seen() {
    if (section_ == Section::kImages) content_.saw_images = true;
    if (section_ == Section::kAnnotations) content_.saw_annotations = true;
    if (section_ == Section::kCategories) content_.saw_categories = true;
  }

  bool integer(int64_t value) {
    if (depth_ == 3 && section_ != Section::kOther) integers_[field_] = value;
    return true;
  }

  int64_t required(const char* field, const char* section) const {
    const auto it = integers_.find(field);
    if (it == integers_.end())
      throw GroundTruthError(path_, std::string(section) + "[" + std::to_string(entry_) +
                                        "] has no integer \"" + field + "\"");
    return it->second;
  }

  void finish_entry() {
    switch (section_) {
      case Section::kImages:
        if (!text_)
          throw GroundTruthError(path_,
                                 "images[" + std::to_string(entry_) + "] has no \"file_name\"");
        content_.images.push_back({required("id", "images"), *text_});
        break;
      case Section::kAnnotations:
        content_.annotations.emplace_back(required("image_id", "annotations"),
                                          required("category_id", "annotations"));
        break;
      case Section::kCategories:
        if (!text_)
          throw GroundTruthError(path_,
                                 "categories[" + std::to_string(entry_) + "] has no \"name\"");
        content_.categories.push_back({required("id", "categories"), *text_});
        break;
      case Section::kOther:
        break;
    }
    ++entry_;
  }

  std::string path_;
  CocoContent& content_;
  int depth_ = 0;
  Section section_ = Section::kOther;
  size_t entry_ = 0;
  std::string field_;
  std::map<std::string, int64_t> integers_;  // the current entry's integer fields
  std::optional<std::string> text_;          // its file_name or name
};

CocoContent stream_instances_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GroundTruthError(path, "cannot read the annotation file");
  CocoContent content;
  CocoSaxHandler handler(path, content);
  nlohmann::json::sax_parse(in, &handler);
  for (const auto& [seen, name] : {std::pair{content.saw_images, "images"},
                                   {content.saw_annotations, "annotations"},
                                   {content.saw_categories, "categories"}}) {
    if (!seen)
      throw GroundTruthError(path,
                             std::string("not a COCO instances file: no \"") + name + "\" array");
  }
  return content;
}

}  // namespace

std::string reference_coco_name(const std::string& coco_name) {
  static const std::map<std::string, std::string> renamed = {
      {"motorcycle", "motorbike"},     {"airplane", "aeroplane"},       {"couch", "sofa"},
      {"potted plant", "pottedplant"}, {"dining table", "diningtable"}, {"tv", "tvmonitor"}};
  const auto it = renamed.find(coco_name);
  return it == renamed.end() ? coco_name : it->second;
}

GroundTruth read_coco_ground_truth(const CocoOptions& options, Dataset dataset) {
  if (dataset != Dataset::kCoco2014 && dataset != Dataset::kCoco2017)
    throw UsageError("a COCO instances file goes with --dataset coco2014 or coco2017, not " +
                     dataset_name(dataset));
  const std::string& path = options.annotations;
  const CocoContent content = stream_instances_file(path);

  GroundTruth truth;
  truth.dataset = dataset;
  truth.source = path;
  const ClassList classes = resolve_class_list(options.classes, dataset);
  const bool builtin = options.classes.names.empty();
  truth.classes = classes.names;
  const auto class_index = class_index_map(classes);
  std::unordered_map<int64_t, int> category_class;
  for (const CocoCategory& category : content.categories) {
    const auto known =
        class_index.find(builtin ? reference_coco_name(category.name) : category.name);
    if (known == class_index.end())
      throw GroundTruthError(path, "category " + std::to_string(category.id) + " '" +
                                       category.name + "' is not one of " +
                                       describe_class_list(classes));
    category_class[category.id] = known->second;
  }

  std::unordered_map<int64_t, size_t> image_row;
  image_row.reserve(content.images.size());
  std::vector<std::vector<int>> labels(content.images.size());
  for (size_t row = 0; row < content.images.size(); ++row) {
    if (!image_row.emplace(content.images[row].id, row).second)
      throw GroundTruthError(
          path, "image id " + std::to_string(content.images[row].id) + " is listed twice");
  }
  size_t orphans = 0;
  for (const auto& [image_id, category_id] : content.annotations) {
    const auto category = category_class.find(category_id);
    if (category == category_class.end())
      throw GroundTruthError(path, "an annotation of image " + std::to_string(image_id) +
                                       " has category_id " + std::to_string(category_id) +
                                       ", which \"categories\" does not list");
    const auto row = image_row.find(image_id);
    if (row == image_row.end()) {
      ++orphans;
      continue;
    }
    labels[row->second].push_back(category->second);
  }

  size_t without_annotations = 0;
  for (size_t row = 0; row < content.images.size(); ++row) {
    if (labels[row].empty()) {
      ++without_annotations;
      if (!options.keep_images_without_annotations) continue;
    }
    const std::string& file_name = content.images[row].file_name;
    GroundTruthImage image;
    image.id = fs::path(file_name).stem().string();
    image.image_path =
        options.images.empty() ? file_name : (fs::path(options.images) / file_name).string();
    image.labels = std::move(labels[row]);
    truth.images.push_back(std::move(image));
  }
  if (without_annotations > 0)
    truth.warnings.push_back(std::to_string(without_annotations) + " images have no annotations (" +
                             (options.keep_images_without_annotations
                                  ? "kept as all-negative"
                                  : "left out, as the paper's split; --keep-empty keeps them") +
                             ")");
  if (orphans > 0)
    truth.warnings.push_back(std::to_string(orphans) +
                             " annotations refer to images the file does not list (ignored)");
  if (truth.images.empty()) throw GroundTruthError(path, "no images to evaluate");
  finish_ground_truth(truth);
  return truth;
}

}  // namespace tagclip
